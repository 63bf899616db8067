//! Whole-system tests:
//! - `e2e/`: a real `food-stack` (broker process, three services, gateway)
//!   driven through the gateway, restarted on its data dir, watched live.
//! - `api/`: the gateway's whole surface (REST, GraphQL, SSE, WebSocket
//!   subscriptions, the auth matrix, every error status, the limits) against
//!   the platform as `food-stack` starts it, on a broker of each test's own.
