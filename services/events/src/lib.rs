//! Kafka events: topic names, the envelope, its headers, and the idempotent
//! consumer.
//!
//! # Layout
//! - [`topics`]: topic names (with an optional prefix for tests).
//! - [`envelope`]: building, encoding and decoding `food.events.v1.Envelope`.
//! - [`consumer`]: applying each event once, in the same transaction as the
//!   state change, committing offsets only afterwards.
//! - [`service`]: a gRPC server, its consumer and its outbox relay, run and
//!   stopped together (order- and delivery-service).

pub mod consumer;
pub mod envelope;
pub mod service;
pub mod topics;

pub use consumer::{Handled, Handler, Outcome};
pub use envelope::{
    CONTENT_TYPE, Envelope, EventType, decode, event_json, new_envelope, to_outbox,
};
pub use food_proto::events::v1::envelope::Payload;
