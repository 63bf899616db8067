//! Live delivery changes: one Kafka consumer per gateway replica reads
//! `food.deliveries.v1` from the latest offset and fans each change out
//! through a broadcast channel to every SSE stream and GraphQL subscription.
//!
//! A stream starts with the current state (from `GetStatus`), then sends
//! each change newer than what it sent; a client too slow to keep up with the
//! broadcast channel is dropped (and may resume with `Last-Event-ID`, which
//! first replays the changes after that event that this replica still
//! holds) rather than slowing the others.

use std::{
    collections::VecDeque,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use food_api::Delivery;
use food_events::Payload;
use food_kit::{Shutdown, settings::KafkaSettings};
use futures::{Stream, StreamExt, stream};
use rdkafka::{
    Message, Offset, TopicPartitionList,
    consumer::{Consumer, StreamConsumer},
};
use tokio::sync::{broadcast, oneshot};

use crate::{
    auth::Caller,
    error::ApiError,
    service::{Gateway, may_see_delivery},
    settings::Role,
};

/// How many recent changes are kept for resuming with `Last-Event-ID`.
const RECENT: usize = 4096;

/// One delivery change as read from Kafka.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveEvent {
    /// Position in this replica's feed; orders replay and live events.
    pub seq: u64,
    /// The Kafka event id, sent as the SSE `id`.
    pub event_id: String,
    pub delivery: Delivery,
}

/// What a stream sends: an SSE event or a GraphQL subscription item.
#[derive(Clone, Debug, PartialEq)]
pub struct Update {
    pub id: String,
    pub delivery: Delivery,
}

impl From<&LiveEvent> for Update {
    fn from(e: &LiveEvent) -> Self {
        Self {
            id: e.event_id.clone(),
            delivery: e.delivery.clone(),
        }
    }
}

pub type UpdateStream = Pin<Box<dyn Stream<Item = Update> + Send>>;

/// The fan-out point between the consumer and the streams.
#[derive(Debug)]
pub struct Hub {
    tx: broadcast::Sender<Arc<LiveEvent>>,
    recent: Mutex<Recent>,
    /// Set once the consumer has its partitions.
    live: AtomicBool,
}

#[derive(Debug, Default)]
struct Recent {
    next_seq: u64,
    events: VecDeque<Arc<LiveEvent>>,
}

/// Outcome of handling one Kafka record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Published,
    /// A valid event of another kind.
    Ignored,
    Undecodable,
}

impl Hub {
    /// `capacity` is how far a stream may fall behind before it is dropped.
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        Self {
            tx,
            recent: Mutex::new(Recent::default()),
            live: AtomicBool::new(false),
        }
    }

    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Relaxed)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.tx.subscribe()
    }

    /// The single step of the consumer: decode one record value and publish
    /// it if it is a delivery change.
    pub fn handle(&self, payload: &[u8]) -> Outcome {
        let env = match food_events::decode(payload) {
            Ok(env) => env,
            Err(e) => {
                tracing::warn!(error = %e, "skipping an undecodable delivery event");
                return Outcome::Undecodable;
            }
        };
        match env.payload {
            Some(Payload::DeliveryStatusChanged(change)) => match change.delivery {
                Some(d) => match Delivery::try_from(d) {
                    Ok(d) => {
                        self.publish(env.event_id, d);
                        Outcome::Published
                    }
                    Err(e) => {
                        tracing::error!(error = %e, event_id = %env.event_id, "skipping a delivery event with an unknown status");
                        Outcome::Undecodable
                    }
                },
                None => Outcome::Undecodable,
            },
            _ => Outcome::Ignored,
        }
    }

    pub fn publish(&self, event_id: String, delivery: Delivery) {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        let event = Arc::new(LiveEvent {
            seq: recent.next_seq,
            event_id,
            delivery,
        });
        recent.next_seq += 1;
        if recent.events.len() == RECENT {
            recent.events.pop_front();
        }
        recent.events.push_back(event.clone());
        metrics::counter!("gateway_live_events_total").increment(1);
        // Sent under the lock so that `seq` order is broadcast order.
        let _ = self.tx.send(event);
    }

    fn find(&self, event_id: &str) -> Option<Arc<LiveEvent>> {
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        recent
            .events
            .iter()
            .rev()
            .find(|e| e.event_id == event_id)
            .cloned()
    }

    /// The recent events after `event_id`, or `None` when it is not known.
    fn after(&self, event_id: &str) -> Option<Vec<Arc<LiveEvent>>> {
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        let pos = recent.events.iter().position(|e| e.event_id == event_id)?;
        Some(recent.events.iter().skip(pos + 1).cloned().collect())
    }

    /// The recent changes of `order_id` newer than `version`, in feed order.
    fn recent_of(&self, order_id: &str, version: u64) -> Vec<Arc<LiveEvent>> {
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        recent
            .events
            .iter()
            .filter(|e| e.delivery.order_id == order_id && e.delivery.version > version)
            .cloned()
            .collect()
    }

    /// The id to send with a delivery's current state: the event that
    /// produced this version if still known, else `v<version>`.
    fn id_for(&self, delivery: &Delivery) -> String {
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        recent
            .events
            .iter()
            .rev()
            .find(|e| {
                e.delivery.order_id == delivery.order_id && e.delivery.version == delivery.version
            })
            .map(|e| e.event_id.clone())
            .unwrap_or_else(|| format!("v{}", delivery.version))
    }

    /// The version of `order_id` a client had when it sent `Last-Event-ID`.
    fn resumed_version(&self, order_id: &str, last_event_id: Option<&str>) -> u64 {
        let Some(id) = last_event_id.map(str::trim) else {
            return 0;
        };
        if let Some(v) = id.strip_prefix('v').and_then(|v| v.parse().ok()) {
            return v;
        }
        self.find(id)
            .filter(|e| e.delivery.order_id == order_id)
            .map_or(0, |e| e.delivery.version)
    }
}

/// Changes from `rx` while the subscriber keeps up; ends on lag.
fn changes(rx: broadcast::Receiver<Arc<LiveEvent>>) -> impl Stream<Item = Arc<LiveEvent>> + Send {
    stream::unfold(rx, |mut rx| async move {
        match rx.recv().await {
            Ok(event) => Some((event, rx)),
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                metrics::counter!("gateway_live_dropped_streams_total").increment(1);
                tracing::info!(missed, "dropping a stream that fell behind");
                None
            }
            Err(broadcast::error::RecvError::Closed) => None,
        }
    })
}

fn until_shutdown(
    s: impl Stream<Item = Update> + Send + 'static,
    shutdown: &Shutdown,
) -> UpdateStream {
    let shutdown = shutdown.clone();
    Box::pin(s.take_until(async move { shutdown.cancelled().await }))
}

/// One order's delivery: its current state (unless the client already has
/// it, per `Last-Event-ID`), then each newer change. Access is checked
/// before the stream starts, so refusals are plain errors.
pub async fn order_updates(
    gateway: &Gateway,
    hub: &Arc<Hub>,
    caller: &Caller,
    order_id: &str,
    last_event_id: Option<&str>,
    shutdown: &Shutdown,
) -> Result<UpdateStream, ApiError> {
    // Subscribe before reading the state so that no change falls in between.
    let rx = hub.subscribe();
    let current = gateway.get_delivery(caller, order_id).await?;
    // The full id: `order_id` may be a short id the gateway resolved.
    let order_id = current.order_id.clone();
    let had = hub.resumed_version(&order_id, last_event_id);
    let mut sent = had;
    // A resumed stream (one dropped for falling behind during a burst,
    // say) first gets the changes it missed that this replica still holds,
    // each as it was, rather than only the state they led to.
    let mut first: Vec<Update> = Vec::new();
    if had > 0 {
        for e in hub.recent_of(&order_id, had) {
            if e.delivery.version > sent {
                sent = e.delivery.version;
                first.push(Update::from(&*e));
            }
        }
    }
    if current.version > sent {
        sent = current.version;
        first.push(Update {
            id: hub.id_for(&current),
            delivery: current,
        });
    }
    let rest = changes(rx).filter_map(move |e| {
        let fresh = e.delivery.order_id == order_id && e.delivery.version > sent;
        if fresh {
            sent = e.delivery.version;
        }
        futures::future::ready(fresh.then(|| Update::from(&*e)))
    });
    Ok(until_shutdown(stream::iter(first).chain(rest), shutdown))
}

/// Every delivery change the caller may see: ops all of them, a courier
/// its own and the unassigned ones, a restaurant key its restaurant's.
/// With a known `Last-Event-ID` the changes after it that this replica
/// still holds are replayed first.
pub fn all_updates(
    hub: &Arc<Hub>,
    caller: &Caller,
    last_event_id: Option<&str>,
    shutdown: &Shutdown,
) -> Result<UpdateStream, ApiError> {
    let p = caller
        .require(&[Role::Restaurant, Role::Courier, Role::Ops])?
        .clone();
    let rx = hub.subscribe();
    let replay = last_event_id
        .and_then(|id| hub.after(id.trim()))
        .unwrap_or_default();
    let mut seen = replay.last().map(|e| e.seq);
    let replay: Vec<Update> = replay
        .iter()
        .filter(|e| may_see_delivery(&p, &e.delivery))
        .map(|e| Update::from(&**e))
        .collect();
    let rest = changes(rx).filter_map(move |e| {
        let fresh = seen.is_none_or(|s| e.seq > s);
        if fresh {
            seen = Some(e.seq);
        }
        let visible = fresh && may_see_delivery(&p, &e.delivery);
        futures::future::ready(visible.then(|| Update::from(&*e)))
    });
    Ok(until_shutdown(stream::iter(replay).chain(rest), shutdown))
}

/// Runs the consumer until shutdown; `ready` fires once its partitions are
/// assigned at their latest offsets (so a change made after that is seen).
pub async fn run_consumer(
    kafka: KafkaSettings,
    hub: Arc<Hub>,
    shutdown: Shutdown,
    ready: oneshot::Sender<()>,
) {
    let topic = food_events::topics::Topics::with_prefix(&kafka.topic_prefix).deliveries;
    let feed = hub.clone();
    tail(
        Feed {
            kafka,
            topic,
            name: "live delivery feed",
            group_infix: "",
        },
        &hub.live,
        shutdown,
        ready,
        move |payload| {
            feed.handle(payload);
        },
    )
    .await;
}

/// What [`tail`] reads.
pub(crate) struct Feed {
    pub kafka: KafkaSettings,
    pub topic: String,
    /// For logs: "live delivery feed".
    pub name: &'static str,
    /// Between the group prefix and the instance's unique suffix, so that
    /// each feed of each replica has a group of its own.
    pub group_infix: &'static str,
}

/// Reads `feed.topic` from its latest offsets until shutdown, handing each
/// record's value to `handle`; `live` says whether it is attached and
/// `ready` fires once it is (so a change made after that is seen).
pub(crate) async fn tail(
    feed: Feed,
    live: &AtomicBool,
    shutdown: Shutdown,
    ready: oneshot::Sender<()>,
    mut handle: impl FnMut(&[u8]),
) {
    let Feed {
        kafka,
        topic,
        name,
        group_infix,
    } = feed;
    let group = format!(
        "{}{group_infix}-{}",
        kafka.group_id.as_deref().unwrap_or("gateway"),
        uuid::Uuid::now_v7().simple()
    );
    let consumer: Arc<StreamConsumer> = match food_events::kafka::tail_config(
        &kafka.brokers,
        &group,
        food_events::kafka::Start::Latest,
    )
    .create()
    {
        Ok(c) => Arc::new(c),
        Err(e) => {
            tracing::error!(error = %e, feed = name, "cannot create the consumer; streams will only show current states");
            return;
        }
    };
    let mut ready = Some(ready);
    let mut backoff = Duration::from_millis(200);
    loop {
        let attempt = assign_latest(&kafka, &topic, consumer.clone());
        let result = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = attempt => r,
        };
        match result {
            Ok(partitions) => {
                tracing::info!(%topic, partitions, group = %group, feed = name, "feed assigned");
                break;
            }
            Err(e) => {
                tracing::warn!(error = format!("{e:#}"), %topic, feed = name, "feed not ready, retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
    live.store(true, Ordering::Relaxed);
    if let Some(ready) = ready.take() {
        let _ = ready.send(());
    }
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            msg = consumer.recv() => match msg {
                Ok(m) => {
                    if let Some(payload) = m.payload() {
                        handle(payload);
                    }
                }
                // Not paced: the errors librdkafka queued while the broker
                // was away are taken at once, as in food_kit::consumer::run.
                Err(e) => {
                    tracing::warn!(error = %e, feed = name, "feed error");
                    tokio::task::yield_now().await;
                }
            }
        }
    }
    live.store(false, Ordering::Relaxed);
}

/// Assigns every partition of `topic` at its current high watermark. Direct
/// assignment skips the group join, which would otherwise leave a window
/// after start-up in which changes are missed.
pub(crate) async fn assign_latest(
    kafka: &KafkaSettings,
    topic: &str,
    consumer: Arc<StreamConsumer>,
) -> anyhow::Result<usize> {
    food_kit::kafka::ensure_topics(
        &kafka.brokers,
        &[topic.to_owned()],
        kafka.topic_layout(),
        Duration::from_secs(2),
    )
    .await?;
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
        let timeout = Duration::from_secs(5);
        let metadata = consumer.fetch_metadata(Some(&topic), timeout)?;
        let partitions: Vec<i32> = metadata
            .topics()
            .iter()
            .filter(|t| t.name() == topic)
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        if partitions.is_empty() {
            anyhow::bail!("topic {topic} has no partitions yet");
        }
        let mut list = TopicPartitionList::new();
        for &p in &partitions {
            let offset = match consumer.fetch_watermarks(&topic, p, timeout) {
                Ok((_, high)) => Offset::Offset(high),
                Err(_) => Offset::End,
            };
            list.add_partition_offset(&topic, p, offset)?;
        }
        consumer.assign(&list)?;
        Ok(partitions.len())
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;
    use food_api::DeliveryStatus;
    use food_proto::{delivery::v1 as pd, events::v1::DeliveryStatusChanged};
    use prost::Message as _;

    fn delivery(order: &str, version: u64) -> Delivery {
        let proto = pd::Delivery {
            order_id: order.into(),
            customer_id: "c".into(),
            status: pd::DeliveryStatus::Pending as i32,
            version,
            ..Default::default()
        };
        proto.try_into().unwrap()
    }

    fn record(order: &str, version: u64) -> (String, Vec<u8>) {
        let env = food_events::new_envelope(
            "t",
            Payload::DeliveryStatusChanged(DeliveryStatusChanged {
                delivery: Some(delivery(order, version).into()),
                previous: 0,
            }),
        );
        (env.event_id.clone(), env.encode_to_vec())
    }

    #[tokio::test]
    async fn a_delivery_change_reaches_every_subscriber() {
        let hub = Hub::new(16);
        let mut a = hub.subscribe();
        let mut b = hub.subscribe();
        let (id, bytes) = record("o1", 2);

        assert_eq!(hub.handle(&bytes), Outcome::Published);

        for rx in [&mut a, &mut b] {
            let e = rx.recv().await.unwrap();
            assert_eq!(e.event_id, id);
            assert_eq!(e.delivery.status, DeliveryStatus::Pending);
        }
    }

    #[tokio::test]
    async fn a_delivery_change_keeps_its_restaurant_for_the_streams() {
        let hub = Hub::new(4);
        let mut rx = hub.subscribe();
        let env = food_events::new_envelope(
            "t",
            Payload::DeliveryStatusChanged(DeliveryStatusChanged {
                delivery: Some(pd::Delivery {
                    order_id: "o".into(),
                    status: pd::DeliveryStatus::Pending as i32,
                    restaurant_id: Some("sakura-sushi".into()),
                    restaurant_name: Some("Sakura Sushi".into()),
                    pickup_address: Some("3 Rue Mercière, 69002 Lyon".into()),
                    ..Default::default()
                }),
                previous: 0,
            }),
        );

        assert_eq!(hub.handle(&env.encode_to_vec()), Outcome::Published);

        // What SSE sends as `data:` and GraphQL resolves from.
        let sent = serde_json::to_value(&rx.recv().await.unwrap().delivery).unwrap();
        assert_eq!(sent["restaurant_id"], "sakura-sushi");
        assert_eq!(sent["restaurant_name"], "Sakura Sushi");
        assert_eq!(sent["pickup_address"], "3 Rue Mercière, 69002 Lyon");
    }

    #[test]
    fn garbage_is_skipped_and_other_events_ignored() {
        let hub = Hub::new(4);
        assert_eq!(hub.handle(b"\xff\x00garbage"), Outcome::Undecodable);
        let env = food_events::new_envelope(
            "t",
            Payload::OrderCancelled(food_proto::events::v1::OrderCancelled {
                order_id: "o".into(),
                customer_id: "c".into(),
                reason: None,
            }),
        );
        assert_eq!(hub.handle(&env.encode_to_vec()), Outcome::Ignored);
    }

    #[test]
    fn a_delivery_event_with_an_unknown_status_is_skipped_not_defaulted() {
        let hub = Hub::new(4);
        let mut rx = hub.subscribe();
        let env = food_events::new_envelope(
            "t",
            Payload::DeliveryStatusChanged(DeliveryStatusChanged {
                delivery: Some(pd::Delivery {
                    order_id: "o".into(),
                    status: 99,
                    ..Default::default()
                }),
                previous: 0,
            }),
        );

        assert_eq!(hub.handle(&env.encode_to_vec()), Outcome::Undecodable);
        assert!(rx.try_recv().is_err(), "nothing was published");
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_is_dropped() {
        let hub = Arc::new(Hub::new(2));
        let mut stream = Box::pin(changes(hub.subscribe()));
        for v in 1..=5 {
            hub.publish(format!("e{v}"), delivery("o", v));
        }
        assert!(stream.next().await.is_none(), "a lagging stream ends");
    }

    #[tokio::test]
    async fn the_global_stream_replays_what_came_after_last_event_id() {
        let hub = Arc::new(Hub::new(16));
        for v in 1..=3 {
            hub.publish(format!("e{v}"), delivery("o", v));
        }
        let caller = ops();
        let shutdown = Shutdown::new();
        let mut s = all_updates(&hub, &caller, Some("e1"), &shutdown).unwrap();
        assert_eq!(s.next().await.unwrap().id, "e2");
        assert_eq!(s.next().await.unwrap().id, "e3");
        hub.publish("e4".into(), delivery("o", 4));
        assert_eq!(s.next().await.unwrap().id, "e4");
        shutdown.trigger();
        assert!(s.next().await.is_none(), "streams end on shutdown");
    }

    #[test]
    fn last_event_id_resolves_to_the_version_it_carried() {
        let hub = Hub::new(4);
        hub.publish("e7".into(), delivery("o", 7));
        assert_eq!(hub.resumed_version("o", Some("e7")), 7);
        assert_eq!(hub.resumed_version("other", Some("e7")), 0);
        assert_eq!(hub.resumed_version("o", Some("v3")), 3);
        assert_eq!(hub.resumed_version("o", Some("unknown")), 0);
        assert_eq!(hub.resumed_version("o", None), 0);
        assert_eq!(hub.id_for(&delivery("o", 7)), "e7");
        assert_eq!(hub.id_for(&delivery("o", 8)), "v8");
    }

    fn ops() -> Caller {
        Caller(Some(crate::auth::Principal {
            role: Role::Ops,
            customer_id: None,
            restaurant_id: None,
            courier_id: None,
            key_id: "k".into(),
        }))
    }
}
