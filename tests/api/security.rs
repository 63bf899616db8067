//! Keys stay secret and the gateway stays closed: no key, valid or not,
//! reaches a log line (at trace level), a Kafka event or `/metrics`; no
//! origin is granted cross-origin access; `food-stack`'s keys file is
//! readable by its owner only.

use std::{
    os::unix::fs::PermissionsExt,
    path::Path,
    sync::{
        Mutex, OnceLock,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use futures::SinkExt;
use rdkafka::message::{Headers, Message as _};
use reqwest::Method;
use serde_json::json;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};
use tracing_subscriber::{
    Layer, filter::filter_fn, fmt::format::FmtSpan, layer::SubscriberExt, util::SubscriberInitExt,
};

use crate::helpers::{GraphqlSocket, TestStack, Who, spawn_stack};

/// Whether the capturing subscriber writes. It is installed for the whole
/// test binary, but only the leak test turns it on, so that the other
/// tests are not slowed by logging at trace level (what they log while it
/// is on is searched too).
static CAPTURING: AtomicBool = AtomicBool::new(false);

/// Installs (once) a global subscriber that writes what the platform's
/// binaries log under `RUST_LOG=trace` (their filter,
/// `food_kit::telemetry::env_filter`), events and spans, to a file, and
/// returns the file.
fn log_capture() -> &'static Path {
    static FILE: OnceLock<tempfile::NamedTempFile> = OnceLock::new();
    FILE.get_or_init(|| {
        let file = tempfile::NamedTempFile::new().unwrap();
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_span_events(FmtSpan::NEW | FmtSpan::CLOSE)
            .with_writer(Mutex::new(file.reopen().unwrap()))
            .with_filter(filter_fn(|_| CAPTURING.load(Ordering::Relaxed)));
        tracing_subscriber::registry()
            .with(food_kit::telemetry::env_filter(Some("trace")))
            .with(layer)
            .try_init()
            .expect("no other global subscriber (run without TEST_LOG)");
        file
    })
    .path()
}

/// Every key the platform accepts: the test's and the local ones
/// `food-stack` generated (ops, couriers, kitchens, customers).
fn accepted_keys(stack: &TestStack) -> Vec<String> {
    let local = &stack.platform().keys;
    let mut keys: Vec<String> = Who::ALL
        .into_iter()
        .chain([Who::Courier2])
        .filter(|w| *w != Who::BadKey)
        .filter_map(|w| w.key().map(str::to_owned))
        .collect();
    keys.push(local.ops.clone());
    keys.extend(local.couriers.values().cloned());
    keys.extend(local.restaurants.values().cloned());
    keys.extend(local.customers.values().cloned());
    keys
}

/// Presents `key` every way a client might: the `Authorization` header of
/// REST, SSE, GraphQL and the WebSocket upgrade, mangled headers, query
/// parameters, and a `connection_init` payload.
async fn present(stack: &TestStack, key: &str) {
    let client = &stack.client;
    let bearer = format!("Bearer {key}");
    for path in ["/orders", "/menu/items", "/couriers", "/nowhere"] {
        client
            .get(stack.url(path))
            .header("Authorization", &bearer)
            .send()
            .await
            .unwrap();
    }
    client
        .post(stack.url("/orders"))
        .header("Authorization", &bearer)
        .json(&json!({"items": "not a list"}))
        .send()
        .await
        .unwrap();
    client
        .post(stack.url("/graphql"))
        .header("Authorization", &bearer)
        .json(&json!({"query": "{ orders { orders { id } } }"}))
        .send()
        .await
        .unwrap();
    let sse = client
        .get(stack.url("/events/deliveries"))
        .header("Authorization", &bearer)
        .send()
        .await
        .unwrap();
    drop(sse);
    for mangled in [
        format!("Basic {key}"),
        format!("Bearer {key} {key}"),
        key.to_owned(),
    ] {
        client
            .get(stack.url("/orders"))
            .header("Authorization", mangled)
            .send()
            .await
            .unwrap();
    }
    client
        .get(stack.url(&format!(
            "/orders?api_key={key}&access_token={key}&token={key}"
        )))
        .send()
        .await
        .unwrap();
    // The WebSocket: the key on the upgrade, then in connection_init.
    let mut request = format!("ws://{}/graphql", stack.addr)
        .into_client_request()
        .unwrap();
    let headers = request.headers_mut();
    headers.insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    headers.insert("Authorization", bearer.parse().unwrap());
    let (mut ws, _): (GraphqlSocket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let init = json!({"type": "connection_init", "payload": {"Authorization": bearer}});
    ws.send(Message::Text(init.to_string().into()))
        .await
        .unwrap();
    let subscribe = json!({"id": "1", "type": "subscribe",
        "payload": {"query": "subscription { orderStatusChanged(restaurantId: \"x\") { id } }"}});
    // A refused key has closed the socket already.
    let _ = ws.send(Message::Text(subscribe.to_string().into())).await;
    let _ = tokio::time::timeout(
        Duration::from_millis(300),
        futures::StreamExt::next(&mut ws),
    )
    .await;
}

/// Which of `keys` occur in `text`, for a failure message that names
/// where, never the key itself.
fn leaked(keys: &[String], text: &str) -> Vec<usize> {
    (0..keys.len())
        .filter(|i| text.contains(&keys[*i]))
        .collect()
}

#[tokio::test]
async fn no_key_appears_in_logs_events_or_metrics() {
    // Arrange: trace logging on, then a platform with an order's worth of
    // events.
    let log = log_capture();
    CAPTURING.store(true, Ordering::Relaxed);
    let stack = spawn_stack().await;
    let order = stack.create_order(Who::Alice).await;
    stack.wait_for_delivery(order["id"].as_str().unwrap()).await;
    let accepted = accepted_keys(&stack);
    // Unknown keys, among them near misses that contain an accepted key.
    let mut keys = accepted.clone();
    keys.push("food_ops_4b1d0000000000000000000000000000000000000000".into());
    keys.extend(accepted.iter().take(3).map(|k| format!("{k}0")));

    // Act
    for key in &keys {
        present(&stack, key).await;
    }
    let metrics = stack
        .get("/metrics", Who::Anonymous)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut events = String::new();
    let platform = stack.platform();
    for topic in food_events::topics::Topics::with_prefix(&platform.prefix).all() {
        let read = food_kit::testing::read_topic(
            &platform.brokers,
            &topic,
            usize::MAX,
            Duration::from_secs(3),
        )
        .await;
        assert!(!read.is_empty(), "no event on {topic}");
        for m in read {
            events.push_str(&String::from_utf8_lossy(m.payload().unwrap_or_default()));
            for h in m.headers().into_iter().flat_map(|h| h.iter()) {
                events.push_str(h.key);
                events.push_str(&String::from_utf8_lossy(h.value.unwrap_or_default()));
            }
        }
    }
    drop(stack);
    CAPTURING.store(false, Ordering::Relaxed);
    let logs = std::fs::read_to_string(log).unwrap();

    // Assert: the capture saw trace-level lines of the requests, and no key
    // anywhere.
    assert!(logs.contains("TRACE"), "nothing logged at trace level");
    assert!(
        logs.contains("request served"),
        "the requests were not logged"
    );
    assert!(metrics.contains("gateway_http_requests_total"), "{metrics}");
    assert_eq!(
        leaked(&keys, &logs),
        Vec::<usize>::new(),
        "keys (by index) in the log {}",
        log.display()
    );
    assert_eq!(
        leaked(&keys, &events),
        Vec::<usize>::new(),
        "keys (by index) in Kafka events"
    );
    assert_eq!(
        leaked(&keys, &metrics),
        Vec::<usize>::new(),
        "keys (by index) in /metrics"
    );
    // Kept when an assertion fails, for the reader of its message.
    std::fs::remove_file(log).unwrap();
}

#[tokio::test]
async fn no_origin_is_granted_cross_origin_access() {
    // Arrange: the gateway has no CORS setting, so it must stay closed.
    let stack = spawn_stack().await;
    let origin = "https://evil.example";

    // Act
    let preflight = stack
        .request(Method::OPTIONS, "/orders", Who::Anonymous)
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    let simple = stack
        .get("/orders", Who::Alice)
        .header("Origin", origin)
        .send()
        .await
        .unwrap();
    let graphql = stack
        .request(Method::POST, "/graphql", Who::Alice)
        .header("Origin", origin)
        .json(&json!({"query": "{ orders { orders { id } } }"}))
        .send()
        .await
        .unwrap();

    // Assert: no grant, whatever the answer; the preflight is not a 5xx.
    assert!(
        !preflight.status().is_server_error(),
        "{}",
        preflight.status()
    );
    for res in [&preflight, &simple, &graphql] {
        for header in [
            "access-control-allow-origin",
            "access-control-allow-credentials",
            "access-control-allow-headers",
            "access-control-allow-methods",
        ] {
            assert!(
                res.headers().get(header).is_none(),
                "{} {header}: {:?}",
                res.url(),
                res.headers().get(header)
            );
        }
    }
    assert_eq!(simple.status(), reqwest::StatusCode::OK);
}

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn the_local_keys_file_is_private_after_a_start_and_made_private_again() {
    // Arrange: a first start of food-stack on an empty data dir.
    let dir = tempfile::tempdir().unwrap();
    let start = || async {
        let mut config = food_stack::Config::for_tests(dir.path().to_path_buf());
        config.topic_prefix = food_kit::testing::unique_prefix();
        food_stack::Stack::start(config, food_kit::Shutdown::new())
            .await
            .expect("the stack starts")
    };
    let first = start().await;
    let keys_file = first.keys_file.clone();
    let keys = first.keys.clone();
    first.stop().await.unwrap();
    assert_eq!(keys_file, dir.path().join("local-keys.json"));
    assert_eq!(mode_of(&keys_file), 0o600, "after the first start");

    // Act: someone loosens it; the stack starts again.
    std::fs::set_permissions(&keys_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let second = start().await;

    // Assert: the same keys, private again.
    assert_eq!(second.keys, keys);
    assert_eq!(
        mode_of(&keys_file),
        0o600,
        "after a start on a loosened file"
    );
    second.stop().await.unwrap();
}
