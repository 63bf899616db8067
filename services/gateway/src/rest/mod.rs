//! The REST routes of docs/design.md ("Gateway API"), `POST /menu/items`
//! included (for `foodctl menu import`). Handlers parse, call
//! [`crate::service::Gateway`] and render; nothing else.

pub mod couriers;
pub mod deliveries;
pub mod menu;
pub mod ops;
pub mod orders;
pub mod restaurants;

use axum::{
    Router,
    routing::{get, post, put},
};

use crate::state::SharedState;

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/restaurants", get(restaurants::list_restaurants))
        .route(
            "/restaurants/{id}",
            get(restaurants::get_restaurant).patch(restaurants::update_restaurant),
        )
        .route("/restaurants/{id}/menu", get(restaurants::restaurant_menu))
        .route(
            "/menu/items",
            get(menu::list_items).post(menu::import_items),
        )
        .route("/menu/items/{id}", get(menu::get_item))
        .route(
            "/orders",
            post(orders::create_order).get(orders::list_orders),
        )
        .route("/orders/{orderId}", get(orders::get_order))
        .route("/orders/{orderId}/cancel", post(orders::cancel_order))
        .route("/orders/{orderId}/accept", post(orders::accept_order))
        .route("/orders/{orderId}/reject", post(orders::reject_order))
        .route("/orders/{orderId}/ready", post(orders::mark_ready))
        .route("/couriers", get(couriers::list_couriers))
        .route("/couriers/{id}", put(couriers::put_courier))
        .route("/couriers/{id}/shift", put(couriers::set_shift))
        .route(
            "/delivery/status/{orderId}",
            get(deliveries::get_status).put(deliveries::update_status),
        )
        .route(
            "/delivery/status/{orderId}/stream",
            get(deliveries::stream_status),
        )
        .route("/deliveries", get(deliveries::list_deliveries))
        .route("/events/deliveries", get(deliveries::stream_all))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
}
