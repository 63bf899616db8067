//! Follows deliveries: each DeliveryStatusChanged moves its order's status
//! as [`OrderStatus::after_delivery`] says (docs/design.md, "Statuses"),
//! applied once and never backwards.

use std::collections::HashMap;

use food_api::{DeliveryStatus, OrderStatus, convert::delivery_status};
use food_events::{Envelope, Payload, topics::Topics};
use food_kit::{
    Handler, Outcome, Tx,
    outbox::{OutboxMessage, Waker, enqueue_all},
};

use crate::store::{self, Move};

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
    /// stays (only the delivery version moves), one conditional UPDATE per
    /// order whose status changes, one read of those orders (lines
    /// included) for their events, and the events in one INSERT. An order
    /// a kitchen call moved between the SELECT and its UPDATE fails the
    /// batch, which is then retried on what is stored.
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
        // order id -> its status before this batch, if the batch changes it
        let mut touched: HashMap<&str, Option<OrderStatus>> = HashMap::new();
        // (order id, previous, next, trace id), in event order
        let mut moves = Vec::new();
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
                touched.entry(order_id).or_insert(None);
                out.push(Outcome::Ignored);
                continue;
            };
            let previous = current.status;
            current.status = next;
            let first = touched.entry(order_id).or_insert(None);
            first.get_or_insert(previous);
            moves.push((order_id, previous, next, env.trace_id.as_str()));
            tracing::info!(order_id, from = %previous, to = %next, trace_id = %env.trace_id, "order status changed");
            out.push(Outcome::Applied);
        }
        let mut versions_only = Vec::new();
        let mut changed = Vec::new();
        for (order_id, before) in touched {
            let current = &orders[order_id];
            match before {
                Some(from) => {
                    let m = Move {
                        delivery_version: Some(current.delivery_version),
                        ..Move::new(from, current.status)
                    };
                    if !store::apply_move(tx, order_id, &m).await? {
                        anyhow::bail!("order {order_id} moved while its delivery events applied");
                    }
                    changed.push(order_id);
                }
                None => versions_only.push((order_id, current.delivery_version)),
            }
        }
        store::set_delivery_versions(tx, &versions_only).await?;
        // Each event carries the whole order as that event left it.
        let whole = store::orders_in_tx(tx, &changed).await?;
        let events: Vec<OutboxMessage> = moves
            .into_iter()
            .map(|(order_id, previous, next, trace_id)| {
                let mut order = whole[order_id].clone();
                order.status = next;
                let env = store::status_changed(trace_id, previous, order);
                OutboxMessage::event(&self.topics.orders, order_id, &env)
            })
            .collect();
        enqueue_all(tx, &events).await?;
        Ok(out)
    }

    fn committed(&self) {
        self.waker.wake();
    }
}
