//! The OpenAPI document at `/openapi.json`, generated from the handlers'
//! `#[utoipa::path]` annotations; a test checks that it lists every route.
//!
//! Bodies are described as objects named in each response's description:
//! the JSON types live in `food-api`, which does not derive utoipa schemas.

use axum::{
    Json, Router,
    response::{IntoResponse, Response},
    routing::get,
};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use crate::{
    rest::{couriers, deliveries, menu, ops, orders, restaurants},
    state::SharedState,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "food platform gateway",
        description = "REST API of the food ordering and delivery platform. Errors are \
            `{\"error\": {\"code\", \"message\", \"details\"}}`. GraphQL is served at `/graphql` \
            (POST; WebSocket `graphql-transport-ws` for subscriptions)."
    ),
    paths(
        restaurants::list_restaurants,
        restaurants::get_restaurant,
        restaurants::restaurant_menu,
        restaurants::update_restaurant,
        menu::list_items,
        menu::get_item,
        menu::import_items,
        orders::create_order,
        orders::get_order,
        orders::list_orders,
        orders::cancel_order,
        orders::accept_order,
        orders::reject_order,
        orders::mark_ready,
        couriers::list_couriers,
        couriers::set_shift,
        couriers::put_courier,
        deliveries::get_status,
        deliveries::update_status,
        deliveries::list_deliveries,
        deliveries::stream_status,
        deliveries::stream_all,
        ops::healthz,
        ops::readyz,
        ops::metrics,
        document,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "restaurants", description = "browse restaurants and their menus (no key needed); ops pause and resume a kitchen"),
        (name = "menu", description = "browse (no key needed) and import the menu"),
        (name = "orders", description = "place and follow orders"),
        (name = "kitchen", description = "a restaurant accepts (with a ready-by time), rejects and readies its orders"),
        (name = "couriers", description = "couriers, their shifts and their load"),
        (name = "deliveries", description = "delivery status, updates and live streams"),
        (name = "ops", description = "health, readiness, metrics"),
    )
)]
pub struct ApiDoc;

/// The document `/openapi.json` serves (exported to docs/api/openapi.json).
pub fn document_value() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

pub fn routes() -> Router<SharedState> {
    Router::new().route("/openapi.json", get(document))
}

#[utoipa::path(get, path = "/openapi.json", tag = "ops",
    responses((status = 200, description = "this document", body = Object)))]
pub async fn document() -> Response {
    Json(document_value()).into_response()
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_lists_the_seed_routes() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        for (method, path) in [
            ("get", "/menu/items"),
            ("get", "/menu/items/{id}"),
            ("post", "/orders"),
            ("get", "/orders/{orderId}"),
            ("get", "/delivery/status/{orderId}"),
            ("put", "/delivery/status/{orderId}"),
            ("get", "/restaurants"),
            ("get", "/restaurants/{id}"),
            ("get", "/restaurants/{id}/menu"),
            ("patch", "/restaurants/{id}"),
            ("post", "/orders/{orderId}/accept"),
            ("post", "/orders/{orderId}/reject"),
            ("post", "/orders/{orderId}/ready"),
            ("get", "/couriers"),
            ("put", "/couriers/{id}/shift"),
            ("put", "/couriers/{id}"),
        ] {
            assert!(doc["paths"][path][method].is_object(), "{method} {path}");
        }
    }
}
