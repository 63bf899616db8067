//! `order create -f`: one order, NDJSON in bulk, re-runs that create nothing twice.

use std::{collections::HashSet, time::Duration};

use serde_json::{Value, json};

use crate::helpers::{available_item, foodctl, json, shared_stack, start_stack};

fn lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8(stdout.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn count_orders(stack: &crate::helpers::Stack, customer: &str) -> usize {
    let v = json(
        stack,
        &stack.ops_key,
        &["order", "list", "--customer", customer],
    );
    v["orders"].as_array().unwrap().len()
}

#[test]
fn a_thousand_orders_are_created_once_even_when_the_run_is_interrupted_and_repeated() {
    // Arrange: its own stack, so the counts are this test's alone.
    let stack = start_stack();
    let item = available_item(&stack);
    let customer = format!("bulk-{}", uuid::Uuid::now_v7().simple());
    let mut file = String::new();
    for i in 0..1000 {
        let line = json!({
            "items": [{"item_id": item, "quantity": 1 + i % 3}],
            "delivery_address": format!("{i} Bulk Street"),
            "customer_id": customer,
        });
        file.push_str(&line.to_string());
        file.push('\n');
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.ndjson");
    std::fs::write(&path, &file).unwrap();
    // The "interrupted" run got through the first 300 lines only.
    let head: String = file.lines().take(300).map(|l| format!("{l}\n")).collect();

    // Act
    let partial = foodctl(&stack, &stack.ops_key)
        .args(["order", "create", "-f", "-"])
        .write_stdin(head)
        .timeout(Duration::from_secs(300))
        .output()
        .unwrap();
    let full = foodctl(&stack, &stack.ops_key)
        .args(["order", "create", "-f", path.to_str().unwrap()])
        .timeout(Duration::from_secs(300))
        .output()
        .unwrap();
    let again = foodctl(&stack, &stack.ops_key)
        .args([
            "order",
            "create",
            "-f",
            path.to_str().unwrap(),
            "--concurrency",
            "16",
        ])
        .timeout(Duration::from_secs(300))
        .output()
        .unwrap();

    // Assert
    assert!(
        partial.status.success(),
        "{}",
        String::from_utf8_lossy(&partial.stderr)
    );
    assert!(
        full.status.success(),
        "{}",
        String::from_utf8_lossy(&full.stderr)
    );
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let (partial, full, again) = (
        lines(&partial.stdout),
        lines(&full.stdout),
        lines(&again.stdout),
    );
    assert_eq!((partial.len(), full.len(), again.len()), (300, 1000, 1000));
    for (i, o) in full.iter().enumerate() {
        assert_eq!(
            o["delivery_address"],
            format!("{i} Bulk Street"),
            "results keep input order"
        );
    }
    let ids: Vec<&str> = full.iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 1000);
    assert!(
        partial.iter().zip(&ids).all(|(p, id)| p["id"] == *id),
        "the re-run returned the first run's orders"
    );
    assert!(again.iter().zip(&ids).all(|(a, id)| a["id"] == *id));
    assert_eq!(count_orders(&stack, &customer), 1000);
}

#[test]
fn a_failing_line_prints_its_error_in_place_and_sets_the_exit_code() {
    let stack = shared_stack();
    let item = available_item(stack);
    let good =
        json!({"items": [{"item_id": item, "quantity": 1}], "delivery_address": "1 Good St"});
    let unknown = json!({"items": [{"item_id": "no-such-item", "quantity": 1}], "delivery_address": "2 Bad St"});
    let input = format!("{good}\n{unknown}\nthis is not json\n{good}\n");
    let out = foodctl(stack, &stack.customer_key)
        .args(["order", "create", "-f", "-"])
        .write_stdin(input)
        .output()
        .unwrap();
    let results = lines(&out.stdout);
    assert_eq!(results.len(), 4);
    assert!(results[0]["id"].is_string());
    assert_eq!(results[1]["line"], 2);
    assert!(results[1]["error"]["code"].is_string());
    assert_eq!(results[2]["line"], 3);
    assert_eq!(results[2]["error"]["code"], "invalid_argument");
    assert!(results[3]["id"].is_string());
    assert_ne!(
        results[0]["id"], results[3]["id"],
        "equal lines at two places are two orders"
    );
    assert_eq!(out.status.code(), Some(1), "two different failures: exit 1");
}

#[test]
fn one_json_order_from_a_file_prints_like_a_single_create() {
    let stack = shared_stack();
    let item = available_item(stack);
    let order = serde_json::to_string_pretty(&json!({
        "items": [{"item_id": item, "quantity": 2}],
        "delivery_address": "9 Pretty St",
        "idempotency_key": format!("pretty-{}", uuid::Uuid::now_v7().simple()),
    }))
    .unwrap();
    let first = foodctl(stack, &stack.customer_key)
        .args(["order", "create", "-f", "-", "-o", "json"])
        .write_stdin(order.clone())
        .output()
        .unwrap();
    let second = foodctl(stack, &stack.customer_key)
        .args(["order", "create", "-f", "-", "-o", "json"])
        .write_stdin(order)
        .output()
        .unwrap();
    let (a, b): (Value, Value) = (
        serde_json::from_slice(&first.stdout).unwrap(),
        serde_json::from_slice(&second.stdout).unwrap(),
    );
    assert_eq!(a["delivery_address"], "9 Pretty St");
    assert_eq!(a["id"], b["id"]);
}
