//! A short order id (the last 8 characters) that several orders share.
//! Order ids are UUIDv7 with 32 random bits at the end: two orders meet on
//! their short id about once in 2^32, which no test can wait for. So the
//! test makes the collision in the services' own storage: it copies a real
//! order (with its lines) and its delivery (with its history) under ids
//! that differ from the original everywhere but in the last 8 characters,
//! as a collision would.

use food_proto::{
    common::v1::PageRequest,
    delivery::v1::{ListDeliveriesRequest, delivery_service_client::DeliveryServiceClient},
    order::v1::{ListOrdersRequest, order_service_client::OrderServiceClient},
};
use food_stack::testing::TestStack;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;

const ALICE: &str = "alice-key";
const BOB: &str = "bob-key";
const OPS: &str = "ops-key";

/// A stack with an order of Alice's, a twin of it for Alice and one for
/// Bob, all three ending with the same 8 characters, and their deliveries.
struct Collision {
    stack: TestStack,
    client: reqwest::Client,
    /// The order as placed through the gateway.
    original: String,
    alices_twin: String,
    bobs_twin: String,
    short: String,
}

impl Collision {
    async fn arrange() -> Self {
        let stack = TestStack::builder()
            .customer_key(ALICE, "alice")
            .customer_key(BOB, "bob")
            .ops_key(OPS)
            .start()
            .await;
        let client = reqwest::Client::new();
        let base = stack.gateway_url();
        let item = client
            .get(format!(
                "{base}/restaurants/trattoria-da-luca/menu?available=true&limit=1"
            ))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()["items"][0]["id"]
            .clone();
        let order: Value = client
            .post(format!("{base}/orders"))
            .bearer_auth(ALICE)
            .json(&json!({"items": [{"item_id": item, "quantity": 1}], "delivery_address": "1 Main St"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let original = order["id"].as_str().expect("an order").to_owned();
        // Its delivery comes from the OrderPlaced event.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        while client
            .get(format!("{base}/delivery/status/{original}"))
            .bearer_auth(OPS)
            .send()
            .await
            .unwrap()
            .status()
            != StatusCode::OK
        {
            assert!(tokio::time::Instant::now() < deadline, "no delivery");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let short = original[original.len() - 8..].to_owned();
        let alices_twin = format!("ffffffff{}", &original[8..]);
        let bobs_twin = format!("eeeeeeee{}", &original[8..]);
        for (twin, customer) in [(&alices_twin, "alice"), (&bobs_twin, "bob")] {
            copy_order(&stack, &original, twin, customer).await;
        }
        Self {
            stack,
            client,
            original,
            alices_twin,
            bobs_twin,
            short,
        }
    }

    async fn send(&self, method: Method, path: &str, key: &str) -> (StatusCode, Value) {
        let res = self
            .client
            .request(method, format!("{}{path}", self.stack.gateway_url()))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, key: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, key).await
    }
}

/// Copies order `from` (lines, delivery and its history included) under the
/// id `to` for `customer`, in order-service's and delivery-service's SQLite
/// files, as a collision of short ids would leave them.
async fn copy_order(stack: &TestStack, from: &str, to: &str, customer: &str) {
    let url = |db: &str| format!("sqlite://{}", stack.data_dir.join(db).display());
    let mut orders = sqlx::SqliteConnection::connect(&url("order.db"))
        .await
        .unwrap();
    let copied = sqlx::query(
        "INSERT INTO orders (id, customer_id, status, total_cents, currency, delivery_address, \
         note, request_hash, delivery_version, created_at, updated_at, restaurant_id, \
         restaurant_name, pickup_address, ready_by, rejection_reason, accept_deadline, short_id) \
         SELECT $1, $2, status, total_cents, currency, delivery_address, note, request_hash, \
         delivery_version, created_at, updated_at, restaurant_id, restaurant_name, \
         pickup_address, ready_by, rejection_reason, accept_deadline, short_id \
         FROM orders WHERE id = $3",
    )
    .bind(to)
    .bind(customer)
    .bind(from)
    .execute(&mut orders)
    .await
    .unwrap();
    assert_eq!(copied.rows_affected(), 1);
    sqlx::query(
        "INSERT INTO order_lines (order_id, line_no, item_id, name, quantity, unit_price_cents, \
         line_total_cents) SELECT $1, line_no, item_id, name, quantity, unit_price_cents, \
         line_total_cents FROM order_lines WHERE order_id = $2",
    )
    .bind(to)
    .bind(from)
    .execute(&mut orders)
    .await
    .unwrap();
    orders.close().await.unwrap();

    let mut deliveries = sqlx::SqliteConnection::connect(&url("delivery.db"))
        .await
        .unwrap();
    let copied = sqlx::query(
        "INSERT INTO deliveries (order_id, customer_id, item_count, total_cents, currency, \
         delivery_address, status, courier, eta, version, created_at, updated_at, restaurant_id, \
         restaurant_name, pickup_address, order_accepted, short_id) \
         SELECT $1, $2, item_count, total_cents, currency, delivery_address, status, courier, \
         eta, version, created_at, updated_at, restaurant_id, restaurant_name, pickup_address, \
         order_accepted, short_id FROM deliveries WHERE order_id = $3",
    )
    .bind(to)
    .bind(customer)
    .bind(from)
    .execute(&mut deliveries)
    .await
    .unwrap();
    assert_eq!(copied.rows_affected(), 1);
    sqlx::query(
        "INSERT INTO delivery_history (order_id, version, status, at, note, courier) \
         SELECT $1, version, status, at, note, courier FROM delivery_history WHERE order_id = $2",
    )
    .bind(to)
    .bind(from)
    .execute(&mut deliveries)
    .await
    .unwrap();
    deliveries.close().await.unwrap();
}

fn sorted(ids: &[&str]) -> Value {
    let mut ids: Vec<&str> = ids.to_vec();
    ids.sort_unstable();
    json!(ids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_id_several_of_the_callers_orders_share_is_a_409_naming_them() {
    // Arrange
    let c = Collision::arrange().await;
    let short = &c.short;
    let alices = sorted(&[&c.original, &c.alices_twin]);

    // Act
    let order = c.get(&format!("/orders/{short}"), ALICE).await;
    let delivery = c.get(&format!("/delivery/status/{short}"), ALICE).await;
    let cancel = c
        .send(Method::POST, &format!("/orders/{short}/cancel"), ALICE)
        .await;
    let graphql: Value = c
        .client
        .post(format!("{}/graphql", c.stack.gateway_url()))
        .bearer_auth(ALICE)
        .json(&json!({
            "query": "query($id: ID!) { order(id: $id) { id } }",
            "variables": {"id": short},
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    // Assert: Alice's two, never Bob's.
    for (what, (status, body)) in [
        ("order", &order),
        ("delivery", &delivery),
        ("cancel", &cancel),
    ] {
        assert_eq!(*status, StatusCode::CONFLICT, "{what}: {body}");
        let error = &body["error"];
        assert_eq!(error["code"], "ambiguous_id", "{what}: {body}");
        assert_eq!(error["details"]["candidates"], alices, "{what}: {body}");
        assert_eq!(error["details"]["more"], false, "{what}: {body}");
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains(&c.original) && message.contains(&c.alices_twin),
            "{what}: {message}"
        );
        assert!(!body.to_string().contains(&c.bobs_twin), "{what}: {body}");
    }
    let error = &graphql["errors"][0];
    assert_eq!(error["extensions"]["code"], "ambiguous_id", "{graphql}");
    assert_eq!(error["extensions"]["details"]["candidates"], alices);
    assert_eq!(graphql["data"]["order"], Value::Null);
    // Nothing was cancelled; the full ids still name each order.
    for id in [&c.original, &c.alices_twin] {
        let (status, order) = c.get(&format!("/orders/{id}"), ALICE).await;
        assert_eq!(status, StatusCode::OK, "{order}");
        assert_ne!(order["status"], "CANCELLED", "{order}");
    }
    // Bob sees one order ending so: his own, resolved.
    let (status, bobs) = c.get(&format!("/orders/{short}"), BOB).await;
    assert_eq!(status, StatusCode::OK, "{bobs}");
    assert_eq!(bobs["id"], c.bobs_twin.as_str());
    // Ops see all three.
    let (status, body) = c.get(&format!("/orders/{short}"), OPS).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        body["error"]["details"]["candidates"],
        sorted(&[&c.original, &c.alices_twin, &c.bobs_twin])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_services_list_the_orders_and_deliveries_of_a_short_id_in_scope() {
    // Arrange
    let c = Collision::arrange().await;
    let mut orders = OrderServiceClient::connect(format!("http://{}", c.stack.order))
        .await
        .unwrap();
    let mut deliveries = DeliveryServiceClient::connect(format!("http://{}", c.stack.delivery))
        .await
        .unwrap();
    let page = || {
        Some(PageRequest {
            limit: 10,
            cursor: String::new(),
        })
    };

    // Act
    let mut listed = Vec::new();
    for customer in [None, Some("alice"), Some("bob"), Some("carol")] {
        let o: Vec<String> = orders
            .list_orders(ListOrdersRequest {
                customer_id: customer.map(Into::into),
                id_suffix: Some(c.short.clone()),
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
        let d: Vec<String> = deliveries
            .list_deliveries(ListDeliveriesRequest {
                customer_id: customer.map(Into::into),
                order_id_suffix: Some(c.short.clone()),
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
        listed.push((customer, o, d));
    }
    let wrong_orders = orders
        .list_orders(ListOrdersRequest {
            id_suffix: Some(c.original.clone()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let wrong_deliveries = deliveries
        .list_deliveries(ListDeliveriesRequest {
            order_id_suffix: Some("abc".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();

    // Assert: newest first (ffffffff..., eeeeeeee..., then the original).
    let (all, alice, bob) = (
        vec![
            c.alices_twin.clone(),
            c.bobs_twin.clone(),
            c.original.clone(),
        ],
        vec![c.alices_twin.clone(), c.original.clone()],
        vec![c.bobs_twin.clone()],
    );
    assert_eq!(
        listed,
        [
            (None, all.clone(), all),
            (Some("alice"), alice.clone(), alice),
            (Some("bob"), bob.clone(), bob),
            (Some("carol"), vec![], vec![]),
        ]
    );
    for refused in [wrong_orders, wrong_deliveries] {
        assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
        assert!(
            refused.message().contains("last 8 characters"),
            "{refused:?}"
        );
    }
}

/// PostgreSQL's plan of `sql`, one line per node.
async fn pg_plan(conn: &mut sqlx::PgConnection, sql: &str) -> String {
    let rows: Vec<String> = sqlx::query_scalar(&format!("EXPLAIN {sql}"))
        .fetch_all(conn)
        .await
        .unwrap();
    rows.join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgresql_a_short_id_is_looked_up_through_its_index_in_every_scope() {
    // Arrange: the services' migrations on fresh schemas, 20,000 orders and
    // deliveries of 50 customers, 10 restaurants and 3 couriers, analysed,
    // so the planner weighs the indexes as it would in production.
    let Some(orders_url) = food_kit::testing::postgres_schema("order").await else {
        return;
    };
    let Some(deliveries_url) = food_kit::testing::postgres_schema("delivery").await else {
        return;
    };
    food_kit::Db::connect(&orders_url, &food_order::MIGRATIONS)
        .await
        .unwrap()
        .close()
        .await;
    food_kit::Db::connect(&deliveries_url, &food_delivery::MIGRATIONS)
        .await
        .unwrap()
        .close()
        .await;
    let mut orders = sqlx::PgConnection::connect(&orders_url).await.unwrap();
    let mut deliveries = sqlx::PgConnection::connect(&deliveries_url).await.unwrap();
    sqlx::query(
        "INSERT INTO orders (id, customer_id, status, total_cents, currency, delivery_address, \
         created_at, updated_at, restaurant_id, short_id) \
         SELECT md5(i::text), 'cust-' || (i % 50), 'PLACED', 1000, 'EUR', 'x', i, i, \
         'r-' || (i % 10), right(md5(i::text), 8) FROM generate_series(1, 20000) i",
    )
    .execute(&mut orders)
    .await
    .unwrap();
    sqlx::query("ANALYZE orders")
        .execute(&mut orders)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO deliveries (order_id, customer_id, item_count, total_cents, currency, \
         delivery_address, status, courier, version, created_at, updated_at, restaurant_id, \
         short_id) \
         SELECT md5(i::text), 'cust-' || (i % 50), 1, 1000, 'EUR', 'x', 'ASSIGNED', \
         CASE WHEN i % 4 = 0 THEN NULL ELSE 'courier-' || (i % 3) END, 1, i, i, \
         'r-' || (i % 10), right(md5(i::text), 8) FROM generate_series(1, 20000) i",
    )
    .execute(&mut deliveries)
    .await
    .unwrap();
    sqlx::query("ANALYZE deliveries")
        .execute(&mut deliveries)
        .await
        .unwrap();
    let short = "4d9f0b7e";

    for (who, scope) in [
        ("ops", ""),
        ("a customer", " AND customer_id = 'cust-7'"),
        ("a restaurant", " AND restaurant_id = 'r-3'"),
    ] {
        // Act: the statement ListOrders(id_suffix) runs.
        let plan = pg_plan(
            &mut orders,
            &format!(
                "SELECT * FROM orders WHERE 1 = 1 AND short_id = '{short}'{scope} \
                 ORDER BY id DESC LIMIT 11"
            ),
        )
        .await;

        // Assert
        assert!(plan.contains("orders_by_short_id"), "{who}: {plan}");
        assert!(!plan.contains("Seq Scan"), "{who}: {plan}");
    }
    for (who, scope) in [
        ("ops", ""),
        ("a customer", " AND d.customer_id = 'cust-7'"),
        ("a restaurant", " AND d.restaurant_id = 'r-3'"),
        (
            "a courier",
            " AND (d.courier = 'courier-1' OR d.courier IS NULL)",
        ),
    ] {
        // Act: the statement ListDeliveries(order_id_suffix) runs.
        let plan = pg_plan(
            &mut deliveries,
            &format!(
                "SELECT d.*, c.name AS courier_name FROM deliveries d \
                 LEFT JOIN couriers c ON c.id = d.courier \
                 WHERE 1 = 1 AND d.short_id = '{short}'{scope} \
                 ORDER BY d.order_id DESC LIMIT 11"
            ),
        )
        .await;

        // Assert
        assert!(plan.contains("deliveries_by_short_id"), "{who}: {plan}");
        assert!(!plan.contains("Seq Scan on deliveries"), "{who}: {plan}");
    }
}
