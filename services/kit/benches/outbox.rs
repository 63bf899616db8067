//! Outbox relay against the broker's own ceiling, in one run, per storage
//! engine of the broker (memory, sqlite):
//!
//! - raw batched produce rate (an idempotent producer, acks=all) of the same
//!   records the relay sends (key, payload and header), from memory;
//! - the relay's rate: committed outbox rows to acknowledged by the broker;
//! - produce-to-consume latency of the broker alone, and enqueue-to-consumed
//!   latency through the outbox (commit, wake, relay, broker, consumer);
//! - catch-up: a new consumer group reading the raw topic's records (each
//!   with its header) from the start, as a service does after downtime.
//!
//! Run: `cargo bench -p food-kit --bench outbox` (prints a Markdown table).

use std::time::{Duration, Instant};

use food_broker::{EmbeddedBroker, Storage};
use food_kit::{
    Db, Shutdown,
    db::Migrations,
    kafka::{consumer_config, ensure_topics, producer_config},
    outbox::{OutboxMessage, Relay, Waker, enqueue},
};
use hdrhistogram::Histogram;
use rdkafka::{
    Message,
    consumer::{Consumer, StreamConsumer},
    message::{Header, OwnedHeaders},
    producer::{FutureProducer, FutureRecord},
};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const N: usize = 50_000;
const SAMPLES: usize = 500;
const PAYLOAD: usize = 300;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return Ok(());
    }
    println!(
        "| broker storage | raw produce (msg/s) | relay (rows/s) | relay / raw | broker p50 / p99 (ms) | outbox p50 / p99 (ms) | p99 gap (ms) | catch-up read (msg/s) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for storage in ["memory", "sqlite"] {
        let dir = tempfile::tempdir()?;
        let s = match storage {
            "memory" => Storage::Memory,
            _ => Storage::Sqlite(dir.path().join("broker.db")),
        };
        let broker = EmbeddedBroker::start("127.0.0.1:0".parse()?, s).await?;
        let b = broker.bootstrap();
        let topics: Vec<String> = ["raw", "lat", "relay", "olat"]
            .iter()
            .map(|t| t.to_string())
            .collect();
        ensure_topics(&b, &topics, 3, Duration::from_secs(30)).await?;

        let raw = raw_produce_rate(&b, "raw").await?;
        let broker_lat = broker_latency(&b, "lat").await?;
        let db = Db::connect(
            &format!("sqlite://{}/bench.db", dir.path().display()),
            &Migrations {
                sqlite: &[],
                postgres: &[],
            },
        )
        .await?;
        let relay_rate = relay_rate(&db, &b, "relay").await?;
        let outbox_lat = outbox_latency(&db, &b, "olat").await?;
        let catch_up = catch_up_rate(&b, "raw").await?;
        println!(
            "| {storage} | {raw:.0} | {relay_rate:.0} | {:.2} | {:.2} / {:.2} | {:.2} / {:.2} | {:.2} | {catch_up:.0} |",
            relay_rate / raw,
            ms(&broker_lat, 0.5),
            ms(&broker_lat, 0.99),
            ms(&outbox_lat, 0.5),
            ms(&outbox_lat, 0.99),
            ms(&outbox_lat, 0.99) - ms(&broker_lat, 0.99),
        );
        db.close().await;
        broker.stop().await;
    }
    Ok(())
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

fn payload(tag: u128) -> Vec<u8> {
    let mut p = tag.to_le_bytes().to_vec();
    p.resize(PAYLOAD, b'x');
    p
}

fn micros_now() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros()
}

fn sent_at(m: &rdkafka::message::BorrowedMessage<'_>) -> u128 {
    let p = m.payload().unwrap();
    u128::from_le_bytes(p[..16].try_into().unwrap())
}

async fn raw_produce_rate(b: &str, topic: &str) -> anyhow::Result<f64> {
    let p: FutureProducer = producer_config(b).create()?;
    // Warm up: connection and idempotent producer id are not part of the rate.
    p.send(
        FutureRecord::to(topic).key("warm").payload("warm"),
        Duration::from_secs(10),
    )
    .await
    .map_err(|(e, _)| e)?;
    // Built before the clock starts, as the relay's rows are.
    let rows: Vec<OutboxMessage> = (0..N).map(|i| row(topic, i, i as u128)).collect();
    let started = Instant::now();
    let mut futs = Vec::with_capacity(N);
    for msg in &rows {
        let (name, value) = &msg.headers[0];
        let headers = OwnedHeaders::new().insert(Header {
            key: name,
            value: Some(value.as_bytes()),
        });
        futs.push(
            p.send_result(
                FutureRecord::to(topic)
                    .key(&msg.key)
                    .payload(&msg.payload)
                    .headers(headers),
            )
            .map_err(|(e, _)| e)?,
        );
    }
    for f in futs {
        f.await?.map_err(|(e, _)| e)?;
    }
    Ok(N as f64 / started.elapsed().as_secs_f64())
}

async fn subscribed(b: &str, topic: &str) -> anyhow::Result<StreamConsumer> {
    let c: StreamConsumer = consumer_config(b, &format!("bench-{}", uuid::Uuid::now_v7()))
        .set("auto.offset.reset", "latest")
        .create()?;
    c.subscribe(&[topic])?;
    // Wait for the assignment so that the first samples are not lost.
    let deadline = Instant::now() + Duration::from_secs(20);
    while c.assignment()?.count() == 0 && Instant::now() < deadline {
        let _ = tokio::time::timeout(Duration::from_millis(100), c.recv()).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(c)
}

async fn broker_latency(b: &str, topic: &str) -> anyhow::Result<Histogram<u64>> {
    let c = subscribed(b, topic).await?;
    let p: FutureProducer = producer_config(b).create()?;
    let mut h = Histogram::<u64>::new(3)?;
    for i in 0..SAMPLES {
        let body = payload(micros_now());
        let key = format!("order-{}", i % 16);
        p.send(
            FutureRecord::to(topic).key(&key).payload(&body),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| e)?;
        let m = c.recv().await?;
        h.record((micros_now() - sent_at(&m)) as u64)?;
    }
    Ok(h)
}

/// A new group reads the `N` records (each with its header) and the warm-up
/// record (without one) of `topic` from the start; the clock starts at the
/// first record, when the group has joined.
async fn catch_up_rate(b: &str, topic: &str) -> anyhow::Result<f64> {
    let c: StreamConsumer =
        consumer_config(b, &format!("bench-catch-up-{}", uuid::Uuid::now_v7())).create()?;
    c.subscribe(&[topic])?;
    let first = tokio::time::timeout(Duration::from_secs(60), c.recv()).await??;
    let started = Instant::now();
    let mut without_header = usize::from(first.headers().is_none());
    for _ in 0..N {
        let m = tokio::time::timeout(Duration::from_secs(60), c.recv()).await??;
        without_header += usize::from(m.headers().is_none());
    }
    anyhow::ensure!(
        without_header == 1,
        "{without_header} records came without a header; only the warm-up one has none"
    );
    Ok(N as f64 / started.elapsed().as_secs_f64())
}

fn row(topic: &str, i: usize, tag: u128) -> OutboxMessage {
    OutboxMessage {
        event_id: uuid::Uuid::now_v7().to_string(),
        topic: topic.to_owned(),
        key: format!("order-{}", i % 64),
        payload: payload(tag),
        headers: vec![("event-type".into(), "Bench".into())],
    }
}

async fn relay_rate(db: &Db, b: &str, topic: &str) -> anyhow::Result<f64> {
    let relay = Relay::new("bench", db.clone(), b, Waker::new())?;
    let mut tx = db.begin().await?;
    enqueue(&mut tx, &row(topic, 0, 0)).await?;
    tx.commit().await?;
    // Warm up as for the raw producer.
    while relay.relay_once().await? == 0 {}
    for chunk in 0..(N / 500) {
        let mut tx = db.begin().await?;
        for i in 0..500 {
            enqueue(&mut tx, &row(topic, chunk * 500 + i, 0)).await?;
        }
        tx.commit().await?;
    }
    let started = Instant::now();
    let mut sent = 0;
    while sent < N {
        sent += relay.relay_once().await?;
    }
    // Every row marked sent, as the running relay does within MARK_EVERY.
    relay.mark().await?;
    Ok(N as f64 / started.elapsed().as_secs_f64())
}

async fn outbox_latency(db: &Db, b: &str, topic: &str) -> anyhow::Result<Histogram<u64>> {
    let c = subscribed(b, topic).await?;
    let waker = Waker::new();
    let relay = Relay::new("bench", db.clone(), b, waker.clone())?;
    let stop = Shutdown::new();
    let task = tokio::spawn(relay.run(stop.clone()));
    let mut h = Histogram::<u64>::new(3)?;
    for i in 0..SAMPLES {
        let mut tx = db.begin().await?;
        enqueue(&mut tx, &row(topic, i, micros_now())).await?;
        tx.commit().await?;
        waker.wake();
        let m = c.recv().await?;
        h.record((micros_now() - sent_at(&m)) as u64)?;
    }
    stop.trigger();
    let _ = task.await;
    Ok(h)
}
