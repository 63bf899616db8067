//! Operational endpoints: liveness, readiness (downstreams reachable),
//! Prometheus metrics, and JSON 404/405s.

use axum::{
    Json,
    extract::State,
    http::{StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use food_api::ErrorCode;
use serde_json::{Map, Value, json};

use crate::{error::ApiError, state::SharedState};

#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, description = "the process is up", body = Object)))]
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses(
        (status = 200, description = "every downstream reports SERVING", body = Object),
        (status = 503, description = "`unavailable`; `details` names each downstream and why it is down", body = Object),
    ))]
#[tracing::instrument(skip_all)]
pub async fn readyz(State(state): State<SharedState>) -> Response {
    let checks = state.gateway.downstream().health().await;
    let mut details = Map::new();
    let mut down = Vec::new();
    for (name, result) in checks {
        let text = match result {
            Ok(()) => "ok".to_owned(),
            Err(why) => {
                down.push(name);
                why
            }
        };
        details.insert(name.to_owned(), Value::from(text));
    }
    // Informational: streams still start with the current state without it.
    let live = if state.hub.is_live() {
        "ok"
    } else {
        "connecting"
    };
    details.insert("live_feed".to_owned(), Value::from(live));
    let orders = if state.orders.is_live() {
        "ok"
    } else {
        "connecting"
    };
    details.insert("order_feed".to_owned(), Value::from(orders));
    if down.is_empty() {
        Json(json!({ "status": "ready", "checks": details })).into_response()
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
