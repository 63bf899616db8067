//! The OpenAPI document at `/openapi.json` (exported to
//! docs/api/openapi.json), generated from the handlers' `#[utoipa::path]`
//! annotations and the `food-api` types' schemas.
//!
//! The annotations say what is particular to a route (its bodies, who may
//! call it, its refusals); [`CommonResponses`] adds what follows from the
//! gateway's layers and extractors, the same way for every route (a refused
//! key is a 401 wherever a key is read, a body that is not JSON a 415
//! wherever a body is read, an overloaded gateway a 503 everywhere...), so
//! that the document cannot forget one route.

use axum::{
    Json, Router,
    response::{IntoResponse, Response},
    routing::get,
};
use food_api::{
    AcceptOrder, Courier, CourierList, CourierShift, CreateOrder, Delivery, DeliveryList,
    DeliveryStatus, ErrorBody, ErrorCode, ErrorDetail, HistoryEntry, ImportResult, Item, ItemList,
    MenuImport, Order, OrderItemInput, OrderLine, OrderList, OrderStatus, PutCourier, RejectOrder,
    Restaurant, RestaurantList, UpdateDelivery, UpdateRestaurant,
};
use utoipa::{
    Modify, OpenApi, ToSchema,
    openapi::{
        Content, HttpMethod, Ref, RefOr, ResponseBuilder,
        header::HeaderBuilder,
        link::LinkBuilder,
        path::{Operation, ParameterIn},
        schema::{ObjectBuilder, Schema, Type},
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use crate::{
    rest::{couriers, deliveries, menu, ops, orders, restaurants},
    state::SharedState,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Food Delivery API",
        description = "REST API of the food ordering and delivery platform's gateway: \
            restaurants and their menus, orders and the kitchen's answers, couriers and \
            deliveries with their live streams.\n\n\
            Every call but the menu and restaurant reads and the operational routes needs \
            `Authorization: Bearer <key>`; a key has a role (customer, restaurant, courier, \
            ops) and sees only what its role may. An object outside the caller's scope \
            answers 404, so that ids cannot be probed; a route the role may never use \
            answers 403.\n\n\
            Errors are `{\"error\": {\"code\", \"message\", \"details\"}}` (`Error`); `code` is \
            stable, the message is for people. Lists are pages: `limit` (1 to 1000, default \
            50) and the previous page's `next_cursor`.\n\n\
            An order id may be given in full or by its last 8 characters (the short id \
            tables and boards show); a short id matching several of the orders the caller \
            may see answers 409 `ambiguous_id` with the full ids in `details.candidates`.\n\n\
            GraphQL is served at `/graphql` (POST; WebSocket `graphql-transport-ws` for \
            subscriptions), with the schema in docs/api/schema.graphql.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
        contact(name = "food platform maintainers"),
    ),
    servers((url = "http://127.0.0.1:8080", description = "`food-stack` on this machine (its default address)")),
    paths(
        restaurants::list_restaurants,
        restaurants::get_restaurant,
        restaurants::restaurant_menu,
        restaurants::update_restaurant,
        menu::list_items,
        menu::get_item,
        menu::import_items,
        orders::create_order,
        orders::get_order,
        orders::list_orders,
        orders::cancel_order,
        orders::accept_order,
        orders::reject_order,
        orders::mark_ready,
        couriers::list_couriers,
        couriers::set_shift,
        couriers::put_courier,
        deliveries::get_status,
        deliveries::update_status,
        deliveries::list_deliveries,
        deliveries::stream_status,
        deliveries::stream_all,
        ops::healthz,
        ops::readyz,
        ops::metrics,
        document,
    ),
    components(schemas(
        Restaurant, RestaurantList, Item, ItemList, Order, OrderLine, OrderList, OrderStatus,
        Delivery, HistoryEntry, DeliveryList, DeliveryStatus, Courier, CourierList,
        CreateOrder, OrderItemInput, UpdateDelivery, AcceptOrder, RejectOrder, CourierShift,
        PutCourier, UpdateRestaurant, MenuImport, ImportResult, ErrorBody, ErrorDetail, ErrorCode,
        ops::Health, ops::Readiness,
    )),
    modifiers(&BearerAuth, &CommonResponses, &OrderLinks, &ExactlyOneAcceptField),
    tags(
        (name = "restaurants", description = "Browse restaurants and their menus (no key needed); ops and the restaurant pause and resume a kitchen."),
        (name = "menu", description = "Browse (no key needed) and import the menu."),
        (name = "orders", description = "Place and follow orders."),
        (name = "kitchen", description = "A restaurant accepts (with a ready-by time), rejects and readies its orders."),
        (name = "couriers", description = "Couriers, their shifts and their load."),
        (name = "deliveries", description = "Delivery status, updates and live streams."),
        (name = "ops", description = "Health, readiness, metrics and this document."),
    )
)]
pub struct ApiDoc;

/// The document `/openapi.json` serves (exported to docs/api/openapi.json).
pub fn document_value() -> serde_json::Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serialises");
    fix_link_keys(&mut doc);
    parameters_are_never_null(&mut doc);
    describe_delivery_events(&mut doc);
    spell_out_not_blank(&mut doc);
    doc
}

/// "Not blank" as a character class: at least one character that is not
/// whitespace as Rust's `str::trim` counts it (Unicode White_Space), which
/// is how the services tell a blank text. food-api's schemas say `\S`,
/// whose meaning differs between regex dialects (ECMA-262, which JSON
/// Schema names, leaves out U+0085 and counts U+FEFF; Python's adds
/// U+001C..U+001F), so a tool in another dialect would disagree with the
/// services on a text of only those characters.
pub const NOT_BLANK: &str = "[^\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";

/// Replaces every `"pattern": "\\S"` with [`NOT_BLANK`].
fn spell_out_not_blank(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(fields) => {
            for (key, v) in fields.iter_mut() {
                if key == "pattern" && v == "\\S" {
                    *v = NOT_BLANK.into();
                } else {
                    spell_out_not_blank(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(spell_out_not_blank),
        _ => {}
    }
}

/// The name of the schema of one Server-Sent Event of the delivery streams.
pub const DELIVERY_EVENT: &str = "DeliveryEvent";

/// Each event of the delivery streams: `event: delivery`, an id, and a
/// `Delivery` as JSON text in `data` (OpenAPI 3.1 describes an event stream
/// by the schema of one event; JSON Schema's `contentSchema` says what the
/// text holds, which utoipa's builders cannot write).
fn describe_delivery_events(doc: &mut serde_json::Value) {
    let event = serde_json::json!({
        "type": "object",
        "description": "One Server-Sent Event of a delivery stream.",
        "required": ["event", "id", "data"],
        "properties": {
            "event": {"type": "string", "const": "delivery"},
            "id": {"type": "string", "description": "resume after it with `Last-Event-ID`"},
            "data": {
                "type": "string",
                "description": "the delivery as it is now, as JSON",
                "contentMediaType": "application/json",
                "contentSchema": {"$ref": format!("#/components/schemas/{}", Delivery::name())}
            }
        }
    });
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(|s| s.as_object_mut())
    {
        schemas.insert(DELIVERY_EVENT.to_owned(), event);
    }
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    for item in paths.values_mut() {
        let Some(ok) = item.pointer_mut("/get/responses/200/content/text~1event-stream") else {
            continue;
        };
        ok["schema"] =
            serde_json::json!({"$ref": format!("#/components/schemas/{DELIVERY_EVENT}")});
    }
}

/// utoipa types an optional header parameter (`Option<String>`) as
/// `["string", "null"]`; a header or a query value is text or absent, never
/// JSON null, and a tool sending the text `null` would be refused.
fn parameters_are_never_null(doc: &mut serde_json::Value) {
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    for item in paths.values_mut().filter_map(|i| i.as_object_mut()) {
        for op in item.values_mut() {
            let Some(params) = op.get_mut("parameters").and_then(|p| p.as_array_mut()) else {
                continue;
            };
            for param in params {
                let Some(ty) = param.pointer_mut("/schema/type") else {
                    continue;
                };
                if let Some(types) = ty.as_array() {
                    let kept: Vec<_> = types.iter().filter(|t| *t != "null").cloned().collect();
                    *ty = match kept.as_slice() {
                        [one] => one.clone(),
                        _ => serde_json::Value::Array(kept),
                    };
                }
            }
        }
    }
}

/// utoipa 5.5 writes a link's fields in snake case (`operation_id`); the
/// OpenAPI specification spells them in camel case (`operationId`), which
/// is what tools look for.
fn fix_link_keys(doc: &mut serde_json::Value) {
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    for item in paths.values_mut().filter_map(|i| i.as_object_mut()) {
        for op in item.values_mut() {
            let Some(responses) = op.get_mut("responses").and_then(|r| r.as_object_mut()) else {
                continue;
            };
            for response in responses.values_mut() {
                let Some(links) = response.get_mut("links").and_then(|l| l.as_object_mut()) else {
                    continue;
                };
                for link in links.values_mut().filter_map(|l| l.as_object_mut()) {
                    for (from, to) in [
                        ("operation_id", "operationId"),
                        ("operation_ref", "operationRef"),
                        ("request_body", "requestBody"),
                    ] {
                        if let Some(v) = link.remove(from) {
                            link.insert(to.to_owned(), v);
                        }
                    }
                }
            }
        }
    }
}

/// The served document, built once.
fn served() -> &'static serde_json::Value {
    static DOC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    DOC.get_or_init(document_value)
}

pub fn routes() -> Router<SharedState> {
    Router::new().route("/openapi.json", get(document))
}

/// This document.
///
/// The OpenAPI 3.1 description of the REST API, as exported to
/// docs/api/openapi.json.
#[utoipa::path(get, path = "/openapi.json", tag = "ops", operation_id = "document",
    responses((status = 200, description = "this document", body = Object, content_type = "application/json")))]
pub async fn document() -> Response {
    Json(served()).into_response()
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key: `Authorization: Bearer <key>`. `food-stack` writes local \
                         keys to `<data dir>/local-keys.json`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// How a route reads its caller, from its `security`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Not even a key is read (`/healthz`, `/metrics`, ...).
    Operational,
    /// Works without a key; a key that is sent must be valid.
    Public,
    /// Needs a key.
    Keyed,
}

fn access(op: &Operation) -> Access {
    match &op.security {
        None => Access::Operational,
        Some(reqs) if reqs.iter().any(is_empty_requirement) => Access::Public,
        Some(_) => Access::Keyed,
    }
}

fn is_empty_requirement(req: &utoipa::openapi::security::SecurityRequirement) -> bool {
    serde_json::to_value(req).is_ok_and(|v| v.as_object().is_some_and(|o| o.is_empty()))
}

/// The statuses every route answers the same way, from the layers and
/// extractors it goes through; each error response gets the `Error` body.
struct CommonResponses;

impl CommonResponses {
    fn add(op: &mut Operation, path: &str) {
        let access = access(op);
        let params = op.parameters.as_deref().unwrap_or_default();
        let has_query_or_header = params
            .iter()
            .any(|p| matches!(p.parameter_in, ParameterIn::Query | ParameterIn::Header));
        let has_body = op.request_body.is_some();
        let takes_order_id = path.contains("{orderId}");

        let mut common: Vec<(&str, String)> = Vec::new();
        if has_body || has_query_or_header || takes_order_id {
            common.push(("400", "`invalid_argument`: a malformed request; `details.field` names the field when there is one".into()));
        }
        match access {
            Access::Keyed => common.push((
                "401",
                "`unauthenticated`: no `Authorization: Bearer <key>`, or a key that is not accepted".into(),
            )),
            Access::Public => common.push((
                "401",
                "`unauthenticated`: a key was sent and is not accepted (the call works without one)".into(),
            )),
            Access::Operational => {}
        }
        if takes_order_id {
            common.push((
                "409",
                "`ambiguous_id`: the short id (the last 8 characters) matches several of the \
                 orders the caller may see; `details.candidates` lists their full ids"
                    .into(),
            ));
        }
        if has_body {
            common.push(("413", "`payload_too_large`: the body is larger than the gateway accepts (`details.limit_bytes`)".into()));
            common.push((
                "415",
                "`invalid_argument`: the body is not sent as `application/json`".into(),
            ));
        }
        // A customer key is rate-limited on every route, even one that
        // does not need a key.
        common.push(("429", "`rate_limited`: too many requests with this customer key; retry after `Retry-After` seconds".into()));
        common.push(("503", "`unavailable` or `timeout`: the gateway is at capacity, or a service it calls is down or slow; retry shortly".into()));

        let responses = &mut op.responses.responses;
        for (status, description) in common {
            match responses.get_mut(status) {
                None => {
                    responses.insert(
                        status.to_owned(),
                        ResponseBuilder::new().description(description).into(),
                    );
                }
                // A route's own 409s (transitions, versions) gain the ambiguous id.
                Some(RefOr::T(existing)) if status == "409" => {
                    existing.description = format!("{}; {description}", existing.description);
                }
                Some(_) => {}
            }
        }
        for (status, response) in responses.iter_mut() {
            let RefOr::T(response) = response else {
                continue;
            };
            if status.starts_with('4') || status.starts_with('5') {
                if response.content.is_empty() {
                    response.content.insert(
                        "application/json".to_owned(),
                        Content::new(Some(Ref::from_schema_name(ErrorBody::name()))),
                    );
                }
                if status == "429" {
                    response.headers.insert(
                        "Retry-After".to_owned(),
                        HeaderBuilder::new()
                            .schema(
                                ObjectBuilder::new()
                                    .schema_type(Type::Integer)
                                    .minimum(Some(1)),
                            )
                            .description(Some("seconds to wait before retrying"))
                            .build(),
                    );
                }
            }
        }
    }
}

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            for op in operations(item) {
                Self::add(op, path);
            }
        }
    }
}

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// `AcceptOrder` takes exactly one of its two fields: utoipa 5.5 writes the
/// derive's `min_properties` as `maxProperties`, so it is set here.
struct ExactlyOneAcceptField;

impl Modify for ExactlyOneAcceptField {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        if let Some(RefOr::T(Schema::Object(accept))) =
            components.schemas.get_mut(&*AcceptOrder::name())
        {
            accept.min_properties = Some(1);
            accept.max_properties = Some(1);
        }
    }
}

/// Links from the order `POST /orders` created to the routes that take its
/// id, so that tools (schemathesis's stateful phase, Postman) can follow them.
struct OrderLinks;

/// The operations that take the created order's id, by operation id.
pub const ORDER_ID_OPERATIONS: [&str; 8] = [
    "get_order",
    "cancel_order",
    "accept_order",
    "reject_order",
    "mark_ready",
    "get_status",
    "update_status",
    "stream_status",
];

impl Modify for OrderLinks {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(create) = openapi
            .paths
            .get_path_operation("/orders", HttpMethod::Post)
            .cloned()
        else {
            return;
        };
        let mut create = create;
        if let Some(RefOr::T(created)) = create.responses.responses.get_mut("201") {
            for id in ORDER_ID_OPERATIONS {
                created.links.insert(
                    id.to_owned(),
                    LinkBuilder::new()
                        .operation_id(id)
                        .parameter("orderId", "$response.body#/id")
                        .description("the order just created")
                        .build()
                        .into(),
                );
            }
        }
        if let Some(item) = openapi.paths.paths.get_mut("/orders") {
            item.post = Some(create);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`NOT_BLANK`] leaves out exactly the characters `str::trim` removes,
    /// and no schema keeps the dialect-dependent `\S`.
    #[test]
    fn not_blank_is_what_trim_counts_as_blank() {
        let whitespace: Vec<u32> = (0..=0x10FFFF)
            .filter_map(char::from_u32)
            .filter(|c| c.is_whitespace())
            .map(u32::from)
            .collect();
        let mut named = vec![0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680];
        named.extend(0x2000..=0x200a);
        named.extend([0x2028, 0x2029, 0x202f, 0x205f, 0x3000]);
        assert_eq!(whitespace, named);
        let doc = document_value().to_string();
        assert!(!doc.contains(r#""pattern":"\\S""#));
        assert!(doc.contains("u0085"));
    }

    fn doc() -> serde_json::Value {
        document_value()
    }

    #[test]
    fn the_document_lists_the_seed_routes() {
        let doc = doc();
        for (method, path) in [
            ("get", "/menu/items"),
            ("get", "/menu/items/{id}"),
            ("post", "/orders"),
            ("get", "/orders/{orderId}"),
            ("get", "/delivery/status/{orderId}"),
            ("put", "/delivery/status/{orderId}"),
            ("get", "/restaurants"),
            ("get", "/restaurants/{id}"),
            ("get", "/restaurants/{id}/menu"),
            ("patch", "/restaurants/{id}"),
            ("post", "/orders/{orderId}/accept"),
            ("post", "/orders/{orderId}/reject"),
            ("post", "/orders/{orderId}/ready"),
            ("get", "/couriers"),
            ("put", "/couriers/{id}/shift"),
            ("put", "/couriers/{id}"),
        ] {
            assert!(doc["paths"][path][method].is_object(), "{method} {path}");
        }
    }

    #[test]
    fn bodies_are_named_components() {
        let doc = doc();
        let schemas = &doc["components"]["schemas"];
        for name in [
            "Item",
            "Restaurant",
            "Order",
            "Delivery",
            "Courier",
            "ItemList",
            "RestaurantList",
            "OrderList",
            "DeliveryList",
            "CourierList",
            "CreateOrder",
            "UpdateStatus",
            "Import",
            "Error",
        ] {
            assert!(schemas[name].is_object(), "no component {name}");
        }
        let body = &doc["paths"]["/orders"]["post"]["requestBody"]["content"]["application/json"];
        assert_eq!(body["schema"]["$ref"], "#/components/schemas/CreateOrder");
        let created = &doc["paths"]["/orders"]["post"]["responses"]["201"]["content"];
        assert_eq!(
            created["application/json"]["schema"]["$ref"],
            "#/components/schemas/Order"
        );
        let put = &doc["paths"]["/delivery/status/{orderId}"]["put"];
        assert_eq!(
            put["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/UpdateStatus"
        );
    }

    #[test]
    fn the_error_code_is_an_enum_of_every_machine_code() {
        let doc = doc();
        let codes = doc["components"]["schemas"]["ErrorCode"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect::<Vec<_>>();
        let all = ErrorCode::ALL.map(|c| c.as_str().to_owned());
        assert_eq!(codes, all);
        assert!(codes.iter().any(|c| c == "ambiguous_id"));
    }

    #[test]
    fn every_operation_has_an_id_a_summary_and_typed_errors() {
        let doc = doc();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let at = format!("{method} {path}");
                assert!(op["operationId"].is_string(), "{at}: no operationId");
                assert!(op["summary"].is_string(), "{at}: no summary");
                assert!(op["description"].is_string(), "{at}: no description");
                assert!(op["responses"]["503"].is_object(), "{at}: no 503");
                for (status, response) in op["responses"].as_object().unwrap() {
                    if status.starts_with('4') || status.starts_with('5') {
                        assert_eq!(
                            response["content"]["application/json"]["schema"]["$ref"],
                            "#/components/schemas/Error",
                            "{at} {status}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn keyed_routes_declare_the_bearer_scheme_and_answer_401_and_429() {
        let doc = doc();
        let create = &doc["paths"]["/orders"]["post"];
        assert_eq!(create["security"], serde_json::json!([{"bearer": []}]));
        for status in ["401", "403", "413", "415", "422", "429"] {
            assert!(
                create["responses"][status].is_object(),
                "POST /orders {status}"
            );
        }
        let menu = &doc["paths"]["/menu/items"]["get"];
        assert_eq!(menu["security"], serde_json::json!([{}, {"bearer": []}]));
        let health = &doc["paths"]["/healthz"]["get"];
        assert!(health.get("security").is_none());
        assert!(health["responses"].get("401").is_none());
    }

    #[test]
    fn routes_taking_an_order_id_document_the_ambiguous_short_id() {
        let doc = doc();
        for (path, item) in doc["paths"].as_object().unwrap() {
            if !path.contains("{orderId}") {
                continue;
            }
            for (method, op) in item.as_object().unwrap() {
                let conflict = op["responses"]["409"]["description"].as_str().unwrap_or("");
                assert!(
                    conflict.contains("ambiguous_id"),
                    "{method} {path}: {conflict}"
                );
            }
        }
    }

    #[test]
    fn the_created_order_links_to_every_route_taking_its_id() {
        let doc = doc();
        let links = &doc["paths"]["/orders"]["post"]["responses"]["201"]["links"];
        let mut ids: Vec<String> = Vec::new();
        for (_, item) in doc["paths"].as_object().unwrap() {
            for (_, op) in item.as_object().unwrap() {
                let takes_id = op["parameters"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|p| p["name"] == "orderId"));
                if takes_id {
                    ids.push(op["operationId"].as_str().unwrap().to_owned());
                }
            }
        }
        assert!(!ids.is_empty());
        for id in ids {
            assert_eq!(links[&id]["operationId"], id.as_str(), "link {id}");
            assert_eq!(links[&id]["parameters"]["orderId"], "$response.body#/id");
        }
    }
}
