//! A whole platform per test (`food_stack::testing`): menu, order and
//! delivery on port 0 with SQLite in a temp dir and the gateway in front of
//! them, on an in-memory broker of the test's own, with two customer keys,
//! two courier keys, two kitchen keys and an ops key; and the requests the
//! tests make.

use std::{collections::VecDeque, net::SocketAddr, time::Duration};

use food_client::sse::SseParser;
use futures::StreamExt;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

pub const ALICE: &str = "alice-key";
pub const BOB: &str = "bob-key";
/// `courier-1`'s key.
pub const COURIER: &str = "courier-key";
/// `courier-2`'s key.
pub const COURIER2: &str = "courier2-key";
pub const OPS: &str = "ops-key";
/// The kitchen of [`AUTO_KITCHEN`] (accepts at once).
pub const KITCHEN: &str = "kitchen-key";
/// The kitchen of [`MANUAL_KITCHEN`] (accepts by hand).
pub const TANDOOR: &str = "tandoor-key";

/// The restaurant test orders come from (`create_order`): it accepts at once.
pub const AUTO_KITCHEN: &str = "trattoria-da-luca";
/// A seed restaurant that accepts by hand.
pub const MANUAL_KITCHEN: &str = "maison-tandoor";

/// A well-formed key the gateway does not know.
pub const BAD_KEY: &str = "food_ops_0000000000000000";

/// Who calls, for table-driven tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    Anonymous,
    /// A `Bearer` key the gateway does not know ([`BAD_KEY`]).
    BadKey,
    Alice,
    Bob,
    /// `courier-1`.
    Courier,
    Ops,
    /// [`AUTO_KITCHEN`]'s key: the restaurant of the orders tests create.
    Kitchen,
    /// [`MANUAL_KITCHEN`]'s key: another restaurant for those orders.
    Tandoor,
    /// `courier-2`.
    Courier2,
}

impl Who {
    /// The callers of the access matrix, in its columns' order.
    pub const ALL: [Who; 8] = [
        Who::Anonymous,
        Who::BadKey,
        Who::Alice,
        Who::Bob,
        Who::Courier,
        Who::Ops,
        Who::Kitchen,
        Who::Tandoor,
    ];

    pub fn key(self) -> Option<&'static str> {
        match self {
            Who::Anonymous => None,
            Who::BadKey => Some(BAD_KEY),
            Who::Alice => Some(ALICE),
            Who::Bob => Some(BOB),
            Who::Courier => Some(COURIER),
            Who::Ops => Some(OPS),
            Who::Kitchen => Some(KITCHEN),
            Who::Tandoor => Some(TANDOOR),
            Who::Courier2 => Some(COURIER2),
        }
    }
}

pub struct Options {
    pub rate_limit_per_sec: u32,
    pub body_limit_bytes: usize,
    pub graphiql: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            rate_limit_per_sec: 0,
            body_limit_bytes: 1024 * 1024,
            graphiql: false,
        }
    }
}

/// A `POST /orders` body of `items` (id, quantity) to "1 Main St".
fn order_body(items: &[(&str, u32)]) -> Value {
    let lines: Vec<Value> = items
        .iter()
        .map(|(id, quantity)| json!({"item_id": id, "quantity": quantity}))
        .collect();
    json!({"items": lines, "delivery_address": "1 Main St"})
}

/// The platform (`food_stack::testing`, torn down when dropped) and a
/// client for its gateway.
pub struct TestStack {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    /// The platform itself: its services' gRPC addresses for tests that
    /// bypass the gateway.
    pub platform: food_stack::testing::TestStack,
}

pub async fn spawn_stack() -> TestStack {
    spawn_stack_with(Options::default()).await
}

/// The platform as `food-stack` starts it, on a broker of the test's own,
/// with the test keys (ALICE, BOB, COURIER, OPS) beside the generated
/// local ones.
pub async fn spawn_stack_with(options: Options) -> TestStack {
    let platform = food_stack::testing::TestStack::builder()
        .customer_key(ALICE, "alice")
        .customer_key(BOB, "bob")
        .courier_key_for(COURIER, "courier-1")
        .courier_key_for(COURIER2, "courier-2")
        .restaurant_key(KITCHEN, AUTO_KITCHEN)
        .restaurant_key(TANDOOR, MANUAL_KITCHEN)
        .ops_key(OPS)
        .gateway(|g| {
            g.rate_limit_per_sec = options.rate_limit_per_sec;
            g.body_limit_bytes = options.body_limit_bytes;
            g.graphiql = options.graphiql;
        })
        .start()
        .await;
    TestStack {
        addr: platform.gateway,
        client: reqwest::Client::new(),
        platform,
    }
}

impl TestStack {
    /// The platform itself: its generated local keys, data dir, broker and
    /// topic prefix.
    pub fn platform(&self) -> &food_stack::testing::TestStack {
        &self.platform
    }

    /// Stops one service behind the gateway (a downstream outage).
    pub async fn stop_service(&mut self, name: &str) {
        self.platform.stop_part(name).await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn request(&self, method: Method, path: &str, who: Who) -> RequestBuilder {
        let req = self.client.request(method, self.url(path));
        match who.key() {
            Some(k) => req.bearer_auth(k),
            None => req,
        }
    }

    pub fn get(&self, path: &str, who: Who) -> RequestBuilder {
        self.request(Method::GET, path, who)
    }

    /// `GET path` as `who`, asserting a 200, as JSON.
    pub async fn get_json(&self, path: &str, who: Who) -> Value {
        let res = self.get(path, who).send().await.unwrap();
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    /// `POST /orders` of `items` (id, quantity) as `who`.
    pub async fn post_order(&self, who: Who, items: &[(&str, u32)]) -> Response {
        self.request(Method::POST, "/orders", who)
            .json(&order_body(items))
            .send()
            .await
            .unwrap()
    }

    /// `POST /orders` of `items` as `who` through [`TestStack::place`]; the
    /// order.
    pub async fn place_order(&self, who: Who, items: &[(&str, u32)]) -> Value {
        self.place(who, order_body(items)).await
    }

    /// `POST /orders` of `body` as `who`, as a careful client places an
    /// order: with an `Idempotency-Key`, retried on a 503 (the contract's
    /// "retry shortly": a machine running many platforms at once can keep a
    /// call past the gateway's downstream timeout) for up to 20 s; asserts
    /// a 201 (or, after a retry, the 200 that finds the order taken) and
    /// returns the order.
    pub async fn place(&self, who: Who, body: Value) -> Value {
        let key = format!("place-{:016x}", rand::random::<u64>());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let mut retried = false;
        loop {
            let res = self
                .request(Method::POST, "/orders", who)
                .header("Idempotency-Key", &key)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = res.status();
            let answer: Value = res.json().await.unwrap_or(Value::Null);
            if status == StatusCode::SERVICE_UNAVAILABLE && tokio::time::Instant::now() < deadline {
                eprintln!("POST /orders {body}: 503, retrying: {answer}");
                tokio::time::sleep(Duration::from_millis(200)).await;
                retried = true;
                continue;
            }
            assert!(
                status == StatusCode::CREATED || (retried && status == StatusCode::OK),
                "POST /orders {body}: {status} {answer}"
            );
            return answer;
        }
    }

    /// Some item that can be ordered, from [`AUTO_KITCHEN`] (so that its
    /// orders are accepted at once and may be picked up).
    pub async fn available_item(&self) -> Value {
        self.available_item_of(AUTO_KITCHEN).await
    }

    /// Some item of `restaurant` that can be ordered.
    pub async fn available_item_of(&self, restaurant: &str) -> Value {
        let list = self
            .get_json(
                &format!("/restaurants/{restaurant}/menu?available=true&limit=5"),
                Who::Anonymous,
            )
            .await;
        list["items"][0].clone()
    }

    /// Creates an order of [`AUTO_KITCHEN`]'s as `who` and returns it.
    pub async fn create_order(&self, who: Who) -> Value {
        self.create_order_at(who, AUTO_KITCHEN).await
    }

    /// Creates an order of `restaurant`'s as `who` and returns it (PLACED).
    pub async fn create_order_at(&self, who: Who, restaurant: &str) -> Value {
        let item = self.available_item_of(restaurant).await;
        let mut body = json!({
            "items": [{"item_id": item["id"], "quantity": 2}],
            "delivery_address": "1 Main St",
        });
        if who == Who::Ops {
            body["customer_id"] = json!("alice");
        }
        self.place(who, body).await
    }

    /// The order's delivery, once delivery-service has created it from the
    /// OrderPlaced event.
    pub async fn wait_for_delivery(&self, order_id: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let res = self
                .get(&format!("/delivery/status/{order_id}"), Who::Ops)
                .send()
                .await
                .unwrap();
            if res.status() == StatusCode::OK {
                return res.json().await.unwrap();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no delivery for {order_id}: last answer {}",
                res.status()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `GET path` as `who` until `done` holds for the answer (404s
    /// meanwhile are waited out), at most 20 s.
    pub async fn eventually(&self, path: &str, who: Who, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let res = self.get(path, who).send().await.unwrap();
            let status = res.status();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            if status == StatusCode::OK && done(&body) {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "GET {path} as {who:?} never got there: {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Moves the delivery of `order_id` as `who`: ASSIGNED names
    /// `courier-1` (a courier key claims it for itself). A pick-up waits
    /// out `not_accepted` while delivery-service has not yet heard that
    /// the kitchen accepted (the event follows the order by milliseconds).
    pub async fn put_status(&self, order_id: &str, status: &str, who: Who) -> Response {
        let body = match (status, who) {
            ("ASSIGNED", Who::Ops) => json!({ "status": status, "courier": "courier-1" }),
            _ => json!({ "status": status }),
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let res = self
                .request(Method::PUT, &format!("/delivery/status/{order_id}"), who)
                .json(&body)
                .send()
                .await
                .unwrap();
            if res.status() != StatusCode::CONFLICT
                || status != "PICKED_UP"
                || tokio::time::Instant::now() >= deadline
            {
                return res;
            }
            let headers = res.headers().clone();
            let text = res.text().await.unwrap_or_default();
            if !text.contains("\"not_accepted\"") {
                // Another refusal: hand it back as it came.
                let mut back = http::Response::builder().status(StatusCode::CONFLICT);
                for (name, value) in &headers {
                    back = back.header(name, value);
                }
                return back.body(text).unwrap().into();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn graphql(&self, who: Who, query: &str, variables: Value) -> Value {
        let res = self
            .request(Method::POST, "/graphql", who)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }
}

/// Asserts the documented error shape and returns the body.
pub async fn assert_error(res: Response, status: StatusCode, code: &str) -> Value {
    let actual = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(actual, status, "body: {body}");
    assert_eq!(body["error"]["code"], code, "body: {body}");
    assert!(body["error"]["message"].is_string(), "body: {body}");
    body
}

/// One Server-Sent Event.
#[derive(Debug, Default, Clone)]
pub struct SseEvent {
    pub event: String,
    pub id: String,
    pub data: String,
}

impl SseEvent {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap()
    }
}

/// Reads Server-Sent Events from a streaming response body with the
/// clients' parser (food_client::sse), adding a patience per event.
pub struct SseReader {
    body: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    parser: SseParser,
    ready: VecDeque<food_client::sse::SseEvent>,
}

impl SseReader {
    pub fn new(res: Response) -> Self {
        assert_eq!(res.status(), StatusCode::OK);
        let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        Self {
            body: res.bytes_stream().boxed(),
            parser: SseParser::new(),
            ready: VecDeque::new(),
        }
    }

    /// The next event (comments such as keep-alives are skipped), or `None`
    /// when the stream ends or `patience` runs out.
    pub async fn next(&mut self, patience: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            if let Some(e) = self.ready.pop_front() {
                return Some(SseEvent {
                    event: e.event,
                    id: e.id.unwrap_or_default(),
                    data: e.data,
                });
            }
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Ok(Some(Ok(chunk))) => self.ready.extend(self.parser.push(&chunk)),
                _ => return None,
            }
        }
    }
}

/// A GraphQL WebSocket (`graphql-transport-ws`) after `connection_ack`.
pub type GraphqlSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl TestStack {
    /// Opens a GraphQL WebSocket as `who` and starts the subscription
    /// `query` with `variables` under the id `"1"`.
    pub async fn subscribe(&self, who: Who, query: &str, variables: Value) -> GraphqlSocket {
        use futures::SinkExt;
        use tokio_tungstenite::tungstenite::Message;
        let mut ws = self.graphql_socket(who).await;
        assert_eq!(next_ws_message(&mut ws).await["type"], "connection_ack");
        let subscribe = json!({
            "id": "1",
            "type": "subscribe",
            "payload": {"query": query, "variables": variables},
        });
        ws.send(Message::Text(subscribe.to_string().into()))
            .await
            .unwrap();
        ws
    }

    /// Opens a GraphQL WebSocket and sends `connection_init` with `who`'s
    /// key; the gateway's answer (ack, or a close for a refused key) is
    /// the next message.
    pub async fn graphql_socket(&self, who: Who) -> GraphqlSocket {
        use futures::SinkExt;
        use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};
        let mut request = format!("ws://{}/graphql", self.addr)
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let payload = match who.key() {
            Some(key) => json!({"Authorization": format!("Bearer {key}")}),
            None => json!({}),
        };
        let init = json!({"type": "connection_init", "payload": payload});
        ws.send(Message::Text(init.to_string().into()))
            .await
            .unwrap();
        ws
    }
}

/// The next protocol message other than ping and pong, within 10 s.
pub async fn next_ws_message(ws: &mut GraphqlSocket) -> Value {
    use tokio_tungstenite::tungstenite::Message;
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

/// The error code of a GraphQL answer or subscription message.
pub fn graphql_code(msg: &Value) -> &str {
    let errors = if msg["type"] == "error" {
        &msg["payload"]
    } else if msg["payload"].is_object() {
        &msg["payload"]["errors"]
    } else {
        &msg["errors"]
    };
    errors[0]["extensions"]["code"].as_str().unwrap_or("<none>")
}
