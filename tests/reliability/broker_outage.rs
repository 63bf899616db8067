//! The broker killed for 20 s under load: writes keep being accepted (the
//! outboxes hold their events), and once it is back every order gets its
//! one delivery, statuses agree and the live watchers end with every change.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use food_bench::local::{Launch, LocalStack};
use food_broker::{EmbeddedBroker, Storage};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

use crate::platform::{self, Acknowledged, Load};

const RATE: f64 = 200.0;
const BEFORE: Duration = Duration::from_secs(10);
const OUTAGE: Duration = Duration::from_secs(20);
const AFTER: Duration = Duration::from_secs(10);
/// Deliveries a GraphQL subscription follows each.
const GRAPHQL_WATCHED: usize = 4;
const CATCH_UP: Duration = Duration::from_secs(60);

/// The highest delivery version a watcher saw, by order id.
type Seen = Arc<Mutex<BTreeMap<String, u64>>>;

fn saw(seen: &Seen, delivery: &Value) {
    let (Some(id), Some(v)) = (delivery["order_id"].as_str(), delivery["version"].as_u64()) else {
        return;
    };
    let mut seen = seen.lock().unwrap();
    let at = seen.entry(id.to_owned()).or_default();
    *at = (*at).max(v);
}

/// Follows `/events/deliveries` as ops, as a client would: when the stream
/// ends or breaks it reconnects with `Last-Event-ID` to resume after the
/// last event it had.
async fn sse_watcher(gateway: SocketAddr, ops: String, seen: Seen) {
    let http = reqwest::Client::new();
    let mut last_id: Option<String> = None;
    loop {
        let mut request = http
            .get(format!("http://{gateway}/events/deliveries"))
            .bearer_auth(&ops);
        if let Some(id) = &last_id {
            request = request.header("last-event-id", id);
        }
        if let Ok(res) = request.send().await
            && res.status().is_success()
        {
            let mut parser = food_client::sse::SseParser::new();
            let mut body = res.bytes_stream();
            while let Some(Ok(chunk)) = body.next().await {
                for event in parser.push(&chunk) {
                    if let Ok(delivery) = serde_json::from_str::<Value>(&event.data) {
                        saw(&seen, &delivery);
                    }
                    if event.id.is_some() {
                        last_id = event.id;
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Follows one delivery through the GraphQL subscription
/// `deliveryStatusChanged`, subscribing again when the socket closes (the
/// subscription starts with the current state).
async fn graphql_watcher(gateway: SocketAddr, ops: String, order_id: String, seen: Seen) {
    loop {
        let mut request = format!("ws://{gateway}/graphql")
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        if let Ok((mut ws, _)) = tokio_tungstenite::connect_async(request).await {
            let init = json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {ops}")}});
            let subscribe = json!({
                "id": "1",
                "type": "subscribe",
                "payload": {
                    "query": "subscription($id: ID!) { deliveryStatusChanged(orderId: $id) { orderId version } }",
                    "variables": {"id": order_id},
                },
            });
            let _ = ws.send(Message::Text(init.to_string().into())).await;
            let _ = ws.send(Message::Text(subscribe.to_string().into())).await;
            while let Some(Ok(msg)) = ws.next().await {
                let Message::Text(text) = msg else { continue };
                let v: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
                if v["type"] == "next" {
                    let d = &v["payload"]["data"]["deliveryStatusChanged"];
                    saw(
                        &seen,
                        &json!({"order_id": d["orderId"], "version": d["version"]}),
                    );
                } else if v["type"] == "error" || v["type"] == "complete" {
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until `seen` has every delivery of `want` at its version, at most
/// `patience`; returns the ones still behind.
async fn caught_up(seen: &Seen, want: &BTreeMap<String, u64>, patience: Duration) -> Vec<String> {
    let deadline = Instant::now() + patience;
    loop {
        let behind: Vec<String> = {
            let seen = seen.lock().unwrap();
            want.iter()
                .filter(|(id, v)| seen.get(*id).is_none_or(|s| s < v))
                .map(|(id, v)| format!("{id} v{v} (saw {:?})", seen.get(id)))
                .collect()
        };
        if behind.is_empty() || Instant::now() > deadline {
            return behind;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "slow (about 75 s); .ci/run runs the reliability target with --ignored"]
async fn a_broker_outage_under_load_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let broker_bin = platform::beside_test("food-broker");
    let broker_db = dir.path().join("broker.db");
    let broker = EmbeddedBroker::start_with(
        &broker_bin,
        "127.0.0.1:0".parse().unwrap(),
        Storage::Sqlite(broker_db.clone()),
    )
    .await
    .unwrap();
    let broker_addr = broker.addr();
    let stack = LocalStack::launch(&Launch {
        kafka_brokers: Some(broker.bootstrap()),
        ..platform::launch(&dir.path().join("data"))
    })
    .await
    .unwrap();
    let load = Load::prepare(&stack).await;
    let ops = stack.keys.ops.clone();

    let sse_seen = Seen::default();
    let sse = tokio::spawn(sse_watcher(stack.gateway, ops.clone(), sse_seen.clone()));
    let graphql_seen = Seen::default();
    let watched: Vec<String> = load.pool.orders[..GRAPHQL_WATCHED].to_vec();
    let graphql: Vec<_> = watched
        .iter()
        .map(|id| {
            tokio::spawn(graphql_watcher(
                stack.gateway,
                ops.clone(),
                id.clone(),
                graphql_seen.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut acked = Acknowledged::default();
    let before = load.run(10, RATE, BEFORE).await;
    acked.add(&before);
    broker.stop().await;
    let during = load.run(11, RATE, OUTAGE).await;
    acked.add(&during);
    let broker = EmbeddedBroker::start_with(&broker_bin, broker_addr, Storage::Sqlite(broker_db))
        .await
        .unwrap();
    let back = Instant::now();
    let after = load.run(12, RATE, AFTER).await;
    acked.add(&after);

    let client = platform::client(&stack);
    let (snapshot, _) = platform::settle(&client, CATCH_UP).await;
    let catch_up = back.elapsed();
    let versions: BTreeMap<String, u64> = snapshot
        .deliveries
        .iter()
        .map(|(id, d)| (id.clone(), d.version))
        .collect();
    let sse_behind = caught_up(&sse_seen, &versions, Duration::from_secs(20)).await;
    let graphql_want: BTreeMap<String, u64> = watched
        .iter()
        .map(|id| (id.clone(), versions[id]))
        .collect();
    let graphql_behind = caught_up(&graphql_seen, &graphql_want, Duration::from_secs(10)).await;
    let missing = snapshot.missing(&acked);
    let during_errors = platform::errors(&during);
    println!(
        "broker outage of {} s under {RATE} req/s\n\
         accepted during the outage: {} orders, {} status changes (errors: {during_errors:?})\n\
         accepted in all: {} orders, {} status changes\n\
         orders: {}, delivered: {}, duplicates: {}, lost: {}, mismatched statuses: {}\n\
         catch-up after the broker is back: {:.1} s (settled), SSE watcher behind: {}, \
         GraphQL watchers behind: {}",
        OUTAGE.as_secs(),
        during.kinds[1].ok,
        during.kinds[2].ok,
        acked.orders.len(),
        acked.changes,
        snapshot.orders.len(),
        snapshot.deliveries.len(),
        snapshot.duplicated_deliveries,
        snapshot.undelivered() + missing.len(),
        snapshot.mismatched().len(),
        catch_up.as_secs_f64(),
        sse_behind.len(),
        graphql_behind.len(),
    );
    sse.abort();
    graphql.iter().for_each(|g| g.abort());
    assert_eq!(
        before.errors() + after.errors(),
        0,
        "{:?} {:?}",
        platform::errors(&before),
        platform::errors(&after)
    );
    assert_eq!(
        during.errors(),
        0,
        "writes refused during the outage: {:?}",
        during.error_samples()
    );
    assert!(during.kinds[1].ok > 100, "too few orders during the outage");
    assert!(missing.is_empty(), "{missing:?}");
    assert!(
        snapshot.settled(),
        "{} undelivered, {:?}",
        snapshot.undelivered(),
        snapshot.mismatched()
    );
    assert_eq!(snapshot.duplicated_deliveries, 0);
    assert_eq!(snapshot.repeated_history(), Vec::<String>::new());
    assert!(
        sse_behind.is_empty(),
        "the SSE watcher missed {sse_behind:?}"
    );
    assert!(
        graphql_behind.is_empty(),
        "the GraphQL watchers missed {graphql_behind:?}"
    );
    stack.stop().await.unwrap();
    broker.stop().await;
}
