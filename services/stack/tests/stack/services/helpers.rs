//! menu, order and delivery as `food-stack` starts them
//! (`food_stack::testing`, no gateway), each test with its own broker,
//! SQLite files or PostgreSQL schemas; and the gRPC calls the tests make.

use std::{ops::Deref, time::Duration};

use food_proto::{
    delivery::v1::{GetStatusRequest, delivery_service_client::DeliveryServiceClient},
    menu::v1::menu_service_client::MenuServiceClient,
    order::v1::{
        CreateOrderRequest, GetOrderRequest, LineRequest, Order,
        order_service_client::OrderServiceClient,
    },
};
use food_stack::testing::TestStack;
use tonic::transport::Channel;

/// How long the order service uses a menu item before asking menu-service
/// again (`menu_cache_ms`), as in the default settings.
pub const MENU_CACHE_MS: u64 = 1000;

/// The three services, torn down in order when dropped or stopped.
pub struct Stack {
    platform: TestStack,
}

impl Deref for Stack {
    type Target = TestStack;

    fn deref(&self) -> &TestStack {
        &self.platform
    }
}

impl Stack {
    fn builder() -> food_stack::testing::Builder {
        TestStack::builder().without_gateway().order(|o| {
            o.menu_timeout_ms = 1000;
            o.menu_cache_ms = MENU_CACHE_MS;
        })
    }

    pub async fn start() -> Self {
        Self {
            platform: Self::builder().start().await,
        }
    }

    /// With order-service's settings changed (the deadline sweep, say).
    pub async fn start_with(change: impl FnOnce(&mut food_order::Settings)) -> Self {
        Self {
            platform: Self::builder().order(change).start().await,
        }
    }

    /// The three services on PostgreSQL, or `None` (with a message) when it
    /// is not reachable.
    pub async fn start_on_postgres() -> Option<Self> {
        let platform = Self::builder().start_on_postgres().await?;
        Some(Self { platform })
    }

    pub async fn orders(&self) -> OrderServiceClient<Channel> {
        OrderServiceClient::connect(format!("http://{}", self.order))
            .await
            .unwrap()
    }

    pub async fn menu(&self) -> MenuServiceClient<Channel> {
        MenuServiceClient::connect(format!("http://{}", self.menu))
            .await
            .unwrap()
    }

    pub async fn deliveries(&self) -> DeliveryServiceClient<Channel> {
        DeliveryServiceClient::connect(format!("http://{}", self.delivery))
            .await
            .unwrap()
    }

    pub async fn stop(self) {
        self.platform.stop().await;
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
        // One look: whether every partition's committed offset has reached
        // its high watermark. A broker may answer a look with a retriable
        // error (Apache Kafka's NotCoordinator while the group's
        // coordinator moves); the loop looks again until the deadline.
        let look = || -> Result<bool, rdkafka::error::KafkaError> {
            let md = c.fetch_metadata(Some(&topic), Duration::from_secs(2))?;
            let parts = md.topics()[0].partitions().len() as i32;
            let mut tpl = TopicPartitionList::new();
            for p in 0..parts {
                tpl.add_partition(&topic, p);
            }
            let committed = c.committed_offsets(tpl, Duration::from_secs(2))?;
            for p in 0..parts {
                let (_, high) = c.fetch_watermarks(&topic, p, Duration::from_secs(2))?;
                let at = match committed.find_partition(&topic, p).map(|e| e.offset()) {
                    Some(Offset::Offset(o)) => o,
                    _ => 0,
                };
                if at < high {
                    return Ok(false);
                }
            }
            Ok(true)
        };
        let mut last_error = None;
        loop {
            let done = match look() {
                Ok(done) => done,
                Err(e) => {
                    last_error = Some(e);
                    false
                }
            };
            if done {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{group} did not catch up on {topic} (last error: {last_error:?})"
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

/// The events of order `order_id` on the orders topic `topic`, in order:
/// read from the beginning until `want` of them arrived (or 15 s passed),
/// then for `quiet` more, so that an extra event would be seen too.
pub async fn order_events(
    brokers: &str,
    topic: &str,
    order_id: &str,
    want: usize,
    quiet: Duration,
) -> Vec<food_events::Payload> {
    orders_events(brokers, topic, &[(order_id, want)], quiet)
        .await
        .remove(0)
}

/// [`order_events`] for several orders in one read of the topic, each with
/// the number of events it waits for; the events of each, in `wanted`'s
/// order.
pub async fn orders_events(
    brokers: &str,
    topic: &str,
    wanted: &[(&str, usize)],
    quiet: Duration,
) -> Vec<Vec<food_events::Payload>> {
    use rdkafka::{
        ClientConfig, Message,
        consumer::{Consumer, StreamConsumer},
    };
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set(
            "group.id",
            format!("reader-{}", food_kit::testing::unique_prefix()),
        )
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "5")
        .set("broker.address.family", "v4")
        .create()
        .expect("creating a reader");
    consumer.subscribe(&[topic]).expect("subscribing");
    let index: std::collections::HashMap<&[u8], usize> = wanted
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (id.as_bytes(), i))
        .collect();
    let mut out = vec![Vec::new(); wanted.len()];
    let mut deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let mut settled = false;
    loop {
        match tokio::time::timeout_at(deadline, consumer.recv()).await {
            Ok(Ok(m)) => {
                let Some(&i) = m.key().and_then(|k| index.get(k)) else {
                    continue;
                };
                if let Some(p) = m
                    .payload()
                    .and_then(|b| food_events::decode(b).ok())
                    .and_then(|e| e.payload)
                {
                    out[i].push(p);
                }
            }
            Ok(Err(_)) => {}
            Err(_) => break,
        }
        if !settled && out.iter().zip(wanted).all(|(got, (_, n))| got.len() >= *n) {
            settled = true;
            deadline = tokio::time::Instant::now() + quiet;
        }
    }
    out
}

/// Each event's name and, for OrderStatusChanged, (previous, status).
pub fn event_kinds(events: &[food_events::Payload]) -> Vec<(&'static str, Option<(i32, i32)>)> {
    use food_events::Payload;
    events
        .iter()
        .map(|p| match p {
            Payload::OrderPlaced(_) => ("OrderPlaced", None),
            Payload::OrderCancelled(_) => ("OrderCancelled", None),
            Payload::OrderStatusChanged(c) => ("OrderStatusChanged", Some((c.previous, c.status))),
            _ => ("other", None),
        })
        .collect()
}

/// Updates a delivery, retrying while delivery-service answers
/// `not_accepted` (it learns that the kitchen accepted from
/// food.orders.v1, a moment after order-service stored it); any other
/// answer is returned as it is.
pub async fn update_delivery(
    client: &DeliveryServiceClient<Channel>,
    req: food_proto::delivery::v1::UpdateStatusRequest,
) -> Result<food_proto::delivery::v1::Delivery, tonic::Status> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match client.clone().update_status(req.clone()).await {
            Err(e)
                if code_of(&e) == food_api::ErrorCode::NotAccepted
                    && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            r => return r.map(|r| r.into_inner()),
        }
    }
}
