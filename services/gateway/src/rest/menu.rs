//! `/menu/items`: reads are open to anyone; imports (restaurants and
//! items) are for ops.

use axum::{
    Json,
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use std::collections::HashSet;

use food_api::{ErrorCode, ImportResult, Item, ItemList, MenuImport};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::{
    auth::{Caller, Keyed},
    error::ApiError,
    extract::{ApiJson, ApiPath, ApiQuery},
    service::ItemFilter,
    settings::Role,
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
        (status = 400, description = "`invalid_argument`: an invalid restaurant or item (`details.field` names it, e.g. `items[7].price_cents`)"),
        (status = 403, description = "`permission_denied`: not an ops key"),
        (status = 422, description = "`invalid_argument`: an id given twice in the import, or an item whose `restaurant_id` names no stored or imported restaurant (`details.field` names it, e.g. `items[7].restaurant_id`)"),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn import_items(
    State(state): State<SharedState>,
    Keyed(caller): Keyed,
    ApiJson(body): ApiJson<MenuImport>,
) -> Result<Json<ImportResult>, ApiError> {
    caller.require(&[Role::Ops])?;
    check_unique_ids(&body)?;
    let restaurant_ids: Vec<String> = body.items.iter().map(|i| i.restaurant_id.clone()).collect();
    match state.gateway.import_menu(&caller, body).await {
        Ok(result) => Ok(Json(result)),
        Err(e) => Err(unknown_restaurant_is_unprocessable(e, &restaurant_ids)),
    }
}

/// Each restaurant and each item appears once in an import: which of two
/// entries should win would be a guess. The JSON is well formed either
/// way, so a repeat is a 422 naming the second entry.
fn check_unique_ids(import: &MenuImport) -> Result<(), ApiError> {
    fn first_repeat<'a>(ids: impl Iterator<Item = &'a str>) -> Option<(usize, &'a str)> {
        let mut seen = HashSet::new();
        ids.enumerate().find(|(_, id)| !seen.insert(*id))
    }
    let repeats = [
        (
            "restaurants",
            first_repeat(import.restaurants.iter().map(|r| r.id.as_str())),
        ),
        (
            "items",
            first_repeat(import.items.iter().map(|i| i.id.as_str())),
        ),
    ];
    for (list, repeat) in repeats {
        if let Some((index, id)) = repeat {
            return Err(ApiError::unprocessable(
                format!("{list}[{index}].id"),
                format!("{list}[{index}].id: {id} appears more than once in the import"),
            ));
        }
    }
    Ok(())
}

/// menu-service refuses an item whose `restaurant_id` names no restaurant
/// as an invalid argument on that field; when the id itself is well formed
/// (a slug), it is a reference to nothing: a 422.
fn unknown_restaurant_is_unprocessable(err: ApiError, restaurant_ids: &[String]) -> ApiError {
    let ApiError::Coded {
        code: ErrorCode::InvalidArgument,
        message,
        details,
    } = &err
    else {
        return err;
    };
    let Some(field) = details.get("field").and_then(|f| f.as_str()) else {
        return err;
    };
    let index = field
        .strip_prefix("items[")
        .and_then(|f| f.strip_suffix("].restaurant_id"))
        .and_then(|i| i.parse::<usize>().ok());
    match index.and_then(|i| restaurant_ids.get(i)) {
        Some(id) if is_slug(id) => ApiError::unprocessable(field, message.clone()),
        _ => err,
    }
}

/// The form of restaurant and item ids: 1 to 64 of `a-z`, `0-9`, `-`, `_`.
fn is_slug(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use food_api::{Item, Restaurant};

    fn item(id: &str) -> Item {
        serde_json::from_value(serde_json::json!({
            "id": id, "restaurant_id": "r", "name": "n", "category": "c", "price_cents": 1
        }))
        .unwrap()
    }

    #[test]
    fn an_id_given_twice_in_an_import_is_a_422_naming_the_repeat() {
        let import = MenuImport {
            restaurants: vec![],
            items: vec![item("a"), item("b"), item("a")],
        };
        let err = check_unique_ids(&import).unwrap_err();
        assert_eq!(err.http_status().as_u16(), 422);
        assert_eq!(err.body().error.details["field"], "items[2].id");
        let fine = MenuImport {
            restaurants: Vec::<Restaurant>::new(),
            items: vec![item("a"), item("b")],
        };
        assert!(check_unique_ids(&fine).is_ok());
    }

    #[test]
    fn an_unknown_restaurant_is_a_422_but_a_malformed_id_stays_a_400() {
        let refusal = |field: &str| {
            ApiError::bad_request("no restaurant").with_detail("field", field.to_owned())
        };
        let ids = vec!["nowhere".to_owned(), "Bad Id".to_owned()];
        let unknown = unknown_restaurant_is_unprocessable(refusal("items[0].restaurant_id"), &ids);
        assert_eq!(unknown.http_status().as_u16(), 422);
        let malformed =
            unknown_restaurant_is_unprocessable(refusal("items[1].restaurant_id"), &ids);
        assert_eq!(malformed.http_status().as_u16(), 400);
        let other = unknown_restaurant_is_unprocessable(refusal("items[0].price_cents"), &ids);
        assert_eq!(other.http_status().as_u16(), 400);
    }
}
