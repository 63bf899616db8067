//! A whole platform per test, and a board (its `App` fed by its real data
//! side) that a test can wait on.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use food_board::{
    app::{App, Msg, Options},
    config::{Feed, Scope},
    data::{self, FeedHandle, Gateway},
    kitchen::{self, Kitchen, KitchenMsg},
};
use food_stack::testing::Broker;
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc};

pub const ALICE: &str = "alice-key";
pub const OPS: &str = "ops-key";
/// The kitchen key of [`KITCHEN`].
pub const KITCHEN_KEY: &str = "kitchen-key";
/// A seed restaurant that accepts orders by hand.
pub const KITCHEN: &str = "maison-tandoor";

/// The platform (`food_stack::testing`, torn down in order when dropped).
pub struct TestStack {
    pub gateway_addr: SocketAddr,
    pub client: reqwest::Client,
    platform: food_stack::testing::TestStack,
}

pub async fn spawn_stack() -> TestStack {
    spawn_stack_with(Broker::Memory).await
}

/// A stack whose broker keeps its log in SQLite, so that it can be
/// restarted the way a real broker comes back from an outage.
pub async fn spawn_stack_with_durable_broker() -> TestStack {
    spawn_stack_with(Broker::Durable).await
}

/// The platform as `food-stack` starts it, on a broker of the test's own.
async fn spawn_stack_with(broker: Broker) -> TestStack {
    let platform = food_stack::testing::TestStack::builder()
        .customer_key(ALICE, "alice")
        .ops_key(OPS)
        .restaurant_key(KITCHEN_KEY, KITCHEN)
        .broker(broker)
        .start()
        .await;
    TestStack {
        gateway_addr: platform.gateway,
        client: reqwest::Client::new(),
        platform,
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

    /// The kitchen screen's gateway client, with [`KITCHEN`]'s key.
    pub fn kitchen_gateway(&self) -> Gateway {
        Gateway::new(&self.url(""), Some(KITCHEN_KEY.to_owned())).unwrap()
    }

    /// The kitchen's feed: `food.orders.v1`.
    pub fn kitchen_feed(&self) -> Feed {
        Feed::Kafka {
            brokers: self.platform.brokers.clone(),
            topic: food_events::topics::Topics::with_prefix(&self.platform.prefix).orders,
        }
    }

    pub fn kafka_feed(&self) -> Feed {
        Feed::Kafka {
            brokers: self.platform.brokers.clone(),
            topic: food_events::topics::Topics::with_prefix(&self.platform.prefix).deliveries,
        }
    }

    /// Places an order as Alice and returns its id.
    pub async fn create_order(&self) -> String {
        self.order_from("/menu/items?available=true&limit=5").await
    }

    /// Places an order of one restaurant's dish as Alice and returns its id.
    pub async fn create_order_at(&self, restaurant: &str) -> String {
        self.order_from(&format!(
            "/menu/items?restaurant={restaurant}&available=true&limit=5"
        ))
        .await
    }

    /// Orders two of the first dish `menu` (a menu read) lists.
    async fn order_from(&self, menu: &str) -> String {
        let items: Value = self
            .client
            .get(self.url(menu))
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
            .json(&json!({ "status": status, "courier": "courier-1" }))
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
        self.platform.stop_part("order-service").await;
    }

    /// Kills the broker (the board's feed loses it).
    pub async fn stop_broker(&mut self) {
        self.platform.stop_broker().await;
    }

    /// Starts the broker again on the same address and storage (a durable
    /// broker comes back with its log), with the topics.
    pub async fn restart_broker(&mut self) {
        self.platform.restart_broker().await;
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
    /// A board of every delivery.
    pub fn start(feed: Feed, gateway: Gateway) -> Self {
        Self::start_scoped(feed, Scope::default(), gateway)
    }

    /// A board of the deliveries `scope` admits (`--restaurant`).
    pub fn start_scoped(feed: Feed, scope: Scope, gateway: Gateway) -> Self {
        let (tx, rx) = mpsc::channel(8192);
        let shutdown = tokio_util::sync::CancellationToken::new();
        let feed = data::spawn_feed(feed, scope, gateway, tx, shutdown.clone());
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

/// The kitchen screen: its real data side feeding a `Kitchen`, pumped by
/// the test.
pub struct KitchenScreen {
    pub kitchen: Kitchen,
    rx: mpsc::Receiver<KitchenMsg>,
    tx: mpsc::Sender<KitchenMsg>,
    gateway: Gateway,
    resync: Arc<Notify>,
    shutdown: tokio_util::sync::CancellationToken,
}

impl Drop for KitchenScreen {
    fn drop(&mut self) {
        self.shutdown.cancel();
        tokio::task::block_in_place(|| std::thread::sleep(Duration::from_millis(300)));
    }
}

impl KitchenScreen {
    pub fn start(feed: Feed, restaurant: &str, gateway: Gateway) -> Self {
        let (tx, rx) = mpsc::channel(8192);
        let shutdown = tokio_util::sync::CancellationToken::new();
        let resync = Arc::new(Notify::new());
        tokio::spawn(kitchen::data::run_feed(
            feed,
            restaurant.to_owned(),
            gateway.clone(),
            tx.clone(),
            resync.clone(),
            shutdown.clone(),
        ));
        Self {
            kitchen: Kitchen::new(Options::default(), restaurant, chrono::Utc::now()),
            rx,
            tx,
            gateway,
            resync,
            shutdown,
        }
    }

    /// Presses a key; the command it gives is carried out as the screen would.
    pub fn press(&mut self, key: crossterm::event::KeyEvent) {
        if let Some(cmd) = self.kitchen.on_key(key) {
            kitchen::data::execute(cmd, &self.tx, &self.gateway, &self.resync);
        }
    }

    /// Applies what comes in until `done` holds, or `patience` runs out.
    pub async fn until(&mut self, patience: Duration, done: impl Fn(&Kitchen) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + patience;
        while !done(&self.kitchen) {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(msg)) => {
                    self.kitchen.set_now(chrono::Utc::now());
                    self.kitchen.on_msg(msg);
                }
                Ok(None) | Err(_) => return false,
            }
        }
        true
    }
}
