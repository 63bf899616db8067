//! The idempotent consumer step against real databases: the same event
//! twice is applied once, and a failing handler records nothing. And the
//! consumer's run loop against the embedded broker: its batch interval.

use std::sync::atomic::{AtomicBool, Ordering};

use food_events::{Envelope, Payload, new_envelope};
use food_kit::{
    Db, Handled, Handler, Outcome, Tx,
    consumer::{handle, handle_batch},
    db::{Migrations, Step},
};
use food_proto::events::v1::OrderCancelled;
use sqlx::Row;

const MIGRATIONS: Migrations = Migrations {
    sqlite: &[Step {
        version: 100,
        description: "counter",
        sql: "CREATE TABLE applied (order_id TEXT NOT NULL, n BIGINT NOT NULL)",
    }],
    postgres: &[Step {
        version: 100,
        description: "counter",
        sql: "CREATE TABLE applied (order_id TEXT NOT NULL, n BIGINT NOT NULL)",
    }],
};

/// Counts applications per order, and can be told to fail once.
struct Counting {
    fail_next: AtomicBool,
}

impl Handler for Counting {
    fn name(&self) -> &str {
        "test.counting"
    }

    async fn apply(&self, tx: &mut Tx, env: &Envelope) -> anyhow::Result<Outcome> {
        let Some(Payload::OrderCancelled(c)) = &env.payload else {
            return Ok(Outcome::Ignored);
        };
        sqlx::query("INSERT INTO applied (order_id, n) VALUES ($1, 1)")
            .bind(&c.order_id)
            .execute(&mut **tx)
            .await?;
        if self.fail_next.swap(false, Ordering::SeqCst) {
            anyhow::bail!("simulated failure after writing");
        }
        Ok(Outcome::Applied)
    }
}

fn event(order_id: &str) -> Envelope {
    new_envelope(
        "trace",
        Payload::OrderCancelled(OrderCancelled {
            order_id: order_id.into(),
            customer_id: "c".into(),
            reason: None,
        }),
    )
}

async fn applied(db: &Db, order_id: &str) -> i64 {
    sqlx::query("SELECT COUNT(*) AS n FROM applied WHERE order_id = $1")
        .bind(order_id)
        .fetch_one(db.reader())
        .await
        .unwrap()
        .get::<i64, _>("n")
}

async fn the_same_event_twice_is_applied_once(db: Db) {
    let handler = Counting {
        fail_next: AtomicBool::new(false),
    };
    let env = event("o1");

    let first = handle(&db, &handler, &env).await.unwrap();
    let second = handle(&db, &handler, &env).await.unwrap();

    assert_eq!(first, Handled::Applied);
    assert_eq!(second, Handled::Duplicate);
    assert_eq!(applied(&db, "o1").await, 1);
}

async fn a_failed_application_records_nothing_and_the_retry_applies(db: Db) {
    let handler = Counting {
        fail_next: AtomicBool::new(true),
    };
    let env = event("o2");

    assert!(handle(&db, &handler, &env).await.is_err());
    assert_eq!(applied(&db, "o2").await, 0, "rolled back with the event id");
    assert_eq!(handle(&db, &handler, &env).await.unwrap(), Handled::Applied);
    assert_eq!(applied(&db, "o2").await, 1);
}

async fn sqlite() -> (Db, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(
        &format!("sqlite://{}/c.db", dir.path().display()),
        &MIGRATIONS,
    )
    .await
    .unwrap();
    (db, dir)
}

#[tokio::test]
async fn sqlite_consumer_applies_a_redelivered_event_once() {
    let (db, _dir) = sqlite().await;
    the_same_event_twice_is_applied_once(db).await;
}

#[tokio::test]
async fn sqlite_consumer_rolls_back_a_failed_event_with_its_id() {
    let (db, _dir) = sqlite().await;
    a_failed_application_records_nothing_and_the_retry_applies(db).await;
}

#[tokio::test]
async fn postgres_consumer_applies_a_redelivered_event_once() {
    let Some(db) = postgres().await else {
        return;
    };
    the_same_event_twice_is_applied_once(db.clone()).await;
    a_failed_application_records_nothing_and_the_retry_applies(db).await;
}

async fn postgres() -> Option<Db> {
    let url = food_kit::testing::postgres_schema("events").await?;
    Some(Db::connect(&url, &MIGRATIONS).await.unwrap())
}

#[tokio::test]
async fn a_batch_applies_each_event_once_even_when_it_repeats_inside_the_batch() {
    let (db, _dir) = sqlite().await;
    let handler = Counting {
        fail_next: AtomicBool::new(false),
    };
    let (a, b) = (event("b1"), event("b2"));

    let outcomes = handle_batch(&db, &handler, &[a.clone(), b.clone(), a.clone()])
        .await
        .unwrap();
    let again = handle_batch(&db, &handler, &[b, a]).await.unwrap();

    assert_eq!(
        outcomes,
        [Handled::Applied, Handled::Applied, Handled::Duplicate]
    );
    assert_eq!(again, [Handled::Duplicate, Handled::Duplicate]);
    assert_eq!(applied(&db, "b1").await, 1);
    assert_eq!(applied(&db, "b2").await, 1);
}

#[tokio::test]
async fn a_failing_event_in_a_batch_rolls_the_batch_back_and_the_retry_applies_each_once() {
    let (db, _dir) = sqlite().await;
    let handler = Counting {
        fail_next: AtomicBool::new(false),
    };
    let envs = [event("f1"), event("f2"), event("f3")];
    // The first event of the batch fails once: the whole transaction rolls
    // back, then each event is applied on its own.
    handler.fail_next.store(true, Ordering::SeqCst);

    let outcomes = handle_batch(&db, &handler, &envs).await.unwrap();

    assert_eq!(
        outcomes,
        [Handled::Applied, Handled::Applied, Handled::Applied]
    );
    for id in ["f1", "f2", "f3"] {
        assert_eq!(applied(&db, id).await, 1, "{id}");
    }
}

/// Records when each event was applied and when each batch started, and
/// takes `delay` to apply a batch.
#[derive(Clone, Default)]
struct Timing {
    applied: std::sync::Arc<std::sync::Mutex<Vec<(String, std::time::Instant)>>>,
    /// Size and start of every batch.
    started: std::sync::Arc<std::sync::Mutex<Vec<(usize, std::time::Instant)>>>,
    delay: std::time::Duration,
}

impl Timing {
    async fn batch(&self, envs: &[&Envelope]) -> Vec<Outcome> {
        self.started
            .lock()
            .unwrap()
            .push((envs.len(), std::time::Instant::now()));
        tokio::time::sleep(self.delay).await;
        for env in envs {
            if let Some(Payload::OrderCancelled(c)) = &env.payload {
                let at = std::time::Instant::now();
                self.applied.lock().unwrap().push((c.order_id.clone(), at));
            }
        }
        vec![Outcome::Applied; envs.len()]
    }

    fn sizes(&self) -> Vec<usize> {
        self.started
            .lock()
            .unwrap()
            .iter()
            .map(|(n, _)| *n)
            .collect()
    }

    /// Waits until `n` batches have started (at most 30 s).
    async fn until_started(&self, n: usize) {
        for _ in 0..600 {
            if self.started.lock().unwrap().len() >= n {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("{n} batches did not start within 30 s: {:?}", self.sizes());
    }

    /// Waits until `n` events have been applied (at most 60 s).
    async fn until_applied(&self, n: usize) {
        for _ in 0..1200 {
            if self.applied.lock().unwrap().len() >= n {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

impl Handler for Timing {
    fn name(&self) -> &str {
        "test.timing"
    }

    // A batch of one comes here alone.
    async fn apply(&self, _tx: &mut Tx, env: &Envelope) -> anyhow::Result<Outcome> {
        Ok(self.batch(&[env]).await.remove(0))
    }

    async fn apply_all(&self, _tx: &mut Tx, envs: &[&Envelope]) -> anyhow::Result<Vec<Outcome>> {
        Ok(self.batch(envs).await)
    }
}

/// Produces `event(order_id)` keyed by the order id and waits for the ack.
async fn send_event(producer: &rdkafka::producer::FutureProducer, topic: &str, order_id: &str) {
    use prost::Message;
    let payload = event(order_id).encode_to_vec();
    producer
        .send(
            rdkafka::producer::FutureRecord::to(topic)
                .key(order_id)
                .payload(&payload),
            std::time::Duration::from_secs(30),
        )
        .await
        .map_err(|(e, _)| e)
        .unwrap();
}

/// A broker with one topic, a SQLite database and a producer, for the run
/// loop's tests.
struct Rig {
    topic: String,
    broker: food_broker::testing::TestBroker,
    db: Db,
    _dir: tempfile::TempDir,
    producer: rdkafka::producer::FutureProducer,
}

impl Rig {
    async fn new() -> Self {
        let topic = format!("{}orders", food_kit::testing::unique_prefix());
        let broker = food_kit::testing::broker_with_topics(std::slice::from_ref(&topic)).await;
        let (db, _dir) = sqlite().await;
        let producer = food_kit::kafka::producer_config(&broker.bootstrap())
            .create()
            .unwrap();
        Self {
            topic,
            broker,
            db,
            _dir,
            producer,
        }
    }

    async fn send(&self, order_id: &str) {
        send_event(&self.producer, &self.topic, order_id).await;
    }

    /// Runs the consumer loop in `group` (under the topic's unique name, so
    /// that tests sharing a broker share no group) with `timing` as its
    /// handler; trigger the returned shutdown to stop it.
    fn run(
        &self,
        group: &str,
        timing: &Timing,
        interval: std::time::Duration,
    ) -> (food_kit::Shutdown, tokio::task::JoinHandle<()>) {
        use rdkafka::consumer::{Consumer, StreamConsumer};
        let consumer: StreamConsumer = food_kit::kafka::consumer_config(
            &self.broker.bootstrap(),
            &format!("{}-{group}", self.topic),
        )
        .create()
        .unwrap();
        consumer.subscribe(&[&self.topic]).unwrap();
        let shutdown = food_kit::Shutdown::new();
        let running = tokio::spawn(food_kit::consumer::run(
            consumer,
            self.db.clone(),
            timing.clone(),
            interval,
            shutdown.clone(),
        ));
        (shutdown, running)
    }
}

/// Stops a consumer started by [`Rig::run`] and waits for it (at most 10 s).
async fn stop(shutdown: food_kit::Shutdown, running: tokio::task::JoinHandle<()>) {
    shutdown.trigger();
    tokio::time::timeout(std::time::Duration::from_secs(10), running)
        .await
        .expect("the consumer stops on shutdown")
        .unwrap();
}

#[tokio::test]
async fn after_a_batch_of_several_the_next_waits_for_the_interval_and_after_a_single_event_it_does_not()
 {
    use std::time::Duration;

    let rig = Rig::new().await;
    // Applying a batch takes a second, so what is sent meanwhile is there,
    // fetched, when the batch ends.
    let timing = Timing {
        delay: Duration::from_secs(1),
        ..Timing::default()
    };
    let interval = Duration::from_secs(3);
    let (shutdown, running) = rig.run("timing", &timing, interval);

    rig.send("a").await;
    timing.until_started(1).await;
    for id in ["b", "c", "d"] {
        rig.send(id).await;
    }
    timing.until_started(2).await;
    for id in ["e", "f"] {
        rig.send(id).await;
    }
    timing.until_applied(6).await;
    // Stopped before asserting: a failed assertion would otherwise drop a
    // running consumer, whose close can outwait the test.
    stop(shutdown, running).await;

    let started = timing.started.lock().unwrap().clone();
    assert_eq!(timing.sizes(), [1, 3, 2], "a alone, then b c d, then e f");
    let after_one = started[1].1.duration_since(started[0].1);
    let after_three = started[2].1.duration_since(started[1].1);
    assert!(
        after_one < interval,
        "after a batch of one event the next started {after_one:?} later (interval {interval:?})"
    );
    // The consumer times its interval from just before a batch is applied;
    // the handler notes its start a little later (a connection, BEGIN), by
    // more on a loaded machine than on an idle one, so the start-to-start
    // gap seen here can fall a few milliseconds short of the interval. Not
    // waiting would show as about the handler's one second.
    let slack = Duration::from_millis(250);
    assert!(
        after_three >= interval - slack,
        "after a batch of three events the next started {after_three:?} later, within the interval of {interval:?}"
    );
}

#[tokio::test]
async fn after_a_full_batch_the_next_starts_at_once_so_the_interval_never_caps_the_rate() {
    use std::time::Duration;

    use food_kit::consumer::MAX_BATCH;

    let rig = Rig::new().await;
    // Two full batches and one more event, all there before the consumer starts.
    let total = 2 * MAX_BATCH + 1;
    let ids: Vec<String> = (0..total).map(|i| format!("full-{i}")).collect();
    futures::future::join_all(ids.iter().map(|id| rig.send(id))).await;
    let timing = Timing::default();
    let interval = Duration::from_secs(5);
    let (shutdown, running) = rig.run("full", &timing, interval);
    timing.until_applied(total).await;
    stop(shutdown, running).await;

    let applied = timing.applied.lock().unwrap().len();
    let started = timing.started.lock().unwrap().clone();
    let sizes = timing.sizes();
    assert_eq!(applied, total, "every event applied; batches {sizes:?}");
    // The first batch may be taken before every event has been fetched;
    // by the end of its interval the rest are there, so one batch is full.
    assert!(
        sizes.contains(&MAX_BATCH),
        "no batch of {MAX_BATCH}: {sizes:?}"
    );
    for pair in started.windows(2) {
        let ((n, at), (_, next)) = (pair[0], pair[1]);
        if n == MAX_BATCH {
            assert!(
                next.duration_since(at) < interval / 2,
                "after a full batch the next started {:?} later (interval {interval:?}); batches {sizes:?}",
                next.duration_since(at)
            );
        }
    }
}
