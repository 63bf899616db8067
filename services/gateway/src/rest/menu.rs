//! `/menu/items`: reads are open to anyone; imports (restaurants and
//! items) are for ops.

use axum::{
    Json,
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use food_api::{ImportResult, Item, ItemList, MenuImport};
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
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 1000)]
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

/// List menu items.
///
/// By restaurant, category and name; filtered by restaurant, category,
/// availability and text. No key needed.
#[utoipa::path(
    get, path = "/menu/items", tag = "menu",
    params(ItemsQuery),
    responses(
        (status = 200, description = "a page of items", body = ItemList),
        (status = 400, description = "`invalid_argument`: a limit out of range, a cursor of another list, a malformed value"),
        (status = 404, description = "`not_found`: `restaurant` names no restaurant"),
    ),
    security((), ("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn list_items(
    State(state): State<SharedState>,
    _caller: Caller,
    ApiQuery(q): ApiQuery<ItemsQuery>,
) -> Result<Response, ApiError> {
    Ok(json(state.gateway.list_items_json(q.into()).await?))
}

/// Get a menu item.
///
/// No key needed.
#[utoipa::path(
    get, path = "/menu/items/{id}", tag = "menu",
    params(("id" = String, Path, description = "item id, e.g. `margherita`")),
    responses(
        (status = 200, description = "the item", body = Item),
        (status = 404, description = "`not_found`: no such item"),
    ),
    security((), ("bearer" = []))
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

/// Import restaurants and menu items (ops).
///
/// Each restaurant and item is upserted by id, restaurants first, so that
/// an import may bring a new restaurant with its menu; an item's
/// `restaurant_id` names a stored or imported restaurant. The first invalid
/// entry refuses the whole import.
#[utoipa::path(
    post, path = "/menu/items", tag = "menu",
    request_body(content = MenuImport, content_type = "application/json"),
    responses(
        (status = 200, description = "how many were created and updated", body = ImportResult),
        (status = 400, description = "`invalid_argument`: an invalid restaurant or item, an id given twice, or an item whose `restaurant_id` names no restaurant (`details.field` names it, e.g. `items[7].restaurant_id`)"),
        (status = 403, description = "`permission_denied`: not an ops key"),
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
