//! Follows deliveries: each DeliveryStatusChanged moves its order's status
//! (DESIGN.md section 5), applied once and never backwards.

use food_api::convert::delivery_status;
use food_events::{Envelope, Handler, Outcome, Payload, new_envelope, to_outbox, topics::Topics};
use food_kit::{
    Tx,
    outbox::{Waker, enqueue},
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
        let Some(Payload::DeliveryStatusChanged(change)) = &env.payload else {
            return Ok(Outcome::Ignored);
        };
        let Some(delivery) = &change.delivery else {
            return Ok(Outcome::Ignored);
        };
        let Ok(status) = delivery_status(delivery.status) else {
            tracing::warn!(event_id = %env.event_id, "delivery event with an unknown status");
            return Ok(Outcome::Ignored);
        };
        let order_id = delivery.order_id.as_str();
        let Some(store::Current {
            status: current,
            delivery_version: applied_version,
            ..
        }) = store::current_in_tx(tx, order_id).await?
        else {
            tracing::warn!(order_id, "delivery event for an unknown order");
            return Ok(Outcome::Ignored);
        };
        let version = delivery.version as i64;
        if version <= applied_version {
            return Ok(Outcome::Ignored);
        }
        let next = status.order_status();
        if current.is_terminal() || next == current {
            store::set_delivery_version(tx, order_id, version).await?;
            return Ok(Outcome::Ignored);
        }
        store::set_status(tx, order_id, next, Some(version)).await?;
        let changed = new_envelope(
            &env.trace_id,
            Payload::OrderStatusChanged(OrderStatusChanged {
                order_id: order_id.to_owned(),
                previous: pb::OrderStatus::from(current) as i32,
                status: pb::OrderStatus::from(next) as i32,
            }),
        );
        enqueue(tx, &to_outbox(&self.topics.orders, order_id, &changed)).await?;
        tracing::info!(order_id, from = %current, to = %next, trace_id = %env.trace_id, "order status changed");
        Ok(Outcome::Applied)
    }

    fn committed(&self) {
        self.waker.wake();
    }
}
