//! `delivery status|set|list|watch`.

use std::time::Duration;

use predicates::prelude::*;
use serde_json::Value;

use crate::helpers::{Running, foodctl, json, place_order, shared_stack, wait_for_delivery};

#[test]
fn delivery_set_moves_the_delivery_with_courier_eta_and_note() {
    // Arrange
    let stack = shared_stack();
    let id = place_order(stack, &stack.customer_key);
    let before = wait_for_delivery(stack, &id);
    // Act
    let after = json(
        stack,
        &stack.ops_key,
        &[
            "delivery",
            "set",
            &id,
            "assigned",
            "--courier",
            "courier-2",
            "--eta",
            "+15m",
            "--note",
            "on my way",
            "--if-version",
            &before["version"].to_string(),
        ],
    );
    // Assert
    assert_eq!(after["status"], "ASSIGNED");
    assert_eq!(after["courier"], "courier-2");
    assert_eq!(after["courier_name"], "Malik Benali");
    assert!(after["eta"].is_string());
    assert_eq!(
        after["version"].as_u64().unwrap(),
        before["version"].as_u64().unwrap() + 1
    );
    foodctl(stack, &stack.ops_key)
        .args(["delivery", "status", &id])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("ASSIGNED")
                .and(predicate::str::contains("Malik Benali (courier-2)"))
                .and(predicate::str::contains("in 1"))
                .and(predicate::str::contains("on my way")),
        );
    foodctl(stack, &stack.ops_key)
        .args(["delivery", "status", &id, "-o", "yaml"])
        .assert()
        .success()
        .stdout(predicate::str::contains("status: ASSIGNED"));
}

#[test]
fn a_refused_transition_or_a_stale_version_exits_5() {
    let stack = shared_stack();
    let id = place_order(stack, &stack.customer_key);
    wait_for_delivery(stack, &id);
    foodctl(stack, &stack.ops_key)
        .args(["delivery", "set", &id, "DELIVERED"])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("invalid_transition"));
    foodctl(stack, &stack.ops_key)
        .args([
            "delivery",
            "set",
            &id,
            "ASSIGNED",
            "--courier",
            "courier-3",
            "--if-version",
            "99",
        ])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("version_conflict"));
}

#[test]
fn a_customer_cannot_move_a_delivery_exits_4() {
    let stack = shared_stack();
    let id = place_order(stack, &stack.customer_key);
    wait_for_delivery(stack, &id);
    foodctl(stack, &stack.customer_key)
        .args(["delivery", "set", &id, "ASSIGNED"])
        .assert()
        .code(4);
}

#[test]
fn delivery_list_filters_by_status_in_every_format() {
    let stack = shared_stack();
    let id = place_order(stack, &stack.customer_key);
    wait_for_delivery(stack, &id);
    json(
        stack,
        &stack.ops_key,
        &["delivery", "set", &id, "ASSIGNED", "--courier", "courier-3"],
    );
    let v = json(
        stack,
        &stack.ops_key,
        &["delivery", "list", "--status", "ASSIGNED"],
    );
    let ds = v["deliveries"].as_array().unwrap();
    assert!(ds.iter().any(|d| d["order_id"] == id.as_str()));
    assert!(ds.iter().all(|d| d["status"] == "ASSIGNED"));
    foodctl(stack, &stack.ops_key)
        .args(["delivery", "list", "--status", "ASSIGNED"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("COURIER")
                .and(predicate::str::contains(&id[id.len() - 8..]))
                .and(predicate::str::contains("Inès Laurent")),
        );
    foodctl(stack, &stack.ops_key)
        .args(["delivery", "list", "-o", "wide", "--limit", "1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ADDRESS"));
    let out = foodctl(stack, &stack.ops_key)
        .args(["delivery", "list", "-o", "ndjson", "--limit", "1"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 1);
}

#[test]
fn delivery_watch_receives_a_change_made_by_another_command() {
    // Arrange
    let stack = shared_stack();
    let id = place_order(stack, &stack.customer_key);
    wait_for_delivery(stack, &id);
    let watch = Running::spawn(
        stack,
        &stack.ops_key,
        &["delivery", "watch", &id, "-o", "ndjson"],
    );
    let first: Value = serde_json::from_str(&watch.next_line(Duration::from_secs(20))).unwrap();
    // Act
    foodctl(stack, &stack.ops_key)
        .args(["delivery", "set", &id, "ASSIGNED", "--courier", "courier-2"])
        .assert()
        .success();
    let change: Value = serde_json::from_str(&watch.next_line(Duration::from_secs(20))).unwrap();
    // Assert
    assert_eq!(first["status"], "PENDING");
    assert_eq!(change["status"], "ASSIGNED");
    assert_eq!(change["courier"], "courier-2");
    foodctl(stack, &stack.ops_key)
        .args(["delivery", "set", &id, "CANCELLED"])
        .assert()
        .success();
    let last: Value = serde_json::from_str(&watch.next_line(Duration::from_secs(20))).unwrap();
    assert_eq!(last["status"], "CANCELLED");
    assert_eq!(watch.wait(Duration::from_secs(10)), 0);
}

#[test]
fn delivery_watch_without_an_id_follows_every_delivery() {
    let stack = shared_stack();
    let id = place_order(stack, &stack.customer_key);
    wait_for_delivery(stack, &id);
    let watch = Running::spawn(
        stack,
        &stack.ops_key,
        &["delivery", "watch", "-o", "ndjson"],
    );
    // The stream is attached once it has printed anything or a moment passed.
    std::thread::sleep(Duration::from_millis(500));
    foodctl(stack, &stack.ops_key)
        .args(["delivery", "set", &id, "ASSIGNED", "--courier", "courier-3"])
        .assert()
        .success();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let line: Value = serde_json::from_str(&watch.next_line(Duration::from_secs(20))).unwrap();
        if line["order_id"] == id.as_str() && line["status"] == "ASSIGNED" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the change never arrived"
        );
    }
}
