//! The board's data side: the gateway snapshot, the live feed (Kafka or the
//! gateway's SSE stream) and the gateway actions, over `food_client`.
//!
//! A feed session takes the latest offsets first, then the snapshot, then
//! reads from those offsets, so nothing that happens in between is missed;
//! the board merges by version, so what is seen twice changes nothing. When
//! the broker or the gateway goes away the session ends, the board is told
//! it is stale, and a new session (with a fresh snapshot) is tried with
//! backoff until one succeeds.
//!
//! A board scoped to one restaurant (`--restaurant`) asks the gateway for
//! that restaurant's deliveries and drops the live changes of others: the
//! topic carries every restaurant's.

use std::{sync::Arc, time::Duration};

use anyhow::{Context as _, anyhow, bail};
use food_api::{
    AcceptOrder, Courier, Delivery, DeliveryList, Item, ItemList, Order, OrderList, OrderStatus,
    Restaurant, UpdateDelivery,
};
use food_client::{ApiError, Client, Endpoint, EventStream, path_segment};
use food_events::{
    Payload,
    kafka::{Start, tail_config},
};
use rdkafka::{
    Offset, TopicPartitionList,
    consumer::{Consumer, StreamConsumer},
};
use tokio::{
    sync::{Notify, mpsc},
    task::JoinHandle,
};
use tokio_util::sync::CancellationToken;

use crate::{
    app::{DataEvent, Msg},
    config::{Feed, Scope},
};

/// Page size for the snapshot; the gateway's maximum.
const PAGE: u32 = food_api::MAX_LIMIT;
/// Timeout of one plain gateway request.
const REQUEST_TIMEOUT: Duration = food_client::DEFAULT_TIMEOUT;
/// A gateway that does not accept a connection within this is shown as
/// away rather than left to the request timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
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

/// The gateway's REST API as the board uses it.
#[derive(Clone, Debug)]
pub struct Gateway(Client);

impl Gateway {
    pub fn new(base: &str, token: Option<String>) -> anyhow::Result<Self> {
        let endpoint = Endpoint::new(base, token, REQUEST_TIMEOUT)?;
        let client = Client::builder(endpoint)
            .user_agent(concat!("food-board/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT)
            .build()?;
        Ok(Self(client))
    }

    /// The base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        self.0.url()
    }

    /// Every delivery in `scope`: `GET /deliveries[?restaurant=]`, page
    /// after page.
    pub async fn snapshot(&self, scope: &Scope) -> Result<Vec<Delivery>, ApiError> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut query = vec![("limit", PAGE.to_string())];
            if let Some(r) = &scope.restaurant {
                query.push(("restaurant", r.clone()));
            }
            if let Some(c) = &cursor {
                query.push(("cursor", c.clone()));
            }
            let page: DeliveryList = self.0.get("/deliveries", &query).await?;
            // The same rule as the live feed, whatever the gateway sent.
            all.extend(page.deliveries.into_iter().filter(|d| scope.admits(d)));
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
    ) -> Result<Delivery, ApiError> {
        let path = format!("/delivery/status/{}", path_segment(order_id));
        self.0.put(&path, body, &[]).await
    }

    /// `GET /restaurants/{id}`: a scoped board's header names it.
    pub async fn restaurant(&self, id: &str) -> Result<Restaurant, ApiError> {
        let path = format!("/restaurants/{}", path_segment(id));
        self.0.get(&path, &[]).await
    }

    /// `GET /orders/{order_id}`.
    pub async fn order(&self, order_id: &str) -> Result<Order, ApiError> {
        let path = format!("/orders/{}", path_segment(order_id));
        self.0.get(&path, &[]).await
    }

    /// A restaurant's orders in one status: `GET /orders?restaurant=&status=`,
    /// page after page. A restaurant key sees only its own anyway.
    pub async fn orders(
        &self,
        restaurant: &str,
        status: OrderStatus,
    ) -> Result<Vec<Order>, ApiError> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut query = vec![
                ("limit", PAGE.to_string()),
                ("restaurant", restaurant.to_owned()),
                ("status", status.as_str().to_owned()),
            ];
            if let Some(c) = &cursor {
                query.push(("cursor", c.clone()));
            }
            let page: OrderList = self.0.get("/orders", &query).await?;
            // The same rule as the live feed, whatever the gateway sent.
            all.extend(
                page.orders.into_iter().filter(|o| {
                    o.status == status && o.restaurant_id.as_deref() == Some(restaurant)
                }),
            );
            match page.next_cursor {
                Some(next) if Some(&next) != cursor.as_ref() => cursor = Some(next),
                _ => return Ok(all),
            }
        }
    }

    /// `GET /restaurants/{id}/menu`: its dishes, for their prep times.
    pub async fn menu(&self, restaurant: &str) -> Result<Vec<Item>, ApiError> {
        let path = format!("/restaurants/{}/menu", path_segment(restaurant));
        let list: ItemList = self.0.get(&path, &[("limit", PAGE.to_string())]).await?;
        Ok(list.items)
    }

    /// `POST /orders/{id}/accept {"prep_minutes"}`.
    pub async fn accept(&self, order_id: &str, prep_minutes: u32) -> Result<Order, ApiError> {
        let body = AcceptOrder {
            prep_minutes: Some(prep_minutes),
            ready_by: None,
        };
        self.0.accept_order(order_id, &body).await
    }

    /// `POST /orders/{id}/reject {"reason"}`.
    pub async fn reject(&self, order_id: &str, reason: &str) -> Result<Order, ApiError> {
        self.0.reject_order(order_id, reason).await
    }

    /// `POST /orders/{id}/ready`.
    pub async fn ready(&self, order_id: &str) -> Result<Order, ApiError> {
        self.0.mark_ready(order_id).await
    }

    /// `GET /couriers`, for the couriers panel.
    pub async fn couriers(&self) -> Result<Vec<Courier>, ApiError> {
        self.0.couriers(None).await
    }

    /// Opens `GET /events/deliveries`.
    pub async fn delivery_events(&self) -> Result<EventStream, ApiError> {
        self.0.stream("/events/deliveries", None).await
    }
}

/// A failed action as the status line shows it: short, code first.
pub fn action_error(e: &ApiError) -> String {
    match e {
        ApiError::Api { body, .. } => format!("{}: {}", body.error.code, body.error.message),
        other => other.to_string(),
    }
}

/// The delivery carried by a `food.deliveries.v1` record, if it is one.
pub fn decode_delivery(payload: &[u8]) -> Option<Delivery> {
    match food_events::decode(payload).ok()?.payload? {
        Payload::DeliveryStatusChanged(e) => e.delivery.and_then(|d| Delivery::try_from(d).ok()),
        _ => None,
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
    scope: Scope,
    gateway: Gateway,
    tx: mpsc::Sender<Msg>,
    shutdown: CancellationToken,
) -> FeedHandle {
    let resync = Arc::new(Notify::new());
    let task = tokio::spawn(run_feed(feed, scope, gateway, tx, resync.clone(), shutdown));
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
    scope: Scope,
    gateway: Gateway,
    tx: mpsc::Sender<Msg>,
    resync: Arc<Notify>,
    shutdown: CancellationToken,
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
            scope: &scope,
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
    scope: &'a Scope,
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

    /// A live change, if it belongs on this board; `false` once the board is gone.
    async fn changed(&self, d: Delivery) -> bool {
        !self.scope.admits(&d) || self.send(DataEvent::Changed(d)).await
    }

    async fn kafka(&self, brokers: &str, topic: &str, live: &mut bool) -> anyhow::Result<End> {
        let group = format!("food-board-{}", uuid::Uuid::now_v7());
        let consumer: StreamConsumer = tail_config(brokers, &group, Start::Latest)
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
            .snapshot(self.scope)
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
                    && !self.changed(d).await
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
        let mut events = self
            .gateway
            .delivery_events()
            .await
            .context("opening the gateway's event stream")?;
        let snapshot = self
            .gateway
            .snapshot(self.scope)
            .await
            .context("fetching the snapshot")?;
        if !self.send(DataEvent::Snapshot(snapshot)).await {
            return Ok(End::Closed);
        }
        *live = true;
        loop {
            tokio::select! {
                // `next` is cancel-safe: a resync loses no event.
                ev = events.next() => match ev {
                    Some(Ok(ev)) => if ev.event == "delivery"
                        && let Ok(d) = serde_json::from_str::<Delivery>(&ev.data)
                        && !self.changed(d).await
                    {
                        return Ok(End::Closed);
                    },
                    Some(Err(e)) => return Err(e.into()),
                    None => bail!("the gateway closed the event stream"),
                },
                _ = self.resync.notified() => return Ok(End::Resync),
            }
        }
    }
}

/// The high watermark of every partition of `topic`, as an assignment.
pub(crate) fn latest_offsets(
    c: &StreamConsumer,
    topic: &str,
) -> anyhow::Result<TopicPartitionList> {
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

    #[test]
    fn a_refused_action_shows_its_code_and_message() {
        let e = ApiError::Api {
            status: 409,
            body: food_api::ErrorBody::new(
                food_api::ErrorCode::InvalidTransition,
                "cannot move a delivery from PENDING to DELIVERED",
            ),
        };
        assert_eq!(
            action_error(&e),
            "invalid_transition: cannot move a delivery from PENDING to DELIVERED"
        );
    }
}
