//! The gateway's whole surface driven over HTTP, SSE and WebSocket
//! (graphql-transport-ws) against the platform as `food-stack` starts it:
//! menu, order and delivery services in-process on a broker of the test's
//! own. Restaurants and their menus, the routes, the auth matrix
//! (anonymous, two customers, couriers, kitchens, ops), the kitchen and
//! the couriers, every error status and the limits, and that keys stay
//! secret (logs, events, metrics, file modes).

mod auth;
mod contract;
mod couriers;
mod errors;
mod flow;
mod graphql;
mod helpers;
mod kitchen;
mod live;
mod ops;
mod restaurants;
mod security;
mod shortids;
