//! GraphQL subscriptions over WebSocket (`graphql-transport-ws`) misused:
//! the wrong subprotocol, silence instead of `connection_init`, init
//! floods, oversized frames, thousands of subscriptions on one socket,
//! messages that are not JSON. Each is refused with the protocol's close
//! code (or an `error` message), never left to grow.

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Error as WsError, Message, client::IntoClientRequest};

use crate::{
    Tally,
    helpers::{GraphqlSocket, TestStack, Who, next_ws_message},
};

/// How many subscribe messages the flood sends on one socket.
const SUBSCRIBE_FLOOD: usize = 2000;

/// Opens `/graphql` with `subprotocol`; the HTTP status when refused.
async fn open(stack: &TestStack, subprotocol: &str) -> Result<GraphqlSocket, (u16, Value)> {
    let mut request = format!("ws://{}/graphql", stack.addr)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", subprotocol.parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => Ok(ws),
        Err(WsError::Http(res)) => {
            let body = res.body().as_deref().unwrap_or_default();
            Err((
                res.status().as_u16(),
                serde_json::from_slice(body).unwrap_or(Value::Null),
            ))
        }
        Err(e) => panic!("upgrade failed: {e}"),
    }
}

/// Opens a socket and acknowledges it as `who`.
async fn open_acked(stack: &TestStack, who: Who) -> GraphqlSocket {
    let mut ws = open(stack, "graphql-transport-ws").await.unwrap();
    let key = who.key().unwrap();
    send(
        &mut ws,
        json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {key}")}}),
    )
    .await;
    assert_eq!(next_ws_message(&mut ws).await["type"], "connection_ack");
    ws
}

async fn send(ws: &mut GraphqlSocket, message: Value) {
    ws.send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

/// The code of the close frame that ends `ws` within `patience` (`None`
/// when it stays open or ends without one).
async fn close_code(ws: &mut GraphqlSocket, patience: Duration) -> Option<u16> {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| f.code.into()),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(_)) | None) | Err(_) => return None,
        }
    }
}

pub async fn run(stack: &TestStack, tally: &mut Tally) {
    // Wrong and missing subprotocols are refused before the upgrade.
    for (name, subprotocol) in [
        ("wrong subprotocol", "graphql-evil"),
        ("empty subprotocol", ""),
    ] {
        let mismatch = match open(stack, subprotocol).await {
            Err((400, body)) if body["error"]["code"] == "invalid_argument" => None,
            Err((status, body)) => Some(format!("{status} {body}")),
            Ok(_) => Some("upgraded".to_owned()),
        };
        tally.record("websocket", name, false, mismatch);
    }

    // Silence after the upgrade: 4408 once the init timeout passes.
    let mut ws = open(stack, "graphql-transport-ws").await.unwrap();
    let started = Instant::now();
    let code = close_code(&mut ws, Duration::from_secs(15)).await;
    let waited = started.elapsed();
    tally.record(
        "websocket",
        "no connection_init",
        false,
        (code != Some(4408)).then(|| format!("closed with {code:?} after {waited:?}")),
    );

    // A second connection_init: 4429.
    let mut ws = open_acked(stack, Who::Ops).await;
    for _ in 0..50 {
        let _ = ws
            .send(Message::Text(
                json!({"type": "connection_init"}).to_string().into(),
            ))
            .await;
    }
    let code = close_code(&mut ws, Duration::from_secs(5)).await;
    tally.record(
        "websocket",
        "init flood",
        false,
        (code != Some(4429)).then(|| format!("{code:?}")),
    );

    // A subscribe before the connection is acknowledged: 4401.
    let mut ws = open(stack, "graphql-transport-ws").await.unwrap();
    send(&mut ws, json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { orderStatusChanged(restaurantId: \"x\") { id } }"}})).await;
    let code = close_code(&mut ws, Duration::from_secs(5)).await;
    tally.record(
        "websocket",
        "subscribe before init",
        false,
        (code != Some(4401)).then(|| format!("{code:?}")),
    );

    // A message that is not JSON: 4400.
    let mut ws = open_acked(stack, Who::Ops).await;
    ws.send(Message::Text("{not json".into())).await.unwrap();
    let code = close_code(&mut ws, Duration::from_secs(5)).await;
    tally.record(
        "websocket",
        "malformed message",
        false,
        (code != Some(4400)).then(|| format!("{code:?}")),
    );

    // A frame above the message limit (the HTTP body limit, 1 MiB): the
    // socket is dropped at once (tungstenite refuses the frame; no close
    // frame is sent), where axum's default would have read 64 MiB.
    let mut ws = open_acked(stack, Who::Ops).await;
    let _ = ws
        .send(Message::Text("x".repeat(2 * 1024 * 1024).into()))
        .await;
    let started = Instant::now();
    let code = close_code(&mut ws, Duration::from_secs(5)).await;
    let closed = matches!(code, None | Some(1009)) && started.elapsed() < Duration::from_secs(5);
    tally.record(
        "websocket",
        "2 MiB frame",
        false,
        (!closed).then(|| format!("{code:?}")),
    );

    // The same subscription id twice: 4409.
    let mut ws = open_acked(stack, Who::Ops).await;
    let subscribe = |id: String| json!({"id": id, "type": "subscribe", "payload": {"query": "subscription { orderStatusChanged(restaurantId: \"trattoria-da-luca\") { id } }"}});
    send(&mut ws, subscribe("1".into())).await;
    send(&mut ws, subscribe("1".into())).await;
    let code = close_code(&mut ws, Duration::from_secs(5)).await;
    tally.record(
        "websocket",
        "duplicate subscription id",
        false,
        (code != Some(4409)).then(|| format!("{code:?}")),
    );

    // Thousands of subscriptions on one socket: those past the cap get an
    // `error` each, the socket stays usable.
    let mut ws = open_acked(stack, Who::Ops).await;
    for i in 0..SUBSCRIBE_FLOOD {
        send(&mut ws, subscribe(i.to_string())).await;
    }
    send(&mut ws, json!({"type": "ping"})).await;
    let mut refused = 0;
    let mismatch = loop {
        let msg = match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                serde_json::from_str::<Value>(text.as_str()).unwrap()
            }
            Ok(Some(Ok(_))) => continue,
            other => break Some(format!("socket ended: {other:?} after {refused} refusals")),
        };
        match msg["type"].as_str() {
            Some("pong") => break (refused == 0).then(|| "no subscription was refused".to_owned()),
            Some("error") => {
                let message = msg["payload"][0]["message"].as_str().unwrap_or_default();
                if !message.contains("subscriptions") {
                    break Some(format!("unclear refusal {msg}"));
                }
                refused += 1;
            }
            _ => break Some(format!("unexpected {msg}")),
        }
    };
    tally.record(
        "websocket",
        "2,000 subscriptions on one socket",
        false,
        mismatch,
    );
}
