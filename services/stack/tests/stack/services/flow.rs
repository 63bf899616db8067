use food_api::ErrorCode;
use food_proto::{
    delivery::v1::{DeliveryStatus, UpdateStatusRequest},
    order::v1::{AcceptOrderRequest, CancelOrderRequest, MarkReadyRequest, OrderStatus},
};
use tonic::Code;

use super::helpers::*;

#[tokio::test]
async fn an_order_flows_through_the_kitchen_and_every_delivery_status_to_delivered() {
    every_status(Stack::start().await).await;
}

#[tokio::test]
async fn on_postgres_an_order_flows_through_the_kitchen_and_every_delivery_status_to_delivered() {
    if let Some(stack) = Stack::start_on_postgres().await {
        every_status(stack).await;
    }
}

/// The kitchen path: placed at a kitchen that accepts by hand, accepted,
/// ready, then the delivery moves the rest; an assignment moves no order.
async fn every_status(stack: Stack) {
    let mut orders = stack.orders().await;
    let deliveries = stack.deliveries().await;

    let order = orders
        .create_order(order_request("alice", &[("chicken-tikka-masala", 2)]))
        .await
        .unwrap()
        .into_inner();
    let pending = eventually(|| delivery_of(&deliveries, &order.id), |_| true).await;
    assert_eq!(pending.status, DeliveryStatus::Pending as i32);
    assert_eq!(pending.version, 1);
    assert_eq!(pending.item_count, 2);
    assert_eq!(pending.total_cents, order.total_cents);
    assert_eq!(pending.customer_id, "alice");
    assert_eq!(order.restaurant_id.as_deref(), Some("maison-tandoor"));
    assert!(order.pickup_address.is_some());
    assert_eq!(
        (
            &pending.restaurant_id,
            &pending.restaurant_name,
            &pending.pickup_address
        ),
        (
            &order.restaurant_id,
            &order.restaurant_name,
            &order.pickup_address
        ),
        "the delivery names the order's restaurant"
    );
    assert_eq!(
        order_of(&orders, &order.id).await.unwrap().status,
        OrderStatus::Placed as i32,
        "waits for its kitchen"
    );

    let accepted = orders
        .accept_order(AcceptOrderRequest {
            id: order.id.clone(),
            prep_minutes: Some(20),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let ready = orders
        .mark_ready(MarkReadyRequest {
            id: order.id.clone(),
            restaurant_id: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(accepted.status, OrderStatus::Preparing as i32);
    assert_eq!(ready.status, OrderStatus::ReadyForPickup as i32);

    let steps = [
        (DeliveryStatus::Assigned, OrderStatus::ReadyForPickup),
        (DeliveryStatus::PickedUp, OrderStatus::OutForDelivery),
        (DeliveryStatus::InTransit, OrderStatus::OutForDelivery),
        (DeliveryStatus::Delivered, OrderStatus::Delivered),
    ];
    let mut version = 1;
    for (status, expected_order) in steps {
        let updated = update_delivery(
            &deliveries,
            UpdateStatusRequest {
                order_id: order.id.clone(),
                status: status as i32,
                courier: Some("courier-1".into()),
                eta: None,
                note: Some(format!("now {status:?}")),
                expected_version: Some(version),
                as_courier: None,
            },
        )
        .await
        .unwrap();
        version += 1;
        assert_eq!(updated.version, version);
        assert_eq!(updated.status, status as i32);
        // The delivery's event reaches order-service through the broker: wait
        // for the move (an assignment moves nothing; the pick-up after it
        // shows the order did not go anywhere else meanwhile).
        let o = eventually(
            || order_of(&orders, &order.id),
            |o| o.status == expected_order as i32,
        )
        .await;
        assert_eq!(o.status, expected_order as i32, "order follows {status:?}");
    }
    let done = delivery_of(&deliveries, &order.id).await.unwrap();
    let history: Vec<i32> = done.history.iter().map(|h| h.status).collect();
    assert_eq!(
        history,
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Assigned,
            DeliveryStatus::PickedUp,
            DeliveryStatus::InTransit,
            DeliveryStatus::Delivered
        ]
        .map(|s| s as i32)
    );
    assert_eq!(done.courier.as_deref(), Some("courier-1"));
    stack.stop().await;
}

#[tokio::test]
async fn cancelling_before_pick_up_cancels_the_delivery_and_after_pick_up_is_refused() {
    let stack = Stack::start().await;
    let mut orders = stack.orders().await;
    let deliveries = stack.deliveries().await;
    let early = orders
        .create_order(order_request("bob", &[("margherita", 1)]))
        .await
        .unwrap()
        .into_inner();
    let late = orders
        .create_order(order_request("bob", &[("margherita", 1)]))
        .await
        .unwrap()
        .into_inner();
    eventually(|| delivery_of(&deliveries, &early.id), |_| true).await;
    eventually(|| delivery_of(&deliveries, &late.id), |_| true).await;
    for status in [DeliveryStatus::Assigned, DeliveryStatus::PickedUp] {
        update_delivery(
            &deliveries,
            UpdateStatusRequest {
                order_id: late.id.clone(),
                status: status as i32,
                courier: Some("courier-1".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    eventually(
        || order_of(&orders, &late.id),
        |o| o.status == OrderStatus::OutForDelivery as i32,
    )
    .await;

    let cancelled = orders
        .cancel_order(CancelOrderRequest {
            id: early.id.clone(),
            reason: Some("changed my mind".into()),
        })
        .await
        .unwrap()
        .into_inner();
    let refused = orders
        .cancel_order(CancelOrderRequest {
            id: late.id.clone(),
            reason: None,
        })
        .await
        .unwrap_err();
    let missing = orders
        .cancel_order(CancelOrderRequest {
            id: "nope".into(),
            reason: None,
        })
        .await
        .unwrap_err();

    assert_eq!(cancelled.status, OrderStatus::Cancelled as i32);
    let d = eventually(
        || delivery_of(&deliveries, &early.id),
        |d| d.status == DeliveryStatus::Cancelled as i32,
    )
    .await;
    assert_eq!(d.status, DeliveryStatus::Cancelled as i32);
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(code_of(&refused), ErrorCode::NotCancellable);
    assert_eq!(missing.code(), Code::NotFound);
    assert_eq!(
        order_of(&orders, &late.id).await.unwrap().status,
        OrderStatus::OutForDelivery as i32
    );
    stack.stop().await;
}

#[tokio::test]
async fn refused_transitions_and_stale_versions_change_nothing() {
    let stack = Stack::start().await;
    let mut orders = stack.orders().await;
    let mut deliveries = stack.deliveries().await;
    let order = orders
        .create_order(order_request("carol", &[("margherita", 1)]))
        .await
        .unwrap()
        .into_inner();
    let before = eventually(|| delivery_of(&deliveries, &order.id), |_| true).await;

    let skip = deliveries
        .update_status(UpdateStatusRequest {
            order_id: order.id.clone(),
            status: DeliveryStatus::Delivered as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    let stale = deliveries
        .update_status(UpdateStatusRequest {
            order_id: order.id.clone(),
            status: DeliveryStatus::Assigned as i32,
            expected_version: Some(7),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let unknown = deliveries
        .update_status(UpdateStatusRequest {
            order_id: order.id.clone(),
            status: 99,
            ..Default::default()
        })
        .await
        .unwrap_err();
    let missing = deliveries
        .update_status(UpdateStatusRequest {
            order_id: "nope".into(),
            status: DeliveryStatus::Assigned as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();

    assert_eq!(skip.code(), Code::FailedPrecondition);
    assert_eq!(code_of(&skip), ErrorCode::InvalidTransition);
    assert_eq!(stale.code(), Code::FailedPrecondition);
    let (code, fields) = food_kit::grpc::error_code(&stale);
    assert_eq!(code, ErrorCode::VersionConflict);
    assert_eq!(fields["current_version"], "1");
    assert_eq!(unknown.code(), Code::InvalidArgument);
    assert_eq!(missing.code(), Code::NotFound);
    assert_eq!(
        delivery_of(&deliveries, &order.id).await.unwrap(),
        before,
        "nothing changed"
    );
    stack.stop().await;
}
