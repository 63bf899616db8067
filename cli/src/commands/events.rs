//! `foodctl events tail`: reads the event topics straight from Kafka with a
//! fresh consumer group (so it never moves anyone's offsets) and prints each
//! event decoded to JSON.

use std::{process::ExitCode, time::Duration};

use food_events::kafka::{Start, tail_config};
use food_events::topics::{DELIVERIES, ORDERS};
use rdkafka::{
    Message,
    consumer::{Consumer, StreamConsumer},
};

use crate::{
    doc::Doc,
    exit::{Exit, fail},
    output::Printer,
};

/// `orders`/`deliveries` are short for the topic names; anything else is a
/// full name (tests use prefixed topics).
pub fn topic_names(args: &[String]) -> Vec<String> {
    if args.is_empty() {
        return vec![ORDERS.to_owned(), DELIVERIES.to_owned()];
    }
    args.iter()
        .map(|t| match t.as_str() {
            "orders" => ORDERS.to_owned(),
            "deliveries" => DELIVERIES.to_owned(),
            other => other.to_owned(),
        })
        .collect()
}

pub struct Tail {
    pub topics: Vec<String>,
    pub from_beginning: bool,
    pub brokers: String,
    pub count: Option<u64>,
    /// How long to wait for the brokers to answer at all.
    pub timeout: Duration,
    pub verbose: bool,
}

pub async fn tail(out: &Printer, t: Tail) -> anyhow::Result<ExitCode> {
    let topics = topic_names(&t.topics);
    let group = format!("foodctl-tail-{}", uuid::Uuid::now_v7().simple());
    let start = if t.from_beginning {
        Start::Earliest
    } else {
        Start::Latest
    };
    let consumer: StreamConsumer = tail_config(&t.brokers, &group, start)
        .set("log_level", if t.verbose { "6" } else { "3" })
        .create()?;
    // Fail fast (exit 6) instead of waiting forever on a broker that is not there.
    let md = consumer.fetch_metadata(None, t.timeout).map_err(|e| {
        fail(
            Exit::Unavailable,
            format!("cannot reach Kafka at {}: {e}", t.brokers),
        )
    })?;
    for topic in &topics {
        if !md.topics().iter().any(|m| m.name() == topic) {
            out.note(format!(
                "foodctl: topic {topic} does not exist (yet) on {}",
                t.brokers
            ));
        }
    }
    let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&refs)?;
    let mut printed = 0u64;
    if t.count == Some(0) {
        return Ok(Exit::Ok.into());
    }
    loop {
        let msg = match consumer.recv().await {
            Ok(m) => m,
            Err(e) => {
                if t.verbose {
                    eprintln!("foodctl: kafka: {e}");
                }
                continue;
            }
        };
        let Some(payload) = msg.payload() else {
            continue;
        };
        match food_events::decode(payload) {
            Ok(env) => {
                let v = food_events::event_json(&env);
                out.event(&Doc::from_json(&v), || v.to_string())?;
                printed += 1;
                if t.count.is_some_and(|c| printed >= c) {
                    return Ok(Exit::Ok.into());
                }
            }
            Err(e) => out.note(format!(
                "foodctl: skipping a record at {}/{}@{}: {e:#}",
                msg.topic(),
                msg.partition(),
                msg.offset()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_topic_names_expand_and_full_names_pass_through() {
        assert_eq!(topic_names(&[]), [ORDERS, DELIVERIES]);
        assert_eq!(
            topic_names(&["deliveries".into(), "t1.food.orders.v1".into()]),
            [DELIVERIES, "t1.food.orders.v1"]
        );
    }
}
