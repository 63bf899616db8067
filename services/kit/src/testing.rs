//! Test support: a broker per test and reading a topic from the beginning.

use std::time::Duration;

use food_broker::{EmbeddedBroker, Storage};
use rdkafka::{
    ClientConfig, Message,
    consumer::{Consumer, StreamConsumer},
    message::OwnedMessage,
};

/// Starts an in-memory broker on a free port, with the given topics created.
pub async fn broker_with_topics(topics: &[String]) -> EmbeddedBroker {
    let broker = EmbeddedBroker::start("127.0.0.1:0".parse().unwrap(), Storage::Memory)
        .await
        .expect("starting the embedded broker");
    crate::kafka::ensure_topics(&broker.bootstrap(), topics, 3, Duration::from_secs(30))
        .await
        .expect("creating topics");
    broker
}

/// A prefix that keeps one test's topics and groups apart from another's.
pub fn unique_prefix() -> String {
    format!("t{}.", &uuid::Uuid::now_v7().simple().to_string()[20..])
}

/// Reads `topic` from the beginning with a fresh group until `count` messages
/// arrived or `patience` ran out.
pub async fn read_topic(
    brokers: &str,
    topic: &str,
    count: usize,
    patience: Duration,
) -> Vec<OwnedMessage> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("reader-{}", uuid::Uuid::now_v7()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "5")
        .set("broker.address.family", "v4")
        .create()
        .expect("creating a reader");
    consumer.subscribe(&[topic]).expect("subscribing");
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + patience;
    while out.len() < count {
        match tokio::time::timeout_at(deadline, consumer.recv()).await {
            Ok(Ok(m)) => out.push(m.detach()),
            Ok(Err(e)) => tracing::debug!(error = %e, "reader error"),
            Err(_) => break,
        }
    }
    out
}

/// The key of a message as text.
pub fn key_of(m: &OwnedMessage) -> String {
    String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned()
}
