//! What the platform's clients (`foodctl`, `food-board`) share, and nothing
//! of the server runtime: the gateway's REST API and its event streams, the
//! contexts file, and the Kafka settings for reading the event topics.
//!
//! Both clients and `food-stack` (which writes the `local` contexts) go
//! through this crate, so the wire rules and the file format are written
//! once (docs/design.md).
//!
//! # Layout
//! - [`gateway`]: the HTTP client of the gateway ([`Client`]), built from a
//!   plain [`Endpoint`] (URL, token, timeout); typed `food_api` shapes in,
//!   typed shapes or raw bodies out, and one [`ApiError`] carrying the HTTP
//!   status and the API's error body.
//! - [`sse`]: the Server-Sent Events reader ([`SseParser`], and the
//!   [`EventStream`] that feeds it from a response).
//! - [`contexts`]: the contexts file (`$XDG_CONFIG_HOME/foodctl/config.toml`),
//!   read and written by the same typed code.
//! - [`duration`]: `10s`, `2m`, `1h30m` as flags take them.
//! - [`DEFAULT_GATEWAY`] and [`DEFAULT_TIMEOUT`]: where and how long to ask
//!   when nothing says otherwise.

use std::time::Duration;

pub mod contexts;
pub mod duration;
pub mod gateway;
pub mod sse;

pub use contexts::{Context, ContextsError, ContextsFile, contexts_path, contexts_path_from};
pub use duration::{parse_duration, parse_duration_with_unit};
pub use gateway::{
    ApiError, BadGateway, BuildError, Client, Endpoint, normalise_gateway, path_segment, routes,
};
pub use sse::{EventStream, SseEvent, SseParser};

/// Where the gateway listens when no flag or context says otherwise
/// (docs/design.md).
pub const DEFAULT_GATEWAY: &str = "http://127.0.0.1:8080";

/// How long one plain request may take when nothing says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
