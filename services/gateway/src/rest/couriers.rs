//! `/couriers`: ops list, create and rename couriers and set anyone's
//! shift; a courier key sets its own shift.

use axum::{Json, extract::State};
use food_api::{Courier, CourierList, CourierShift, PutCourier};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::{
    auth::Caller,
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

#[utoipa::path(
    get, path = "/couriers", tag = "couriers",
    params(CouriersQuery),
    responses(
        (status = 200, description = "`CourierList`: `{\"couriers\": [Courier], \"next_cursor\": null}`, by id; each `Courier` is `{\"id\", \"name\", \"on_shift\", \"active_deliveries\"}`", body = Object),
        (status = 400, description = "bad query", body = Object),
        (status = 401, description = "no key", body = Object),
        (status = 403, description = "not an ops key", body = Object),
        (status = 429, description = "rate limited", body = Object),
        (status = 503, description = "delivery-service is unavailable", body = Object),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn list_couriers(
    State(state): State<SharedState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<CouriersQuery>,
) -> Result<Json<CourierList>, ApiError> {
    Ok(Json(
        state.gateway.list_couriers(&caller, q.on_shift).await?,
    ))
}

#[utoipa::path(
    put, path = "/couriers/{id}/shift", tag = "couriers",
    params(("id" = String, Path, description = "courier id, e.g. `courier-1`")),
    request_body(content = Object, content_type = "application/json",
        description = "`CourierShift`: `{\"on_shift\": true}`; a courier coming on shift may be dispatched waiting deliveries at once, one going off keeps its active deliveries"),
    responses(
        (status = 200, description = "the updated `Courier`", body = Object),
        (status = 400, description = "invalid body", body = Object),
        (status = 401, description = "no key", body = Object),
        (status = 403, description = "another courier's shift, or not a courier or ops key", body = Object),
        (status = 404, description = "no such courier", body = Object),
        (status = 413, description = "body too large", body = Object),
        (status = 415, description = "not JSON", body = Object),
        (status = 422, description = "unprocessable body", body = Object),
        (status = 429, description = "rate limited", body = Object),
        (status = 503, description = "delivery-service is unavailable", body = Object),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(courier_id = %id))]
pub async fn set_shift(
    State(state): State<SharedState>,
    caller: Caller,
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

#[utoipa::path(
    put, path = "/couriers/{id}", tag = "couriers",
    params(("id" = String, Path, description = "courier id")),
    request_body(content = Object, content_type = "application/json",
        description = "`PutCourier`: `{\"name\": \"Camille Martin\"}` creates the courier (off shift) or renames it"),
    responses(
        (status = 200, description = "the created or renamed `Courier`", body = Object),
        (status = 400, description = "invalid body or id (a blank name, too long)", body = Object),
        (status = 401, description = "no key", body = Object),
        (status = 403, description = "not an ops key", body = Object),
        (status = 413, description = "body too large", body = Object),
        (status = 415, description = "not JSON", body = Object),
        (status = 422, description = "unprocessable body", body = Object),
        (status = 429, description = "rate limited", body = Object),
        (status = 503, description = "delivery-service is unavailable", body = Object),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(courier_id = %id))]
pub async fn put_courier(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<PutCourier>,
) -> Result<Json<Courier>, ApiError> {
    Ok(Json(state.gateway.put_courier(&caller, &id, body).await?))
}
