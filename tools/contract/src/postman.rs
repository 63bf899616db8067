//! The API collection (docs/api/food-delivery.postman_collection.json): a
//! Postman v2.1 collection generated from the OpenAPI document and the
//! GraphQL schema, so that it cannot drift from the gateway.
//!
//! What the documents say (each route's method, path, summary, success
//! status and the required fields of its body; each root field of Query
//! and Mutation) is read from them; what they cannot say (which key a step
//! uses, which body it sends, which id it keeps for the next step) is the
//! scenario table below, keyed by operation id and root field. Run in order
//! against a fresh `food-stack` the requests tell one story: read the menu,
//! place an order, follow it through the kitchen and the courier to its
//! door. An operation the table does not know yet is still listed, with
//! the ops key and the checks the document allows, so that a new route
//! shows up in the collection (and fails in newman until it is given a
//! scenario, rather than silently missing).

use std::collections::BTreeSet;

use async_graphql_parser::types::{
    DocumentOperations, OperationType, Selection, TypeKind, TypeSystemDefinition,
};
use serde_json::{Value, json};

/// The collection as a JSON document, pretty-printed.
pub fn collection() -> String {
    let mut text =
        serde_json::to_string_pretty(&collection_value()).expect("the collection serialises");
    text.push('\n');
    text
}

/// The collection built from the gateway's OpenAPI document and SDL.
pub fn collection_value() -> Value {
    let doc = serde_json::to_value(food_gateway::openapi::document_value())
        .expect("the OpenAPI document serialises");
    build(&doc, &food_gateway::graphql::sdl())
}

/// Postman's schema URL for v2.1 collections.
pub const SCHEMA: &str = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json";

/// The collection's name, as in the seed's description of the project.
pub const NAME: &str = "Food Delivery API";

/// The folder of HTTP routes.
pub const REST_FOLDER: &str = "REST Endpoints";

/// The folder of GraphQL operations.
pub const GRAPHQL_FOLDER: &str = "GraphQL";

/// The seed collection's six routes, first in the REST folder, in its order.
pub const SEED_ROUTES: [(&str, &str); 6] = [
    ("GET", "/menu/items"),
    ("GET", "/menu/items/{id}"),
    ("POST", "/orders"),
    ("GET", "/orders/{orderId}"),
    ("GET", "/delivery/status/{orderId}"),
    ("PUT", "/delivery/status/{orderId}"),
];

/// The seed collection's three GraphQL requests, first in their folder.
pub const SEED_GRAPHQL: [&str; 3] = ["Get Menu Items", "Create Order", "Get Delivery Status"];

/// Builds the collection from an OpenAPI document (as JSON) and an SDL.
pub fn build(doc: &Value, sdl: &str) -> Value {
    json!({
        "info": {
            "_postman_id": "5f0c1d2e-7a3b-4c8d-9e1f-0a2b3c4d5e6f",
            "name": NAME,
            "description": DESCRIPTION,
            "schema": SCHEMA,
        },
        "auth": { "type": "noauth" },
        "variable": variables(),
        "item": [
            {
                "name": REST_FOLDER,
                "description": "Every route of the OpenAPI document (`docs/api/openapi.json`): the seed collection's six first, then the others. Run in order they place an order as the customer and follow it through the kitchen (`restaurantKey`) and the courier (`courierKey`) to its door.",
                "item": rest_items(doc),
            },
            {
                "name": GRAPHQL_FOLDER,
                "description": graphql_description(sdl),
                "item": graphql_items(sdl),
            },
        ],
    })
}

const DESCRIPTION: &str = "The food platform's public API: the REST routes of \
`/openapi.json` and the GraphQL operations of `/graphql`, generated from both \
by `cargo run -p food-contract -- export` (do not edit by hand).\n\n\
Set the collection variables first: `baseUrl` (a local `food-stack` listens on \
http://127.0.0.1:8080) and the keys `opsKey`, `customerKey`, `courierKey` and \
`restaurantKey` (a local stack writes them to `data/local-keys.json`: `ops`, \
`customers.cust-ada`, `courier` and `restaurants.maison-tandoor`). \
`restaurantId` must be the kitchen whose key `restaurantKey` is, one that \
accepts orders by hand. The other variables are filled in by the requests' \
scripts as they run.\n\n\
With newman: `newman run food-delivery.postman_collection.json --env-var \
baseUrl=http://127.0.0.1:8080 --env-var opsKey=... --env-var customerKey=... \
--env-var courierKey=... --env-var restaurantKey=...`.";

/// The collection variables: where the gateway is, the four keys (empty:
/// they are secrets, given with `--env-var` or typed into Postman), and the
/// values the scripts carry from one request to the next.
fn variables() -> Value {
    let vars: [(&str, &str, &str); 17] = [
        ("baseUrl", "http://127.0.0.1:8080", "the gateway"),
        ("opsKey", "", "an ops key (`ops` in data/local-keys.json)"),
        ("customerKey", "", "a customer's key (`customers.cust-ada`)"),
        ("courierKey", "", "a courier's key (`courier`: courier-1's)"),
        (
            "restaurantKey",
            "",
            "the key of restaurantId's kitchen (`restaurants.maison-tandoor`)",
        ),
        (
            "restaurantId",
            "maison-tandoor",
            "a kitchen that accepts orders by hand, whose key restaurantKey is",
        ),
        (
            "courierId",
            "courier-1",
            "courierKey's courier (set when it claims the delivery)",
        ),
        ("courierName", "", "its name (set with courierId)"),
        (
            "itemId",
            "",
            "a menu item of restaurantId (set by Get Menu Items)",
        ),
        ("item", "", "that item as JSON (re-imported unchanged)"),
        ("orderId", "", "the order placed by POST /orders"),
        (
            "deliveryVersion",
            "",
            "its delivery's version, for If-Match",
        ),
        ("eta", "", "an arrival time the courier gives"),
        (
            "spareOrderId",
            "",
            "an order placed to be rejected or cancelled",
        ),
        (
            "gqlOrderId",
            "",
            "the order placed by the Create Order mutation",
        ),
        (
            "gqlNextStatus",
            "",
            "the next status of that order's delivery",
        ),
        ("gqlCourier", "", "the courier that delivery is assigned to"),
    ];
    vars.iter()
        .map(|(key, value, description)| {
            json!({ "key": key, "value": value, "type": "string", "description": description })
        })
        .collect()
}

// ---------------------------------------------------------------------------
// REST

/// One request of the REST story: an operation of the document and what
/// the document cannot say about it.
struct Step {
    /// The operation id (the handler's name).
    op: &'static str,
    /// The request's name when the operation is used more than once (the
    /// operation's summary otherwise).
    name: Option<&'static str>,
    /// The variable holding the bearer key; `None` sends no key.
    key: Option<&'static str>,
    /// Path parameters and their values.
    path: &'static [(&'static str, &'static str)],
    /// Query parameters.
    query: &'static [(&'static str, &'static str)],
    /// Extra headers.
    headers: &'static [(&'static str, &'static str)],
    /// The raw JSON body.
    body: Option<&'static str>,
    /// Asks with HEAD: for the Server-Sent Events routes, whose streams
    /// never end, so newman (which waits for the whole body) could not
    /// finish a GET. HEAD answers the same status and headers.
    head: bool,
    /// The pre-request script.
    pre: &'static str,
    /// Checks and variables beyond the status and the required fields the
    /// document gives.
    test: &'static str,
}

const STEP: Step = Step {
    op: "",
    name: None,
    key: None,
    path: &[],
    query: &[],
    headers: &[],
    body: None,
    head: false,
    pre: "",
    test: "",
};

/// Polls until a condition holds, a bounded number of times: what another
/// service does after an answer (the delivery service creating a delivery
/// when it consumes the order's event) takes a moment. The steps ask at
/// most 80 times 250 ms apart: a fresh stack takes milliseconds, a loaded
/// CI machine some seconds, and 20 s still ends a run whose delivery never
/// comes (the request then fails on what it finds).
const POLL: &str = r#"// Asks again until `done(response)` holds, at most `tries` times `ms` apart;
// if it never holds, the request itself then shows what is wrong.
function poll(request, done, tries, ms) {
    pm.sendRequest(request, function (err, res) {
        let ok = false;
        try { ok = !err && done(res); } catch (e) { ok = false; }
        if (ok || tries <= 1) { return; }
        setTimeout(function () { poll(request, done, tries - 1, ms); }, ms);
    });
}
function get(path, key) {
    return { url: pm.variables.replaceIn("{{baseUrl}}" + path), method: "GET",
             header: { Authorization: "Bearer " + pm.variables.get(key) } };
}"#;

/// Places a spare order as the customer and keeps its id in `spareOrderId`.
const SPARE_ORDER: &str = r#"// Places an order of its own (a PLACED one) to act on.
pm.sendRequest({
    url: pm.variables.replaceIn("{{baseUrl}}/orders"),
    method: "POST",
    header: { "Content-Type": "application/json",
              Authorization: "Bearer " + pm.variables.get("customerKey") },
    body: { mode: "raw", raw: JSON.stringify({
        items: [{ item_id: pm.variables.get("itemId"), quantity: 1 }],
        delivery_address: "4 Rue Mercière, 69002 Lyon" }) }
}, function (err, res) {
    if (err || res.code !== 201) { throw new Error("placing a spare order: " + (err || res.text())); }
    pm.collectionVariables.set("spareOrderId", res.json().id);
});"#;

/// The REST story, in the order the requests run.
fn rest_story() -> Vec<Step> {
    vec![
        Step {
            op: "list_items",
            query: &[("restaurant", "{{restaurantId}}"), ("available", "true")],
            test: r#"const body = pm.response.json();
pm.test("lists restaurantId's available items", function () {
    pm.expect(body.items).to.be.an("array").that.is.not.empty;
    body.items.forEach(function (item) {
        pm.expect(item.restaurant_id).to.eql(pm.variables.get("restaurantId"));
        pm.expect(item.available).to.eql(true);
    });
});
pm.collectionVariables.set("itemId", body.items[0].id);
pm.collectionVariables.set("item", JSON.stringify(body.items[0]));"#,
            ..STEP
        },
        Step {
            op: "get_item",
            path: &[("id", "{{itemId}}")],
            test: r#"const body = pm.response.json();
pm.test("is the item asked for", function () {
    pm.expect(body.id).to.eql(pm.variables.get("itemId"));
    pm.expect(body.price_cents).to.be.a("number").above(0);
});"#,
            ..STEP
        },
        Step {
            op: "create_order",
            key: Some("customerKey"),
            headers: &[("Idempotency-Key", "{{$guid}}")],
            body: Some(
                r#"{
    "items": [{ "item_id": "{{itemId}}", "quantity": 2 }],
    "delivery_address": "12 Rue de la République, 69002 Lyon",
    "note": "ring twice"
}"#,
            ),
            test: r#"const body = pm.response.json();
pm.test("the order is PLACED with the item asked for", function () {
    pm.expect(body.status).to.eql("PLACED");
    pm.expect(body.restaurant_id).to.eql(pm.variables.get("restaurantId"));
    pm.expect(body.items).to.have.lengthOf(1);
    const line = body.items[0];
    pm.expect(line.item_id).to.eql(pm.variables.get("itemId"));
    pm.expect(line.quantity).to.eql(2);
    pm.expect(line.line_total_cents).to.eql(2 * line.unit_price_cents);
    pm.expect(body.total_cents).to.eql(line.line_total_cents);
    pm.expect(body.note).to.eql("ring twice");
});
pm.collectionVariables.set("orderId", body.id);"#,
            ..STEP
        },
        Step {
            op: "get_order",
            key: Some("customerKey"),
            path: &[("orderId", "{{orderId}}")],
            test: r#"const body = pm.response.json();
pm.test("is the order placed, still PLACED", function () {
    pm.expect(body.id).to.eql(pm.variables.get("orderId"));
    pm.expect(body.status).to.eql("PLACED");
    pm.expect(body.delivery_address).to.eql("12 Rue de la République, 69002 Lyon");
});"#,
            ..STEP
        },
        Step {
            op: "get_status",
            key: Some("customerKey"),
            path: &[("orderId", "{{orderId}}")],
            pre: r#"// The delivery appears once the delivery service has consumed the order's event.
poll(get("/delivery/status/{{orderId}}", "customerKey"),
     function (res) { return res.code === 200; }, 80, 250);"#,
            test: r#"const body = pm.response.json();
pm.test("is the order's delivery, PENDING", function () {
    pm.expect(body.order_id).to.eql(pm.variables.get("orderId"));
    pm.expect(body.status).to.eql("PENDING");
    pm.expect(body.courier).to.eql(null);
    pm.expect(body.history[0].status).to.eql("PENDING");
    pm.expect(pm.response.headers.get("ETag")).to.include(String(body.version));
});
pm.collectionVariables.set("deliveryVersion", body.version);"#,
            ..STEP
        },
        Step {
            op: "update_status",
            key: Some("courierKey"),
            path: &[("orderId", "{{orderId}}")],
            headers: &[("If-Match", "{{deliveryVersion}}")],
            body: Some(r#"{ "status": "ASSIGNED", "note": "on my way to the kitchen" }"#),
            test: r#"const body = pm.response.json();
pm.test("the courier has claimed the delivery", function () {
    pm.expect(body.order_id).to.eql(pm.variables.get("orderId"));
    pm.expect(body.status).to.eql("ASSIGNED");
    pm.expect(body.courier).to.be.a("string").that.is.not.empty;
    pm.expect(body.version).to.be.above(Number(pm.variables.get("deliveryVersion")));
    pm.expect(body.history.map(function (h) { return h.status; })).to.eql(["PENDING", "ASSIGNED"]);
});
pm.collectionVariables.set("courierId", body.courier);
pm.collectionVariables.set("courierName", body.courier_name);
pm.collectionVariables.set("deliveryVersion", body.version);"#,
            ..STEP
        },
        Step {
            op: "list_restaurants",
            test: r#"const body = pm.response.json();
pm.test("lists restaurantId", function () {
    pm.expect(body.restaurants).to.be.an("array");
    pm.expect(body.restaurants.map(function (r) { return r.id; })).to.include(pm.variables.get("restaurantId"));
    pm.expect(body).to.have.property("next_cursor");
});"#,
            ..STEP
        },
        Step {
            op: "get_restaurant",
            path: &[("id", "{{restaurantId}}")],
            test: r#"const body = pm.response.json();
pm.test("is restaurantId, a kitchen that accepts by hand", function () {
    pm.expect(body.id).to.eql(pm.variables.get("restaurantId"));
    pm.expect(body.auto_accept).to.eql(false);
});"#,
            ..STEP
        },
        Step {
            op: "restaurant_menu",
            path: &[("id", "{{restaurantId}}")],
            test: r#"const body = pm.response.json();
pm.test("lists that restaurant's items, the kept one among them", function () {
    pm.expect(body.items).to.be.an("array").that.is.not.empty;
    body.items.forEach(function (item) { pm.expect(item.restaurant_id).to.eql(pm.variables.get("restaurantId")); });
    pm.expect(body.items.map(function (i) { return i.id; })).to.include(pm.variables.get("itemId"));
});"#,
            ..STEP
        },
        Step {
            op: "update_restaurant",
            key: Some("restaurantKey"),
            path: &[("id", "{{restaurantId}}")],
            body: Some(r#"{ "open": true }"#),
            test: r#"const body = pm.response.json();
pm.test("the kitchen is open", function () {
    pm.expect(body.id).to.eql(pm.variables.get("restaurantId"));
    pm.expect(body.open).to.eql(true);
});"#,
            ..STEP
        },
        Step {
            op: "import_items",
            key: Some("opsKey"),
            pre: r#"// Re-imports the item read by Get Menu Items unchanged, so that running the
// collection leaves the menu as it was. To import your own, edit the body and
// delete this script.
if (pm.variables.get("item")) {
    pm.request.body.update(JSON.stringify({ items: [JSON.parse(pm.variables.get("item"))] }, null, 4));
}"#,
            test: r#"const body = pm.response.json();
pm.test("the item read above was updated in place, nothing created", function () {
    pm.expect(body).to.eql({ created: 0, updated: 1 });
});"#,
            ..STEP
        },
        Step {
            op: "list_orders",
            key: Some("customerKey"),
            test: r#"const body = pm.response.json();
pm.test("the customer's orders include the one placed, and only theirs", function () {
    pm.expect(body.orders).to.be.an("array");
    pm.expect(body.orders.map(function (o) { return o.id; })).to.include(pm.variables.get("orderId"));
    const customers = new Set(body.orders.map(function (o) { return o.customer_id; }));
    pm.expect(customers.size).to.eql(1);
});"#,
            ..STEP
        },
        Step {
            op: "accept_order",
            key: Some("restaurantKey"),
            path: &[("orderId", "{{orderId}}")],
            body: Some(r#"{ "prep_minutes": 15 }"#),
            test: r#"const body = pm.response.json();
pm.test("the kitchen is PREPARING it, ready in 15 minutes", function () {
    pm.expect(body.id).to.eql(pm.variables.get("orderId"));
    pm.expect(body.status).to.eql("PREPARING");
    const minutes = (Date.parse(body.ready_by) - Date.parse(body.updated_at)) / 60000;
    pm.expect(minutes).to.be.within(14, 16);
});"#,
            ..STEP
        },
        Step {
            op: "mark_ready",
            key: Some("restaurantKey"),
            path: &[("orderId", "{{orderId}}")],
            body: Some("{}"),
            test: r#"const body = pm.response.json();
pm.test("the order is READY_FOR_PICKUP", function () {
    pm.expect(body.id).to.eql(pm.variables.get("orderId"));
    pm.expect(body.status).to.eql("READY_FOR_PICKUP");
});"#,
            ..STEP
        },
        Step {
            op: "list_couriers",
            key: Some("opsKey"),
            test: r#"const body = pm.response.json();
pm.test("lists the courier that claimed the delivery, busy with it", function () {
    const courier = body.couriers.find(function (c) { return c.id === pm.variables.get("courierId"); });
    pm.expect(courier, pm.variables.get("courierId")).to.be.an("object");
    pm.expect(courier.active_deliveries).to.be.at.least(1);
});"#,
            ..STEP
        },
        Step {
            op: "set_shift",
            key: Some("courierKey"),
            path: &[("id", "{{courierId}}")],
            body: Some(r#"{ "on_shift": true }"#),
            test: r#"const body = pm.response.json();
pm.test("the courier is on shift", function () {
    pm.expect(body.id).to.eql(pm.variables.get("courierId"));
    pm.expect(body.on_shift).to.eql(true);
});"#,
            ..STEP
        },
        Step {
            op: "put_courier",
            key: Some("opsKey"),
            path: &[("id", "{{courierId}}")],
            body: Some(r#"{ "name": "{{courierName}}" }"#),
            test: r#"const body = pm.response.json();
pm.test("the courier keeps its name (renamed to the same)", function () {
    pm.expect(body.id).to.eql(pm.variables.get("courierId"));
    pm.expect(body.name).to.eql(pm.variables.get("courierName"));
});"#,
            ..STEP
        },
        Step {
            op: "list_deliveries",
            key: Some("courierKey"),
            test: r#"const body = pm.response.json();
pm.test("the courier's deliveries include the one it claimed", function () {
    const mine = body.deliveries.find(function (d) { return d.order_id === pm.variables.get("orderId"); });
    pm.expect(mine).to.be.an("object");
    pm.expect(mine.courier).to.eql(pm.variables.get("courierId"));
});"#,
            ..STEP
        },
        Step {
            op: "update_status",
            name: Some("Pick up the order"),
            key: Some("courierKey"),
            path: &[("orderId", "{{orderId}}")],
            body: Some(r#"{ "status": "PICKED_UP" }"#),
            test: r#"const body = pm.response.json();
pm.test("the delivery is PICKED_UP", function () {
    pm.expect(body.status).to.eql("PICKED_UP");
    pm.expect(body.courier).to.eql(pm.variables.get("courierId"));
});"#,
            ..STEP
        },
        Step {
            op: "update_status",
            name: Some("Set off with an ETA"),
            key: Some("courierKey"),
            path: &[("orderId", "{{orderId}}")],
            body: Some(r#"{ "status": "IN_TRANSIT", "eta": "{{eta}}" }"#),
            pre: r#"pm.collectionVariables.set("eta", new Date(Date.now() + 20 * 60000).toISOString());"#,
            test: r#"const body = pm.response.json();
pm.test("the delivery is IN_TRANSIT with the ETA given", function () {
    pm.expect(body.status).to.eql("IN_TRANSIT");
    pm.expect(Date.parse(body.eta)).to.eql(Date.parse(pm.variables.get("eta")));
});"#,
            ..STEP
        },
        Step {
            op: "update_status",
            name: Some("Deliver the order"),
            key: Some("courierKey"),
            path: &[("orderId", "{{orderId}}")],
            body: Some(r#"{ "status": "DELIVERED", "note": "handed to the customer" }"#),
            test: r#"const body = pm.response.json();
pm.test("the delivery is DELIVERED, its whole history kept", function () {
    pm.expect(body.status).to.eql("DELIVERED");
    pm.expect(body.history.map(function (h) { return h.status; }))
        .to.eql(["PENDING", "ASSIGNED", "PICKED_UP", "IN_TRANSIT", "DELIVERED"]);
});"#,
            ..STEP
        },
        Step {
            op: "get_order",
            name: Some("Get the delivered order"),
            key: Some("customerKey"),
            path: &[("orderId", "{{orderId}}")],
            pre: r#"// The order follows its delivery once the order service has consumed the change.
poll(get("/orders/{{orderId}}", "customerKey"),
     function (res) { return res.code === 200 && res.json().status === "DELIVERED"; }, 80, 250);"#,
            test: r#"const body = pm.response.json();
pm.test("the order is DELIVERED", function () {
    pm.expect(body.id).to.eql(pm.variables.get("orderId"));
    pm.expect(body.status).to.eql("DELIVERED");
});"#,
            ..STEP
        },
        Step {
            op: "stream_status",
            key: Some("customerKey"),
            path: &[("orderId", "{{orderId}}")],
            head: true,
            ..STEP
        },
        Step {
            op: "stream_all",
            key: Some("opsKey"),
            head: true,
            ..STEP
        },
        Step {
            op: "reject_order",
            key: Some("restaurantKey"),
            path: &[("orderId", "{{spareOrderId}}")],
            body: Some(r#"{ "reason": "out of naan" }"#),
            pre: SPARE_ORDER,
            test: r#"const body = pm.response.json();
pm.test("the spare order is REJECTED with the reason given", function () {
    pm.expect(body.id).to.eql(pm.variables.get("spareOrderId"));
    pm.expect(body.status).to.eql("REJECTED");
    pm.expect(body.rejection_reason).to.eql("out of naan");
});"#,
            ..STEP
        },
        Step {
            op: "cancel_order",
            key: Some("customerKey"),
            path: &[("orderId", "{{spareOrderId}}")],
            query: &[("reason", "changed my mind")],
            pre: SPARE_ORDER,
            test: r#"const body = pm.response.json();
pm.test("the spare order is CANCELLED", function () {
    pm.expect(body.id).to.eql(pm.variables.get("spareOrderId"));
    pm.expect(body.status).to.eql("CANCELLED");
});"#,
            ..STEP
        },
        Step {
            op: "healthz",
            test: r#"pm.test("the gateway is up", function () {
    pm.expect(pm.response.json().status).to.eql("ok");
});"#,
            ..STEP
        },
        Step {
            op: "readyz",
            ..STEP
        },
        Step {
            op: "metrics",
            test: r#"pm.test("Prometheus text with the gateway's request counters", function () {
    pm.expect(pm.response.headers.get("Content-Type")).to.include("text/plain");
    pm.expect(pm.response.text()).to.match(/^# (HELP|TYPE) /m);
});"#,
            ..STEP
        },
        Step {
            op: "document",
            test: r#"const body = pm.response.json();
pm.test("is an OpenAPI 3 document of this API", function () {
    pm.expect(body.openapi).to.match(/^3\./);
    pm.expect(body.paths).to.have.property("/orders");
});"#,
            ..STEP
        },
    ]
}

/// What the OpenAPI document says about one operation.
struct Operation {
    id: String,
    method: String,
    path: String,
    summary: String,
    description: String,
    secured: bool,
    /// The first 2xx status.
    success: u16,
    /// The success body's media type.
    media: Option<String>,
    /// The success body's schema name and required properties.
    schema: Option<(String, Vec<String>)>,
    /// The request body's example, when the document has one.
    example: Option<Value>,
}

fn operations(doc: &Value) -> Vec<Operation> {
    let mut out = Vec::new();
    let Some(paths) = doc["paths"].as_object() else {
        return out;
    };
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, op) in item {
            if !matches!(
                method.as_str(),
                "get" | "put" | "post" | "delete" | "patch" | "head" | "options"
            ) {
                continue;
            }
            let responses = op["responses"].as_object();
            let (success, response) = responses
                .into_iter()
                .flatten()
                .filter_map(|(code, r)| Some((code.parse::<u16>().ok()?, r)))
                .filter(|(code, _)| (200..300).contains(code))
                .min_by_key(|(code, _)| *code)
                .unwrap_or((200, &Value::Null));
            let content = response["content"].as_object();
            let media = content.and_then(|c| c.keys().next().cloned());
            let schema = content
                .and_then(|c| c.get("application/json"))
                .and_then(|m| schema_summary(doc, &m["schema"]));
            let body = &op["requestBody"]["content"]["application/json"];
            let example = body
                .get("example")
                .cloned()
                .or_else(|| resolve(doc, &body["schema"]).get("example").cloned());
            let secured = op["security"].as_array().is_some_and(|reqs| {
                !reqs.is_empty()
                    && reqs
                        .iter()
                        .all(|r| r.as_object().is_some_and(|r| !r.is_empty()))
            });
            out.push(Operation {
                id: op["operationId"].as_str().unwrap_or_default().to_owned(),
                method: method.to_uppercase(),
                path: path.clone(),
                summary: op["summary"].as_str().unwrap_or_default().to_owned(),
                description: op["description"].as_str().unwrap_or_default().to_owned(),
                secured,
                success,
                media,
                schema,
                example,
            });
        }
    }
    out
}

/// Follows a local `$ref`.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => r
            .strip_prefix("#/")
            .map(|p| p.split('/').fold(doc, |v, k| &v[k]))
            .unwrap_or(schema),
        None => schema,
    }
}

/// A response schema's name (its component's, or its type) and required
/// properties.
fn schema_summary(doc: &Value, schema: &Value) -> Option<(String, Vec<String>)> {
    let name = match schema["$ref"].as_str() {
        Some(r) => r.rsplit('/').next().unwrap_or(r).to_owned(),
        None => schema["type"].as_str()?.to_owned(),
    };
    let resolved = resolve(doc, schema);
    let required = resolved["required"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|p| p.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Some((name, required))
}

fn rest_items(doc: &Value) -> Vec<Value> {
    let ops = operations(doc);
    let story = rest_story();
    let told: BTreeSet<&str> = story.iter().map(|s| s.op).collect();
    let mut items: Vec<Value> = story
        .iter()
        .filter_map(|step| {
            let op = ops.iter().find(|o| o.id == step.op)?;
            Some(rest_item(op, step))
        })
        .collect();
    // Operations the story does not tell yet: listed all the same, with the
    // ops key when they need one and the document's checks.
    for op in ops.iter().filter(|o| !told.contains(o.id.as_str())) {
        items.push(rest_item(
            op,
            &Step {
                key: op.secured.then_some("opsKey"),
                ..STEP
            },
        ));
    }
    items
}

fn rest_item(op: &Operation, step: &Step) -> Value {
    let method = if step.head {
        "HEAD"
    } else {
        op.method.as_str()
    };
    let segments: Vec<String> = op
        .path
        .trim_start_matches('/')
        .split('/')
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(param) => format!(":{param}"),
                None => s.to_owned(),
            },
        )
        .collect();
    let query: Vec<Value> = step
        .query
        .iter()
        .map(|(k, v)| json!({ "key": k, "value": v }))
        .collect();
    let mut raw = format!("{{{{baseUrl}}}}/{}", segments.join("/"));
    if !query.is_empty() {
        let q: Vec<String> = step.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        raw = format!("{raw}?{}", q.join("&"));
    }
    let path_vars: Vec<Value> = segments
        .iter()
        .filter_map(|s| s.strip_prefix(':'))
        .map(|param| {
            let value = step
                .path
                .iter()
                .find(|(k, _)| *k == param)
                .map(|(_, v)| (*v).to_owned())
                .unwrap_or_else(|| format!("{{{{{param}}}}}"));
            json!({ "key": param, "value": value })
        })
        .collect();
    let mut url = json!({
        "raw": raw,
        "host": ["{{baseUrl}}"],
        "path": segments,
    });
    if !query.is_empty() {
        url["query"] = Value::Array(query);
    }
    if !path_vars.is_empty() {
        url["variable"] = Value::Array(path_vars);
    }

    let mut headers: Vec<Value> = step
        .headers
        .iter()
        .map(|(k, v)| json!({ "key": k, "value": v }))
        .collect();
    // The step's body, or else the document's example.
    let body = step.body.map(str::to_owned).or_else(|| {
        op.example
            .as_ref()
            .filter(|_| !matches!(method, "GET" | "HEAD"))
            .map(|e| serde_json::to_string_pretty(e).expect("JSON serialises"))
    });
    let mut request = json!({
        "method": method,
        "header": [],
        "url": url,
        "auth": auth(step.key),
        "description": request_description(op, step),
    });
    if let Some(body) = body {
        headers.push(json!({ "key": "Content-Type", "value": "application/json" }));
        request["body"] = json!({
            "mode": "raw",
            "raw": body,
            "options": { "raw": { "language": "json" } },
        });
    }
    request["header"] = Value::Array(headers);

    let name = step
        .name
        .map(str::to_owned)
        .unwrap_or_else(|| match op.summary.as_str() {
            "" => format!("{} {}", op.method, op.path),
            s => s.trim_end_matches('.').to_owned(),
        });
    let mut events = Vec::new();
    if !step.pre.is_empty() {
        let pre = if step.pre.contains("poll(") {
            format!("{POLL}\n{}", step.pre)
        } else {
            step.pre.to_owned()
        };
        events.push(event("prerequest", &pre));
    }
    events.push(event("test", &rest_test(op, step)));
    json!({ "name": name, "event": events, "request": request })
}

fn request_description(op: &Operation, step: &Step) -> String {
    let mut text = format!("`{} {}` (operation `{}`)", op.method, op.path, op.id);
    if !op.description.is_empty() {
        text = format!("{text}: {}", op.description);
    } else if !op.summary.is_empty() {
        text = format!("{text}: {}", op.summary);
    }
    if step.head {
        text.push_str(
            "\n\nSent as HEAD, which answers the stream's status and headers: the stream \
             itself never ends, and newman waits for a whole body. In Postman, switch the \
             method to GET to watch the events arrive.",
        );
    }
    text
}

/// The checks a step makes: the document's success status and body type,
/// then the step's own.
fn rest_test(op: &Operation, step: &Step) -> String {
    let mut js = format!(
        "pm.test(\"answers {status}\", function () {{\n    pm.response.to.have.status({status});\n}});\n",
        status = op.success
    );
    match (&op.media, &op.schema) {
        (Some(media), _) if step.head || media != "application/json" => {
            js.push_str(&format!(
                "pm.test(\"answers {media}\", function () {{\n    pm.expect(pm.response.headers.get(\"Content-Type\")).to.include(\"{media}\");\n}});\n"
            ));
        }
        (_, Some((name, required))) if !required.is_empty() => {
            let fields = serde_json::to_string(required).expect("JSON serialises");
            js.push_str(&format!(
                "pm.test(\"the body is {article} {name} with its required fields\", function () {{\n    \
                 const body = pm.response.json();\n    \
                 pm.expect(body).to.be.an(\"object\");\n    \
                 {fields}.forEach(function (field) {{ pm.expect(body).to.have.property(field); }});\n}});\n",
                article = if name.starts_with(['A', 'E', 'I', 'O', 'U', 'a', 'e', 'i', 'o', 'u']) { "an" } else { "a" },
            ));
        }
        _ => {}
    }
    js.push_str(step.test);
    js
}

fn auth(key: Option<&str>) -> Value {
    match key {
        Some(key) => json!({
            "type": "bearer",
            "bearer": [{ "key": "token", "value": format!("{{{{{key}}}}}"), "type": "string" }],
        }),
        None => json!({ "type": "noauth" }),
    }
}

fn event(listen: &str, script: &str) -> Value {
    json!({
        "listen": listen,
        "script": {
            "type": "text/javascript",
            "exec": script.trim_end().lines().collect::<Vec<_>>(),
        },
    })
}

// ---------------------------------------------------------------------------
// GraphQL

/// One GraphQL request: a root field and what to send for it.
struct GqlStep {
    /// The root field of Query or Mutation this request exercises.
    field: &'static str,
    /// The request's name (the seed's three keep theirs).
    name: &'static str,
    key: Option<&'static str>,
    query: &'static str,
    /// The variables as JSON, with `{{...}}` collection variables.
    variables: &'static str,
    pre: &'static str,
    /// Checks beyond "200, no errors, the field answered".
    test: &'static str,
}

const GQL: GqlStep = GqlStep {
    field: "",
    name: "",
    key: None,
    query: "",
    variables: "{}",
    pre: "",
    test: "",
};

/// Places a spare order through GraphQL and keeps its id in `spareOrderId`.
const GQL_SPARE_ORDER: &str = r#"// Places an order of its own (a PLACED one) to act on.
pm.sendRequest({
    url: pm.variables.replaceIn("{{baseUrl}}/graphql"),
    method: "POST",
    header: { "Content-Type": "application/json",
              Authorization: "Bearer " + pm.variables.get("customerKey") },
    body: { mode: "raw", raw: JSON.stringify({
        query: "mutation ($input: CreateOrderInput!) { createOrder(input: $input) { id } }",
        variables: { input: { items: [{ itemId: pm.variables.get("itemId"), quantity: 1 }],
                              deliveryAddress: "4 Rue Mercière, 69002 Lyon" } } }) }
}, function (err, res) {
    const body = err ? null : res.json();
    if (!body || !body.data) { throw new Error("placing a spare order: " + (err || res.text())); }
    pm.collectionVariables.set("spareOrderId", body.data.createOrder.id);
});"#;

fn graphql_story() -> Vec<GqlStep> {
    vec![
        GqlStep {
            field: "menuItems",
            name: "Get Menu Items",
            query: "query GetMenuItems($restaurantId: ID) {
  menuItems(restaurantId: $restaurantId, available: true) {
    id
    restaurantId
    name
    priceCents
    currency
    available
  }
}",
            variables: r#"{ "restaurantId": "{{restaurantId}}" }"#,
            test: r#"const items = gql.menuItems;
pm.test("lists restaurantId's available items", function () {
    pm.expect(items).to.be.an("array").that.is.not.empty;
    items.forEach(function (item) {
        pm.expect(item.restaurantId).to.eql(pm.variables.get("restaurantId"));
        pm.expect(item.available).to.eql(true);
    });
});
pm.collectionVariables.set("itemId", items[0].id);"#,
            ..GQL
        },
        GqlStep {
            field: "createOrder",
            name: "Create Order",
            key: Some("customerKey"),
            query: "mutation CreateOrder($input: CreateOrderInput!) {
  createOrder(input: $input) {
    id
    status
    restaurantId
    totalCents
    items {
      itemId
      quantity
      unitPriceCents
      lineTotalCents
    }
  }
}",
            variables: r#"{
  "input": {
    "items": [{ "itemId": "{{itemId}}", "quantity": 1 }],
    "deliveryAddress": "3 Quai Saint-Antoine, 69002 Lyon",
    "note": "no cutlery"
  }
}"#,
            test: r#"const order = gql.createOrder;
pm.test("the order is PLACED with the item asked for", function () {
    pm.expect(order.status).to.eql("PLACED");
    pm.expect(order.restaurantId).to.eql(pm.variables.get("restaurantId"));
    pm.expect(order.items[0].itemId).to.eql(pm.variables.get("itemId"));
    pm.expect(order.items[0].quantity).to.eql(1);
    pm.expect(order.totalCents).to.eql(order.items[0].lineTotalCents);
});
pm.collectionVariables.set("gqlOrderId", order.id);"#,
            ..GQL
        },
        GqlStep {
            field: "deliveryStatus",
            name: "Get Delivery Status",
            key: Some("customerKey"),
            query: "query GetDeliveryStatus($orderId: ID!) {
  deliveryStatus(orderId: $orderId) {
    orderId
    status
    courier
    version
    history {
      status
      at
    }
  }
}",
            variables: r#"{ "orderId": "{{gqlOrderId}}" }"#,
            pre: r#"// The delivery appears once the delivery service has consumed the order's event.
poll(graphql("query ($id: ID!) { deliveryStatus(orderId: $id) { status } }",
             { id: pm.variables.get("gqlOrderId") }, "customerKey"),
     function (res) { const b = res.json(); return b.data && b.data.deliveryStatus; }, 80, 250);"#,
            test: r#"const delivery = gql.deliveryStatus;
pm.test("is the order's delivery, PENDING", function () {
    pm.expect(delivery.orderId).to.eql(pm.variables.get("gqlOrderId"));
    pm.expect(delivery.status).to.eql("PENDING");
    pm.expect(delivery.history[0].status).to.eql("PENDING");
});"#,
        },
        GqlStep {
            field: "restaurants",
            name: "Restaurants",
            query: "query Restaurants {
  restaurants(open: true) {
    restaurants {
      id
      name
      cuisine
      open
      autoAccept
    }
    nextCursor
  }
}",
            test: r#"pm.test("lists restaurantId, every one open", function () {
    const page = gql.restaurants;
    pm.expect(page.restaurants.map(function (r) { return r.id; })).to.include(pm.variables.get("restaurantId"));
    page.restaurants.forEach(function (r) { pm.expect(r.open).to.eql(true); });
});"#,
            ..GQL
        },
        GqlStep {
            field: "restaurant",
            name: "Restaurant with its menu",
            query: "query Restaurant($id: ID!) {
  restaurant(id: $id) {
    id
    name
    autoAccept
    menu(limit: 5) {
      id
      name
    }
  }
}",
            variables: r#"{ "id": "{{restaurantId}}" }"#,
            test: r#"pm.test("is restaurantId with its menu", function () {
    pm.expect(gql.restaurant.id).to.eql(pm.variables.get("restaurantId"));
    pm.expect(gql.restaurant.menu).to.be.an("array").that.is.not.empty;
});"#,
            ..GQL
        },
        GqlStep {
            field: "menuItem",
            name: "Menu item",
            query: "query MenuItem($id: ID!) {
  menuItem(id: $id) {
    id
    name
    priceCents
    restaurant {
      id
      name
    }
  }
}",
            variables: r#"{ "id": "{{itemId}}" }"#,
            test: r#"pm.test("is the item asked for, with its restaurant", function () {
    pm.expect(gql.menuItem.id).to.eql(pm.variables.get("itemId"));
    pm.expect(gql.menuItem.restaurant.id).to.eql(pm.variables.get("restaurantId"));
});"#,
            ..GQL
        },
        GqlStep {
            field: "order",
            name: "Order",
            key: Some("customerKey"),
            query: "query Order($id: ID!) {
  order(id: $id) {
    id
    status
    deliveryAddress
    items {
      name
      quantity
    }
    delivery {
      status
    }
  }
}",
            variables: r#"{ "id": "{{gqlOrderId}}" }"#,
            test: r#"pm.test("is the order placed, with its delivery", function () {
    pm.expect(gql.order.id).to.eql(pm.variables.get("gqlOrderId"));
    pm.expect(gql.order.status).to.eql("PLACED");
    pm.expect(gql.order.delivery.status).to.eql("PENDING");
});"#,
            ..GQL
        },
        GqlStep {
            field: "orders",
            name: "Orders",
            key: Some("customerKey"),
            query: "query Orders {
  orders(limit: 100) {
    orders {
      id
      customerId
      status
    }
    nextCursor
  }
}",
            test: r#"pm.test("the customer's orders include the one placed", function () {
    pm.expect(gql.orders.orders.map(function (o) { return o.id; })).to.include(pm.variables.get("gqlOrderId"));
});"#,
            ..GQL
        },
        GqlStep {
            field: "couriers",
            name: "Couriers",
            key: Some("opsKey"),
            query: "query Couriers {
  couriers {
    id
    name
    onShift
    activeDeliveries
  }
}",
            test: r#"pm.test("lists courierKey's courier", function () {
    pm.expect(gql.couriers.map(function (c) { return c.id; })).to.include(pm.variables.get("courierId"));
});"#,
            ..GQL
        },
        GqlStep {
            field: "setCourierShift",
            name: "Set courier shift",
            key: Some("courierKey"),
            query: "mutation SetCourierShift($courierId: ID!) {
  setCourierShift(courierId: $courierId, onShift: true) {
    id
    onShift
  }
}",
            variables: r#"{ "courierId": "{{courierId}}" }"#,
            test: r#"pm.test("the courier is on shift", function () {
    pm.expect(gql.setCourierShift.id).to.eql(pm.variables.get("courierId"));
    pm.expect(gql.setCourierShift.onShift).to.eql(true);
});"#,
            ..GQL
        },
        GqlStep {
            field: "setRestaurantOpen",
            name: "Set restaurant open",
            key: Some("restaurantKey"),
            query: "mutation SetRestaurantOpen($restaurantId: ID!) {
  setRestaurantOpen(restaurantId: $restaurantId, open: true) {
    id
    open
  }
}",
            variables: r#"{ "restaurantId": "{{restaurantId}}" }"#,
            test: r#"pm.test("the kitchen is open", function () {
    pm.expect(gql.setRestaurantOpen.id).to.eql(pm.variables.get("restaurantId"));
    pm.expect(gql.setRestaurantOpen.open).to.eql(true);
});"#,
            ..GQL
        },
        GqlStep {
            field: "acceptOrder",
            name: "Accept order",
            key: Some("restaurantKey"),
            query: "mutation AcceptOrder($orderId: ID!) {
  acceptOrder(orderId: $orderId, prepMinutes: 10) {
    id
    status
    readyBy
  }
}",
            variables: r#"{ "orderId": "{{gqlOrderId}}" }"#,
            test: r#"pm.test("the kitchen is PREPARING it, with a ready-by time", function () {
    pm.expect(gql.acceptOrder.id).to.eql(pm.variables.get("gqlOrderId"));
    pm.expect(gql.acceptOrder.status).to.eql("PREPARING");
    pm.expect(Date.parse(gql.acceptOrder.readyBy)).to.be.above(Date.now());
});"#,
            ..GQL
        },
        GqlStep {
            field: "markOrderReady",
            name: "Mark order ready",
            key: Some("restaurantKey"),
            query: "mutation MarkOrderReady($orderId: ID!) {
  markOrderReady(orderId: $orderId) {
    id
    status
  }
}",
            variables: r#"{ "orderId": "{{gqlOrderId}}" }"#,
            test: r#"pm.test("the order is READY_FOR_PICKUP", function () {
    pm.expect(gql.markOrderReady.status).to.eql("READY_FOR_PICKUP");
});"#,
            ..GQL
        },
        GqlStep {
            field: "deliveries",
            name: "Deliveries",
            key: Some("courierKey"),
            query: "query Deliveries {
  deliveries(limit: 100) {
    deliveries {
      orderId
      status
      courier
    }
    nextCursor
  }
}",
            test: r#"pm.test("the courier sees the new order's delivery (its own or unassigned)", function () {
    const d = gql.deliveries.deliveries.find(function (d) { return d.orderId === pm.variables.get("gqlOrderId"); });
    pm.expect(d).to.be.an("object");
    pm.expect([null, pm.variables.get("courierId")]).to.include(d.courier);
});"#,
            ..GQL
        },
        GqlStep {
            field: "updateDeliveryStatus",
            name: "Update delivery status",
            key: Some("opsKey"),
            query: "mutation UpdateDeliveryStatus($orderId: ID!, $status: DeliveryStatus!, $courier: String) {
  updateDeliveryStatus(orderId: $orderId, status: $status, courier: $courier, note: \"moved from the API collection\") {
    orderId
    status
    courier
    history {
      status
    }
  }
}",
            variables: r#"{ "orderId": "{{gqlOrderId}}", "status": "{{gqlNextStatus}}", "courier": "{{gqlCourier}}" }"#,
            pre: r#"// An accepted order's delivery is dispatched to a courier on shift a moment
// later; moves it one step on from where it is (ASSIGNED to courierId when no
// courier took it, PICKED_UP when one did).
const next = { PENDING: "ASSIGNED", ASSIGNED: "PICKED_UP", PICKED_UP: "IN_TRANSIT", IN_TRANSIT: "DELIVERED" };
const ask = graphql("query ($id: ID!) { deliveryStatus(orderId: $id) { status courier } }",
                    { id: pm.variables.get("gqlOrderId") }, "opsKey");
poll(ask, function (res) {
    const d = res.json().data.deliveryStatus;
    pm.collectionVariables.set("gqlNextStatus", next[d.status] || d.status);
    pm.collectionVariables.set("gqlCourier", d.courier || pm.variables.get("courierId"));
    return d.status !== "PENDING";
}, 20, 250);"#,
            test: r#"pm.test("the delivery moved one step on", function () {
    const d = gql.updateDeliveryStatus;
    pm.expect(d.orderId).to.eql(pm.variables.get("gqlOrderId"));
    pm.expect(d.status).to.eql(pm.variables.get("gqlNextStatus"));
    pm.expect(d.courier).to.eql(pm.variables.get("gqlCourier"));
    pm.expect(d.history[d.history.length - 1].status).to.eql(d.status);
});"#,
        },
        GqlStep {
            field: "rejectOrder",
            name: "Reject order",
            key: Some("restaurantKey"),
            query: "mutation RejectOrder($orderId: ID!) {
  rejectOrder(orderId: $orderId, reason: \"out of naan\") {
    id
    status
    rejectionReason
  }
}",
            variables: r#"{ "orderId": "{{spareOrderId}}" }"#,
            pre: GQL_SPARE_ORDER,
            test: r#"pm.test("the spare order is REJECTED with the reason given", function () {
    pm.expect(gql.rejectOrder.id).to.eql(pm.variables.get("spareOrderId"));
    pm.expect(gql.rejectOrder.status).to.eql("REJECTED");
    pm.expect(gql.rejectOrder.rejectionReason).to.eql("out of naan");
});"#,
        },
        GqlStep {
            field: "cancelOrder",
            name: "Cancel order",
            key: Some("customerKey"),
            query: "mutation CancelOrder($orderId: ID!) {
  cancelOrder(orderId: $orderId, reason: \"changed my mind\") {
    id
    status
  }
}",
            variables: r#"{ "orderId": "{{spareOrderId}}" }"#,
            pre: GQL_SPARE_ORDER,
            test: r#"pm.test("the spare order is CANCELLED", function () {
    pm.expect(gql.cancelOrder.id).to.eql(pm.variables.get("spareOrderId"));
    pm.expect(gql.cancelOrder.status).to.eql("CANCELLED");
});"#,
        },
    ]
}

/// The pre-request helpers for GraphQL polling.
const GQL_POLL: &str = r#"function graphql(query, variables, key) {
    return { url: pm.variables.replaceIn("{{baseUrl}}/graphql"), method: "POST",
             header: { "Content-Type": "application/json",
                       Authorization: "Bearer " + pm.variables.get(key) },
             body: { mode: "raw", raw: JSON.stringify({ query: query, variables: variables }) } };
}"#;

/// A root field of the schema: its operation type and name.
pub struct RootField {
    pub operation: &'static str,
    pub name: String,
    pub description: Option<String>,
    /// Whether it returns an object (which a query must select fields of).
    pub returns_object: bool,
}

/// The root fields of Query, Mutation and Subscription in an SDL.
pub fn root_fields(sdl: &str) -> Vec<RootField> {
    let doc = async_graphql_parser::parse_schema(sdl).expect("the SDL parses");
    let mut roots = (
        "Query".to_owned(),
        "Mutation".to_owned(),
        "Subscription".to_owned(),
    );
    for def in &doc.definitions {
        if let TypeSystemDefinition::Schema(s) = def {
            let s = &s.node;
            if let Some(q) = &s.query {
                roots.0 = q.node.to_string();
            }
            if let Some(m) = &s.mutation {
                roots.1 = m.node.to_string();
            }
            if let Some(m) = &s.subscription {
                roots.2 = m.node.to_string();
            }
        }
    }
    let objects: BTreeSet<String> = doc
        .definitions
        .iter()
        .filter_map(|def| match def {
            TypeSystemDefinition::Type(t) => match t.node.kind {
                TypeKind::Object(_) | TypeKind::Interface(_) | TypeKind::Union(_) => {
                    Some(t.node.name.node.to_string())
                }
                _ => None,
            },
            _ => None,
        })
        .collect();
    let mut out = Vec::new();
    for def in &doc.definitions {
        let TypeSystemDefinition::Type(t) = def else {
            continue;
        };
        let name = t.node.name.node.as_str();
        let operation = if name == roots.0 {
            "query"
        } else if name == roots.1 {
            "mutation"
        } else if name == roots.2 {
            "subscription"
        } else {
            continue;
        };
        if let TypeKind::Object(object) = &t.node.kind {
            for field in &object.fields {
                out.push(RootField {
                    operation,
                    name: field.node.name.node.to_string(),
                    description: field.node.description.as_ref().map(|d| d.node.clone()),
                    returns_object: objects.contains(base_type(&field.node.ty.node)),
                });
            }
        }
    }
    out
}

/// The named type under any list and non-null wrappers.
fn base_type(ty: &async_graphql_parser::types::Type) -> &str {
    match &ty.base {
        async_graphql_parser::types::BaseType::Named(name) => name.as_str(),
        async_graphql_parser::types::BaseType::List(inner) => base_type(inner),
    }
}

/// The root fields a GraphQL request selects, as `(operation, field)`.
pub fn selected_root_fields(query: &str) -> Vec<(&'static str, String)> {
    let doc = async_graphql_parser::parse_query(query).expect("the query parses");
    let ops: Vec<_> = match &doc.operations {
        DocumentOperations::Single(op) => vec![op],
        DocumentOperations::Multiple(ops) => ops.values().collect(),
    };
    let mut out = Vec::new();
    for op in ops {
        let kind = match op.node.ty {
            OperationType::Query => "query",
            OperationType::Mutation => "mutation",
            OperationType::Subscription => "subscription",
        };
        for sel in &op.node.selection_set.node.items {
            if let Selection::Field(f) = &sel.node {
                out.push((kind, f.node.name.node.to_string()));
            }
        }
    }
    out
}

fn graphql_description(sdl: &str) -> String {
    let subscriptions: Vec<String> = root_fields(sdl)
        .into_iter()
        .filter(|f| f.operation == "subscription")
        .map(|f| format!("`{}`", f.name))
        .collect();
    format!(
        "Every root field of Query and Mutation of `docs/api/schema.graphql`, POSTed to \
         `{{{{baseUrl}}}}/graphql`: the seed collection's Get Menu Items, Create Order and Get \
         Delivery Status first. The subscriptions ({}) run over WebSocket (the \
         `graphql-transport-ws` protocol at `/graphql`, the key in `connection_init`'s payload \
         as `{{\"Authorization\": \"Bearer <key>\"}}`), which a v2.1 collection cannot carry: \
         open them with Postman's GraphQL or WebSocket request instead.",
        subscriptions.join(", ")
    )
}

fn graphql_items(sdl: &str) -> Vec<Value> {
    let fields = root_fields(sdl);
    let story = graphql_story();
    let told: BTreeSet<&str> = story.iter().map(|s| s.field).collect();
    let mut items: Vec<Value> = story
        .iter()
        .filter_map(|step| {
            let field = fields
                .iter()
                .find(|f| f.name == step.field && f.operation != "subscription")?;
            Some(graphql_item(step, step.field, field.description.as_deref()))
        })
        .collect();
    // Root fields the story does not tell yet: listed with a query that
    // asks only for `__typename`, so a new field shows up here.
    for field in fields
        .iter()
        .filter(|f| f.operation != "subscription" && !told.contains(f.name.as_str()))
    {
        let query = format!(
            "{} {{\n  {}{}\n}}",
            field.operation, field.name, " { __typename }"
        );
        let step = GqlStep {
            key: Some("opsKey"),
            ..GQL
        };
        let mut item = graphql_item(&step, &field.name, field.description.as_deref());
        item["name"] = json!(field.name);
        item["request"]["body"]["graphql"]["query"] = json!(query);
        items.push(item);
    }
    items
}

fn graphql_item(step: &GqlStep, field: &str, description: Option<&str>) -> Value {
    let mut events = Vec::new();
    if !step.pre.is_empty() {
        let pre = if step.pre.contains("poll(") {
            format!("{POLL}\n{GQL_POLL}\n{}", step.pre)
        } else {
            step.pre.to_owned()
        };
        events.push(event("prerequest", &pre));
    }
    let test = format!(
        r#"pm.test("answers 200 without errors", function () {{
    pm.response.to.have.status(200);
    pm.expect(pm.response.json().errors, JSON.stringify(pm.response.json().errors)).to.be.undefined;
}});
const gql = pm.response.json().data || {{}};
pm.test("answers {field}", function () {{
    pm.expect(gql.{field}).to.exist;
}});
{test}"#,
        test = step.test,
    );
    events.push(event("test", &test));
    let mut text = format!("GraphQL root field `{field}`");
    if let Some(d) = description {
        text = format!("{text}: {d}");
    }
    json!({
        "name": step.name,
        "event": events,
        "request": {
            "method": "POST",
            "header": [{ "key": "Content-Type", "value": "application/json" }],
            "auth": auth(step.key),
            "body": {
                "mode": "graphql",
                "graphql": { "query": step.query, "variables": step.variables },
            },
            "url": {
                "raw": "{{baseUrl}}/graphql",
                "host": ["{{baseUrl}}"],
                "path": ["graphql"],
            },
            "description": text,
        },
    })
}
