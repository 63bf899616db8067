//! The load engine: bare hyper HTTP/1.1 connections, one request in flight
//! on each, driven closed-loop (as fast as answers come) or open-loop (each
//! request at its scheduled time, its latency counted from that time).
//!
//! The load client shares the machine with what it measures, so it does as
//! little as it can: no pool, no redirects, headers built once per request
//! kind, bodies shared. An open-loop run gives each connection its share of
//! the schedule (request `i` of connection `c` is due at `(i * C + c) /
//! rate`); a connection still busy when its next request is due sends it
//! late, and the wait counts in that request's latency, so a stalled server
//! cannot hide its queue behind a client that stopped asking (coordinated
//! omission).

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context as _;
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::{HeaderMap, Method, Request, header};
use hyper_util::rt::TokioIo;
use serde::Serialize;

/// A request that has no answer after this is counted as an error
/// (`timeout`) and its connection opened again.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the load goes: an address and the `Host` it is called by.
#[derive(Clone, Debug)]
pub struct Target {
    pub addr: SocketAddr,
    pub host: String,
}

/// One request to send. `headers` are shared by every request of a kind.
#[derive(Clone, Debug)]
pub struct Call {
    /// Index into the run's kinds.
    pub kind: usize,
    pub method: Method,
    pub path: String,
    pub headers: Arc<HeaderMap>,
    pub body: Option<Bytes>,
    /// Sends a fresh `Idempotency-Key`.
    pub idempotency_key: bool,
    /// Keeps the body of a 2xx answer in [`KindOutcome::answers`], so that
    /// a test can check afterwards that every acknowledged write is there.
    pub keep_answer: bool,
}

/// Makes the calls of one connection; each connection has its own, seeded.
pub type Calls = Box<dyn FnMut() -> Call + Send>;

/// Latency (µs) and outcomes of one kind of request.
#[derive(Clone, Debug)]
pub struct KindOutcome {
    pub name: String,
    pub latency: Histogram<u64>,
    pub ok: u64,
    /// By cause: an HTTP status (`"503"`), `timeout`, `connect` or `io`.
    pub errors: BTreeMap<String, u64>,
    /// The first answer's body of each HTTP status counted as an error.
    pub samples: BTreeMap<String, String>,
    /// The bodies of the 2xx answers to calls with `keep_answer`.
    pub answers: Vec<Bytes>,
}

impl KindOutcome {
    fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            latency: new_histogram(),
            ok: 0,
            errors: BTreeMap::new(),
            samples: BTreeMap::new(),
            answers: Vec::new(),
        }
    }

    fn merge(&mut self, other: &KindOutcome) {
        self.latency.add(&other.latency).unwrap();
        self.ok += other.ok;
        for (k, v) in &other.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.samples {
            self.samples.entry(k.clone()).or_insert_with(|| v.clone());
        }
        self.answers.extend(other.answers.iter().cloned());
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// A whole run.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub kinds: Vec<KindOutcome>,
    /// From the first request to the last answer.
    pub elapsed: Duration,
}

impl Outcome {
    pub fn requests(&self) -> u64 {
        self.kinds.iter().map(|k| k.ok + k.error_count()).sum()
    }

    pub fn errors(&self) -> u64 {
        self.kinds.iter().map(KindOutcome::error_count).sum()
    }

    pub fn per_second(&self) -> f64 {
        self.requests() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Every kind's latencies together.
    pub fn latency(&self) -> Histogram<u64> {
        let mut all = new_histogram();
        for k in &self.kinds {
            all.add(&k.latency).unwrap();
        }
        all
    }

    /// The first error body of each status, by `kind status`.
    pub fn error_samples(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for k in &self.kinds {
            for (status, body) in &k.samples {
                out.insert(format!("{} {status}", k.name), body.clone());
            }
        }
        out
    }

    pub fn error_causes(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for k in &self.kinds {
            for (cause, n) in &k.errors {
                *out.entry(cause.clone()).or_default() += n;
            }
        }
        out
    }
}

/// Latency quantiles in milliseconds, as reports print them.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq)]
pub struct Quantiles {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Quantiles {
    pub fn of(h: &Histogram<u64>) -> Self {
        let ms = |v: u64| v as f64 / 1000.0;
        if h.is_empty() {
            return Self::default();
        }
        Self {
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
        }
    }
}

/// Microseconds from 1 µs to 10 minutes, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).unwrap()
}

/// Records `d` (clamped to the histogram's range).
pub fn record(h: &mut Histogram<u64>, d: Duration) {
    h.saturating_record((d.as_micros() as u64).max(1));
}

/// One HTTP/1.1 connection, opened again after an error.
struct Conn {
    target: Target,
    sender: Option<hyper::client::conn::http1::SendRequest<Full<Bytes>>>,
}

impl Conn {
    fn new(target: Target) -> Self {
        Self {
            target,
            sender: None,
        }
    }

    async fn open(&mut self) -> Result<(), String> {
        let stream = tokio::net::TcpStream::connect(self.target.addr)
            .await
            .map_err(|_| "connect".to_owned())?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|_| "connect".to_owned())?;
        tokio::spawn(connection);
        self.sender = Some(sender);
        Ok(())
    }

    /// Sends `call` and reads the whole answer: `Ok` for a 2xx (with its
    /// body when the call keeps it), else the cause (and the body of an
    /// error status).
    async fn send(&mut self, call: &Call) -> Result<Option<Bytes>, Failure> {
        let result = tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(call)).await;
        let result = result.unwrap_or_else(|_| Err(Failure::from("timeout")));
        if matches!(&result, Err(f) if f.body.is_none()) {
            // A broken or stalled connection is not used again.
            self.sender = None;
        }
        result
    }

    async fn exchange(&mut self, call: &Call) -> Result<Option<Bytes>, Failure> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            self.open().await?;
        }
        let sender = self.sender.as_mut().unwrap();
        sender.ready().await.map_err(|_| "io".to_owned())?;
        let mut req = Request::new(Full::new(call.body.clone().unwrap_or_default()));
        *req.method_mut() = call.method.clone();
        *req.uri_mut() = call.path.parse().map_err(|_| "bad path".to_owned())?;
        let headers = req.headers_mut();
        headers.clone_from(&call.headers);
        if !headers.contains_key(header::HOST) {
            headers.insert(
                header::HOST,
                header::HeaderValue::from_str(&self.target.host)
                    .map_err(|_| "bad host".to_owned())?,
            );
        }
        if call.idempotency_key {
            headers.insert(
                "idempotency-key",
                header::HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).unwrap(),
            );
        }
        let resp = sender
            .send_request(req)
            .await
            .map_err(|_| "io".to_owned())?;
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|_| "io".to_owned())?
            .to_bytes();
        if status.is_success() {
            Ok(call.keep_answer.then_some(body))
        } else {
            let mut text = String::from_utf8_lossy(&body).into_owned();
            text.truncate(text.floor_char_boundary(300));
            Err(Failure {
                cause: status.as_u16().to_string(),
                body: Some(text),
            })
        }
    }
}

/// Why a request is counted as an error.
struct Failure {
    cause: String,
    /// The answer's body, for an error status.
    body: Option<String>,
}

impl From<String> for Failure {
    fn from(cause: String) -> Self {
        Self { cause, body: None }
    }
}

impl From<&str> for Failure {
    fn from(cause: &str) -> Self {
        cause.to_owned().into()
    }
}

/// What a run's progress bar follows.
#[derive(Clone, Default)]
pub struct Progress {
    pub sent: Arc<AtomicU64>,
}

/// `connections` connections, each sending the next of its calls as soon as
/// the last is answered, for `duration`.
pub async fn closed_loop(
    target: &Target,
    connections: usize,
    duration: Duration,
    kinds: &[&str],
    mut calls: impl FnMut(usize) -> Calls,
    progress: &Progress,
) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let deadline = started + duration;
    let merged = Arc::new(Mutex::new(outcomes(kinds)));
    let mut tasks = Vec::new();
    for (c, mut conn) in open_all(target, connections).await?.into_iter().enumerate() {
        let mut next = calls(c);
        let merged = merged.clone();
        let mut local = outcomes(kinds);
        let sent = progress.sent.clone();
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let call = next();
                let t = Instant::now();
                let result = conn.send(&call).await;
                tally(&mut local[call.kind], result, t.elapsed());
                sent.fetch_add(1, Ordering::Relaxed);
            }
            merge(&merged, &local);
        }));
    }
    gather(tasks, merged, || started.elapsed()).await
}

/// `rate` requests per second for `duration`, spread over `connections`
/// connections, each request's latency counted from when it was due.
/// Requests still unsent `REQUEST_TIMEOUT` after the end count as
/// `timeout` errors.
pub async fn open_loop(
    target: &Target,
    connections: usize,
    rate: f64,
    duration: Duration,
    kinds: &[&str],
    mut calls: impl FnMut(usize) -> Calls,
    progress: &Progress,
) -> anyhow::Result<Outcome> {
    let total = (rate * duration.as_secs_f64()).round() as u64;
    let interval = 1.0 / rate;
    let connections = (connections as u64).min(total.max(1));
    let conns = open_all(target, connections as usize).await?;
    let started = tokio::time::Instant::now() + Duration::from_millis(10);
    let give_up = started + duration + REQUEST_TIMEOUT;
    let merged = Arc::new(Mutex::new(outcomes(kinds)));
    let mut tasks = Vec::new();
    for (c, mut conn) in conns.into_iter().enumerate() {
        let c = c as u64;
        let mut next = calls(c as usize);
        let merged = merged.clone();
        let mut local = outcomes(kinds);
        let sent = progress.sent.clone();
        tasks.push(tokio::spawn(async move {
            let mut i = c;
            while i < total {
                let due = started + Duration::from_secs_f64(i as f64 * interval);
                let call = next();
                if tokio::time::Instant::now() >= give_up {
                    *local[call.kind].errors.entry("timeout".into()).or_default() += 1;
                } else {
                    tokio::time::sleep_until(due).await;
                    let result = conn.send(&call).await;
                    tally(&mut local[call.kind], result, due.elapsed());
                }
                sent.fetch_add(1, Ordering::Relaxed);
                i += connections;
            }
            merge(&merged, &local);
        }));
    }
    gather(tasks, merged, || started.elapsed()).await
}

/// `n` connections, open before the clock starts.
async fn open_all(target: &Target, n: usize) -> anyhow::Result<Vec<Conn>> {
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        let mut conn = Conn::new(target.clone());
        conn.open()
            .await
            .map_err(|_| anyhow::anyhow!("cannot connect to {}", target.addr))?;
        conns.push(conn);
    }
    Ok(conns)
}

/// Waits for the connections' tasks, then the outcome they merged.
async fn gather(
    tasks: Vec<tokio::task::JoinHandle<()>>,
    merged: Arc<Mutex<Vec<KindOutcome>>>,
    started: impl FnOnce() -> Duration,
) -> anyhow::Result<Outcome> {
    for t in tasks {
        t.await.context("a load connection")?;
    }
    let elapsed = started();
    let kinds = Arc::try_unwrap(merged).unwrap().into_inner().unwrap();
    Ok(Outcome { kinds, elapsed })
}

fn outcomes(kinds: &[&str]) -> Vec<KindOutcome> {
    kinds.iter().map(|k| KindOutcome::new(k)).collect()
}

fn tally(k: &mut KindOutcome, result: Result<Option<Bytes>, Failure>, took: Duration) {
    match result {
        Ok(answer) => {
            k.ok += 1;
            record(&mut k.latency, took);
            k.answers.extend(answer);
        }
        Err(Failure { cause, body }) => {
            if let Some(body) = body {
                k.samples.entry(cause.clone()).or_insert(body);
            }
            *k.errors.entry(cause).or_default() += 1;
        }
    }
}

fn merge(into: &Mutex<Vec<KindOutcome>>, local: &[KindOutcome]) {
    let mut into = into.lock().unwrap();
    for (a, b) in into.iter_mut().zip(local) {
        a.merge(b);
    }
}

/// Headers for a kind of request: a bearer key, JSON content.
pub fn headers(key: Option<&str>, json_body: bool) -> Arc<HeaderMap> {
    let mut h = HeaderMap::new();
    if let Some(key) = key {
        h.insert(
            header::AUTHORIZATION,
            header::HeaderValue::from_str(&format!("Bearer {key}")).expect("a printable key"),
        );
    }
    if json_body {
        h.insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
    }
    Arc::new(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server answering `status` after `delay`, one request at a time per
    /// connection (HTTP/1.1).
    async fn server(status: u16, delay: Duration) -> Target {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |_req| async move {
                        tokio::time::sleep(delay).await;
                        Ok::<_, std::convert::Infallible>(
                            hyper::Response::builder()
                                .status(status)
                                .body(Full::new(Bytes::from_static(b"{}")))
                                .unwrap(),
                        )
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Target {
            addr,
            host: addr.to_string(),
        }
    }

    fn get() -> impl FnMut(usize) -> Calls {
        |_| {
            Box::new(|| Call {
                kind: 0,
                method: Method::GET,
                path: "/x".into(),
                headers: headers(None, false),
                body: None,
                idempotency_key: false,
                keep_answer: false,
            })
        }
    }

    #[tokio::test]
    async fn an_open_loop_counts_the_queue_a_slow_server_builds() {
        // One connection, a server taking 20 ms, asked 100 times a second
        // for 1 s: each request waits for the one before it, so the last
        // is due at 0.99 s and answered near 2 s, about 1 s late.
        let target = server(200, Duration::from_millis(20)).await;
        let progress = Progress::default();
        let out = open_loop(
            &target,
            1,
            100.0,
            Duration::from_secs(1),
            &["x"],
            get(),
            &progress,
        )
        .await
        .unwrap();
        assert_eq!(out.requests(), 100);
        assert_eq!(out.errors(), 0);
        let q = Quantiles::of(&out.latency());
        assert!(q.max_ms > 900.0, "{q:?}");
        assert!(q.p50_ms > 400.0, "{q:?}");
        assert_eq!(progress.sent.load(Ordering::Relaxed), 100);
    }

    #[tokio::test]
    async fn an_open_loop_below_capacity_sees_the_service_time() {
        let target = server(200, Duration::from_millis(2)).await;
        let out = open_loop(
            &target,
            4,
            100.0,
            Duration::from_secs(1),
            &["x"],
            get(),
            &Progress::default(),
        )
        .await
        .unwrap();
        assert_eq!(out.requests(), 100);
        let q = Quantiles::of(&out.latency());
        assert!(q.p50_ms >= 2.0 && q.p50_ms < 50.0, "{q:?}");
    }

    #[tokio::test]
    async fn errors_are_counted_by_status_and_not_as_latency() {
        let target = server(503, Duration::ZERO).await;
        let out = closed_loop(
            &target,
            2,
            Duration::from_millis(200),
            &["x"],
            get(),
            &Progress::default(),
        )
        .await
        .unwrap();
        assert!(out.requests() > 10);
        assert_eq!(out.errors(), out.requests());
        assert_eq!(out.error_causes().keys().collect::<Vec<_>>(), ["503"]);
        assert!(out.latency().is_empty());
    }
}
