//! GraphQL over HTTP and the subscription over a real WebSocket
//! (`graphql-transport-ws`).

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

use crate::helpers::{Options, TestStack, Who, spawn_stack, spawn_stack_with};

const CREATE: &str = r#"mutation($input: CreateOrderInput!) {
  createOrder(input: $input) { id customerId status totalCents items { itemId quantity item { id name priceCents } } }
}"#;

async fn create_order(stack: &TestStack, who: Who) -> Value {
    let item = stack.available_item().await;
    let input =
        json!({"items": [{"itemId": item["id"], "quantity": 3}], "deliveryAddress": "1 Main St"});
    stack.graphql(who, CREATE, json!({ "input": input })).await
}

fn code(res: &Value) -> &str {
    res["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("<none>")
}

#[tokio::test]
async fn menu_items_are_listed_without_a_key() {
    let stack = spawn_stack().await;

    let res = stack
        .graphql(
            Who::Anonymous,
            "{ menuItems(available: true, limit: 5) { id name priceCents available tags } }",
            json!({}),
        )
        .await;

    let items = res["data"]["menuItems"].as_array().unwrap();
    assert_eq!(items.len(), 5, "{res}");
    assert!(items.iter().all(|i| i["available"] == true));
    let id = items[0]["id"].as_str().unwrap();
    let one = stack
        .graphql(Who::Anonymous, "query($id: ID!) { menuItem(id: $id) { name } missing: menuItem(id: \"nope\") { name } }", json!({"id": id}))
        .await;
    assert_eq!(one["data"]["menuItem"]["name"], items[0]["name"]);
    assert_eq!(one["data"]["missing"], Value::Null);
}

#[tokio::test]
async fn an_order_is_created_read_and_delivered_through_graphql() {
    // Arrange + Act: create
    let stack = spawn_stack().await;
    let created = create_order(&stack, Who::Alice).await;
    let order = &created["data"]["createOrder"];
    assert_eq!(order["status"], "PLACED", "{created}");
    assert_eq!(order["customerId"], "alice");
    // The line's menu item is resolved through the DataLoader.
    let line = &order["items"][0];
    assert_eq!(line["item"]["id"], line["itemId"]);
    assert_eq!(
        order["totalCents"],
        line["item"]["priceCents"].as_i64().unwrap() * 3
    );
    let id = order["id"].as_str().unwrap().to_owned();
    stack.wait_for_delivery(&id).await;

    // Read
    let read = stack
        .graphql(
            Who::Alice,
            "query($id: ID!) { order(id: $id) { id status delivery { status version } } deliveryStatus(orderId: $id) { orderId status version history { status } } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(read["data"]["order"]["id"], id.as_str(), "{read}");
    assert_eq!(read["data"]["deliveryStatus"]["status"], "PENDING");
    let version = read["data"]["deliveryStatus"]["version"].as_u64().unwrap();

    // Update: the mutation returns the updated object
    let update = "mutation($id: ID!, $status: DeliveryStatus!, $version: Int) {
        updateDeliveryStatus(orderId: $id, status: $status, courier: \"courier-1\", version: $version) { status version courier courierName } }";
    let res = stack
        .graphql(
            Who::Courier,
            update,
            json!({"id": id, "status": "ASSIGNED", "version": version}),
        )
        .await;
    assert_eq!(
        res["data"]["updateDeliveryStatus"]["status"], "ASSIGNED",
        "{res}"
    );
    assert_eq!(res["data"]["updateDeliveryStatus"]["version"], version + 1);
    assert_eq!(res["data"]["updateDeliveryStatus"]["courier"], "courier-1");
    assert_eq!(
        res["data"]["updateDeliveryStatus"]["courierName"],
        "Camille Martin"
    );

    // A stale version and a refused transition carry their machine codes.
    let stale = stack
        .graphql(
            Who::Courier,
            update,
            json!({"id": id, "status": "PICKED_UP", "version": version}),
        )
        .await;
    assert_eq!(code(&stale), "version_conflict", "{stale}");
    assert_eq!(
        stale["errors"][0]["extensions"]["details"]["current_version"],
        version + 1
    );
    let refused = stack
        .graphql(Who::Ops, update, json!({"id": id, "status": "DELIVERED"}))
        .await;
    assert_eq!(code(&refused), "invalid_transition", "{refused}");

    // Lists
    let list = stack
        .graphql(
            Who::Alice,
            "{ orders(status: PLACED, limit: 10) { orders { id } nextCursor } }",
            json!({}),
        )
        .await;
    assert!(list["data"]["orders"]["orders"].is_array(), "{list}");
}

#[tokio::test]
async fn graphql_applies_the_rest_access_rules() {
    // Arrange
    let stack = spawn_stack().await;
    let created = create_order(&stack, Who::Alice).await;
    let id = created["data"]["createOrder"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    stack.wait_for_delivery(&id).await;
    let read = "query($id: ID!) { order(id: $id) { id } }";
    let update =
        "mutation($id: ID!) { updateDeliveryStatus(orderId: $id, status: ASSIGNED) { status } }";
    let cancel = "mutation($id: ID!) { cancelOrder(orderId: $id) { status } }";
    let vars = json!({"id": id});

    // Act + Assert
    let anon = stack.graphql(Who::Anonymous, read, vars.clone()).await;
    assert_eq!(code(&anon), "unauthenticated", "{anon}");
    let bob = stack.graphql(Who::Bob, read, vars.clone()).await;
    assert_eq!(
        bob["data"]["order"],
        Value::Null,
        "another customer's order does not exist for Bob"
    );
    let courier = stack.graphql(Who::Courier, read, vars.clone()).await;
    assert_eq!(code(&courier), "permission_denied");
    let ops = stack.graphql(Who::Ops, read, vars.clone()).await;
    assert_eq!(ops["data"]["order"]["id"], id.as_str());

    let alice_update = stack.graphql(Who::Alice, update, vars.clone()).await;
    assert_eq!(code(&alice_update), "permission_denied");
    let courier_create = create_order(&stack, Who::Courier).await;
    assert_eq!(code(&courier_create), "permission_denied");
    let bob_cancel = stack.graphql(Who::Bob, cancel, vars.clone()).await;
    assert_eq!(code(&bob_cancel), "not_found");
    let alice_cancel = stack.graphql(Who::Alice, cancel, vars.clone()).await;
    assert_eq!(
        alice_cancel["data"]["cancelOrder"]["status"], "CANCELLED",
        "{alice_cancel}"
    );
}

#[tokio::test]
async fn introspection_and_graphiql_are_off_unless_enabled() {
    let off = spawn_stack().await;
    let on = spawn_stack_with(Options {
        graphiql: true,
        ..Options::default()
    })
    .await;
    let introspect = "{ __schema { queryType { name } } }";

    let off_res = off.graphql(Who::Anonymous, introspect, json!({})).await;
    let on_res = on.graphql(Who::Anonymous, introspect, json!({})).await;
    let off_page = off.get("/graphql", Who::Anonymous).send().await.unwrap();
    let on_page = on.get("/graphql", Who::Anonymous).send().await.unwrap();

    // async-graphql answers a disabled introspection with null, not an error.
    assert_eq!(off_res["data"]["__schema"], Value::Null, "{off_res}");
    assert_eq!(on_res["data"]["__schema"]["queryType"]["name"], "Query");
    assert_eq!(off_page.status(), StatusCode::NOT_FOUND);
    assert_eq!(on_page.status(), StatusCode::OK);
    assert!(
        on_page
            .text()
            .await
            .unwrap()
            .to_lowercase()
            .contains("graphiql")
    );
}

#[tokio::test]
async fn queries_nested_too_deep_are_refused() {
    let stack = spawn_stack_with(Options {
        graphiql: true,
        ..Options::default()
    })
    .await;
    let mut query = String::from("name");
    for _ in 0..12 {
        query = format!("ofType {{ {query} }}");
    }
    let query = format!("{{ __type(name: \"Query\") {{ fields {{ type {{ {query} }} }} }} }}");

    let res = stack.graphql(Who::Anonymous, &query, json!({})).await;

    let message = res["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase();
    assert!(
        message.contains("deep") || message.contains("depth"),
        "{res}"
    );
}

/// The next graphql-transport-ws message that is not a ping or pong.
pub async fn next_message(
    ws: &mut (
             impl futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin
         ),
) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message in time")
            .expect("the socket is open")
            .unwrap();
        if let Message::Text(text) = msg {
            let v: Value = serde_json::from_str(text.as_str()).unwrap();
            if v["type"] != "ping" && v["type"] != "pong" {
                return v;
            }
        }
    }
}

#[tokio::test]
async fn a_subscription_over_websocket_sends_the_current_state_then_each_change() {
    // Arrange
    let stack = spawn_stack().await;
    let created = create_order(&stack, Who::Alice).await;
    let id = created["data"]["createOrder"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    stack.wait_for_delivery(&id).await;
    let mut request = format!("ws://{}/graphql", stack.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(
        response.headers()["sec-websocket-protocol"],
        "graphql-transport-ws"
    );
    let init = json!({"type": "connection_init", "payload": {"Authorization": "Bearer alice-key"}});
    ws.send(Message::Text(init.to_string().into()))
        .await
        .unwrap();
    assert_eq!(next_message(&mut ws).await["type"], "connection_ack");
    let subscribe = json!({
        "id": "1",
        "type": "subscribe",
        "payload": {
            "query": "subscription($id: ID!) { deliveryStatusChanged(orderId: $id) { orderId status version } }",
            "variables": {"id": id},
        },
    });
    ws.send(Message::Text(subscribe.to_string().into()))
        .await
        .unwrap();
    let first = next_message(&mut ws).await;
    assert_eq!(first["type"], "next", "{first}");
    assert_eq!(
        first["payload"]["data"]["deliveryStatusChanged"]["status"],
        "PENDING"
    );

    // Act
    assert_eq!(
        stack
            .put_status(&id, "ASSIGNED", Who::Courier)
            .await
            .status(),
        StatusCode::OK
    );

    // Assert
    let change = next_message(&mut ws).await;
    assert_eq!(change["id"], "1");
    assert_eq!(
        change["payload"]["data"]["deliveryStatusChanged"]["status"], "ASSIGNED",
        "{change}"
    );
}

#[tokio::test]
async fn a_subscription_needs_a_key_and_respects_ownership() {
    // Arrange
    let stack = spawn_stack().await;
    let created = create_order(&stack, Who::Alice).await;
    let id = created["data"]["createOrder"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    stack.wait_for_delivery(&id).await;

    for (payload, expected) in [
        (json!({}), "unauthenticated"),
        (json!({"Authorization": "Bearer bob-key"}), "not_found"),
    ] {
        let mut request = format!("ws://{}/graphql", stack.addr)
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let init = json!({"type": "connection_init", "payload": payload});
        ws.send(Message::Text(init.to_string().into()))
            .await
            .unwrap();
        assert_eq!(next_message(&mut ws).await["type"], "connection_ack");
        let subscribe = json!({"id": "s", "type": "subscribe", "payload": {
            "query": "subscription($id: ID!) { deliveryStatusChanged(orderId: $id) { status } }",
            "variables": {"id": id}}});
        ws.send(Message::Text(subscribe.to_string().into()))
            .await
            .unwrap();

        let msg = next_message(&mut ws).await;

        let errors = if msg["type"] == "error" {
            &msg["payload"]
        } else {
            &msg["payload"]["errors"]
        };
        assert_eq!(errors[0]["extensions"]["code"], expected, "{msg}");
    }
}

#[tokio::test]
async fn a_variable_of_the_wrong_type_is_a_validation_error_not_coerced() {
    let stack = spawn_stack().await;

    // `search` is a String: an Int variable may not be used there, whatever
    // its value ("Variables in Allowed Position").
    let res = stack
        .graphql(
            Who::Anonymous,
            "query($q: Int) { menuItems(search: $q) { id } }",
            json!({"q": "abc"}),
        )
        .await;
    assert_eq!(res["data"], Value::Null, "{res}");
    let message = res["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("\"q\"") && message.contains("\"Int\"") && message.contains("\"String\""),
        "{res}"
    );

    // A nullable variable where a non-null ID is required, and a value that
    // is not of the variable's type, are refused too.
    let res = stack
        .graphql(
            Who::Anonymous,
            "query($id: ID) { menuItem(id: $id) { id } }",
            json!({"id": "margherita"}),
        )
        .await;
    assert_eq!(res["data"], Value::Null, "{res}");
    let res = stack
        .graphql(
            Who::Anonymous,
            "query($n: Int) { menuItems(limit: $n) { id } }",
            json!({"n": "abc"}),
        )
        .await;
    assert_eq!(res["data"], Value::Null, "{res}");
    assert!(res["errors"][0]["message"].is_string(), "{res}");

    // The same queries with the right types answer.
    let res = stack
        .graphql(
            Who::Anonymous,
            "query($q: String, $n: Int) { menuItems(search: $q, limit: $n) { id } }",
            json!({"q": "margherita", "n": 5}),
        )
        .await;
    let ids: Vec<&str> = res["data"]["menuItems"]
        .as_array()
        .map(|items| items.iter().filter_map(|i| i["id"].as_str()).collect())
        .unwrap_or_default();
    assert!(ids.contains(&"margherita"), "{res}");
}
