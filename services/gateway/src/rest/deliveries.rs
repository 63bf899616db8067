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
use food_api::{Delivery, DeliveryList, DeliveryStatus, ErrorCode, UpdateDelivery};
use futures::StreamExt;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::{
    auth::Keyed,
    error::ApiError,
    extract::{ApiJson, ApiPath, ApiQuery, header_text, if_match, parse_status},
    live::{self, Update, UpdateStream},
    service::{DeliveryFilter, page},
    state::SharedState,
};

/// SSE comments sent while nothing happens, so proxies keep the stream open.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// Only deliveries in this status.
    #[param(value_type = Option<DeliveryStatus>)]
    pub status: Option<String>,
    /// Only deliveries of this restaurant's orders (a restaurant id); a
    /// restaurant key always sees its own restaurant's.
    pub restaurant: Option<String>,
    /// Only this courier's deliveries (a courier id); a courier key sees
    /// its own and the unassigned ones.
    pub courier: Option<String>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
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

/// Get an order's delivery.
///
/// Its status, courier, eta, version and history; the `ETag` is the
/// version. Customers read their own orders' deliveries, a restaurant key
/// its restaurant's, a courier its own and the unassigned ones, ops all.
#[utoipa::path(
    get, path = "/delivery/status/{orderId}", tag = "deliveries",
    params(("orderId" = String, Path, description = "the order id, or its last 8 characters (the short id tables show)")),
    responses(
        (status = 200, description = "the delivery", body = Delivery,
            headers(("ETag" = String, description = "the delivery's version, quoted: `\"3\"`"))),
        (status = 404, description = "`not_found`: no delivery for this order (or one outside the caller's scope)"),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(order_id = %order_id))]
pub async fn get_status(
    State(state): State<SharedState>,
    Keyed(caller): Keyed,
    ApiPath(order_id): ApiPath<String>,
) -> Result<Response, ApiError> {
    Ok(with_etag(
        state.gateway.get_delivery(&caller, &order_id).await?,
    ))
}

/// Update an order's delivery.
///
/// Moves it along PENDING, ASSIGNED, PICKED_UP, IN_TRANSIT, DELIVERED (or
/// to CANCELLED or FAILED), sets the courier, eta and a note. A courier
/// claims an unassigned delivery (`{"status": "ASSIGNED"}` assigns it to
/// itself) and moves its own; ops do anything and reassign. `If-Match` or
/// the body's `version` make the change conditional.
#[utoipa::path(
    put, path = "/delivery/status/{orderId}", tag = "deliveries",
    params(
        ("orderId" = String, Path, description = "the order id, or its last 8 characters (the short id tables show)"),
        ("If-Match" = Option<String>, Header, pattern = "^(\\*|(W/)?\"[0-9]{1,19}\"|[0-9]{1,19})$",
            description = "the expected version (as `ETag` gives it): `\"3\"`, `W/\"3\"` or `3`; `*` means any"),
    ),
    request_body(content = UpdateDelivery, content_type = "application/json"),
    responses(
        (status = 200, description = "the updated delivery", body = Delivery,
            headers(("ETag" = String, description = "the delivery's new version, quoted"))),
        (status = 400, description = "`invalid_argument`: a malformed body or `If-Match`"),
        (status = 403, description = "`permission_denied`: a customer or restaurant key; a courier acting for another courier"),
        (status = 404, description = "`not_found`: no delivery for this order (or, for a courier, another courier's)"),
        (status = 409, description = "`invalid_transition` (a move the state machine refuses, or a courier's claim beyond its cap of active deliveries); `version_conflict` with `details.current_version`; `not_accepted` (a pick-up before the kitchen accepted)"),
        (status = 422, description = "`unknown_courier`: `courier` names no courier; `invalid_argument`: `If-Match` and the body's `version` disagree, or ASSIGNED without a courier for a delivery that has none"),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(order_id = %order_id))]
pub async fn update_status(
    State(state): State<SharedState>,
    Keyed(caller): Keyed,
    headers: HeaderMap,
    ApiPath(order_id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateDelivery>,
) -> Result<Response, ApiError> {
    let expected = if_match(&headers)?;
    if let (Some(header), Some(version)) = (expected, body.version)
        && header != version
    {
        // Each is well formed; together they ask for two versions at once.
        return Err(ApiError::unprocessable(
            "version",
            format!("If-Match ({header}) and the body's version ({version}) disagree"),
        ));
    }
    let names_courier = body
        .courier
        .as_deref()
        .is_some_and(|c| !c.trim().is_empty());
    let delivery = state
        .gateway
        .update_delivery(&caller, &order_id, body, expected)
        .await
        .map_err(|e| needs_a_courier_is_unprocessable(e, names_courier))?;
    tracing::info!(status = %delivery.status, version = delivery.version, "delivery updated");
    Ok(with_etag(delivery))
}

/// List deliveries.
///
/// For boards: customers see their own orders', a restaurant key its
/// restaurant's, a courier its own and the unassigned ones, ops all.
#[utoipa::path(
    get, path = "/deliveries", tag = "deliveries",
    params(DeliveriesQuery),
    responses(
        (status = 200, description = "a page of deliveries", body = DeliveryList),
        (status = 400, description = "`invalid_argument`: an unknown status, a limit out of range, a cursor of another list"),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn list_deliveries(
    State(state): State<SharedState>,
    Keyed(caller): Keyed,
    ApiQuery(q): ApiQuery<DeliveriesQuery>,
) -> Result<Json<DeliveryList>, ApiError> {
    let names: Vec<&str> = DeliveryStatus::ALL.iter().map(|s| s.as_str()).collect();
    // The page size is checked even when the filter leaves nothing to list.
    page(q.limit, None)?;
    let filter = DeliveryFilter {
        status: parse_status(q.status, &names)?,
        restaurant_id: q.restaurant,
        courier_id: q.courier,
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(Json(state.gateway.list_deliveries(&caller, filter).await?))
}

/// delivery-service refuses ASSIGNED without a courier for a delivery that
/// has none as an invalid `courier`; when the body named no courier, the
/// request is well formed and the delivery's state refuses it: a 422.
fn needs_a_courier_is_unprocessable(err: ApiError, names_courier: bool) -> ApiError {
    match &err {
        ApiError::Coded {
            code: ErrorCode::InvalidArgument,
            message,
            details,
        } if !names_courier && details.get("field").and_then(|f| f.as_str()) == Some("courier") => {
            ApiError::unprocessable("courier", message.clone())
        }
        _ => err,
    }
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

/// Follow an order's delivery (Server-Sent Events).
///
/// `event: delivery`, `id: <event id>`, `data: <Delivery>`: first the
/// current state, then each change; keep-alive comments every 15 s. Resumed
/// with `Last-Event-ID`, it first replays the changes after that event.
#[utoipa::path(
    get, path = "/delivery/status/{orderId}/stream", tag = "deliveries",
    params(
        ("orderId" = String, Path, description = "the order id, or its last 8 characters (the short id tables show)"),
        ("Last-Event-ID" = Option<String>, Header, description = "resume after this event"),
    ),
    responses(
        (status = 200, description = "a stream of `delivery` events whose data is a `Delivery`", content_type = "text/event-stream", body = String),
        (status = 404, description = "`not_found`: no delivery for this order (or one outside the caller's scope)"),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(order_id = %order_id))]
pub async fn stream_status(
    State(state): State<SharedState>,
    Keyed(caller): Keyed,
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

/// Follow delivery changes (Server-Sent Events).
///
/// `event: delivery` with a `Delivery` for each change: ops all, a courier
/// its own and the unassigned ones, a restaurant key its restaurant's.
#[utoipa::path(
    get, path = "/events/deliveries", tag = "deliveries",
    params(("Last-Event-ID" = Option<String>, Header, description = "resume after this event when this replica still holds it")),
    responses(
        (status = 200, description = "a stream of `delivery` events whose data is a `Delivery`", content_type = "text/event-stream", body = String),
        (status = 403, description = "`permission_denied`: a customer key"),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn stream_all(
    State(state): State<SharedState>,
    Keyed(caller): Keyed,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let last = header_text(&headers, "last-event-id");
    let stream = live::all_updates(&state.hub, &caller, last.as_deref(), &state.shutdown)?;
    Ok(sse(stream))
}
