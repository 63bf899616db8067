//! The OpenAPI contract as a running stack serves it: `/openapi.json` is
//! docs/api/openapi.json, and the gateway answers what the document says
//! where schemathesis once found it did not (.ci/contract/openapi.sh runs
//! schemathesis itself).

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{AUTO_KITCHEN, SseReader, TestStack, Who, assert_error, spawn_stack};

fn committed_document() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/api/openapi.json");
    let text = std::fs::read_to_string(path).expect("docs/api/openapi.json");
    serde_json::from_str(&text).expect("docs/api/openapi.json is JSON")
}

/// The machine codes the document's `ErrorCode` enum lists.
fn documented_codes(doc: &Value) -> Vec<String> {
    doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("ErrorCode is an enum")
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect()
}

/// Asserts `status` with a documented error code, and that the document
/// lists `status` for the operation; returns the body.
async fn assert_documented_error(
    doc: &Value,
    (method, path): (&str, &str),
    res: reqwest::Response,
    status: StatusCode,
    code: &str,
) -> Value {
    let body = assert_error(res, status, code).await;
    assert!(
        documented_codes(doc).iter().any(|c| c == code),
        "{code} is not in ErrorCode"
    );
    let responses = &doc["paths"][path][method]["responses"];
    assert!(
        responses[status.as_str()].is_object(),
        "{method} {path} does not document {status}"
    );
    body
}

async fn order_of(stack: &TestStack, who: Who) -> String {
    let order = stack.create_order(who).await;
    order["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_served_document_is_the_exported_one() {
    let stack = spawn_stack().await;

    let served = stack.get_json("/openapi.json", Who::Anonymous).await;

    assert!(
        served == committed_document(),
        "GET /openapi.json differs from docs/api/openapi.json: run `cargo run -p food-contract -- export`"
    );
}

#[tokio::test]
async fn an_order_read_back_has_every_property_its_schema_requires() {
    // Arrange
    let doc = committed_document();
    let stack = spawn_stack().await;
    let id = order_of(&stack, Who::Alice).await;

    // Act
    let order = stack.get_json(&format!("/orders/{id}"), Who::Alice).await;
    let delivery = stack.wait_for_delivery(&id).await;

    // Assert: every required property is there, and no undocumented one.
    for (name, value) in [("Order", &order), ("Delivery", &delivery)] {
        let schema = &doc["components"]["schemas"][name];
        for field in schema["required"].as_array().unwrap() {
            let field = field.as_str().unwrap();
            assert!(
                value.get(field).is_some(),
                "{name}.{field} missing: {value}"
            );
        }
        for field in value.as_object().unwrap().keys() {
            assert!(
                schema["properties"][field].is_object(),
                "{name}.{field} is not documented"
            );
        }
    }
    let statuses = doc["components"]["schemas"]["OrderStatus"]["enum"]
        .as_array()
        .unwrap();
    assert!(statuses.contains(&order["status"]), "{}", order["status"]);
}

#[tokio::test]
async fn a_keyed_route_says_401_before_looking_at_a_bad_body() {
    let doc = committed_document();
    let stack = spawn_stack().await;

    let res = stack
        .request(Method::POST, "/orders", Who::Anonymous)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();

    assert_documented_error(
        &doc,
        ("post", "/orders"),
        res,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
}

#[tokio::test]
async fn integers_written_with_a_fraction_of_zero_are_integers() {
    // JSON Schema's `integer` counts 2.0 as 2; so does the gateway.
    let stack = spawn_stack().await;
    let item = stack.available_item().await;

    let res = stack
        .request(Method::POST, "/orders", Who::Alice)
        .json(&json!({"items": [{"item_id": item["id"], "quantity": 2.0}], "delivery_address": "1 Main St"}))
        .send()
        .await
        .unwrap();

    assert_eq!(res.status(), StatusCode::CREATED);
    let order: Value = res.json().await.unwrap();
    assert_eq!(order["items"][0]["quantity"], 2);
}

#[tokio::test]
async fn a_body_of_the_wrong_shape_names_the_field_at_fault() {
    let doc = committed_document();
    let stack = spawn_stack().await;

    let res = stack
        .request(Method::POST, "/orders", Who::Alice)
        .json(&json!({"items": [{"item_id": "margherita", "quantity": 1.5}], "delivery_address": "x"}))
        .send()
        .await
        .unwrap();

    let body = assert_documented_error(
        &doc,
        ("post", "/orders"),
        res,
        StatusCode::BAD_REQUEST,
        "invalid_argument",
    )
    .await;
    assert_eq!(body["error"]["details"]["field"], "items[0].quantity");
}

#[tokio::test]
async fn well_formed_requests_that_cannot_be_acted_on_are_422s() {
    // Arrange
    let doc = committed_document();
    let stack = spawn_stack().await;
    let order_id = order_of(&stack, Who::Alice).await;
    stack.wait_for_delivery(&order_id).await;
    let past = (chrono::Utc::now() - chrono::TimeDelta::minutes(5)).to_rfc3339();

    // Act
    let late = stack
        .request(
            Method::POST,
            &format!("/orders/{order_id}/accept"),
            Who::Kitchen,
        )
        .json(&json!({"ready_by": past}))
        .send()
        .await
        .unwrap();
    let twice = stack
        .request(Method::POST, "/menu/items", Who::Ops)
        .json(&json!({"items": [
            {"id": "twin", "restaurant_id": AUTO_KITCHEN, "name": "Twin", "category": "x", "price_cents": 1},
            {"id": "twin", "restaurant_id": AUTO_KITCHEN, "name": "Twin", "category": "x", "price_cents": 1},
        ]}))
        .send()
        .await
        .unwrap();
    let disagreeing = stack
        .request(
            Method::PUT,
            &format!("/delivery/status/{order_id}"),
            Who::Ops,
        )
        .header("If-Match", "\"1\"")
        .json(&json!({"status": "ASSIGNED", "courier": "courier-1", "version": 2}))
        .send()
        .await
        .unwrap();
    let no_courier = stack
        .request(
            Method::PUT,
            &format!("/delivery/status/{order_id}"),
            Who::Ops,
        )
        .json(&json!({"status": "ASSIGNED"}))
        .send()
        .await
        .unwrap();

    // Assert
    let body = assert_documented_error(
        &doc,
        ("post", "/orders/{orderId}/accept"),
        late,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_argument",
    )
    .await;
    assert_eq!(body["error"]["details"]["field"], "ready_by");
    let body = assert_documented_error(
        &doc,
        ("post", "/menu/items"),
        twice,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_argument",
    )
    .await;
    assert_eq!(body["error"]["details"]["field"], "items[1].id");
    let body = assert_documented_error(
        &doc,
        ("put", "/delivery/status/{orderId}"),
        disagreeing,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_argument",
    )
    .await;
    assert_eq!(body["error"]["details"]["field"], "version");
    let body = assert_documented_error(
        &doc,
        ("put", "/delivery/status/{orderId}"),
        no_courier,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_argument",
    )
    .await;
    assert_eq!(body["error"]["details"]["field"], "courier");
    let delivery = stack
        .get_json(&format!("/delivery/status/{order_id}"), Who::Ops)
        .await;
    assert_eq!(delivery["status"], "PENDING", "nothing changed: {delivery}");
}

#[tokio::test]
async fn inputs_outside_the_documented_limits_are_400s() {
    // Arrange
    let doc = committed_document();
    let stack = spawn_stack().await;
    let order_id = order_of(&stack, Who::Alice).await;
    let item = stack.available_item().await;
    let body =
        json!({"items": [{"item_id": item["id"], "quantity": 1}], "delivery_address": "1 Main St"});

    // Act
    let blank_status = stack.get("/orders?status=", Who::Ops).send().await.unwrap();
    let long_key = stack
        .request(Method::POST, "/orders", Who::Alice)
        .header("Idempotency-Key", "k".repeat(201))
        .json(&body)
        .send()
        .await
        .unwrap();
    let longest_key = stack
        .request(Method::POST, "/orders", Who::Alice)
        .header("Idempotency-Key", "k".repeat(200))
        .json(&body)
        .send()
        .await
        .unwrap();
    let long_reason = stack
        .request(
            Method::POST,
            &format!("/orders/{order_id}/cancel?reason={}", "r".repeat(201)),
            Who::Alice,
        )
        .send()
        .await
        .unwrap();
    let limit_of_nothing = stack
        .get("/deliveries?restaurant=elsewhere&limit=5000", Who::Kitchen)
        .send()
        .await
        .unwrap();

    // Assert
    for (op, res) in [
        (("get", "/orders"), blank_status),
        (("post", "/orders"), long_key),
        (("post", "/orders/{orderId}/cancel"), long_reason),
        (("get", "/deliveries"), limit_of_nothing),
    ] {
        assert_documented_error(&doc, op, res, StatusCode::BAD_REQUEST, "invalid_argument").await;
    }
    assert_eq!(longest_key.status(), StatusCode::CREATED);
    let order = stack
        .get_json(&format!("/orders/{order_id}"), Who::Alice)
        .await;
    assert_ne!(order["status"], "CANCELLED");
}

#[tokio::test]
async fn a_kitchen_marks_an_order_ready_with_no_body_or_null() {
    // Arrange: the auto-accepting kitchen's order is PREPARING.
    let stack = spawn_stack().await;
    let order_id = order_of(&stack, Who::Alice).await;
    stack
        .eventually(&format!("/orders/{order_id}"), Who::Ops, |o| {
            o["status"] == "PREPARING"
        })
        .await;

    // Act
    let res = stack
        .request(
            Method::POST,
            &format!("/orders/{order_id}/ready"),
            Who::Kitchen,
        )
        .header("content-type", "application/json")
        .body("null")
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(res.status(), StatusCode::OK);
    let order: Value = res.json().await.unwrap();
    assert_eq!(order["status"], "READY_FOR_PICKUP");
}

#[tokio::test]
async fn a_delivery_stream_sends_the_documented_events() {
    // Arrange
    let doc = committed_document();
    let event_schema = &doc["components"]["schemas"]["DeliveryEvent"];
    let stack = spawn_stack().await;
    let order_id = order_of(&stack, Who::Alice).await;
    stack.wait_for_delivery(&order_id).await;

    // Act
    let res = stack
        .get(&format!("/delivery/status/{order_id}/stream"), Who::Alice)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mut events = SseReader::new(res);
    let first = events
        .next(Duration::from_secs(5))
        .await
        .expect("the current state first");

    // Assert
    assert_eq!(event_schema["properties"]["event"]["const"], "delivery");
    assert_eq!(first.event, "delivery");
    assert!(!first.id.is_empty());
    let delivery = first.json();
    assert_eq!(delivery["order_id"], order_id.as_str());
    for field in doc["components"]["schemas"]["Delivery"]["required"]
        .as_array()
        .unwrap()
    {
        assert!(delivery.get(field.as_str().unwrap()).is_some(), "{field}");
    }
}
