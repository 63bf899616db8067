//! The API collection covers the whole contract: every operation of the
//! OpenAPI document and every Query and Mutation root field of the SDL is a
//! request in it, in the folders and the order the seed's collection had,
//! and every request checks what it gets back.

use std::collections::BTreeSet;

use food_contract::postman::{
    self, GRAPHQL_FOLDER, NAME, REST_FOLDER, SCHEMA, SEED_GRAPHQL, SEED_ROUTES,
};
use serde_json::{Value, json};

fn openapi() -> Value {
    serde_json::to_value(food_gateway::openapi::document_value()).unwrap()
}

fn folder<'a>(collection: &'a Value, name: &str) -> &'a Vec<Value> {
    collection["item"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no folder {name}"))["item"]
        .as_array()
        .unwrap()
}

/// A REST request's method and path in the document's spelling
/// (`/orders/{orderId}` for Postman's `/orders/:orderId`).
fn route(item: &Value) -> (String, String) {
    let request = &item["request"];
    let segments: Vec<String> = request["url"]["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let s = s.as_str().unwrap();
            match s.strip_prefix(':') {
                Some(param) => format!("{{{param}}}"),
                None => s.to_owned(),
            }
        })
        .collect();
    (
        request["method"].as_str().unwrap().to_owned(),
        format!("/{}", segments.join("/")),
    )
}

/// The document's operations as (method, path, is an event stream).
fn documented(doc: &Value) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if method == "parameters" {
                continue;
            }
            let streams = op["responses"]["200"]["content"]
                .as_object()
                .is_some_and(|c| c.contains_key("text/event-stream"));
            out.push((method.to_uppercase(), path.clone(), streams));
        }
    }
    out
}

fn scripts(item: &Value, listen: &str) -> Option<String> {
    item["event"]
        .as_array()?
        .iter()
        .find(|e| e["listen"] == listen)
        .map(|e| {
            e["script"]["exec"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap())
                .collect::<Vec<_>>()
                .join("\n")
        })
}

#[test]
fn the_collection_is_postman_v2_1_named_as_the_seed_had_it() {
    let collection = postman::collection_value();
    assert_eq!(collection["info"]["name"], NAME);
    assert_eq!(collection["info"]["schema"], SCHEMA);
    let folders: Vec<&str> = collection["item"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(folders, [REST_FOLDER, GRAPHQL_FOLDER]);
}

#[test]
fn the_rest_folder_starts_with_the_seed_routes_in_order() {
    let collection = postman::collection_value();
    let first: Vec<(String, String)> = folder(&collection, REST_FOLDER)
        .iter()
        .take(SEED_ROUTES.len())
        .map(route)
        .collect();
    let seed: Vec<(String, String)> = SEED_ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(first, seed);
}

#[test]
fn every_operation_of_the_document_is_a_request_and_every_request_is_documented() {
    let doc = openapi();
    let collection = postman::collection_value();
    let requests: BTreeSet<(String, String)> =
        folder(&collection, REST_FOLDER).iter().map(route).collect();
    let ops = documented(&doc);
    assert!(ops.len() >= 20, "the document has the routes of DESIGN §7");
    for (method, path, streams) in &ops {
        // An event stream never ends, so it is asked with HEAD (same status
        // and headers) for newman to finish.
        let asked = if *streams { "HEAD" } else { method.as_str() };
        assert!(
            requests.contains(&(asked.to_owned(), path.clone())),
            "{method} {path} is not in the collection"
        );
    }
    for (method, path) in &requests {
        assert!(
            ops.iter().any(|(m, p, streams)| p == path
                && (m == method || (*streams && method == "HEAD"))),
            "{method} {path} is in the collection but not in the document"
        );
    }
}

#[test]
fn every_query_and_mutation_root_field_is_a_request() {
    let sdl = food_gateway::graphql::sdl();
    let collection = postman::collection_value();
    let items = folder(&collection, GRAPHQL_FOLDER);
    let mut asked = BTreeSet::new();
    for item in items {
        let query = item["request"]["body"]["graphql"]["query"]
            .as_str()
            .unwrap();
        let variables = item["request"]["body"]["graphql"]["variables"]
            .as_str()
            .unwrap();
        assert!(
            serde_json::from_str::<Value>(variables).is_ok(),
            "{}: the variables are JSON",
            item["name"]
        );
        asked.extend(postman::selected_root_fields(query));
    }
    let roots = postman::root_fields(&sdl);
    assert!(roots.iter().any(|f| f.operation == "mutation"));
    for field in roots.iter().filter(|f| f.operation != "subscription") {
        assert!(
            asked.contains(&(field.operation, field.name.clone())),
            "{} {} is not in the collection",
            field.operation,
            field.name
        );
    }
    // Subscriptions need WebSocket: named in the folder's description.
    let description = collection["item"][1]["description"].as_str().unwrap();
    for field in roots.iter().filter(|f| f.operation == "subscription") {
        assert!(description.contains(&field.name), "{}", field.name);
    }
}

#[test]
fn the_graphql_folder_starts_with_the_seed_requests() {
    let collection = postman::collection_value();
    let items = folder(&collection, GRAPHQL_FOLDER);
    let names: Vec<&str> = items.iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names[..3], SEED_GRAPHQL);
    let fields: Vec<Vec<(&str, String)>> = items[..3]
        .iter()
        .map(|i| {
            postman::selected_root_fields(
                i["request"]["body"]["graphql"]["query"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        fields,
        [
            vec![("query", "menuItems".to_owned())],
            vec![("mutation", "createOrder".to_owned())],
            vec![("query", "deliveryStatus".to_owned())],
        ]
    );
}

#[test]
fn every_request_has_a_test_script_with_assertions() {
    let collection = postman::collection_value();
    for name in [REST_FOLDER, GRAPHQL_FOLDER] {
        for item in folder(&collection, name) {
            let test =
                scripts(item, "test").unwrap_or_else(|| panic!("{}: no test script", item["name"]));
            assert!(
                test.contains("pm.test(")
                    && (test.contains("pm.expect(") || test.contains("pm.response.to.have")),
                "{}: no assertion",
                item["name"]
            );
        }
    }
}

#[test]
fn requests_that_need_a_key_send_one_and_public_reads_send_none() {
    let doc = openapi();
    let collection = postman::collection_value();
    for item in folder(&collection, REST_FOLDER) {
        let (method, path) = route(item);
        let method = if method == "HEAD" {
            "GET".to_owned()
        } else {
            method
        };
        let op = &doc["paths"][&path][method.to_lowercase()];
        let security = op["security"].as_array().cloned().unwrap_or_default();
        let public = security.is_empty()
            || security
                .iter()
                .any(|r| r.as_object().is_some_and(|r| r.is_empty()));
        let auth = &item["request"]["auth"];
        if public {
            assert_eq!(auth["type"], "noauth", "{method} {path}");
        } else {
            assert_eq!(auth["type"], "bearer", "{method} {path}");
            let token = auth["bearer"][0]["value"].as_str().unwrap();
            assert!(
                [
                    "{{opsKey}}",
                    "{{customerKey}}",
                    "{{courierKey}}",
                    "{{restaurantKey}}"
                ]
                .contains(&token),
                "{method} {path}: {token}"
            );
        }
    }
}

#[test]
fn every_variable_used_is_declared_and_the_keys_are_left_empty() {
    let collection = postman::collection_value();
    let declared: BTreeSet<String> = collection["variable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["key"].as_str().unwrap().to_owned())
        .collect();
    for key in [
        "baseUrl",
        "opsKey",
        "courierKey",
        "customerKey",
        "restaurantKey",
    ] {
        assert!(declared.contains(key), "{key}");
    }
    for v in collection["variable"].as_array().unwrap() {
        if v["key"].as_str().unwrap().ends_with("Key") {
            assert_eq!(v["value"], "", "{} carries no secret", v["key"]);
        }
    }
    let text = serde_json::to_string(&collection).unwrap();
    let mut rest = text.as_str();
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after.find("}}").expect("a closed {{variable}}");
        let name = &after[..end];
        // `$guid` is one of Postman's dynamic variables; `" + path` is a
        // script concatenating a path onto `{{baseUrl}}`.
        assert!(
            declared.contains(name) || name == "$guid",
            "{{{{{name}}}}} is used but not declared"
        );
        rest = &after[end + 2..];
    }
}

#[test]
fn an_operation_the_story_does_not_know_is_listed_all_the_same() {
    // Arrange: a document with one route the scenario table has never seen.
    let mut doc = openapi();
    doc["paths"]["/orders/{orderId}/tip"] = json!({
        "post": {
            "operationId": "tip_courier",
            "summary": "Tip the courier",
            "security": [{ "bearer": [] }],
            "responses": { "200": { "description": "the tip" } },
        }
    });
    let sdl = food_gateway::graphql::sdl().replace(
        "type Query {",
        "type Query {\n\ttipsOf(courierId: ID!): Int!",
    );

    // Act
    let collection = postman::build(&doc, &sdl);

    // Assert
    let rest = folder(&collection, REST_FOLDER);
    let tip = rest
        .iter()
        .find(|i| route(i) == ("POST".to_owned(), "/orders/{orderId}/tip".to_owned()))
        .expect("the new route is a request");
    assert_eq!(tip["name"], "Tip the courier");
    assert_eq!(tip["request"]["auth"]["bearer"][0]["value"], "{{opsKey}}");
    assert!(
        scripts(tip, "test")
            .unwrap()
            .contains("to.have.status(200)")
    );
    let graphql = folder(&collection, GRAPHQL_FOLDER);
    assert!(graphql.iter().any(|i| i["name"] == "tipsOf"));
}

/// Follows a local `$ref`.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/")) {
        Some(path) => path.split('/').fold(doc, |v, k| &v[k]),
        None => schema,
    }
}

/// Whether `value` fits `schema`, as far as types, enums, required and
/// known properties go (what a renamed or retyped field would break);
/// `{{variable}}` strings stand for any value.
fn fits(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(doc, schema);
    if let Some(s) = value.as_str()
        && s.starts_with("{{")
        && s.ends_with("}}")
    {
        return Ok(());
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(alternatives) = schema[key].as_array() {
            return alternatives
                .iter()
                .any(|alt| fits(doc, alt, value, at).is_ok())
                .then_some(())
                .ok_or_else(|| format!("{at}: {value} fits none of {key}"));
        }
    }
    if let Some(all) = schema["allOf"].as_array() {
        for part in all {
            fits(doc, part, value, at)?;
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let integer_as_number = kind == "integer" && types.contains(&"number");
    if !(types.is_empty() || types.contains(&kind) || integer_as_number) {
        return Err(format!("{at}: a {kind}, the document says {types:?}"));
    }
    if let Some(values) = schema["enum"].as_array()
        && !values.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {values:?}"));
    }
    if let (Some(object), Some(properties)) = (value.as_object(), schema["properties"].as_object())
    {
        for (key, v) in object {
            let property = properties
                .get(key)
                .ok_or_else(|| format!("{at}: `{key}` is not a property the document knows"))?;
            fits(doc, property, v, &format!("{at}.{key}"))?;
        }
        for required in schema["required"].as_array().into_iter().flatten() {
            let required = required.as_str().unwrap();
            if !object.contains_key(required) {
                return Err(format!("{at}: required `{required}` is missing"));
            }
        }
    }
    if let (Some(items), Some(schema)) = (value.as_array(), schema.get("items")) {
        for (i, v) in items.iter().enumerate() {
            fits(doc, schema, v, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

#[test]
fn every_rest_body_is_one_the_document_describes() {
    let doc = openapi();
    let collection = postman::collection_value();
    let mut checked = 0;
    for item in folder(&collection, REST_FOLDER) {
        let (method, path) = route(item);
        let op = &doc["paths"][&path][method.to_lowercase()];
        let schema = &op["requestBody"]["content"]["application/json"]["schema"];
        let raw = item["request"]["body"]["raw"].as_str();
        if op["requestBody"]["required"] == true {
            assert!(raw.is_some(), "{method} {path} needs a body");
        }
        let Some(raw) = raw else { continue };
        assert!(!schema.is_null(), "{method} {path} takes no JSON body");
        let body: Value = serde_json::from_str(raw)
            .unwrap_or_else(|e| panic!("{method} {path}: the body is not JSON: {e}"));
        if let Err(e) = fits(&doc, schema, &body, "body") {
            panic!("{} ({method} {path}): {e}", item["name"]);
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} bodies checked");
}

#[test]
fn the_body_check_catches_a_field_the_document_does_not_know() {
    let doc = openapi();
    let schema = json!({ "$ref": "#/components/schemas/UpdateStatus" });
    assert!(fits(&doc, &schema, &json!({ "status": "ASSIGNED" }), "body").is_ok());
    assert!(fits(&doc, &schema, &json!({ "state": "ASSIGNED" }), "body").is_err());
    assert!(fits(&doc, &schema, &json!({ "status": "LOST" }), "body").is_err());
}
