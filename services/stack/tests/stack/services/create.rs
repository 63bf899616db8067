use std::time::{Duration, Instant};

use food_api::ErrorCode;
use food_proto::{
    menu::v1::{GetItemRequest, ImportItemsRequest, menu_service_client::MenuServiceClient},
    order::v1::{ListOrdersRequest, OrderStatus, order_service_client::OrderServiceClient},
};
use tonic::Code;

use super::helpers::*;

#[tokio::test]
async fn create_order_prices_lines_from_the_menu() {
    let stack = Stack::start().await;
    let mut orders = stack.orders().await;

    let order = orders
        .create_order(order_request(
            "alice",
            &[("margherita", 2), ("tiramisu", 1)],
        ))
        .await
        .unwrap()
        .into_inner();

    assert_eq!(order.status, OrderStatus::Placed as i32);
    assert_eq!(order.items.len(), 2);
    for line in &order.items {
        assert!(line.unit_price_cents > 0);
        assert_eq!(
            line.line_total_cents,
            line.unit_price_cents * i64::from(line.quantity)
        );
    }
    let sum: i64 = order.items.iter().map(|l| l.line_total_cents).sum();
    assert_eq!(order.total_cents, sum);
    assert_eq!(order.currency, "EUR");
    // trattoria-da-luca accepts automatically: stored PREPARING at once.
    let stored = order_of(&orders, &order.id).await.unwrap();
    assert_eq!(stored.status, OrderStatus::Preparing as i32);
    assert!(stored.ready_by.is_some());
    assert_eq!(
        food_proto::order::v1::Order {
            status: order.status,
            ready_by: None,
            ..stored
        },
        order,
        "the stored order is the reply, accepted"
    );
    stack.stop().await;
}

#[tokio::test]
async fn create_order_rejects_each_bad_input_with_the_right_code_and_field() {
    let stack = Stack::start().await;
    let mut orders = stack.orders().await;
    let unavailable = unavailable_item(&stack).await;

    let cases: Vec<(&str, _, Code, ErrorCode)> = vec![
        (
            "unknown item",
            order_request("c", &[("no-such-dish", 1)]),
            Code::NotFound,
            ErrorCode::NotFound,
        ),
        (
            "unavailable item",
            order_request("c", &[(unavailable.as_str(), 1)]),
            Code::FailedPrecondition,
            ErrorCode::ItemUnavailable,
        ),
        (
            "quantity 0",
            order_request("c", &[("margherita", 0)]),
            Code::InvalidArgument,
            ErrorCode::InvalidArgument,
        ),
        (
            "quantity 51",
            order_request("c", &[("margherita", 51)]),
            Code::InvalidArgument,
            ErrorCode::InvalidArgument,
        ),
        (
            "empty order",
            order_request("c", &[]),
            Code::InvalidArgument,
            ErrorCode::InvalidArgument,
        ),
        (
            "101 lines",
            order_request("c", &[("margherita", 1); 101]),
            Code::InvalidArgument,
            ErrorCode::InvalidArgument,
        ),
        (
            "empty address",
            {
                let mut r = order_request("c", &[("margherita", 1)]);
                r.delivery_address = " ".into();
                r
            },
            Code::InvalidArgument,
            ErrorCode::InvalidArgument,
        ),
        (
            "long address",
            {
                let mut r = order_request("c", &[("margherita", 1)]);
                r.delivery_address = "a".repeat(501);
                r
            },
            Code::InvalidArgument,
            ErrorCode::InvalidArgument,
        ),
        (
            "no customer",
            order_request("", &[("margherita", 1)]),
            Code::InvalidArgument,
            ErrorCode::InvalidArgument,
        ),
    ];
    for (name, req, code, machine) in cases {
        let err = orders.create_order(req).await.expect_err(name);
        assert_eq!(err.code(), code, "{name}: {}", err.message());
        assert_eq!(code_of(&err), machine, "{name}");
        if code == Code::InvalidArgument {
            assert!(
                food_kit::grpc::error_code(&err).1.contains_key("field"),
                "{name} names its field"
            );
        }
    }
    let listed = orders
        .list_orders(ListOrdersRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.orders.is_empty(), "nothing was stored");
    stack.stop().await;
}

async fn unavailable_item(stack: &Stack) -> String {
    let mut menu = food_proto::menu::v1::menu_service_client::MenuServiceClient::connect(format!(
        "http://{}",
        stack.menu
    ))
    .await
    .unwrap();
    let all = menu
        .list_items(food_proto::menu::v1::ListItemsRequest {
            page: Some(food_proto::common::v1::PageRequest {
                limit: 1000,
                cursor: String::new(),
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    all.items
        .into_iter()
        .find(|i| !i.available)
        .expect("the seed has unavailable items")
        .id
}

#[tokio::test]
async fn the_same_idempotency_key_returns_the_first_order_and_a_different_request_conflicts() {
    let stack = Stack::start().await;
    let mut orders = stack.orders().await;
    let mut req = order_request("bob", &[("margherita", 1)]);
    req.idempotency_key = Some("retry-1".into());

    let first = orders.create_order(req.clone()).await.unwrap().into_inner();
    let again = orders.create_order(req.clone()).await.unwrap().into_inner();
    let mut other = req.clone();
    other.items[0].quantity = 2;
    let conflict = orders.create_order(other).await.unwrap_err();
    let mut other_customer = req.clone();
    other_customer.customer_id = "carol".into();
    let carols = orders
        .create_order(other_customer)
        .await
        .unwrap()
        .into_inner();

    assert_eq!(first.id, again.id);
    assert_eq!(conflict.code(), Code::AlreadyExists);
    assert_eq!(code_of(&conflict), ErrorCode::IdempotencyConflict);
    assert_ne!(carols.id, first.id, "keys are per customer");
    stack.stop().await;
}

#[tokio::test]
async fn concurrent_retries_with_one_key_create_one_order() {
    let stack = Stack::start().await;
    let orders = stack.orders().await;
    let mut req = order_request("dave", &[("margherita", 1)]);
    req.idempotency_key = Some("burst".into());

    let mut tasks = Vec::new();
    for _ in 0..16 {
        let mut c = orders.clone();
        let r = req.clone();
        tasks.push(tokio::spawn(async move {
            c.create_order(r).await.map(|o| o.into_inner().id)
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap().unwrap());
    }
    ids.dedup();

    assert_eq!(ids.len(), 1);
    stack.stop().await;
}

#[tokio::test]
async fn with_the_menu_down_create_fails_fast_with_unavailable_and_reads_still_work() {
    let stack = Stack::start().await;
    let mut orders = stack.orders().await;
    let placed = orders
        .create_order(order_request("erin", &[("margherita", 1)]))
        .await
        .unwrap()
        .into_inner();
    stack.stop_part("menu-service").await;

    // An item the order service has not priced lately needs the menu.
    let started = Instant::now();
    let err = orders
        .create_order(order_request("erin", &[("tiramisu", 1)]))
        .await
        .unwrap_err();
    let took = started.elapsed();
    // Once the cache time has passed, every item does.
    tokio::time::sleep(Duration::from_millis(MENU_CACHE_MS)).await;
    let expired = orders
        .create_order(order_request("erin", &[("margherita", 1)]))
        .await
        .unwrap_err();

    assert_eq!(err.code(), Code::Unavailable);
    assert!(
        took < Duration::from_secs(3),
        "failed fast, not a hang: {took:?}"
    );
    assert_eq!(expired.code(), Code::Unavailable);
    assert_eq!(order_of(&orders, &placed.id).await.unwrap().id, placed.id);
    stack.stop().await;
}

#[tokio::test]
async fn a_menu_change_reaches_new_orders_within_the_cache_time() {
    let stack = Stack::start().await;
    let mut orders = stack.orders().await;
    let mut menu = MenuServiceClient::connect(format!("http://{}", stack.menu))
        .await
        .unwrap();
    let before = orders
        .create_order(order_request("fay", &[("margherita", 1)]))
        .await
        .unwrap()
        .into_inner();
    let mut item = menu
        .get_item(GetItemRequest {
            id: "margherita".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let new_price = before.total_cents + 100;

    item.price_cents = new_price;
    menu.import_items(ImportItemsRequest {
        restaurants: Vec::new(),
        items: vec![item.clone()],
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(MENU_CACHE_MS + 100)).await;
    let repriced = orders
        .create_order(order_request("fay", &[("margherita", 1)]))
        .await
        .unwrap()
        .into_inner();
    item.available = false;
    menu.import_items(ImportItemsRequest {
        items: vec![item],
        restaurants: Vec::new(),
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(MENU_CACHE_MS + 100)).await;
    let refused = orders
        .create_order(order_request("fay", &[("margherita", 1)]))
        .await
        .unwrap_err();

    assert_eq!(repriced.total_cents, new_price);
    assert_eq!(repriced.items[0].unit_price_cents, new_price);
    assert_eq!(code_of(&refused), ErrorCode::ItemUnavailable);
    stack.stop().await;
}

#[tokio::test]
async fn list_orders_filters_by_customer_and_status_newest_first_with_a_cursor() {
    let stack = Stack::start().await;
    let mut orders: OrderServiceClient<_> = stack.orders().await;
    let mut franks = Vec::new();
    for _ in 0..5 {
        franks.push(
            orders
                .create_order(order_request("frank", &[("margherita", 1)]))
                .await
                .unwrap()
                .into_inner()
                .id,
        );
    }
    orders
        .create_order(order_request("gina", &[("margherita", 1)]))
        .await
        .unwrap();

    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = orders
            .list_orders(ListOrdersRequest {
                customer_id: Some("frank".into()),
                restaurant_id: None,
                // trattoria-da-luca accepts automatically.
                status: Some(OrderStatus::Preparing as i32),
                page: Some(food_proto::common::v1::PageRequest {
                    limit: 2,
                    cursor: cursor.clone(),
                }),
                id_suffix: None,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.orders.len() <= 2);
        seen.extend(page.orders.into_iter().map(|o| o.id));
        match page.next_cursor {
            Some(c) => cursor = c,
            None => break,
        }
    }
    franks.reverse();
    assert_eq!(seen, franks, "all of frank's, newest first, no one else's");
    let too_big = orders
        .list_orders(ListOrdersRequest {
            restaurant_id: None,
            page: Some(food_proto::common::v1::PageRequest {
                limit: 1001,
                cursor: String::new(),
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(too_big.code(), Code::InvalidArgument);
    stack.stop().await;
}

#[tokio::test]
async fn every_service_answers_health_checks_and_lists_itself_by_reflection() {
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let stack = Stack::start().await;
    let targets = [
        (stack.menu, "food.menu.v1.MenuService"),
        (stack.order, "food.order.v1.OrderService"),
        (stack.delivery, "food.delivery.v1.DeliveryService"),
    ];
    for (addr, service) in targets {
        let url = format!("http://{addr}");
        let channel = tonic::transport::Channel::from_shared(url)
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
        let status = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(
            status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32,
            "{service}"
        );

        let mut reflection = ServerReflectionClient::new(channel);
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut responses = reflection
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .unwrap()
            .into_inner();
        let Some(MessageResponse::ListServicesResponse(list)) =
            responses.message().await.unwrap().unwrap().message_response
        else {
            panic!("{service}: not a service list");
        };
        let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
        assert!(
            names.contains(&service.to_owned()),
            "{service} in {names:?}"
        );
        assert!(names.contains(&"grpc.health.v1.Health".to_owned()));
    }
    stack.stop().await;
}
