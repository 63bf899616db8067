//! The one test harness of the platform: [`TestStack`] starts the parts as
//! `food-stack` does ([`Stack`]), on a broker of the test's own and free
//! ports, and tears them down in order when dropped.
//!
//! The platform runs on a runtime and thread of its own, so that the same
//! harness serves a plain `#[test]`, a `#[tokio::test]` of either flavour
//! and a bench, and so that its teardown does not depend on the test's
//! runtime: a Kafka group consumer closed after its broker is gone waits
//! for it forever, and a test's runtime drops its tasks (and their
//! consumers) in no useful order. Dropping a [`TestStack`] stops the
//! gateway, then each service (its consumers closed), then the broker, and
//! returns when they are gone.
//!
//! The broker is [`food_broker::testing::TestBroker`]: Tansu, or Apache
//! Kafka under `FOOD_TEST_BROKER=apache-kafka`.

use std::{
    future::Future,
    net::SocketAddr,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use food_broker::{Storage, testing::TestBroker};
use food_gateway::{ApiKey, Role};
use food_kit::Shutdown;
use tokio::sync::{Mutex, oneshot};

use crate::{Config, Stack, Tweaks, keys::LocalKeys};

/// How long a drop waits for the platform to stop before it leaves it to
/// the end of the process.
const TEARDOWN: Duration = Duration::from_secs(60);

/// Where the test's broker keeps its log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Broker {
    /// In memory; the default.
    #[default]
    Memory,
    /// A SQLite file in the test's temp dir, so that
    /// [`TestStack::restart_broker`] brings it back with its log, as a real
    /// broker comes back from an outage.
    Durable,
}

/// What to start; see [`TestStack::builder`].
pub struct Builder {
    config_gateway: food_gateway::Settings,
    broker: Broker,
    tweaks: Tweaks,
    worker_threads: usize,
}

impl Builder {
    /// A key the gateway accepts as `customer`'s.
    pub fn customer_key(mut self, token: &str, customer: &str) -> Self {
        self.config_gateway
            .api_keys
            .push(ApiKey::new(token, Role::Customer, Some(customer)));
        self
    }

    /// A key the gateway accepts as `courier-1`'s.
    pub fn courier_key(self, token: &str) -> Self {
        self.courier_key_for(token, "courier-1")
    }

    /// A key the gateway accepts as courier `courier`'s.
    pub fn courier_key_for(mut self, token: &str, courier: &str) -> Self {
        self.config_gateway
            .api_keys
            .push(ApiKey::new(token, Role::Courier, Some(courier)));
        self
    }

    /// A key the gateway accepts as restaurant `restaurant`'s (its kitchen).
    pub fn restaurant_key(mut self, token: &str, restaurant: &str) -> Self {
        self.config_gateway
            .api_keys
            .push(ApiKey::new(token, Role::Restaurant, Some(restaurant)));
        self
    }

    pub fn ops_key(mut self, token: &str) -> Self {
        self.config_gateway
            .api_keys
            .push(ApiKey::new(token, Role::Ops, None));
        self
    }

    /// Changes the gateway's settings (limits, GraphiQL, ...); the stack
    /// still sets its address, the services' endpoints and Kafka.
    pub fn gateway(mut self, change: impl FnOnce(&mut food_gateway::Settings)) -> Self {
        change(&mut self.config_gateway);
        self
    }

    /// Menu, order and delivery only, for tests that call them over gRPC.
    pub fn without_gateway(mut self) -> Self {
        self.tweaks.no_gateway = true;
        self
    }

    /// Changes order-service's settings (menu timeout, cache, ...); the
    /// stack still sets its address, database, Kafka and menu URL.
    pub fn order(mut self, change: impl FnOnce(&mut food_order::Settings)) -> Self {
        change(self.tweaks.order.get_or_insert_with(Default::default));
        self
    }

    pub fn broker(mut self, broker: Broker) -> Self {
        self.broker = broker;
        self
    }

    /// Worker threads of the platform's runtime (2 by default). A bench
    /// that drives its load through [`TestStack::block_on`] gives it the
    /// machine's cores, as `#[tokio::main]` would.
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.worker_threads = n.max(1);
        self
    }

    /// Starts the platform, from an async test.
    pub async fn start(self) -> TestStack {
        let (stack, ready) = self.launch();
        stack.ready(ready.await)
    }

    /// Starts the platform, from a plain `#[test]` (not inside a runtime).
    pub fn start_blocking(self) -> TestStack {
        let (stack, ready) = self.launch();
        stack.ready(ready.blocking_recv())
    }

    /// Starts the platform with each service on a fresh schema of the
    /// PostgreSQL test database (`food_kit::testing::postgres_url`), or
    /// returns `None` (with a message) when no server answers outside CI.
    pub async fn start_on_postgres(mut self) -> Option<TestStack> {
        let mut urls = Vec::new();
        for name in ["menu", "order", "delivery"] {
            urls.push((name, food_kit::testing::postgres_schema(name).await?));
        }
        self.tweaks.database_url = Some(Box::new(move |name| {
            urls.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, url)| url.clone())
                .unwrap_or_else(|| panic!("no test schema for {name}"))
        }));
        Some(self.start().await)
    }

    /// Spawns the platform's thread; the receiver answers once it serves.
    fn launch(self) -> (Starting, oneshot::Receiver<Result<Ready, String>>) {
        food_kit::telemetry::init_for_tests();
        let dir = tempfile::tempdir().expect("a temp dir for the test stack");
        let prefix = food_kit::testing::unique_prefix();
        let mut config = Config::for_tests(dir.path().join("data"));
        config.topic_prefix = prefix.clone();
        config.gateway = self.config_gateway;
        let storage = match self.broker {
            Broker::Memory => Storage::Memory,
            Broker::Durable => Storage::Sqlite(dir.path().join("broker.db")),
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(self.worker_threads)
            .thread_name("test-stack")
            .enable_all()
            .build()
            .expect("the test stack's runtime");
        let handle = runtime.handle().clone();
        let platform = Arc::new(Mutex::new(Platform {
            stack: None,
            broker: None,
            storage: storage.clone(),
        }));
        let stop = Shutdown::new();
        let (ready_tx, ready) = oneshot::channel();
        let thread = {
            let (platform, stop) = (platform.clone(), stop.clone());
            let tweaks = self.tweaks;
            std::thread::Builder::new()
                .name("test-stack".to_owned())
                .spawn(move || {
                    runtime.block_on(run(config, tweaks, storage, platform, stop, ready_tx));
                    // A Kafka client whose close outlived its bound may
                    // still hold a blocking thread; do not wait for it.
                    runtime.shutdown_timeout(Duration::from_secs(2));
                })
                .expect("the test stack's thread")
        };
        let starting = Starting {
            prefix,
            runtime: handle,
            platform,
            stop,
            thread,
            dir,
        };
        (starting, ready)
    }
}

/// The parts a test may stop and start again.
struct Platform {
    stack: Option<Stack>,
    broker: Option<TestBroker>,
    storage: Storage,
}

impl Platform {
    fn stack(&mut self) -> &mut Stack {
        self.stack.as_mut().expect("the test stack is running")
    }
}

/// What the platform's thread reports once it serves.
struct Ready {
    gateway: SocketAddr,
    menu: SocketAddr,
    order: SocketAddr,
    delivery: SocketAddr,
    brokers: String,
    keys: LocalKeys,
    data_dir: PathBuf,
}

/// The platform's thread: starts the broker and the stack, reports, then
/// on `stop` tears them down in order.
async fn run(
    mut config: Config,
    tweaks: Tweaks,
    storage: Storage,
    platform: Arc<Mutex<Platform>>,
    stop: Shutdown,
    ready: oneshot::Sender<Result<Ready, String>>,
) {
    let started = async {
        let broker = TestBroker::start(SocketAddr::from(([127, 0, 0, 1], 0)), storage)
            .await
            .map_err(|e| format!("starting the broker: {e:#}"))?;
        config.kafka_brokers = Some(broker.bootstrap());
        // Its own token: the teardown trips the parts one by one.
        match Stack::start_with(config, Shutdown::new(), tweaks).await {
            Ok(stack) => Ok((stack, broker)),
            Err(e) => {
                broker.stop().await;
                Err(format!("starting the platform: {e:#}"))
            }
        }
    }
    .await;
    match started {
        Ok((stack, broker)) => {
            let _ = ready.send(Ok(Ready {
                gateway: stack.gateway,
                menu: stack.menu,
                order: stack.order,
                delivery: stack.delivery,
                brokers: broker.bootstrap(),
                keys: stack.keys.clone(),
                data_dir: stack.data_dir.clone(),
            }));
            let mut p = platform.lock().await;
            p.stack = Some(stack);
            p.broker = Some(broker);
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    }
    stop.cancelled().await;
    let mut p = platform.lock().await;
    if let Some(stack) = p.stack.take()
        && let Err(e) = stack.wait().await
    {
        eprintln!("test stack: {e:#}");
    }
    if let Some(broker) = p.broker.take() {
        broker.stop().await;
    }
}

/// A [`TestStack`] whose platform has not reported yet.
struct Starting {
    prefix: String,
    runtime: tokio::runtime::Handle,
    platform: Arc<Mutex<Platform>>,
    stop: Shutdown,
    thread: std::thread::JoinHandle<()>,
    dir: tempfile::TempDir,
}

impl Starting {
    fn ready<E>(self, ready: Result<Result<Ready, String>, E>) -> TestStack {
        let ready = match ready {
            Ok(Ok(ready)) => ready,
            Ok(Err(e)) => panic!("{e}"),
            Err(_) => panic!("the test stack's thread ended while starting"),
        };
        TestStack {
            gateway: ready.gateway,
            menu: ready.menu,
            order: ready.order,
            delivery: ready.delivery,
            brokers: ready.brokers,
            prefix: self.prefix,
            keys: ready.keys,
            data_dir: ready.data_dir,
            runtime: self.runtime,
            platform: self.platform,
            stop: self.stop,
            thread: Some(self.thread),
            _dir: self.dir,
        }
    }
}

/// A running platform for one test (or a bench); see the module docs.
pub struct TestStack {
    /// The gateway's address (port 0 [`Builder::without_gateway`]).
    pub gateway: SocketAddr,
    pub menu: SocketAddr,
    pub order: SocketAddr,
    pub delivery: SocketAddr,
    /// `bootstrap.servers` of the test's broker.
    pub brokers: String,
    /// The prefix of this stack's topic names and consumer groups.
    pub prefix: String,
    /// The keys `food-stack` generated (`local-keys.json`), beside the
    /// builder's.
    pub keys: LocalKeys,
    /// Where the services keep their SQLite files.
    pub data_dir: PathBuf,
    runtime: tokio::runtime::Handle,
    platform: Arc<Mutex<Platform>>,
    /// Tripped by drop or [`TestStack::stop`]: the platform's thread then
    /// tears everything down.
    stop: Shutdown,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl TestStack {
    /// Everything on free ports with no keys but the stack's own, the
    /// gateway's downstream timeout at 2 s, on an in-memory broker.
    pub fn builder() -> Builder {
        Builder {
            config_gateway: food_gateway::Settings {
                downstream_timeout_ms: 2000,
                ..food_gateway::Settings::default()
            },
            broker: Broker::Memory,
            tweaks: Tweaks::default(),
            worker_threads: 2,
        }
    }

    /// `http://<gateway>`.
    pub fn gateway_url(&self) -> String {
        format!("http://{}", self.gateway)
    }

    /// The consumer group of `service` (`"order"`, `"delivery"`, ...).
    pub fn group_id(&self, service: &str) -> String {
        crate::group_id(&self.prefix, service)
    }

    /// Stops one part (`"menu-service"`, `"order-service"`,
    /// `"delivery-service"` or `"gateway"`): a downstream outage.
    pub async fn stop_part(&self, name: &str) {
        let (platform, owned) = (self.platform.clone(), name.to_owned());
        self.on_platform(async move { platform.lock().await.stack().stop_part(&owned).await })
            .await
            .unwrap_or_else(|e| panic!("stopping {name}: {e:#}"));
    }

    /// Starts a part [`TestStack::stop_part`] stopped, on its old address.
    pub async fn restart_part(&self, name: &str) {
        let (platform, owned) = (self.platform.clone(), name.to_owned());
        self.on_platform(async move { platform.lock().await.stack().restart_part(&owned).await })
            .await
            .unwrap_or_else(|e| panic!("restarting {name}: {e:#}"));
    }

    /// Kills the broker (SIGKILL, as a crash).
    pub async fn stop_broker(&self) {
        let platform = self.platform.clone();
        self.on_platform(async move {
            let broker = platform.lock().await.broker.take();
            broker.expect("the broker is running").stop().await;
        })
        .await;
    }

    /// Starts the broker again on its address and storage (a
    /// [`Broker::Durable`] one comes back with its log), with the topics.
    pub async fn restart_broker(&self) {
        let (platform, prefix) = (self.platform.clone(), self.prefix.clone());
        let addr: SocketAddr = self.brokers.parse().expect("one broker address");
        self.on_platform(async move {
            let mut p = platform.lock().await;
            assert!(p.broker.is_none(), "the broker is running");
            let broker = TestBroker::start(addr, p.storage.clone())
                .await
                .expect("restarting the broker");
            let topics = food_events::topics::Topics::with_prefix(&prefix).all();
            food_kit::kafka::ensure_topics(
                &broker.bootstrap(),
                &topics,
                // Three partitions, as `Config::for_tests`.
                3,
                Duration::from_secs(30),
            )
            .await
            .expect("the topics on the restarted broker");
            p.broker = Some(broker);
        })
        .await;
    }

    /// Runs `future` on the platform's runtime from outside any runtime:
    /// a bench's load then shares the platform's threads, as it would
    /// under `#[tokio::main]`.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Tears the platform down in order and waits for it.
    pub async fn stop(mut self) {
        self.stop.trigger();
        let deadline = Instant::now() + TEARDOWN;
        while self.thread.as_ref().is_some_and(|t| !t.is_finished()) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.join();
    }

    async fn on_platform<T: Send + 'static>(
        &self,
        future: impl Future<Output = T> + Send + 'static,
    ) -> T {
        self.runtime
            .spawn(future)
            .await
            .unwrap_or_else(|e| match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(e) => panic!("the test stack's runtime: {e}"),
            })
    }

    /// Joins the platform's thread if it ended; else leaves it to the end
    /// of the process (its broker exits with it).
    fn join(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        if thread.is_finished() {
            let _ = thread.join();
        } else {
            eprintln!("test stack: not stopped within {TEARDOWN:?}; leaving it");
        }
    }
}

impl Drop for TestStack {
    /// Blocks until the platform is down: from a `#[tokio::test]` this
    /// holds up only the test's runtime, not the platform's.
    fn drop(&mut self) {
        self.stop.trigger();
        let deadline = Instant::now() + TEARDOWN;
        while self.thread.as_ref().is_some_and(|t| !t.is_finished()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.join();
    }
}
