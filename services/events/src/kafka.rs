//! How a Kafka client of the event topics is configured (feature `kafka`):
//! the services' producer ([`producer_config`], which `food-bench` also
//! measures the broker with), one set of reader settings for the services' consumers (food-kit builds
//! its committing consumer on [`reader_config`]), the gateway's live feed
//! and the clients' tails ([`tail_config`]).
//!
//! Readers long-poll: a fetch waits at most `fetch.wait.max.ms` (100) for
//! records and is answered as soon as one arrives, by Kafka and by the
//! embedded broker, so the wait bounds how often an idle reader asks, not
//! how late an event shows.

use rdkafka::ClientConfig;

/// A config with librdkafka's debug contexts from `FOOD_KAFKA_DEBUG` (for
/// example `msg,broker,protocol`), when set; its lines are logged under the
/// `rdkafka` target, so `RUST_LOG` must also let them through
/// (`RUST_LOG=info,librdkafka=debug`).
pub fn client_config() -> ClientConfig {
    let mut c = ClientConfig::new();
    if let Ok(contexts) = std::env::var("FOOD_KAFKA_DEBUG")
        && !contexts.is_empty()
    {
        c.set("debug", contexts);
    }
    c
}

/// A reader in `group`, tuned for latency; it stores no offsets by itself
/// (`enable.auto.offset.store=false`): a committing consumer stores each
/// record's offset after applying it, a tail never does.
pub fn reader_config(brokers: &str, group: &str) -> ClientConfig {
    let mut c = client_config();
    c.set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("enable.auto.offset.store", "false")
        .set("fetch.wait.max.ms", "100")
        .set("fetch.min.bytes", "1")
        .set("socket.nagle.disable", "true")
        .set("session.timeout.ms", "10000")
        .set("heartbeat.interval.ms", "1000")
        .set("topic.metadata.refresh.interval.ms", "5000")
        .set("reconnect.backoff.ms", "50")
        .set("reconnect.backoff.max.ms", "1000")
        .set("broker.address.family", "v4");
    c
}

/// An idempotent producer (acks=all) that never gives up on a message:
/// `message.timeout.ms=0` waits out a broker outage instead of dropping,
/// and idempotence keeps each partition's order across retries.
pub fn producer_config(brokers: &str) -> ClientConfig {
    let mut c = client_config();
    c.set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "0")
        .set("message.timeout.ms", "0")
        .set("socket.nagle.disable", "true")
        .set("retry.backoff.ms", "50")
        .set("retry.backoff.max.ms", "1000")
        .set("reconnect.backoff.ms", "50")
        .set("reconnect.backoff.max.ms", "1000")
        .set("broker.address.family", "v4");
    c
}

/// Where a reader without committed offsets starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// The next event: what happens from now on.
    Latest,
    /// The oldest event the topic still has.
    Earliest,
}

/// A live reader (the gateway's streams, the board, `foodctl events
/// tail`): a group of its own that commits nothing, so it never moves
/// anyone's offsets, starting at `start`.
pub fn tail_config(brokers: &str, group: &str, start: Start) -> ClientConfig {
    let mut c = reader_config(brokers, group);
    c.set("enable.auto.commit", "false").set(
        "auto.offset.reset",
        match start {
            Start::Latest => "latest",
            Start::Earliest => "earliest",
        },
    );
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tail_reader_commits_nothing_and_starts_where_asked() {
        let c = tail_config("127.0.0.1:9092", "g1", Start::Earliest);
        assert_eq!(c.get("group.id"), Some("g1"));
        assert_eq!(c.get("enable.auto.commit"), Some("false"));
        assert_eq!(c.get("enable.auto.offset.store"), Some("false"));
        assert_eq!(c.get("auto.offset.reset"), Some("earliest"));
        let c = tail_config("127.0.0.1:9092", "g1", Start::Latest);
        assert_eq!(c.get("auto.offset.reset"), Some("latest"));
    }
}
