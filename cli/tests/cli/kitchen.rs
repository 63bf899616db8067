//! `order accept|reject|ready`, `courier list|on|off|set`, and
//! `--wait-for` with order statuses: the kitchen's and the couriers'
//! commands against a real stack.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use predicates::prelude::*;
use serde_json::Value;

use crate::helpers::{
    AUTO_KITCHEN, KITCHEN, Running, Stack, foodctl, item_of, json, order_of, shared_stack,
    start_stack, wait_for_delivery,
};

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("a time"))
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

/// An order of [`KITCHEN`] (which accepts by hand), placed by the customer.
fn kitchen_order(stack: &Stack) -> String {
    let item = item_of(stack, KITCHEN);
    let o = order_of(stack, &stack.customer_key, &item);
    assert_eq!(o["status"], "PLACED");
    o["id"].as_str().unwrap().to_owned()
}

/// Polls the delivery until `done` says yes; the last one seen.
fn delivery_until(stack: &Stack, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let d = wait_for_delivery(stack, id);
        if done(&d) {
            return d;
        }
        assert!(Instant::now() < deadline, "the delivery stayed at {d}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_kitchen_accepts_with_a_prep_time_then_readies_the_order() {
    // Arrange
    let stack = shared_stack();
    let id = kitchen_order(stack);
    let before = Utc::now();
    // Act
    let accepted = json(
        stack,
        &stack.kitchen_key,
        &["order", "accept", &id, "--prep", "20m"],
    );
    let ready = json(stack, &stack.kitchen_key, &["order", "ready", &id]);
    // Assert
    assert_eq!(accepted["id"], id.as_str());
    assert_eq!(accepted["status"], "PREPARING");
    let ready_by = time(&accepted["ready_by"]);
    let expected = before + chrono::Duration::minutes(20);
    assert!(
        (ready_by - expected).num_seconds().abs() < 60,
        "{ready_by} is not 20 minutes from {before}"
    );
    assert_eq!(ready["status"], "READY_FOR_PICKUP");
    foodctl(stack, &stack.customer_key)
        .args(["order", "get", &id])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("READY_FOR_PICKUP")
                .and(predicate::str::is_match(r"READY BY  \d\d:\d\d UTC \(in (19|20)m\)").unwrap()),
        );
    // A refused transition is 5 and changes nothing.
    foodctl(stack, &stack.kitchen_key)
        .args(["order", "ready", &id])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("invalid_transition"));
    foodctl(stack, &stack.kitchen_key)
        .args(["order", "reject", &id, "--reason", "too late"])
        .assert()
        .code(5);
    let after = json(stack, &stack.customer_key, &["order", "get", &id]);
    assert_eq!(after["status"], "READY_FOR_PICKUP");
    assert_eq!(after["rejection_reason"], Value::Null);
}

#[test]
fn accept_without_a_time_uses_the_longest_prep_time_of_the_dishes() {
    // Arrange: one dish, whose prep time the menu tells.
    let stack = shared_stack();
    let item = item_of(stack, KITCHEN);
    let dish = json(stack, &stack.ops_key, &["menu", "show", &item]);
    let prep = dish["prep_minutes"].as_i64().unwrap();
    let o = order_of(stack, &stack.customer_key, &item);
    let id = o["id"].as_str().unwrap();
    let before = Utc::now();
    // Act
    let accepted = json(stack, &stack.ops_key, &["order", "accept", id]);
    // Assert
    assert_eq!(accepted["status"], "PREPARING");
    let ready_by = time(&accepted["ready_by"]);
    let expected = before + chrono::Duration::minutes(prep);
    assert!(
        (ready_by - expected).num_seconds().abs() < 60,
        "{ready_by} is not {prep} minutes from {before}"
    );
    // A new time for a PREPARING order, given as a clock time.
    let at = (Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let retimed = json(
        stack,
        &stack.kitchen_key,
        &["order", "accept", id, "--ready-by", &at],
    );
    assert_eq!(retimed["status"], "PREPARING");
    assert!(
        (time(&retimed["ready_by"]) - time(&Value::String(at)))
            .num_seconds()
            .abs()
            < 2
    );
}

#[test]
fn a_rejected_order_shows_its_reason_and_its_delivery_is_cancelled() {
    // Arrange
    let stack = shared_stack();
    let id = kitchen_order(stack);
    wait_for_delivery(stack, &id);
    // Act
    let rejected = json(
        stack,
        &stack.kitchen_key,
        &["order", "reject", &id, "--reason", "out of naan"],
    );
    // Assert
    assert_eq!(rejected["status"], "REJECTED");
    assert_eq!(rejected["rejection_reason"], "out of naan");
    let d = delivery_until(stack, &id, |d| d["status"] == "CANCELLED");
    let note = d["history"].as_array().unwrap().last().unwrap()["note"].clone();
    assert_eq!(note, "rejected: out of naan");
    foodctl(stack, &stack.customer_key)
        .args(["order", "get", &id])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("STATUS    REJECTED")
                .and(predicate::str::contains("REASON    out of naan")),
        );
    foodctl(stack, &stack.customer_key)
        .args(["order", "list", "--status", "REJECTED", "-o", "wide"])
        .assert()
        .success()
        .stdout(predicate::str::contains("REASON").and(predicate::str::contains("out of naan")));
    // Rejected is terminal: accepting it now is refused.
    foodctl(stack, &stack.kitchen_key)
        .args(["order", "accept", &id, "--prep", "5"])
        .assert()
        .code(5);
}

#[test]
fn a_kitchen_cannot_reach_another_restaurants_order_and_a_customer_cannot_accept() {
    let stack = shared_stack();
    let id = kitchen_order(stack);
    // Another restaurant's key: as if the order did not exist.
    foodctl(stack, &stack.other_kitchen_key)
        .args(["order", "accept", &id, "--prep", "10m"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("not_found"));
    foodctl(stack, &stack.other_kitchen_key)
        .args(["order", "reject", &id, "--reason", "not ours"])
        .assert()
        .code(3);
    // A customer may never accept.
    foodctl(stack, &stack.customer_key)
        .args(["order", "accept", &id, "--prep", "10m"])
        .assert()
        .code(4);
    // Nothing changed.
    let o = json(stack, &stack.ops_key, &["order", "get", &id]);
    assert_eq!(o["status"], "PLACED");
}

#[test]
fn bad_kitchen_flags_are_usage_errors_before_any_request() {
    let stack = shared_stack();
    for args in [
        &["order", "accept", "x", "--prep", "0"][..],
        &["order", "accept", "x", "--prep", "soon"],
        &["order", "accept", "x", "--ready-by", "teatime"],
        &["order", "accept", "x", "--prep", "5", "--ready-by", "12:00"],
        &["order", "reject", "x"],
        &["order", "reject", "x", "--reason", "  "],
    ] {
        foodctl(stack, &stack.kitchen_key)
            .args(args)
            .assert()
            .code(2)
            .stdout("");
    }
}

#[test]
fn wait_for_preparing_returns_at_once_for_an_auto_accepting_kitchen() {
    let stack = shared_stack();
    let item = item_of(stack, AUTO_KITCHEN);
    foodctl(stack, &stack.customer_key)
        .args([
            "order",
            "create",
            "--item",
            &item,
            "--address",
            "6 Main St",
            "--wait-for",
            "PREPARING",
            "--timeout",
            "20s",
            "-o",
            "json",
        ])
        .assert()
        .success()
        // The answer to the create shows PLACED; the wait sees PREPARING.
        .stdout(predicate::str::contains("\"PLACED\""))
        .stderr(predicate::str::contains(
            "reached PREPARING (order status PREPARING)",
        ));
}

#[test]
fn wait_for_an_order_status_times_out_naming_the_last_order_status() {
    let stack = shared_stack();
    let item = item_of(stack, KITCHEN);
    foodctl(stack, &stack.customer_key)
        .args([
            "order",
            "create",
            "--item",
            &item,
            "--address",
            "7 Main St",
            "--wait-for",
            "PREPARING",
            "--timeout",
            "1500ms",
        ])
        .assert()
        .code(7)
        .stderr(
            predicate::str::contains("did not reach PREPARING within 1.5s")
                .and(predicate::str::contains("(last seen: order status PLACED)")),
        );
}

#[test]
fn wait_for_an_order_status_a_rejection_rules_out_ends_with_the_reason() {
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
            "8 Main St",
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

    foodctl(stack, &stack.kitchen_key)
        .args(["order", "reject", id, "--reason", "closing early"])
        .assert()
        .success();

    assert_eq!(waiter.wait(Duration::from_secs(30)), 1);
}

#[test]
fn couriers_go_on_shift_and_dispatch_gives_them_orders() {
    // Arrange: a stack of its own, since shifts change dispatch for everyone.
    let stack = start_stack();
    foodctl(&stack, &stack.ops_key)
        .args(["courier", "list"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("ID         NAME            ON SHIFT  ACTIVE")
                .and(predicate::str::contains(
                    "courier-1  Camille Martin  no        0",
                ))
                .and(predicate::str::contains(
                    "courier-3  Inès Laurent    no        0",
                )),
        );
    // Act: courier-2 starts its own shift with its key.
    let on = json(&stack, &stack.courier2_key, &["courier", "on", "courier-2"]);
    // Assert
    assert_eq!(on["on_shift"], true);
    let listed = json(&stack, &stack.ops_key, &["courier", "list", "--on-shift"]);
    let ids: Vec<&str> = listed["couriers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["courier-2"]);
    // An accepted order goes to the courier on shift.
    let item = item_of(&stack, AUTO_KITCHEN);
    let o = order_of(&stack, &stack.customer_key, &item);
    let id = o["id"].as_str().unwrap();
    let d = delivery_until(&stack, id, |d| d["status"] == "ASSIGNED");
    assert_eq!(d["courier"], "courier-2");
    foodctl(&stack, &stack.ops_key)
        .args(["delivery", "status", id])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "COURIER   Malik Benali (courier-2)",
        ));
    foodctl(&stack, &stack.ops_key)
        .args(["courier", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "courier-2  Malik Benali    yes       1",
        ));
    let mine = json(
        &stack,
        &stack.ops_key,
        &["delivery", "list", "--courier", "courier-2"],
    );
    let ids: Vec<&str> = mine["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["order_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id]);
    // courier-1 cannot move courier-2's delivery: it does not see it.
    foodctl(&stack, &stack.courier_key)
        .args(["delivery", "set", id, "PICKED_UP"])
        .assert()
        .code(3);
    // Nor set another courier's shift, nor list couriers.
    foodctl(&stack, &stack.courier_key)
        .args(["courier", "off", "courier-2"])
        .assert()
        .code(4);
    foodctl(&stack, &stack.courier_key)
        .args(["courier", "list"])
        .assert()
        .code(4);
    // Off shift: it keeps its delivery.
    let off = json(&stack, &stack.ops_key, &["courier", "off", "courier-2"]);
    assert_eq!(off["on_shift"], false);
    assert_eq!(off["active_deliveries"], 1);
    // Ops add a courier.
    let added = json(
        &stack,
        &stack.ops_key,
        &["courier", "set", "courier-4", "--name", "Lou Garnier"],
    );
    assert_eq!(added["name"], "Lou Garnier");
    foodctl(&stack, &stack.ops_key)
        .args(["courier", "on", "nobody"])
        .assert()
        .code(3);
}

#[test]
fn courier_on_without_an_id_takes_the_contexts_courier_or_asks_for_one() {
    let stack = shared_stack();
    // No context bound to a courier: say which.
    foodctl(stack, &stack.courier_key)
        .args(["courier", "off"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("which courier?"));
    // A context bound to courier-1 (as food-stack's local-courier can be).
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("foodctl");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        format!(
            "current = \"c1\"\n[contexts.c1]\ngateway = \"{}\"\ntoken = \"{}\"\ncourier = \"courier-1\"\n",
            stack.gateway, stack.courier_key
        ),
    )
    .unwrap();
    let off = crate::helpers::bare_foodctl(home.path())
        .args(["courier", "off", "-o", "json"])
        .output()
        .unwrap();
    assert!(
        off.status.success(),
        "{}",
        String::from_utf8_lossy(&off.stderr)
    );
    let c: Value = serde_json::from_slice(&off.stdout).unwrap();
    assert_eq!(
        (c["id"].as_str(), c["on_shift"].as_bool()),
        (Some("courier-1"), Some(false))
    );
}
