//! `/orders`: customers create and see their own orders, restaurant keys
//! their restaurant's (and accept, reject and ready them), ops all of them.

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, TimeDelta, Utc};
use food_api::{AcceptOrder, CreateOrder, Order, OrderList, OrderStatus, RejectOrder};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::{
    auth::Keyed,
    error::ApiError,
    extract::{ApiJson, ApiPath, ApiQuery, check_idempotency_key, idempotency_key, parse_status},
    service::{OrderFilter, page},
    settings::Role,
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

/// The longest cancellation reason, in characters.
const MAX_CANCEL_REASON: usize = 200;

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
    params(("Idempotency-Key" = Option<String>, Header, max_length = 200, pattern = "^[ -~]*$",
        description = "printable ASCII; retries with the same key (and the same body) return the first order; a blank key is no key")),
    request_body(content = CreateOrder, content_type = "application/json"),
    responses(
        (status = 201, description = "the order, with its restaurant and totals", body = Order,
            headers(("Location" = String, description = "`/orders/<id>`"))),
        (status = 403, description = "`permission_denied`: a courier or restaurant key, or a customer ordering for another customer"),
        (status = 404, description = "`not_found`: an item that is not on the menu (`details.field` names the line)"),
        (status = 409, description = "`idempotency_conflict`: the idempotency key was used with another request"),
        (status = 422, description = "`item_unavailable`; `mixed_restaurants` (items of two or more restaurants, named in the message and `details`); `restaurant_closed` (the restaurant is paused); `invalid_argument`: an ops key naming no `customer_id`"),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn create_order(
    State(state): State<SharedState>,
    Keyed(caller): Keyed,
    headers: HeaderMap,
    ApiJson(mut body): ApiJson<CreateOrder>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    body.idempotency_key = match body.idempotency_key.as_deref() {
        Some(k) => check_idempotency_key(k.as_bytes(), "idempotency_key")?,
        None => None,
    };
    let names_customer = body
        .customer_id
        .as_deref()
        .is_some_and(|c| !c.trim().is_empty());
    if !names_customer && caller.principal().is_some_and(|p| p.role == Role::Ops) {
        // The body is well formed; what it lacks depends on the key.
        return Err(ApiError::unprocessable(
            "customer_id",
            "customer_id is required when ordering with an ops key",
        ));
    }
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
    Keyed(caller): Keyed,
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
    Keyed(caller): Keyed,
    ApiQuery(q): ApiQuery<OrdersQuery>,
) -> Result<Json<OrderList>, ApiError> {
    let names: Vec<&str> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
    // The page size is checked even when the filter leaves nothing to list.
    page(q.limit, None)?;
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
    Keyed(caller): Keyed,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<CancelQuery>,
) -> Result<Json<Order>, ApiError> {
    if q.reason
        .as_deref()
        .is_some_and(|r| r.chars().count() > MAX_CANCEL_REASON)
    {
        return Err(ApiError::bad_request(format!(
            "reason must be at most {MAX_CANCEL_REASON} characters"
        ))
        .with_detail("field", "reason"));
    }
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
        (status = 400, description = "`invalid_argument`: both or neither of `ready_by` and `prep_minutes`, `prep_minutes` out of range"),
        (status = 403, description = "`permission_denied`: not a restaurant or ops key"),
        (status = 404, description = "`not_found`: no such order (or another restaurant's)"),
        (status = 409, description = "`invalid_transition`: the order is not PLACED or PREPARING"),
        (status = 422, description = "`invalid_argument`: `ready_by` is not in the future, or more than 24 hours ahead"),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(order_id = %id))]
pub async fn accept_order(
    State(state): State<SharedState>,
    Keyed(caller): Keyed,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AcceptOrder>,
) -> Result<Json<Order>, ApiError> {
    // Both or neither of the two fields is a malformed body (400, below).
    if let (Some(at), None) = (body.ready_by, body.prep_minutes) {
        check_ready_by(at, Utc::now())?;
    }
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
    Keyed(caller): Keyed,
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
    Keyed(caller): Keyed,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    body: Bytes,
) -> Result<Json<Order>, ApiError> {
    optional_empty_json(&headers, &body)?;
    let order = state.gateway.mark_ready(&caller, &id).await?;
    tracing::info!(status = %order.status, "order ready");
    Ok(Json(order))
}

/// How far ahead a kitchen may promise an order (order-service's rule).
const MAX_READY_AHEAD: TimeDelta = TimeDelta::hours(24);

/// A kitchen's `ready_by`: in the future, within [`MAX_READY_AHEAD`]. The
/// time is well formed either way, so a refusal is a 422.
fn check_ready_by(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), ApiError> {
    if at <= now || at > now + MAX_READY_AHEAD {
        return Err(ApiError::unprocessable(
            "ready_by",
            format!(
                "ready_by must be in the future and within 24 hours, got {}",
                at.to_rfc3339()
            ),
        ));
    }
    Ok(())
}

/// Accepts an empty body, or the JSON object `{}` (or `null`, JSON's "nothing").
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
    serde_json::from_slice::<Option<NoBody>>(body)
        .map(|_| ())
        .map_err(|e| ApiError::bad_request(format!("expected no body or `{{}}`: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_by_must_be_ahead_within_a_day() {
        let now = Utc::now();
        assert!(check_ready_by(now + TimeDelta::minutes(20), now).is_ok());
        for bad in [now, now - TimeDelta::minutes(1), now + TimeDelta::hours(25)] {
            let err = check_ready_by(bad, now).unwrap_err();
            assert_eq!(err.http_status(), StatusCode::UNPROCESSABLE_ENTITY);
        }
    }

    #[test]
    fn the_ready_body_may_be_empty_null_or_an_empty_object() {
        let mut json = HeaderMap::new();
        json.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        for ok in ["", "  ", "null", "{}"] {
            assert!(optional_empty_json(&json, ok.as_bytes()).is_ok(), "{ok:?}");
        }
        let err = optional_empty_json(&json, b"{\"x\": 1}").unwrap_err();
        assert_eq!(err.http_status(), StatusCode::BAD_REQUEST);
        let err = optional_empty_json(&HeaderMap::new(), b"{}").unwrap_err();
        assert_eq!(err.http_status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
}
