//! The broker killed for 20 s under load: writes keep being accepted (the
//! outboxes hold their events), and once it is back every order gets its
//! one delivery, statuses agree and the live watchers (SSE, GraphQL and a
//! food-board on the topic) end with every change.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use food_bench::local::{Launch, LocalStack};
use food_board::app::{App, Conn, Options};
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

/// A food-board's state (without a terminal) and when its feed went stale
/// and live again.
struct Board {
    app: App,
    stale_at: Option<Instant>,
    live_again_at: Option<Instant>,
}

impl Board {
    fn new() -> Self {
        Self {
            app: App::new(Options::default(), chrono::Utc::now()),
            stale_at: None,
            live_again_at: None,
        }
    }
}

/// A food-board on the deliveries topic, as `food-board --brokers` runs:
/// nothing tells it the broker went away or came back; it finds out and
/// reconnects by itself.
async fn board_watcher(
    brokers: String,
    gateway: SocketAddr,
    ops: String,
    board: Arc<Mutex<Board>>,
) {
    let (tx, mut rx) = tokio::sync::mpsc::channel(8192);
    let feed = food_board::config::Feed::Kafka {
        brokers,
        topic: food_events::topics::DELIVERIES.into(),
    };
    let gateway = food_board::data::Gateway::new(&format!("http://{gateway}"), Some(ops)).unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let _stop_feed = shutdown.clone().drop_guard();
    let _feed = food_board::data::spawn_feed(
        feed,
        food_board::config::Scope::default(),
        gateway,
        tx,
        shutdown,
    );
    while let Some(msg) = rx.recv().await {
        let mut board = board.lock().unwrap();
        board.app.set_now(chrono::Utc::now());
        board.app.on_msg(msg);
        match board.app.conn() {
            Conn::Stale { .. } if board.stale_at.is_none() => board.stale_at = Some(Instant::now()),
            Conn::Live if board.stale_at.is_some() && board.live_again_at.is_none() => {
                board.live_again_at = Some(Instant::now())
            }
            _ => {}
        }
    }
}

/// Waits until every order of `orders` has its delivery, in the order they
/// were placed; returns when the first and the last one had.
async fn delivered_all(client: food_client::Client, orders: Vec<String>) -> (Instant, Instant) {
    let mut first = None;
    for id in &orders {
        loop {
            match client
                .get::<food_api::Delivery>(&format!("/delivery/status/{id}"), &[])
                .await
            {
                Ok(_) => {
                    first.get_or_insert_with(Instant::now);
                    break;
                }
                Err(e) if e.is_not_found() => tokio::time::sleep(Duration::from_millis(20)).await,
                Err(e) => panic!("GET /delivery/status/{id}: {e}"),
            }
        }
    }
    (first.unwrap_or_else(Instant::now), Instant::now())
}

/// Waits until a watcher has every delivery of `want` at its version, at
/// most `patience`; returns the ones still behind. `shown` gives the
/// version the watcher has of a delivery.
async fn caught_up(
    want: &BTreeMap<String, u64>,
    patience: Duration,
    shown: impl Fn(&str) -> Option<u64>,
) -> Vec<String> {
    let deadline = Instant::now() + patience;
    loop {
        let behind: Vec<String> = want
            .iter()
            .filter_map(|(id, v)| {
                let has = shown(id);
                has.is_none_or(|h| h < *v)
                    .then(|| format!("{id} v{v} (has {has:?})"))
            })
            .collect();
        if behind.is_empty() || Instant::now() > deadline {
            return behind;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The version `seen` has of a delivery.
fn seen_of(seen: &Seen) -> impl Fn(&str) -> Option<u64> + '_ {
    move |id| seen.lock().unwrap().get(id).copied()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "slow (about 75 s); .ci/run runs the reliability target with --ignored"]
async fn a_broker_outage_under_load_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let broker_bin = food_bench::local::test_binary("FOOD_BROKER_BIN", "food-broker");
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
    let board = Arc::new(Mutex::new(Board::new()));
    let board_task = tokio::spawn(board_watcher(
        broker.bootstrap(),
        stack.gateway,
        ops.clone(),
        board.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut acked = Acknowledged::default();
    let before = load.run(10, RATE, BEFORE).await;
    acked.add(&before);
    broker.stop().await;
    let down = Instant::now();
    let during = load.run(11, RATE, OUTAGE).await;
    acked.add(&during);
    let broker = EmbeddedBroker::start_with(&broker_bin, broker_addr, Storage::Sqlite(broker_db))
        .await
        .unwrap();
    let back = Instant::now();
    let outage_orders = {
        let mut held = Acknowledged::default();
        held.add(&during);
        held.orders
    };
    let drained = tokio::spawn(delivered_all(platform::client(&stack), outage_orders));
    let after = load.run(12, RATE, AFTER).await;
    acked.add(&after);

    let drained = tokio::time::timeout(CATCH_UP, drained)
        .await
        .expect("the orders of the outage never got their deliveries")
        .unwrap();
    let (first_drained, drained) = (
        drained.0.duration_since(back),
        drained.1.duration_since(back),
    );
    let client = platform::client(&stack);
    let (snapshot, _) = platform::settle(&client, CATCH_UP).await;
    let versions: BTreeMap<String, u64> = snapshot
        .deliveries
        .iter()
        .map(|(id, d)| (id.clone(), d.version))
        .collect();
    let sse_behind = caught_up(&versions, Duration::from_secs(20), seen_of(&sse_seen)).await;
    let graphql_want: BTreeMap<String, u64> = watched
        .iter()
        .map(|id| (id.clone(), versions[id]))
        .collect();
    let graphql_behind = caught_up(
        &graphql_want,
        Duration::from_secs(10),
        seen_of(&graphql_seen),
    )
    .await;
    let board_behind = caught_up(&versions, Duration::from_secs(20), |id| {
        board.lock().unwrap().app.delivery(id).map(|d| d.version)
    })
    .await;
    let (board_stale, board_live) = {
        let board = board.lock().unwrap();
        (
            board.stale_at.map(|t| t.duration_since(down)),
            board.live_again_at.map(|t| t.duration_since(back)),
        )
    };
    let missing = snapshot.missing(&acked);
    let during_errors = platform::errors(&during);
    println!(
        "broker outage of {} s under {RATE} req/s\n\
         accepted during the outage: {} orders, {} status changes (errors: {during_errors:?})\n\
         accepted in all: {} orders, {} status changes\n\
         orders: {}, delivered: {}, duplicates: {}, lost: {}, mismatched statuses: {}\n\
         after the broker is back, under load: the first order of the outage delivered in \
         {:.1} s, every one in {:.1} s; SSE watcher behind: {}, \
         GraphQL watchers behind: {}\n\
         board: stale {:?} after the kill, live again {:?} after the restart, behind: {}",
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
        first_drained.as_secs_f64(),
        drained.as_secs_f64(),
        sse_behind.len(),
        graphql_behind.len(),
        board_stale,
        board_live,
        board_behind.len(),
    );
    sse.abort();
    graphql.iter().for_each(|g| g.abort());
    board_task.abort();
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
    assert!(
        board_stale.is_some() && board_live.is_some(),
        "the board did not notice the outage and reconnect by itself: stale {board_stale:?}, \
         live again {board_live:?}"
    );
    assert!(board_behind.is_empty(), "the board missed {board_behind:?}");
    stack.stop().await.unwrap();
    broker.stop().await;
}
