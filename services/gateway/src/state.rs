//! What every handler may need, shared by the REST, GraphQL and OpenAPI
//! routes and the middleware. A leaf: it names no handler module, so the
//! route modules and startup (which builds it) can all depend on it.

use std::sync::Arc;

use food_kit::Shutdown;

use crate::{
    auth::KeyStore, live::Hub, order_feed::OrderHub, ratelimit::RateLimiter, service::Gateway,
};

/// Everything a handler may need.
pub struct AppState {
    pub gateway: Gateway,
    pub keys: KeyStore,
    pub limiter: Option<RateLimiter>,
    pub hub: Arc<Hub>,
    /// Order changes, for kitchens' subscriptions.
    pub orders: Arc<OrderHub>,
    pub graphiql: bool,
    pub body_limit: usize,
    pub shutdown: Shutdown,
}

pub type SharedState = Arc<AppState>;
