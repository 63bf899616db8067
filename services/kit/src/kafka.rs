//! Kafka client configs tuned for latency, and topic creation.
//!
//! librdkafka's defaults batch for throughput (`linger.ms` 5): these
//! producers send at once, unless a caller sets a linger of its own (the
//! order-service relay, [`crate::outbox::Relay::with_linger`]). Consumers
//! long-poll with the readers' settings of [`food_events::kafka`] (the
//! embedded broker's Tansu storage is patched to answer a long poll as soon
//! as a record arrives, see vendor/tansu-storage/FOOD-PATCH.md).

use std::time::Duration;

use rdkafka::{
    ClientConfig,
    admin::{AdminClient, AdminOptions, NewTopic, TopicReplication},
    client::DefaultClientContext,
    error::{KafkaError, RDKafkaErrorCode},
};

use food_events::kafka::{client_config, reader_config};

/// A short-lived client for topic administration and metadata.
fn admin_config(brokers: &str) -> ClientConfig {
    let mut c = client_config();
    c.set("bootstrap.servers", brokers)
        .set("broker.address.family", "v4");
    c
}

/// The services' producer: [`food_events::kafka::producer_config`].
pub use food_events::kafka::producer_config;

/// A consumer in `group` that commits only offsets the application stored
/// (after its transaction), starting from the oldest record a new group
/// has not seen; it reads as every reader of the event topics does
/// ([`food_events::kafka`]).
pub fn consumer_config(brokers: &str, group: &str) -> ClientConfig {
    let mut c = reader_config(brokers, group);
    c.set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "500")
        .set("auto.offset.reset", "earliest");
    c
}

/// Creates the topics that are missing. Tansu 0.6.0 does not create topics
/// on first use. Retries until `patience` runs out while the broker is away.
pub async fn ensure_topics(
    brokers: &str,
    topics: &[String],
    layout: impl Into<TopicLayout>,
    patience: Duration,
) -> anyhow::Result<()> {
    let layout = layout.into();
    let admin: AdminClient<DefaultClientContext> = admin_config(brokers).create()?;
    let deadline = tokio::time::Instant::now() + patience;
    let missing = loop {
        match existing_topics(brokers).await {
            Ok(have) => {
                break topics
                    .iter()
                    .filter(|t| !have.contains(*t))
                    .cloned()
                    .collect::<Vec<_>>();
            }
            Err(e) if tokio::time::Instant::now() > deadline => {
                anyhow::bail!("reading topics on {brokers}: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    if missing.is_empty() {
        return Ok(());
    }
    let min_isr = layout.min_insync_replicas.map(|n| n.to_string());
    let new: Vec<NewTopic<'_>> = missing
        .iter()
        .map(|t| {
            let topic = NewTopic::new(
                t,
                layout.partitions,
                TopicReplication::Fixed(layout.replication_factor),
            );
            match &min_isr {
                Some(n) => topic.set("min.insync.replicas", n),
                None => topic,
            }
        })
        .collect();
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(5)));
    loop {
        match admin.create_topics(new.iter(), &opts).await {
            Ok(results) => {
                let mut failed = Vec::new();
                for r in results {
                    match r {
                        Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                        Err((topic, code)) => failed.push(format!("{topic}: {code}")),
                    }
                }
                if failed.is_empty() {
                    return Ok(());
                }
                if tokio::time::Instant::now() > deadline {
                    anyhow::bail!("creating topics on {brokers}: {}", failed.join(", "));
                }
            }
            Err(e @ KafkaError::AdminOpCreation(_)) => return Err(e.into()),
            Err(e) => {
                if tokio::time::Instant::now() > deadline {
                    anyhow::bail!("creating topics on {brokers}: {e}");
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// How topics created at start are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TopicLayout {
    pub partitions: i32,
    /// Copies of each partition (1 on one broker; 3 on a cluster, so that
    /// losing a broker loses nothing: docs/deploy.md).
    pub replication_factor: i32,
    /// The topic's `min.insync.replicas`; `None` leaves the broker's
    /// default. With `acks=all`, a write is acknowledged once this many
    /// copies have it.
    pub min_insync_replicas: Option<u32>,
}

impl From<i32> for TopicLayout {
    /// `partitions` partitions, one copy each.
    fn from(partitions: i32) -> Self {
        Self {
            partitions,
            replication_factor: 1,
            min_insync_replicas: None,
        }
    }
}

/// Topic names the cluster has now.
async fn existing_topics(brokers: &str) -> anyhow::Result<Vec<String>> {
    let brokers = brokers.to_owned();
    tokio::task::spawn_blocking(move || {
        let c: rdkafka::consumer::BaseConsumer = admin_config(&brokers).create()?;
        let md = rdkafka::consumer::Consumer::fetch_metadata(&c, None, Duration::from_secs(3))?;
        Ok(md.topics().iter().map(|t| t.name().to_owned()).collect())
    })
    .await?
}
