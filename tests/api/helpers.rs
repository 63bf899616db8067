//! A whole platform per test, started as `food-stack` starts it: menu,
//! order and delivery on port 0 with SQLite in a temp dir and the gateway in
//! front of them, on an in-memory broker of the test's own, with two
//! customer keys, a courier key and an ops key.

use std::{net::SocketAddr, time::Duration};

use food_gateway::{ApiKey, Role, Settings};
use food_kit::Shutdown;
use futures::StreamExt;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

pub const ALICE: &str = "alice-key";
pub const BOB: &str = "bob-key";
pub const COURIER: &str = "courier-key";
pub const OPS: &str = "ops-key";

/// Who calls, for table-driven tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    Anonymous,
    Alice,
    Bob,
    Courier,
    Ops,
}

impl Who {
    pub const ALL: [Who; 5] = [Who::Anonymous, Who::Alice, Who::Bob, Who::Courier, Who::Ops];

    pub fn key(self) -> Option<&'static str> {
        match self {
            Who::Anonymous => None,
            Who::Alice => Some(ALICE),
            Who::Bob => Some(BOB),
            Who::Courier => Some(COURIER),
            Who::Ops => Some(OPS),
        }
    }
}

pub struct Options {
    pub rate_limit_per_sec: u32,
    pub body_limit_bytes: usize,
    pub graphiql: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            rate_limit_per_sec: 0,
            body_limit_bytes: 1024 * 1024,
            graphiql: false,
        }
    }
}

pub struct TestStack {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    /// Stops everything when the test ends.
    pub shutdown: Shutdown,
    /// Menu, order and delivery behind the gateway (`food-stack`'s own start).
    platform: food_stack::Stack,
    /// Outlives the stack's Kafka clients (see `Drop`).
    broker: Option<food_broker::testing::TestBroker>,
    _dir: tempfile::TempDir,
}

impl Drop for TestStack {
    /// The services' consumers are dropped when the test's runtime shuts
    /// down, and closing a group consumer waits for the broker; so the broker
    /// is stopped a little later, from another thread. (It also exits when
    /// the test process does.)
    fn drop(&mut self) {
        self.shutdown.trigger();
        if let Some(broker) = self.broker.take() {
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_secs(10));
                drop(broker);
            });
        }
    }
}

pub async fn spawn_stack() -> TestStack {
    spawn_stack_with(Options::default()).await
}

/// The platform as `food-stack` starts it, on an in-memory broker of the
/// test's own, with the test keys (ALICE, BOB, COURIER, OPS) beside the
/// generated local ones.
pub async fn spawn_stack_with(options: Options) -> TestStack {
    food_kit::telemetry::init_for_tests();
    let prefix = food_kit::testing::unique_prefix();
    let topics = food_events::topics::Topics::with_prefix(&prefix).all();
    let broker = food_kit::testing::broker_with_topics(&topics).await;
    let dir = tempfile::tempdir().unwrap();
    let shutdown = Shutdown::new();

    let mut config = food_stack::Config::for_tests(dir.path().to_owned());
    config.kafka_brokers = Some(broker.bootstrap());
    config.topic_prefix = prefix;
    config.gateway = Settings {
        api_keys: vec![
            ApiKey::new(ALICE, Role::Customer, Some("alice")),
            ApiKey::new(BOB, Role::Customer, Some("bob")),
            ApiKey::new(COURIER, Role::Courier, None),
            ApiKey::new(OPS, Role::Ops, None),
        ],
        rate_limit_per_sec: options.rate_limit_per_sec,
        body_limit_bytes: options.body_limit_bytes,
        downstream_timeout_ms: 2000,
        graphiql: options.graphiql,
        ..Settings::default()
    };
    let platform = food_stack::Stack::start(config, shutdown.clone())
        .await
        .expect("starting the platform");

    TestStack {
        addr: platform.gateway,
        client: reqwest::Client::new(),
        shutdown,
        platform,
        broker: Some(broker),
        _dir: dir,
    }
}

impl TestStack {
    /// Stops one service behind the gateway (a downstream outage).
    pub async fn stop_service(&mut self, name: &str) {
        self.platform
            .stop_part(name)
            .await
            .unwrap_or_else(|e| panic!("stopping {name}: {e:#}"));
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn request(&self, method: Method, path: &str, who: Who) -> RequestBuilder {
        let req = self.client.request(method, self.url(path));
        match who.key() {
            Some(k) => req.bearer_auth(k),
            None => req,
        }
    }

    pub fn get(&self, path: &str, who: Who) -> RequestBuilder {
        self.request(Method::GET, path, who)
    }

    /// Some item that can be ordered.
    pub async fn available_item(&self) -> Value {
        let list: Value = self
            .get("/menu/items?available=true&limit=5", Who::Anonymous)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        list["items"][0].clone()
    }

    /// Creates an order as `who` and returns it.
    pub async fn create_order(&self, who: Who) -> Value {
        let item = self.available_item().await;
        let res = self
            .request(Method::POST, "/orders", who)
            .json(&json!({
                "items": [{"item_id": item["id"], "quantity": 2}],
                "delivery_address": "1 Main St",
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::CREATED,
            "{}",
            res.text().await.unwrap()
        );
        res.json().await.unwrap()
    }

    /// The order's delivery, once delivery-service has created it from the
    /// OrderPlaced event.
    pub async fn wait_for_delivery(&self, order_id: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let res = self
                .get(&format!("/delivery/status/{order_id}"), Who::Ops)
                .send()
                .await
                .unwrap();
            if res.status() == StatusCode::OK {
                return res.json().await.unwrap();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no delivery for {order_id}: last answer {}",
                res.status()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn put_status(&self, order_id: &str, status: &str, who: Who) -> Response {
        self.request(Method::PUT, &format!("/delivery/status/{order_id}"), who)
            .json(&json!({ "status": status, "courier": "Carla" }))
            .send()
            .await
            .unwrap()
    }

    pub async fn graphql(&self, who: Who, query: &str, variables: Value) -> Value {
        let res = self
            .request(Method::POST, "/graphql", who)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }
}

/// Asserts the documented error shape and returns the body.
pub async fn assert_error(res: Response, status: StatusCode, code: &str) -> Value {
    let actual = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(actual, status, "body: {body}");
    assert_eq!(body["error"]["code"], code, "body: {body}");
    assert!(body["error"]["message"].is_string(), "body: {body}");
    body
}

/// One Server-Sent Event.
#[derive(Debug, Default, Clone)]
pub struct SseEvent {
    pub event: String,
    pub id: String,
    pub data: String,
}

impl SseEvent {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap()
    }
}

/// Reads Server-Sent Events from a streaming response body.
pub struct SseReader {
    body: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buf: String,
}

impl SseReader {
    pub fn new(res: Response) -> Self {
        assert_eq!(res.status(), StatusCode::OK);
        let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        Self {
            body: res.bytes_stream().boxed(),
            buf: String::new(),
        }
    }

    /// The next event (comments such as keep-alives are skipped), or `None`
    /// when the stream ends or `patience` runs out.
    pub async fn next(&mut self, patience: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut event = SseEvent::default();
                let mut data = Vec::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event.event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("id:") {
                        event.id = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push(v.strip_prefix(' ').unwrap_or(v).to_owned());
                    }
                }
                if !data.is_empty() || !event.event.is_empty() {
                    event.data = data.join("\n");
                    return Some(event);
                }
            }
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Ok(Some(Ok(chunk))) => self.buf.push_str(&String::from_utf8_lossy(&chunk)),
                _ => return None,
            }
        }
    }
}
