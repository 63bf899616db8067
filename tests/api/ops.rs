//! Health, readiness, metrics and the OpenAPI document.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Who, spawn_stack};

/// The routes of docs/design.md ("Gateway API"), plus `POST /menu/items`.
const ROUTES: &[(&str, &str)] = &[
    ("get", "/restaurants"),
    ("get", "/restaurants/{id}"),
    ("get", "/restaurants/{id}/menu"),
    ("patch", "/restaurants/{id}"),
    ("get", "/menu/items"),
    ("post", "/menu/items"),
    ("get", "/menu/items/{id}"),
    ("post", "/orders"),
    ("get", "/orders/{orderId}"),
    ("get", "/orders"),
    ("post", "/orders/{orderId}/cancel"),
    ("get", "/delivery/status/{orderId}"),
    ("put", "/delivery/status/{orderId}"),
    ("get", "/deliveries"),
    ("get", "/delivery/status/{orderId}/stream"),
    ("get", "/events/deliveries"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
];

#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let stack = spawn_stack().await;

    let doc: Value = stack
        .get("/openapi.json", Who::Anonymous)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let missing: Vec<String> = ROUTES
        .iter()
        .filter(|(method, path)| !doc["paths"][*path][*method].is_object())
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    assert!(
        missing.is_empty(),
        "missing from /openapi.json: {missing:?}"
    );
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
}

#[tokio::test]
async fn every_documented_route_is_served() {
    // A route missing from the router would answer with the JSON 404 of an unknown route.
    let stack = spawn_stack().await;

    for (method, path) in ROUTES {
        let path = path.replace("{id}", "x").replace("{orderId}", "x");
        let res = stack
            .request(method.to_uppercase().parse().unwrap(), &path, Who::Ops)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        let status = res.status();
        if status == StatusCode::NOT_FOUND {
            let body: Value = res.json().await.unwrap();
            let message = body["error"]["message"].as_str().unwrap_or_default();
            assert!(!message.starts_with("no route"), "{method} {path}: {body}");
        }
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
    }
}

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let stack = spawn_stack().await;
    stack
        .get("/menu/items", Who::Anonymous)
        .send()
        .await
        .unwrap();

    let health: Value = stack
        .get("/healthz", Who::Anonymous)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ready = stack.get("/readyz", Who::Anonymous).send().await.unwrap();
    let metrics = stack
        .get("/metrics", Who::Anonymous)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    assert_eq!(health["status"], "ok");
    assert_eq!(ready.status(), StatusCode::OK);
    let ready: Value = ready.json().await.unwrap();
    for part in ["menu", "order", "delivery"] {
        assert_eq!(ready["checks"][part], "ok", "{ready}");
    }
    assert!(metrics.contains("gateway_http_requests_total"), "{metrics}");
}
