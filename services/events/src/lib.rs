//! The event contract: topic names, the envelope and its headers, encoding
//! and decoding. Light on purpose (prost messages, no runtime): the services,
//! the gateway and the clients all read events through it. Publishing
//! (the outbox) and applying events (the idempotent consumer) are server
//! runtime and live in food-kit.
//!
//! # Layout
//! - [`topics`]: topic names (with an optional prefix for tests).
//! - [`envelope`]: building, encoding and decoding `food.events.v1.Envelope`.
//! - `kafka` (feature `kafka`): the Kafka settings of the topics' readers.

pub mod envelope;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod topics;

pub use envelope::{CONTENT_TYPE, Envelope, EventType, decode, event_json, new_envelope};
pub use food_proto::events::v1::envelope::Payload;
