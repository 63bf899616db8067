//! The order load the compose tests run through the gateway's published
//! port, and what they read afterwards to check it.
//!
//! [`Load`] places orders for `cust-local` with ops' key at a steady rate
//! (each POST retried with its idempotency key until acknowledged); every
//! 25th acknowledged order is watched over SSE while ops moves its delivery
//! to DELIVERED (each PUT retried until it applied). Failed requests are
//! counted with when they happened. [`Ledger`] then holds the load's
//! acknowledged writes against the services' PostgreSQL databases and the
//! topics: each order once, each delivery once, each status once, each
//! event applied once.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use food_client::gateway::{Client, Endpoint};
use serde_json::{Value, json};
use sqlx::{PgPool, Row, postgres::PgPoolOptions};
use tokio::task::JoinSet;

use crate::topology::Topology;

/// The ops key whose hash deploy/gateway.toml holds; not rate-limited.
pub const OPS: &str = "ops-local";
/// The customer deploy/gateway.toml's customer key acts as.
pub const CUSTOMER_ID: &str = "cust-local";
/// An item of a kitchen that accepts by itself.
const ITEM: &str = "margherita";
pub const MOVES: [&str; 4] = ["ASSIGNED", "PICKED_UP", "IN_TRANSIT", "DELIVERED"];
/// One acknowledged order in this many is watched over SSE and moved.
const WATCH_EVERY: usize = 25;
/// POSTs in flight at most; beyond it the placer waits (and the achieved
/// rate falls below the planned one, which is printed).
const IN_FLIGHT: usize = 64;

#[derive(Clone, Default)]
pub struct Figures {
    /// Order id → when its POST was acknowledged.
    pub acked: HashMap<String, SystemTime>,
    /// Requests that failed (a transport error or a 5xx), with when.
    pub failures: Vec<(Instant, String)>,
    pub watched: Vec<String>,
    /// Order id → (version, status) of each SSE event its watcher got.
    pub seen: HashMap<String, Vec<(u64, String)>>,
    /// For each change an SSE watcher got (not the first event, the state
    /// when the stream opened): when it arrived, and how long after the
    /// change was made (its `updated_at`).
    pub sse_lag: Vec<(SystemTime, Duration)>,
    pub moved: u64,
}

impl Figures {
    /// The failed requests by kind: `POST /orders: 503 Service Unavailable
    /// ×3; ...` (a transport error without its URL, which names the order).
    pub fn failure_kinds(&self) -> String {
        let mut kinds: std::collections::BTreeMap<&str, usize> = Default::default();
        for (_, what) in &self.failures {
            let kind = what.split(" for url (").next().unwrap_or_default();
            *kinds.entry(kind).or_default() += 1;
        }
        kinds
            .iter()
            .map(|(what, n)| format!("{what} ×{n}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Failures that were an HTTP 5xx other than 503: a part down or slow
    /// must give 503 (`unavailable` or `timeout`), never a 500, 502 or 504.
    pub fn server_errors(&self) -> Vec<&str> {
        self.failures
            .iter()
            .map(|(_, what)| what.as_str())
            .filter(|what| {
                what.rsplit_once(": ").is_some_and(|(_, status)| {
                    status.starts_with('5')
                        && status.as_bytes().get(3) == Some(&b' ')
                        && !status.starts_with("503 ")
                })
            })
            .collect()
    }
}

pub struct Load {
    pub started: Instant,
    stop: Arc<AtomicBool>,
    figures: Arc<Mutex<Figures>>,
    placer: tokio::task::JoinHandle<()>,
    movers: JoinSet<()>,
}

pub struct Finished {
    pub figures: Figures,
    pub load_took: Duration,
}

impl Load {
    /// Starts placing `rate` orders a second, their idempotency keys
    /// beginning with `name`, until [`Load::finish`].
    pub fn start(base: String, rate: u64, name: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(IN_FLIGHT)
            .build()
            .unwrap();
        let figures = Arc::new(Mutex::new(Figures::default()));
        let (to_move, moving) = tokio::sync::mpsc::unbounded_channel::<String>();
        let moving = Arc::new(tokio::sync::Mutex::new(moving));
        let started = Instant::now();
        let stop = Arc::new(AtomicBool::new(false));
        let placer = {
            let (http, base, figures, stop) =
                (http.clone(), base.clone(), figures.clone(), stop.clone());
            let name = name.to_owned();
            tokio::spawn(async move {
                let permits = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
                let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let mut placing = JoinSet::new();
                let mut n = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    tick.tick().await;
                    let permit = permits.clone().acquire_owned().await.unwrap();
                    n += 1;
                    let key = format!("{name}-{}-{n}", std::process::id());
                    let (http, base, figures, to_move) =
                        (http.clone(), base.clone(), figures.clone(), to_move.clone());
                    placing.spawn(async move {
                        let id = place(&http, &base, &key, &figures).await;
                        drop(permit);
                        let watch = {
                            let mut f = figures.lock().unwrap();
                            f.acked.insert(id.clone(), SystemTime::now());
                            let watch = f.acked.len() % WATCH_EVERY == 0;
                            if watch {
                                f.watched.push(id.clone());
                            }
                            watch
                        };
                        if watch {
                            let _ = to_move.send(id);
                        }
                    });
                    while placing.try_join_next().is_some() {}
                }
                while placing.join_next().await.is_some() {}
            })
        };
        let mut movers = JoinSet::new();
        for _ in 0..6 {
            let (http, base, figures, moving) =
                (http.clone(), base.clone(), figures.clone(), moving.clone());
            movers.spawn(async move {
                loop {
                    let next = moving.lock().await.recv().await;
                    let Some(id) = next else { break };
                    follow(&http, &base, &id, &figures).await;
                }
            });
        }
        Self {
            started,
            stop,
            figures,
            placer,
            movers,
        }
    }

    /// The figures so far.
    pub fn figures(&self) -> Figures {
        self.figures.lock().unwrap().clone()
    }

    /// Stops placing orders, waits for those in flight and for the watched
    /// deliveries to reach DELIVERED.
    pub async fn finish(mut self) -> Finished {
        self.stop.store(true, Ordering::Relaxed);
        self.placer.await.unwrap();
        let load_took = self.started.elapsed();
        let drained = tokio::time::timeout(Duration::from_secs(90), async {
            while let Some(done) = self.movers.join_next().await {
                done.unwrap();
            }
        })
        .await;
        assert!(
            drained.is_ok(),
            "every watched delivery moved within 90 s of the load's end"
        );
        let figures = self.figures.lock().unwrap().clone();
        Finished { figures, load_took }
    }
}

fn failed(figures: &Mutex<Figures>, what: String) {
    figures
        .lock()
        .unwrap()
        .failures
        .push((Instant::now(), what));
}

/// POSTs one order until it is acknowledged; its id.
async fn place(http: &reqwest::Client, base: &str, key: &str, figures: &Mutex<Figures>) -> String {
    loop {
        let r = order_request(http, base, key).send().await;
        match r {
            Ok(r) if r.status() == 201 => {
                let order: Value = r.json().await.unwrap();
                return order["id"].as_str().unwrap().to_owned();
            }
            Ok(r) if r.status().is_client_error() => {
                panic!(
                    "POST /orders refused: {} {}",
                    r.status(),
                    r.text().await.unwrap_or_default()
                )
            }
            Ok(r) => failed(figures, format!("POST /orders: {}", r.status())),
            Err(e) => failed(figures, format!("POST /orders: {e}")),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits for the order's delivery, watches it over SSE and moves it to
/// DELIVERED.
async fn follow(http: &reqwest::Client, base: &str, id: &str, figures: &Arc<Mutex<Figures>>) {
    let give_up = Instant::now() + Duration::from_secs(90);
    loop {
        match http
            .get(format!("{base}/delivery/status/{id}"))
            .bearer_auth(OPS)
            .send()
            .await
        {
            Ok(r) if r.status() == 200 => break,
            Ok(r) if r.status() == 404 => {}
            Ok(r) => failed(figures, format!("GET /delivery/status: {}", r.status())),
            Err(e) => failed(figures, format!("GET /delivery/status: {e}")),
        }
        assert!(
            Instant::now() < give_up,
            "the delivery of {id} appeared within 90 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let (first_tx, first_rx) = tokio::sync::oneshot::channel();
    let watcher = tokio::spawn(watch(
        base.to_owned(),
        id.to_owned(),
        figures.clone(),
        first_tx,
    ));
    let _ = tokio::time::timeout(Duration::from_secs(10), first_rx).await;

    for status in MOVES {
        loop {
            let r = http
                .put(format!("{base}/delivery/status/{id}"))
                .bearer_auth(OPS)
                .json(&json!({"status": status, "courier": "courier-1"}))
                .send()
                .await;
            match r {
                Ok(r) if r.status() == 200 => break,
                Ok(r) if r.status() == 409 => {
                    // A pick-up before the kitchen's acceptance reached
                    // delivery-service, or a PUT whose answer was lost
                    // though it applied: look at where the delivery is.
                    if status_of(http, base, id).await.as_deref() == Some(status) {
                        break;
                    }
                }
                Ok(r) if r.status().is_client_error() => {
                    panic!(
                        "PUT {status} for {id} refused: {} {}",
                        r.status(),
                        r.text().await.unwrap_or_default()
                    )
                }
                Ok(r) => failed(
                    figures,
                    format!("PUT /delivery/status {status}: {}", r.status()),
                ),
                Err(e) => failed(figures, format!("PUT /delivery/status {status}: {e}")),
            }
            assert!(
                Instant::now() < give_up,
                "{id} moved to {status} within 90 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    figures.lock().unwrap().moved += 1;
    let _ = tokio::time::timeout(Duration::from_secs(60), watcher).await;
}

/// The delivery's status now, if the gateway answers.
async fn status_of(http: &reqwest::Client, base: &str, id: &str) -> Option<String> {
    let r = http
        .get(format!("{base}/delivery/status/{id}"))
        .bearer_auth(OPS)
        .send()
        .await
        .ok()?;
    if r.status() != 200 {
        return None;
    }
    let delivery: Value = r.json().await.ok()?;
    delivery["status"].as_str().map(str::to_owned)
}

/// Reads the order's SSE stream until DELIVERED (reconnecting with the
/// last event id if the stream breaks), recording each event.
async fn watch(
    base: String,
    id: String,
    figures: Arc<Mutex<Figures>>,
    first: tokio::sync::oneshot::Sender<()>,
) {
    let client = Client::builder(
        Endpoint::new(&base, Some(OPS.to_owned()), Duration::from_secs(10)).unwrap(),
    )
    .build()
    .unwrap();
    let mut first = Some(first);
    let mut last_id: Option<String> = None;
    let give_up = Instant::now() + Duration::from_secs(120);
    while Instant::now() < give_up {
        let path = format!("/delivery/status/{id}/stream");
        let mut stream = match client.stream(&path, last_id.as_deref()).await {
            Ok(s) => s,
            Err(e) => {
                failed(&figures, format!("GET {path}: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        while let Some(event) = stream.next().await {
            let Ok(event) = event else {
                failed(&figures, format!("SSE {id} broke"));
                break;
            };
            last_id = event.id.clone().or(last_id);
            let delivery: Value = serde_json::from_str(&event.data).unwrap();
            let status = delivery["status"].as_str().unwrap_or_default().to_owned();
            let version = delivery["version"].as_u64().unwrap_or_default();
            let arrived = SystemTime::now();
            let made = delivery["updated_at"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(SystemTime::from);
            {
                let mut f = figures.lock().unwrap();
                f.seen
                    .entry(id.clone())
                    .or_default()
                    .push((version, status.clone()));
                if let (None, Some(made)) = (&first, made) {
                    let lag = arrived.duration_since(made).unwrap_or_default();
                    f.sse_lag.push((arrived, lag));
                }
            }
            if let Some(first) = first.take() {
                let _ = first.send(());
            }
            if status == "DELIVERED" {
                return;
            }
        }
    }
}

// ---------------------------------------------------------------------------
// What the checks read

pub async fn pool(url: &str) -> PgPool {
    PgPoolOptions::new()
        .max_connections(2)
        .connect(url)
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}"))
}

/// Order id → when its delivery was created.
pub async fn delivery_created(db: &PgPool) -> HashMap<String, SystemTime> {
    sqlx::query("SELECT order_id, created_at FROM deliveries")
        .fetch_all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            let micros: i64 = r.get("created_at");
            (
                r.get::<String, _>("order_id"),
                SystemTime::UNIX_EPOCH + Duration::from_micros(micros as u64),
            )
        })
        .collect()
}

/// Order id → its delivery's statuses, oldest first.
pub async fn histories(db: &PgPool) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for r in sqlx::query("SELECT order_id, status FROM delivery_history ORDER BY order_id, version")
        .fetch_all(db)
        .await
        .unwrap()
    {
        out.entry(r.get("order_id"))
            .or_default()
            .push(r.get("status"));
    }
    out
}

pub async fn processed(db: &PgPool, consumer: &str) -> HashSet<String> {
    sqlx::query("SELECT event_id FROM processed_events WHERE consumer = $1")
        .bind(consumer)
        .fetch_all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.get("event_id"))
        .collect()
}

/// Waits until the topics' ends and the consumers' records stop moving
/// (the same for two looks a second apart), so that both are read whole.
pub async fn settle(topology: &Topology, dbs: &[&PgPool]) {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let probe: BaseConsumer = topology.kafka_client_config().create().unwrap();
    let mut last = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let mut now = Vec::new();
        for topic in ["food.orders.v1", "food.deliveries.v1"] {
            for p in 0..3 {
                let (_, high) = probe
                    .fetch_watermarks(topic, p, Duration::from_secs(10))
                    .unwrap_or((0, -1));
                now.push(high);
            }
        }
        for db in dbs {
            let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM processed_events")
                .fetch_one(*db)
                .await
                .unwrap()
                .get("n");
            now.push(n);
        }
        if last.as_ref() == Some(&now) {
            return;
        }
        last = Some(now);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

pub struct TopicEvent {
    pub key: String,
    pub partition: i32,
    pub event_id: String,
}

pub struct Topic {
    pub events: Vec<TopicEvent>,
}

/// Every record of `topic`, from its beginning to its end now.
pub async fn read_all(topology: &Topology, topic: &str) -> Topic {
    use rdkafka::{
        Message,
        consumer::{BaseConsumer, Consumer},
    };
    let probe: BaseConsumer = topology.kafka_client_config().create().unwrap();
    let timeout = Duration::from_secs(10);
    let metadata = probe.fetch_metadata(Some(topic), timeout).unwrap();
    let count: i64 = metadata.topics()[0]
        .partitions()
        .iter()
        .map(|p| {
            let (low, high) = probe.fetch_watermarks(topic, p.id(), timeout).unwrap();
            high - low
        })
        .sum();
    let messages = food_kit::testing::read_topic(
        &topology.kafka_bootstrap(),
        topic,
        count as usize,
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(messages.len() as i64, count, "read all of {topic}");
    Topic {
        events: messages
            .iter()
            .map(|m| TopicEvent {
                key: food_kit::testing::key_of(m),
                partition: m.partition(),
                event_id: food_events::decode(m.payload().unwrap()).unwrap().event_id,
            })
            .collect(),
    }
}

/// A load's acknowledged writes against what the services' databases and
/// the topics hold once everything settled.
pub struct Ledger {
    /// Orders acknowledged (201) to the load.
    pub acknowledged: usize,
    /// `cust-local`'s order rows in order-service's database.
    pub order_rows: usize,
    /// Deliveries in delivery-service's database.
    pub deliveries: usize,
    /// Acknowledged orders without a delivery (waited for up to 60 s).
    pub lost: Vec<String>,
    /// Deliveries of orders never acknowledged.
    pub unacknowledged: usize,
    /// Deliveries moved to DELIVERED by the load.
    pub moved: usize,
    /// Deliveries whose history holds a status twice.
    pub repeated: Vec<String>,
    /// Watched (moved) deliveries whose history is not PENDING to
    /// DELIVERED, each status once: a status change acknowledged and lost.
    pub moved_wrong: Vec<String>,
    /// Each consumer's `processed_events` against the topic it reads.
    pub consumers: Vec<Consumer>,
    /// Order id → when its delivery was created.
    pub created: HashMap<String, SystemTime>,
    /// Order id → its partition of food.orders.v1.
    pub partition_of: HashMap<String, i32>,
}

/// A consumer's record of the events it applied against its topic.
pub struct Consumer {
    pub name: &'static str,
    /// Records on the topic (a relay may send one twice).
    pub records: usize,
    /// Distinct event ids on the topic.
    pub ids: usize,
    /// Event ids it recorded as applied.
    pub applied: usize,
    /// Ids on the topic it has no record of: skipped.
    pub missing: usize,
    /// Records of ids not on the topic.
    pub unknown: usize,
}

impl Ledger {
    /// Waits for the deliveries of the acknowledged orders and for the
    /// topics and the consumers' records to settle, then reads them all.
    pub async fn read(topology: &Topology, figures: &Figures) -> Ledger {
        let deliveries_db = pool(&topology.postgres_url("deliveries")).await;
        let orders_db = pool(&topology.postgres_url("orders")).await;
        let mut created;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            created = delivery_created(&deliveries_db).await;
            if figures.acked.keys().all(|id| created.contains_key(id)) || Instant::now() > deadline
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let order_rows: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM orders WHERE customer_id = $1")
                .bind(CUSTOMER_ID)
                .fetch_one(&orders_db)
                .await
                .unwrap()
                .get("n");
        let histories = histories(&deliveries_db).await;
        let full: Vec<String> = ["PENDING"]
            .into_iter()
            .chain(MOVES)
            .map(String::from)
            .collect();
        settle(topology, &[&deliveries_db, &orders_db]).await;
        let mut consumers = Vec::new();
        let mut partition_of = HashMap::new();
        for (name, topic_name, db) in [
            ("delivery-service.orders", "food.orders.v1", &deliveries_db),
            ("order-service.deliveries", "food.deliveries.v1", &orders_db),
        ] {
            let topic = read_all(topology, topic_name).await;
            let applied = processed(db, name).await;
            let ids: HashSet<&String> = topic.events.iter().map(|e| &e.event_id).collect();
            let missing = ids.iter().filter(|id| !applied.contains(**id)).count();
            let unknown = applied.iter().filter(|id| !ids.contains(id)).count();
            if topic_name == "food.orders.v1" {
                partition_of.extend(topic.events.iter().map(|e| (e.key.clone(), e.partition)));
            }
            consumers.push(Consumer {
                name,
                records: topic.events.len(),
                ids: ids.len(),
                applied: applied.len(),
                missing,
                unknown,
            });
        }
        Ledger {
            acknowledged: figures.acked.len(),
            order_rows: order_rows as usize,
            deliveries: created.len(),
            moved: figures.watched.len(),
            lost: figures
                .acked
                .keys()
                .filter(|id| !created.contains_key(*id))
                .cloned()
                .collect(),
            unacknowledged: created
                .keys()
                .filter(|id| !figures.acked.contains_key(*id))
                .count(),
            repeated: histories
                .iter()
                .filter(|(_, h)| h.iter().collect::<HashSet<_>>().len() != h.len())
                .map(|(id, _)| id.clone())
                .collect(),
            moved_wrong: figures
                .watched
                .iter()
                .filter(|id| histories.get(*id) != Some(&full))
                .cloned()
                .collect(),
            consumers,
            created,
            partition_of,
        }
    }

    /// Writes or applications beyond one each: order rows beyond the
    /// acknowledged orders, deliveries of orders never acknowledged,
    /// histories with a status twice.
    pub fn duplicates(&self) -> usize {
        self.order_rows.saturating_sub(self.acknowledged)
            + self.unacknowledged
            + self.repeated.len()
    }

    /// The summary block's lines.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "  acknowledged {}, present: order rows {} and deliveries {}, lost {}, duplicates {}\n\
             \x20 status changes: {} deliveries moved to DELIVERED, histories wrong {}\n",
            self.acknowledged,
            self.order_rows,
            self.deliveries,
            self.lost.len(),
            self.duplicates(),
            self.moved,
            self.moved_wrong.len(),
        );
        for c in &self.consumers {
            out.push_str(&format!(
                "  {}: {} records on the topic, {} distinct event ids, {} applied, \
                 missing {}, not on the topic {}\n",
                c.name, c.records, c.ids, c.applied, c.missing, c.unknown
            ));
        }
        out
    }

    /// Nothing acknowledged lost, nothing applied twice or skipped.
    pub fn assert_whole(&self) {
        assert!(self.acknowledged > 0, "the load placed orders");
        assert_eq!(
            self.lost,
            Vec::<String>::new(),
            "acknowledged orders without a delivery"
        );
        assert_eq!(
            self.order_rows, self.acknowledged,
            "one order row per acknowledged order"
        );
        assert_eq!(
            self.unacknowledged, 0,
            "deliveries of orders never acknowledged"
        );
        assert!(
            self.repeated.is_empty(),
            "statuses applied twice: {:?}",
            self.repeated
        );
        assert!(
            self.moved_wrong.is_empty(),
            "moved deliveries with another history: {:?}",
            self.moved_wrong
        );
        for c in &self.consumers {
            assert_eq!(
                (c.missing, c.unknown),
                (0, 0),
                "{}'s record of its topic",
                c.name
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Single requests, timed

/// One answer of the gateway: its status (0 for a transport error), its
/// body (the error for a transport error) and how long it took.
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub took: Duration,
}

impl Answer {
    /// The `error.code` of an error body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
}

/// A client that gives up on an answer after 10 s, well past every
/// downstream timeout of the gateway, so that a hang shows as a long `took`.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// `GET base+path` with ops' key.
pub async fn get(http: &reqwest::Client, base: &str, path: &str) -> Answer {
    send(http.get(format!("{base}{path}")).bearer_auth(OPS)).await
}

/// One `POST /orders` of the load's kind, with `key` as its idempotency key.
pub async fn post_order(http: &reqwest::Client, base: &str, key: &str) -> Answer {
    send(order_request(http, base, key)).await
}

fn order_request(http: &reqwest::Client, base: &str, key: &str) -> reqwest::RequestBuilder {
    http.post(format!("{base}/orders"))
        .bearer_auth(OPS)
        .header("Idempotency-Key", key)
        .json(&json!({
            "customer_id": CUSTOMER_ID,
            "items": [{"item_id": ITEM, "quantity": 1}],
            "delivery_address": "2 Replica Row",
        }))
}

async fn send(request: reqwest::RequestBuilder) -> Answer {
    let start = Instant::now();
    match request.send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            let text = r.text().await.unwrap_or_default();
            Answer {
                status,
                body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
                took: start.elapsed(),
            }
        }
        Err(e) => Answer {
            status: 0,
            body: Value::String(e.to_string()),
            took: start.elapsed(),
        },
    }
}

/// Asks `path` every 100 ms until it answers 200; how long from `since`
/// that took, or None if not within `within`.
pub async fn until_ok(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    since: Instant,
    within: Duration,
) -> Option<Duration> {
    while since.elapsed() < within {
        if get(http, base, path).await.status == 200 {
            return Some(since.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}
