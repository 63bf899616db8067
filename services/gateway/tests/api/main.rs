//! The gateway driven over HTTP and WebSocket against a real platform:
//! broker, menu, order and delivery services, all in-process.

mod auth;
mod errors;
mod flow;
mod graphql;
mod helpers;
mod live;
mod ops;
