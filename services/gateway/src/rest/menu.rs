//! `/menu/items`: reads are open to anyone; imports (restaurants and
//! items) are for ops.

use axum::{
    Json,
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use food_api::{ImportResult, MenuImport};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::{
    auth::Caller,
    error::ApiError,
    extract::{ApiJson, ApiPath, ApiQuery},
    service::ItemFilter,
    state::SharedState,
};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ItemsQuery {
    /// Only this restaurant's items (a restaurant id).
    pub restaurant: Option<String>,
    /// Only this category.
    pub category: Option<String>,
    /// `true`: only items that can be ordered now.
    pub available: Option<bool>,
    /// Case-insensitive text in name, description or tags.
    pub q: Option<String>,
    /// Page size, 1..=1000 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl From<ItemsQuery> for ItemFilter {
    fn from(q: ItemsQuery) -> Self {
        Self {
            restaurant: q.restaurant,
            category: q.category,
            available: q.available,
            query: q.q,
            limit: q.limit,
            cursor: q.cursor,
        }
    }
}

#[utoipa::path(
    get, path = "/menu/items", tag = "menu",
    params(ItemsQuery),
    responses(
        (status = 200, description = "`ItemList`: `{\"items\": [Item], \"next_cursor\"}`", body = Object),
        (status = 400, description = "bad query", body = Object),
        (status = 404, description = "`restaurant` names no restaurant", body = Object),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn list_items(
    State(state): State<SharedState>,
    _caller: Caller,
    ApiQuery(q): ApiQuery<ItemsQuery>,
) -> Result<Response, ApiError> {
    Ok(json(state.gateway.list_items_json(q.into()).await?))
}

#[utoipa::path(
    get, path = "/menu/items/{id}", tag = "menu",
    params(("id" = String, Path, description = "item id")),
    responses(
        (status = 200, description = "`Item`", body = Object),
        (status = 404, description = "no such item", body = Object),
    )
)]
#[tracing::instrument(skip_all, fields(item_id = %id))]
pub async fn get_item(
    State(state): State<SharedState>,
    _caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    Ok(json(state.gateway.item_json(&id).await?))
}

/// A body that is JSON already (a cached menu read).
pub(crate) fn json(body: Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

#[utoipa::path(
    post, path = "/menu/items", tag = "menu",
    request_body(content = Object, description = "`MenuImport`: `{\"restaurants\"?: [Restaurant], \"items\": [Item]}`, each upserted by id, restaurants first; an item's `restaurant_id` must name a stored or imported restaurant", content_type = "application/json"),
    responses(
        (status = 200, description = "`ImportResult`: `{\"created\", \"updated\"}`", body = Object),
        (status = 400, description = "an invalid restaurant or item (`details.field` names it, e.g. `items[7].restaurant_id`)", body = Object),
        (status = 401, description = "no key", body = Object),
        (status = 403, description = "not an ops key", body = Object),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn import_items(
    State(state): State<SharedState>,
    caller: Caller,
    ApiJson(body): ApiJson<MenuImport>,
) -> Result<Json<ImportResult>, ApiError> {
    Ok(Json(state.gateway.import_menu(&caller, body).await?))
}
