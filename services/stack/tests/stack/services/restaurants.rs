//! One restaurant per order: mixed and paused orders refused, and the
//! restaurant carried from the order to its event, its delivery and the
//! delivery's events, and listed by.

use std::time::Duration;

use food_api::ErrorCode;
use food_events::{Payload, decode, topics::Topics};
use food_proto::{
    common::v1::PageRequest,
    delivery::v1::{Delivery, DeliveryStatus, ListDeliveriesRequest, UpdateStatusRequest},
    menu::v1::{GetRestaurantRequest, Restaurant, SetRestaurantOpenRequest},
    order::v1::{ListOrdersRequest, Order},
};
use tonic::Code;

use super::helpers::*;

/// Both of trattoria-da-luca's in the seed.
const LUCA: &str = "trattoria-da-luca";
/// le-smash-club's in the seed.
const SMASH: &str = "le-smash-club";

async fn restaurant(stack: &Stack, id: &str) -> Restaurant {
    stack
        .menu()
        .await
        .get_restaurant(GetRestaurantRequest { id: id.into() })
        .await
        .unwrap()
        .into_inner()
}

async fn set_open(stack: &Stack, id: &str, open: bool) {
    stack
        .menu()
        .await
        .set_restaurant_open(SetRestaurantOpenRequest {
            id: id.into(),
            open,
        })
        .await
        .unwrap();
}

fn page() -> Option<PageRequest> {
    Some(PageRequest {
        limit: 1000,
        cursor: String::new(),
    })
}

/// The events of `topic` published so far (`at_least` of them, or what came
/// within a few seconds), decoded.
async fn events(stack: &Stack, topic: &str, at_least: usize) -> Vec<Payload> {
    food_kit::testing::read_topic(&stack.brokers, topic, at_least, Duration::from_secs(5))
        .await
        .iter()
        .filter_map(|m| {
            use rdkafka::Message;
            decode(m.payload()?).ok()?.payload
        })
        .collect()
}

/// (restaurant_id, restaurant_name, pickup_address) of an order.
fn of_order(o: &Order) -> (Option<&str>, Option<&str>, Option<&str>) {
    (
        o.restaurant_id.as_deref(),
        o.restaurant_name.as_deref(),
        o.pickup_address.as_deref(),
    )
}

/// (restaurant_id, restaurant_name, pickup_address) of a delivery.
fn of_delivery(d: &Delivery) -> (Option<&str>, Option<&str>, Option<&str>) {
    (
        d.restaurant_id.as_deref(),
        d.restaurant_name.as_deref(),
        d.pickup_address.as_deref(),
    )
}

#[tokio::test]
async fn items_of_two_restaurants_are_refused_naming_both_and_nothing_is_stored() {
    let stack = Stack::start().await;
    let mut orders = stack.orders().await;
    let (luca, smash) = (
        restaurant(&stack, LUCA).await,
        restaurant(&stack, SMASH).await,
    );
    let topics = Topics::with_prefix(&stack.prefix);

    let err = orders
        .create_order(order_request(
            "mia",
            &[("margherita", 1), ("cola", 2), ("tiramisu", 1)],
        ))
        .await
        .unwrap_err();
    // Placed after the refusal: once its event is out, any event of the
    // refused order would be too (the relay publishes in outbox order).
    let after = orders
        .create_order(order_request("mia", &[("margherita", 1)]))
        .await
        .unwrap()
        .into_inner();

    let (code, details) = food_kit::grpc::error_code(&err);
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(code, ErrorCode::MixedRestaurants);
    for name in [&luca.name, &smash.name] {
        assert!(err.message().contains(name.as_str()), "{}", err.message());
    }
    assert_eq!(details["restaurant_ids"], format!("{LUCA},{SMASH}"));
    assert_eq!(details[&format!("items.{LUCA}")], "margherita,tiramisu");
    assert_eq!(details[&format!("items.{SMASH}")], "cola");
    let listed = orders
        .list_orders(ListOrdersRequest {
            page: page(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .orders;
    assert_eq!(
        listed.iter().map(|o| &o.id).collect::<Vec<_>>(),
        [&after.id],
        "only the later order was stored"
    );
    let placed: Vec<String> = events(&stack, &topics.orders, 2)
        .await
        .into_iter()
        .filter_map(|p| match p {
            Payload::OrderPlaced(p) => p.order.map(|o| o.id),
            _ => None,
        })
        .collect();
    assert_eq!(placed, [after.id], "no event for the refused order");
    stack.stop().await;
}

#[tokio::test]
async fn a_paused_restaurant_refuses_orders_within_the_cache_time_and_takes_them_once_resumed() {
    let stack = Stack::start().await;
    let mut orders = stack.orders().await;
    let luca = restaurant(&stack, LUCA).await;
    let mut first = order_request("noa", &[("margherita", 1)]);
    first.idempotency_key = Some("before-the-pause".into());
    // Priced once, so the restaurant is in the order service's cache.
    let placed = orders
        .create_order(first.clone())
        .await
        .unwrap()
        .into_inner();

    set_open(&stack, LUCA, false).await;
    tokio::time::sleep(Duration::from_millis(MENU_CACHE_MS + 100)).await;
    let paused = orders
        .create_order(order_request("noa", &[("tiramisu", 1), ("margherita", 1)]))
        .await
        .unwrap_err();
    let retried = orders.create_order(first).await.unwrap().into_inner();
    let elsewhere = orders
        .create_order(order_request("noa", &[("cola", 1)]))
        .await
        .unwrap()
        .into_inner();
    set_open(&stack, LUCA, true).await;
    tokio::time::sleep(Duration::from_millis(MENU_CACHE_MS + 100)).await;
    let resumed = orders
        .create_order(order_request("noa", &[("margherita", 1)]))
        .await
        .unwrap()
        .into_inner();

    let (code, details) = food_kit::grpc::error_code(&paused);
    assert_eq!(paused.code(), Code::FailedPrecondition);
    assert_eq!(code, ErrorCode::RestaurantClosed);
    assert!(
        paused.message().contains(&luca.name),
        "{}",
        paused.message()
    );
    assert_eq!(details["restaurant_id"], LUCA);
    assert_eq!(
        retried.id, placed.id,
        "a retry still returns the first order"
    );
    assert_eq!(elsewhere.restaurant_id.as_deref(), Some(SMASH));
    assert_eq!(resumed.restaurant_id.as_deref(), Some(LUCA));
    let stored = orders
        .list_orders(ListOrdersRequest {
            customer_id: Some("noa".into()),
            page: page(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .orders;
    assert_eq!(stored.len(), 3, "placed, elsewhere, resumed: {stored:?}");
    stack.stop().await;
}

#[tokio::test]
async fn an_order_carries_its_restaurant_to_its_event_its_delivery_and_the_delivery_events() {
    let stack = Stack::start().await;
    let mut orders = stack.orders().await;
    let mut deliveries = stack.deliveries().await;
    let luca = restaurant(&stack, LUCA).await;
    let topics = Topics::with_prefix(&stack.prefix);
    let expected = (
        Some(LUCA),
        Some(luca.name.as_str()),
        Some(luca.address.as_str()),
    );

    let order = orders
        .create_order(order_request("olga", &[("margherita", 2), ("tiramisu", 1)]))
        .await
        .unwrap()
        .into_inner();
    let pending = eventually(|| delivery_of(&deliveries, &order.id), |_| true).await;
    let assigned = deliveries
        .update_status(UpdateStatusRequest {
            order_id: order.id.clone(),
            status: DeliveryStatus::Assigned as i32,
            courier: Some("courier-1".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();

    assert!(!luca.address.is_empty(), "the seed gives an address");
    assert_eq!(of_order(&order), expected, "in the reply");
    assert_eq!(
        of_order(&order_of(&orders, &order.id).await.unwrap()),
        expected,
        "in a read"
    );
    let placed = events(&stack, &topics.orders, 1)
        .await
        .into_iter()
        .find_map(|p| match p {
            Payload::OrderPlaced(p) => p.order.filter(|o| o.id == order.id),
            _ => None,
        })
        .expect("its OrderPlaced");
    assert_eq!(of_order(&placed), expected, "in OrderPlaced");
    assert_eq!(of_delivery(&pending), expected, "in the delivery");
    assert_eq!(of_delivery(&assigned), expected, "after a change");
    let changes: Vec<(i32, Delivery)> = events(&stack, &topics.deliveries, 2)
        .await
        .into_iter()
        .filter_map(|p| match p {
            Payload::DeliveryStatusChanged(c) => c.delivery.map(|d| (d.status, d)),
            _ => None,
        })
        .collect();
    assert_eq!(
        changes.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        [
            DeliveryStatus::Pending as i32,
            DeliveryStatus::Assigned as i32
        ]
    );
    for (status, d) in &changes {
        assert_eq!(
            of_delivery(d),
            expected,
            "in DeliveryStatusChanged {status}"
        );
    }
    stack.stop().await;
}

#[tokio::test]
async fn orders_and_deliveries_are_listed_by_restaurant() {
    listing_by_restaurant(Stack::start().await).await;
}

#[tokio::test]
async fn on_postgres_orders_and_deliveries_are_listed_by_restaurant() {
    if let Some(stack) = Stack::start_on_postgres().await {
        listing_by_restaurant(stack).await;
    }
}

async fn listing_by_restaurant(stack: Stack) {
    let mut orders = stack.orders().await;
    let mut deliveries = stack.deliveries().await;
    let mut placed = Vec::new();
    for (customer, item, restaurant) in [
        ("pia", "margherita", LUCA),
        ("pia", "cola", SMASH),
        ("quinn", "tiramisu", LUCA),
        ("quinn", "cola", SMASH),
        ("pia", "margherita", LUCA),
    ] {
        let o = orders
            .create_order(order_request(customer, &[(item, 1)]))
            .await
            .unwrap()
            .into_inner();
        placed.push((o.id, customer, restaurant));
    }
    // What a list should hold: newest first, as every list.
    let expected = |restaurant: &str, customer: Option<&str>| -> Vec<String> {
        placed
            .iter()
            .rev()
            .filter(|(_, c, r)| *r == restaurant && customer.is_none_or(|want| want == *c))
            .map(|(id, _, _)| id.clone())
            .collect()
    };
    for (id, _, _) in &placed {
        eventually(|| delivery_of(&deliveries, id), |_| true).await;
    }

    for (restaurant, customer) in [(LUCA, None), (SMASH, None), (LUCA, Some("pia"))] {
        let listed: Vec<String> = orders
            .list_orders(ListOrdersRequest {
                restaurant_id: Some(restaurant.into()),
                customer_id: customer.map(Into::into),
                page: page(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .orders
            .into_iter()
            .map(|o| o.id)
            .collect();
        assert_eq!(
            listed,
            expected(restaurant, customer),
            "orders of {restaurant}, customer {customer:?}"
        );
    }
    for restaurant in [LUCA, SMASH] {
        let listed: Vec<String> = deliveries
            .list_deliveries(ListDeliveriesRequest {
                restaurant_id: Some(restaurant.into()),
                page: page(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .deliveries
            .into_iter()
            .map(|d| d.order_id)
            .collect();
        assert_eq!(
            listed,
            expected(restaurant, None),
            "deliveries of {restaurant}"
        );
    }
    let none = orders
        .list_orders(ListOrdersRequest {
            restaurant_id: Some("no-such-kitchen".into()),
            page: page(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(none.orders.is_empty());
    stack.stop().await;
}
