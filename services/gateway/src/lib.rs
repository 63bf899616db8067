//! The API gateway: the single entry point for clients (docs/design.md, "Gateway API").
//! REST and GraphQL over the menu, order and delivery gRPC services, live
//! delivery streams (SSE and GraphQL subscriptions) fed by Kafka, API-key
//! auth, and the limits that keep a bad client or a broken downstream from
//! hurting the others.
//!
//! # Layout
//! - [`settings`]: [`Settings`], [`ApiKey`], [`Role`], [`hash_key`].
//! - [`startup`]: [`Application`]: binds, composes the routes of each area
//!   (REST, GraphQL, OpenAPI) with the layers, serves until shutdown.
//! - [`state`]: [`state::AppState`], what every handler may need (a leaf).
//! - [`middleware`]: request id, metrics, load shedding, admission (body size, key, rate).
//! - [`auth`]: keys to principals, the [`auth::Caller`] extractor and access rules.
//! - [`ratelimit`]: the per-key token bucket.
//! - [`service`]: what each operation does, shared by REST and GraphQL.
//! - [`downstream`]: the gRPC clients (lazy, with deadlines and the trace id).
//! - [`rest`]: the REST handlers; [`openapi`]: their OpenAPI document.
//! - [`graphql`]: the schema, its HTTP and WebSocket handlers.
//! - [`live`]: the Kafka feed of delivery changes and the streams built on it.
//! - [`order_feed`]: the Kafka feed of order changes for kitchens' subscriptions.
//! - [`error`]: [`ApiError`], the one error type and its renderings.
//! - [`extract`]: extractors with JSON rejections; header and status-filter parsing.

pub mod auth;
pub mod downstream;
pub mod error;
pub mod extract;
pub mod graphql;
pub mod live;
pub mod middleware;
pub mod openapi;
pub mod order_feed;
pub mod ratelimit;
pub mod rest;
pub mod service;
pub mod settings;
pub mod startup;
pub mod state;

pub use error::ApiError;
pub use settings::{ApiKey, Role, Settings, hash_key};
pub use startup::{Application, HEADER_READ_TIMEOUT};
