//! `order create|get|list|cancel|watch` and `--wait-for`.

use std::time::Duration;

use predicates::prelude::*;
use serde_json::Value;

use crate::helpers::{
    KITCHEN, Running, available_item, foodctl, item_of, json, order_of, place_order, shared_stack,
    wait_for_delivery,
};

#[test]
fn order_create_prices_the_order_and_prints_a_table() {
    let stack = shared_stack();
    let item = available_item(stack);
    foodctl(stack, &stack.customer_key)
        .args([
            "order",
            "create",
            "--item",
            &format!("{item}:2"),
            "--address",
            "1 Main St",
            "--note",
            "ring twice",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("STATUS    PLACED")
                .and(predicate::str::contains(" EUR"))
                .and(predicate::str::contains("ring twice")),
        );
}

#[test]
fn order_create_json_is_the_created_order_and_the_same_key_creates_it_once() {
    let stack = shared_stack();
    let item = available_item(stack);
    let key = format!("test-key-{}", uuid::Uuid::now_v7().simple());
    let args = [
        "order",
        "create",
        "--item",
        &item,
        "--address",
        "2 Main St",
        "--idempotency-key",
        &key,
    ];
    let first = json(stack, &stack.customer_key, &args);
    let second = json(stack, &stack.customer_key, &args);
    assert_eq!(first["id"], second["id"]);
    assert_eq!(first["status"], "PLACED");
    assert_eq!(first["customer_id"], stack.customer_id.as_str());
    assert_eq!(first["items"][0]["quantity"], 1);
}

#[test]
fn order_get_shows_one_order_in_every_format() {
    let stack = shared_stack();
    let id = place_order(stack, &stack.customer_key);
    assert_eq!(
        json(stack, &stack.customer_key, &["order", "get", &id])["id"],
        id.as_str()
    );
    foodctl(stack, &stack.customer_key)
        .args(["order", "get", &id])
        .assert()
        .success()
        .stdout(predicate::str::contains(&id).and(predicate::str::contains("ITEM")));
    foodctl(stack, &stack.customer_key)
        .args(["order", "get", &id, "-o", "yaml"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("id: {id}")));
    let out = foodctl(stack, &stack.customer_key)
        .args(["order", "get", &id, "-o", "ndjson"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1);
    assert!(
        text.starts_with("{\"id\":"),
        "the gateway's field order is kept: {text}"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["id"],
        id.as_str()
    );
}

#[test]
fn another_customers_order_is_not_found() {
    let stack = shared_stack();
    let id = place_order(stack, &stack.customer_key);
    foodctl(stack, &stack.other_customer_key)
        .args(["order", "get", &id])
        .assert()
        .code(3);
}

#[test]
fn order_list_filters_by_status_and_customer_in_every_format() {
    let stack = shared_stack();
    // A kitchen that accepts by hand: the order stays PLACED.
    let item = item_of(stack, KITCHEN);
    let id = order_of(stack, &stack.customer_key, &item)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mine = json(
        stack,
        &stack.customer_key,
        &["order", "list", "--status", "PLACED"],
    );
    let orders = mine["orders"].as_array().unwrap();
    assert!(orders.iter().any(|o| o["id"] == id.as_str()));
    assert!(
        orders
            .iter()
            .all(|o| o["customer_id"] == stack.customer_id.as_str())
    );
    let by_ops = json(
        stack,
        &stack.ops_key,
        &["order", "list", "--customer", &stack.customer_id],
    );
    assert!(
        by_ops["orders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["id"] == id.as_str())
    );
    let short = &id[id.len() - 8..];
    foodctl(stack, &stack.customer_key)
        .args(["order", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ORDER").and(predicate::str::contains(short)));
    foodctl(stack, &stack.customer_key)
        .args(["order", "list", "-o", "wide"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ADDRESS").and(predicate::str::contains(id.as_str())));
    let out = foodctl(stack, &stack.customer_key)
        .args(["order", "list", "-o", "ndjson", "--limit", "2"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 2);
    foodctl(stack, &stack.customer_key)
        .args(["order", "list", "-o", "yaml", "--limit", "1"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("orders:\n- id: "));
}

#[test]
fn order_cancel_cancels_before_pick_up() {
    let stack = shared_stack();
    let id = place_order(stack, &stack.customer_key);
    wait_for_delivery(stack, &id);
    let v = json(stack, &stack.customer_key, &["order", "cancel", &id]);
    assert_eq!(v["status"], "CANCELLED");
}

#[test]
fn an_unknown_order_exits_3() {
    let stack = shared_stack();
    foodctl(stack, &stack.ops_key)
        .args(["order", "get", "01900000-0000-7000-8000-000000000000"])
        .assert()
        .code(3)
        .stdout("")
        .stderr(
            predicate::str::starts_with("foodctl: ").and(predicate::str::contains("not_found")),
        );
}

#[test]
fn wait_for_returns_once_the_delivery_reaches_the_status() {
    let stack = shared_stack();
    let item = available_item(stack);
    foodctl(stack, &stack.customer_key)
        .args([
            "order",
            "create",
            "--item",
            &item,
            "--address",
            "3 Main St",
            "--wait-for",
            "PENDING",
            "--timeout",
            "30s",
            "-o",
            "json",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"PLACED\""));
}

#[test]
fn wait_for_a_status_nobody_sets_times_out_with_7() {
    let stack = shared_stack();
    let item = available_item(stack);
    foodctl(stack, &stack.customer_key)
        .args([
            "order",
            "create",
            "--item",
            &item,
            "--address",
            "4 Main St",
            "--wait-for",
            "DELIVERED",
            "--timeout",
            "1500ms",
            "-o",
            "json",
        ])
        .assert()
        .code(7)
        .stdout(predicate::str::contains("\"id\""))
        .stderr(predicate::str::contains("did not reach DELIVERED"));
}

#[test]
fn wait_for_an_order_status_sees_the_kitchen_move_the_order() {
    // Arrange: an order of a kitchen that accepts by hand, waited on until
    // READY_FOR_PICKUP, which only the order tells (its delivery stays PENDING).
    let stack = shared_stack();
    let item = item_of(stack, KITCHEN);
    let waiter = Running::spawn(
        stack,
        &stack.customer_key,
        &[
            "order",
            "create",
            "--item",
            &item,
            "--address",
            "5 Main St",
            "--wait-for",
            "READY_FOR_PICKUP",
            "--timeout",
            "30s",
            "-o",
            "ndjson",
        ],
    );
    let order: Value = serde_json::from_str(&waiter.next_line(Duration::from_secs(30))).unwrap();
    let id = order["id"].as_str().unwrap();
    // Act: the kitchen accepts, then readies it.
    foodctl(stack, &stack.kitchen_key)
        .args(["order", "accept", id, "--prep", "10m"])
        .assert()
        .success();
    foodctl(stack, &stack.kitchen_key)
        .args(["order", "ready", id])
        .assert()
        .success();
    // Assert
    assert_eq!(waiter.wait(Duration::from_secs(30)), 0);
}

#[test]
fn order_watch_prints_each_change_and_ends_at_a_terminal_status() {
    // Arrange
    let stack = shared_stack();
    let id = place_order(stack, &stack.customer_key);
    wait_for_delivery(stack, &id);
    let watch = Running::spawn(
        stack,
        &stack.customer_key,
        &["order", "watch", &id, "-o", "ndjson"],
    );
    let first: Value = serde_json::from_str(&watch.next_line(Duration::from_secs(20))).unwrap();
    assert_eq!(first["status"], "PENDING");
    // Act
    foodctl(stack, &stack.ops_key)
        .args(["delivery", "set", &id, "ASSIGNED", "--courier", "courier-3"])
        .assert()
        .success();
    let second: Value = serde_json::from_str(&watch.next_line(Duration::from_secs(20))).unwrap();
    foodctl(stack, &stack.ops_key)
        .args(["delivery", "set", &id, "FAILED", "--note", "flat tyre"])
        .assert()
        .success();
    let third: Value = serde_json::from_str(&watch.next_line(Duration::from_secs(20))).unwrap();
    // Assert
    assert_eq!(second["status"], "ASSIGNED");
    assert_eq!(second["courier"], "courier-3");
    assert_eq!(third["status"], "FAILED");
    assert_eq!(watch.wait(Duration::from_secs(10)), 0);
}

#[test]
fn order_watch_in_table_mode_prints_one_line_per_change() {
    let stack = shared_stack();
    let id = place_order(stack, &stack.customer_key);
    wait_for_delivery(stack, &id);
    foodctl(stack, &stack.ops_key)
        .args(["delivery", "set", &id, "CANCELLED"])
        .assert()
        .success();
    foodctl(stack, &stack.customer_key)
        .args(["order", "watch", &id])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("CANCELLED")
                .and(predicate::str::contains(&id[id.len() - 8..])),
        );
}
