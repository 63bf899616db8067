//! The board's data side: the gateway snapshot, the live feed (Kafka or the
//! gateway's SSE stream) and the gateway actions.
//!
//! A feed session takes the latest offsets first, then the snapshot, then
//! reads from those offsets, so nothing that happens in between is missed;
//! the board merges by version, so what is seen twice changes nothing. When
//! the broker or the gateway goes away the session ends, the board is told
//! it is stale, and a new session (with a fresh snapshot) is tried with
//! backoff until one succeeds.

use std::{sync::Arc, time::Duration};

use anyhow::{Context as _, anyhow, bail};
use food_api::{Delivery, DeliveryList, ErrorBody, Order, UpdateDelivery};
use food_events::Payload;
use food_kit::Shutdown;
use futures::StreamExt;
use rdkafka::{
    Offset, TopicPartitionList,
    consumer::{Consumer, StreamConsumer},
};
use reqwest::StatusCode;
use tokio::{
    sync::{Notify, mpsc},
    task::JoinHandle,
};

use crate::{
    app::{DataEvent, Msg},
    config::Feed,
};

/// Page size for the snapshot; the gateway's maximum.
const PAGE: u32 = food_api::MAX_LIMIT;
/// Timeout of one plain gateway request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Timeout of broker metadata and watermark requests.
const BROKER_TIMEOUT: Duration = Duration::from_secs(3);
/// How often a quiet Kafka feed checks that the broker is still there:
/// librdkafka reconnects silently, so without a probe a dead broker looks
/// like a quiet one.
const PROBE_EVERY: Duration = Duration::from_secs(1);
const PROBE_TIMEOUT: Duration = Duration::from_millis(1500);
/// Reconnect backoff bounds.
const BACKOFF_MIN: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// An error from the gateway, with its machine code when it sent one.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The gateway answered with an error body (or at least a status).
    #[error("{code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    #[error("gateway unreachable: {0}")]
    Transport(#[from] reqwest::Error),
}

/// The gateway's REST API as the board uses it.
#[derive(Clone, Debug)]
pub struct Gateway {
    http: reqwest::Client,
    /// Base URL without a trailing slash.
    base: String,
    token: Option<String>,
}

impl Gateway {
    pub fn new(base: &str, token: Option<String>) -> anyhow::Result<Self> {
        // No client-wide timeout: it would cut the SSE stream; plain
        // requests set their own.
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .tcp_nodelay(true)
            .user_agent(concat!("food-board/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        req
    }

    async fn check(resp: reqwest::Response) -> Result<reqwest::Response, GatewayError> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let text = resp.text().await.unwrap_or_default();
        Err(match serde_json::from_str::<ErrorBody>(&text) {
            Ok(body) => GatewayError::Api {
                status: status.as_u16(),
                code: body.error.code,
                message: body.error.message,
            },
            Err(_) => GatewayError::Api {
                status: status.as_u16(),
                code: format!("http_{}", status.as_u16()),
                message: status
                    .canonical_reason()
                    .unwrap_or("unexpected status")
                    .to_owned(),
            },
        })
    }

    /// Every delivery: `GET /deliveries`, page after page.
    pub async fn snapshot(&self) -> Result<Vec<Delivery>, GatewayError> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut req = self
                .request(reqwest::Method::GET, "/deliveries")
                .timeout(REQUEST_TIMEOUT)
                .query(&[("limit", PAGE.to_string())]);
            if let Some(c) = &cursor {
                req = req.query(&[("cursor", c)]);
            }
            let page: DeliveryList = Self::check(req.send().await?).await?.json().await?;
            all.extend(page.deliveries);
            match page.next_cursor {
                // A cursor that does not move would loop forever.
                Some(next) if Some(&next) != cursor.as_ref() => cursor = Some(next),
                _ => return Ok(all),
            }
        }
    }

    /// `PUT /delivery/status/{order_id}`: the updated delivery.
    pub async fn update(
        &self,
        order_id: &str,
        body: &UpdateDelivery,
    ) -> Result<Delivery, GatewayError> {
        let resp = self
            .request(
                reqwest::Method::PUT,
                &format!("/delivery/status/{order_id}"),
            )
            .timeout(REQUEST_TIMEOUT)
            .json(body)
            .send()
            .await?;
        Ok(Self::check(resp).await?.json().await?)
    }

    /// `GET /orders/{order_id}`.
    pub async fn order(&self, order_id: &str) -> Result<Order, GatewayError> {
        let resp = self
            .request(reqwest::Method::GET, &format!("/orders/{order_id}"))
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await?;
        Ok(Self::check(resp).await?.json().await?)
    }

    /// Opens `GET /events/deliveries`; the body is the event stream.
    pub async fn delivery_events(&self) -> Result<reqwest::Response, GatewayError> {
        let resp = self
            .request(reqwest::Method::GET, "/events/deliveries")
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .send()
            .await?;
        let resp = Self::check(resp).await?;
        if resp.status() != StatusCode::OK {
            return Err(GatewayError::Api {
                status: resp.status().as_u16(),
                code: "unexpected_status".into(),
                message: "the event stream did not open".into(),
            });
        }
        Ok(resp)
    }
}

/// The delivery carried by a `food.deliveries.v1` record, if it is one.
pub fn decode_delivery(payload: &[u8]) -> Option<Delivery> {
    match food_events::decode(payload).ok()?.payload? {
        Payload::DeliveryStatusChanged(e) => e.delivery.map(Delivery::from),
        _ => None,
    }
}

/// One Server-Sent Event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseEvent {
    pub event: Option<String>,
    pub id: Option<String>,
    pub data: String,
}

/// An incremental `text/event-stream` parser: feed it chunks as they come.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes after the last complete line (a chunk may split a line, or a
    /// UTF-8 character).
    buf: Vec<u8>,
    event: Option<String>,
    id: Option<String>,
    data: Option<String>,
}

impl SseParser {
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        let mut start = 0;
        while let Some(nl) = self.buf[start..].iter().position(|b| *b == b'\n') {
            let end = start + nl;
            let line = String::from_utf8_lossy(&self.buf[start..end]);
            let line = line.strip_suffix('\r').unwrap_or(&line).to_owned();
            start = end + 1;
            self.line(&line, &mut out);
        }
        self.buf.drain(..start);
        out
    }

    fn line(&mut self, line: &str, out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            if let Some(data) = self.data.take() {
                out.push(SseEvent {
                    event: self.event.take(),
                    id: self.id.clone(),
                    data,
                });
            }
            self.event = None;
            return;
        }
        if line.starts_with(':') {
            return; // a comment: keep-alive
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "id" => self.id = Some(value.to_owned()),
            "data" => match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            },
            _ => {}
        }
    }
}

/// A running feed; [`FeedHandle::resync`] restarts it from a fresh snapshot.
#[derive(Debug)]
pub struct FeedHandle {
    resync: Arc<Notify>,
    task: JoinHandle<()>,
}

impl FeedHandle {
    pub fn resync(&self) {
        self.resync.notify_one();
    }

    /// Stops the feed without waiting for it.
    pub fn abort(&self) {
        self.task.abort();
    }
}

/// Starts the feed: it sends [`Msg::Data`] to `tx` until shutdown or until
/// `tx` is closed.
pub fn spawn_feed(
    feed: Feed,
    gateway: Gateway,
    tx: mpsc::Sender<Msg>,
    shutdown: Shutdown,
) -> FeedHandle {
    let resync = Arc::new(Notify::new());
    let task = tokio::spawn(run_feed(feed, gateway, tx, resync.clone(), shutdown));
    FeedHandle { resync, task }
}

/// Why a session ended without an error.
enum End {
    Resync,
    /// The board is gone.
    Closed,
}

async fn run_feed(
    feed: Feed,
    gateway: Gateway,
    tx: mpsc::Sender<Msg>,
    resync: Arc<Notify>,
    shutdown: Shutdown,
) {
    let mut attempt: u32 = 0;
    let mut backoff = BACKOFF_MIN;
    loop {
        if tx
            .send(Msg::Data(DataEvent::Connecting { attempt }))
            .await
            .is_err()
        {
            return;
        }
        let session = Session {
            gateway: &gateway,
            tx: &tx,
            resync: &resync,
        };
        let ended = tokio::select! {
            r = session.run(&feed) => r,
            _ = shutdown.cancelled() => return,
        };
        match ended {
            Ok(End::Closed) => return,
            Ok(End::Resync) => {
                attempt = 0;
                backoff = BACKOFF_MIN;
                continue;
            }
            Err(SessionError { error, was_live }) => {
                if was_live {
                    attempt = 0;
                    backoff = BACKOFF_MIN;
                }
                let msg = Msg::Data(DataEvent::Lost {
                    error: format!("{error:#}"),
                });
                if tx.send(msg).await.is_err() {
                    return;
                }
            }
        }
        attempt += 1;
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            // `r` while stale retries at once.
            _ = resync.notified() => {}
            _ = shutdown.cancelled() => return,
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

struct SessionError {
    error: anyhow::Error,
    /// The session got as far as the snapshot: the next loss starts a fresh backoff.
    was_live: bool,
}

struct Session<'a> {
    gateway: &'a Gateway,
    tx: &'a mpsc::Sender<Msg>,
    resync: &'a Notify,
}

impl Session<'_> {
    async fn run(&self, feed: &Feed) -> Result<End, SessionError> {
        let mut live = false;
        let r = match feed {
            Feed::Kafka { brokers, topic } => self.kafka(brokers, topic, &mut live).await,
            Feed::Sse => self.sse(&mut live).await,
        };
        r.map_err(|error| SessionError {
            error,
            was_live: live,
        })
    }

    async fn send(&self, ev: DataEvent) -> bool {
        self.tx.send(Msg::Data(ev)).await.is_ok()
    }

    async fn kafka(&self, brokers: &str, topic: &str, live: &mut bool) -> anyhow::Result<End> {
        let group = format!("food-board-{}", uuid::Uuid::now_v7());
        let consumer: StreamConsumer = food_kit::kafka::tail_consumer_config(brokers, &group)
            .create()
            .context("creating the Kafka consumer")?;
        let consumer = DropOffThread(Some(Arc::new(consumer)));
        let c = consumer.get();
        let t = topic.to_owned();
        // Latest offsets before the snapshot: whatever happens after the
        // snapshot was taken is read from here on.
        let assignment = tokio::task::spawn_blocking(move || latest_offsets(&c, &t))
            .await?
            .with_context(|| format!("reading offsets of {topic} from {brokers}"))?;
        consumer.get().assign(&assignment)?;
        let snapshot = self
            .gateway
            .snapshot()
            .await
            .context("fetching the snapshot")?;
        if !self.send(DataEvent::Snapshot(snapshot)).await {
            return Ok(End::Closed);
        }
        *live = true;
        let mut probe = tokio::time::interval(PROBE_EVERY);
        probe.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        probe.tick().await;
        let c = consumer.get();
        loop {
            tokio::select! {
                // Errors are skipped: librdkafka retries by itself, and the
                // probe decides when the broker is gone.
                m = c.recv() => if let Ok(m) = m
                    && let Some(d) = rdkafka::Message::payload(&m).and_then(decode_delivery)
                    && !self.send(DataEvent::Changed(d)).await
                {
                    return Ok(End::Closed);
                },
                _ = probe.tick() => {
                    let pc = consumer.get();
                    let t = topic.to_owned();
                    tokio::task::spawn_blocking(move || pc.fetch_metadata(Some(&t), PROBE_TIMEOUT))
                        .await?
                        .map_err(|e| anyhow!("broker {brokers} unreachable: {e}"))?;
                }
                _ = self.resync.notified() => return Ok(End::Resync),
            }
        }
    }

    async fn sse(&self, live: &mut bool) -> anyhow::Result<End> {
        // The stream opens before the snapshot, so nothing falls in between.
        let resp = self
            .gateway
            .delivery_events()
            .await
            .context("opening the gateway's event stream")?;
        let snapshot = self
            .gateway
            .snapshot()
            .await
            .context("fetching the snapshot")?;
        if !self.send(DataEvent::Snapshot(snapshot)).await {
            return Ok(End::Closed);
        }
        *live = true;
        let mut body = resp.bytes_stream();
        let mut parser = SseParser::default();
        loop {
            tokio::select! {
                chunk = body.next() => match chunk {
                    Some(Ok(bytes)) => {
                        for ev in parser.push(&bytes) {
                            if ev.event.as_deref() != Some("delivery") {
                                continue;
                            }
                            let Ok(d) = serde_json::from_str::<Delivery>(&ev.data) else { continue };
                            if !self.send(DataEvent::Changed(d)).await {
                                return Ok(End::Closed);
                            }
                        }
                    }
                    Some(Err(e)) => bail!("the gateway's event stream broke: {e}"),
                    None => bail!("the gateway closed the event stream"),
                },
                _ = self.resync.notified() => return Ok(End::Resync),
            }
        }
    }
}

/// The high watermark of every partition of `topic`, as an assignment.
fn latest_offsets(c: &StreamConsumer, topic: &str) -> anyhow::Result<TopicPartitionList> {
    let md = c.fetch_metadata(Some(topic), BROKER_TIMEOUT)?;
    let t = md
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .ok_or_else(|| anyhow!("the broker does not know {topic}"))?;
    if let Some(e) = t.error() {
        bail!("topic {topic}: {e:?}");
    }
    if t.partitions().is_empty() {
        bail!("topic {topic} has no partitions");
    }
    let mut tpl = TopicPartitionList::new();
    for p in t.partitions() {
        let (_low, high) = c.fetch_watermarks(topic, p.id(), BROKER_TIMEOUT)?;
        tpl.add_partition_offset(topic, p.id(), Offset::Offset(high))?;
    }
    Ok(tpl)
}

/// Drops the consumer on a blocking thread: closing a consumer whose broker
/// is gone can block for a while, and must not stall the runtime.
struct DropOffThread(Option<Arc<StreamConsumer>>);

impl DropOffThread {
    fn get(&self) -> Arc<StreamConsumer> {
        self.0.clone().expect("present until dropped")
    }
}

impl Drop for DropOffThread {
    fn drop(&mut self) {
        if let Some(c) = self.0.take()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn_blocking(move || drop(c));
        }
    }
}

#[cfg(test)]
mod tests {
    use food_api::DeliveryStatus;
    use food_proto::events::v1::DeliveryStatusChanged;
    use prost::Message as _;

    use super::*;

    #[test]
    fn sse_events_are_parsed_across_chunk_boundaries() {
        let mut p = SseParser::default();
        let mut out = p.push(b": keep-alive\n\nevent: delivery\nid: e1\nda");
        assert!(out.is_empty());
        out.extend(
            p.push(b"ta: {\"a\":1}\r\n\r\nevent: other\ndata: x\n\ndata: plain\ndata: two\n\n"),
        );

        assert_eq!(
            out,
            [
                SseEvent {
                    event: Some("delivery".into()),
                    id: Some("e1".into()),
                    data: "{\"a\":1}".into()
                },
                SseEvent {
                    event: Some("other".into()),
                    id: Some("e1".into()),
                    data: "x".into()
                },
                SseEvent {
                    event: None,
                    id: Some("e1".into()),
                    data: "plain\ntwo".into()
                },
            ]
        );
    }

    #[test]
    fn a_delivery_event_decodes_into_the_json_shape() {
        let d = crate::app::tests::delivery(7, DeliveryStatus::Assigned, 2, 1);
        let env = food_events::new_envelope(
            "trace",
            Payload::DeliveryStatusChanged(DeliveryStatusChanged {
                delivery: Some(d.clone().into()),
                previous: 1,
            }),
        );

        let back = decode_delivery(&env.encode_to_vec());

        assert_eq!(back, Some(d));
        assert_eq!(decode_delivery(b"garbage"), None);
    }
}
