//! Spawns the three services in-process against a real broker process and
//! SQLite files in a temp dir; each test gets its own of everything.

use std::{net::SocketAddr, time::Duration};

use food_broker::{Storage, testing::TestBroker};
use food_kit::{Shutdown, settings::ServiceSettings};
use food_proto::{
    delivery::v1::{GetStatusRequest, delivery_service_client::DeliveryServiceClient},
    order::v1::{
        CreateOrderRequest, GetOrderRequest, LineRequest, Order,
        order_service_client::OrderServiceClient,
    },
};
use tokio::task::JoinHandle;
use tonic::transport::Channel;

/// How long the order service uses a menu item before asking menu-service
/// again (`menu_cache_ms`), as in the default settings.
pub const MENU_CACHE_MS: u64 = 1000;

pub struct Service {
    pub addr: SocketAddr,
    shutdown: Shutdown,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Service {
    pub async fn stop(self) {
        self.shutdown.trigger();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.task).await;
    }
}

pub struct Stack {
    pub dir: tempfile::TempDir,
    pub broker: TestBroker,
    pub prefix: String,
    pub menu: Option<Service>,
    pub menu_addr: SocketAddr,
    pub order: Option<Service>,
    pub delivery: Option<Service>,
}

/// Where the services keep their data: SQLite files in the temp dir, or a
/// fresh PostgreSQL schema per service.
#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

thread_local! {
    static BACKEND: std::cell::RefCell<Backend> = const { std::cell::RefCell::new(Backend::Sqlite) };
}

pub fn settings(
    stack_dir: &std::path::Path,
    broker: &str,
    prefix: &str,
    name: &str,
) -> ServiceSettings {
    let mut s = ServiceSettings::with_listen("127.0.0.1:0");
    s.database_url = match BACKEND.with(|b| b.borrow().clone()) {
        Backend::Sqlite => format!("sqlite://{}/{name}.db", stack_dir.display()),
        Backend::Postgres(base) => format!(
            "{base}?options=-c%20search_path%3D{}{name}",
            prefix.replace('.', "_")
        ),
    };
    s.data_dir = stack_dir.to_path_buf();
    s.kafka.brokers = broker.to_owned();
    s.kafka.topic_prefix = prefix.to_owned();
    s.kafka.group_id = Some(format!("{prefix}{name}"));
    s
}

pub async fn start_menu(dir: &std::path::Path, broker: &str, prefix: &str) -> Service {
    let shutdown = Shutdown::new();
    let app = food_menu::Application::build(
        food_menu::Settings {
            service: settings(dir, broker, prefix, "menu"),
            seed: true,
        },
        shutdown.clone(),
    )
    .await
    .expect("menu starts");
    let addr = app.local_addr();
    Service {
        addr,
        shutdown,
        task: tokio::spawn(app.run_until_stopped()),
    }
}

pub async fn start_order(
    dir: &std::path::Path,
    broker: &str,
    prefix: &str,
    menu: SocketAddr,
) -> Service {
    let shutdown = Shutdown::new();
    let app = food_order::Application::build(
        food_order::Settings {
            service: settings(dir, broker, prefix, "order"),
            menu_url: format!("http://{menu}"),
            menu_timeout_ms: 1000,
            menu_cache_ms: MENU_CACHE_MS,
            ..food_order::Settings::default()
        },
        shutdown.clone(),
    )
    .await
    .expect("order starts");
    let addr = app.local_addr();
    Service {
        addr,
        shutdown,
        task: tokio::spawn(app.run_until_stopped()),
    }
}

pub async fn start_delivery(dir: &std::path::Path, broker: &str, prefix: &str) -> Service {
    let shutdown = Shutdown::new();
    let app = food_delivery::Application::build(
        food_delivery::Settings {
            service: settings(dir, broker, prefix, "delivery"),
        },
        shutdown.clone(),
    )
    .await
    .expect("delivery starts");
    let addr = app.local_addr();
    Service {
        addr,
        shutdown,
        task: tokio::spawn(app.run_until_stopped()),
    }
}

/// Creates one schema per service for `prefix` in the `test` database, or
/// `None` when PostgreSQL is not reachable.
pub async fn postgres_schemas(prefix: &str) -> Option<String> {
    let mut conn = food_kit::testing::postgres_admin().await?;
    for name in ["menu", "order", "delivery"] {
        let schema = format!("{}{name}", prefix.replace('.', "_"));
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&mut conn)
            .await
            .expect("creating a test schema");
    }
    Some(food_kit::testing::postgres_url())
}

impl Stack {
    /// The three services on PostgreSQL, or `None` (with a message) when it
    /// is not reachable.
    pub async fn start_on_postgres() -> Option<Self> {
        let prefix = food_kit::testing::unique_prefix();
        let base = postgres_schemas(&prefix).await?;
        BACKEND.with(|b| *b.borrow_mut() = Backend::Postgres(base));
        Some(Self::start_with_prefix(prefix).await)
    }

    pub async fn start() -> Self {
        Self::start_with_prefix(food_kit::testing::unique_prefix()).await
    }

    async fn start_with_prefix(prefix: String) -> Self {
        food_kit::telemetry::init_for_tests();
        let dir = tempfile::tempdir().unwrap();
        let broker = TestBroker::start("127.0.0.1:0".parse().unwrap(), Storage::Memory)
            .await
            .expect("broker starts");
        let b = broker.bootstrap();
        let menu = start_menu(dir.path(), &b, &prefix).await;
        let order = start_order(dir.path(), &b, &prefix, menu.addr).await;
        let delivery = start_delivery(dir.path(), &b, &prefix).await;
        Self {
            dir,
            broker,
            prefix,
            menu_addr: menu.addr,
            menu: Some(menu),
            order: Some(order),
            delivery: Some(delivery),
        }
    }

    pub async fn orders(&self) -> OrderServiceClient<Channel> {
        let addr = self.order.as_ref().unwrap().addr;
        OrderServiceClient::connect(format!("http://{addr}"))
            .await
            .unwrap()
    }

    pub async fn deliveries(&self) -> DeliveryServiceClient<Channel> {
        let addr = self.delivery.as_ref().unwrap().addr;
        DeliveryServiceClient::connect(format!("http://{addr}"))
            .await
            .unwrap()
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.order.take() {
            s.stop().await;
        }
        if let Some(s) = self.delivery.take() {
            s.stop().await;
        }
        if let Some(s) = self.menu.take() {
            s.stop().await;
        }
        self.broker.stop().await;
    }
}

pub fn order_request(customer: &str, items: &[(&str, u32)]) -> CreateOrderRequest {
    CreateOrderRequest {
        customer_id: customer.into(),
        items: items
            .iter()
            .map(|(id, q)| LineRequest {
                item_id: (*id).into(),
                quantity: *q,
            })
            .collect(),
        delivery_address: "12 Rue de la Paix, Paris".into(),
        note: Some("ring twice".into()),
        idempotency_key: None,
    }
}

/// Polls until `check` holds or 15 s pass.
pub async fn eventually<T, F, Fut>(mut probe: F, check: impl Fn(&T) -> bool) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(v) = probe().await {
            if check(&v) {
                return v;
            }
            if tokio::time::Instant::now() > deadline {
                return v;
            }
        } else if tokio::time::Instant::now() > deadline {
            panic!("nothing arrived in 15 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn delivery_of(
    client: &DeliveryServiceClient<Channel>,
    order_id: &str,
) -> Option<food_proto::delivery::v1::Delivery> {
    client
        .clone()
        .get_status(GetStatusRequest {
            order_id: order_id.into(),
        })
        .await
        .ok()
        .map(|r| r.into_inner())
}

pub async fn order_of(client: &OrderServiceClient<Channel>, id: &str) -> Option<Order> {
    client
        .clone()
        .get_order(GetOrderRequest { id: id.into() })
        .await
        .ok()
        .map(|r| r.into_inner())
}

/// The machine code in a status's details.
pub fn code_of(s: &tonic::Status) -> food_api::ErrorCode {
    food_kit::grpc::error_code(s).0
}

/// Waits until `group` has committed every record of `topic` (the
/// consumer has applied everything published so far).
pub async fn caught_up(brokers: &str, group: &str, topic: &str) {
    use rdkafka::{
        ClientConfig, Offset, TopicPartitionList,
        consumer::{BaseConsumer, Consumer},
    };
    let brokers = brokers.to_owned();
    let group = group.to_owned();
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || {
        let c: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .set("group.id", &group)
            .create()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let md = c
                .fetch_metadata(Some(&topic), Duration::from_secs(2))
                .unwrap();
            let parts = md.topics()[0].partitions().len() as i32;
            let mut tpl = TopicPartitionList::new();
            for p in 0..parts {
                tpl.add_partition(&topic, p);
            }
            let committed = c.committed_offsets(tpl, Duration::from_secs(2)).unwrap();
            let done = (0..parts).all(|p| {
                let (_, high) = c
                    .fetch_watermarks(&topic, p, Duration::from_secs(2))
                    .unwrap();
                let at = match committed.find_partition(&topic, p).map(|e| e.offset()) {
                    Some(Offset::Offset(o)) => o,
                    _ => 0,
                };
                at >= high
            });
            if done {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{group} did not catch up on {topic}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    })
    .await
    .unwrap();
}

/// Publishes every record of `topic` again, byte for byte: a redelivery.
pub async fn republish_everything(brokers: &str, topic: &str, expected: usize) -> usize {
    use rdkafka::{
        ClientConfig, Message,
        producer::{FutureProducer, FutureRecord},
    };
    let msgs =
        food_kit::testing::read_topic(brokers, topic, expected, Duration::from_secs(3)).await;
    let p: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("message.timeout.ms", "10000")
        .create()
        .unwrap();
    for m in &msgs {
        let mut rec = FutureRecord::to(topic)
            .key(m.key().unwrap())
            .payload(m.payload().unwrap());
        if let Some(h) = m.headers() {
            rec = rec.headers(h.clone());
        }
        p.send(rec, Duration::from_secs(10)).await.unwrap();
    }
    msgs.len()
}
