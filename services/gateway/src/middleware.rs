//! Request plumbing, outermost first: the request id (in, generated, out,
//! on to gRPC and into logs) with metrics; load shedding beyond
//! `max_in_flight`; admission (body size, API key, per-key rate limit).

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderValue, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use futures::StreamExt;
use tracing::Instrument;

use crate::{
    auth::Authentication, downstream::REQUEST_ID, error::ApiError, ratelimit::retry_after_secs,
    settings::Role, state::SharedState,
};

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// A client's request id is kept when it is short printable text.
fn client_request_id(req: &Request) -> Option<String> {
    let v = req.headers().get(REQUEST_ID_HEADER)?.to_str().ok()?.trim();
    (!v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .then(|| v.to_owned())
}

pub async fn request_context(req: Request, next: Next) -> Response {
    let id = client_request_id(&req).unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string());
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let span = tracing::info_span!("http", request_id = %id, %method, path = %req.uri().path(), role = tracing::field::Empty);
    let started = Instant::now();

    let mut response = REQUEST_ID
        .scope(id.clone(), next.run(req))
        .instrument(span.clone())
        .await;

    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    let status = response.status();
    let elapsed = started.elapsed();
    let labels = [
        ("method", method.to_string()),
        ("route", route),
        ("status", status.as_u16().to_string()),
    ];
    metrics::counter!("gateway_http_requests_total", &labels).increment(1);
    metrics::histogram!("gateway_http_request_duration_seconds", &labels[..2])
        .record(elapsed.as_secs_f64());
    span.in_scope(|| {
        if status.is_server_error() {
            tracing::warn!(
                status = status.as_u16(),
                elapsed_ms = elapsed.as_millis() as u64,
                "request failed"
            );
        } else {
            tracing::debug!(
                status = status.as_u16(),
                elapsed_ms = elapsed.as_millis() as u64,
                "request served"
            );
        }
    });
    response
}

/// The largest oversized body [`admission`] reads through before its 413.
const DRAIN_LIMIT: usize = 8 * 1024 * 1024;

/// Refuses what must not reach a handler: oversized bodies (by their
/// declared length; streamed bodies are cut by the body limit layer),
/// and customers over their rate. Stores who the caller is.
pub async fn admission(State(state): State<SharedState>, mut req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(len) = declared.filter(|len| *len > state.body_limit) {
        // Read (and drop) a body of moderate size before answering, so that
        // the client, still sending it, reads the 413 rather than a broken
        // pipe when the connection closes under it; a larger one is cut.
        if len <= DRAIN_LIMIT {
            let mut body = req.into_body().into_data_stream();
            while let Some(Ok(_)) = body.next().await {}
        }
        return ApiError::payload_too_large(state.body_limit).into_response();
    }
    let auth = match req.headers().get(header::AUTHORIZATION) {
        None => Authentication::Anonymous,
        Some(v) => match v.to_str() {
            Ok(v) => state.keys.authenticate(Some(v)),
            Err(_) => Authentication::Refused("the Authorization header is not valid text"),
        },
    };
    if let (Authentication::Authenticated(p), Some(limiter)) = (&auth, &state.limiter)
        && p.role == Role::Customer
        && let Err(wait) = limiter.check(&p.key_id)
    {
        metrics::counter!("gateway_rate_limited_total").increment(1);
        return ApiError::RateLimited {
            retry_after_secs: retry_after_secs(wait),
        }
        .into_response();
    }
    if let Authentication::Authenticated(p) = &auth {
        tracing::Span::current().record("role", p.role.as_str());
    }
    req.extensions_mut().insert(auth);
    next.run(req).await
}

/// Turns the load-shedding layer's refusal into a fast JSON 503.
pub async fn overloaded(err: tower::BoxError) -> ApiError {
    if err.is::<tower::load_shed::error::Overloaded>() {
        metrics::counter!("gateway_shed_requests_total").increment(1);
        ApiError::unavailable("the gateway is at capacity, retry shortly")
    } else {
        ApiError::Unexpected(anyhow::anyhow!("middleware failure: {err}"))
    }
}
