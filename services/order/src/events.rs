//! Follows deliveries: each DeliveryStatusChanged moves its order's status
//! (docs/design.md, "Statuses"), applied once and never backwards.

use std::collections::HashMap;

use food_api::{DeliveryStatus, convert::delivery_status};
use food_events::{Envelope, Payload, new_envelope, topics::Topics};
use food_kit::{
    Handler, Outcome, Tx,
    outbox::{OutboxMessage, Waker, enqueue_all},
};
use food_proto::{events::v1::OrderStatusChanged, order::v1 as pb};

use crate::store;

/// The DeliveryStatusChanged consumer.
pub struct DeliveryEvents {
    topics: Topics,
    waker: Waker,
}

impl DeliveryEvents {
    pub fn new(topics: Topics, waker: Waker) -> Self {
        Self { topics, waker }
    }
}

impl Handler for DeliveryEvents {
    fn name(&self) -> &str {
        "order-service.deliveries"
    }

    async fn apply(&self, tx: &mut Tx, env: &Envelope) -> anyhow::Result<Outcome> {
        let mut out = self.apply_all(tx, &[env]).await?;
        Ok(out.pop().unwrap_or(Outcome::Ignored))
    }

    /// One SELECT for the batch's orders, the moves worked out in memory in
    /// event order, then the writes: one UPDATE for the orders whose status
    /// stays (only the delivery version moves), one per order whose status
    /// changes, and their OrderStatusChanged events in one INSERT.
    async fn apply_all(&self, tx: &mut Tx, envs: &[&Envelope]) -> anyhow::Result<Vec<Outcome>> {
        let changes: Vec<Option<(&str, DeliveryStatus, i64)>> = envs
            .iter()
            .map(|env| {
                let Some(Payload::DeliveryStatusChanged(change)) = &env.payload else {
                    return None;
                };
                let delivery = change.delivery.as_ref()?;
                let Ok(status) = delivery_status(delivery.status) else {
                    tracing::warn!(event_id = %env.event_id, "delivery event with an unknown status");
                    return None;
                };
                Some((delivery.order_id.as_str(), status, delivery.version as i64))
            })
            .collect();
        let mut ids: Vec<&str> = changes.iter().flatten().map(|(id, _, _)| *id).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut orders = store::current_many(tx, &ids).await?;
        // order id -> whether its status changed in this batch
        let mut touched: HashMap<&str, bool> = HashMap::new();
        let mut events = Vec::new();
        let mut out = Vec::with_capacity(envs.len());
        for (env, change) in envs.iter().zip(&changes) {
            let Some((order_id, status, version)) = *change else {
                out.push(Outcome::Ignored);
                continue;
            };
            let Some(current) = orders.get_mut(order_id) else {
                tracing::warn!(order_id, "delivery event for an unknown order");
                out.push(Outcome::Ignored);
                continue;
            };
            if version <= current.delivery_version {
                out.push(Outcome::Ignored);
                continue;
            }
            current.delivery_version = version;
            let Some(next) = current.status.after_delivery(status) else {
                touched.entry(order_id).or_insert(false);
                out.push(Outcome::Ignored);
                continue;
            };
            let previous = current.status;
            current.status = next;
            touched.insert(order_id, true);
            let changed = new_envelope(
                &env.trace_id,
                Payload::OrderStatusChanged(OrderStatusChanged {
                    order_id: order_id.to_owned(),
                    previous: pb::OrderStatus::from(previous) as i32,
                    status: pb::OrderStatus::from(next) as i32,
                    // TODO(kitchen): the whole order.
                    order: None,
                }),
            );
            events.push(OutboxMessage::event(
                &self.topics.orders,
                order_id,
                &changed,
            ));
            tracing::info!(order_id, from = %previous, to = %next, trace_id = %env.trace_id, "order status changed");
            out.push(Outcome::Applied);
        }
        let mut versions_only = Vec::new();
        for (order_id, status_changed) in touched {
            let current = &orders[order_id];
            if status_changed {
                store::set_status(tx, order_id, current.status, Some(current.delivery_version))
                    .await?;
            } else {
                versions_only.push((order_id, current.delivery_version));
            }
        }
        store::set_delivery_versions(tx, &versions_only).await?;
        enqueue_all(tx, &events).await?;
        Ok(out)
    }

    fn committed(&self) {
        self.waker.wake();
    }
}
