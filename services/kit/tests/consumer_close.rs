//! The consumer's run loop closes its Kafka consumer before it returns, also
//! when its lag probe (a blocking task holding the consumer) is running at
//! shutdown. A consumer left behind kept its broker connections: when
//! food-stack then stopped its embedded broker, Ctrl-C ended with librdkafka
//! errors about a broker that was gone.
//!
//! A file of its own: it counts the process's librdkafka threads, which
//! other tests' clients would add to.

use std::time::Duration;

use food_events::Envelope;
use food_kit::{Db, Handler, Outcome, Shutdown, Tx, db::Migrations};
use rdkafka::consumer::{Consumer, StreamConsumer};

/// Applies nothing; the test is about closing, not handling.
struct Idle;

impl Handler for Idle {
    fn name(&self) -> &str {
        "test.idle"
    }

    async fn apply(&self, _tx: &mut Tx, _env: &Envelope) -> anyhow::Result<Outcome> {
        Ok(Outcome::Ignored)
    }
}

/// The kit's own tables (processed events) are all the handler needs.
const NO_TABLES: Migrations = Migrations {
    sqlite: &[],
    postgres: &[],
};

/// Threads of this process that librdkafka started (it names them `rdk:…`);
/// destroying a client joins them.
fn librdkafka_threads() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| name.starts_with("rdk:"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kafka_consumer_is_closed_when_run_returns_even_while_a_lag_probe_runs() {
    let topic = format!("{}orders", food_kit::testing::unique_prefix());
    let broker = food_kit::testing::broker_with_topics(std::slice::from_ref(&topic)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(
        &format!("sqlite://{}/c.db", dir.path().display()),
        &NO_TABLES,
    )
    .await
    .unwrap();
    assert_eq!(librdkafka_threads(), Vec::<String>::new(), "no client yet");

    let consumer: StreamConsumer = food_kit::kafka::consumer_config(&broker.bootstrap(), "closing")
        .create()
        .unwrap();
    consumer.subscribe(&[&topic]).unwrap();
    let shutdown = Shutdown::new();
    let started = tokio::time::Instant::now();
    let running = tokio::spawn(food_kit::consumer::run(
        consumer,
        db,
        Idle,
        Duration::from_millis(50),
        shutdown.clone(),
    ));
    // The probe runs at the start and every 5 s after; stop just after the
    // second, once the consumer has its partitions and the probe has work.
    tokio::time::sleep_until(started + Duration::from_millis(5_010)).await;
    assert!(
        !librdkafka_threads().is_empty(),
        "the consumer runs on librdkafka threads"
    );
    shutdown.trigger();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the consumer stops on shutdown")
        .unwrap();

    assert_eq!(
        librdkafka_threads(),
        Vec::<String>::new(),
        "the consumer's threads outlived the run loop"
    );
    broker.stop().await;
}
