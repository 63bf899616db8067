//! The access rules of docs/design.md ("Gateway API"), route by route, for an
//! anonymous caller, two customers, a courier, ops and two kitchens (the
//! order's restaurant and another).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestStack, Who, spawn_stack};

struct Case {
    method: Method,
    /// `{order}` is replaced by an order of Alice's, `{item}` by a menu item.
    path: &'static str,
    body: Option<Value>,
    /// Expected status for each of [`Who::ALL`]: anonymous, Alice, Bob,
    /// courier, ops, the order's kitchen, another kitchen.
    expect: [u16; 7],
    /// The call changes the order: each caller gets a fresh one.
    fresh_order: bool,
}

fn case(method: Method, path: &'static str, expect: [u16; 7]) -> Case {
    Case {
        method,
        path,
        body: None,
        expect,
        fresh_order: false,
    }
}

async fn fresh_order(stack: &TestStack) -> String {
    let order = stack.create_order(Who::Alice).await;
    let id = order["id"].as_str().unwrap().to_owned();
    stack.wait_for_delivery(&id).await;
    id
}

#[tokio::test]
async fn every_route_enforces_its_access_rule_for_every_kind_of_caller() {
    // Arrange
    let stack = spawn_stack().await;
    let item = stack.available_item().await;
    let item_id = item["id"].as_str().unwrap().to_owned();
    let shared_order = fresh_order(&stack).await;
    let import = json!({"items": [item.clone()]});
    let order_for_alice = json!({
        "items": [{"item_id": item_id, "quantity": 1}],
        "delivery_address": "1 Main St",
        "customer_id": "alice",
    });
    // Columns: anonymous, Alice, Bob, courier-1, ops, the order's kitchen,
    // another kitchen.
    let cases = vec![
        case(Method::GET, "/restaurants", [200; 7]),
        case(Method::GET, "/restaurants/trattoria-da-luca", [200; 7]),
        case(Method::GET, "/restaurants/trattoria-da-luca/menu", [200; 7]),
        // `open: true` leaves the seed's restaurant as it is; another
        // kitchen's key is told it does not exist.
        Case {
            body: Some(json!({"open": true})),
            ..case(
                Method::PATCH,
                "/restaurants/trattoria-da-luca",
                [401, 403, 403, 403, 200, 200, 404],
            )
        },
        case(Method::GET, "/menu/items", [200; 7]),
        case(Method::GET, "/menu/items/{item}", [200; 7]),
        Case {
            body: Some(import),
            ..case(
                Method::POST,
                "/menu/items",
                [401, 403, 403, 403, 200, 403, 403],
            )
        },
        // Bob may not order for Alice; ops may.
        Case {
            body: Some(order_for_alice),
            ..case(Method::POST, "/orders", [401, 201, 403, 403, 201, 403, 403])
        },
        case(
            Method::GET,
            "/orders/{order}",
            [401, 200, 404, 403, 200, 200, 404],
        ),
        case(Method::GET, "/orders", [401, 200, 200, 403, 200, 200, 200]),
        Case {
            fresh_order: true,
            ..case(
                Method::POST,
                "/orders/{order}/cancel",
                [401, 200, 404, 403, 200, 403, 403],
            )
        },
        // The order was accepted at once: accepting again sets a new ready-by.
        Case {
            body: Some(json!({"prep_minutes": 12})),
            fresh_order: true,
            ..case(
                Method::POST,
                "/orders/{order}/accept",
                [401, 403, 403, 403, 200, 200, 404],
            )
        },
        Case {
            fresh_order: true,
            ..case(
                Method::POST,
                "/orders/{order}/ready",
                [401, 403, 403, 403, 200, 200, 404],
            )
        },
        // Too late to reject an accepted order: the kitchens that may are
        // refused the transition.
        Case {
            body: Some(json!({"reason": "no more naan"})),
            ..case(
                Method::POST,
                "/orders/{order}/reject",
                [401, 403, 403, 403, 409, 409, 404],
            )
        },
        case(
            Method::GET,
            "/delivery/status/{order}",
            [401, 200, 404, 200, 200, 200, 404],
        ),
        Case {
            body: Some(json!({"status": "ASSIGNED", "courier": "courier-1"})),
            fresh_order: true,
            ..case(
                Method::PUT,
                "/delivery/status/{order}",
                [401, 403, 403, 200, 200, 403, 403],
            )
        },
        case(
            Method::GET,
            "/deliveries",
            [401, 200, 200, 200, 200, 200, 200],
        ),
        case(
            Method::GET,
            "/delivery/status/{order}/stream",
            [401, 200, 404, 200, 200, 200, 404],
        ),
        case(
            Method::GET,
            "/events/deliveries",
            [401, 403, 403, 200, 200, 200, 200],
        ),
        case(
            Method::GET,
            "/couriers",
            [401, 403, 403, 403, 200, 403, 403],
        ),
        Case {
            body: Some(json!({"on_shift": false})),
            ..case(
                Method::PUT,
                "/couriers/courier-1/shift",
                [401, 403, 403, 200, 200, 403, 403],
            )
        },
        Case {
            body: Some(json!({"on_shift": false})),
            ..case(
                Method::PUT,
                "/couriers/courier-2/shift",
                [401, 403, 403, 403, 200, 403, 403],
            )
        },
        Case {
            body: Some(json!({"name": "Zoé Petit"})),
            ..case(
                Method::PUT,
                "/couriers/courier-9",
                [401, 403, 403, 403, 200, 403, 403],
            )
        },
        case(Method::GET, "/healthz", [200; 7]),
        case(Method::GET, "/readyz", [200; 7]),
        case(Method::GET, "/metrics", [200; 7]),
        case(Method::GET, "/openapi.json", [200; 7]),
    ];

    // Act + Assert
    let mut failures = Vec::new();
    for c in &cases {
        for (who, expected) in Who::ALL.into_iter().zip(c.expect) {
            let order = if c.fresh_order && expected < 400 {
                fresh_order(&stack).await
            } else {
                shared_order.clone()
            };
            let path = c
                .path
                .replace("{order}", &order)
                .replace("{item}", &item_id);
            let mut req = stack.request(c.method.clone(), &path, who);
            if let Some(body) = &c.body {
                req = req.json(body);
            }
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            if status != expected {
                failures.push(format!(
                    "{} {path} as {who:?}: {status}, expected {expected}",
                    c.method
                ));
                continue;
            }
            if status >= 400 {
                let body: Value = res.json().await.unwrap();
                let code = match status {
                    401 => "unauthenticated",
                    403 => "permission_denied",
                    404 => "not_found",
                    409 => "invalid_transition",
                    _ => "",
                };
                if body["error"]["code"] != code {
                    failures.push(format!("{} {path} as {who:?}: body {body}", c.method));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
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
