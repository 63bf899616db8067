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
use utoipa::IntoParams;

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
    /// `PLACED`, `PREPARING`, `READY_FOR_PICKUP`, `OUT_FOR_DELIVERY`, `DELIVERED`,
    /// `REJECTED`, `CANCELLED` or `FAILED`.
    pub status: Option<String>,
    /// Ops and restaurant keys; customers always see their own orders.
    pub customer_id: Option<String>,
    /// Only orders from this restaurant (a restaurant id); a restaurant key
    /// always sees its own restaurant's.
    pub restaurant: Option<String>,
    /// Page size, 1..=1000 (default 50).
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CancelQuery {
    /// Why; kept with the cancellation.
    pub reason: Option<String>,
}

#[utoipa::path(
    post, path = "/orders", tag = "orders",
    params(("Idempotency-Key" = Option<String>, Header, description = "retries with the same key return the first order")),
    request_body(content = Object, content_type = "application/json",
        description = "`{\"items\": [{\"item_id\", \"quantity\"}], \"delivery_address\", \"note\"?, \"customer_id\"? (ops only), \"idempotency_key\"?}`; every item from one restaurant"),
    responses(
        (status = 201, description = "`Order`, with `restaurant_id`, `restaurant_name` and `pickup_address`", body = Object),
        (status = 400, description = "invalid body", body = Object),
        (status = 401, description = "no key", body = Object),
        (status = 403, description = "a courier or restaurant key, or a customer ordering for another", body = Object),
        (status = 409, description = "idempotency key reused with another request", body = Object),
        (status = 413, description = "body too large", body = Object),
        (status = 415, description = "not JSON", body = Object),
        (status = 422, description = "`item_unavailable`; `mixed_restaurants` (items of two or more restaurants, named in the message and `details`); `restaurant_closed` (the restaurant is paused)", body = Object),
        (status = 429, description = "rate limited", body = Object),
        (status = 503, description = "a downstream service is unavailable", body = Object),
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

#[utoipa::path(
    get, path = "/orders/{orderId}", tag = "orders",
    params(("orderId" = String, Path)),
    responses(
        (status = 200, description = "`Order`", body = Object),
        (status = 404, description = "no such order (or another customer's, or another restaurant's)", body = Object),
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

#[utoipa::path(
    get, path = "/orders", tag = "orders",
    params(OrdersQuery),
    responses(
        (status = 200, description = "`OrderList`: `{\"orders\": [Order], \"next_cursor\"}`", body = Object),
        (status = 400, description = "bad filter", body = Object),
        (status = 403, description = "a courier key", body = Object),
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

#[utoipa::path(
    post, path = "/orders/{orderId}/cancel", tag = "orders",
    params(("orderId" = String, Path), CancelQuery),
    responses(
        (status = 200, description = "the cancelled `Order`", body = Object),
        (status = 403, description = "a courier or restaurant key", body = Object),
        (status = 404, description = "no such order", body = Object),
        (status = 409, description = "already picked up (`not_cancellable`)", body = Object),
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
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoBody {}

#[utoipa::path(
    post, path = "/orders/{orderId}/accept", tag = "kitchen",
    params(("orderId" = String, Path)),
    request_body(content = Object, content_type = "application/json",
        description = "`AcceptOrder`: `{\"ready_by\": \"2026-12-02T12:30:00Z\"}` or `{\"prep_minutes\": 15}` (1..=240), exactly one; accepting a PREPARING order again changes its `ready_by`"),
    responses(
        (status = 200, description = "the updated `Order` (PREPARING, with `ready_by`)", body = Object),
        (status = 400, description = "both or neither of `ready_by` and `prep_minutes`, or out of range", body = Object),
        (status = 401, description = "no key", body = Object),
        (status = 403, description = "not a restaurant or ops key", body = Object),
        (status = 404, description = "no such order (or another restaurant's)", body = Object),
        (status = 409, description = "`invalid_transition`: the order is not PLACED or PREPARING", body = Object),
        (status = 413, description = "body too large", body = Object),
        (status = 415, description = "not JSON", body = Object),
        (status = 429, description = "rate limited", body = Object),
        (status = 503, description = "order-service is unavailable", body = Object),
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

#[utoipa::path(
    post, path = "/orders/{orderId}/reject", tag = "kitchen",
    params(("orderId" = String, Path)),
    request_body(content = Object, content_type = "application/json",
        description = "`RejectOrder`: `{\"reason\": \"out of naan\"}` (required, at most 200 characters); the delivery is cancelled with the note `rejected: <reason>`"),
    responses(
        (status = 200, description = "the updated `Order` (REJECTED, with `rejection_reason`)", body = Object),
        (status = 400, description = "no reason, or too long", body = Object),
        (status = 401, description = "no key", body = Object),
        (status = 403, description = "not a restaurant or ops key", body = Object),
        (status = 404, description = "no such order (or another restaurant's)", body = Object),
        (status = 409, description = "`invalid_transition`: the order is not PLACED", body = Object),
        (status = 413, description = "body too large", body = Object),
        (status = 415, description = "not JSON", body = Object),
        (status = 429, description = "rate limited", body = Object),
        (status = 503, description = "order-service is unavailable", body = Object),
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

#[utoipa::path(
    post, path = "/orders/{orderId}/ready", tag = "kitchen",
    params(("orderId" = String, Path)),
    request_body(content = Object, content_type = "application/json",
        description = "none, or `{}`"),
    responses(
        (status = 200, description = "the updated `Order` (READY_FOR_PICKUP)", body = Object),
        (status = 400, description = "a body other than `{}`", body = Object),
        (status = 401, description = "no key", body = Object),
        (status = 403, description = "not a restaurant or ops key", body = Object),
        (status = 404, description = "no such order (or another restaurant's)", body = Object),
        (status = 409, description = "`invalid_transition`: the order is not PREPARING", body = Object),
        (status = 415, description = "a body that is not JSON", body = Object),
        (status = 429, description = "rate limited", body = Object),
        (status = 503, description = "order-service is unavailable", body = Object),
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
