//! The gateway under load, each route beside a minimal hyper server that
//! returns the same body, measured in the same run with the same client:
//! GET /menu/items, GET /menu/items/:id, POST /orders at 32 connections;
//! then PUT-to-SSE latency beside the broker's own produce-to-consume latency.
//!
//! Run: `cargo bench -p food-stack --bench gateway` (prints Markdown tables);
//! `-- orders` (or `menu`, `live`) runs only the parts whose name holds it.

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use food_kit::Shutdown;
use food_stack::{Config, Stack};
use futures::StreamExt;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, header, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use rdkafka::{
    Message,
    consumer::{Consumer, StreamConsumer},
    producer::{FutureProducer, FutureRecord},
};
use tokio::sync::Mutex;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CONNECTIONS: usize = 32;
const RUN: Duration = Duration::from_secs(5);

/// Serves `body` with `status` to every request: the ceiling.
async fn baseline(status: u16, body: Bytes) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let body = body.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |_req: Request<hyper::body::Incoming>| {
                    let body = body.clone();
                    async move {
                        Ok::<_, Infallible>(
                            Response::builder()
                                .status(status)
                                .header("content-type", "application/json")
                                .body(Full::new(body))
                                .unwrap(),
                        )
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

/// How work was batched, from the stack's own metrics: orders per order
/// commit, and for each event consumer its batches and events per batch.
#[derive(Default)]
struct Batching {
    orders_committed: f64,
    order_commits: f64,
    /// consumer → (batches, events)
    consumers: std::collections::BTreeMap<String, (f64, f64)>,
}

fn batching() -> Batching {
    let mut b = Batching::default();
    for line in food_kit::metrics::handle().render().lines() {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        let consumer = || {
            series
                .split("consumer=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap_or("?")
                .to_owned()
        };
        if series == "order_commit_batch_size_sum" {
            b.orders_committed = value;
        } else if series == "order_commit_batch_size_count" {
            b.order_commits = value;
        } else if series.starts_with("events_consumer_batches_total{") {
            b.consumers.entry(consumer()).or_default().0 += value;
        } else if series.starts_with("events_consumed_total{") {
            b.consumers.entry(consumer()).or_default().1 += value;
        }
    }
    b
}

impl std::ops::Sub for Batching {
    type Output = Batching;

    fn sub(mut self, earlier: Batching) -> Batching {
        self.orders_committed -= earlier.orders_committed;
        self.order_commits -= earlier.order_commits;
        for (name, (batches, events)) in earlier.consumers {
            let now = self.consumers.entry(name).or_default();
            now.0 -= batches;
            now.1 -= events;
        }
        self
    }
}

impl std::fmt::Display for Batching {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let per = |n: f64, d: f64| if d > 0.0 { n / d } else { 0.0 };
        write!(
            f,
            "{:.1} orders per order commit, {:.0} commits/s",
            per(self.orders_committed, self.order_commits),
            self.order_commits / RUN.as_secs_f64()
        )?;
        for (name, (batches, events)) in &self.consumers {
            write!(
                f,
                "; consumer {name}: {:.1} events per batch, {:.0} batches/s",
                per(*events, *batches),
                batches / RUN.as_secs_f64()
            )?;
        }
        Ok(())
    }
}

/// CPU time (user + system, in seconds) of this process, which runs the
/// stack and the load client, and of its child processes (the embedded
/// broker), read from /proc.
#[derive(Clone, Copy, Default)]
struct Cpu {
    this: f64,
    children: f64,
}

/// This process (`true`) and its child processes (`false`), as their
/// /proc directories.
fn own_and_children() -> Vec<(bool, std::path::PathBuf)> {
    // Fields after the command name: state (1st) ppid (2nd).
    let ppid = |stat: &str| -> Option<u32> {
        stat.rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<u32>().ok()?;
            if pid == me {
                return Some((true, entry.path()));
            }
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            (ppid(&stat)? == me).then(|| (false, entry.path()))
        })
        .collect()
}

fn cpu() -> Cpu {
    // Linux reports these times in USER_HZ ticks, 100 per second.
    const TICKS: f64 = 100.0;
    // Fields after the command name: utime (12th) stime (13th).
    let seconds = |stat: &str| -> Option<f64> {
        let rest: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        Some((rest.get(11)?.parse::<f64>().ok()? + rest.get(12)?.parse::<f64>().ok()?) / TICKS)
    };
    let mut out = Cpu::default();
    for (is_me, dir) in own_and_children() {
        let Some(s) = std::fs::read_to_string(dir.join("stat"))
            .ok()
            .as_deref()
            .and_then(seconds)
        else {
            continue;
        };
        if is_me {
            out.this += s;
        } else {
            out.children += s;
        }
    }
    out
}

/// Resident memory now and at its peak (VmRSS, VmHWM), in MiB, of this
/// process and of its child processes.
#[derive(Clone, Copy, Default)]
struct Memory {
    this: (f64, f64),
    children: (f64, f64),
}

fn memory() -> Memory {
    let kib = |status: &str, field: &str| -> f64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let mut out = Memory::default();
    for (is_me, dir) in own_and_children() {
        let Ok(status) = std::fs::read_to_string(dir.join("status")) else {
            continue;
        };
        let (rss, peak) = (
            kib(&status, "VmRSS:") / 1024.0,
            kib(&status, "VmHWM:") / 1024.0,
        );
        let slot = if is_me {
            &mut out.this
        } else {
            &mut out.children
        };
        slot.0 += rss;
        slot.1 += peak;
    }
    out
}

impl std::ops::Sub for Cpu {
    type Output = Cpu;

    fn sub(self, earlier: Cpu) -> Cpu {
        Cpu {
            this: self.this - earlier.this,
            children: self.children - earlier.children,
        }
    }
}

#[derive(Clone)]
struct Load {
    method: hyper::Method,
    addr: SocketAddr,
    path: &'static str,
    token: Option<String>,
    body: Option<Bytes>,
}

impl Load {
    /// The request's headers, built once per client so that each request
    /// only clones them.
    fn headers(&self) -> hyper::HeaderMap {
        let mut headers = hyper::HeaderMap::new();
        let value = |v: String| header::HeaderValue::try_from(v).expect("a valid header");
        headers.insert(header::HOST, value(self.addr.to_string()));
        if let Some(t) = &self.token {
            headers.insert(header::AUTHORIZATION, value(format!("Bearer {t}")));
        }
        if self.body.is_some() {
            headers.insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("application/json"),
            );
        }
        headers
    }

    fn request(&self, headers: &hyper::HeaderMap) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(self.body.clone().unwrap_or_default()));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = hyper::Uri::from_static(self.path);
        *req.headers_mut() = headers.clone();
        req
    }
}

/// `CONNECTIONS` clients, one HTTP/1.1 connection each, for `RUN`; returns
/// requests/s, the latency histogram (µs) and the number of requests. The
/// clients are hyper's bare client connections, not a pooled client: the
/// load client shares the two cores with what it measures, so the less it
/// takes, the more the server under test gets (the ceiling alike).
async fn drive(load: Load) -> (f64, Histogram<u64>, u64) {
    let hist = Arc::new(Mutex::new(Histogram::<u64>::new(3).unwrap()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let load = load.clone();
        let hist = hist.clone();
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(load.addr)
                .await
                .expect("a connection");
            stream.set_nodelay(true).unwrap();
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .expect("an HTTP/1.1 handshake");
            tokio::spawn(connection);
            let headers = load.headers();
            let mut local = Histogram::<u64>::new(3).unwrap();
            let mut n = 0u64;
            while started.elapsed() < RUN {
                let req = load.request(&headers);
                sender.ready().await.expect("the connection open");
                let t = Instant::now();
                let resp = sender.send_request(req).await.expect("a response");
                let status = resp.status();
                let _ = resp.into_body().collect().await.expect("the body");
                assert!(status.is_success(), "{} {status}", load.path);
                local.record(t.elapsed().as_micros() as u64).unwrap();
                n += 1;
            }
            hist.lock().await.add(local).unwrap();
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    let rate = total as f64 / started.elapsed().as_secs_f64();
    let h = hist.lock().await.clone();
    (rate, h, total)
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--list") {
        return Ok(());
    }
    // `cargo bench` passes `--bench`; other words select parts by name.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted =
        |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()));
    // `FOOD_BENCH_LOG=1` runs the stack with the logging `food-stack` has
    // (`info` to stderr, one line per order placed and per delivery created);
    // redirect stderr. Without it the stack logs nothing.
    if std::env::var_os("FOOD_BENCH_LOG").is_some() {
        food_kit::telemetry::init();
    }
    let dir = tempfile::tempdir()?;
    let mut config = Config::for_tests(dir.path().to_path_buf());
    config.topic_prefix = "bench.".into();
    let stack = Stack::start(config, Shutdown::new()).await?;
    let base = format!("http://{}", stack.gateway);
    let customer = stack.keys.first_customer().1.to_owned();
    let ops = stack.keys.ops.clone();
    let http = reqwest::Client::new();

    let list_body = http
        .get(format!("{base}/menu/items"))
        .send()
        .await?
        .bytes()
        .await?;
    let item_body = http
        .get(format!("{base}/menu/items/margherita"))
        .send()
        .await?
        .bytes()
        .await?;
    let order_json = r#"{"items":[{"item_id":"margherita","quantity":2},{"item_id":"tiramisu","quantity":1}],"delivery_address":"1 Bench Street"}"#;
    let order_body = http
        .post(format!("{base}/orders"))
        .bearer_auth(&customer)
        .header("content-type", "application/json")
        .body(order_json)
        .send()
        .await?
        .bytes()
        .await?;

    // PUT-to-SSE: one ops stream of every change; each sample creates an
    // order, waits for its PENDING card, then times PUT ASSIGNED until the
    // change arrives on the stream. A thousand samples, so that a p99 is not
    // the second-slowest of a few hundred on a shared machine.
    let sse = http
        .get(format!("{base}/events/deliveries"))
        .bearer_auth(&ops)
        .send()
        .await?;
    let mut stream = sse.bytes_stream();
    let mut buf = String::new();
    let mut next_event = async move || -> food_api::Delivery {
        loop {
            if let Some(end) = buf.find("\n\n") {
                let frame: String = buf.drain(..end + 2).collect();
                if let Some(data) = frame.lines().find_map(|l| l.strip_prefix("data:"))
                    && let Ok(d) = serde_json::from_str(data.trim())
                {
                    return d;
                }
                continue;
            }
            let chunk = stream.next().await.expect("stream open").expect("bytes");
            buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    let samples = if wanted("live") { 1000 } else { 0 };
    let mut put_sse = Histogram::<u64>::new(3)?;
    let mut put_only = Histogram::<u64>::new(3)?;
    for _ in 0..samples {
        let order: food_api::Order = http
            .post(format!("{base}/orders"))
            .bearer_auth(&customer)
            .header("content-type", "application/json")
            .body(order_json)
            .send()
            .await?
            .json()
            .await?;
        let seen = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let d = next_event().await;
                if d.order_id == order.id {
                    break;
                }
            }
        })
        .await;
        assert!(
            seen.is_ok(),
            "the new order's delivery never reached the stream"
        );
        let t = Instant::now();
        let r = http
            .put(format!("{base}/delivery/status/{}", order.id))
            .bearer_auth(&ops)
            .header("content-type", "application/json")
            .body(r#"{"status":"ASSIGNED","courier":"Bench"}"#)
            .send()
            .await?;
        assert!(r.status().is_success());
        put_only.record(t.elapsed().as_micros() as u64)?;
        loop {
            let d = next_event().await;
            if d.order_id == order.id && d.status == food_api::DeliveryStatus::Assigned {
                break;
            }
        }
        put_sse.record(t.elapsed().as_micros() as u64)?;
    }

    // The broker alone, same run: produce one record, time until consumed.
    let topic = "bench.raw";
    food_kit::kafka::ensure_topics(
        &stack.kafka_brokers,
        &[topic.to_owned()],
        3,
        Duration::from_secs(10),
    )
    .await?;
    let consumer: StreamConsumer = food_events::kafka::tail_config(
        &stack.kafka_brokers,
        "bench-raw",
        food_events::kafka::Start::Latest,
    )
    .create()?;
    consumer.subscribe(&[topic])?;
    while consumer.assignment()?.count() == 0 {
        let _ = tokio::time::timeout(Duration::from_millis(100), consumer.recv()).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let producer: FutureProducer =
        food_kit::kafka::producer_config(&stack.kafka_brokers).create()?;
    let mut raw = Histogram::<u64>::new(3)?;
    for i in 0..samples {
        let t = Instant::now();
        producer
            .send(
                FutureRecord::to(topic).key(&format!("k{i}")).payload("x"),
                Duration::from_secs(5),
            )
            .await
            .map_err(|(e, _)| e)?;
        match tokio::time::timeout(Duration::from_secs(5), consumer.recv()).await {
            Ok(m) => {
                let _ = m?.payload();
                raw.record(t.elapsed().as_micros() as u64)?;
            }
            Err(_) => eprintln!("a raw sample was not consumed within 5 s; skipped"),
        }
    }
    let cases = [
        (
            "GET /menu/items",
            hyper::Method::GET,
            "/menu/items",
            None,
            None,
            200,
            list_body,
        ),
        (
            "GET /menu/items/:id",
            hyper::Method::GET,
            "/menu/items/margherita",
            None,
            None,
            200,
            item_body,
        ),
        (
            "POST /orders",
            hyper::Method::POST,
            "/orders",
            Some(customer.clone()),
            Some(Bytes::from_static(order_json.as_bytes())),
            201,
            order_body,
        ),
    ];
    println!(
        "| route, {CONNECTIONS} connections, {} s each | gateway req/s | p50 / p99 (ms) | hyper ceiling req/s | p50 / p99 (ms) | gateway / ceiling |",
        RUN.as_secs()
    );
    println!("|---|---|---|---|---|---|");
    let mut batch_notes = Vec::new();
    let mut cpu_notes = Vec::new();
    for (name, method, path, token, body, status, response) in cases {
        if !wanted(name) {
            continue;
        }
        let ceiling_addr = baseline(status, response).await;
        let (before, cpu_before) = (batching(), cpu());
        let (g_rate, g, g_n) = drive(Load {
            method: method.clone(),
            addr: stack.gateway,
            path,
            token: token.clone(),
            body: body.clone(),
        })
        .await;
        let (during, g_cpu) = (batching() - before, cpu() - cpu_before);
        let cpu_before = cpu();
        let (c_rate, c, c_n) = drive(Load {
            method,
            addr: ceiling_addr,
            path,
            token,
            body,
        })
        .await;
        let c_cpu = cpu() - cpu_before;
        let per_request = |seconds: f64, requests: u64| seconds * 1e6 / requests.max(1) as f64;
        cpu_notes.push(format!(
            "| {name} | {:.0} | {:.0} | {:.0} |",
            per_request(g_cpu.this, g_n),
            per_request(g_cpu.children, g_n),
            per_request(c_cpu.this, c_n),
        ));
        println!(
            "| {name} | {g_rate:.0} | {:.2} / {:.2} | {c_rate:.0} | {:.2} / {:.2} | {:.2} |",
            ms(&g, 0.5),
            ms(&g, 0.99),
            ms(&c, 0.5),
            ms(&c, 0.99),
            g_rate / c_rate
        );
        if during.orders_committed > 0.0 {
            batch_notes.push(format!("{name}: {during}"));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    if !cpu_notes.is_empty() {
        println!();
        println!(
            "| CPU per request (µs) | stack process, with the load client | embedded broker | ceiling process, with the load client |"
        );
        println!("|---|---|---|---|");
        for note in &cpu_notes {
            println!("{note}");
        }
    }
    if !cpu_notes.is_empty() {
        let m = memory();
        println!();
        println!(
            "Memory after the runs (MiB, now / peak): stack process with the load client {:.0} / {:.0}; embedded broker {:.0} / {:.0}",
            m.this.0, m.this.1, m.children.0, m.children.1
        );
    }
    for note in &batch_notes {
        println!();
        println!("{note}");
    }

    if samples > 0 {
        println!();
        println!("| live path, {samples} samples each | p50 (ms) | p99 (ms) |");
        println!("|---|---|---|");
        println!(
            "| PUT /delivery/status answered | {:.2} | {:.2} |",
            ms(&put_only, 0.5),
            ms(&put_only, 0.99)
        );
        println!(
            "| PUT sent → change on the SSE stream | {:.2} | {:.2} |",
            ms(&put_sse, 0.5),
            ms(&put_sse, 0.99)
        );
        println!(
            "| broker alone: produce → consume (embedded broker, SQLite storage) | {:.2} | {:.2} |",
            ms(&raw, 0.5),
            ms(&raw, 0.99)
        );
        println!(
            "| gap at p99 (PUT→SSE minus broker) | | {:.2} |",
            ms(&put_sse, 0.99) - ms(&raw, 0.99)
        );
    }
    drop(consumer);
    drop(producer);
    stack.stop().await?;
    // A librdkafka close that outlived its bound may still hold a blocking
    // thread, which the runtime would wait for at exit; the figures are out.
    std::process::exit(0)
}
