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

    fn committed(&self) {
        self.waker.wake();
    }
}
