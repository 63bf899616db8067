//! `CreateOrder` through gRPC with SQLite (WAL, synchronous=FULL), 32
//! concurrent callers, every order committed (with its outbox row) before
//! its reply; then order-to-delivery-created latency: from the CreateOrder
//! call to the delivery's DeliveryStatusChanged(PENDING) reaching a consumer.
//! Throughput is measured twice: with the delivery service creating a
//! delivery for each order (the whole pipeline on the same two cores), then
//! with the order service alone.
//!
//! The services run as `food-stack` starts them (`food_stack::testing`, no
//! gateway), and the load shares their runtime, as under `tokio::main`.
//!
//! Run: `cargo bench -p food-stack --bench create_order`.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use food_events::{Payload, decode, topics::Topics};
use food_proto::order::v1::{
    CreateOrderRequest, LineRequest, order_service_client::OrderServiceClient,
};
use food_stack::testing::TestStack;
use hdrhistogram::Histogram;
use rdkafka::{
    Message,
    consumer::{Consumer, StreamConsumer},
};
use tokio::sync::Mutex;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CALLERS: usize = 32;
const RUN: Duration = Duration::from_secs(10);

fn request(i: usize) -> CreateOrderRequest {
    CreateOrderRequest {
        customer_id: format!("bench-{}", i % 100),
        items: vec![
            LineRequest {
                item_id: "margherita".into(),
                quantity: 1 + (i % 3) as u32,
            },
            LineRequest {
                item_id: "tiramisu".into(),
                quantity: 1,
            },
        ],
        delivery_address: "1 Bench Street".into(),
        note: None,
        idempotency_key: None,
    }
}

/// `(sum, count)` of a histogram in Prometheus text.
fn sum_count(rendered: &str, name: &str) -> (f64, f64) {
    let find = |suffix: &str| {
        rendered
            .lines()
            .find(|l| l.starts_with(&format!("{name}_{suffix} ")))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (find("sum"), find("count"))
}

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--list") {
        return Ok(());
    }
    // The recorder first: the services take their metric handles as they start.
    food_kit::metrics::handle();
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let stack = TestStack::builder()
        .without_gateway()
        .worker_threads(cores)
        .start_blocking();
    stack.block_on(bench(&stack))
}

async fn bench(stack: &TestStack) -> anyhow::Result<()> {
    let metrics = food_kit::metrics::handle();
    let b = stack.brokers.clone();
    let order_addr = stack.order;

    println!("| measure | value |");
    println!("|---|---|");
    // Latency first, on an idle system: one order at a time.
    let topics = Topics::with_prefix(&stack.prefix);
    let consumer: StreamConsumer =
        food_events::kafka::tail_config(&b, "bench-watch", food_events::kafka::Start::Latest)
            .create()?;
    consumer.subscribe(&[&topics.deliveries])?;
    while consumer.assignment()?.count() == 0 {
        let _ = tokio::time::timeout(Duration::from_millis(100), consumer.recv()).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut lat = Histogram::<u64>::new(3)?;
    // Where the time goes: reply, order commit to delivery commit, delivery
    // commit to the event reaching a consumer.
    let mut reply = Histogram::<u64>::new(3)?;
    let mut hop1 = Histogram::<u64>::new(3)?;
    let mut hop2 = Histogram::<u64>::new(3)?;
    let mut client = OrderServiceClient::connect(format!("http://{order_addr}")).await?;
    for i in 0..300 {
        let t = Instant::now();
        let order = client.create_order(request(i)).await?.into_inner();
        reply.record(t.elapsed().as_micros() as u64)?;
        let placed = food_api::convert::from_timestamp(order.created_at.as_ref());
        loop {
            let m = consumer.recv().await?;
            let env = decode(m.payload().unwrap_or_default())?;
            if let Some(Payload::DeliveryStatusChanged(c)) = env.payload
                && let Some(d) = c.delivery.filter(|d| d.order_id == order.id)
            {
                let created = food_api::convert::from_timestamp(d.created_at.as_ref());
                let now = chrono::Utc::now();
                hop1.record((created - placed).num_microseconds().unwrap_or(0).max(0) as u64)?;
                hop2.record((now - created).num_microseconds().unwrap_or(0).max(0) as u64)?;
                break;
            }
        }
        lat.record(t.elapsed().as_micros() as u64)?;
    }
    let q = |h: &Histogram<u64>| {
        format!(
            "{:.2} / {:.2} ms",
            h.value_at_quantile(0.5) as f64 / 1000.0,
            h.value_at_quantile(0.99) as f64 / 1000.0
        )
    };
    println!(
        "| order to delivery created (PENDING event consumed) p50 / p99 | {} |",
        q(&lat)
    );
    println!("| of which: CreateOrder reply (idle) | {} |", q(&reply));
    println!(
        "| of which: order committed to delivery committed (relay, broker, consumer) | {} |",
        q(&hop1)
    );
    println!(
        "| of which: delivery committed to its event consumed (relay, broker, consumer) | {} |",
        q(&hop2)
    );
    // Throughput at 32 callers over a few shared HTTP/2 connections.
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(OrderServiceClient::connect(format!("http://{order_addr}")).await?);
    }
    for i in 0..200 {
        clients[0].create_order(request(i)).await?;
    }
    let (sizes, batches) = sum_count(&metrics.render(), "order_commit_batch_size");
    let (secs, _) = sum_count(&metrics.render(), "order_commit_seconds");
    let mut seen = (sizes, secs, batches);
    for whole in [true, false] {
        if !whole {
            // The order service alone: no deliveries being created, so no
            // delivery events for the order service to follow.
            stack.stop_part("delivery-service").await;
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        let what = if whole {
            "with the delivery service creating each delivery"
        } else {
            "order service alone (delivery service stopped)"
        };
        let hist = Arc::new(Mutex::new(Histogram::<u64>::new(3)?));
        let started = Instant::now();
        let mut callers = Vec::new();
        for c in 0..CALLERS {
            let mut client = clients[c % clients.len()].clone();
            let hist = hist.clone();
            callers.push(tokio::spawn(async move {
                let mut local = Histogram::<u64>::new(3).unwrap();
                let mut n = 0usize;
                while started.elapsed() < RUN {
                    let t = Instant::now();
                    client
                        .create_order(request(c * 1_000_000 + n))
                        .await
                        .expect("order created");
                    local.record(t.elapsed().as_micros() as u64).unwrap();
                    n += 1;
                }
                hist.lock().await.add(local).unwrap();
                n
            }));
        }
        let mut total = 0;
        for c in callers {
            total += c.await?;
        }
        let secs = started.elapsed().as_secs_f64();
        let h = hist.lock().await;
        println!(
            "| CreateOrder, {CALLERS} callers, {secs:.1} s, {what} | {:.0} orders/s ({total} orders) |",
            total as f64 / secs
        );
        println!(
            "| CreateOrder latency p50 / p99 / max, {what} | {:.2} / {:.2} / {:.2} ms |",
            h.value_at_quantile(0.5) as f64 / 1000.0,
            h.value_at_quantile(0.99) as f64 / 1000.0,
            h.max() as f64 / 1000.0
        );
        drop(h);
        let (sizes, batches) = sum_count(&metrics.render(), "order_commit_batch_size");
        let (secs, _) = sum_count(&metrics.render(), "order_commit_seconds");
        let (sizes, secs, batches) = (sizes - seen.0, secs - seen.1, batches - seen.2);
        seen = (seen.0 + sizes, seen.1 + secs, seen.2 + batches);
        println!(
            "| order commits, {what}: mean orders per batch, mean time per batch | {:.1}, {:.2} ms |",
            sizes / batches,
            secs * 1000.0 / batches
        );
    }
    drop(consumer);
    Ok(())
}
