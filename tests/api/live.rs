//! Server-Sent Events: a watcher gets the current state, then each change
//! as it reaches the broker.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::helpers::{SseReader, Who, spawn_stack};

const PATIENCE: Duration = Duration::from_secs(10);

#[tokio::test]
async fn an_order_stream_starts_with_the_current_state_then_carries_each_change() {
    // Arrange
    let stack = spawn_stack().await;
    let order = stack.create_order(Who::Alice).await;
    let id = order["id"].as_str().unwrap();
    stack.wait_for_delivery(id).await;
    let res = stack
        .get(&format!("/delivery/status/{id}/stream"), Who::Alice)
        .send()
        .await
        .unwrap();
    let mut sse = SseReader::new(res);
    let first = sse.next(PATIENCE).await.expect("the current state");
    assert_eq!(first.event, "delivery");
    assert_eq!(first.json()["status"], "PENDING");
    assert!(!first.id.is_empty());

    // Act
    let put_at = Instant::now();
    assert_eq!(
        stack
            .put_status(id, "ASSIGNED", Who::Courier)
            .await
            .status(),
        StatusCode::OK
    );
    let change = sse.next(PATIENCE).await.expect("the change");
    let latency = put_at.elapsed();

    // Assert
    assert_eq!(change.event, "delivery");
    assert_eq!(change.json()["status"], "ASSIGNED");
    assert_eq!(change.json()["order_id"], id);
    assert_ne!(change.id, first.id);
    assert!(latency < Duration::from_secs(2), "took {latency:?}");
}

#[tokio::test]
async fn a_resumed_stream_skips_what_the_client_already_has() {
    // Arrange: watch, see a change, disconnect
    let stack = spawn_stack().await;
    let order = stack.create_order(Who::Bob).await;
    let id = order["id"].as_str().unwrap().to_owned();
    stack.wait_for_delivery(&id).await;
    let path = format!("/delivery/status/{id}/stream");
    let mut sse = SseReader::new(stack.get(&path, Who::Bob).send().await.unwrap());
    sse.next(PATIENCE).await.unwrap();
    stack.put_status(&id, "ASSIGNED", Who::Courier).await;
    let seen = sse.next(PATIENCE).await.unwrap();
    drop(sse);

    // Act: reconnect with Last-Event-ID, then change again
    let res = stack
        .get(&path, Who::Bob)
        .header("Last-Event-ID", &seen.id)
        .send()
        .await
        .unwrap();
    let mut resumed = SseReader::new(res);
    stack.put_status(&id, "PICKED_UP", Who::Courier).await;

    // Assert: no repeat of ASSIGNED, straight to the new change
    let next = resumed.next(PATIENCE).await.unwrap();
    assert_eq!(next.json()["status"], "PICKED_UP");
}

#[tokio::test]
async fn a_resumed_stream_replays_each_change_it_missed() {
    // Arrange: a watcher sees the current state and goes away; two changes
    // follow, seen by another watcher (so the gateway has them).
    let stack = spawn_stack().await;
    let order = stack.create_order(Who::Alice).await;
    let id = order["id"].as_str().unwrap().to_owned();
    stack.wait_for_delivery(&id).await;
    let path = format!("/delivery/status/{id}/stream");
    let mut sse = SseReader::new(stack.get(&path, Who::Ops).send().await.unwrap());
    let seen = sse.next(PATIENCE).await.unwrap();
    let mut other = SseReader::new(stack.get(&path, Who::Ops).send().await.unwrap());
    other.next(PATIENCE).await.unwrap();
    drop(sse);
    stack.put_status(&id, "ASSIGNED", Who::Ops).await;
    stack.put_status(&id, "CANCELLED", Who::Ops).await;
    for _ in 0..2 {
        other.next(PATIENCE).await.expect("the change");
    }

    // Act
    let res = stack
        .get(&path, Who::Ops)
        .header("Last-Event-ID", &seen.id)
        .send()
        .await
        .unwrap();
    let mut resumed = SseReader::new(res);

    // Assert: both changes, in order, not only the state they led to
    assert_eq!(
        resumed.next(PATIENCE).await.unwrap().json()["status"],
        "ASSIGNED"
    );
    assert_eq!(
        resumed.next(PATIENCE).await.unwrap().json()["status"],
        "CANCELLED"
    );
}

#[tokio::test]
async fn a_resumed_stream_sends_the_current_state_when_it_is_newer() {
    let stack = spawn_stack().await;
    let order = stack.create_order(Who::Alice).await;
    let id = order["id"].as_str().unwrap();
    let d = stack.wait_for_delivery(id).await;
    let old = format!("v{}", d["version"]);
    stack.put_status(id, "ASSIGNED", Who::Courier).await;

    let res = stack
        .get(&format!("/delivery/status/{id}/stream"), Who::Alice)
        .header("Last-Event-ID", old)
        .send()
        .await
        .unwrap();
    let mut sse = SseReader::new(res);

    assert_eq!(
        sse.next(PATIENCE).await.unwrap().json()["status"],
        "ASSIGNED"
    );
}

#[tokio::test]
async fn the_ops_stream_carries_every_delivery_change() {
    // Arrange
    let stack = spawn_stack().await;
    let mut sse = SseReader::new(
        stack
            .get("/events/deliveries", Who::Ops)
            .send()
            .await
            .unwrap(),
    );

    // Act
    let a = stack.create_order(Who::Alice).await;
    let b = stack.create_order(Who::Bob).await;

    // Assert: both deliveries appear as they are created (PENDING)
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let e = sse.next(PATIENCE).await.expect("a delivery event");
        assert_eq!(e.event, "delivery");
        assert_eq!(e.json()["status"], "PENDING");
        seen.push(e.json()["order_id"].as_str().unwrap().to_owned());
    }
    seen.sort();
    let mut expected = vec![
        a["id"].as_str().unwrap().to_owned(),
        b["id"].as_str().unwrap().to_owned(),
    ];
    expected.sort();
    assert_eq!(seen, expected);
}
