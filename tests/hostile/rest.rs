//! The REST table: each row is a request sent as raw bytes over its own
//! connection (so that it may carry what no well-behaved client sends:
//! NUL bytes, invalid UTF-8, 1,000 headers) and the answer it must get.

use std::{net::SocketAddr, time::Duration};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{
    Tally,
    helpers::{MANUAL_KITCHEN, TestStack, Who},
};

/// What a row must get back.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// This status with the documented body `{"error": {"code", "message"}}`.
    Error(u16, &'static str),
    /// This status from the HTTP parser itself, which refuses the request
    /// before any route sees it (hyper answers with an empty body).
    Parser(u16),
}

struct Row {
    name: &'static str,
    method: &'static str,
    target: Vec<u8>,
    who: Who,
    headers: Vec<(String, Vec<u8>)>,
    body: Option<Vec<u8>>,
    expect: Expect,
}

fn row(name: &'static str, method: &'static str, target: impl Into<Vec<u8>>) -> Row {
    Row {
        name,
        method,
        target: target.into(),
        who: Who::Anonymous,
        headers: Vec::new(),
        body: None,
        expect: Expect::Parser(0),
    }
}

impl Row {
    fn who(mut self, who: Who) -> Self {
        self.who = who;
        self
    }

    fn header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// A body sent as `application/json`, whatever its bytes.
    fn json(self, body: impl Into<Vec<u8>>) -> Self {
        self.header("content-type", "application/json").body(body)
    }

    fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    fn expect(mut self, status: u16, code: &'static str) -> Self {
        self.expect = Expect::Error(status, code);
        self
    }

    fn parser(mut self, status: u16) -> Self {
        self.expect = Expect::Parser(status);
        self
    }

    fn to_bytes(&self, addr: SocketAddr) -> Vec<u8> {
        let mut req = Vec::new();
        req.extend_from_slice(self.method.as_bytes());
        req.push(b' ');
        req.extend_from_slice(&self.target);
        req.extend_from_slice(
            format!(" HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n").as_bytes(),
        );
        if let Some(key) = self.who.key() {
            req.extend_from_slice(format!("authorization: Bearer {key}\r\n").as_bytes());
        }
        for (name, value) in &self.headers {
            req.extend_from_slice(name.as_bytes());
            req.extend_from_slice(b": ");
            req.extend_from_slice(value);
            req.extend_from_slice(b"\r\n");
        }
        let body = self.body.as_deref().unwrap_or_default();
        if self.body.is_some() {
            req.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
        }
        req.extend_from_slice(b"\r\n");
        req.extend_from_slice(body);
        req
    }
}

/// An answer read off the wire.
pub struct RawResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Sends `request` on a connection of its own and reads the answer to the
/// end (the request says `connection: close`). A server that stops reading
/// a body it refuses is fine: the answer is read all the same.
pub async fn send_raw(addr: SocketAddr, request: &[u8]) -> RawResponse {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut read, mut write) = tcp.split();
    let mut answer = Vec::new();
    let io = async {
        let writing = async {
            let _ = write.write_all(request).await;
        };
        let reading = read.read_to_end(&mut answer);
        let (_, read) = tokio::join!(writing, reading);
        read
    };
    tokio::time::timeout(Duration::from_secs(15), io)
        .await
        .expect("an answer within 15 s")
        .ok();
    parse_response(&answer)
}

fn parse_response(answer: &[u8]) -> RawResponse {
    let head_end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {:?}", String::from_utf8_lossy(answer)));
    let head = String::from_utf8_lossy(&answer[..head_end]).to_string();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head}"));
    let rest = &answer[head_end + 4..];
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked")
    });
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    RawResponse { status, body }
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        body.extend_from_slice(&rest[start..(start + size).min(rest.len())]);
        rest = &rest[(start + size + 2).min(rest.len())..];
    }
    body
}

/// Nested JSON `depth` levels deep: `[[[...]]]` or `{"a":{"a":...}}`.
fn nested(depth: usize, open: &str, close: &str) -> Vec<u8> {
    format!("{}{}", open.repeat(depth), close.repeat(depth)).into_bytes()
}

fn order_body(quantity: &str, item: &str) -> String {
    format!(
        r#"{{"items":[{{"item_id":"{item}","quantity":{quantity}}}],"delivery_address":"1 Main St"}}"#
    )
}

pub async fn run(stack: &TestStack, tally: &mut Tally) {
    let item = stack.available_item().await;
    let item = item["id"].as_str().unwrap().to_owned();
    let order = stack.create_order(Who::Alice).await;
    let id = order["id"].as_str().unwrap().to_owned();
    let delivery = stack.wait_for_delivery(&id).await;
    let version = delivery["version"].as_u64().unwrap();
    let manual = stack.create_order_at(Who::Alice, MANUAL_KITCHEN).await;
    let manual = manual["id"].as_str().unwrap().to_owned();

    let status_path = format!("/delivery/status/{id}");
    let accept_path = format!("/orders/{manual}/accept");
    let reject_path = format!("/orders/{manual}/reject");
    let big_query = format!("/menu/items?q={}", "a".repeat(100 * 1024));
    let repeated = format!("/menu/items?{}", "category=pizza&".repeat(1000));
    let mut many_headers = row("1,000 headers", "GET", "/menu/items");
    for i in 0..1000 {
        many_headers = many_headers.header(&format!("x-junk-{i}"), "1");
    }

    let rows = vec![
        // Paths.
        row("traversal in an item id", "GET", "/menu/items/..%2f..%2fetc%2fpasswd").expect(404, "not_found"),
        row("traversal in an order id", "GET", "/orders/..%2F..%2Fadmin").who(Who::Alice).expect(404, "not_found"),
        row("dot-dot restaurant id", "GET", "/restaurants/%2e%2e").expect(404, "not_found"),
        row("NUL order id", "GET", "/orders/%00").who(Who::Alice).expect(404, "not_found"),
        row("NUL inside an item id", "GET", "/menu/items/margherita%00.json").expect(404, "not_found"),
        row("raw NUL byte in the path", "GET", b"/menu/items/a\0b".to_vec()).parser(400),
        row("percent-encoded invalid UTF-8 in the path", "GET", "/menu/items/%FF%FE").expect(400, "invalid_argument"),
        row("raw invalid UTF-8 in the path", "GET", b"/menu/items/\xff\xfe".to_vec()).parser(400),
        row("unknown route", "GET", "/etc/passwd").expect(404, "not_found"),
        row("TRACE on a route", "TRACE", "/orders").who(Who::Alice).expect(405, "invalid_argument"),
        // Queries.
        row("limit past u64", "GET", "/menu/items?limit=99999999999999999999999").expect(400, "invalid_argument"),
        row("limit past the maximum", "GET", "/menu/items?limit=5000").expect(400, "invalid_argument"),
        row("negative limit", "GET", "/menu/items?limit=-1").expect(400, "invalid_argument"),
        row("float limit", "GET", "/menu/items?limit=1.5").expect(400, "invalid_argument"),
        row("repeated limit", "GET", "/menu/items?limit=5&limit=6").expect(400, "invalid_argument"),
        row("1,000 repeated params", "GET", repeated).expect(400, "invalid_argument"),
        row("100 KB query string", "GET", big_query).parser(431),
        row("invalid UTF-8 in the query", "GET", "/menu/items?q=%FF%FE").expect(400, "invalid_argument"),
        row("unknown order status filter", "GET", "/orders?status=DELIVERED_TO_MARS").who(Who::Ops).expect(400, "invalid_argument"),
        row("garbage cursor", "GET", "/menu/items?cursor=!!!not-a-cursor!!!").expect(400, "invalid_argument"),
        row("cursor of invalid UTF-8", "GET", "/orders?cursor=%FF%FE%FD").who(Who::Ops).expect(400, "invalid_argument"),
        row("10 KB cursor", "GET", format!("/restaurants?cursor={}", "A".repeat(10 * 1024))).expect(400, "invalid_argument"),
        // Bodies and content types.
        row("order without a content type", "POST", "/orders").who(Who::Alice).body(order_body("1", &item)).expect(415, "invalid_argument"),
        row("order as text/plain", "POST", "/orders").who(Who::Alice).header("content-type", "text/plain").body(order_body("1", &item)).expect(415, "invalid_argument"),
        row("order as XML", "POST", "/orders").who(Who::Alice).header("content-type", "application/xml").body("<order/>").expect(415, "invalid_argument"),
        row("invalid UTF-8 body", "POST", "/orders").who(Who::Alice).json(b"{\"items\":[],\"delivery_address\":\"\xff\xfe\"}".to_vec()).expect(400, "invalid_argument"),
        row("lone surrogate in a string", "POST", "/orders").who(Who::Alice).json(r#"{"items":[{"item_id":"\uD800","quantity":1}],"delivery_address":"x"}"#).expect(400, "invalid_argument"),
        row("2 MB body", "POST", "/orders").who(Who::Alice).json(vec![b' '; 2 * 1024 * 1024]).expect(413, "payload_too_large"),
        row("10,000 nested arrays", "POST", "/orders").who(Who::Alice).json(nested(10_000, "[", "]")).expect(400, "invalid_argument"),
        row("10,000 nested objects", "POST", "/orders").who(Who::Alice).json(nested(10_000, "{\"a\":", "}")).expect(400, "invalid_argument"),
        row("duplicate keys (the last wins: no items)", "POST", "/orders").who(Who::Alice).json(format!(r#"{{"items":[{{"item_id":"{item}","quantity":1}}],"items":[],"delivery_address":"x"}}"#)).expect(400, "invalid_argument"),
        row("a JSON number for a body", "POST", "/orders").who(Who::Alice).json("42").expect(400, "invalid_argument"),
        row("quantity past u64", "POST", "/orders").who(Who::Alice).json(order_body("18446744073709551616", &item)).expect(400, "invalid_argument"),
        row("quantity past u32", "POST", "/orders").who(Who::Alice).json(order_body("4294967296", &item)).expect(400, "invalid_argument"),
        row("negative quantity", "POST", "/orders").who(Who::Alice).json(order_body("-1", &item)).expect(400, "invalid_argument"),
        row("zero quantity", "POST", "/orders").who(Who::Alice).json(order_body("0", &item)).expect(400, "invalid_argument"),
        row("quantity over 50", "POST", "/orders").who(Who::Alice).json(order_body("51", &item)).expect(400, "invalid_argument"),
        row("float quantity", "POST", "/orders").who(Who::Alice).json(order_body("2.5", &item)).expect(400, "invalid_argument"),
        row("quantity as a string", "POST", "/orders").who(Who::Alice).json(order_body("\"2\"", &item)).expect(400, "invalid_argument"),
        row("no items", "POST", "/orders").who(Who::Alice).json(r#"{"items":[],"delivery_address":"x"}"#).expect(400, "invalid_argument"),
        row("NUL in the address", "POST", "/orders").who(Who::Alice).json(format!(r#"{{"items":[{{"item_id":"{item}","quantity":1}}],"delivery_address":"1 Main\u0000St"}}"#)).expect(400, "invalid_argument"),
        row("500 KB address", "POST", "/orders").who(Who::Alice).json(format!(r#"{{"items":[{{"item_id":"{item}","quantity":1}}],"delivery_address":"{}"}}"#, "a".repeat(500 * 1024))).expect(400, "invalid_argument"),
        row("NUL in a delivery note", "PUT", status_path.clone()).who(Who::Ops).json(r#"{"status":"FAILED","note":"a\u0000b"}"#).expect(400, "invalid_argument"),
        row("terminal escape in a courier name", "PUT", "/couriers/courier-9").who(Who::Ops).json(r#"{"name":"\u001b[2J\u001b[31mpwned"}"#).expect(400, "invalid_argument"),
        row("restaurant open as a string", "PATCH", "/restaurants/trattoria-da-luca").who(Who::Ops).json(r#"{"open":"yes"}"#).expect(400, "invalid_argument"),
        row("shift as a number", "PUT", "/couriers/courier-1/shift").who(Who::Ops).json(r#"{"on_shift":1}"#).expect(400, "invalid_argument"),
        // Statuses and versions.
        row("unknown delivery status", "PUT", status_path.clone()).who(Who::Ops).json(r#"{"status":"TELEPORTED"}"#).expect(400, "invalid_argument"),
        row("lower-case delivery status", "PUT", status_path.clone()).who(Who::Ops).json(r#"{"status":"delivered"}"#).expect(400, "invalid_argument"),
        row("numeric delivery status", "PUT", status_path.clone()).who(Who::Ops).json(r#"{"status":5}"#).expect(400, "invalid_argument"),
        row("stale version", "PUT", status_path.clone()).who(Who::Ops).json(json!({"status":"FAILED","version":version - 1}).to_string()).expect(409, "version_conflict"),
        row("future version", "PUT", status_path.clone()).who(Who::Ops).json(json!({"status":"FAILED","version":version + 1000}).to_string()).expect(409, "version_conflict"),
        row("negative version", "PUT", status_path.clone()).who(Who::Ops).json(r#"{"status":"FAILED","version":-1}"#).expect(400, "invalid_argument"),
        row("version past u64", "PUT", status_path.clone()).who(Who::Ops).json(r#"{"status":"FAILED","version":18446744073709551616}"#).expect(400, "invalid_argument"),
        row("If-Match that is not a version", "PUT", status_path.clone()).who(Who::Ops).header("if-match", "\"abc\"").json(r#"{"status":"FAILED"}"#).expect(400, "invalid_argument"),
        row("If-Match with a stale version", "PUT", status_path.clone()).who(Who::Ops).header("if-match", format!("\"{}\"", version + 1000)).json(r#"{"status":"FAILED"}"#).expect(409, "version_conflict"),
        row("accept with negative prep minutes", "POST", accept_path.clone()).who(Who::Tandoor).json(r#"{"prep_minutes":-5}"#).expect(400, "invalid_argument"),
        row("accept with a year of prep minutes", "POST", accept_path.clone()).who(Who::Tandoor).json(r#"{"prep_minutes":525600}"#).expect(400, "invalid_argument"),
        row("accept with ready_by not a time", "POST", accept_path.clone()).who(Who::Tandoor).json(r#"{"ready_by":"yesterday"}"#).expect(400, "invalid_argument"),
        row("accept with ready_by in 1970", "POST", accept_path).who(Who::Tandoor).json(r#"{"ready_by":"1970-01-01T00:00:00Z"}"#).expect(422, "invalid_argument"),
        row("reject with an empty reason", "POST", reject_path.clone()).who(Who::Tandoor).json(r#"{"reason":""}"#).expect(400, "invalid_argument"),
        row("reject with a numeric reason", "POST", reject_path).who(Who::Tandoor).json(r#"{"reason":7}"#).expect(400, "invalid_argument"),
        // Headers.
        row("100 KB header", "GET", "/menu/items").header("x-junk", "a".repeat(100 * 1024)).parser(431),
        many_headers.parser(431),
        row("Authorization of invalid UTF-8", "GET", "/orders").header("authorization", b"Bearer \xff\xfe".to_vec()).expect(401, "unauthenticated"),
        row("10 KB Idempotency-Key", "POST", "/orders").who(Who::Alice).header("idempotency-key", "k".repeat(10 * 1024)).json(order_body("1", &item)).expect(400, "invalid_argument"),
        row("Idempotency-Key with a tab", "POST", "/orders").who(Who::Alice).header("idempotency-key", "a\tb").json(order_body("1", &item)).expect(400, "invalid_argument"),
        row("Idempotency-Key of invalid UTF-8", "POST", "/orders").who(Who::Alice).header("idempotency-key", b"\xff\xfe".to_vec()).json(order_body("1", &item)).expect(400, "invalid_argument"),
        // Ids a person types.
        row("short id of no order", "GET", "/orders/zzzzzzzz").who(Who::Alice).expect(404, "not_found"),
        row("short id of punctuation", "GET", "/orders/%21%40%23%24%25%5E%26%2A").who(Who::Alice).expect(404, "not_found"),
        row("10 KB order id", "GET", format!("/orders/{}", "7".repeat(10 * 1024))).who(Who::Alice).expect(404, "not_found"),
        row("short delivery id of SQL", "GET", "/delivery/status/'%20OR%201=1--").who(Who::Ops).expect(404, "not_found"),
        row("one-character order id", "GET", "/orders/%25").who(Who::Alice).expect(404, "not_found"),
    ];

    for row in rows {
        let res = send_raw(stack.addr, &row.to_bytes(stack.addr)).await;
        let mismatch = check(&row, &res);
        tally.record("rest", row.name, res.status >= 500, mismatch);
    }
}

/// Why `res` is not what `row` expects, if it is not.
fn check(row: &Row, res: &RawResponse) -> Option<String> {
    let body = String::from_utf8_lossy(&res.body);
    let shown: String = body.chars().take(300).collect();
    match row.expect {
        Expect::Parser(status) if res.status == status => None,
        Expect::Error(status, code) if res.status == status => {
            let json: Value = serde_json::from_slice(&res.body).unwrap_or(Value::Null);
            let message = json["error"]["message"].as_str().unwrap_or_default();
            (json["error"]["code"] != code || message.is_empty())
                .then(|| format!("{} with body {shown}", res.status))
        }
        expect => Some(format!("expected {expect:?}, got {} {shown}", res.status)),
    }
}
