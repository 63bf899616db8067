//! The access rules of DESIGN.md ("Gateway API") as a matrix generated from
//! the gateway's own surface: every REST route of its OpenAPI document and
//! every root field (Query, Mutation, Subscription) of its GraphQL schema,
//! each called by every kind of caller ([`Who::ALL`]: no key, an unknown
//! key, Alice, Bob, courier-1, ops, the order's kitchen, another kitchen).
//!
//! A route or field the tables below do not list fails the test, naming
//! it, and so does a row for one that no longer exists: a new route cannot
//! escape the matrix. Every call on an order is made twice, with the full
//! id and with the short one (its last 8 characters); another customer or
//! another kitchen is told the order does not exist (404, `not_found`),
//! never that it is forbidden.

use std::{collections::BTreeSet, time::Duration};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{
    AUTO_KITCHEN, GraphqlSocket, SseReader, TestStack, Who, graphql_code, spawn_stack,
};

/// One call of a REST route, with the status each caller of [`Who::ALL`]
/// gets.
struct Route {
    method: Method,
    /// The route as the OpenAPI document spells it.
    route: &'static str,
    /// The path called: `{order}` is an order of Alice's at [`AUTO_KITCHEN`]
    /// (its delivery unassigned), `{item}` one of that kitchen's items.
    path: &'static str,
    body: Option<Value>,
    /// The call changes the order: each caller it succeeds for gets a
    /// fresh one.
    fresh_order: bool,
    expect: [u16; 8],
}

fn route(method: Method, route: &'static str, expect: [u16; 8]) -> Route {
    Route {
        method,
        route,
        path: route,
        body: None,
        fresh_order: false,
        expect,
    }
}

/// What anyone may read; an unknown key is refused all the same.
const OPEN: [u16; 8] = [200, 401, 200, 200, 200, 200, 200, 200];
/// Probes and documents, read by tools without keys.
const OPERATIONAL: [u16; 8] = [200; 8];

/// Every REST call of the matrix; `item` is the menu item orders and the
/// import use.
fn rest_routes(item: &Value) -> Vec<Route> {
    let order_for_alice = json!({
        "items": [{"item_id": item["id"], "quantity": 1}],
        "delivery_address": "1 Main St",
        "customer_id": "alice",
    });
    // Columns: anonymous, unknown key, Alice, Bob, courier-1, ops, the
    // order's kitchen, another kitchen.
    vec![
        route(Method::GET, "/restaurants", OPEN),
        Route {
            path: "/restaurants/trattoria-da-luca",
            ..route(Method::GET, "/restaurants/{id}", OPEN)
        },
        Route {
            path: "/restaurants/trattoria-da-luca/menu",
            ..route(Method::GET, "/restaurants/{id}/menu", OPEN)
        },
        // `open: true` leaves the restaurant as it is; another kitchen is
        // told it does not exist.
        Route {
            path: "/restaurants/trattoria-da-luca",
            body: Some(json!({"open": true})),
            ..route(
                Method::PATCH,
                "/restaurants/{id}",
                [401, 401, 403, 403, 403, 200, 200, 404],
            )
        },
        route(Method::GET, "/menu/items", OPEN),
        Route {
            path: "/menu/items/{item}",
            ..route(Method::GET, "/menu/items/{id}", OPEN)
        },
        Route {
            body: Some(json!({"items": [item]})),
            ..route(
                Method::POST,
                "/menu/items",
                [401, 401, 403, 403, 403, 200, 403, 403],
            )
        },
        // Bob may not order for Alice; ops may.
        Route {
            body: Some(order_for_alice),
            ..route(
                Method::POST,
                "/orders",
                [401, 401, 201, 403, 403, 201, 403, 403],
            )
        },
        route(
            Method::GET,
            "/orders",
            [401, 401, 200, 200, 403, 200, 200, 200],
        ),
        Route {
            path: "/orders/{order}",
            ..route(
                Method::GET,
                "/orders/{orderId}",
                [401, 401, 200, 404, 403, 200, 200, 404],
            )
        },
        Route {
            path: "/orders/{order}/cancel",
            fresh_order: true,
            ..route(
                Method::POST,
                "/orders/{orderId}/cancel",
                [401, 401, 200, 404, 403, 200, 403, 403],
            )
        },
        // The order was accepted at once: accepting again sets a new ready-by.
        Route {
            path: "/orders/{order}/accept",
            body: Some(json!({"prep_minutes": 12})),
            fresh_order: true,
            ..route(
                Method::POST,
                "/orders/{orderId}/accept",
                [401, 401, 403, 403, 403, 200, 200, 404],
            )
        },
        Route {
            path: "/orders/{order}/ready",
            fresh_order: true,
            ..route(
                Method::POST,
                "/orders/{orderId}/ready",
                [401, 401, 403, 403, 403, 200, 200, 404],
            )
        },
        // Too late to reject an accepted order: the kitchens that may are
        // refused the transition.
        Route {
            path: "/orders/{order}/reject",
            body: Some(json!({"reason": "no more naan"})),
            ..route(
                Method::POST,
                "/orders/{orderId}/reject",
                [401, 401, 403, 403, 403, 409, 409, 404],
            )
        },
        Route {
            path: "/delivery/status/{order}",
            ..route(
                Method::GET,
                "/delivery/status/{orderId}",
                [401, 401, 200, 404, 200, 200, 200, 404],
            )
        },
        // Ops assign anyone; courier-1 may not assign courier-2.
        Route {
            path: "/delivery/status/{order}",
            body: Some(json!({"status": "ASSIGNED", "courier": "courier-2"})),
            fresh_order: true,
            ..route(
                Method::PUT,
                "/delivery/status/{orderId}",
                [401, 401, 403, 403, 403, 200, 403, 403],
            )
        },
        // A courier claims an unassigned delivery for itself (twice here:
        // its cap of active deliveries); ops must name the courier.
        Route {
            path: "/delivery/status/{order}",
            body: Some(json!({"status": "ASSIGNED"})),
            fresh_order: true,
            ..route(
                Method::PUT,
                "/delivery/status/{orderId}",
                [401, 401, 403, 403, 200, 422, 403, 403],
            )
        },
        Route {
            path: "/delivery/status/{order}/stream",
            ..route(
                Method::GET,
                "/delivery/status/{orderId}/stream",
                [401, 401, 200, 404, 200, 200, 200, 404],
            )
        },
        route(
            Method::GET,
            "/deliveries",
            [401, 401, 200, 200, 200, 200, 200, 200],
        ),
        route(
            Method::GET,
            "/events/deliveries",
            [401, 401, 403, 403, 200, 200, 200, 200],
        ),
        route(
            Method::GET,
            "/couriers",
            [401, 401, 403, 403, 403, 200, 403, 403],
        ),
        Route {
            path: "/couriers/courier-1/shift",
            body: Some(json!({"on_shift": false})),
            ..route(
                Method::PUT,
                "/couriers/{id}/shift",
                [401, 401, 403, 403, 200, 200, 403, 403],
            )
        },
        // Another courier's shift is not courier-1's to set.
        Route {
            path: "/couriers/courier-2/shift",
            body: Some(json!({"on_shift": false})),
            ..route(
                Method::PUT,
                "/couriers/{id}/shift",
                [401, 401, 403, 403, 403, 200, 403, 403],
            )
        },
        Route {
            path: "/couriers/courier-9",
            body: Some(json!({"name": "Zoé Petit"})),
            ..route(
                Method::PUT,
                "/couriers/{id}",
                [401, 401, 403, 403, 403, 200, 403, 403],
            )
        },
        route(Method::GET, "/healthz", OPERATIONAL),
        route(Method::GET, "/readyz", OPERATIONAL),
        route(Method::GET, "/metrics", OPERATIONAL),
        route(Method::GET, "/openapi.json", OPERATIONAL),
    ]
}

/// What a GraphQL caller gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gql {
    /// The field's value, without errors.
    Data,
    /// `null` without errors: how GraphQL says "no such object".
    Null,
    /// An error with this `extensions.code`.
    Code(&'static str),
    /// The key is refused before any operation: HTTP 401 on POST, the
    /// socket closed after `connection_init`.
    Refused,
}

use Gql::{Code, Data, Null, Refused};

const UNAUTH: Gql = Code("unauthenticated");
const DENIED: Gql = Code("permission_denied");
const NOT_FOUND: Gql = Code("not_found");

/// One root field, called by each caller of [`Who::ALL`].
struct Field {
    /// `Query`, `Mutation` or `Subscription`.
    root: &'static str,
    name: &'static str,
    /// The operation; its variables are `$order` (as in [`Route::path`]),
    /// `$item` and `$restaurant` ([`AUTO_KITCHEN`]).
    document: &'static str,
    fresh_order: bool,
    expect: [Gql; 8],
}

const fn field(
    root: &'static str,
    name: &'static str,
    document: &'static str,
    expect: [Gql; 8],
) -> Field {
    Field {
        root,
        name,
        document,
        fresh_order: false,
        expect,
    }
}

const fn fresh(f: Field) -> Field {
    Field {
        fresh_order: true,
        ..f
    }
}

const OPEN_FIELD: [Gql; 8] = [Data, Refused, Data, Data, Data, Data, Data, Data];

/// Every GraphQL root field of the matrix.
const GRAPHQL_FIELDS: &[Field] = &[
    field(
        "Query",
        "restaurants",
        "{ restaurants { restaurants { id } } }",
        OPEN_FIELD,
    ),
    field(
        "Query",
        "restaurant",
        "query($restaurant: ID!) { restaurant(id: $restaurant) { id } }",
        OPEN_FIELD,
    ),
    field(
        "Query",
        "menuItems",
        "{ menuItems(limit: 1) { id } }",
        OPEN_FIELD,
    ),
    field(
        "Query",
        "menuItem",
        "query($item: ID!) { menuItem(id: $item) { id } }",
        OPEN_FIELD,
    ),
    field(
        "Query",
        "order",
        "query($order: ID!) { order(id: $order) { id } }",
        [UNAUTH, Refused, Data, Null, DENIED, Data, Data, Null],
    ),
    field(
        "Query",
        "orders",
        "{ orders { orders { id } } }",
        [UNAUTH, Refused, Data, Data, DENIED, Data, Data, Data],
    ),
    field(
        "Query",
        "deliveryStatus",
        "query($order: ID!) { deliveryStatus(orderId: $order) { orderId } }",
        [UNAUTH, Refused, Data, Null, Data, Data, Data, Null],
    ),
    field(
        "Query",
        "deliveries",
        "{ deliveries { deliveries { orderId } } }",
        [UNAUTH, Refused, Data, Data, Data, Data, Data, Data],
    ),
    field(
        "Query",
        "couriers",
        "{ couriers { id } }",
        [
            UNAUTH, Refused, DENIED, DENIED, DENIED, Data, DENIED, DENIED,
        ],
    ),
    field(
        "Mutation",
        "setRestaurantOpen",
        "mutation($restaurant: ID!) { setRestaurantOpen(restaurantId: $restaurant, open: true) { id } }",
        [
            UNAUTH, Refused, DENIED, DENIED, DENIED, Data, Data, NOT_FOUND,
        ],
    ),
    fresh(field(
        "Mutation",
        "acceptOrder",
        "mutation($order: ID!) { acceptOrder(orderId: $order, prepMinutes: 12) { id } }",
        [
            UNAUTH, Refused, DENIED, DENIED, DENIED, Data, Data, NOT_FOUND,
        ],
    )),
    field(
        "Mutation",
        "rejectOrder",
        "mutation($order: ID!) { rejectOrder(orderId: $order, reason: \"no more naan\") { id } }",
        [
            UNAUTH,
            Refused,
            DENIED,
            DENIED,
            DENIED,
            Code("invalid_transition"),
            Code("invalid_transition"),
            NOT_FOUND,
        ],
    ),
    fresh(field(
        "Mutation",
        "markOrderReady",
        "mutation($order: ID!) { markOrderReady(orderId: $order) { id } }",
        [
            UNAUTH, Refused, DENIED, DENIED, DENIED, Data, Data, NOT_FOUND,
        ],
    )),
    field(
        "Mutation",
        "setCourierShift",
        "mutation { setCourierShift(courierId: \"courier-1\", onShift: false) { id } }",
        [UNAUTH, Refused, DENIED, DENIED, Data, Data, DENIED, DENIED],
    ),
    field(
        "Mutation",
        "createOrder",
        "mutation($item: ID!) { createOrder(input: {items: [{itemId: $item, quantity: 1}], \
         deliveryAddress: \"1 Main St\", customerId: \"alice\"}) { id } }",
        [UNAUTH, Refused, Data, DENIED, DENIED, Data, DENIED, DENIED],
    ),
    fresh(field(
        "Mutation",
        "cancelOrder",
        "mutation($order: ID!) { cancelOrder(orderId: $order) { id } }",
        [
            UNAUTH, Refused, Data, NOT_FOUND, DENIED, Data, DENIED, DENIED,
        ],
    )),
    // As over REST: ops assign anyone, courier-1 may not assign
    // courier-2 but claims for itself (up to its cap of two), and ops
    // must name the courier.
    fresh(field(
        "Mutation",
        "updateDeliveryStatus",
        "mutation($order: ID!) { updateDeliveryStatus(orderId: $order, status: ASSIGNED, \
         courier: \"courier-2\") { orderId } }",
        [
            UNAUTH, Refused, DENIED, DENIED, DENIED, Data, DENIED, DENIED,
        ],
    )),
    fresh(field(
        "Mutation",
        "updateDeliveryStatus",
        "mutation($order: ID!) { updateDeliveryStatus(orderId: $order, status: ASSIGNED) \
         { orderId } }",
        [
            UNAUTH,
            Refused,
            DENIED,
            DENIED,
            Data,
            Code("invalid_argument"),
            DENIED,
            DENIED,
        ],
    )),
    field(
        "Subscription",
        "deliveryStatusChanged",
        "subscription($order: ID!) { deliveryStatusChanged(orderId: $order) { orderId } }",
        [
            UNAUTH, Refused, Data, NOT_FOUND, Data, Data, Data, NOT_FOUND,
        ],
    ),
    field(
        "Subscription",
        "orderStatusChanged",
        "subscription($restaurant: ID!) { orderStatusChanged(restaurantId: $restaurant) { id } }",
        [
            UNAUTH, Refused, DENIED, DENIED, DENIED, Data, Data, NOT_FOUND,
        ],
    ),
];

/// `METHOD /route` of every operation of the gateway's OpenAPI document.
fn documented_routes() -> BTreeSet<String> {
    let doc = food_gateway::openapi::document_value();
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("the document has paths") {
        for method in item.as_object().unwrap().keys() {
            if ["get", "put", "post", "patch", "delete"].contains(&method.as_str()) {
                routes.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    routes
}

/// `Root.field` of every root field of the gateway's GraphQL schema.
fn schema_fields() -> BTreeSet<String> {
    food_contract::postman::root_fields(&food_gateway::graphql::sdl())
        .into_iter()
        .map(|f| {
            let root = match f.operation {
                "query" => "Query",
                "mutation" => "Mutation",
                _ => "Subscription",
            };
            format!("{root}.{}", f.name)
        })
        .collect()
}

/// What is in `actual` but not in `listed`, and the other way round.
fn differences(actual: &BTreeSet<String>, listed: &BTreeSet<String>) -> Vec<String> {
    let missing = actual
        .difference(listed)
        .map(|r| format!("{r} has no expectation in the auth matrix"));
    let stale = listed
        .difference(actual)
        .map(|r| format!("{r} is in the auth matrix but no longer exists"));
    missing.chain(stale).collect()
}

#[test]
fn every_route_and_graphql_field_has_an_expectation_for_every_caller() {
    let listed_routes: BTreeSet<String> = rest_routes(&Value::Null)
        .iter()
        .map(|r| format!("{} {}", r.method, r.route))
        .collect();
    let listed_fields: BTreeSet<String> = GRAPHQL_FIELDS
        .iter()
        .map(|f| format!("{}.{}", f.root, f.name))
        .collect();

    let mut problems = differences(&documented_routes(), &listed_routes);
    problems.extend(differences(&schema_fields(), &listed_fields));

    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The shared state of the matrix: an order of Alice's that the calls
/// may read but not change, and the item new orders are made of.
struct Fixture {
    item: Value,
    order: String,
}

impl Fixture {
    async fn new(stack: &TestStack) -> Self {
        Self {
            item: stack.available_item().await,
            order: fresh_order(stack).await,
        }
    }

    fn item_id(&self) -> &str {
        self.item["id"].as_str().unwrap()
    }

    /// The order a call uses, full or short: a fresh one when the call
    /// changes it and is expected to succeed.
    async fn order_for(&self, stack: &TestStack, fresh: bool, short: bool) -> String {
        let id = if fresh {
            fresh_order(stack).await
        } else {
            self.order.clone()
        };
        if short {
            id[id.len() - 8..].to_owned()
        } else {
            id
        }
    }
}

async fn fresh_order(stack: &TestStack) -> String {
    let order = stack.create_order(Who::Alice).await;
    let id = order["id"].as_str().unwrap().to_owned();
    stack.wait_for_delivery(&id).await;
    id
}

/// The error code a refusal with `status` carries.
fn rest_code(status: u16) -> &'static str {
    match status {
        401 => "unauthenticated",
        403 => "permission_denied",
        404 => "not_found",
        409 => "invalid_transition",
        422 => "invalid_argument",
        _ => "",
    }
}

#[tokio::test]
async fn every_rest_route_enforces_its_access_rule_for_every_caller() {
    // Arrange
    let stack = spawn_stack().await;
    let fixture = Fixture::new(&stack).await;

    // Act + Assert
    let mut failures = Vec::new();
    for r in rest_routes(&fixture.item) {
        let forms: &[bool] = if r.path.contains("{order}") {
            &[false, true]
        } else {
            &[false]
        };
        for &short in forms {
            for (who, expected) in Who::ALL.into_iter().zip(r.expect) {
                let order = fixture
                    .order_for(&stack, r.fresh_order && expected < 400, short)
                    .await;
                let path = r
                    .path
                    .replace("{order}", &order)
                    .replace("{item}", fixture.item_id());
                let cell = format!("{} {path} as {who:?}", r.method);
                if let Err(failure) = call_rest(&stack, &r, &path, who, expected).await {
                    failures.push(format!("{cell}: {failure}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Calls `path` as `who` and checks the status, the error code of a
/// refusal, and that a delivery stream that answers streams that order.
async fn call_rest(
    stack: &TestStack,
    r: &Route,
    path: &str,
    who: Who,
    expected: u16,
) -> Result<(), String> {
    let mut req = stack.request(r.method.clone(), path, who);
    if let Some(body) = &r.body {
        req = req.json(body);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    if status != expected {
        let body = res.text().await.unwrap_or_default();
        return Err(format!("{status}, expected {expected}: {body}"));
    }
    if status >= 400 {
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if body["error"]["code"] != rest_code(status) {
            return Err(format!("body {body}"));
        }
    } else if r.route == "/delivery/status/{orderId}/stream" {
        let first = SseReader::new(res).next(Duration::from_secs(10)).await;
        let order = first.map(|e| e.json()["order_id"].as_str().unwrap_or("").to_owned());
        if !order
            .as_deref()
            .is_some_and(|id| id.len() >= 8 && path.contains(&id[id.len() - 8..]))
        {
            return Err(format!(
                "the stream did not start with the order: {order:?}"
            ));
        }
    }
    Ok(())
}

#[tokio::test]
async fn every_graphql_field_enforces_its_access_rule_for_every_caller() {
    // Arrange
    let stack = spawn_stack().await;
    let fixture = Fixture::new(&stack).await;

    // Act + Assert
    let mut failures = Vec::new();
    for f in GRAPHQL_FIELDS {
        let forms: &[bool] = if f.document.contains("$order") {
            &[false, true]
        } else {
            &[false]
        };
        for &short in forms {
            for (who, expected) in Who::ALL.into_iter().zip(f.expect) {
                let order = fixture
                    .order_for(&stack, f.fresh_order && expected == Data, short)
                    .await;
                let variables = json!({
                    "order": order,
                    "item": fixture.item_id(),
                    "restaurant": AUTO_KITCHEN,
                });
                let got = if f.root == "Subscription" {
                    subscribe(&stack, f, who, variables).await
                } else {
                    query(&stack, f, who, variables).await
                };
                if got != expected {
                    failures.push(format!(
                        "{}.{} on {order} as {who:?}: {got:?}, expected {expected:?}",
                        f.root, f.name
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The outcome of a query or mutation over POST.
async fn query(stack: &TestStack, f: &Field, who: Who, variables: Value) -> Gql {
    let res = stack
        .request(Method::POST, "/graphql", who)
        .json(&json!({ "query": f.document, "variables": variables }))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    match status {
        StatusCode::UNAUTHORIZED if body["error"]["code"] == "unauthenticated" => Refused,
        StatusCode::OK => outcome(&body, f.name),
        _ => panic!("{}: HTTP {status} {body}", f.name),
    }
}

/// What a `next` payload or an answer over POST says about `field`.
fn outcome(payload: &Value, field: &str) -> Gql {
    if payload["errors"].is_array() {
        let code = graphql_code(payload);
        // The codes of the table, as `'static` strings for the comparison.
        return [
            "unauthenticated",
            "permission_denied",
            "not_found",
            "invalid_transition",
            "invalid_argument",
        ]
        .into_iter()
        .find(|c| *c == code)
        .map_or_else(|| panic!("{field}: unexpected error {payload}"), Code);
    }
    if payload["data"][field].is_null() {
        Null
    } else {
        Data
    }
}

/// The outcome of a subscription over WebSocket: its first message, the
/// socket closed after `connection_init`, or (for `orderStatusChanged`,
/// which has no initial state) the first change after a new order.
async fn subscribe(stack: &TestStack, f: &Field, who: Who, variables: Value) -> Gql {
    use futures::SinkExt;
    let mut ws = stack.graphql_socket(who).await;
    match next_frame(&mut ws, Duration::from_secs(10)).await {
        Some(msg) if msg["type"] == "connection_ack" => {}
        None => return Refused,
        Some(msg) => panic!("{}: {msg} instead of connection_ack", f.name),
    }
    let subscribe = json!({
        "id": "1",
        "type": "subscribe",
        "payload": {"query": f.document, "variables": variables},
    });
    ws.send(Message::Text(subscribe.to_string().into()))
        .await
        .unwrap();
    let mut msg = next_frame(&mut ws, Duration::from_secs(2)).await;
    if msg.is_none() && f.name == "orderStatusChanged" {
        stack.create_order(Who::Alice).await;
        msg = next_frame(&mut ws, Duration::from_secs(10)).await;
    }
    match msg {
        Some(m) if m["type"] == "next" => outcome(&m["payload"], f.name),
        Some(m) if m["type"] == "error" => outcome(&json!({"errors": m["payload"]}), f.name),
        other => panic!("{}: {other:?}", f.name),
    }
}

/// The next protocol message other than ping and pong, or `None` when the
/// socket closes or `patience` runs out.
async fn next_frame(ws: &mut GraphqlSocket, patience: Duration) -> Option<Value> {
    use futures::StreamExt;
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                let v: Value = serde_json::from_str(text.as_str()).unwrap();
                if v["type"] != "ping" && v["type"] != "pong" {
                    return Some(v);
                }
            }
            Ok(Some(Ok(Message::Close(_)) | Err(_)) | None) | Err(_) => return None,
            Ok(Some(Ok(_))) => {}
        }
    }
}

#[tokio::test]
async fn a_bad_key_is_refused_even_on_open_routes() {
    let stack = spawn_stack().await;

    for auth in ["Bearer nope", "Basic b3BzLWtleQ==", "Bearer"] {
        let res = stack
            .client
            .get(stack.url("/menu/items"))
            .header("Authorization", auth)
            .send()
            .await
            .unwrap();
        crate::helpers::assert_error(res, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    }
}

#[tokio::test]
async fn ops_must_name_the_customer_they_order_for() {
    let stack = spawn_stack().await;
    let item = stack.available_item().await;

    let res = stack
        .request(Method::POST, "/orders", Who::Ops)
        .json(&json!({"items": [{"item_id": item["id"], "quantity": 1}], "delivery_address": "x"}))
        .send()
        .await
        .unwrap();

    // The body is well formed; what it lacks depends on the key: a 422.
    let body =
        crate::helpers::assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_argument")
            .await;
    assert_eq!(body["error"]["details"]["field"], "customer_id");
}
