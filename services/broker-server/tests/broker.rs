//! What the services rely on from the broker, checked against the real
//! `food-broker` binary: topic creation, an idempotent producer, consumer
//! groups with committed offsets, headers, and SQLite storage surviving a
//! kill -9.

use std::time::Duration;

use food_broker::{EmbeddedBroker, Storage};
use rdkafka::{
    ClientConfig, Message,
    admin::{AdminClient, AdminOptions, NewTopic, TopicReplication},
    client::DefaultClientContext,
    consumer::{CommitMode, Consumer, StreamConsumer},
    message::{Header, Headers, OwnedHeaders},
    producer::{FutureProducer, FutureRecord},
};

async fn start(storage: Storage, addr: Option<std::net::SocketAddr>) -> EmbeddedBroker {
    let addr = addr.unwrap_or_else(|| "127.0.0.1:0".parse().unwrap());
    EmbeddedBroker::start_with(env!("CARGO_BIN_EXE_food-broker").as_ref(), addr, storage)
        .await
        .expect("starting food-broker")
}

async fn create_topic(bootstrap: &str, topic: &str) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    admin
        .create_topics(
            &[NewTopic::new(topic, 3, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        )
        .await
        .unwrap();
}

fn producer(bootstrap: &str) -> FutureProducer {
    producer_lingering(bootstrap, Duration::ZERO)
}

/// A producer that waits up to `linger` to gather records into one batch.
fn producer_lingering(bootstrap: &str, linger: Duration) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", linger.as_millis().to_string())
        .create()
        .unwrap()
}

fn consumer(bootstrap: &str, group: &str, topic: &str) -> StreamConsumer {
    let c: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "5")
        .create()
        .unwrap();
    c.subscribe(&[topic]).unwrap();
    c
}

async fn produce(p: &FutureProducer, topic: &str, key: &str, n: std::ops::Range<u32>) {
    for i in n {
        let payload = format!("{key}:{i}");
        p.send(
            FutureRecord::to(topic)
                .key(key)
                .payload(&payload)
                .headers(OwnedHeaders::new().insert(Header {
                    key: "event-type",
                    value: Some("Test"),
                })),
            Duration::from_secs(10),
        )
        .await
        .expect("acknowledged");
    }
}

async fn receive(c: &StreamConsumer, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    while out.len() < n {
        let m = tokio::time::timeout(Duration::from_secs(20), c.recv())
            .await
            .expect("a message in time")
            .expect("no consumer error");
        assert_eq!(m.headers().unwrap().get(0).key, "event-type");
        out.push(String::from_utf8_lossy(m.payload().unwrap()).into_owned());
        c.commit_message(&m, CommitMode::Sync).unwrap();
    }
    out
}

#[tokio::test]
async fn a_group_consumes_each_keys_messages_in_order_with_headers() {
    let broker = start(Storage::Memory, None).await;
    create_topic(&broker.bootstrap(), "orders").await;
    let p = producer(&broker.bootstrap());
    produce(&p, "orders", "a", 0..10).await;
    produce(&p, "orders", "b", 0..10).await;
    let c = consumer(&broker.bootstrap(), "g1", "orders");
    let got = receive(&c, 20).await;
    for key in ["a", "b"] {
        let seq: Vec<_> = got.iter().filter(|m| m.starts_with(key)).cloned().collect();
        let want: Vec<_> = (0..10).map(|i| format!("{key}:{i}")).collect();
        assert_eq!(seq, want);
    }
    drop(c);
    drop(p);
    broker.stop().await;
}

#[tokio::test]
async fn sqlite_storage_keeps_messages_and_committed_offsets_across_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broker.db");
    let broker = start(Storage::Sqlite(file.clone()), None).await;
    let addr = broker.addr();
    create_topic(&broker.bootstrap(), "events").await;
    let p = producer(&broker.bootstrap());
    produce(&p, "events", "k", 0..10).await;
    let c = consumer(&broker.bootstrap(), "g2", "events");
    assert_eq!(receive(&c, 4).await.len(), 4);
    drop(c);
    drop(p);
    broker.stop().await;

    let broker = start(Storage::Sqlite(file), Some(addr)).await;
    let c = consumer(&broker.bootstrap(), "g2", "events");
    let rest = receive(&c, 6).await;
    assert_eq!(
        rest.first().map(String::as_str),
        Some("k:4"),
        "resumes after the committed offset"
    );
    assert_eq!(rest.last().map(String::as_str), Some("k:9"));
    drop(c);
    broker.stop().await;
}

#[tokio::test]
async fn a_waiting_fetch_is_answered_when_a_record_arrives_not_when_its_wait_ends() {
    // Arrange: a consumer whose fetches may wait 10 s, caught up and idle.
    let broker = start(Storage::Memory, None).await;
    create_topic(&broker.bootstrap(), "live").await;
    let p = producer(&broker.bootstrap());
    let c: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .set("group.id", "long-poll")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "10000")
        .create()
        .unwrap();
    c.subscribe(&["live"]).unwrap();
    produce(&p, "live", "k", 0..1).await;
    assert_eq!(receive(&c, 1).await, ["k:0"]);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Act
    let sent = std::time::Instant::now();
    produce(&p, "live", "k", 1..2).await;
    let got = receive(&c, 1).await;

    // Assert: a fetch that slept out its wait would answer after up to 10 s.
    assert_eq!(got, ["k:1"]);
    let waited = sent.elapsed();
    assert!(
        waited < Duration::from_secs(5),
        "the record arrived after {waited:?}, as if the fetch waited out its 10 s"
    );
    drop(c);
    drop(p);
    broker.stop().await;
}

#[tokio::test]
async fn sqlite_storage_reads_a_records_headers_by_index_not_by_scanning_them_all() {
    // Tansu 0.6.0 created the header table without an index, so every
    // fetched record scanned every header stored so far (a broker slowing
    // down with its history); vendor/tansu-storage adds the index.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broker.db");
    let broker = start(Storage::Sqlite(file.clone()), None).await;
    create_topic(&broker.bootstrap(), "events").await;
    let p = producer(&broker.bootstrap());
    produce(&p, "events", "k", 0..3).await;
    let c = consumer(&broker.bootstrap(), "g3", "events");
    assert_eq!(receive(&c, 3).await.len(), 3, "headers come back");
    drop(c);
    drop(p);
    broker.stop().await;

    // The query the broker runs for each fetched record, planned on its file.
    let sql = include_str!("../../../vendor/tansu-storage/src/sql/header_fetch_by_topition.sql")
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace('$', "?");
    let db = libsql::Builder::new_local(&file).build().await.unwrap();
    let conn = db.connect().unwrap();
    let mut rows = conn
        .query(&format!("EXPLAIN QUERY PLAN {sql}"), libsql::params![1, 0])
        .await
        .unwrap();
    let mut plan = Vec::new();
    while let Some(row) = rows.next().await.unwrap() {
        plan.push(row.get::<String>(3).unwrap());
    }
    let header_step = plan
        .iter()
        .find(|step| step.contains(" h ") || step.ends_with(" h"))
        .unwrap_or_else(|| panic!("no step reads the header table: {plan:?}"));
    assert!(
        header_step.starts_with("SEARCH h USING INDEX"),
        "headers are read by {header_step:?} (whole plan: {plan:?})"
    );
}

#[tokio::test]
async fn sqlite_storage_gives_each_record_its_own_headers_in_their_order() {
    // The patched broker stores and reads headers by the partition's id;
    // each record must still come back with exactly its own headers.
    let dir = tempfile::tempdir().unwrap();
    let broker = start(Storage::Sqlite(dir.path().join("broker.db")), None).await;
    create_topic(&broker.bootstrap(), "tagged").await;
    // A linger gathers the six into one batch, so that records after the
    // first are stored at offsets past the batch's base.
    let p = producer_lingering(&broker.bootstrap(), Duration::from_millis(200));
    let mut sends = Vec::new();
    for i in 0..6 {
        let (kind, n) = (format!("Kind{i}"), i.to_string());
        let mut headers = OwnedHeaders::new()
            .insert(Header {
                key: "event-type",
                value: Some(kind.as_str()),
            })
            .insert(Header {
                key: "n",
                value: Some(n.as_str()),
            });
        if i % 2 == 0 {
            headers = headers.insert(Header {
                key: "even",
                value: Some("yes"),
            });
        }
        sends.push(
            p.send_result(
                FutureRecord::to("tagged")
                    .key("k")
                    .payload(&n)
                    .headers(headers),
            )
            .map_err(|(e, _)| e)
            .expect("queued"),
        );
    }
    let mut offsets = Vec::new();
    for sent in sends {
        let delivery = sent.await.expect("delivered").expect("acknowledged");
        offsets.push(delivery.offset);
    }
    assert_eq!(offsets, [0, 1, 2, 3, 4, 5]);

    // A group that starts after all six were stored reads them in few fetches.
    let c = consumer(&broker.bootstrap(), "g-tagged", "tagged");
    for i in 0..6 {
        let m = tokio::time::timeout(Duration::from_secs(20), c.recv())
            .await
            .expect("a message in time")
            .expect("no consumer error");
        let got: Vec<(String, String)> = m
            .headers()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h.key.to_owned(),
                    String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                )
            })
            .collect();
        let mut want = vec![
            ("event-type".to_owned(), format!("Kind{i}")),
            ("n".to_owned(), i.to_string()),
        ];
        if i % 2 == 0 {
            want.push(("even".to_owned(), "yes".to_owned()));
        }
        assert_eq!(m.payload().unwrap(), i.to_string().as_bytes());
        assert_eq!(got, want, "headers of record {i}");
    }
    drop(c);
    drop(p);
    broker.stop().await;
}
