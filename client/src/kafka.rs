//! The Kafka settings for reading the event topics live, as `foodctl events
//! tail` and the board's Kafka feed do: a fresh group per reader, so it never
//! moves anyone's offsets, and no offsets committed.

use rdkafka::ClientConfig;

/// Where a reader without committed offsets starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// The next event: what happens from now on.
    Latest,
    /// The oldest event the topic still has.
    Earliest,
}

/// A consumer in `group` that commits nothing and long-polls: a fetch waits
/// at most 100 ms and is answered as soon as a record arrives, so the wait
/// bounds how often an idle reader asks, not how late an event shows.
///
/// librdkafka's debug contexts come from `FOOD_KAFKA_DEBUG` (for example
/// `msg,broker,protocol`) when it is set, as for the services.
pub fn tail_consumer_config(brokers: &str, group: &str, start: Start) -> ClientConfig {
    let mut c = ClientConfig::new();
    if let Ok(contexts) = std::env::var("FOOD_KAFKA_DEBUG")
        && !contexts.is_empty()
    {
        c.set("debug", contexts);
    }
    c.set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set(
            "auto.offset.reset",
            match start {
                Start::Latest => "latest",
                Start::Earliest => "earliest",
            },
        )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tail_reader_commits_nothing_and_starts_where_asked() {
        let c = tail_consumer_config("127.0.0.1:9092", "g1", Start::Earliest);
        assert_eq!(c.get("group.id"), Some("g1"));
        assert_eq!(c.get("enable.auto.commit"), Some("false"));
        assert_eq!(c.get("auto.offset.reset"), Some("earliest"));
        let c = tail_consumer_config("127.0.0.1:9092", "g1", Start::Latest);
        assert_eq!(c.get("auto.offset.reset"), Some("latest"));
    }
}
