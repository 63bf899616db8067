//! The kitchen's side of an order (docs/design.md, "Statuses, the kitchen
//! and the couriers"): auto-accept and accepting by hand, rejecting, ready
//! for pick-up, the restaurant scope, the acceptance deadline (across a
//! restart and with two replicas), and the events each of them emits.
//! Delivery-service's side (dispatch, compensation) is not relied on here.

use std::{net::SocketAddr, time::Duration};

use chrono::{DateTime, Utc};
use food_api::ErrorCode;
use food_events::{Payload, topics::Topics};
use food_kit::Shutdown;
use food_proto::{
    delivery::v1::{DeliveryStatus, UpdateStatusRequest},
    menu::v1::{GetItemRequest, GetRestaurantRequest, ImportItemsRequest},
    order::v1::{
        AcceptOrderRequest, CancelOrderRequest, MarkReadyRequest, Order, OrderStatus,
        RejectOrderRequest, order_service_client::OrderServiceClient,
    },
};
use tonic::{Code, transport::Channel};

use super::helpers::*;

/// Accepts by hand, 300 s to answer (the seed).
const TANDOOR: &str = "maison-tandoor";
/// How long to keep reading after the expected events, to see an extra one.
const QUIET: Duration = Duration::from_millis(700);

fn ts(t: DateTime<Utc>) -> food_proto::Timestamp {
    food_api::convert::to_timestamp(t)
}

fn time_of(t: Option<&food_proto::Timestamp>) -> DateTime<Utc> {
    food_api::convert::opt_from_timestamp(t).expect("a time")
}

/// A seed time to the microsecond, as order-service stores it.
fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap()
}

fn accept_in(id: &str, minutes: u32) -> AcceptOrderRequest {
    AcceptOrderRequest {
        id: id.into(),
        prep_minutes: Some(minutes),
        ..Default::default()
    }
}

fn accept_at(id: &str, at: DateTime<Utc>) -> AcceptOrderRequest {
    AcceptOrderRequest {
        id: id.into(),
        ready_by: Some(ts(at)),
        ..Default::default()
    }
}

fn reject(id: &str, reason: &str) -> RejectOrderRequest {
    RejectOrderRequest {
        id: id.into(),
        reason: reason.into(),
        restaurant_id: None,
    }
}

fn ready(id: &str) -> MarkReadyRequest {
    MarkReadyRequest {
        id: id.into(),
        restaurant_id: None,
    }
}

/// The `field` detail of an INVALID_ARGUMENT.
fn field_of(s: &tonic::Status) -> String {
    food_kit::grpc::error_code(s)
        .1
        .get("field")
        .cloned()
        .unwrap_or_default()
}

/// A refused transition: 409 `invalid_transition` naming the status.
#[track_caller]
fn assert_refused(s: &tonic::Status, status: OrderStatus) {
    let (code, details) = food_kit::grpc::error_code(s);
    assert_eq!(
        (s.code(), code),
        (Code::FailedPrecondition, ErrorCode::InvalidTransition),
        "{s:?}"
    );
    assert_eq!(
        details["status"],
        status.as_str_name().trim_start_matches("ORDER_STATUS_")
    );
}

async fn tandoor_order(orders: &mut OrderServiceClient<Channel>, customer: &str) -> Order {
    orders
        .create_order(order_request(
            customer,
            &[("chicken-tikka-masala", 1), ("garlic-naan", 2)],
        ))
        .await
        .unwrap()
        .into_inner()
}

fn changed_order(p: &Payload) -> &Order {
    match p {
        Payload::OrderStatusChanged(c) => c.order.as_ref().expect("the whole order"),
        other => panic!("not an OrderStatusChanged: {other:?}"),
    }
}

fn placed() -> (&'static str, Option<(i32, i32)>) {
    ("OrderPlaced", None)
}

fn change(from: OrderStatus, to: OrderStatus) -> (&'static str, Option<(i32, i32)>) {
    ("OrderStatusChanged", Some((from as i32, to as i32)))
}

#[tokio::test]
async fn an_auto_accept_kitchen_takes_the_order_at_once_ready_by_its_longest_prep_time() {
    let stack = Stack::start().await;
    let mut orders = stack.orders().await;
    let topics = Topics::with_prefix(&stack.prefix);

    // trattoria-da-luca accepts automatically; margherita takes 12 minutes,
    // tiramisu 3.
    let reply = orders
        .create_order(order_request("ada", &[("margherita", 1), ("tiramisu", 2)]))
        .await
        .unwrap()
        .into_inner();
    let stored = order_of(&orders, &reply.id).await.unwrap();
    let events = order_events(&stack.brokers, &topics.orders, &reply.id, 2, QUIET).await;

    assert_eq!(
        reply.status,
        OrderStatus::Placed as i32,
        "the 201 shows PLACED"
    );
    assert_eq!(reply.ready_by, None);
    assert_eq!(stored.status, OrderStatus::Preparing as i32);
    let created = time_of(reply.created_at.as_ref());
    assert_eq!(
        time_of(stored.ready_by.as_ref()),
        created + chrono::Duration::minutes(12)
    );
    assert_eq!(
        event_kinds(&events),
        [
            placed(),
            change(OrderStatus::Placed, OrderStatus::Preparing)
        ]
    );
    match &events[0] {
        Payload::OrderPlaced(p) => assert_eq!(p.order.as_ref(), Some(&reply), "as placed"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        changed_order(&events[1]),
        &stored,
        "the whole order, lines included"
    );
    assert_eq!(stored.items.len(), 2);
    stack.stop().await;
}

#[tokio::test]
async fn a_kitchen_accepts_by_hand_moves_ready_by_and_marks_the_order_ready() {
    let stack = Stack::start().await;
    let mut orders = stack.orders().await;
    let topics = Topics::with_prefix(&stack.prefix);
    let order = tandoor_order(&mut orders, "bea").await;
    let waiting = order_of(&orders, &order.id).await.unwrap();

    let t0 = Utc::now();
    let accepted = orders
        .accept_order(accept_in(&order.id, 15))
        .await
        .unwrap()
        .into_inner();
    let t1 = Utc::now();
    let later = micros(Utc::now() + chrono::Duration::minutes(40));
    let moved = orders
        .accept_order(accept_at(&order.id, later))
        .await
        .unwrap()
        .into_inner();
    let same_again = orders
        .accept_order(accept_at(&order.id, later))
        .await
        .unwrap()
        .into_inner();
    let readied = orders
        .mark_ready(ready(&order.id))
        .await
        .unwrap()
        .into_inner();
    let refused = orders
        .accept_order(accept_in(&order.id, 5))
        .await
        .unwrap_err();
    let events = order_events(&stack.brokers, &topics.orders, &order.id, 4, QUIET).await;

    assert_eq!(
        waiting.status,
        OrderStatus::Placed as i32,
        "waits for its kitchen"
    );
    assert_eq!(accepted.status, OrderStatus::Preparing as i32);
    let first = time_of(accepted.ready_by.as_ref());
    let fifteen = chrono::Duration::minutes(15);
    assert!(
        micros(t0 + fifteen) <= first && first <= t1 + fifteen,
        "{first} is 15 minutes after the call"
    );
    assert_eq!(moved.status, OrderStatus::Preparing as i32);
    assert_eq!(time_of(moved.ready_by.as_ref()), later);
    assert_eq!(same_again, moved, "the same ready_by again changes nothing");
    assert_eq!(readied.status, OrderStatus::ReadyForPickup as i32);
    assert_eq!(time_of(readied.ready_by.as_ref()), later);
    assert_refused(&refused, OrderStatus::ReadyForPickup);
    assert_eq!(order_of(&orders, &order.id).await.unwrap(), readied);
    assert_eq!(
        event_kinds(&events),
        [
            placed(),
            change(OrderStatus::Placed, OrderStatus::Preparing),
            change(OrderStatus::Preparing, OrderStatus::Preparing),
            change(OrderStatus::Preparing, OrderStatus::ReadyForPickup),
        ],
        "one event per change, none for the same ready_by or the refusal"
    );
    assert_eq!(changed_order(&events[1]), &accepted);
    assert_eq!(changed_order(&events[2]), &moved);
    assert_eq!(changed_order(&events[3]), &readied);
    stack.stop().await;
}

#[tokio::test]
async fn a_rejection_keeps_its_trimmed_reason_and_refused_kitchen_calls_change_nothing() {
    let stack = Stack::start().await;
    let mut orders = stack.orders().await;
    let topics = Topics::with_prefix(&stack.prefix);
    let declined = tandoor_order(&mut orders, "cleo").await;
    let withdrawn = tandoor_order(&mut orders, "cleo").await;
    let waiting = tandoor_order(&mut orders, "cleo").await;
    let cooking = tandoor_order(&mut orders, "cleo").await;

    let rejected = orders
        .reject_order(reject(&declined.id, "  out of naan tonight "))
        .await
        .unwrap()
        .into_inner();
    let cancelled = orders
        .cancel_order(CancelOrderRequest {
            id: withdrawn.id.clone(),
            reason: Some("changed my mind".into()),
        })
        .await
        .unwrap()
        .into_inner();
    let preparing = orders
        .accept_order(accept_in(&cooking.id, 20))
        .await
        .unwrap()
        .into_inner();
    let mut refusals = Vec::new();
    for (order, status) in [
        (&rejected, OrderStatus::Rejected),
        (&cancelled, OrderStatus::Cancelled),
    ] {
        refusals.push((
            orders
                .accept_order(accept_in(&order.id, 10))
                .await
                .unwrap_err(),
            status,
        ));
        refusals.push((
            orders
                .reject_order(reject(&order.id, "again"))
                .await
                .unwrap_err(),
            status,
        ));
        refusals.push((
            orders.mark_ready(ready(&order.id)).await.unwrap_err(),
            status,
        ));
    }
    refusals.push((
        orders.mark_ready(ready(&waiting.id)).await.unwrap_err(),
        OrderStatus::Placed,
    ));
    refusals.push((
        orders
            .reject_order(reject(&cooking.id, "too late"))
            .await
            .unwrap_err(),
        OrderStatus::Preparing,
    ));

    assert_eq!(rejected.status, OrderStatus::Rejected as i32);
    assert_eq!(
        rejected.rejection_reason.as_deref(),
        Some("out of naan tonight")
    );
    assert_eq!(cancelled.status, OrderStatus::Cancelled as i32);
    for (refusal, status) in &refusals {
        assert_refused(refusal, *status);
    }
    for (order, expected) in [
        (&declined, &rejected),
        (&withdrawn, &cancelled),
        (&cooking, &preparing),
    ] {
        assert_eq!(
            &order_of(&orders, &order.id).await.unwrap(),
            expected,
            "unchanged"
        );
    }
    assert_eq!(
        order_of(&orders, &waiting.id).await.unwrap().status,
        OrderStatus::Placed as i32
    );
    let events = order_events(&stack.brokers, &topics.orders, &declined.id, 2, QUIET).await;
    assert_eq!(
        event_kinds(&events),
        [placed(), change(OrderStatus::Placed, OrderStatus::Rejected)]
    );
    assert_eq!(changed_order(&events[1]), &rejected);
    let events = order_events(&stack.brokers, &topics.orders, &withdrawn.id, 3, QUIET).await;
    assert_eq!(
        event_kinds(&events),
        [
            placed(),
            ("OrderCancelled", None),
            change(OrderStatus::Placed, OrderStatus::Cancelled)
        ]
    );
    assert_eq!(changed_order(&events[2]), &cancelled, "the whole order");
    stack.stop().await;
}

#[tokio::test]
async fn bad_kitchen_arguments_name_their_field_and_unknown_orders_are_not_found() {
    let stack = Stack::start().await;
    let mut orders = stack.orders().await;
    let order = tandoor_order(&mut orders, "dora").await;
    let id = order.id.as_str();
    let now = Utc::now();

    let both = AcceptOrderRequest {
        prep_minutes: Some(10),
        ..accept_at(id, now + chrono::Duration::minutes(10))
    };
    let neither = AcceptOrderRequest {
        id: id.into(),
        ..Default::default()
    };
    let mut bad = Vec::new();
    for (req, field) in [
        (both, "prep_minutes"),
        (neither, "ready_by"),
        (accept_in(id, 0), "prep_minutes"),
        (accept_in(id, 241), "prep_minutes"),
        (
            accept_at(id, now - chrono::Duration::minutes(1)),
            "ready_by",
        ),
        (accept_at(id, now + chrono::Duration::hours(25)), "ready_by"),
    ] {
        bad.push((orders.accept_order(req).await.unwrap_err(), field));
    }
    let long = "x".repeat(201);
    for reason in ["", "   ", long.as_str()] {
        bad.push((
            orders.reject_order(reject(id, reason)).await.unwrap_err(),
            "reason",
        ));
    }
    let unknown = [
        orders
            .accept_order(accept_in("nope", 10))
            .await
            .unwrap_err(),
        orders
            .reject_order(reject("nope", "closed"))
            .await
            .unwrap_err(),
        orders.mark_ready(ready("nope")).await.unwrap_err(),
    ];

    for (e, field) in &bad {
        assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
        assert_eq!(field_of(e), *field, "{e:?}");
    }
    for e in &unknown {
        assert_eq!(e.code(), Code::NotFound, "{e:?}");
    }
    assert_eq!(
        order_of(&orders, id).await.unwrap(),
        order,
        "nothing changed"
    );
    stack.stop().await;
}

#[tokio::test]
async fn a_restaurant_scope_finds_only_its_own_orders() {
    let stack = Stack::start().await;
    let mut orders = stack.orders().await;
    let order = tandoor_order(&mut orders, "emil").await;
    let unknown = orders
        .mark_ready(ready("nope"))
        .await
        .unwrap_err()
        .message()
        .replace("nope", &order.id);

    let mut hidden = Vec::new();
    for other in ["le-bouchon-des-halles", "trattoria-da-luca"] {
        let scope = Some(other.to_owned());
        hidden.push(
            orders
                .accept_order(AcceptOrderRequest {
                    restaurant_id: scope.clone(),
                    ..accept_in(&order.id, 10)
                })
                .await
                .unwrap_err(),
        );
        hidden.push(
            orders
                .reject_order(RejectOrderRequest {
                    restaurant_id: scope.clone(),
                    ..reject(&order.id, "not ours")
                })
                .await
                .unwrap_err(),
        );
        hidden.push(
            orders
                .mark_ready(MarkReadyRequest {
                    id: order.id.clone(),
                    restaurant_id: scope,
                })
                .await
                .unwrap_err(),
        );
    }
    let untouched = order_of(&orders, &order.id).await.unwrap();
    let own = orders
        .accept_order(AcceptOrderRequest {
            restaurant_id: Some(TANDOOR.into()),
            ..accept_in(&order.id, 10)
        })
        .await
        .unwrap()
        .into_inner();

    for e in &hidden {
        assert_eq!(e.code(), Code::NotFound, "{e:?}");
        assert_eq!(e.message(), unknown, "as if the order did not exist");
    }
    assert_eq!(untouched, order);
    assert_eq!(own.status, OrderStatus::Preparing as i32);
    stack.stop().await;
}

/// Imports `id`, a kitchen that accepts by hand within `timeout_s`, with one
/// item `<id>-dish`; returns the item's id.
async fn import_slow_kitchen(stack: &Stack, id: &str, timeout_s: u32) -> String {
    let mut menu = stack.menu().await;
    let mut restaurant = menu
        .get_restaurant(GetRestaurantRequest { id: TANDOOR.into() })
        .await
        .unwrap()
        .into_inner();
    restaurant.id = id.into();
    restaurant.name = format!("Slow {id}");
    restaurant.auto_accept = false;
    restaurant.acceptance_timeout_s = timeout_s;
    let mut item = menu
        .get_item(GetItemRequest {
            id: "chicken-tikka-masala".into(),
        })
        .await
        .unwrap()
        .into_inner();
    item.id = format!("{id}-dish");
    item.restaurant_id = id.into();
    menu.import_items(ImportItemsRequest {
        restaurants: vec![restaurant],
        items: vec![item.clone()],
    })
    .await
    .unwrap();
    item.id
}

#[tokio::test]
async fn an_unanswered_order_is_rejected_for_timeout_once_even_across_a_restart() {
    let stack = Stack::start_with(|o| o.acceptance_sweep_ms = 20).await;
    let topics = Topics::with_prefix(&stack.prefix);
    let dish = import_slow_kitchen(&stack, "slow-stove", 2).await;
    let mut orders = stack.orders().await;
    let waiting = orders
        .create_order(order_request("finn", &[(dish.as_str(), 1)]))
        .await
        .unwrap()
        .into_inner();
    let answered = orders
        .create_order(order_request("finn", &[(dish.as_str(), 1)]))
        .await
        .unwrap()
        .into_inner();
    let accepted = orders
        .accept_order(accept_in(&answered.id, 30))
        .await
        .unwrap()
        .into_inner();
    let before_deadline = order_of(&orders, &waiting.id).await.unwrap();
    // Published before the stop (else the relay may send it again after).
    order_events(
        &stack.brokers,
        &topics.orders,
        &waiting.id,
        1,
        Duration::ZERO,
    )
    .await;

    // The deadline passes while order-service is down.
    stack.stop_part("order-service").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    stack.restart_part("order-service").await;
    let orders = stack.orders().await;
    let rejected = eventually(
        || order_of(&orders, &waiting.id),
        |o| o.status == OrderStatus::Rejected as i32,
    )
    .await;
    // Dozens of sweeps later, still one rejection.
    let events = order_events(
        &stack.brokers,
        &topics.orders,
        &waiting.id,
        2,
        Duration::from_millis(1500),
    )
    .await;

    assert_eq!(before_deadline.status, OrderStatus::Placed as i32);
    assert_eq!(rejected.status, OrderStatus::Rejected as i32);
    assert_eq!(rejected.rejection_reason.as_deref(), Some("timeout"));
    let kinds = event_kinds(&events);
    assert_eq!(kinds[0], placed());
    // The relay publishes at least once: OrderPlaced may come twice
    // around a restart; the rejection is decided once.
    let changes: Vec<_> = kinds.iter().filter(|(k, _)| *k != "OrderPlaced").collect();
    assert_eq!(
        changes,
        [&change(OrderStatus::Placed, OrderStatus::Rejected)],
        "{kinds:?}"
    );
    assert_eq!(changed_order(events.last().unwrap()), &rejected);
    assert_eq!(
        order_of(&orders, &answered.id).await.unwrap(),
        accepted,
        "an accepted order has no deadline"
    );
    stack.stop().await;
}

/// An order-service of its own (not the stack's) on `database_url`, in
/// consumer group `group`, on the stack's broker and menu.
struct Replica {
    addr: SocketAddr,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Replica {
    async fn start(stack: &Stack, database_url: &str, group: &str) -> Self {
        let mut settings = food_order::Settings {
            menu_url: format!("http://{}", stack.menu),
            acceptance_sweep_ms: 5,
            ..Default::default()
        };
        settings.service.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        settings.service.database_url = database_url.into();
        settings.service.kafka.brokers = stack.brokers.clone();
        settings.service.kafka.topic_prefix = stack.prefix.clone();
        settings.service.kafka.group_id = Some(group.into());
        let shutdown = Shutdown::new();
        let app = food_order::Application::build(settings, shutdown.clone())
            .await
            .expect("an order-service replica");
        Self {
            addr: app.local_addr(),
            shutdown,
            task: tokio::spawn(app.run_until_stopped()),
        }
    }

    async fn client(&self) -> OrderServiceClient<Channel> {
        OrderServiceClient::connect(format!("http://{}", self.addr))
            .await
            .unwrap()
    }

    async fn stop(self) {
        self.shutdown.trigger();
        self.task.await.unwrap().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_two_replicas_reject_each_overdue_order_once() {
    let Some(url) = food_kit::testing::postgres_schema("order").await else {
        return;
    };
    let stack = Stack::start().await;
    let topics = Topics::with_prefix(&stack.prefix);
    let dish = import_slow_kitchen(&stack, "slow-grill", 1).await;
    let group = format!("{}order-replicas", stack.prefix);
    let a = Replica::start(&stack, &url, &group).await;
    let b = Replica::start(&stack, &url, &group).await;
    let (mut on_a, mut on_b) = (a.client().await, b.client().await);

    let mut ids = Vec::new();
    for i in 0..12 {
        let client = if i % 2 == 0 { &mut on_a } else { &mut on_b };
        ids.push(
            client
                .create_order(order_request("gus", &[(dish.as_str(), 1)]))
                .await
                .unwrap()
                .into_inner()
                .id,
        );
    }
    for id in &ids {
        let o = eventually(
            || order_of(&on_b, id),
            |o| o.status == OrderStatus::Rejected as i32,
        )
        .await;
        assert_eq!(o.status, OrderStatus::Rejected as i32, "{id}");
        assert_eq!(o.rejection_reason.as_deref(), Some("timeout"));
    }
    let wanted: Vec<(&str, usize)> = ids.iter().map(|id| (id.as_str(), 2)).collect();
    let seen: Vec<_> = orders_events(&stack.brokers, &topics.orders, &wanted, QUIET)
        .await
        .iter()
        .map(|events| event_kinds(events))
        .collect();
    a.stop().await;
    b.stop().await;

    for kinds in &seen {
        assert_eq!(
            kinds,
            &[placed(), change(OrderStatus::Placed, OrderStatus::Rejected)],
            "placed once, rejected once"
        );
    }
    stack.stop().await;
}

#[tokio::test]
async fn a_fresh_consumer_group_replaying_every_delivery_event_changes_no_order() {
    let stack = Stack::start().await;
    let topics = Topics::with_prefix(&stack.prefix);
    let mut orders = stack.orders().await;
    let deliveries = stack.deliveries().await;
    let delivered = orders
        .create_order(order_request("hana", &[("margherita", 1)]))
        .await
        .unwrap()
        .into_inner();
    let dropped = orders
        .create_order(order_request("hana", &[("margherita", 1)]))
        .await
        .unwrap()
        .into_inner();
    for (order, path) in [
        (
            &delivered,
            &[
                DeliveryStatus::Assigned,
                DeliveryStatus::PickedUp,
                DeliveryStatus::InTransit,
                DeliveryStatus::Delivered,
            ][..],
        ),
        (&dropped, &[DeliveryStatus::Cancelled][..]),
    ] {
        eventually(|| delivery_of(&deliveries, &order.id), |_| true).await;
        for status in path {
            update_delivery(
                &deliveries,
                UpdateStatusRequest {
                    order_id: order.id.clone(),
                    status: *status as i32,
                    courier: (*status == DeliveryStatus::Assigned).then(|| "courier-1".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        }
    }
    let done = eventually(
        || order_of(&orders, &delivered.id),
        |o| o.status == OrderStatus::Delivered as i32,
    )
    .await;
    let gone = eventually(
        || order_of(&orders, &dropped.id),
        |o| o.status == OrderStatus::Cancelled as i32,
    )
    .await;
    caught_up(&stack.brokers, &stack.group_id("order"), &topics.deliveries).await;
    let first = [
        order_events(&stack.brokers, &topics.orders, &delivered.id, 4, QUIET).await,
        order_events(&stack.brokers, &topics.orders, &dropped.id, 3, QUIET).await,
    ];

    // Another order-service on the same database, in a group that has never
    // committed an offset: it reads food.deliveries.v1 from the beginning.
    stack.stop_part("order-service").await;
    let url = format!("sqlite://{}/order.db", stack.data_dir.display());
    let group = format!("{}order-fresh", stack.prefix);
    let replay = Replica::start(&stack, &url, &group).await;
    caught_up(&stack.brokers, &group, &topics.deliveries).await;
    let replayed = replay.client().await;
    let after = [
        order_of(&replayed, &delivered.id).await.unwrap(),
        order_of(&replayed, &dropped.id).await.unwrap(),
    ];
    let second = [
        order_events(&stack.brokers, &topics.orders, &delivered.id, 4, QUIET).await,
        order_events(&stack.brokers, &topics.orders, &dropped.id, 3, QUIET).await,
    ];
    replay.stop().await;

    assert_eq!(done.status, OrderStatus::Delivered as i32);
    assert_eq!(gone.status, OrderStatus::Cancelled as i32);
    assert_eq!(
        event_kinds(&first[0]),
        [
            placed(),
            change(OrderStatus::Placed, OrderStatus::Preparing),
            change(OrderStatus::Preparing, OrderStatus::OutForDelivery),
            change(OrderStatus::OutForDelivery, OrderStatus::Delivered),
        ],
        "ASSIGNED and IN_TRANSIT move nothing"
    );
    assert_eq!(
        event_kinds(&first[1]),
        [
            placed(),
            change(OrderStatus::Placed, OrderStatus::Preparing),
            change(OrderStatus::Preparing, OrderStatus::Cancelled),
        ]
    );
    assert_eq!(changed_order(&first[0][3]), &done, "the whole order");
    assert_eq!(after, [done, gone], "no order moved");
    assert_eq!(second, first, "no event emitted again");
    stack.restart_part("order-service").await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_racing_accept_and_reject_calls_apply_exactly_one_of_them() {
    let Some(stack) = Stack::start_on_postgres().await else {
        return;
    };
    let topics = Topics::with_prefix(&stack.prefix);
    let mut orders = stack.orders().await;
    let mut ids = Vec::new();
    for _ in 0..8 {
        ids.push(tandoor_order(&mut orders, "ivo").await.id);
    }

    let mut races = Vec::new();
    for id in &ids {
        let (mut a, mut b) = (orders.clone(), orders.clone());
        let (x, y) = (id.clone(), id.clone());
        races.push(tokio::spawn(async move {
            let (accepted, rejected) = tokio::join!(
                a.accept_order(accept_in(&x, 10)),
                b.reject_order(reject(&y, "busy"))
            );
            (
                accepted.map(|r| r.into_inner()),
                rejected.map(|r| r.into_inner()),
            )
        }));
    }
    let mut outcomes = Vec::new();
    for race in races {
        outcomes.push(race.await.unwrap());
    }

    let wanted: Vec<(&str, usize)> = ids.iter().map(|id| (id.as_str(), 2)).collect();
    let all_events = orders_events(&stack.brokers, &topics.orders, &wanted, QUIET).await;
    for ((id, (accepted, rejected)), events) in ids.iter().zip(&outcomes).zip(&all_events) {
        let stored = order_of(&orders, id).await.unwrap();
        let kinds = event_kinds(events);
        match (accepted, rejected) {
            (Ok(won), Err(lost)) => {
                assert_refused(lost, OrderStatus::Preparing);
                assert_eq!(&stored, won);
                assert_eq!(
                    kinds,
                    [
                        placed(),
                        change(OrderStatus::Placed, OrderStatus::Preparing)
                    ]
                );
            }
            (Err(lost), Ok(won)) => {
                assert_refused(lost, OrderStatus::Rejected);
                assert_eq!(&stored, won);
                assert_eq!(
                    kinds,
                    [placed(), change(OrderStatus::Placed, OrderStatus::Rejected)]
                );
            }
            other => panic!("exactly one of the two calls wins: {other:?}"),
        }
    }
    stack.stop().await;
}
