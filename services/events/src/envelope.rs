//! The event envelope: `food.events.v1.Envelope { event_id, occurred_at,
//! trace_id, oneof payload }`, protobuf-encoded, with `event-type` and
//! `content-type` headers. The trace id travels in the envelope only: the
//! embedded broker stores each header as a row of its own and reads it
//! back for every consumer, so a header no consumer reads is not free.

pub use food_proto::events::v1::Envelope;
use food_proto::events::v1::envelope::Payload;
use prost::Message;

/// The `content-type` header of every event.
pub const CONTENT_TYPE: &str = "application/x-protobuf; messageType=food.events.v1.Envelope";

/// The `event-type` header values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    OrderPlaced,
    OrderCancelled,
    OrderStatusChanged,
    DeliveryStatusChanged,
}

impl EventType {
    pub fn of(payload: &Payload) -> Self {
        match payload {
            Payload::OrderPlaced(_) => Self::OrderPlaced,
            Payload::OrderCancelled(_) => Self::OrderCancelled,
            Payload::OrderStatusChanged(_) => Self::OrderStatusChanged,
            Payload::DeliveryStatusChanged(_) => Self::DeliveryStatusChanged,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrderPlaced => "OrderPlaced",
            Self::OrderCancelled => "OrderCancelled",
            Self::OrderStatusChanged => "OrderStatusChanged",
            Self::DeliveryStatusChanged => "DeliveryStatusChanged",
        }
    }
}

/// A new envelope with a fresh UUIDv7 event id, stamped now.
pub fn new_envelope(trace_id: &str, payload: Payload) -> Envelope {
    Envelope {
        event_id: uuid::Uuid::now_v7().to_string(),
        occurred_at: Some(food_api::convert::to_timestamp(chrono::Utc::now())),
        trace_id: trace_id.to_owned(),
        payload: Some(payload),
    }
}

/// Decodes a record value; an envelope without a payload is an error too.
pub fn decode(bytes: &[u8]) -> anyhow::Result<Envelope> {
    let env = Envelope::decode(bytes)?;
    if env.payload.is_none() {
        anyhow::bail!("event {} has no payload", env.event_id);
    }
    if env.event_id.is_empty() {
        anyhow::bail!("event without an event id");
    }
    Ok(env)
}

/// The event as JSON, with payloads in the gateway's JSON shapes
/// (`foodctl events tail`).
pub fn event_json(env: &Envelope) -> serde_json::Value {
    use serde_json::json;
    let occurred_at = food_api::convert::from_timestamp(env.occurred_at.as_ref());
    let (kind, payload) = match &env.payload {
        Some(Payload::OrderPlaced(p)) => (
            "OrderPlaced",
            json!({ "order": p.order.clone().map(food_api::Order::from) }),
        ),
        Some(Payload::OrderCancelled(p)) => (
            "OrderCancelled",
            json!({ "order_id": p.order_id, "customer_id": p.customer_id, "reason": p.reason }),
        ),
        Some(Payload::OrderStatusChanged(p)) => (
            "OrderStatusChanged",
            json!({
                "order_id": p.order_id,
                "previous": food_api::convert::order_status(p.previous).ok(),
                "status": food_api::convert::order_status(p.status).ok(),
            }),
        ),
        Some(Payload::DeliveryStatusChanged(p)) => (
            "DeliveryStatusChanged",
            json!({
                "delivery": p.delivery.clone().map(food_api::Delivery::from),
                "previous": food_api::convert::delivery_status(p.previous).ok(),
            }),
        ),
        None => ("Unknown", serde_json::Value::Null),
    };
    json!({
        "event_id": env.event_id,
        "event_type": kind,
        "occurred_at": occurred_at,
        "trace_id": env.trace_id,
        "payload": payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use food_proto::events::v1::OrderCancelled;

    #[test]
    fn an_envelope_survives_encoding() {
        let env = new_envelope(
            "trace-1",
            Payload::OrderCancelled(OrderCancelled {
                order_id: "o1".into(),
                customer_id: "c1".into(),
                reason: None,
            }),
        );
        let back = decode(&env.encode_to_vec()).unwrap();
        assert_eq!(back, env);
        assert_eq!(back.trace_id, "trace-1");
        assert_eq!(
            EventType::of(back.payload.as_ref().unwrap()),
            EventType::OrderCancelled
        );
        assert_eq!(event_json(&back)["event_type"], "OrderCancelled");
    }

    #[test]
    fn garbage_and_empty_envelopes_are_refused() {
        assert!(decode(b"\xff\xff\xff").is_err());
        assert!(decode(&Envelope::default().encode_to_vec()).is_err());
    }
}
