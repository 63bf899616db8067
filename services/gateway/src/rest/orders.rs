//! `/orders`: customers create and see their own orders, ops all of them.

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use food_api::{CreateOrder, Order, OrderList, OrderStatus};
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
    /// `PLACED`, `PREPARING`, `OUT_FOR_DELIVERY`, `DELIVERED`, `CANCELLED` or `FAILED`.
    pub status: Option<String>,
    /// Ops only; customers always see their own orders.
    pub customer_id: Option<String>,
    /// Only orders from this restaurant (a restaurant id).
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
        (status = 403, description = "a courier key, or a customer ordering for another", body = Object),
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
        (status = 404, description = "no such order (or another customer's)", body = Object),
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
