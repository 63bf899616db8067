//! What every food service stands on.
//!
//! # Layout
//! - [`settings`]: typed settings from defaults, an optional file, then `FOOD_<SERVICE>__*` env vars.
//! - [`telemetry`]: tracing, human or JSON (`FOOD_LOG_FORMAT=json`).
//! - [`shutdown`]: one cancellation token per process, tripped by Ctrl-C or SIGTERM.
//! - [`grpc`]: health, reflection, serving on a bound listener, error details.
//! - [`healthcheck`]: `<binary> healthcheck`, asking the running process.
//! - [`db`]: a SQLite (WAL) or PostgreSQL pool with embedded migrations.
//! - [`page`]: keyset pagination, newest first, for the stores' lists.
//! - [`kafka`]: producer and consumer configs tuned for latency, topic creation.
//! - [`outbox`]: the transactional outbox and its relay.
//! - [`consumer`]: the idempotent consumer: each event applied once, in the
//!   same transaction as the state change, offsets committed afterwards.
//! - [`event_service`]: a gRPC server, its consumer and its outbox relay, run
//!   and stopped together (order- and delivery-service).
//! - [`metrics`]: the Prometheus recorder.
//! - `testing` (feature `test-util`): a broker per test, reading a topic from the start.

pub mod consumer;
pub mod db;
pub mod event_service;
pub mod grpc;
pub mod healthcheck;
pub mod kafka;
pub mod main_helper;
pub mod metrics;
pub mod outbox;
pub mod page;
pub mod settings;
pub mod shutdown;
pub mod telemetry;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;

pub use consumer::{Handled, Handler, Outcome};
pub use db::{Db, Tx};
pub use shutdown::Shutdown;
