//! `live`: how long a courier's status change takes to reach those who
//! watch it. Each change is a `PUT /delivery/status/:id`, timed from just
//! before it is sent to its arrival (matched by order id and the version
//! the PUT answered) on three paths at once: the gateway's SSE stream of
//! every delivery (`/events/deliveries`), a GraphQL subscription
//! (`deliveryStatusChanged(orderId)`) and a Kafka consumer of
//! `food.deliveries.v1` (the board's path). Beside them, the broker's own
//! produce → consume latency is measured in the same run, with the
//! services' producer settings, so that each path's p99 can be read as a
//! gap above what the broker alone takes.
//!
//! Changes are reassignments among couriers (PENDING → ASSIGNED, then
//! ASSIGNED → ASSIGNED to the next courier, which ops may do), a few per
//! order, so no change waits for a kitchen.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use futures::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use rdkafka::{
    Message,
    admin::{AdminClient, AdminOptions, NewTopic, TopicReplication},
    client::DefaultClientContext,
    consumer::{Consumer, StreamConsumer},
    producer::{FutureProducer, FutureRecord},
};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::{Message as WsMessage, client::IntoClientRequest};

use crate::{
    engine::{Quantiles, new_histogram, record},
    world::World,
};

/// How long a change may take to show on a path before it counts as missed.
const ARRIVAL_WITHIN: Duration = Duration::from_secs(10);
/// Changes made to each order before the next one is placed.
const CHANGES_PER_ORDER: usize = 5;
/// The topic the broker's own latency is measured on.
const RAW_TOPIC: &str = "food-bench.latency";

/// The paths a change is watched on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Path {
    Sse = 0,
    Graphql = 1,
    Kafka = 2,
}

/// When a change arrived on each path, by [`Path`].
type Seen = [Option<Instant>; 3];

/// When each (order, version) arrived on each path; `notify` wakes the
/// driver at every arrival.
#[derive(Default)]
struct Arrivals {
    seen: Mutex<HashMap<(String, u64), Seen>>,
    orders: Mutex<HashMap<String, [bool; 3]>>,
    notify: Notify,
}

impl Arrivals {
    fn arrived(&self, path: Path, order_id: &str, version: u64) {
        let now = Instant::now();
        self.seen
            .lock()
            .unwrap()
            .entry((order_id.to_owned(), version))
            .or_default()[path as usize]
            .get_or_insert(now);
        self.orders
            .lock()
            .unwrap()
            .entry(order_id.to_owned())
            .or_default()[path as usize] = true;
        self.notify.notify_waiters();
    }

    /// Waits until `order_id` has shown on every path in `paths`.
    async fn order_seen(&self, order_id: &str, paths: &[Path]) -> bool {
        let deadline = tokio::time::Instant::now() + ARRIVAL_WITHIN;
        loop {
            let notified = self.notify.notified();
            let seen = self.orders.lock().unwrap().get(order_id).copied();
            if seen.is_some_and(|s| paths.iter().all(|p| s[*p as usize])) {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return false;
            }
        }
    }

    /// Waits for `(order_id, version)` on every path in `paths` (each
    /// within the bound) and returns when it arrived on each.
    async fn change_seen(&self, order_id: &str, version: u64, paths: &[Path]) -> Seen {
        let key = (order_id.to_owned(), version);
        let deadline = tokio::time::Instant::now() + ARRIVAL_WITHIN;
        loop {
            let notified = self.notify.notified();
            let seen = self
                .seen
                .lock()
                .unwrap()
                .get(&key)
                .copied()
                .unwrap_or_default();
            if paths.iter().all(|p| seen[*p as usize].is_some())
                || tokio::time::timeout_at(deadline, notified).await.is_err()
            {
                self.seen.lock().unwrap().remove(&key);
                return seen;
            }
        }
    }
}

/// One path's latencies.
#[derive(Clone, Debug, Serialize)]
pub struct PathFigures {
    #[serde(flatten)]
    pub latency: Quantiles,
    /// Changes that did not arrive within 10 s.
    pub missed: u64,
    /// This path's p99 minus the broker's own p99 (ms), when the broker was
    /// measured.
    pub gap_p99_ms: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct LiveReport {
    pub changes: usize,
    /// The PUT answered.
    pub put: Quantiles,
    pub sse: PathFigures,
    pub graphql: PathFigures,
    /// `None` without Kafka brokers to read from.
    pub kafka: Option<PathFigures>,
    /// The broker alone: produce one record (the services' producer
    /// settings), time until a consumer has it.
    pub broker: Option<Quantiles>,
}

/// Runs `changes` status changes; `kafka` is the brokers' bootstrap list
/// when the bench can reach them.
pub async fn run(
    world: &World,
    kafka: Option<&str>,
    changes: usize,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<LiveReport> {
    let arrivals = Arc::new(Arrivals::default());
    let mut paths = vec![Path::Sse, Path::Graphql];
    let mut tasks = Vec::new();

    // SSE: every delivery change, as ops see them.
    let mut stream = world
        .client
        .stream("/events/deliveries", None)
        .await
        .context("opening the SSE stream /events/deliveries")?;
    tasks.push(tokio::spawn({
        let arrivals = arrivals.clone();
        async move {
            while let Some(Ok(event)) = stream.next().await {
                if let Ok(d) = serde_json::from_str::<food_api::Delivery>(&event.data) {
                    arrivals.arrived(Path::Sse, &d.order_id, d.version);
                }
            }
        }
    }));

    // GraphQL: one WebSocket, a subscription per order.
    let (mut ws_tx, mut ws_rx) = graphql_socket(world).await?.split();
    tasks.push(tokio::spawn({
        let arrivals = arrivals.clone();
        async move {
            while let Some(Ok(msg)) = ws_rx.next().await {
                let WsMessage::Text(text) = msg else { continue };
                let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else {
                    continue;
                };
                let d = &v["payload"]["data"]["deliveryStatusChanged"];
                if let (Some(order), Some(version)) = (
                    d["orderId"].as_str(),
                    d["version"]
                        .as_str()
                        .and_then(|s| s.parse().ok())
                        .or(d["version"].as_u64()),
                ) {
                    arrivals.arrived(Path::Graphql, order, version);
                }
            }
        }
    }));

    // Kafka: a reader of its own at the topic's end, as the board reads.
    if let Some(brokers) = kafka {
        let group = format!("food-bench-{}", uuid::Uuid::new_v4().simple());
        let consumer: StreamConsumer =
            food_events::kafka::tail_config(brokers, &group, food_events::kafka::Start::Latest)
                .create()
                .context("creating a Kafka consumer")?;
        consumer.subscribe(&[food_events::topics::DELIVERIES])?;
        wait_for_assignment(&consumer).await?;
        paths.push(Path::Kafka);
        tasks.push(tokio::spawn({
            let arrivals = arrivals.clone();
            async move {
                use food_proto::events::v1::envelope::Payload;
                loop {
                    let Ok(m) = consumer.recv().await else {
                        continue;
                    };
                    let Some(Ok(env)) = m.payload().map(food_events::envelope::decode) else {
                        continue;
                    };
                    if let Some(Payload::DeliveryStatusChanged(e)) = env.payload
                        && let Some(d) = e.delivery
                    {
                        arrivals.arrived(Path::Kafka, &d.order_id, d.version);
                    }
                }
            }
        }));
    }

    let mut put = new_histogram();
    let mut hists: [Histogram<u64>; 3] = [new_histogram(), new_histogram(), new_histogram()];
    let mut missed = [0u64; 3];
    let mut done = 0;
    let mut order_n = 0u64;
    let couriers = &world.couriers;
    let mut result = Ok(());
    'orders: while done < changes {
        order_n += 1;
        let order: food_api::Order = world
            .client
            .post("/orders", &world.live_order_body(order_n), &[])
            .await
            .context("placing an order for the live path")?;
        // The delivery exists once the SSE stream has it; then the
        // subscription can start (its first message is the current state).
        if !arrivals.order_seen(&order.id, &[Path::Sse]).await {
            result = Err(anyhow::anyhow!(
                "order {}: its delivery did not show on the SSE stream within {} s",
                order.id,
                ARRIVAL_WITHIN.as_secs()
            ));
            break;
        }
        let sub = json!({
            "id": order_n.to_string(),
            "type": "subscribe",
            "payload": {
                "query": "subscription($id: ID!) { deliveryStatusChanged(orderId: $id) { orderId version } }",
                "variables": {"id": order.id},
            },
        });
        ws_tx.send(WsMessage::Text(sub.to_string().into())).await?;
        if !arrivals.order_seen(&order.id, &[Path::Graphql]).await {
            result = Err(anyhow::anyhow!(
                "order {}: the GraphQL subscription sent nothing within {} s",
                order.id,
                ARRIVAL_WITHIN.as_secs()
            ));
            break;
        }
        for k in 0..CHANGES_PER_ORDER {
            if done == changes {
                break 'orders;
            }
            let courier = &couriers[(order_n as usize + k) % couriers.len()];
            let body = json!({"status": "ASSIGNED", "courier": courier});
            let t = Instant::now();
            let delivery: food_api::Delivery = world
                .client
                .put(&format!("/delivery/status/{}", order.id), &body, &[])
                .await
                .with_context(|| format!("PUT /delivery/status/{}", order.id))?;
            record(&mut put, t.elapsed());
            let seen = arrivals
                .change_seen(&order.id, delivery.version, &paths)
                .await;
            for p in &paths {
                match seen[*p as usize] {
                    Some(at) => record(&mut hists[*p as usize], at.saturating_duration_since(t)),
                    None => missed[*p as usize] += 1,
                }
            }
            done += 1;
            progress.set_position(done as u64);
        }
        let complete = json!({"id": order_n.to_string(), "type": "complete"});
        ws_tx
            .send(WsMessage::Text(complete.to_string().into()))
            .await?;
    }
    for t in &tasks {
        t.abort();
    }
    result?;

    let broker = match kafka {
        Some(brokers) => Some(broker_latency(brokers, changes).await?),
        None => None,
    };
    let figures = |p: Path| {
        let latency = Quantiles::of(&hists[p as usize]);
        PathFigures {
            latency,
            missed: missed[p as usize],
            gap_p99_ms: broker.map(|b| latency.p99_ms - b.p99_ms),
        }
    };
    Ok(LiveReport {
        changes: done,
        put: Quantiles::of(&put),
        sse: figures(Path::Sse),
        graphql: figures(Path::Graphql),
        kafka: kafka.map(|_| figures(Path::Kafka)),
        broker,
    })
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A `graphql-transport-ws` socket to the gateway, acknowledged.
async fn graphql_socket(world: &World) -> anyhow::Result<Socket> {
    let url = world.client.url().replacen("http", "ws", 1) + "/graphql";
    let mut request = url.as_str().into_client_request()?;
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .with_context(|| format!("opening a GraphQL WebSocket at {url}"))?;
    let init = json!({
        "type": "connection_init",
        "payload": {"Authorization": format!("Bearer {}", world.ops_key)},
    });
    ws.send(WsMessage::Text(init.to_string().into())).await?;
    let ack = tokio::time::timeout(ARRIVAL_WITHIN, async {
        while let Some(msg) = ws.next().await {
            if let WsMessage::Text(text) = msg? {
                return anyhow::Ok(serde_json::from_str::<Value>(text.as_str())?);
            }
        }
        bail!("the GraphQL WebSocket closed")
    })
    .await
    .context("no connection_ack within 10 s")??;
    if ack["type"] != "connection_ack" {
        bail!("the GraphQL WebSocket answered {ack}");
    }
    Ok(ws)
}

async fn wait_for_assignment(consumer: &StreamConsumer) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while consumer.assignment()?.count() == 0 {
        if Instant::now() > deadline {
            bail!("the Kafka consumer got no partitions within 30 s");
        }
        let _ = tokio::time::timeout(Duration::from_millis(100), consumer.recv()).await;
    }
    // A reader at `latest` resolves its start offsets after the assignment.
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(())
}

/// The broker alone: `samples` records produced one at a time (the
/// services' producer settings), each timed until a consumer has it.
async fn broker_latency(brokers: &str, samples: usize) -> anyhow::Result<Quantiles> {
    let admin: AdminClient<DefaultClientContext> = {
        let mut c = food_events::kafka::client_config();
        c.set("bootstrap.servers", brokers);
        c.create()?
    };
    let created = admin
        .create_topics(
            &[NewTopic::new(RAW_TOPIC, 1, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await?;
    for r in created {
        if let Err((topic, code)) = r
            && code != rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists
        {
            bail!("creating the topic {topic}: {code}");
        }
    }
    let group = format!("food-bench-raw-{}", uuid::Uuid::new_v4().simple());
    let consumer: StreamConsumer =
        food_events::kafka::tail_config(brokers, &group, food_events::kafka::Start::Latest)
            .create()?;
    consumer.subscribe(&[RAW_TOPIC])?;
    wait_for_assignment(&consumer).await?;
    let producer: FutureProducer = food_events::kafka::producer_config(brokers).create()?;
    let mut h = new_histogram();
    // The first records also wait for metadata and the producer id.
    const WARM_UP: usize = 20;
    for i in 0..samples + WARM_UP {
        let t = Instant::now();
        producer
            .send(
                FutureRecord::to(RAW_TOPIC)
                    .key(&format!("k{i}"))
                    .payload("x"),
                Duration::from_secs(5),
            )
            .await
            .map_err(|(e, _)| e)?;
        match tokio::time::timeout(Duration::from_secs(5), consumer.recv()).await {
            Ok(m) => {
                m?;
                if i >= WARM_UP {
                    record(&mut h, t.elapsed());
                }
            }
            Err(_) => bail!("a record produced to {RAW_TOPIC} was not consumed within 5 s"),
        }
    }
    Ok(Quantiles::of(&h))
}
