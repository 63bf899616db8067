//! `/restaurants`: reads are open to anyone and answered from the menu
//! cache like `/menu/items`; pausing and resuming a kitchen is for ops and
//! the restaurant's own key.

use axum::{Json, extract::State, response::Response};
use food_api::{Restaurant, UpdateRestaurant};
use serde::Deserialize;
use utoipa::IntoParams;

use super::menu::{ItemsQuery, json};
use crate::{
    auth::Caller,
    error::ApiError,
    extract::{ApiJson, ApiPath, ApiQuery},
    service::{ItemFilter, RestaurantFilter},
    state::SharedState,
};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RestaurantsQuery {
    /// Only this cuisine (case-insensitive), e.g. `italian`.
    pub cuisine: Option<String>,
    /// `true`: only restaurants taking orders now.
    pub open: Option<bool>,
    /// Case-insensitive text in name, cuisine, address or tags.
    pub q: Option<String>,
    /// Page size, 1..=1000 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[utoipa::path(
    get, path = "/restaurants", tag = "restaurants",
    params(RestaurantsQuery),
    responses(
        (status = 200, description = "`RestaurantList`: `{\"restaurants\": [Restaurant], \"next_cursor\"}`, by name", body = Object),
        (status = 400, description = "bad query", body = Object),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn list_restaurants(
    State(state): State<SharedState>,
    _caller: Caller,
    ApiQuery(q): ApiQuery<RestaurantsQuery>,
) -> Result<Response, ApiError> {
    let filter = RestaurantFilter {
        cuisine: q.cuisine,
        open: q.open,
        query: q.q,
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(json(state.gateway.list_restaurants_json(filter).await?))
}

#[utoipa::path(
    get, path = "/restaurants/{id}", tag = "restaurants",
    params(("id" = String, Path, description = "restaurant id, e.g. `trattoria-da-luca`")),
    responses(
        (status = 200, description = "`Restaurant`", body = Object),
        (status = 404, description = "no such restaurant", body = Object),
    )
)]
#[tracing::instrument(skip_all, fields(restaurant_id = %id))]
pub async fn get_restaurant(
    State(state): State<SharedState>,
    _caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    Ok(json(state.gateway.restaurant_json(&id).await?))
}

#[utoipa::path(
    get, path = "/restaurants/{id}/menu", tag = "restaurants",
    params(("id" = String, Path, description = "restaurant id"), ItemsQuery),
    responses(
        (status = 200, description = "`ItemList`: `{\"items\": [Item], \"next_cursor\"}`, that restaurant's items (as `GET /menu/items?restaurant=:id`; a `restaurant` query parameter is ignored)", body = Object),
        (status = 400, description = "bad query", body = Object),
        (status = 404, description = "no such restaurant", body = Object),
    )
)]
#[tracing::instrument(skip_all, fields(restaurant_id = %id))]
pub async fn restaurant_menu(
    State(state): State<SharedState>,
    _caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<ItemsQuery>,
) -> Result<Response, ApiError> {
    let filter = ItemFilter::from(q);
    Ok(json(state.gateway.restaurant_menu_json(&id, filter).await?))
}

#[utoipa::path(
    patch, path = "/restaurants/{id}", tag = "restaurants",
    params(("id" = String, Path, description = "restaurant id")),
    request_body(content = Object, content_type = "application/json",
        description = "`UpdateRestaurant`: `{\"open\": false}` pauses the kitchen (new orders answer 422 `restaurant_closed`), `{\"open\": true}` resumes it"),
    responses(
        (status = 200, description = "the updated `Restaurant`", body = Object),
        (status = 400, description = "invalid body (`open` missing, an unknown field)", body = Object),
        (status = 401, description = "no key", body = Object),
        (status = 403, description = "not an ops or restaurant key", body = Object),
        (status = 404, description = "no such restaurant (or, for a restaurant key, another restaurant)", body = Object),
        (status = 413, description = "body too large", body = Object),
        (status = 415, description = "not JSON", body = Object),
        (status = 429, description = "rate limited", body = Object),
        (status = 503, description = "menu-service is unavailable", body = Object),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(restaurant_id = %id))]
pub async fn update_restaurant(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateRestaurant>,
) -> Result<Json<Restaurant>, ApiError> {
    let restaurant = state.gateway.update_restaurant(&caller, &id, body).await?;
    tracing::info!(open = restaurant.open, "restaurant updated");
    Ok(Json(restaurant))
}
