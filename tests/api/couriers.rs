//! Couriers through the gateway: shifts, dispatch to a courier coming on
//! shift (seen on the lists and the live feed), courier keys confined to
//! their own deliveries and shift, and courier ids in place of free text.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{SseReader, TestStack, Who, assert_error, graphql_code, spawn_stack};

const PATIENCE: Duration = Duration::from_secs(10);

async fn shift(stack: &TestStack, who: Who, courier: &str, on: bool) -> reqwest::Response {
    stack
        .request(Method::PUT, &format!("/couriers/{courier}/shift"), who)
        .json(&json!({ "on_shift": on }))
        .send()
        .await
        .unwrap()
}

fn courier<'a>(list: &'a Value, id: &str) -> &'a Value {
    list["couriers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {list}"))
}

#[tokio::test]
async fn a_courier_coming_on_shift_is_dispatched_the_waiting_delivery() {
    // Arrange: an accepted order whose delivery waits (everyone is off shift).
    let stack = spawn_stack().await;
    let couriers = stack.get_json("/couriers", Who::Ops).await;
    for id in ["courier-1", "courier-2", "courier-3"] {
        assert_eq!(courier(&couriers, id)["on_shift"], false, "{couriers}");
    }
    assert_eq!(courier(&couriers, "courier-1")["name"], "Camille Martin");
    let order = stack.create_order(Who::Alice).await;
    let order_id = order["id"].as_str().unwrap().to_owned();
    stack
        .eventually(&format!("/orders/{order_id}"), Who::Ops, |o| {
            o["status"] == "PREPARING"
        })
        .await;
    stack.wait_for_delivery(&order_id).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let waiting = stack
        .get_json(&format!("/delivery/status/{order_id}"), Who::Courier)
        .await;
    assert_eq!(waiting["status"], "PENDING", "nobody on shift: {waiting}");
    let res = stack
        .get("/events/deliveries", Who::Courier)
        .send()
        .await
        .unwrap();
    let mut feed = SseReader::new(res);
    let res = stack
        .get("/events/deliveries", Who::Courier2)
        .send()
        .await
        .unwrap();
    let mut other_feed = SseReader::new(res);

    // Act
    let res = shift(&stack, Who::Courier, "courier-1", true).await;

    // Assert
    assert_eq!(res.status(), StatusCode::OK);
    let me: Value = res.json().await.unwrap();
    assert_eq!(
        (me["id"].as_str(), me["on_shift"].as_bool()),
        (Some("courier-1"), Some(true))
    );
    // (The waiting delivery's own PENDING events may still be in flight.)
    let assigned = loop {
        let event = feed.next(PATIENCE).await.expect("the assignment, live");
        let delivery = event.json();
        assert_eq!(delivery["order_id"], order_id.as_str(), "{delivery}");
        if delivery["status"] != "PENDING" {
            break delivery;
        }
    };
    assert_eq!(assigned["status"], "ASSIGNED");
    assert_eq!(assigned["courier"], "courier-1");
    assert_eq!(assigned["courier_name"], "Camille Martin");
    // Another courier's feed does not carry courier-1's delivery.
    while let Some(event) = other_feed.next(Duration::from_millis(500)).await {
        let delivery = event.json();
        assert_eq!(
            delivery["courier"],
            Value::Null,
            "courier-2 sees {delivery}"
        );
    }
    let mine = stack
        .get_json("/deliveries?status=ASSIGNED", Who::Courier)
        .await;
    let mine = mine["deliveries"].as_array().unwrap();
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["order_id"], order_id.as_str());
    let couriers = stack.get_json("/couriers?on_shift=true", Who::Ops).await;
    assert_eq!(
        couriers["couriers"].as_array().unwrap().len(),
        1,
        "{couriers}"
    );
    assert_eq!(courier(&couriers, "courier-1")["active_deliveries"], 1);

    // Its delivery walks on to the door; the order follows.
    for status in ["PICKED_UP", "IN_TRANSIT", "DELIVERED"] {
        let res = stack.put_status(&order_id, status, Who::Courier).await;
        assert_eq!(res.status(), StatusCode::OK, "{status}");
    }
    stack
        .eventually(&format!("/orders/{order_id}"), Who::Alice, |o| {
            o["status"] == "DELIVERED"
        })
        .await;
    let couriers = stack.get_json("/couriers", Who::Ops).await;
    assert_eq!(courier(&couriers, "courier-1")["active_deliveries"], 0);
}

#[tokio::test]
async fn a_courier_key_cannot_move_or_see_another_couriers_delivery_nor_set_its_shift() {
    // Arrange: a delivery ops gave courier-1, and one nobody has.
    let stack = spawn_stack().await;
    let given = stack.create_order(Who::Alice).await;
    let given_id = given["id"].as_str().unwrap().to_owned();
    let free = stack.create_order(Who::Bob).await;
    let free_id = free["id"].as_str().unwrap().to_owned();
    stack.wait_for_delivery(&given_id).await;
    stack.wait_for_delivery(&free_id).await;
    assert_eq!(
        stack
            .put_status(&given_id, "ASSIGNED", Who::Ops)
            .await
            .status(),
        StatusCode::OK
    );

    // Act + Assert: courier-2 is told courier-1's delivery does not exist.
    let res = stack
        .put_status(&given_id, "PICKED_UP", Who::Courier2)
        .await;
    assert_error(res, StatusCode::NOT_FOUND, "not_found").await;
    let res = stack
        .get(&format!("/delivery/status/{given_id}"), Who::Courier2)
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::NOT_FOUND, "not_found").await;
    let visible = stack.get_json("/deliveries", Who::Courier2).await;
    let ids: Vec<&str> = visible["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["order_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [free_id.as_str()],
        "its own and the unassigned ones only"
    );
    // Claiming for another courier is refused; for itself it works.
    let res = stack
        .request(
            Method::PUT,
            &format!("/delivery/status/{free_id}"),
            Who::Courier2,
        )
        .json(&json!({"status": "ASSIGNED", "courier": "courier-3"}))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "permission_denied").await;
    let res = stack.put_status(&free_id, "ASSIGNED", Who::Courier2).await;
    assert_eq!(res.status(), StatusCode::OK);
    let claimed: Value = res.json().await.unwrap();
    assert_eq!(claimed["courier"], "courier-2");
    assert_eq!(claimed["courier_name"], "Malik Benali");
    // Another courier's shift is not its to set.
    let res = shift(&stack, Who::Courier2, "courier-1", true).await;
    assert_error(res, StatusCode::FORBIDDEN, "permission_denied").await;
    let res = stack.get("/couriers", Who::Courier2).send().await.unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "permission_denied").await;

    // Nothing moved.
    let given = stack
        .get_json(&format!("/delivery/status/{given_id}"), Who::Ops)
        .await;
    assert_eq!(
        (given["status"].as_str(), given["courier"].as_str()),
        (Some("ASSIGNED"), Some("courier-1"))
    );
    let couriers = stack.get_json("/couriers", Who::Ops).await;
    assert_eq!(courier(&couriers, "courier-1")["on_shift"], false);
}

#[tokio::test]
async fn couriers_are_named_by_id_and_ops_create_and_rename_them() {
    let stack = spawn_stack().await;
    let order = stack.create_order(Who::Alice).await;
    let order_id = order["id"].as_str().unwrap().to_owned();
    stack.wait_for_delivery(&order_id).await;

    // A free-text name is no courier.
    let res = stack
        .request(
            Method::PUT,
            &format!("/delivery/status/{order_id}"),
            Who::Ops,
        )
        .json(&json!({"status": "ASSIGNED", "courier": "Carla"}))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "unknown_courier").await;

    // Ops create Carla, and then she may be given the delivery.
    let res = stack
        .request(Method::PUT, "/couriers/carla", Who::Ops)
        .json(&json!({"name": "Carla Rossi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let carla: Value = res.json().await.unwrap();
    assert_eq!(
        carla,
        json!({"id": "carla", "name": "Carla Rossi", "on_shift": false, "active_deliveries": 0})
    );
    let res = stack
        .request(
            Method::PUT,
            &format!("/delivery/status/{order_id}"),
            Who::Ops,
        )
        .json(&json!({"status": "ASSIGNED", "courier": "carla"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let delivery: Value = res.json().await.unwrap();
    assert_eq!(delivery["courier_name"], "Carla Rossi");
    let res = stack
        .request(Method::PUT, "/couriers/carla", Who::Ops)
        .json(&json!({"name": " "}))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::BAD_REQUEST, "invalid_argument").await;
    let res = shift(&stack, Who::Ops, "nobody", true).await;
    assert_error(res, StatusCode::NOT_FOUND, "not_found").await;
    let res = stack
        .request(Method::PUT, "/couriers/courier-1/shift", Who::Courier)
        .json(&json!({"on_shift": "yes"}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
}

#[tokio::test]
async fn couriers_are_listed_and_set_on_shift_through_graphql() {
    let stack = spawn_stack().await;

    let set = stack
        .graphql(
            Who::Courier,
            "mutation { setCourierShift(courierId: \"courier-1\", onShift: true) { id onShift activeDeliveries } }",
            json!({}),
        )
        .await;
    let other = stack
        .graphql(
            Who::Courier,
            "mutation { setCourierShift(courierId: \"courier-3\", onShift: true) { id } }",
            json!({}),
        )
        .await;
    let listed = stack
        .graphql(
            Who::Ops,
            "{ couriers(onShift: true) { id name onShift activeDeliveries } }",
            json!({}),
        )
        .await;
    let refused = stack
        .graphql(Who::Courier, "{ couriers { id } }", json!({}))
        .await;

    assert_eq!(
        set["data"]["setCourierShift"],
        json!({"id": "courier-1", "onShift": true, "activeDeliveries": 0}),
        "{set}"
    );
    assert_eq!(graphql_code(&other), "permission_denied", "{other}");
    assert_eq!(
        listed["data"]["couriers"],
        json!([{"id": "courier-1", "name": "Camille Martin", "onShift": true, "activeDeliveries": 0}]),
        "{listed}"
    );
    assert_eq!(graphql_code(&refused), "permission_denied", "{refused}");
}
