//! The GraphQL-over-HTTP table: queries that are too deep, too wide, cyclic,
//! batched, malformed or mistyped. A request the server cannot read is a
//! 4xx in the REST error shape; a document it reads but refuses is a 200
//! with `errors` and no data (GraphQL over HTTP).

use serde_json::{Value, json};

use crate::{
    Tally,
    helpers::{TestStack, Who},
    rest::send_raw,
};

enum Expect {
    /// A 200 whose `errors[0].message` is set and whose `data` is null.
    GraphqlError,
    /// This status with the REST error body and code.
    Error(u16, &'static str),
}

struct Row {
    name: &'static str,
    method: &'static str,
    target: &'static str,
    body: Vec<u8>,
    expect: Expect,
}

/// A POST of `{"query": query}` that must be refused with GraphQL errors.
fn refused_query(name: &'static str, query: String) -> Row {
    Row {
        name,
        method: "POST",
        target: "/graphql",
        body: json!({ "query": query }).to_string().into_bytes(),
        expect: Expect::GraphqlError,
    }
}

fn refused_body(
    name: &'static str,
    body: impl Into<Vec<u8>>,
    status: u16,
    code: &'static str,
) -> Row {
    Row {
        name,
        method: "POST",
        target: "/graphql",
        body: body.into(),
        expect: Expect::Error(status, code),
    }
}

pub async fn run(stack: &TestStack, tally: &mut Tally) {
    let mut deep = String::from("id");
    for _ in 0..120 {
        deep = format!("menu {{ {deep} }}");
    }
    let aliases: String = (0..1000)
        .map(|i| format!("a{i}: restaurants {{ restaurants {{ id }} }} "))
        .collect();
    let wide: String = (0..5000).map(|_| "name ").collect();
    let batch: Vec<Value> = (0..1000)
        .map(|_| json!({"query": "{ restaurants { restaurants { id } } }"}))
        .collect();
    let huge = "s".repeat(1024 * 1024);

    let rows = vec![
        refused_query("depth 120", format!("{{ restaurant(id: \"trattoria-da-luca\") {{ {deep} }} }}")),
        refused_query("5,000 fields in one selection", format!("{{ restaurants {{ restaurants {{ {wide} }} }} }}")),
        refused_query("1,000 aliases", format!("{{ {aliases} }}")),
        refused_query("fragment cycle", "query { ...A } fragment A on QueryRoot { ...B } fragment B on QueryRoot { ...A }".into()),
        refused_query("unknown field", "{ restaurants { restaurants { secretPassword } } }".into()),
        refused_query("unknown enum value", "{ deliveries(status: TELEPORTED) { deliveries { orderId } } }".into()),
        refused_query("empty document", String::new()),
        Row {
            name: "no query",
            method: "POST",
            target: "/graphql",
            body: br#"{"variables": {}}"#.to_vec(),
            expect: Expect::GraphqlError,
        },
        refused_query("syntax error", "{ restaurants { ".into()),
        refused_query("two operations without a name", "query A { restaurants { restaurants { id } } } query B { menuItems { id } }".into()),
        Row {
            name: "operation name that is not there",
            method: "POST",
            target: "/graphql",
            body: json!({"query": "query A { menuItems { id } }", "operationName": "B"}).to_string().into_bytes(),
            expect: Expect::GraphqlError,
        },
        Row {
            name: "variable of the wrong type",
            method: "POST",
            target: "/graphql",
            body: json!({"query": "query($n: Int) { menuItems(limit: $n) { id } }", "variables": {"n": {"$gt": ""}}}).to_string().into_bytes(),
            expect: Expect::GraphqlError,
        },
        Row {
            name: "limit past i32",
            method: "POST",
            target: "/graphql",
            body: json!({"query": "{ menuItems(limit: 99999999999) { id } }"}).to_string().into_bytes(),
            expect: Expect::GraphqlError,
        },
        refused_body("1 MB string", json!({"query": "query($q: String) { menuItems(search: $q) { id } }", "variables": {"q": huge}}).to_string(), 413, "payload_too_large"),
        refused_body("batch of 1,000 operations", Value::Array(batch).to_string(), 400, "invalid_argument"),
        refused_body("invalid JSON", "{\"query\": ", 400, "invalid_argument"),
        refused_body("variables not an object", r#"{"query": "{ menuItems { id } }", "variables": [1, 2]}"#, 400, "invalid_argument"),
        Row {
            name: "GET while GraphiQL is disabled",
            method: "GET",
            target: "/graphql?query=%7B%20menuItems%20%7B%20id%20%7D%20%7D",
            body: Vec::new(),
            expect: Expect::Error(404, "not_found"),
        },
    ];

    for row in rows {
        let mut request = format!(
            "{} {} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            row.method,
            row.target,
            stack.addr,
            Who::Ops.key().unwrap(),
            row.body.len()
        )
        .into_bytes();
        request.extend_from_slice(&row.body);
        let res = send_raw(stack.addr, &request).await;
        let json: Value = serde_json::from_slice(&res.body).unwrap_or(Value::Null);
        let shown: String = json.to_string().chars().take(300).collect();
        let mismatch = match row.expect {
            Expect::GraphqlError => {
                let refused = res.status == 200
                    && json["data"].is_null()
                    && json["errors"][0]["message"]
                        .as_str()
                        .is_some_and(|m| !m.is_empty());
                (!refused).then(|| format!("{} {shown}", res.status))
            }
            Expect::Error(status, code) => {
                let refused = res.status == status
                    && json["error"]["code"] == code
                    && json["error"]["message"]
                        .as_str()
                        .is_some_and(|m| !m.is_empty());
                (!refused).then(|| format!("expected {status} {code}, got {} {shown}", res.status))
            }
        };
        tally.record("graphql", row.name, res.status >= 500, mismatch);
    }
}
