//! `/delivery/status/:orderId`, `/deliveries` and the Server-Sent Event
//! streams of delivery changes.

use std::{convert::Infallible, time::Duration};

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, HeaderValue, header},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use food_api::{Delivery, DeliveryList, DeliveryStatus, UpdateDelivery};
use futures::StreamExt;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::{
    auth::Caller,
    error::ApiError,
    extract::{ApiJson, ApiPath, ApiQuery, header_text, if_match, parse_status},
    live::{self, Update, UpdateStream},
    service::DeliveryFilter,
    state::SharedState,
};

/// SSE comments sent while nothing happens, so proxies keep the stream open.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// `PENDING`, `ASSIGNED`, `PICKED_UP`, `IN_TRANSIT`, `DELIVERED`, `CANCELLED` or `FAILED`.
    pub status: Option<String>,
    /// Only deliveries of this restaurant's orders (a restaurant id); a
    /// restaurant key always sees its own restaurant's.
    pub restaurant: Option<String>,
    /// Only this courier's deliveries (a courier id); a courier key sees
    /// its own and the unassigned ones.
    pub courier: Option<String>,
    /// Page size, 1..=1000 (default 50).
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

fn with_etag(delivery: Delivery) -> Response {
    let etag = HeaderValue::from_str(&format!("\"{}\"", delivery.version));
    let mut response = Json(delivery).into_response();
    if let Ok(etag) = etag {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

#[utoipa::path(
    get, path = "/delivery/status/{orderId}", tag = "deliveries",
    params(("orderId" = String, Path)),
    responses(
        (status = 200, description = "`Delivery` with status, courier, eta, version and history; `ETag` is the version", body = Object),
        (status = 404, description = "no delivery for this order (or another customer's)", body = Object),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(order_id = %order_id))]
pub async fn get_status(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(order_id): ApiPath<String>,
) -> Result<Response, ApiError> {
    Ok(with_etag(
        state.gateway.get_delivery(&caller, &order_id).await?,
    ))
}

#[utoipa::path(
    put, path = "/delivery/status/{orderId}", tag = "deliveries",
    params(
        ("orderId" = String, Path),
        ("If-Match" = Option<String>, Header, description = "expected version: `\"3\"` or `3`"),
    ),
    request_body(content = Object, content_type = "application/json",
        description = "`{\"status\", \"courier\"?, \"eta\"?, \"note\"?, \"version\"?}`"),
    responses(
        (status = 200, description = "the updated `Delivery`", body = Object),
        (status = 400, description = "bad body or If-Match", body = Object),
        (status = 403, description = "a customer or restaurant key; a courier claiming for another courier", body = Object),
        (status = 404, description = "no delivery for this order (or, for a courier, another courier's)", body = Object),
        (status = 409, description = "`invalid_transition`; `version_conflict` with `details.current_version`; `not_accepted` (a pick-up before the kitchen accepted)", body = Object),
        (status = 422, description = "`unknown_courier`: `courier` names no courier", body = Object),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(order_id = %order_id))]
pub async fn update_status(
    State(state): State<SharedState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(order_id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateDelivery>,
) -> Result<Response, ApiError> {
    let expected = if_match(&headers)?;
    let delivery = state
        .gateway
        .update_delivery(&caller, &order_id, body, expected)
        .await?;
    tracing::info!(status = %delivery.status, version = delivery.version, "delivery updated");
    Ok(with_etag(delivery))
}

#[utoipa::path(
    get, path = "/deliveries", tag = "deliveries",
    params(DeliveriesQuery),
    responses(
        (status = 200, description = "`DeliveryList`: `{\"deliveries\": [Delivery], \"next_cursor\"}`; customers see their own, a restaurant key its restaurant's, a courier its own and the unassigned ones", body = Object),
        (status = 400, description = "bad filter", body = Object),
        (status = 401, description = "no key", body = Object),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn list_deliveries(
    State(state): State<SharedState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<DeliveriesQuery>,
) -> Result<Json<DeliveryList>, ApiError> {
    let names: Vec<&str> = DeliveryStatus::ALL.iter().map(|s| s.as_str()).collect();
    let filter = DeliveryFilter {
        status: parse_status(q.status, &names)?,
        restaurant_id: q.restaurant,
        courier_id: q.courier,
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(Json(state.gateway.list_deliveries(&caller, filter).await?))
}

fn sse(stream: UpdateStream) -> Response {
    let events = stream.map(|u: Update| {
        let event = Event::default().event("delivery").id(u.id);
        Ok::<_, Infallible>(match event.json_data(&u.delivery) {
            Ok(e) => e,
            // Delivery always serialises; keep the stream alive if it ever does not.
            Err(_) => Event::default().comment("unserialisable delivery skipped"),
        })
    });
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"))
        .into_response();
    // Tells nginx-style proxies not to buffer the stream.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

#[utoipa::path(
    get, path = "/delivery/status/{orderId}/stream", tag = "deliveries",
    params(
        ("orderId" = String, Path),
        ("Last-Event-ID" = Option<String>, Header, description = "resume: the current state is sent only if newer"),
    ),
    responses(
        (status = 200, description = "`text/event-stream`: `event: delivery`, `id: <event id>`, `data: <Delivery>`; first the current state, then each change; keep-alive comments every 15 s", content_type = "text/event-stream", body = String),
        (status = 404, description = "no delivery for this order (or another customer's)", body = Object),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(order_id = %order_id))]
pub async fn stream_status(
    State(state): State<SharedState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(order_id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let last = header_text(&headers, "last-event-id");
    let stream = live::order_updates(
        &state.gateway,
        &state.hub,
        &caller,
        &order_id,
        last.as_deref(),
        &state.shutdown,
    )
    .await?;
    Ok(sse(stream))
}

#[utoipa::path(
    get, path = "/events/deliveries", tag = "deliveries",
    params(("Last-Event-ID" = Option<String>, Header, description = "resume after this event when this replica still holds it")),
    responses(
        (status = 200, description = "`text/event-stream` of delivery changes: ops all, a courier its own and the unassigned ones, a restaurant key its restaurant's", content_type = "text/event-stream", body = String),
        (status = 401, description = "no key", body = Object),
        (status = 403, description = "a customer key", body = Object),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn stream_all(
    State(state): State<SharedState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let last = header_text(&headers, "last-event-id");
    let stream = live::all_updates(&state.hub, &caller, last.as_deref(), &state.shutdown)?;
    Ok(sse(stream))
}
