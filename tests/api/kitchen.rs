//! The kitchen through the gateway: auto-accept and manual accept, ready,
//! rejection and its compensation (the delivery cancelled, seen live by
//! the customer), restaurant keys confined to their restaurant, and the
//! GraphQL mutations and `orderStatusChanged` subscription of a kitchen.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    AUTO_KITCHEN, MANUAL_KITCHEN, SseReader, TestStack, Who, assert_error, graphql_code,
    next_ws_message, spawn_stack,
};

const PATIENCE: Duration = Duration::from_secs(10);

fn at(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .unwrap_or_else(|| panic!("a time, got {v}"))
        .parse()
        .unwrap()
}

fn id(order: &Value) -> String {
    order["id"].as_str().unwrap().to_owned()
}

async fn kitchen(
    stack: &TestStack,
    who: Who,
    order_id: &str,
    action: &str,
    body: Value,
) -> reqwest::Response {
    stack
        .request(Method::POST, &format!("/orders/{order_id}/{action}"), who)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_auto_accept_kitchen_takes_an_order_at_once_with_a_ready_by_time() {
    // Arrange
    let stack = spawn_stack().await;
    let before = Utc::now();

    // Act
    let placed = stack.create_order_at(Who::Alice, AUTO_KITCHEN).await;

    // Assert: the answer shows PLACED, the order is PREPARING right after,
    // ready by now + its longest prep time.
    assert_eq!(placed["status"], "PLACED");
    let order = stack
        .eventually(&format!("/orders/{}", id(&placed)), Who::Alice, |o| {
            o["status"] == "PREPARING"
        })
        .await;
    let item = stack
        .get_json(
            &format!(
                "/menu/items/{}",
                placed["items"][0]["item_id"].as_str().unwrap()
            ),
            Who::Anonymous,
        )
        .await;
    let prep = chrono::Duration::minutes(item["prep_minutes"].as_i64().unwrap());
    let ready_by = at(&order["ready_by"]);
    assert!(
        ready_by >= before + prep - chrono::Duration::seconds(1)
            && ready_by <= Utc::now() + prep + chrono::Duration::seconds(1),
        "ready_by {ready_by} for a {prep} dish ordered at {before}"
    );
    assert_eq!(order["rejection_reason"], Value::Null);
}

#[tokio::test]
async fn a_manual_kitchen_accepts_its_order_with_a_prep_time_then_readies_it() {
    // Arrange
    let stack = spawn_stack().await;
    let placed = stack.create_order_at(Who::Alice, MANUAL_KITCHEN).await;
    let order_id = id(&placed);
    stack.wait_for_delivery(&order_id).await;
    let waiting = stack
        .get_json(&format!("/orders/{order_id}"), Who::Tandoor)
        .await;
    assert_eq!(
        waiting["status"], "PLACED",
        "a manual kitchen has not answered"
    );
    assert_eq!(waiting["ready_by"], Value::Null);
    let listed = stack.get_json("/orders?status=PLACED", Who::Tandoor).await;
    assert!(
        listed["orders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["id"] == order_id.as_str()),
        "the kitchen lists it: {listed}"
    );

    // Act + Assert: both or neither of ready_by and prep_minutes is a 400.
    for body in [
        json!({}),
        json!({"prep_minutes": 15, "ready_by": "2030-01-01T12:00:00Z"}),
    ] {
        let res = kitchen(&stack, Who::Tandoor, &order_id, "accept", body).await;
        assert_error(res, StatusCode::BAD_REQUEST, "invalid_argument").await;
    }
    // Marking ready before accepting is a refused transition that changes nothing.
    let res = kitchen(&stack, Who::Tandoor, &order_id, "ready", json!({})).await;
    assert_error(res, StatusCode::CONFLICT, "invalid_transition").await;

    let before = Utc::now();
    let res = kitchen(
        &stack,
        Who::Tandoor,
        &order_id,
        "accept",
        json!({"prep_minutes": 15}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let accepted: Value = res.json().await.unwrap();
    assert_eq!(accepted["status"], "PREPARING", "{accepted}");
    let ready_by = at(&accepted["ready_by"]);
    let fifteen = chrono::Duration::minutes(15);
    assert!(
        ready_by >= before + fifteen - chrono::Duration::seconds(1)
            && ready_by <= Utc::now() + fifteen + chrono::Duration::seconds(1),
        "{ready_by}"
    );

    // A new ready-by time for a PREPARING order.
    let later = (Utc::now() + chrono::Duration::minutes(45))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let res = kitchen(
        &stack,
        Who::Tandoor,
        &order_id,
        "accept",
        json!({"ready_by": later}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let moved: Value = res.json().await.unwrap();
    assert_eq!(at(&moved["ready_by"]), at(&json!(later)));

    // Ready, with no body at all.
    let res = stack
        .request(
            Method::POST,
            &format!("/orders/{order_id}/ready"),
            Who::Tandoor,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let ready: Value = res.json().await.unwrap();
    assert_eq!(ready["status"], "READY_FOR_PICKUP");
    let res = kitchen(
        &stack,
        Who::Tandoor,
        &order_id,
        "reject",
        json!({"reason": "late"}),
    )
    .await;
    assert_error(res, StatusCode::CONFLICT, "invalid_transition").await;
    let after = stack
        .get_json(&format!("/orders/{order_id}"), Who::Alice)
        .await;
    assert_eq!(
        after["status"], "READY_FOR_PICKUP",
        "the refusal changed nothing"
    );
}

#[tokio::test]
async fn a_rejection_cancels_the_delivery_and_the_customer_sees_why_live() {
    // Arrange: Alice watches her delivery over SSE and GraphQL.
    let stack = spawn_stack().await;
    let placed = stack.create_order_at(Who::Alice, MANUAL_KITCHEN).await;
    let order_id = id(&placed);
    stack.wait_for_delivery(&order_id).await;
    let res = stack
        .get(&format!("/delivery/status/{order_id}/stream"), Who::Alice)
        .send()
        .await
        .unwrap();
    let mut sse = SseReader::new(res);
    let first = sse.next(PATIENCE).await.expect("the current state");
    assert_eq!(first.json()["status"], "PENDING");
    let mut ws = stack
        .subscribe(
            Who::Alice,
            "subscription($id: ID!) { deliveryStatusChanged(orderId: $id) { status history { status note } } }",
            json!({"id": order_id}),
        )
        .await;
    let current = next_ws_message(&mut ws).await;
    assert_eq!(
        current["payload"]["data"]["deliveryStatusChanged"]["status"], "PENDING",
        "{current}"
    );

    // Act: a reason is required, then the kitchen says no.
    let res = kitchen(
        &stack,
        Who::Tandoor,
        &order_id,
        "reject",
        json!({"reason": "  "}),
    )
    .await;
    assert_error(res, StatusCode::BAD_REQUEST, "invalid_argument").await;
    let res = kitchen(
        &stack,
        Who::Tandoor,
        &order_id,
        "reject",
        json!({"reason": "out of naan"}),
    )
    .await;

    // Assert
    assert_eq!(res.status(), StatusCode::OK);
    let rejected: Value = res.json().await.unwrap();
    assert_eq!(rejected["status"], "REJECTED");
    assert_eq!(rejected["rejection_reason"], "out of naan");
    let change = sse.next(PATIENCE).await.expect("the compensation");
    let delivery = change.json();
    assert_eq!(delivery["status"], "CANCELLED", "{delivery}");
    let last = delivery["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["note"], "rejected: out of naan", "{delivery}");
    let pushed = next_ws_message(&mut ws).await;
    let pushed = &pushed["payload"]["data"]["deliveryStatusChanged"];
    assert_eq!(pushed["status"], "CANCELLED", "{pushed}");
    let notes: Vec<&str> = pushed["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["note"].as_str())
        .collect();
    assert!(notes.contains(&"rejected: out of naan"), "{pushed}");
    let order = stack
        .get_json(&format!("/orders/{order_id}"), Who::Alice)
        .await;
    assert_eq!(order["status"], "REJECTED");
    // Rejecting again is refused and changes nothing.
    let res = kitchen(
        &stack,
        Who::Tandoor,
        &order_id,
        "reject",
        json!({"reason": "twice"}),
    )
    .await;
    assert_error(res, StatusCode::CONFLICT, "invalid_transition").await;
    let order = stack
        .get_json(&format!("/orders/{order_id}"), Who::Ops)
        .await;
    assert_eq!(order["rejection_reason"], "out of naan");
}

#[tokio::test]
async fn a_restaurant_key_cannot_act_on_another_restaurants_order_nor_on_couriers() {
    // Arrange: an order of the manual kitchen, and the other kitchen's key.
    let stack = spawn_stack().await;
    let placed = stack.create_order_at(Who::Alice, MANUAL_KITCHEN).await;
    let order_id = id(&placed);
    stack.wait_for_delivery(&order_id).await;

    // Act + Assert: another restaurant's order does not exist for it.
    for (action, body) in [
        ("accept", json!({"prep_minutes": 10})),
        ("reject", json!({"reason": "not ours"})),
        ("ready", json!({})),
    ] {
        let res = kitchen(&stack, Who::Kitchen, &order_id, action, body.clone()).await;
        let theirs = assert_error(res, StatusCode::NOT_FOUND, "not_found").await;
        let res = kitchen(&stack, Who::Kitchen, "no-such-order", action, body).await;
        let unknown = assert_error(res, StatusCode::NOT_FOUND, "not_found").await;
        assert_eq!(
            theirs["error"]["message"]
                .as_str()
                .unwrap()
                .replace(&order_id, "ID"),
            unknown["error"]["message"]
                .as_str()
                .unwrap()
                .replace("no-such-order", "ID"),
            "{action}: the same answer as an unknown id"
        );
    }
    let res = stack
        .get(&format!("/orders/{order_id}"), Who::Kitchen)
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::NOT_FOUND, "not_found").await;
    let res = stack
        .get(&format!("/delivery/status/{order_id}"), Who::Kitchen)
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::NOT_FOUND, "not_found").await;
    let listed = stack
        .get_json(
            &format!("/orders?restaurant={MANUAL_KITCHEN}"),
            Who::Kitchen,
        )
        .await;
    assert_eq!(listed["orders"], json!([]), "no peeking through the filter");
    let listed = stack.get_json("/deliveries", Who::Kitchen).await;
    assert!(
        listed["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["restaurant_id"] == AUTO_KITCHEN),
        "{listed}"
    );
    let res = stack
        .request(
            Method::PATCH,
            &format!("/restaurants/{MANUAL_KITCHEN}"),
            Who::Kitchen,
        )
        .json(&json!({"open": false}))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::NOT_FOUND, "not_found").await;

    // Courier routes are never a restaurant's.
    let res = stack
        .request(
            Method::PUT,
            &format!("/delivery/status/{order_id}"),
            Who::Tandoor,
        )
        .json(&json!({"status": "ASSIGNED", "courier": "courier-1"}))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "permission_denied").await;
    let res = stack
        .request(Method::PUT, "/couriers/courier-1/shift", Who::Tandoor)
        .json(&json!({"on_shift": true}))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "permission_denied").await;
    let res = stack.get("/couriers", Who::Tandoor).send().await.unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "permission_denied").await;

    // Nothing moved; its own kitchen still sees and reads it.
    let order = stack
        .get_json(&format!("/orders/{order_id}"), Who::Tandoor)
        .await;
    assert_eq!(order["status"], "PLACED");
    let delivery = stack
        .get_json(&format!("/delivery/status/{order_id}"), Who::Tandoor)
        .await;
    assert_eq!(delivery["status"], "PENDING");
    let paused = stack
        .get_json(&format!("/restaurants/{MANUAL_KITCHEN}"), Who::Anonymous)
        .await;
    assert_eq!(paused["open"], true);
}

#[tokio::test]
async fn a_kitchen_pauses_only_its_own_restaurant() {
    let stack = spawn_stack().await;

    let res = stack
        .request(
            Method::PATCH,
            &format!("/restaurants/{MANUAL_KITCHEN}"),
            Who::Tandoor,
        )
        .json(&json!({"open": false}))
        .send()
        .await
        .unwrap();

    assert_eq!(res.status(), StatusCode::OK);
    let restaurant: Value = res.json().await.unwrap();
    assert_eq!(restaurant["open"], false);
    assert_eq!(restaurant["auto_accept"], false);
    assert_eq!(restaurant["acceptance_timeout_s"], 300);
}

/// A subscription with no initial state gives no sign that it is live;
/// this leaves the gateway time to attach it before the test acts.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

const KITCHEN_FEED: &str = "subscription($r: ID!) { orderStatusChanged(restaurantId: $r) { id status readyBy rejectionReason restaurantId items { itemId quantity } } }";

#[tokio::test]
async fn a_kitchen_works_through_graphql_and_sees_its_orders_on_its_subscription() {
    // Arrange: the manual kitchen watches its orders.
    let stack = spawn_stack().await;
    let mut ws = stack
        .subscribe(Who::Tandoor, KITCHEN_FEED, json!({"r": MANUAL_KITCHEN}))
        .await;
    settle().await;
    let other = stack.create_order_at(Who::Bob, AUTO_KITCHEN).await;

    // Act: an order comes in.
    let placed = stack.create_order_at(Who::Alice, MANUAL_KITCHEN).await;
    let order_id = id(&placed);

    // Assert: the card arrives whole; the other restaurant's does not.
    let card = next_ws_message(&mut ws).await;
    let card = &card["payload"]["data"]["orderStatusChanged"];
    assert_eq!(card["id"], order_id.as_str(), "{card}");
    assert_ne!(card["id"], other["id"]);
    assert_eq!(card["status"], "PLACED");
    assert_eq!(card["items"][0]["quantity"], 2);

    // Act + Assert: accept, then ready, through mutations.
    let accept = "mutation($id: ID!, $m: Int) { acceptOrder(orderId: $id, prepMinutes: $m) { status readyBy } }";
    let both = stack
        .graphql(
            Who::Tandoor,
            "mutation($id: ID!) { acceptOrder(orderId: $id, prepMinutes: 5, readyBy: \"2030-01-01T00:00:00Z\") { status } }",
            json!({"id": order_id}),
        )
        .await;
    assert_eq!(graphql_code(&both), "invalid_argument", "{both}");
    let res = stack
        .graphql(Who::Tandoor, accept, json!({"id": order_id, "m": 20}))
        .await;
    assert_eq!(res["data"]["acceptOrder"]["status"], "PREPARING", "{res}");
    assert!(res["data"]["acceptOrder"]["readyBy"].is_string(), "{res}");
    let change = next_ws_message(&mut ws).await;
    let change = &change["payload"]["data"]["orderStatusChanged"];
    assert_eq!(change["status"], "PREPARING", "{change}");
    assert_eq!(change["readyBy"], res["data"]["acceptOrder"]["readyBy"]);
    let ready = stack
        .graphql(
            Who::Tandoor,
            "mutation($id: ID!) { markOrderReady(orderId: $id) { status } }",
            json!({"id": order_id}),
        )
        .await;
    assert_eq!(
        ready["data"]["markOrderReady"]["status"], "READY_FOR_PICKUP",
        "{ready}"
    );
    let change = next_ws_message(&mut ws).await;
    assert_eq!(
        change["payload"]["data"]["orderStatusChanged"]["status"], "READY_FOR_PICKUP",
        "{change}"
    );

    // A second order is rejected through the mutation.
    let second = stack.create_order_at(Who::Bob, MANUAL_KITCHEN).await;
    let placed_card = next_ws_message(&mut ws).await;
    assert_eq!(
        placed_card["payload"]["data"]["orderStatusChanged"]["status"],
        "PLACED"
    );
    let other_kitchen = stack
        .graphql(
            Who::Kitchen,
            "mutation($id: ID!) { rejectOrder(orderId: $id, reason: \"busy\") { status } }",
            json!({"id": id(&second)}),
        )
        .await;
    assert_eq!(graphql_code(&other_kitchen), "not_found", "{other_kitchen}");
    let rejected = stack
        .graphql(
            Who::Tandoor,
            "mutation($id: ID!) { rejectOrder(orderId: $id, reason: \"busy\") { status rejectionReason } }",
            json!({"id": id(&second)}),
        )
        .await;
    assert_eq!(
        rejected["data"]["rejectOrder"]["status"], "REJECTED",
        "{rejected}"
    );
    let change = next_ws_message(&mut ws).await;
    let change = &change["payload"]["data"]["orderStatusChanged"];
    assert_eq!(change["status"], "REJECTED", "{change}");
    assert_eq!(change["rejectionReason"], "busy");
}

#[tokio::test]
async fn only_ops_and_the_kitchen_itself_may_watch_a_kitchen() {
    let stack = spawn_stack().await;

    for (who, restaurant, expected) in [
        (Who::Anonymous, MANUAL_KITCHEN, "unauthenticated"),
        (Who::Alice, MANUAL_KITCHEN, "permission_denied"),
        (Who::Courier, MANUAL_KITCHEN, "permission_denied"),
        (Who::Kitchen, MANUAL_KITCHEN, "not_found"),
        (Who::Ops, "no-such-kitchen", "not_found"),
    ] {
        let mut ws = stack
            .subscribe(who, KITCHEN_FEED, json!({"r": restaurant}))
            .await;
        let msg = next_ws_message(&mut ws).await;
        assert_eq!(
            graphql_code(&msg),
            expected,
            "{who:?} on {restaurant}: {msg}"
        );
    }

    // Ops may watch any kitchen.
    let mut ws = stack
        .subscribe(Who::Ops, KITCHEN_FEED, json!({"r": AUTO_KITCHEN}))
        .await;
    settle().await;
    let placed = stack.create_order_at(Who::Alice, AUTO_KITCHEN).await;
    let mut seen = Vec::new();
    for _ in 0..2 {
        let msg = next_ws_message(&mut ws).await;
        let card = &msg["payload"]["data"]["orderStatusChanged"];
        assert_eq!(card["id"], placed["id"], "{msg}");
        seen.push(card["status"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        seen,
        ["PLACED", "PREPARING"],
        "auto-accept: placed, then accepted"
    );
}

#[tokio::test]
async fn the_graphql_types_carry_the_kitchen_and_courier_fields() {
    let stack = spawn_stack().await;
    let placed = stack.create_order_at(Who::Alice, AUTO_KITCHEN).await;
    let order_id = id(&placed);
    stack
        .eventually(&format!("/orders/{order_id}"), Who::Alice, |o| {
            o["status"] == "PREPARING"
        })
        .await;
    stack.wait_for_delivery(&order_id).await;

    let res = stack
        .graphql(
            Who::Ops,
            "query($id: ID!) { order(id: $id) { status readyBy rejectionReason restaurant { autoAccept acceptanceTimeoutS } delivery { courier courierName } } }",
            json!({"id": order_id}),
        )
        .await;

    let order = &res["data"]["order"];
    assert_eq!(order["status"], "PREPARING", "{res}");
    assert!(order["readyBy"].is_string(), "{res}");
    assert_eq!(order["rejectionReason"], Value::Null);
    assert_eq!(order["restaurant"]["autoAccept"], true);
    assert_eq!(order["restaurant"]["acceptanceTimeoutS"], 300);
    assert_eq!(
        order["delivery"]["courierName"],
        Value::Null,
        "no courier on shift"
    );
}
