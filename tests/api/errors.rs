//! Every documented error status, with the `{"error": {...}}` body; bad
//! input never gives a 500.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Options, Who, assert_error, spawn_stack, spawn_stack_with};

#[tokio::test]
async fn malformed_input_is_a_400_invalid_argument() {
    // Arrange
    let stack = spawn_stack().await;
    let order = stack.create_order(Who::Alice).await;
    let id = order["id"].as_str().unwrap();
    stack.wait_for_delivery(id).await;
    let put = |body: &'static str| {
        stack
            .request(Method::PUT, &format!("/delivery/status/{id}"), Who::Courier)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    // Act + Assert
    for body in [
        "{not json",
        r#"{"status": "LOST"}"#,
        r#"{"status": 3}"#,
        "{}",
        "[]",
    ] {
        assert_error(
            put(body).await.unwrap(),
            StatusCode::BAD_REQUEST,
            "invalid_argument",
        )
        .await;
    }
    for query in [
        "/orders?status=LOST",
        "/orders?limit=0",
        "/orders?limit=5000",
        "/orders?limit=abc",
    ] {
        let res = stack.get(query, Who::Ops).send().await.unwrap();
        assert_error(res, StatusCode::BAD_REQUEST, "invalid_argument").await;
    }
    let res = stack
        .get("/menu/items?available=maybe", Who::Anonymous)
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::BAD_REQUEST, "invalid_argument").await;
    let res = stack
        .request(Method::PUT, &format!("/delivery/status/{id}"), Who::Courier)
        .header("If-Match", "\"abc\"")
        .json(&json!({"status": "ASSIGNED"}))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::BAD_REQUEST, "invalid_argument").await;
    let res = stack
        .request(Method::POST, "/orders", Who::Alice)
        .json(&json!({"items": [{"item_id": "x", "quantity": -1}], "delivery_address": "a"}))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::BAD_REQUEST, "invalid_argument").await;
}

#[tokio::test]
async fn a_body_that_is_not_json_is_refused_with_a_json_error() {
    let stack = spawn_stack().await;

    let res = stack
        .request(Method::POST, "/orders", Who::Alice)
        .header("content-type", "text/plain")
        .body("items=1")
        .send()
        .await
        .unwrap();

    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_argument");
}

#[tokio::test]
async fn unknown_things_are_a_404_not_found() {
    let stack = spawn_stack().await;

    for (path, who) in [
        ("/menu/items/no-such-item", Who::Anonymous),
        ("/orders/no-such-order", Who::Ops),
        ("/delivery/status/no-such-order", Who::Courier),
        ("/no/such/route", Who::Anonymous),
    ] {
        let res = stack.get(path, who).send().await.unwrap();
        assert_error(res, StatusCode::NOT_FOUND, "not_found").await;
    }
}

#[tokio::test]
async fn refused_transitions_and_stale_versions_are_409s() {
    // Arrange
    let stack = spawn_stack().await;
    let order = stack.create_order(Who::Alice).await;
    let id = order["id"].as_str().unwrap();
    let delivery = stack.wait_for_delivery(id).await;
    let version = delivery["version"].as_u64().unwrap();
    let path = format!("/delivery/status/{id}");

    // Act + Assert: skipping a step
    let res = stack.put_status(id, "DELIVERED", Who::Ops).await;
    assert_error(res, StatusCode::CONFLICT, "invalid_transition").await;

    // A matching If-Match succeeds; the same one again is stale.
    let res = stack
        .request(Method::PUT, &path, Who::Courier)
        .header("If-Match", format!("\"{version}\""))
        .json(&json!({"status": "ASSIGNED"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = stack
        .request(Method::PUT, &path, Who::Courier)
        .header("If-Match", version.to_string())
        .json(&json!({"status": "PICKED_UP"}))
        .send()
        .await
        .unwrap();
    let body = assert_error(res, StatusCode::CONFLICT, "version_conflict").await;
    assert_eq!(body["error"]["details"]["current_version"], version + 1);

    // The body's version works the same way.
    let res = stack
        .request(Method::PUT, &path, Who::Ops)
        .json(&json!({"status": "PICKED_UP", "version": version}))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::CONFLICT, "version_conflict").await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413() {
    let stack = spawn_stack_with(Options {
        body_limit_bytes: 4096,
        ..Options::default()
    })
    .await;
    let big = json!({"items": [], "delivery_address": "x".repeat(10_000)});

    let res = stack
        .request(Method::POST, "/orders", Who::Alice)
        .json(&big)
        .send()
        .await
        .unwrap();

    assert_error(res, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
}

#[tokio::test]
async fn the_default_body_limit_is_one_mebibyte() {
    let stack = spawn_stack().await;
    let big = json!({"items": [], "delivery_address": "x".repeat(1024 * 1024 + 1)});

    let res = stack
        .request(Method::POST, "/orders", Who::Alice)
        .json(&big)
        .send()
        .await
        .unwrap();

    assert_error(res, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
}

#[tokio::test]
async fn an_unavailable_item_is_a_422() {
    // Arrange
    let stack = spawn_stack().await;
    let menu: Value = stack
        .get("/menu/items?limit=1000", Who::Anonymous)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let unavailable = menu["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["available"] == false)
        .expect("the seed menu has unavailable items")
        .clone();

    // Act
    let res = stack
        .request(Method::POST, "/orders", Who::Alice)
        .json(&json!({"items": [{"item_id": unavailable["id"], "quantity": 1}], "delivery_address": "a"}))
        .send()
        .await
        .unwrap();

    // Assert
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "item_unavailable").await;
}

#[tokio::test]
async fn a_customer_over_the_rate_limit_gets_429_with_retry_after() {
    // Arrange
    let stack = spawn_stack_with(Options {
        rate_limit_per_sec: 5,
        ..Options::default()
    })
    .await;

    // Act
    let mut limited = None;
    for _ in 0..20 {
        let res = stack.get("/orders", Who::Alice).send().await.unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(res);
            break;
        }
    }

    // Assert
    let res = limited.expect("the limit was reached");
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    assert_error(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // Other keys have their own budget; ops keys are not limited.
    assert_eq!(
        stack
            .get("/orders", Who::Bob)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    for _ in 0..20 {
        assert_eq!(
            stack
                .get("/orders", Who::Ops)
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn a_stopped_downstream_gives_a_fast_503() {
    // Arrange
    let mut stack = spawn_stack().await;
    let order = stack.create_order(Who::Alice).await;
    let id = order["id"].as_str().unwrap().to_owned();
    stack.wait_for_delivery(&id).await;

    // Act
    stack.stop_service("delivery-service").await;
    let started = Instant::now();
    let res = stack
        .get(&format!("/delivery/status/{id}"), Who::Ops)
        .send()
        .await
        .unwrap();
    let elapsed = started.elapsed();

    // Assert
    assert_error(res, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    assert!(elapsed < Duration::from_millis(1500), "took {elapsed:?}");
    let ready = stack.get("/readyz", Who::Anonymous).send().await.unwrap();
    let body = assert_error(ready, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    assert_ne!(body["error"]["details"]["delivery"], "ok");
    assert_eq!(body["error"]["details"]["menu"], "ok");
    // The rest of the platform still answers.
    assert_eq!(
        stack
            .get("/menu/items", Who::Anonymous)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_request_id_is_echoed_or_generated() {
    let stack = spawn_stack().await;

    let echoed = stack
        .get("/healthz", Who::Anonymous)
        .header("X-Request-Id", "abc-123")
        .send()
        .await
        .unwrap();
    let generated = stack.get("/healthz", Who::Anonymous).send().await.unwrap();

    assert_eq!(echoed.headers()["x-request-id"], "abc-123");
    assert!(!generated.headers()["x-request-id"].is_empty());
}

#[tokio::test]
async fn a_hung_downstream_times_out_and_requests_beyond_the_limit_are_shed_at_once() {
    // Arrange: a "menu service" that accepts connections and never answers,
    // and a gateway serving one request at a time.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let prefix = food_kit::testing::unique_prefix();
    let broker = food_kit::testing::broker_with_topics(
        &food_events::topics::Topics::with_prefix(&prefix).all(),
    )
    .await;
    let shutdown = food_kit::Shutdown::new();
    let settings = food_gateway::Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        menu_url: format!("http://{silent_addr}"),
        kafka: food_kit::settings::KafkaSettings {
            brokers: broker.bootstrap(),
            topic_prefix: prefix,
            ..Default::default()
        },
        downstream_timeout_ms: 1000,
        max_in_flight: 1,
        ..Default::default()
    };
    let app = food_gateway::Application::build(settings, shutdown.clone())
        .await
        .unwrap();
    let base = format!("http://{}", app.local_addr());
    let gateway = tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();

    // Act
    let started = Instant::now();
    let slow = tokio::spawn({
        let (client, base) = (client.clone(), base.clone());
        async move {
            client
                .get(format!("{base}/menu/items"))
                .send()
                .await
                .unwrap()
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let shed_started = Instant::now();
    let shed = client
        .get(format!("{base}/menu/items/x"))
        .send()
        .await
        .unwrap();
    let shed_elapsed = shed_started.elapsed();
    let slow = slow.await.unwrap();
    let slow_elapsed = started.elapsed();

    // Assert
    assert_error(shed, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    assert!(
        shed_elapsed < Duration::from_millis(300),
        "shedding took {shed_elapsed:?}"
    );
    assert_error(slow, StatusCode::SERVICE_UNAVAILABLE, "timeout").await;
    assert!(
        slow_elapsed < Duration::from_millis(2500),
        "the timeout took {slow_elapsed:?}"
    );
    // The gateway's feed consumer closes before its broker goes.
    shutdown.trigger();
    let _ = gateway.await;
    broker.stop().await;
}
