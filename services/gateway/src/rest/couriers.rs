//! `/couriers`: ops list, create and rename couriers and set anyone's
//! shift; a courier key sets its own shift.

use axum::{Json, extract::State};
use food_api::{Courier, CourierList, CourierShift, PutCourier};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::{
    auth::Keyed,
    error::ApiError,
    extract::{ApiJson, ApiPath, ApiQuery},
    state::SharedState,
};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CouriersQuery {
    /// `true`: only couriers on shift; `false`: only those off shift.
    pub on_shift: Option<bool>,
}

/// List couriers (ops).
///
/// Every courier by id, with its shift and its number of active
/// deliveries, on one page.
#[utoipa::path(
    get, path = "/couriers", tag = "couriers",
    params(CouriersQuery),
    responses(
        (status = 200, description = "the couriers", body = CourierList),
        (status = 400, description = "`invalid_argument`: `on_shift` is not `true` or `false`"),
        (status = 403, description = "`permission_denied`: not an ops key"),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn list_couriers(
    State(state): State<SharedState>,
    Keyed(caller): Keyed,
    ApiQuery(q): ApiQuery<CouriersQuery>,
) -> Result<Json<CourierList>, ApiError> {
    Ok(Json(
        state.gateway.list_couriers(&caller, q.on_shift).await?,
    ))
}

/// Start or end a courier's shift.
///
/// A courier coming on shift may be dispatched waiting deliveries at once;
/// one going off keeps its active deliveries. The courier itself or ops.
#[utoipa::path(
    put, path = "/couriers/{id}/shift", tag = "couriers",
    params(("id" = String, Path, min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9._-]+$", description = "courier id, e.g. `courier-1`")),
    request_body(content = CourierShift, content_type = "application/json"),
    responses(
        (status = 200, description = "the updated courier", body = Courier),
        (status = 400, description = "`invalid_argument`: `on_shift` missing or not a boolean, an unknown field"),
        (status = 403, description = "`permission_denied`: another courier's shift, or not a courier or ops key"),
        (status = 404, description = "`not_found`: no such courier"),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(courier_id = %id))]
pub async fn set_shift(
    State(state): State<SharedState>,
    Keyed(caller): Keyed,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CourierShift>,
) -> Result<Json<Courier>, ApiError> {
    let courier = state
        .gateway
        .set_courier_shift(&caller, &id, body.on_shift)
        .await?;
    tracing::info!(on_shift = courier.on_shift, "courier shift set");
    Ok(Json(courier))
}

/// Create or rename a courier (ops).
///
/// A new courier starts off shift.
#[utoipa::path(
    put, path = "/couriers/{id}", tag = "couriers",
    params(("id" = String, Path, min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9._-]+$", description = "courier id, e.g. `courier-1`")),
    request_body(content = PutCourier, content_type = "application/json"),
    responses(
        (status = 200, description = "the created or renamed courier", body = Courier),
        (status = 400, description = "`invalid_argument`: a blank or too long name, an id that is not 1 to 64 letters, digits, `-`, `_` or `.`"),
        (status = 403, description = "`permission_denied`: not an ops key"),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(courier_id = %id))]
pub async fn put_courier(
    State(state): State<SharedState>,
    Keyed(caller): Keyed,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<PutCourier>,
) -> Result<Json<Courier>, ApiError> {
    Ok(Json(state.gateway.put_courier(&caller, &id, body).await?))
}
