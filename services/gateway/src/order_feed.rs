//! Live order changes for kitchens: a second Kafka consumer per gateway
//! replica reads `food.orders.v1` from the latest offset (like the delivery
//! feed in [`crate::live`]) and fans each order out to the GraphQL
//! `orderStatusChanged(restaurantId)` subscriptions. OrderPlaced and
//! OrderStatusChanged both carry the whole order; OrderCancelled carries
//! none and is followed by an OrderStatusChanged, so it is ignored.

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use food_api::Order;
use food_events::Payload;
use food_kit::{Shutdown, settings::KafkaSettings};
use futures::{Stream, StreamExt, stream};
use tokio::sync::{broadcast, oneshot};

use crate::{
    auth::Caller,
    error::ApiError,
    live::{Feed, tail},
    service::Gateway,
    settings::Role,
};

/// One order change as read from Kafka.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderEvent {
    /// The Kafka event id.
    pub event_id: String,
    /// The order after the change.
    pub order: Order,
}

pub type OrderStream = Pin<Box<dyn Stream<Item = OrderEvent> + Send>>;

/// The fan-out point between the orders consumer and the subscriptions.
#[derive(Debug)]
pub struct OrderHub {
    tx: broadcast::Sender<Arc<OrderEvent>>,
    /// Set once the consumer has its partitions.
    live: AtomicBool,
}

/// Outcome of handling one Kafka record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Published,
    /// A valid event that carries no order.
    Ignored,
    Undecodable,
}

impl OrderHub {
    /// `capacity` is how far a subscription may fall behind before it is dropped.
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        Self {
            tx,
            live: AtomicBool::new(false),
        }
    }

    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Relaxed)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<OrderEvent>> {
        self.tx.subscribe()
    }

    /// The single step of the consumer: decode one record value and publish
    /// the order it carries.
    pub fn handle(&self, payload: &[u8]) -> Outcome {
        let env = match food_events::decode(payload) {
            Ok(env) => env,
            Err(e) => {
                tracing::warn!(error = %e, "skipping an undecodable order event");
                return Outcome::Undecodable;
            }
        };
        let order = match env.payload {
            Some(Payload::OrderPlaced(placed)) => placed.order,
            Some(Payload::OrderStatusChanged(changed)) => changed.order,
            _ => return Outcome::Ignored,
        };
        let Some(order) = order else {
            // An OrderStatusChanged from before events carried the order.
            return Outcome::Ignored;
        };
        match Order::try_from(order) {
            Ok(order) => {
                self.publish(env.event_id, order);
                Outcome::Published
            }
            Err(e) => {
                tracing::error!(error = %e, event_id = %env.event_id, "skipping an order event with an unknown status");
                Outcome::Undecodable
            }
        }
    }

    pub fn publish(&self, event_id: String, order: Order) {
        metrics::counter!("gateway_order_events_total").increment(1);
        let _ = self.tx.send(Arc::new(OrderEvent { event_id, order }));
    }
}

/// One restaurant's order changes from now on (no initial state: a kitchen
/// reads the `orders` query first). Ops may watch any restaurant, a
/// restaurant key only its own (another is 404, as an unknown one).
pub async fn restaurant_orders(
    gateway: &Gateway,
    hub: &Arc<OrderHub>,
    caller: &Caller,
    restaurant_id: &str,
    shutdown: &Shutdown,
) -> Result<OrderStream, ApiError> {
    let p = caller.require(&[Role::Restaurant, Role::Ops])?;
    if p.own_restaurant().is_some_and(|own| own != restaurant_id) {
        return Err(
            ApiError::not_found(format!("no restaurant with id {restaurant_id:?}"))
                .with_detail("id", restaurant_id),
        );
    }
    // Subscribe first: a change while the restaurant is read is kept.
    let rx = hub.subscribe();
    gateway.restaurant(restaurant_id).await?;
    let restaurant_id = restaurant_id.to_owned();
    let changes = stream::unfold(rx, |mut rx| async move {
        match rx.recv().await {
            Ok(event) => Some((event, rx)),
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                metrics::counter!("gateway_live_dropped_streams_total").increment(1);
                tracing::info!(missed, "dropping an order subscription that fell behind");
                None
            }
            Err(broadcast::error::RecvError::Closed) => None,
        }
    })
    .filter_map(move |e| {
        let mine = e.order.restaurant_id.as_deref() == Some(restaurant_id.as_str());
        futures::future::ready(mine.then(|| (*e).clone()))
    });
    let shutdown = shutdown.clone();
    Ok(Box::pin(
        changes.take_until(async move { shutdown.cancelled().await }),
    ))
}

/// Runs the orders consumer until shutdown; `ready` fires once its
/// partitions are assigned at their latest offsets.
pub async fn run_consumer(
    kafka: KafkaSettings,
    hub: Arc<OrderHub>,
    shutdown: Shutdown,
    ready: oneshot::Sender<()>,
) {
    let topic = food_events::topics::Topics::with_prefix(&kafka.topic_prefix).orders;
    let feed = hub.clone();
    tail(
        Feed {
            kafka,
            topic,
            name: "live order feed",
            group_infix: "-orders",
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

#[cfg(test)]
mod tests {
    use super::*;
    use food_api::OrderStatus;
    use food_proto::{
        events::v1::{OrderCancelled, OrderPlaced, OrderStatusChanged},
        order::v1 as po,
    };
    use prost::Message as _;

    fn order(id: &str, restaurant: &str, status: po::OrderStatus) -> po::Order {
        po::Order {
            id: id.into(),
            customer_id: "c".into(),
            restaurant_id: Some(restaurant.into()),
            status: status as i32,
            currency: "EUR".into(),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn placed_and_changed_orders_reach_subscribers_whole() {
        let hub = OrderHub::new(8);
        let mut rx = hub.subscribe();
        let placed = food_events::new_envelope(
            "t",
            Payload::OrderPlaced(OrderPlaced {
                order: Some(order("o1", "maison-tandoor", po::OrderStatus::Placed)),
            }),
        );
        let changed = food_events::new_envelope(
            "t",
            Payload::OrderStatusChanged(OrderStatusChanged {
                order_id: "o1".into(),
                previous: po::OrderStatus::Placed as i32,
                status: po::OrderStatus::Preparing as i32,
                order: Some(order("o1", "maison-tandoor", po::OrderStatus::Preparing)),
            }),
        );

        assert_eq!(hub.handle(&placed.encode_to_vec()), Outcome::Published);
        assert_eq!(hub.handle(&changed.encode_to_vec()), Outcome::Published);

        let first = rx.recv().await.unwrap();
        assert_eq!(first.event_id, placed.event_id);
        assert_eq!(first.order.status, OrderStatus::Placed);
        let second = rx.recv().await.unwrap();
        assert_eq!(second.order.status, OrderStatus::Preparing);
        assert_eq!(
            second.order.restaurant_id.as_deref(),
            Some("maison-tandoor")
        );
    }

    #[test]
    fn events_without_an_order_and_garbage_are_not_published() {
        let hub = OrderHub::new(4);
        let mut rx = hub.subscribe();
        let cancelled = food_events::new_envelope(
            "t",
            Payload::OrderCancelled(OrderCancelled {
                order_id: "o".into(),
                customer_id: "c".into(),
                reason: None,
            }),
        );
        let bare = food_events::new_envelope(
            "t",
            Payload::OrderStatusChanged(OrderStatusChanged {
                order_id: "o".into(),
                previous: 1,
                status: 2,
                order: None,
            }),
        );

        assert_eq!(hub.handle(&cancelled.encode_to_vec()), Outcome::Ignored);
        assert_eq!(hub.handle(&bare.encode_to_vec()), Outcome::Ignored);
        assert_eq!(hub.handle(b"\xff\x00garbage"), Outcome::Undecodable);
        assert!(rx.try_recv().is_err(), "nothing was published");
    }
}
