//! What order- and delivery-service share at run time: a gRPC server, a
//! consumer that applies events, and an outbox relay, started together and
//! stopped in an order that loses nothing.

use std::{future::Future, net::SocketAddr, time::Duration};

use anyhow::Context;
use food_events::topics::Topics;
use rdkafka::consumer::{Consumer, StreamConsumer};

use crate::{
    Db, Shutdown, consumer::Handler, grpc::GrpcHost, outbox::Relay, settings::KafkaSettings,
};

/// Creates the service's topics that are missing (the broker may still be
/// starting: retried for 30 s).
pub async fn ensure_topics(kafka: &KafkaSettings, topics: &Topics) -> anyhow::Result<()> {
    crate::kafka::ensure_topics(
        &kafka.brokers,
        &topics.all(),
        kafka.topic_layout(),
        Duration::from_secs(30),
    )
    .await
    .context("creating topics")
}

/// A consumer in the configured group (else `default_group`) subscribed to
/// `topic`.
pub fn group_consumer(
    kafka: &KafkaSettings,
    default_group: &str,
    topic: &str,
) -> anyhow::Result<StreamConsumer> {
    let group = kafka.group_id.as_deref().unwrap_or(default_group);
    let consumer: StreamConsumer = crate::kafka::consumer_config(&kafka.brokers, group)
        .create()
        .with_context(|| format!("creating the consumer of {topic}"))?;
    consumer.subscribe(&[topic])?;
    Ok(consumer)
}

/// A built service, listening, not yet serving.
pub struct EventService<H: Handler> {
    /// The gRPC server, bound, with the service's API added.
    pub host: GrpcHost,
    pub db: Db,
    pub relay: Relay,
    pub consumer: StreamConsumer,
    pub handler: H,
    /// See [`KafkaSettings::consumer_batch_interval_ms`].
    pub batch_interval: Duration,
    pub shutdown: Shutdown,
    pub metrics_listen: Option<SocketAddr>,
}

impl<H: Handler> EventService<H> {
    /// Serves until shutdown: drains in-flight calls and stops consuming,
    /// then awaits `drained` (whatever still writes, such as a committer),
    /// then lets the relay publish what was committed before it stops.
    pub async fn run(self, drained: impl Future<Output = ()>) -> anyhow::Result<()> {
        crate::metrics::spawn_if_configured(self.metrics_listen, &self.shutdown);
        let consumer = tokio::spawn(crate::consumer::run(
            self.consumer,
            self.db.clone(),
            self.handler,
            self.batch_interval,
            self.shutdown.clone(),
        ));
        // The relay has its own stop: it outlives the server and consumer.
        let relay_stop = Shutdown::new();
        let relay = tokio::spawn(self.relay.run(relay_stop.clone()));
        let served = self.host.serve(self.shutdown.clone()).await;
        let _ = consumer.await;
        drained.await;
        relay_stop.trigger();
        let _ = relay.await;
        self.db.close().await;
        served
    }
}
