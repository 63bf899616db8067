//! A real `food-stack` driven through its gateway, as a user would.

use std::time::Duration;

use food_api::{Delivery, DeliveryStatus, Item, ItemList, Order, OrderStatus};
use food_broker::{
    Storage,
    testing::{Engine, TestBroker},
};
use food_kit::Shutdown;
use food_stack::{Config, Stack};
use futures::StreamExt;
use serde_json::json;

struct Running {
    stack: Stack,
    /// The Apache Kafka broker under `FOOD_TEST_BROKER=apache-kafka`; on
    /// Tansu the stack runs its own embedded broker, as `food-stack` does.
    _broker: Option<TestBroker>,
    http: reqwest::Client,
    base: String,
}

async fn start(dir: &std::path::Path) -> Running {
    food_kit::telemetry::init_for_tests();
    let mut config = Config::for_tests(dir.to_path_buf());
    config.topic_prefix = food_kit::testing::unique_prefix();
    let broker = match Engine::from_env() {
        Engine::Tansu => None,
        Engine::ApacheKafka => Some(
            TestBroker::start("127.0.0.1:0".parse().unwrap(), Storage::Memory)
                .await
                .expect("Apache Kafka starts"),
        ),
    };
    config.kafka_brokers = broker.as_ref().map(TestBroker::bootstrap);
    let stack = Stack::start(config, Shutdown::new())
        .await
        .expect("the stack starts");
    let base = format!("http://{}", stack.gateway);
    Running {
        stack,
        _broker: broker,
        http: reqwest::Client::new(),
        base,
    }
}

impl Running {
    fn customer(&self) -> &str {
        self.stack.keys.first_customer().1
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str, key: &str) -> T {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().await.unwrap()
    }

    async fn delivery(&self, order_id: &str) -> Option<Delivery> {
        let r = self
            .http
            .get(format!("{}/delivery/status/{order_id}", self.base))
            .bearer_auth(&self.stack.keys.ops)
            .send()
            .await
            .unwrap();
        if r.status().is_success() {
            Some(r.json().await.unwrap())
        } else {
            None
        }
    }

    async fn place(&self, item: &str) -> Order {
        let r = self
            .http
            .post(format!("{}/orders", self.base))
            .bearer_auth(self.customer())
            .json(&json!({"items": [{"item_id": item, "quantity": 2}], "delivery_address": "1 Main St"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        r.json().await.unwrap()
    }
}

async fn eventually<T>(mut f: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..300 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing in 15 s");
}

#[tokio::test]
async fn the_seed_flow_runs_end_to_end_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let app = start(dir.path()).await;

    // Anyone can browse the menu.
    let menu: ItemList = reqwest::get(format!("{}/menu/items?category=pizza", app.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pizza: &Item = menu
        .items
        .iter()
        .find(|i| i.available)
        .expect("an available pizza");
    let one: Item = reqwest::get(format!("{}/menu/items/{}", app.base, pizza.id))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(&one, pizza);

    // A customer orders; the delivery appears from the OrderPlaced event.
    let order = app.place(&pizza.id).await;
    assert_eq!(order.total_cents, pizza.price_cents * 2);
    assert_eq!(order.status, OrderStatus::Placed);
    let pending = eventually(async || app.delivery(&order.id).await).await;
    assert_eq!(pending.status, DeliveryStatus::Pending);

    // The first local courier claims it and moves it through every status
    // (the pick-up once delivery-service has heard the kitchen accepted);
    // the order follows.
    let courier = app.stack.keys.courier.clone();
    for status in ["ASSIGNED", "PICKED_UP", "IN_TRANSIT", "DELIVERED"] {
        let d: Delivery = eventually(async || {
            let r = app
                .http
                .put(format!("{}/delivery/status/{}", app.base, order.id))
                .bearer_auth(&courier)
                .json(&json!({"status": status}))
                .send()
                .await
                .unwrap();
            if r.status() == 409 && status == "PICKED_UP" {
                return None;
            }
            assert_eq!(r.status(), 200, "PUT {status}");
            Some(r.json().await.unwrap())
        })
        .await;
        assert_eq!(d.status.as_str(), status);
        assert_eq!(d.courier.as_deref(), Some("courier-1"));
    }
    let key = app.customer().to_owned();
    let delivered = eventually(async || {
        let o: Order = app.get(&format!("/orders/{}", order.id), &key).await;
        (o.status == OrderStatus::Delivered).then_some(o)
    })
    .await;
    assert_eq!(delivered.id, order.id);

    // A restart on the same data dir keeps everything, keys included.
    let keys = app.stack.keys.clone();
    app.stack.stop().await.unwrap();
    let app = start(dir.path()).await;
    assert_eq!(app.stack.keys, keys);
    let again: Order = app.get(&format!("/orders/{}", order.id), &key).await;
    assert_eq!(again.status, OrderStatus::Delivered);
    let d = app.delivery(&order.id).await.unwrap();
    assert_eq!(d.history.len(), 5);
    app.stack.stop().await.unwrap();
}

#[tokio::test]
async fn a_watcher_sees_a_status_change_live_over_sse() {
    let dir = tempfile::tempdir().unwrap();
    let app = start(dir.path()).await;
    let order = app.place("margherita").await;
    eventually(async || app.delivery(&order.id).await).await;

    let resp = app
        .http
        .get(format!("{}/delivery/status/{}/stream", app.base, order.id))
        .bearer_auth(app.customer())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.bytes_stream();
    let mut text = String::new();
    // First the current state...
    while !text.contains("\"PENDING\"") {
        text.push_str(&String::from_utf8_lossy(
            &body.next().await.unwrap().unwrap(),
        ));
    }
    // ...then the change.
    let r = app
        .http
        .put(format!("{}/delivery/status/{}", app.base, order.id))
        .bearer_auth(&app.stack.keys.ops)
        .json(&json!({"status": "ASSIGNED", "courier": "courier-2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let seen = tokio::time::timeout(Duration::from_secs(10), async {
        while !text.contains("\"ASSIGNED\"") {
            text.push_str(&String::from_utf8_lossy(
                &body.next().await.unwrap().unwrap(),
            ));
        }
    })
    .await;
    assert!(seen.is_ok(), "the change arrived on the stream: {text}");
    assert!(text.contains("event: delivery"));
    drop(body);
    app.stack.stop().await.unwrap();
}
