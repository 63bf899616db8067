//! A whole platform per test, and a board (its `App` fed by its real data
//! side) that a test can wait on.

use std::{net::SocketAddr, time::Duration};

use food_board::{
    app::{App, Msg, Options},
    config::Feed,
    data::{self, FeedHandle, Gateway},
};
use food_broker::{Storage, testing::TestBroker};
use food_gateway::{ApiKey, Role};
use food_kit::Shutdown;
use serde_json::{Value, json};
use tokio::sync::mpsc;

pub const ALICE: &str = "alice-key";
pub const OPS: &str = "ops-key";

pub struct TestStack {
    pub gateway_addr: SocketAddr,
    pub brokers: String,
    pub prefix: String,
    pub client: reqwest::Client,
    pub shutdown: Shutdown,
    /// `None` while a test has it stopped.
    pub broker: Option<TestBroker>,
    /// Where a restarted broker finds its log.
    broker_storage: Storage,
    /// Menu, order, delivery and the gateway (`food-stack`'s own start).
    platform: Option<food_stack::Stack>,
    _dir: tempfile::TempDir,
    _broker_dir: Option<tempfile::TempDir>,
}

impl Drop for TestStack {
    /// Stops the services before the broker: a Kafka consumer group member
    /// closed after its broker is gone waits for it forever, so the
    /// services must finish closing their consumers first.
    fn drop(&mut self) {
        self.shutdown.trigger();
        if let Some(platform) = self.platform.take() {
            tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(async {
                    let _ = tokio::time::timeout(Duration::from_secs(20), platform.wait()).await;
                })
            });
        }
    }
}

pub async fn spawn_stack() -> TestStack {
    spawn_stack_with(Storage::Memory).await
}

/// A stack whose broker keeps its log in SQLite, so that it can be
/// restarted the way a real broker comes back from an outage.
pub async fn spawn_stack_with_durable_broker() -> TestStack {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broker.db");
    let mut stack = spawn_stack_with(Storage::Sqlite(path.clone())).await;
    stack.broker_storage = Storage::Sqlite(path);
    stack._broker_dir = Some(dir);
    stack
}

/// The platform as `food-stack` starts it, on a broker of the test's own.
async fn spawn_stack_with(storage: Storage) -> TestStack {
    food_kit::telemetry::init_for_tests();
    let prefix = food_kit::testing::unique_prefix();
    let broker = TestBroker::start("127.0.0.1:0".parse().unwrap(), storage.clone())
        .await
        .expect("starting the broker");
    let brokers = broker.bootstrap();
    let dir = tempfile::tempdir().unwrap();
    let shutdown = Shutdown::new();

    let mut config = food_stack::Config::for_tests(dir.path().to_owned());
    config.kafka_brokers = Some(brokers.clone());
    config.topic_prefix = prefix.clone();
    config.gateway = food_gateway::Settings {
        api_keys: vec![
            ApiKey::new(ALICE, Role::Customer, Some("alice")),
            ApiKey::new(OPS, Role::Ops, None),
        ],
        downstream_timeout_ms: 2000,
        ..food_gateway::Settings::default()
    };
    let platform = food_stack::Stack::start(config, shutdown.clone())
        .await
        .expect("starting the platform");

    TestStack {
        gateway_addr: platform.gateway,
        brokers,
        prefix,
        client: reqwest::Client::new(),
        shutdown,
        broker: Some(broker),
        broker_storage: storage,
        platform: Some(platform),
        _dir: dir,
        _broker_dir: None,
    }
}

impl TestStack {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.gateway_addr)
    }

    /// The board's gateway client, as ops.
    pub fn gateway(&self) -> Gateway {
        Gateway::new(&self.url(""), Some(OPS.to_owned())).unwrap()
    }

    pub fn kafka_feed(&self) -> Feed {
        Feed::Kafka {
            brokers: self.brokers.clone(),
            topic: food_events::topics::Topics::with_prefix(&self.prefix).deliveries,
        }
    }

    /// Places an order as Alice and returns its id.
    pub async fn create_order(&self) -> String {
        let items: Value = self
            .client
            .get(self.url("/menu/items?available=true&limit=5"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let res = self
            .client
            .post(self.url("/orders"))
            .bearer_auth(ALICE)
            .json(&json!({
                "items": [{"item_id": items["items"][0]["id"], "quantity": 2}],
                "delivery_address": "1 Main St",
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            reqwest::StatusCode::CREATED,
            "{}",
            res.text().await.unwrap()
        );
        let order: Value = res.json().await.unwrap();
        order["id"].as_str().unwrap().to_owned()
    }

    /// `PUT /delivery/status/{id}` as ops, asserting success.
    pub async fn put_status(&self, order_id: &str, status: &str) -> Value {
        let res = self
            .client
            .put(self.url(&format!("/delivery/status/{order_id}")))
            .bearer_auth(OPS)
            .json(&json!({ "status": status, "courier": "Carla" }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            reqwest::StatusCode::OK,
            "{}",
            res.text().await.unwrap()
        );
        res.json().await.unwrap()
    }

    /// Stops order-service and waits for it. librdkafka 2.x (the
    /// order-service's group consumer) can crash when its broker restarts,
    /// so tests that restart the broker stop it first; the board needs only
    /// the gateway and delivery-service.
    pub async fn stop_order_service(&mut self) {
        self.platform
            .as_mut()
            .expect("running")
            .stop_part("order-service")
            .await
            .expect("order-service stops");
    }

    /// Kills the broker (the board's feed loses it).
    pub async fn stop_broker(&mut self) {
        self.broker.take().expect("running").stop().await;
    }

    /// Starts the broker again on the same address and storage (a durable
    /// broker comes back with its log), with the topics.
    pub async fn restart_broker(&mut self) {
        let addr: SocketAddr = self.brokers.parse().unwrap();
        let broker = TestBroker::start(addr, self.broker_storage.clone())
            .await
            .expect("restarting the broker");
        let topics = food_events::topics::Topics::with_prefix(&self.prefix).all();
        food_kit::kafka::ensure_topics(&self.brokers, &topics, 3, Duration::from_secs(30))
            .await
            .unwrap();
        self.broker = Some(broker);
    }
}

/// A board: the real data side feeding an `App`, pumped by the test.
pub struct Board {
    pub app: App,
    rx: mpsc::Receiver<Msg>,
    _feed: FeedHandle,
    shutdown: tokio_util::sync::CancellationToken,
}

impl Drop for Board {
    fn drop(&mut self) {
        self.shutdown.cancel();
        // Let the feed close its consumer while the broker is still there.
        tokio::task::block_in_place(|| std::thread::sleep(Duration::from_millis(300)));
    }
}

impl Board {
    pub fn start(feed: Feed, gateway: Gateway) -> Self {
        let (tx, rx) = mpsc::channel(8192);
        let shutdown = tokio_util::sync::CancellationToken::new();
        let feed = data::spawn_feed(feed, gateway, tx, shutdown.clone());
        Self {
            app: App::new(Options::default(), chrono::Utc::now()),
            rx,
            _feed: feed,
            shutdown,
        }
    }

    /// Applies what the feed sends until `done` holds, or `patience` runs out.
    pub async fn until(&mut self, patience: Duration, done: impl Fn(&App) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + patience;
        while !done(&self.app) {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(msg)) => {
                    self.app.set_now(chrono::Utc::now());
                    self.app.on_msg(msg);
                }
                Ok(None) | Err(_) => return false,
            }
        }
        true
    }
}
