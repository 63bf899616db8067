//! Short ids (the last 8 characters a table shows) taken back by the
//! commands that take an order id, and `delivery watch --wait-for`. A
//! short id several orders share (409, exit 5 with the candidates) needs a
//! collision only storage can make: food-stack's tests cover it through
//! the gateway, `exit::tests` the exit code and the candidates printed.

use predicates::prelude::*;
use serde_json::Value;

use crate::helpers::{foodctl, json, place_order, shared_stack, wait_for_delivery};

fn short(id: &str) -> &str {
    &id[id.len() - 8..]
}

#[test]
fn order_get_and_delivery_status_take_the_short_id_the_order_list_shows() {
    // Arrange
    let stack = shared_stack();
    let id = place_order(stack, &stack.customer_key);
    wait_for_delivery(stack, &id);
    let short = short(&id);
    foodctl(stack, &stack.customer_key)
        .args(["order", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains(short));

    // Act
    let order = json(stack, &stack.customer_key, &["order", "get", short]);
    let delivery = json(stack, &stack.customer_key, &["delivery", "status", short]);

    // Assert
    assert_eq!(order["id"], id.as_str(), "{order}");
    assert_eq!(delivery["order_id"], id.as_str(), "{delivery}");
    // Another customer is told there is no such order.
    foodctl(stack, &stack.other_customer_key)
        .args(["order", "get", short])
        .assert()
        .code(3)
        .stdout("")
        .stderr(predicate::str::contains("not_found").and(predicate::str::contains(&id).not()));
}

#[test]
fn delivery_set_and_order_cancel_take_a_short_id() {
    // Arrange
    let stack = shared_stack();
    let claimed = place_order(stack, &stack.customer_key);
    let cancelled = place_order(stack, &stack.customer_key);
    wait_for_delivery(stack, &claimed);
    wait_for_delivery(stack, &cancelled);

    // Act: courier-1 claims the unassigned delivery it sees by its short id.
    let set: Value = json(
        stack,
        &stack.courier_key,
        &["delivery", "set", short(&claimed), "ASSIGNED"],
    );
    let cancel: Value = json(
        stack,
        &stack.customer_key,
        &["order", "cancel", short(&cancelled)],
    );

    // Assert
    assert_eq!(set["order_id"], claimed.as_str(), "{set}");
    assert_eq!(set["status"], "ASSIGNED");
    assert_eq!(set["courier"], "courier-1");
    assert_eq!(cancel["id"], cancelled.as_str(), "{cancel}");
    assert_eq!(cancel["status"], "CANCELLED");
    // courier-2 no longer sees courier-1's delivery.
    foodctl(stack, &stack.courier2_key)
        .args(["delivery", "set", short(&claimed), "PICKED_UP"])
        .assert()
        .code(3);
}

#[test]
fn delivery_watch_waits_for_a_delivery_status_and_names_the_last_one_seen() {
    // Arrange: nobody on shift, so the delivery stays PENDING.
    let stack = shared_stack();
    let id = place_order(stack, &stack.customer_key);
    wait_for_delivery(stack, &id);
    let short = short(&id);

    // Act + Assert: reached at once, printing the change it saw.
    foodctl(stack, &stack.customer_key)
        .args(["delivery", "watch", short, "--wait-for", "PENDING"])
        .args(["--timeout", "20s"])
        .assert()
        .success()
        .stdout(predicate::str::contains(short).and(predicate::str::contains("PENDING")))
        .stderr(predicate::str::contains(
            "reached PENDING (delivery status PENDING)",
        ));
    // Never reached in time: exit 7 naming the delivery's status.
    foodctl(stack, &stack.customer_key)
        .args(["delivery", "watch", short, "--wait-for", "DELIVERED"])
        .args(["--timeout", "1500ms"])
        .assert()
        .code(7)
        .stderr(
            predicate::str::contains("did not reach DELIVERED within 1.5s").and(
                predicate::str::contains("(last seen: delivery status PENDING)"),
            ),
        );
    // An order status is not a delivery's, and a wait needs one delivery.
    for args in [
        &["delivery", "watch", short, "--wait-for", "PREPARING"][..],
        &["delivery", "watch", "--wait-for", "ASSIGNED"][..],
    ] {
        foodctl(stack, &stack.customer_key)
            .args(args)
            .assert()
            .code(2)
            .stdout("");
    }
}
