//! Ids a person types: the short form of an order id (its last 8
//! characters, as tables and boards show it) is accepted wherever an order
//! id is, resolved among what the caller may see. Several matches (a 409
//! `ambiguous_id` with the candidates) need two ids sharing a suffix, which
//! only the services' storage can make: that test is food-stack's
//! (services/stack/tests/stack/shortids.rs).

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    MANUAL_KITCHEN, SseReader, TestStack, Who, assert_error, next_ws_message, spawn_stack,
};

const PATIENCE: Duration = Duration::from_secs(10);

fn short(id: &str) -> String {
    id[id.len() - 8..].to_owned()
}

/// An order of Alice's (accepted at once), its delivery created; its full
/// and short ids.
async fn alices_order(stack: &TestStack) -> (String, String) {
    let order = stack.create_order(Who::Alice).await;
    let id = order["id"].as_str().unwrap().to_owned();
    stack.wait_for_delivery(&id).await;
    let short = short(&id);
    (id, short)
}

#[tokio::test]
async fn a_short_id_names_the_order_and_its_delivery_over_rest() {
    // Arrange
    let stack = spawn_stack().await;
    let (id, short) = alices_order(&stack).await;

    // Act
    let order = stack
        .get_json(&format!("/orders/{short}"), Who::Alice)
        .await;
    let delivery = stack
        .get_json(&format!("/delivery/status/{short}"), Who::Alice)
        .await;
    let stream = stack
        .get(&format!("/delivery/status/{short}/stream"), Who::Alice)
        .send()
        .await
        .unwrap();
    let mut sse = SseReader::new(stream);
    let first = sse.next(PATIENCE).await.expect("the current state");
    let cancel = stack
        .request(Method::POST, &format!("/orders/{short}/cancel"), Who::Alice)
        .send()
        .await
        .unwrap();
    let cancel_status = cancel.status();
    let cancelled: Value = cancel.json().await.unwrap();

    // Assert
    assert_eq!(order["id"], id.as_str(), "{order}");
    assert_eq!(order["customer_id"], "alice");
    assert_eq!(delivery["order_id"], id.as_str(), "{delivery}");
    assert_eq!(first.json()["order_id"], id.as_str());
    assert_eq!(first.json()["status"], "PENDING");
    assert_eq!(cancel_status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["id"], id.as_str());
    assert_eq!(cancelled["status"], "CANCELLED");
    // The stream opened with the short id follows the full id's changes.
    let change = sse.next(PATIENCE).await.expect("the cancellation");
    assert_eq!(change.json()["order_id"], id.as_str());
    assert_eq!(change.json()["status"], "CANCELLED");
    let read = stack.get_json(&format!("/orders/{id}"), Who::Alice).await;
    assert_eq!(read["status"], "CANCELLED");
}

#[tokio::test]
async fn a_short_id_names_the_order_and_its_delivery_in_graphql() {
    // Arrange
    let stack = spawn_stack().await;
    let (id, short) = alices_order(&stack).await;

    // Act
    let read = stack
        .graphql(
            Who::Alice,
            "query($id: ID!) { order(id: $id) { id status } deliveryStatus(orderId: $id) { orderId status } }",
            json!({ "id": short }),
        )
        .await;
    let mut ws = stack
        .subscribe(
            Who::Alice,
            "subscription($id: ID!) { deliveryStatusChanged(orderId: $id) { orderId status } }",
            json!({ "id": short }),
        )
        .await;
    let first = next_ws_message(&mut ws).await;
    let cancelled = stack
        .graphql(
            Who::Alice,
            "mutation($id: ID!) { cancelOrder(orderId: $id) { id status } }",
            json!({ "id": short }),
        )
        .await;

    // Assert
    assert_eq!(read["data"]["order"]["id"], id.as_str(), "{read}");
    assert_eq!(read["data"]["deliveryStatus"]["orderId"], id.as_str());
    assert_eq!(read["data"]["deliveryStatus"]["status"], "PENDING");
    let first = &first["payload"]["data"]["deliveryStatusChanged"];
    assert_eq!(first["orderId"], id.as_str(), "{first}");
    assert_eq!(
        cancelled["data"]["cancelOrder"]["id"],
        id.as_str(),
        "{cancelled}"
    );
    assert_eq!(cancelled["data"]["cancelOrder"]["status"], "CANCELLED");
    let change = next_ws_message(&mut ws).await;
    let change = &change["payload"]["data"]["deliveryStatusChanged"];
    assert_eq!(change["orderId"], id.as_str(), "{change}");
    assert_eq!(change["status"], "CANCELLED");
}

#[tokio::test]
async fn another_customers_short_id_is_not_found_like_an_unknown_one() {
    // Arrange: Alice's order is the only one ending so.
    let stack = spawn_stack().await;
    let (id, short) = alices_order(&stack).await;
    let unknown = if short == "00000000" {
        "11111111"
    } else {
        "00000000"
    };

    for path in [
        format!("/orders/{short}"),
        format!("/delivery/status/{short}"),
        format!("/delivery/status/{short}/stream"),
    ] {
        // Act
        let bobs = stack.get(&path, Who::Bob).send().await.unwrap();
        let bobs = assert_error(bobs, StatusCode::NOT_FOUND, "not_found").await;
        let path_unknown = path.replace(&short, unknown);
        let nobodys = stack.get(&path_unknown, Who::Bob).send().await.unwrap();
        let nobodys = assert_error(nobodys, StatusCode::NOT_FOUND, "not_found").await;

        // Assert: the same answer, but for the id typed; no candidates.
        assert_eq!(
            bobs.to_string().replace(&short, unknown),
            nobodys.to_string(),
            "{path}"
        );
        assert!(!bobs.to_string().contains(&id), "{path}: {bobs}");
    }
    let cancel = stack
        .request(Method::POST, &format!("/orders/{short}/cancel"), Who::Bob)
        .send()
        .await
        .unwrap();
    assert_error(cancel, StatusCode::NOT_FOUND, "not_found").await;
    let read = stack
        .graphql(
            Who::Bob,
            "query($id: ID!) { order(id: $id) { id } deliveryStatus(orderId: $id) { orderId } }",
            json!({ "id": short }),
        )
        .await;
    assert_eq!(read["data"]["order"], Value::Null, "{read}");
    assert_eq!(read["data"]["deliveryStatus"], Value::Null, "{read}");
    assert!(read["errors"].is_null(), "{read}");
    // Whoever may see it resolves it: ops and the order's kitchen, not
    // another kitchen.
    for who in [Who::Ops, Who::Kitchen] {
        let order = stack.get_json(&format!("/orders/{short}"), who).await;
        assert_eq!(order["id"], id.as_str(), "{who:?}");
    }
    let other_kitchen = stack
        .get(&format!("/orders/{short}"), Who::Tandoor)
        .send()
        .await
        .unwrap();
    assert_error(other_kitchen, StatusCode::NOT_FOUND, "not_found").await;
    // The order is untouched.
    let order = stack.get_json(&format!("/orders/{id}"), Who::Alice).await;
    assert_ne!(order["status"], "CANCELLED");
}

#[tokio::test]
async fn a_kitchen_accepts_an_order_by_its_short_id() {
    // Arrange: an order of the kitchen that accepts by hand.
    let stack = spawn_stack().await;
    let order = stack.create_order_at(Who::Alice, MANUAL_KITCHEN).await;
    let id = order["id"].as_str().unwrap();
    let short = short(id);

    // Act
    let accepted = stack
        .request(
            Method::POST,
            &format!("/orders/{short}/accept"),
            Who::Tandoor,
        )
        .json(&json!({ "prep_minutes": 10 }))
        .send()
        .await
        .unwrap();
    let status = accepted.status();
    let accepted: Value = accepted.json().await.unwrap();
    let ready = stack
        .graphql(
            Who::Tandoor,
            "mutation($id: ID!) { markOrderReady(orderId: $id) { id status } }",
            json!({ "id": short }),
        )
        .await;

    // Assert
    assert_eq!(status, StatusCode::OK, "{accepted}");
    assert_eq!(accepted["id"], id, "{accepted}");
    assert_eq!(accepted["status"], "PREPARING");
    assert_eq!(ready["data"]["markOrderReady"]["id"], id, "{ready}");
    assert_eq!(
        ready["data"]["markOrderReady"]["status"],
        "READY_FOR_PICKUP"
    );
}

#[tokio::test]
async fn a_courier_claims_an_unassigned_delivery_by_its_short_id() {
    // Arrange: nobody on shift, so the delivery waits unassigned.
    let stack = spawn_stack().await;
    let (id, short) = alices_order(&stack).await;

    // Act
    let seen = stack
        .get_json(&format!("/delivery/status/{short}"), Who::Courier)
        .await;
    let claimed = stack.put_status(&short, "ASSIGNED", Who::Courier).await;
    let claimed_status = claimed.status();
    let claimed: Value = claimed.json().await.unwrap();

    // Assert
    assert_eq!(seen["order_id"], id.as_str(), "{seen}");
    assert_eq!(seen["status"], "PENDING");
    assert_eq!(claimed_status, StatusCode::OK, "{claimed}");
    assert_eq!(claimed["order_id"], id.as_str());
    assert_eq!(claimed["status"], "ASSIGNED");
    assert_eq!(claimed["courier"], "courier-1");
    // Now courier-1's: another courier no longer sees it, by either id.
    for typed in [short.as_str(), id.as_str()] {
        let other = stack
            .get(&format!("/delivery/status/{typed}"), Who::Courier2)
            .send()
            .await
            .unwrap();
        assert_error(other, StatusCode::NOT_FOUND, "not_found").await;
    }
    let moved = stack.put_status(&short, "PICKED_UP", Who::Courier).await;
    assert_eq!(moved.status(), StatusCode::OK);
}

#[tokio::test]
async fn ids_of_other_lengths_go_through_as_typed() {
    let stack = spawn_stack().await;
    let (id, short) = alices_order(&stack).await;

    // Seven or nine characters are neither a short id nor a full one.
    for typed in [&short[1..], &id[id.len() - 9..]] {
        let res = stack
            .get(&format!("/orders/{typed}"), Who::Alice)
            .send()
            .await
            .unwrap();
        let body = assert_error(res, StatusCode::NOT_FOUND, "not_found").await;
        assert_eq!(body["error"]["details"]["order_id"], typed, "{body}");
    }
}
