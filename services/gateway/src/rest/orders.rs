//! `/orders`: customers create and see their own orders, restaurant keys
//! their restaurant's (and accept, reject and ready them), ops all of them.

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use food_api::{AcceptOrder, CreateOrder, Order, OrderList, OrderStatus, RejectOrder};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::{
    auth::Caller,
    error::ApiError,
    extract::{ApiJson, ApiPath, ApiQuery, idempotency_key, parse_status},
    service::OrderFilter,
    state::SharedState,
};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrdersQuery {
    /// Only orders in this status.
    #[param(value_type = Option<OrderStatus>)]
    pub status: Option<String>,
    /// Ops and restaurant keys; customers always see their own orders.
    pub customer_id: Option<String>,
    /// Only orders from this restaurant (a restaurant id); a restaurant key
    /// always sees its own restaurant's.
    pub restaurant: Option<String>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CancelQuery {
    /// Why; kept with the cancellation.
    #[param(max_length = 200)]
    pub reason: Option<String>,
}

/// Place an order.
///
/// Every item from one restaurant. A customer key orders for itself; an ops
/// key names the customer (`customer_id`). The order starts PLACED; a
/// kitchen that accepts by itself moves it to PREPARING at once. Retries
/// with the same `Idempotency-Key` return the first order.
#[utoipa::path(
    post, path = "/orders", tag = "orders",
    params(("Idempotency-Key" = Option<String>, Header, max_length = 200, pattern = "^[!-~]+$",
        description = "retries with the same key (and the same body) return the first order")),
    request_body(content = CreateOrder, content_type = "application/json"),
    responses(
        (status = 201, description = "the order, with its restaurant and totals", body = Order,
            headers(("Location" = String, description = "`/orders/<id>`"))),
        (status = 403, description = "`permission_denied`: a courier or restaurant key, or a customer ordering for another customer"),
        (status = 404, description = "`not_found`: an item that is not on the menu (`details.field` names the line)"),
        (status = 409, description = "`idempotency_conflict`: the idempotency key was used with another request"),
        (status = 422, description = "`item_unavailable`; `mixed_restaurants` (items of two or more restaurants, named in the message and `details`); `restaurant_closed` (the restaurant is paused)"),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn create_order(
    State(state): State<SharedState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateOrder>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let order = state.gateway.create_order(&caller, body, key).await?;
    tracing::debug!(order_id = %order.id, customer_id = %order.customer_id, "order created");
    let mut response = (StatusCode::CREATED, Json(&order)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/orders/{}", order.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Get an order.
///
/// Its lines, totals and status. Customers see their own orders, a
/// restaurant key its restaurant's, ops all.
#[utoipa::path(
    get, path = "/orders/{orderId}", tag = "orders",
    params(("orderId" = String, Path, description = "the order id, or its last 8 characters (the short id tables show)")),
    responses(
        (status = 200, description = "the order", body = Order),
        (status = 403, description = "`permission_denied`: a courier key"),
        (status = 404, description = "`not_found`: no such order (or another customer's, or another restaurant's)"),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(order_id = %id))]
pub async fn get_order(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Order>, ApiError> {
    Ok(Json(state.gateway.get_order(&caller, &id).await?))
}

/// List orders.
///
/// Newest first. Customers see their own, a restaurant key its
/// restaurant's, ops all (filtered by customer, restaurant and status).
#[utoipa::path(
    get, path = "/orders", tag = "orders",
    params(OrdersQuery),
    responses(
        (status = 200, description = "a page of orders", body = OrderList),
        (status = 400, description = "`invalid_argument`: an unknown status, a limit out of range, a cursor of another list"),
        (status = 403, description = "`permission_denied`: a courier key"),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn list_orders(
    State(state): State<SharedState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<OrdersQuery>,
) -> Result<Json<OrderList>, ApiError> {
    let names: Vec<&str> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
    let filter = OrderFilter {
        status: parse_status(q.status, &names)?,
        customer_id: q.customer_id,
        restaurant_id: q.restaurant,
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(Json(state.gateway.list_orders(&caller, filter).await?))
}

/// Cancel an order.
///
/// A customer its own orders while PLACED or PREPARING; ops any order
/// not yet picked up. The delivery is cancelled with it.
#[utoipa::path(
    post, path = "/orders/{orderId}/cancel", tag = "orders",
    params(("orderId" = String, Path, description = "the order id, or its last 8 characters (the short id tables show)"), CancelQuery),
    responses(
        (status = 200, description = "the cancelled order", body = Order),
        (status = 403, description = "`permission_denied`: a courier or restaurant key"),
        (status = 404, description = "`not_found`: no such order (or another customer's)"),
        (status = 409, description = "`not_cancellable`: the order is past the point where it can be cancelled"),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(order_id = %id))]
pub async fn cancel_order(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<CancelQuery>,
) -> Result<Json<Order>, ApiError> {
    Ok(Json(
        state.gateway.cancel_order(&caller, &id, q.reason).await?,
    ))
}

/// The body of `POST /orders/:id/ready`: nothing, or `{}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({}))]
#[serde(deny_unknown_fields)]
pub struct NoBody {}

/// Accept an order (kitchen).
///
/// PLACED becomes PREPARING with a `ready_by` time, given as `ready_by` or
/// as `prep_minutes` from now (exactly one). Accepting a PREPARING order
/// again changes its `ready_by`. The restaurant's key or ops.
#[utoipa::path(
    post, path = "/orders/{orderId}/accept", tag = "kitchen",
    params(("orderId" = String, Path, description = "the order id, or its last 8 characters (the short id tables show)")),
    request_body(content = AcceptOrder, content_type = "application/json"),
    responses(
        (status = 200, description = "the updated order (PREPARING, with `ready_by`)", body = Order),
        (status = 400, description = "`invalid_argument`: both or neither of `ready_by` and `prep_minutes`, `prep_minutes` out of range, `ready_by` in the past or more than 24 hours ahead"),
        (status = 403, description = "`permission_denied`: not a restaurant or ops key"),
        (status = 404, description = "`not_found`: no such order (or another restaurant's)"),
        (status = 409, description = "`invalid_transition`: the order is not PLACED or PREPARING"),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(order_id = %id))]
pub async fn accept_order(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AcceptOrder>,
) -> Result<Json<Order>, ApiError> {
    let order = state.gateway.accept_order(&caller, &id, body).await?;
    tracing::info!(status = %order.status, ready_by = ?order.ready_by, "order accepted");
    Ok(Json(order))
}

/// Reject an order (kitchen).
///
/// PLACED becomes REJECTED with the reason; the delivery is cancelled with
/// the note `rejected: <reason>`. The restaurant's key or ops.
#[utoipa::path(
    post, path = "/orders/{orderId}/reject", tag = "kitchen",
    params(("orderId" = String, Path, description = "the order id, or its last 8 characters (the short id tables show)")),
    request_body(content = RejectOrder, content_type = "application/json"),
    responses(
        (status = 200, description = "the updated order (REJECTED, with `rejection_reason`)", body = Order),
        (status = 400, description = "`invalid_argument`: no reason, or a longer one than 200 characters"),
        (status = 403, description = "`permission_denied`: not a restaurant or ops key"),
        (status = 404, description = "`not_found`: no such order (or another restaurant's)"),
        (status = 409, description = "`invalid_transition`: the order is not PLACED"),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(order_id = %id))]
pub async fn reject_order(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RejectOrder>,
) -> Result<Json<Order>, ApiError> {
    let order = state.gateway.reject_order(&caller, &id, body).await?;
    tracing::info!(status = %order.status, "order rejected");
    Ok(Json(order))
}

/// Mark an order ready for pick-up (kitchen).
///
/// PREPARING becomes READY_FOR_PICKUP. No body, or `{}`. The restaurant's
/// key or ops.
#[utoipa::path(
    post, path = "/orders/{orderId}/ready", tag = "kitchen",
    params(("orderId" = String, Path, description = "the order id, or its last 8 characters (the short id tables show)")),
    request_body(content = Option<NoBody>, content_type = "application/json",
        description = "none, or `{}`"),
    responses(
        (status = 200, description = "the updated order (READY_FOR_PICKUP)", body = Order),
        (status = 400, description = "`invalid_argument`: a body other than `{}`"),
        (status = 403, description = "`permission_denied`: not a restaurant or ops key"),
        (status = 404, description = "`not_found`: no such order (or another restaurant's)"),
        (status = 409, description = "`invalid_transition`: the order is not PREPARING"),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(order_id = %id))]
pub async fn mark_ready(
    State(state): State<SharedState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    body: Bytes,
) -> Result<Json<Order>, ApiError> {
    optional_empty_json(&headers, &body)?;
    let order = state.gateway.mark_ready(&caller, &id).await?;
    tracing::info!(status = %order.status, "order ready");
    Ok(Json(order))
}

/// Accepts an empty body, or the JSON object `{}`.
fn optional_empty_json(headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let mime = v.split(';').next().unwrap_or("").trim();
            mime.eq_ignore_ascii_case("application/json") || mime.ends_with("+json")
        });
    if !is_json {
        return Err(ApiError::UnsupportedMediaType(
            "send no body, or `{}` with `Content-Type: application/json`".to_owned(),
        ));
    }
    serde_json::from_slice::<NoBody>(body)
        .map(|_| ())
        .map_err(|e| ApiError::bad_request(format!("expected no body or `{{}}`: {e}")))
}
