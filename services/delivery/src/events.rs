//! Follows orders: OrderPlaced creates the delivery (PENDING) exactly once
//! per order; OrderCancelled cancels it while it has not been picked up.

use food_api::DeliveryStatus;
use food_events::{Envelope, Handler, Outcome, Payload, topics::Topics};
use food_kit::{Tx, outbox::Waker};

use crate::store::{self, Change};

/// The OrderPlaced / OrderCancelled consumer.
pub struct OrderEvents {
    topics: Topics,
    waker: Waker,
}

impl OrderEvents {
    pub fn new(topics: Topics, waker: Waker) -> Self {
        Self { topics, waker }
    }
}

impl Handler for OrderEvents {
    fn name(&self) -> &str {
        "delivery-service.orders"
    }

    async fn apply(&self, tx: &mut Tx, env: &Envelope) -> anyhow::Result<Outcome> {
        match &env.payload {
            Some(Payload::OrderPlaced(placed)) => {
                let Some(order) = &placed.order else {
                    return Ok(Outcome::Ignored);
                };
                // Keyed on the order id too, so a re-published OrderPlaced
                // with a new event id still creates one delivery.
                match store::create(tx, &self.topics, &env.trace_id, order).await? {
                    Some(d) => {
                        tracing::info!(order_id = %d.order_id, trace_id = %env.trace_id, "delivery created");
                        Ok(Outcome::Applied)
                    }
                    None => Ok(Outcome::Ignored),
                }
            }
            Some(Payload::OrderCancelled(c)) => {
                let Some(current) = store::get_in_tx(tx, &c.order_id).await? else {
                    return Ok(Outcome::Ignored);
                };
                if !matches!(
                    current.status,
                    DeliveryStatus::Pending | DeliveryStatus::Assigned
                ) {
                    tracing::warn!(order_id = %c.order_id, status = %current.status, "order cancelled after pick-up; delivery left as is");
                    return Ok(Outcome::Ignored);
                }
                store::change(
                    tx,
                    &self.topics,
                    &env.trace_id,
                    &current,
                    Change {
                        to: DeliveryStatus::Cancelled,
                        courier: None,
                        eta: None,
                        note: Some(c.reason.as_deref().unwrap_or("order cancelled")),
                    },
                )
                .await?;
                Ok(Outcome::Applied)
            }
            _ => Ok(Outcome::Ignored),
        }
    }

    /// Runs of OrderPlaced events are created together
    /// ([`store::create_all`]); any other event is applied on its own, in
    /// its place, so that a cancel still follows the placement before it.
    async fn apply_all(&self, tx: &mut Tx, envs: &[&Envelope]) -> anyhow::Result<Vec<Outcome>> {
        let mut out = Vec::with_capacity(envs.len());
        let mut i = 0;
        while i < envs.len() {
            let run: Vec<(&str, &food_proto::order::v1::Order)> = envs[i..]
                .iter()
                .map_while(|env| match &env.payload {
                    Some(Payload::OrderPlaced(p)) => {
                        Some(p.order.as_ref().map(|o| (env.trace_id.as_str(), o)))
                    }
                    _ => None,
                })
                .flatten()
                .collect();
            let run_len = envs[i..]
                .iter()
                .take_while(|env| matches!(env.payload, Some(Payload::OrderPlaced(_))))
                .count();
            if run_len == 0 {
                out.push(self.apply(tx, envs[i]).await?);
                i += 1;
                continue;
            }
            let mut created = store::create_all(tx, &self.topics, &run).await?.into_iter();
            for env in &envs[i..i + run_len] {
                let has_order =
                    matches!(&env.payload, Some(Payload::OrderPlaced(p)) if p.order.is_some());
                let delivery = if has_order {
                    created.next().flatten()
                } else {
                    None
                };
                match delivery {
                    Some(d) => {
                        tracing::info!(order_id = %d.order_id, trace_id = %env.trace_id, "delivery created");
                        out.push(Outcome::Applied);
                    }
                    _ => out.push(Outcome::Ignored),
                }
            }
            i += run_len;
        }
        Ok(out)
    }

    fn committed(&self) {
        self.waker.wake();
    }
}
