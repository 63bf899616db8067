//! `events tail` against the stack's broker.

use serde_json::Value;

use crate::helpers::{foodctl, place_order, shared_stack, wait_for_delivery};

#[test]
fn events_tail_prints_decoded_events_as_json_lines() {
    // Arrange
    let stack = shared_stack();
    let id = place_order(stack, &stack.customer_key);
    wait_for_delivery(stack, &id);
    let orders = format!("{}food.orders.v1", stack.prefix);
    let deliveries = format!("{}food.deliveries.v1", stack.prefix);
    // Act
    let out = foodctl(stack, "")
        .args([
            "events",
            "tail",
            "--from-beginning",
            "--brokers",
            &stack.brokers,
        ])
        .args(["--topic", &orders, "--topic", &deliveries, "--count", "2"])
        .output()
        .unwrap();
    // Assert
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for l in &lines {
        assert!(l["event_id"].is_string());
        let kind = l["event_type"].as_str().unwrap();
        assert!(
            [
                "OrderPlaced",
                "DeliveryStatusChanged",
                "OrderCancelled",
                "OrderStatusChanged"
            ]
            .contains(&kind),
            "{kind}"
        );
    }
}

#[test]
fn events_tail_takes_brokers_from_the_environment() {
    let stack = shared_stack();
    let id = place_order(stack, &stack.customer_key);
    wait_for_delivery(stack, &id);
    let deliveries = format!("{}food.deliveries.v1", stack.prefix);
    let out = foodctl(stack, "")
        .env("FOOD_KAFKA_BROKERS", &stack.brokers)
        .args([
            "events",
            "tail",
            "--from-beginning",
            "--topic",
            &deliveries,
            "--count",
            "1",
            "-o",
            "ndjson",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["event_type"], "DeliveryStatusChanged");
    assert!(v["payload"]["delivery"]["order_id"].is_string());
}
