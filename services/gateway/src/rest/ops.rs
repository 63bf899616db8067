//! Operational endpoints: liveness, readiness (downstreams reachable),
//! Prometheus metrics, and JSON 404/405s.

use axum::{
    Json,
    extract::State,
    http::{StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use std::collections::BTreeMap;

use food_api::ErrorCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::{error::ApiError, state::SharedState};

/// `GET /healthz`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct Health {
    /// Always `ok`.
    pub status: String,
}

/// `GET /readyz` when every downstream is serving.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ready", "checks": {"menu": "ok", "order": "ok", "delivery": "ok", "live_feed": "ok", "order_feed": "ok"}}))]
pub struct Readiness {
    /// Always `ready`.
    pub status: String,
    /// Each downstream and live feed: `ok`, `connecting`, or why it is down.
    pub checks: BTreeMap<String, String>,
}

/// Liveness.
///
/// The process is up; it says nothing of the services behind it.
#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, description = "the process is up", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
    })
}

/// Readiness.
///
/// Whether the menu, order and delivery services answer; the live feeds'
/// state is informational.
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses(
        (status = 200, description = "every downstream reports SERVING", body = Readiness),
        (status = 503, description = "`unavailable`: a downstream is down; `details` names each downstream and its state"),
    ))]
#[tracing::instrument(skip_all)]
pub async fn readyz(State(state): State<SharedState>) -> Response {
    let checks = state.gateway.downstream().health().await;
    let mut details = BTreeMap::new();
    let mut down = Vec::new();
    for (name, result) in checks {
        let text = match result {
            Ok(()) => "ok".to_owned(),
            Err(why) => {
                down.push(name);
                why
            }
        };
        details.insert(name.to_owned(), text);
    }
    // Informational: streams still start with the current state without it.
    let live = if state.hub.is_live() {
        "ok"
    } else {
        "connecting"
    };
    details.insert("live_feed".to_owned(), live.to_owned());
    let orders = if state.orders.is_live() {
        "ok"
    } else {
        "connecting"
    };
    details.insert("order_feed".to_owned(), orders.to_owned());
    if down.is_empty() {
        Json(Readiness {
            status: "ready".to_owned(),
            checks: details,
        })
        .into_response()
    } else {
        let mut err = ApiError::new(
            ErrorCode::Unavailable,
            format!("not ready: {} down", down.join(", ")),
        );
        for (k, v) in details {
            err = err.with_detail(&k, v);
        }
        err.into_response()
    }
}

/// Prometheus metrics.
///
/// Requests by route and status, latencies, rate-limited and shed
/// requests, in the Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String)))]
pub async fn metrics() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        food_kit::metrics::handle().render(),
    )
        .into_response()
}

pub async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route {}", uri.path()))
}

pub async fn method_not_allowed() -> Response {
    let err = ApiError::bad_request("method not allowed on this route");
    (StatusCode::METHOD_NOT_ALLOWED, Json(err.body())).into_response()
}
