//! The seed flow and the order life cycle through REST.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Who, spawn_stack};

#[tokio::test]
async fn an_order_goes_from_placed_to_delivered_through_the_rest_api() {
    // Arrange
    let stack = spawn_stack().await;
    let menu: Value = stack
        .get("/menu/items", Who::Anonymous)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = menu["items"].as_array().unwrap();
    assert!(items.len() >= 40, "the seeded menu is listed");
    let item = items.iter().find(|i| i["available"] == true).unwrap();
    let one: Value = stack
        .get(
            &format!("/menu/items/{}", item["id"].as_str().unwrap()),
            Who::Anonymous,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["name"], item["name"]);

    // Act: order
    let res = stack
        .request(Method::POST, "/orders", Who::Alice)
        .json(&json!({
            "items": [{"item_id": item["id"], "quantity": 2}],
            "delivery_address": "1 Main St",
            "note": "ring twice",
        }))
        .send()
        .await
        .unwrap();

    // Assert: created, priced by the server
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let order: Value = res.json().await.unwrap();
    let order_id = order["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/orders/{order_id}"));
    assert_eq!(order["status"], "PLACED");
    assert_eq!(order["customer_id"], "alice");
    assert_eq!(
        order["total_cents"].as_i64().unwrap(),
        2 * item["price_cents"].as_i64().unwrap()
    );
    let fetched: Value = stack
        .get(&format!("/orders/{order_id}"), Who::Alice)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fetched["id"], order["id"]);
    assert_eq!(fetched["note"], "ring twice");

    // Act + Assert: the delivery appears, then walks every status
    let delivery = stack.wait_for_delivery(&order_id).await;
    assert_eq!(delivery["status"], "PENDING");
    assert_eq!(delivery["customer_id"], "alice");
    let first_version = delivery["version"].as_u64().unwrap();
    for (version, status) in
        (first_version..).zip(["ASSIGNED", "PICKED_UP", "IN_TRANSIT", "DELIVERED"])
    {
        let res = stack.put_status(&order_id, status, Who::Courier).await;
        assert_eq!(res.status(), StatusCode::OK, "to {status}");
        assert_eq!(
            res.headers()["etag"],
            format!("\"{}\"", version + 1).as_str()
        );
        let updated: Value = res.json().await.unwrap();
        assert_eq!(updated["status"], status);
        assert_eq!(updated["version"].as_u64().unwrap(), version + 1);
    }
    let delivery: Value = stack
        .get(&format!("/delivery/status/{order_id}"), Who::Alice)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(delivery["status"], "DELIVERED");
    assert_eq!(delivery["courier"], "courier-1");
    assert_eq!(delivery["courier_name"], "Camille Martin");
    assert_eq!(delivery["history"].as_array().unwrap().len(), 5);

    // The order follows its delivery through Kafka.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let order: Value = stack
            .get(&format!("/orders/{order_id}"), Who::Ops)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if order["status"] == "DELIVERED" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "order still {}",
            order["status"]
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn retrying_with_the_same_idempotency_key_returns_the_same_order() {
    // Arrange
    let stack = spawn_stack().await;
    let item = stack.available_item().await;
    let body =
        json!({"items": [{"item_id": item["id"], "quantity": 1}], "delivery_address": "2 Side St"});
    let post = |key: &'static str| {
        stack
            .request(Method::POST, "/orders", Who::Bob)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };

    // Act
    let first: Value = post("retry-1").await.unwrap().json().await.unwrap();
    let second = post("retry-1").await.unwrap();
    let second_status = second.status();
    let second: Value = second.json().await.unwrap();
    let other: Value = post("retry-2").await.unwrap().json().await.unwrap();

    // Assert
    assert!(second_status.is_success(), "{second_status}");
    assert_eq!(first["id"], second["id"]);
    assert_ne!(first["id"], other["id"]);
}

#[tokio::test]
async fn the_body_idempotency_key_is_used_without_the_header() {
    let stack = spawn_stack().await;
    let item = stack.available_item().await;
    let body = json!({
        "items": [{"item_id": item["id"], "quantity": 1}],
        "delivery_address": "2 Side St",
        "idempotency_key": "line-7",
    });

    let a: Value = stack
        .request(Method::POST, "/orders", Who::Alice)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let b: Value = stack
        .request(Method::POST, "/orders", Who::Alice)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(a["id"], b["id"]);
}

#[tokio::test]
async fn customers_list_their_own_orders_and_ops_filter_all() {
    // Arrange
    let stack = spawn_stack().await;
    let a = stack.create_order(Who::Alice).await;
    let b = stack.create_order(Who::Bob).await;

    // Act
    let alice: Value = stack
        .get("/orders", Who::Alice)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let all: Value = stack
        .get("/orders?limit=10", Who::Ops)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bobs: Value = stack
        .get("/orders?customer_id=bob&status=preparing", Who::Ops)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    // Assert
    let ids = |v: &Value| -> Vec<String> {
        v["orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&alice), vec![a["id"].as_str().unwrap().to_owned()]);
    assert_eq!(ids(&all).len(), 2);
    assert_eq!(ids(&bobs), vec![b["id"].as_str().unwrap().to_owned()]);
    assert!(
        alice.get("next_cursor").is_some(),
        "lists carry next_cursor"
    );
}

#[tokio::test]
async fn a_cancelled_order_cancels_its_delivery() {
    // Arrange
    let stack = spawn_stack().await;
    let order = stack.create_order(Who::Alice).await;
    let id = order["id"].as_str().unwrap();
    stack.wait_for_delivery(id).await;

    // Act
    let res = stack
        .request(Method::POST, &format!("/orders/{id}/cancel"), Who::Alice)
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(res.status(), StatusCode::OK);
    let cancelled: Value = res.json().await.unwrap();
    assert_eq!(cancelled["status"], "CANCELLED");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let d = stack.wait_for_delivery(id).await;
        if d["status"] == "CANCELLED" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "delivery still {}",
            d["status"]
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn deliveries_are_listed_for_boards_with_a_status_filter() {
    // Arrange
    let stack = spawn_stack().await;
    let a = stack.create_order(Who::Alice).await;
    let b = stack.create_order(Who::Bob).await;
    let a_id = a["id"].as_str().unwrap();
    stack.wait_for_delivery(a_id).await;
    stack.wait_for_delivery(b["id"].as_str().unwrap()).await;
    assert_eq!(
        stack.put_status(a_id, "ASSIGNED", Who::Ops).await.status(),
        StatusCode::OK
    );

    // Act
    let all: Value = stack
        .get("/deliveries", Who::Courier)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let assigned: Value = stack
        .get("/deliveries?status=ASSIGNED", Who::Ops)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bobs: Value = stack
        .get("/deliveries", Who::Bob)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    // Assert
    assert_eq!(all["deliveries"].as_array().unwrap().len(), 2);
    let assigned = assigned["deliveries"].as_array().unwrap();
    assert_eq!(assigned.len(), 1);
    assert_eq!(assigned[0]["order_id"], a["id"]);
    let bobs = bobs["deliveries"].as_array().unwrap();
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0]["customer_id"], "bob");
}

#[tokio::test]
async fn ops_import_menu_items() {
    let stack = spawn_stack().await;
    let body = json!({"items": [{
        "id": "test-soup", "restaurant_id": "green-bowl", "name": "Test soup", "description": "hot", "category": "soups",
        "price_cents": 450, "currency": "EUR", "available": true, "prep_minutes": 5, "tags": ["vegan"]
    }]});

    let res = stack
        .request(Method::POST, "/menu/items", Who::Ops)
        .json(&body)
        .send()
        .await
        .unwrap();

    assert_eq!(res.status(), StatusCode::OK);
    let result: Value = res.json().await.unwrap();
    assert_eq!(
        result["created"].as_u64().unwrap() + result["updated"].as_u64().unwrap(),
        1
    );
    let item: Value = stack
        .get("/menu/items/test-soup", Who::Anonymous)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(item["price_cents"], 450);
}

#[tokio::test]
async fn a_menu_read_after_an_import_through_the_gateway_shows_the_import() {
    let stack = spawn_stack().await;
    let read = |path: &'static str| {
        let req = stack.get(path, Who::Anonymous);
        async move {
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            assert_eq!(res.headers()["content-type"], "application/json");
            res.json::<Value>().await.unwrap()
        }
    };
    let mut item = read("/menu/items/margherita").await;
    let listed = read("/menu/items?limit=1000").await;
    let price = item["price_cents"].as_i64().unwrap();

    item["price_cents"] = json!(price + 100);
    let res = stack
        .request(Method::POST, "/menu/items", Who::Ops)
        .json(&json!({ "items": [item] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let after = read("/menu/items/margherita").await;
    let relisted = read("/menu/items?limit=1000").await;

    let price_in = |list: &Value| {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == "margherita")
            .unwrap()["price_cents"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(price_in(&listed), price);
    assert_eq!(after["price_cents"], price + 100);
    assert_eq!(price_in(&relisted), price + 100);
}
