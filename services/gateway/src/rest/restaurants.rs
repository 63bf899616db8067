//! `/restaurants`: reads are open to anyone and answered from the menu
//! cache like `/menu/items`; pausing and resuming a kitchen is for ops and
//! the restaurant's own key.

use axum::{Json, extract::State, response::Response};
use food_api::{ItemList, Restaurant, RestaurantList, UpdateRestaurant};
use serde::Deserialize;
use utoipa::IntoParams;

use super::menu::{ItemsQuery, json};
use crate::{
    auth::{Caller, Keyed},
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
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List restaurants.
///
/// By name; filtered by cuisine, whether they are open and text. No key
/// needed.
#[utoipa::path(
    get, path = "/restaurants", tag = "restaurants",
    params(RestaurantsQuery),
    responses(
        (status = 200, description = "a page of restaurants", body = RestaurantList),
        (status = 400, description = "`invalid_argument`: a limit out of range, a cursor of another list, a malformed value"),
    ),
    security((), ("bearer" = []))
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

/// Get a restaurant.
///
/// No key needed.
#[utoipa::path(
    get, path = "/restaurants/{id}", tag = "restaurants",
    params(("id" = String, Path, description = "restaurant id, e.g. `trattoria-da-luca`")),
    responses(
        (status = 200, description = "the restaurant", body = Restaurant),
        (status = 404, description = "`not_found`: no such restaurant"),
    ),
    security((), ("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(restaurant_id = %id))]
pub async fn get_restaurant(
    State(state): State<SharedState>,
    _caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    Ok(json(state.gateway.restaurant_json(&id).await?))
}

/// List a restaurant's menu.
///
/// As `GET /menu/items?restaurant=:id` (a `restaurant` query parameter is
/// ignored). No key needed.
#[utoipa::path(
    get, path = "/restaurants/{id}/menu", tag = "restaurants",
    params(("id" = String, Path, description = "restaurant id, e.g. `trattoria-da-luca`"), ItemsQuery),
    responses(
        (status = 200, description = "a page of that restaurant's items", body = ItemList),
        (status = 400, description = "`invalid_argument`: a limit out of range, a cursor of another list, a malformed value"),
        (status = 404, description = "`not_found`: no such restaurant"),
    ),
    security((), ("bearer" = []))
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

/// Pause or resume a kitchen.
///
/// `{"open": false}` pauses it (new orders answer 422
/// `restaurant_closed`), `{"open": true}` resumes it. Ops, or the
/// restaurant's own key.
#[utoipa::path(
    patch, path = "/restaurants/{id}", tag = "restaurants",
    params(("id" = String, Path, description = "restaurant id, e.g. `trattoria-da-luca`")),
    request_body(content = UpdateRestaurant, content_type = "application/json"),
    responses(
        (status = 200, description = "the updated restaurant", body = Restaurant),
        (status = 400, description = "`invalid_argument`: `open` missing, an unknown field"),
        (status = 403, description = "`permission_denied`: not an ops or restaurant key"),
        (status = 404, description = "`not_found`: no such restaurant (or, for a restaurant key, another restaurant)"),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(restaurant_id = %id))]
pub async fn update_restaurant(
    State(state): State<SharedState>,
    Keyed(caller): Keyed,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateRestaurant>,
) -> Result<Json<Restaurant>, ApiError> {
    let restaurant = state.gateway.update_restaurant(&caller, &id, body).await?;
    tracing::info!(open = restaurant.open, "restaurant updated");
    Ok(Json(restaurant))
}
