//! Restaurants through the gateway: browsing them and their menus, ops
//! pausing a kitchen, one restaurant per order, and the restaurant an
//! order carries into its delivery and the live streams.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    graphql::next_message,
    helpers::{SseReader, TestStack, Who, assert_error, spawn_stack},
};

const PATIENCE: Duration = Duration::from_secs(10);
/// Longer than order-service's menu cache (1 s by default): how long a
/// pause or a resume may take to reach new orders.
const CACHE_BOUND: Duration = Duration::from_secs(5);

fn ids(list: &Value, key: &str, field: &str) -> Vec<String> {
    list[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {list}"))
        .iter()
        .map(|v| v[field].as_str().unwrap().to_owned())
        .collect()
}

async fn patch_open(stack: &TestStack, id: &str, open: bool, who: Who) -> reqwest::Response {
    stack
        .request(Method::PATCH, &format!("/restaurants/{id}"), who)
        .json(&json!({ "open": open }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn restaurants_are_listed_filtered_and_paged_without_a_key() {
    // Arrange
    let stack = spawn_stack().await;

    // Act
    let all = stack
        .get_json("/restaurants?limit=1000", Who::Anonymous)
        .await;
    let japanese = stack
        .get_json("/restaurants?cuisine=Japanese", Who::Anonymous)
        .await;
    let sushi = stack.get_json("/restaurants?q=sushi", Who::Anonymous).await;
    let open = stack
        .get_json("/restaurants?open=true&limit=1000", Who::Anonymous)
        .await;
    let mut paged = Vec::new();
    let mut path = "/restaurants?limit=3".to_owned();
    loop {
        let page = stack.get_json(&path, Who::Anonymous).await;
        assert!(page["restaurants"].as_array().unwrap().len() <= 3);
        paged.extend(ids(&page, "restaurants", "id"));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/restaurants?limit=3&cursor={cursor}"),
            None => break,
        }
    }

    // Assert
    let restaurants = all["restaurants"].as_array().unwrap();
    assert!(restaurants.len() >= 8, "{all}");
    let cuisines: BTreeSet<&str> = restaurants
        .iter()
        .map(|r| r["cuisine"].as_str().unwrap())
        .collect();
    assert!(cuisines.len() >= 6, "{cuisines:?}");
    for r in restaurants {
        for field in ["id", "name", "cuisine", "address"] {
            assert!(
                !r[field].as_str().unwrap_or_default().is_empty(),
                "{field} of {r}"
            );
        }
        assert!(r["open"].is_boolean() && r["tags"].is_array(), "{r}");
    }
    assert_eq!(all["next_cursor"], Value::Null);
    let japanese_ids = ids(&japanese, "restaurants", "id");
    assert!(
        japanese_ids.contains(&"sakura-sushi".to_owned())
            && japanese_ids.contains(&"kintaro-ramen".to_owned()),
        "{japanese}"
    );
    assert!(
        japanese["restaurants"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["cuisine"] == "japanese"),
        "{japanese}"
    );
    assert!(ids(&sushi, "restaurants", "id").contains(&"sakura-sushi".to_owned()));
    assert!(!ids(&sushi, "restaurants", "id").contains(&"trattoria-da-luca".to_owned()));
    assert_eq!(
        open["restaurants"].as_array().unwrap().len(),
        restaurants.len(),
        "the seed's restaurants are all open"
    );
    assert_eq!(
        paged,
        ids(&all, "restaurants", "id"),
        "pages walk the list once"
    );
}

#[tokio::test]
async fn one_restaurant_is_read_by_id_and_an_unknown_one_is_a_404() {
    let stack = spawn_stack().await;

    let luca = stack
        .get_json("/restaurants/trattoria-da-luca", Who::Anonymous)
        .await;
    let missing = stack
        .get("/restaurants/no-such-place", Who::Anonymous)
        .send()
        .await
        .unwrap();
    let missing_menu = stack
        .get("/restaurants/no-such-place/menu", Who::Anonymous)
        .send()
        .await
        .unwrap();

    assert_eq!(luca["id"], "trattoria-da-luca");
    assert_eq!(luca["cuisine"], "italian");
    assert_eq!(luca["open"], true);
    assert!(luca["address"].as_str().unwrap().contains("Lyon"), "{luca}");
    assert_error(missing, StatusCode::NOT_FOUND, "not_found").await;
    assert_error(missing_menu, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn a_restaurants_menu_is_exactly_its_items() {
    // Arrange: the whole menu, grouped by the items' own restaurant_id
    let stack = spawn_stack().await;
    let menu = stack
        .get_json("/menu/items?limit=1000", Who::Anonymous)
        .await;
    let mut by_restaurant: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for item in menu["items"].as_array().unwrap() {
        by_restaurant
            .entry(item["restaurant_id"].as_str().unwrap().to_owned())
            .or_default()
            .insert(item["id"].as_str().unwrap().to_owned());
    }
    let restaurants = stack
        .get_json("/restaurants?limit=1000", Who::Anonymous)
        .await;

    for id in ids(&restaurants, "restaurants", "id") {
        // Act
        let own = stack
            .get_json(
                &format!("/restaurants/{id}/menu?limit=1000"),
                Who::Anonymous,
            )
            .await;
        let filtered = stack
            .get_json(
                &format!("/menu/items?restaurant={id}&limit=1000"),
                Who::Anonymous,
            )
            .await;

        // Assert
        let own_ids: BTreeSet<String> = ids(&own, "items", "id").into_iter().collect();
        assert!(!own_ids.is_empty(), "{id} has a menu");
        assert_eq!(
            Some(&own_ids),
            by_restaurant.get(&id),
            "{id}: its menu is the items naming it"
        );
        assert_eq!(own, filtered, "{id}: same as /menu/items?restaurant=");
        assert!(
            own["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["restaurant_id"] == id.as_str())
        );
    }
    let luca = &by_restaurant["trattoria-da-luca"];
    assert!(luca.contains("margherita") && luca.contains("tiramisu"));
    let drinks = stack
        .get_json(
            "/restaurants/le-smash-club/menu?category=drinks&available=true",
            Who::Anonymous,
        )
        .await;
    for item in drinks["items"].as_array().unwrap() {
        assert_eq!(item["restaurant_id"], "le-smash-club");
        assert_eq!(item["category"], "drinks");
        assert_eq!(item["available"], true);
    }
}

#[tokio::test]
async fn only_ops_pause_and_resume_a_restaurant() {
    // Arrange
    let stack = spawn_stack().await;

    // Act
    let anonymous = patch_open(&stack, "sakura-sushi", false, Who::Anonymous).await;
    let customer = patch_open(&stack, "sakura-sushi", false, Who::Alice).await;
    let courier = patch_open(&stack, "sakura-sushi", false, Who::Courier).await;
    let unknown_field = stack
        .request(Method::PATCH, "/restaurants/sakura-sushi", Who::Ops)
        .json(&json!({"open": false, "name": "Renamed"}))
        .send()
        .await
        .unwrap();
    let no_open = stack
        .request(Method::PATCH, "/restaurants/sakura-sushi", Who::Ops)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let unknown = patch_open(&stack, "no-such-place", false, Who::Ops).await;

    // Assert: nothing changed
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    assert_error(customer, StatusCode::FORBIDDEN, "permission_denied").await;
    assert_error(courier, StatusCode::FORBIDDEN, "permission_denied").await;
    assert_error(unknown_field, StatusCode::BAD_REQUEST, "invalid_argument").await;
    let body = assert_error(no_open, StatusCode::BAD_REQUEST, "invalid_argument").await;
    assert_eq!(body["error"]["details"]["field"], "open");
    assert_error(unknown, StatusCode::NOT_FOUND, "not_found").await;
    let sakura = stack
        .get_json("/restaurants/sakura-sushi", Who::Anonymous)
        .await;
    assert_eq!(sakura["open"], true);
}

/// Posts `items` as Alice until the answer is `want`, within [`CACHE_BOUND`]
/// (order-service may price from its menu cache until then); returns it.
async fn order_until(stack: &TestStack, items: &[(&str, u32)], want: StatusCode) -> Value {
    let deadline = tokio::time::Instant::now() + CACHE_BOUND;
    loop {
        let res = stack.post_order(Who::Alice, items).await;
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        if status == want {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still {status} after {CACHE_BOUND:?}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_paused_restaurant_refuses_orders_until_it_is_resumed() {
    // Arrange: the restaurant and its menu have been read and ordered from
    let stack = spawn_stack().await;
    let before = stack
        .get_json("/restaurants/trattoria-da-luca", Who::Anonymous)
        .await;
    assert_eq!(before["open"], true);
    let first = stack
        .post_order(Who::Alice, &[("margherita", 1), ("tiramisu", 1)])
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);

    // Act: pause
    let paused = patch_open(&stack, "trattoria-da-luca", false, Who::Ops).await;

    // Assert: the updated restaurant, shown at once by this gateway's reads
    assert_eq!(paused.status(), StatusCode::OK);
    let paused: Value = paused.json().await.unwrap();
    assert_eq!(paused["id"], "trattoria-da-luca");
    assert_eq!(paused["open"], false);
    assert_eq!(paused["name"], before["name"]);
    let read = stack
        .get_json("/restaurants/trattoria-da-luca", Who::Anonymous)
        .await;
    assert_eq!(read["open"], false, "the cached read was emptied");
    let open_ones = stack
        .get_json("/restaurants?open=true&limit=1000", Who::Anonymous)
        .await;
    assert!(!ids(&open_ones, "restaurants", "id").contains(&"trattoria-da-luca".to_owned()));

    // New orders are refused with restaurant_closed.
    let refused = order_until(
        &stack,
        &[("margherita", 2)],
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(refused["error"]["code"], "restaurant_closed", "{refused}");
    assert_eq!(
        refused["error"]["details"]["restaurant_id"],
        "trattoria-da-luca"
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains(before["name"].as_str().unwrap()),
        "{refused}"
    );

    // Act + Assert: resume, and orders are taken again
    let resumed = patch_open(&stack, "trattoria-da-luca", true, Who::Ops).await;
    assert_eq!(resumed.status(), StatusCode::OK);
    assert_eq!(resumed.json::<Value>().await.unwrap()["open"], true);
    let order = order_until(&stack, &[("margherita", 2)], StatusCode::CREATED).await;
    assert_eq!(order["restaurant_id"], "trattoria-da-luca");
}

#[tokio::test]
async fn a_mixed_order_is_refused_naming_both_restaurants_and_creates_nothing() {
    // Arrange
    let stack = spawn_stack().await;
    stack.post_order(Who::Alice, &[("margherita", 1)]).await;
    let before = stack.get_json("/orders?limit=1000", Who::Ops).await;

    // Act
    let res = stack
        .post_order(Who::Alice, &[("margherita", 1), ("cola", 2)])
        .await;
    let graphql = stack
        .graphql(
            Who::Alice,
            "mutation($input: CreateOrderInput!) { createOrder(input: $input) { id } }",
            json!({"input": {
                "items": [{"itemId": "tiramisu", "quantity": 1}, {"itemId": "cola", "quantity": 1}],
                "deliveryAddress": "1 Main St",
            }}),
        )
        .await;

    // Assert
    let body = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "mixed_restaurants").await;
    let named = body["error"]["details"]["restaurant_ids"]
        .as_str()
        .unwrap_or_default();
    assert!(
        named.contains("trattoria-da-luca") && named.contains("le-smash-club"),
        "{body}"
    );
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("Trattoria da Luca") && message.contains("Le Smash Club"),
        "{message}"
    );
    assert_eq!(
        graphql["errors"][0]["extensions"]["code"], "mixed_restaurants",
        "{graphql}"
    );
    assert!(graphql["data"].is_null() || graphql["data"]["createOrder"].is_null());
    let after = stack.get_json("/orders?limit=1000", Who::Ops).await;
    assert_eq!(ids(&after, "orders", "id"), ids(&before, "orders", "id"));
}

#[tokio::test]
async fn an_order_carries_its_restaurant_into_its_delivery_and_the_live_streams() {
    // Arrange: a live stream open before the order
    let stack = spawn_stack().await;
    let luca = stack
        .get_json("/restaurants/trattoria-da-luca", Who::Anonymous)
        .await;
    let mut all = SseReader::new(
        stack
            .get("/events/deliveries", Who::Ops)
            .send()
            .await
            .unwrap(),
    );

    // Act
    let res = stack
        .post_order(Who::Alice, &[("margherita", 2), ("tiramisu", 1)])
        .await;

    // Assert: the order
    assert_eq!(res.status(), StatusCode::CREATED);
    let order: Value = res.json().await.unwrap();
    let id = order["id"].as_str().unwrap().to_owned();
    let expect = |v: &Value, what: &str| {
        assert_eq!(v["restaurant_id"], "trattoria-da-luca", "{what}: {v}");
        assert_eq!(v["restaurant_name"], luca["name"], "{what}: {v}");
        assert_eq!(v["pickup_address"], luca["address"], "{what}: {v}");
    };
    expect(&order, "POST /orders");
    expect(
        &stack.get_json(&format!("/orders/{id}"), Who::Alice).await,
        "GET /orders/:id",
    );
    let listed = stack.get_json("/orders", Who::Alice).await;
    expect(&listed["orders"][0], "GET /orders");

    // The delivery and the SSE event of its creation
    let delivery = stack.wait_for_delivery(&id).await;
    expect(&delivery, "GET /delivery/status/:id");
    let event = loop {
        let e = all.next(PATIENCE).await.expect("the delivery's event");
        if e.json()["order_id"] == id.as_str() {
            break e.json();
        }
    };
    expect(&event, "SSE /events/deliveries");
    let mut one = SseReader::new(
        stack
            .get(&format!("/delivery/status/{id}/stream"), Who::Alice)
            .send()
            .await
            .unwrap(),
    );
    let current = one.next(PATIENCE).await.expect("the current state");
    expect(&current.json(), "SSE /delivery/status/:id/stream");
    assert_eq!(
        stack
            .put_status(&id, "ASSIGNED", Who::Courier)
            .await
            .status(),
        StatusCode::OK
    );
    let change = one.next(PATIENCE).await.expect("the change");
    assert_eq!(change.json()["status"], "ASSIGNED");
    expect(&change.json(), "SSE change");

    // GraphQL: the fields and the restaurant resolved from the menu
    let read = stack
        .graphql(
            Who::Alice,
            "query($id: ID!) {
               order(id: $id) { restaurantId restaurantName pickupAddress
                 restaurant { id name address open }
                 delivery { restaurantId restaurantName pickupAddress restaurant { id } } }
             }",
            json!({"id": id}),
        )
        .await;
    let o = &read["data"]["order"];
    assert_eq!(o["restaurantId"], "trattoria-da-luca", "{read}");
    assert_eq!(o["restaurantName"], luca["name"]);
    assert_eq!(o["pickupAddress"], luca["address"]);
    assert_eq!(o["restaurant"]["name"], luca["name"]);
    assert_eq!(o["restaurant"]["open"], true);
    assert_eq!(o["delivery"]["restaurantId"], "trattoria-da-luca");
    assert_eq!(o["delivery"]["pickupAddress"], luca["address"]);
    assert_eq!(o["delivery"]["restaurant"]["id"], "trattoria-da-luca");
}

#[tokio::test]
async fn orders_and_deliveries_are_filtered_by_restaurant() {
    // Arrange: one order at each of two restaurants
    let stack = spawn_stack().await;
    let luca: Value = stack.place_order(Who::Alice, &[("margherita", 1)]).await;
    let smash: Value = stack.place_order(Who::Bob, &[("cola", 1)]).await;
    let (luca_id, smash_id) = (luca["id"].as_str().unwrap(), smash["id"].as_str().unwrap());
    stack.wait_for_delivery(luca_id).await;
    stack.wait_for_delivery(smash_id).await;

    // Act
    let orders = stack
        .get_json("/orders?restaurant=trattoria-da-luca", Who::Ops)
        .await;
    let bobs_at_luca = stack
        .get_json("/orders?restaurant=trattoria-da-luca", Who::Bob)
        .await;
    let deliveries = stack
        .get_json("/deliveries?restaurant=le-smash-club", Who::Courier)
        .await;
    let graphql = stack
        .graphql(
            Who::Ops,
            "{ orders(restaurantId: \"le-smash-club\") { orders { id restaurant { id } } }
               deliveries(status: PENDING, restaurantId: \"trattoria-da-luca\") { deliveries { orderId restaurantName } } }",
            json!({}),
        )
        .await;

    // Assert
    assert_eq!(ids(&orders, "orders", "id"), vec![luca_id.to_owned()]);
    assert!(
        ids(&bobs_at_luca, "orders", "id").is_empty(),
        "{bobs_at_luca}"
    );
    assert_eq!(
        ids(&deliveries, "deliveries", "order_id"),
        vec![smash_id.to_owned()]
    );
    let data = &graphql["data"];
    assert_eq!(data["orders"]["orders"][0]["id"], smash_id, "{graphql}");
    assert_eq!(data["orders"]["orders"].as_array().unwrap().len(), 1);
    assert_eq!(
        data["orders"]["orders"][0]["restaurant"]["id"],
        "le-smash-club"
    );
    let d = data["deliveries"]["deliveries"].as_array().unwrap();
    assert_eq!(d.len(), 1, "{graphql}");
    assert_eq!(d[0]["orderId"], luca_id);
    assert_eq!(d[0]["restaurantName"], luca["restaurant_name"]);
}

#[tokio::test]
async fn ops_import_a_new_restaurant_with_its_menu_and_items_need_a_known_restaurant() {
    // Arrange
    let stack = spawn_stack().await;
    stack
        .get_json("/restaurants?limit=1000", Who::Anonymous)
        .await;
    let import = json!({
        "restaurants": [{"id": "chez-test", "name": "Chez Test", "cuisine": "french",
            "address": "1 Place Bellecour, 69002 Lyon", "open": true, "tags": ["test"]}],
        "items": [{"id": "test-quiche", "restaurant_id": "chez-test", "name": "Quiche",
            "description": "warm", "category": "mains", "price_cents": 900}],
    });
    let orphan = json!({"items": [{"id": "orphan-dish", "restaurant_id": "nowhere",
        "name": "Orphan", "category": "mains", "price_cents": 100}]});

    // Act
    let imported = stack
        .request(Method::POST, "/menu/items", Who::Ops)
        .json(&import)
        .send()
        .await
        .unwrap();
    let refused = stack
        .request(Method::POST, "/menu/items", Who::Ops)
        .json(&orphan)
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(imported.status(), StatusCode::OK);
    // A well-formed id that names no restaurant: a 422 naming the field.
    let body = assert_error(
        refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_argument",
    )
    .await;
    assert_eq!(body["error"]["details"]["field"], "items[0].restaurant_id");
    let listed = stack
        .get_json("/restaurants?limit=1000", Who::Anonymous)
        .await;
    assert!(ids(&listed, "restaurants", "id").contains(&"chez-test".to_owned()));
    let menu = stack
        .get_json("/restaurants/chez-test/menu", Who::Anonymous)
        .await;
    assert_eq!(ids(&menu, "items", "id"), vec!["test-quiche".to_owned()]);
    let orphan = stack
        .get("/menu/items/orphan-dish", Who::Anonymous)
        .send()
        .await
        .unwrap();
    assert_eq!(orphan.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn graphql_lists_restaurants_with_their_menus_and_ops_pause_one() {
    // Arrange
    let stack = spawn_stack().await;
    let rest_menu = stack
        .get_json("/restaurants/sakura-sushi/menu?limit=1000", Who::Anonymous)
        .await;
    let set = "mutation($open: Boolean!) { setRestaurantOpen(restaurantId: \"sakura-sushi\", open: $open) { id open name } }";

    // Act
    let read = stack
        .graphql(
            Who::Anonymous,
            "{ restaurants(cuisine: \"japanese\", limit: 1) { restaurants { id cuisine } nextCursor }
               restaurant(id: \"sakura-sushi\") { id name cuisine address open tags
                 menu(limit: 1000) { id restaurantId restaurant { id } } }
               missing: restaurant(id: \"no-such-place\") { id }
               menuItems(restaurantId: \"sakura-sushi\", limit: 1000) { id } }",
            json!({}),
        )
        .await;
    let customer = stack.graphql(Who::Alice, set, json!({"open": false})).await;
    let anonymous = stack
        .graphql(Who::Anonymous, set, json!({"open": false}))
        .await;
    let paused = stack.graphql(Who::Ops, set, json!({"open": false})).await;
    let after = stack
        .graphql(
            Who::Anonymous,
            "{ restaurant(id: \"sakura-sushi\") { open } }",
            json!({}),
        )
        .await;
    let resumed = stack.graphql(Who::Ops, set, json!({"open": true})).await;

    // Assert
    let data = &read["data"];
    let page = &data["restaurants"];
    assert_eq!(page["restaurants"].as_array().unwrap().len(), 1, "{read}");
    assert_eq!(page["restaurants"][0]["cuisine"], "japanese");
    let cursor = page["nextCursor"]
        .as_str()
        .expect("a second japanese restaurant");
    let next = stack
        .graphql(
            Who::Anonymous,
            "query($c: String) { restaurants(cuisine: \"japanese\", limit: 1, cursor: $c) { restaurants { id } } }",
            json!({"c": cursor}),
        )
        .await;
    assert_ne!(
        next["data"]["restaurants"]["restaurants"][0]["id"],
        page["restaurants"][0]["id"]
    );
    let sakura = &data["restaurant"];
    assert_eq!(sakura["cuisine"], "japanese");
    let menu: Vec<String> = sakura["menu"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            assert_eq!(i["restaurantId"], "sakura-sushi");
            assert_eq!(i["restaurant"]["id"], "sakura-sushi");
            i["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(menu, ids(&rest_menu, "items", "id"));
    assert_eq!(ids(data, "menuItems", "id"), menu);
    assert_eq!(data["missing"], Value::Null);

    let code = |v: &Value| v["errors"][0]["extensions"]["code"].clone();
    assert_eq!(code(&customer), "permission_denied", "{customer}");
    assert_eq!(code(&anonymous), "unauthenticated", "{anonymous}");
    assert_eq!(
        paused["data"]["setRestaurantOpen"]["open"], false,
        "{paused}"
    );
    assert_eq!(paused["data"]["setRestaurantOpen"]["id"], "sakura-sushi");
    assert_eq!(after["data"]["restaurant"]["open"], false);
    assert_eq!(resumed["data"]["setRestaurantOpen"]["open"], true);
}

#[tokio::test]
async fn the_graphql_subscription_carries_the_restaurant() {
    use futures::SinkExt;
    use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

    // Arrange
    let stack = spawn_stack().await;
    let order: Value = stack.place_order(Who::Alice, &[("beef-pho", 1)]).await;
    let id = order["id"].as_str().unwrap().to_owned();
    stack.wait_for_delivery(&id).await;
    let pho = stack
        .get_json("/restaurants/pho-saigon", Who::Anonymous)
        .await;
    let mut request = format!("ws://{}/graphql", stack.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let init = json!({"type": "connection_init", "payload": {"Authorization": "Bearer alice-key"}});
    ws.send(Message::Text(init.to_string().into()))
        .await
        .unwrap();
    let subscribe = json!({"id": "1", "type": "subscribe", "payload": {
        "query": "subscription($id: ID!) { deliveryStatusChanged(orderId: $id) {
            status restaurantId restaurantName pickupAddress restaurant { name } } }",
        "variables": {"id": id}}});

    // Act
    let mut messages = Vec::new();
    assert_eq!(next_message(&mut ws).await["type"], "connection_ack");
    ws.send(Message::Text(subscribe.to_string().into()))
        .await
        .unwrap();
    messages.push(next_message(&mut ws).await);
    stack.put_status(&id, "ASSIGNED", Who::Courier).await;
    messages.push(next_message(&mut ws).await);

    // Assert: the current state, then the change, both with the restaurant
    for (msg, status) in messages.iter().zip(["PENDING", "ASSIGNED"]) {
        let d = &msg["payload"]["data"]["deliveryStatusChanged"];
        assert_eq!(d["status"], status, "{msg}");
        assert_eq!(d["restaurantId"], "pho-saigon");
        assert_eq!(d["restaurantName"], pho["name"]);
        assert_eq!(d["pickupAddress"], pho["address"]);
        assert_eq!(d["restaurant"]["name"], pho["name"]);
    }
}
