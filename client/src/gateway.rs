//! The gateway's REST API over reqwest: bearer auth, request timeouts,
//! retries on connection errors, error bodies turned into [`ApiError`], and
//! event streams opened as [`EventStream`]s.
//!
//! The client knows nothing of a caller's flags or files: it takes a plain
//! [`Endpoint`]. Bodies come back typed (`food_api` shapes) or raw, for
//! callers that print what the gateway sent in its own field order.

use std::time::{Duration, Instant};

use bytes::Bytes;
use food_api::{
    AcceptOrder, Courier, CourierList, CourierShift, ErrorBody, ErrorCode, Order, PutCourier,
    RejectOrder,
};
use reqwest::{Method, RequestBuilder, Response, StatusCode, header};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

use crate::sse::EventStream;

/// Tries per request when the connection fails (the request never arrived,
/// so repeating it is safe; creates carry an idempotency key anyway).
const TRIES: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait for a connection, however long a request may take: a
/// gateway that does not accept within it is not there.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the gateway is and who we are there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Base URL without a trailing slash, so paths join cleanly.
    pub url: String,
    /// API key sent as `Authorization: Bearer`.
    pub token: Option<String>,
    /// Bounds each plain request, and the opening of a stream (not its life).
    pub timeout: Duration,
}

impl Endpoint {
    /// Checks and normalises the URL (see [`normalise_gateway`]); an empty
    /// token is no token.
    pub fn new(url: &str, token: Option<String>, timeout: Duration) -> Result<Self, BadGateway> {
        Ok(Self {
            url: normalise_gateway(url)?,
            token: token.filter(|t| !t.is_empty()),
            timeout,
        })
    }
}

/// A gateway URL that cannot be one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BadGateway {
    #[error("gateway `{0}` must start with http:// or https://")]
    NoScheme(String),
    #[error("gateway `{0}` has no host")]
    NoHost(String),
}

/// Checks the URL early (a typo should not look like an outage) and drops a
/// trailing slash so paths join cleanly.
pub fn normalise_gateway(url: &str) -> Result<String, BadGateway> {
    let u = url.trim();
    let scheme = ["http://", "https://"]
        .into_iter()
        .find(|s| u.starts_with(s))
        .ok_or_else(|| BadGateway::NoScheme(url.to_owned()))?;
    // The scheme's own slashes are not a trailing slash.
    let rest = u[scheme.len()..].trim_end_matches('/');
    if rest.is_empty() {
        return Err(BadGateway::NoHost(url.to_owned()));
    }
    Ok(format!("{scheme}{rest}"))
}

/// A failed call to the gateway.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The gateway answered with an error: its status and its error body
    /// (one made up from the status when the body was not the API's).
    #[error("{} ({}, HTTP {status})", body.error.message, body.error.code)]
    Api { status: u16, body: ErrorBody },
    /// Nothing answered.
    #[error("cannot reach the gateway at {gateway}: {}", root_cause(source))]
    Unreachable {
        gateway: String,
        source: reqwest::Error,
    },
    /// No answer in time.
    #[error("the gateway did not answer within {0:?}")]
    TimedOut(Duration),
    /// An open event stream broke off (a restart, a proxy cutting it).
    #[error("the event stream from {gateway} broke: {}", root_cause(source))]
    Interrupted {
        gateway: String,
        source: reqwest::Error,
    },
    /// An answer we cannot read.
    #[error("unexpected answer from the gateway: {0}")]
    Protocol(String),
}

impl ApiError {
    /// The API's machine code, for an error the gateway answered with.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { body, .. } => Some(&body.error.code),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Api { status: 404, .. })
    }

    /// Worth trying again later: the gateway or a service behind it is
    /// away, busy or slow. The code decides when it is one we know, the
    /// status otherwise (a proxy's page).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Api { status, body } => match ErrorCode::parse(&body.error.code) {
                Some(code) => matches!(
                    code,
                    ErrorCode::RateLimited | ErrorCode::Unavailable | ErrorCode::Timeout
                ),
                None => matches!(status, 408 | 429 | 502 | 503 | 504),
            },
            Self::Unreachable { .. } | Self::TimedOut(_) | Self::Interrupted { .. } => true,
            Self::Protocol(_) => false,
        }
    }

    /// The error as the API's error object (`{"code", "message",
    /// "details"}`), for errors that must be printed as data.
    pub fn to_error_json(&self) -> Value {
        match self {
            Self::Api { body, .. } => serde_json::to_value(&body.error).unwrap_or(Value::Null),
            Self::Unreachable { .. } | Self::Interrupted { .. } => {
                error_json(ErrorCode::Unavailable, &self.to_string())
            }
            Self::TimedOut(_) => error_json(ErrorCode::Timeout, &self.to_string()),
            Self::Protocol(_) => error_json(ErrorCode::Internal, &self.to_string()),
        }
    }
}

/// The innermost cause (`Connection refused (os error 111)`), without
/// reqwest's layers of context.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// `{"code", "message", "details": {}}` for an error a client found itself.
pub fn error_json(code: ErrorCode, message: &str) -> Value {
    serde_json::to_value(ErrorBody::new(code, message).error).unwrap_or(Value::Null)
}

/// The HTTP client could not be set up (no TLS roots, say).
#[derive(Debug, thiserror::Error)]
#[error("building the HTTP client: {0}")]
pub struct BuildError(#[from] reqwest::Error);

/// Sets up a [`Client`].
#[derive(Debug)]
pub struct ClientBuilder {
    endpoint: Endpoint,
    user_agent: String,
    connect_timeout: Option<Duration>,
    log_prefix: Option<String>,
}

impl ClientBuilder {
    /// `User-Agent`, e.g. `foodctl/0.1.0`: the gateway's logs tell clients apart by it.
    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = agent.into();
        self
    }

    /// How long to wait for a connection [default: the endpoint's timeout,
    /// at most 5 s].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Logs each request, its status and time on stderr as `<prefix>: ...`
    /// (a command line's `-v`).
    pub fn log_requests(mut self, prefix: Option<impl Into<String>>) -> Self {
        self.log_prefix = prefix.map(Into::into);
        self
    }

    pub fn build(self) -> Result<Client, BuildError> {
        // No client-wide timeout: it would cut streams; each plain request sets its own.
        let http = reqwest::Client::builder()
            .connect_timeout(
                self.connect_timeout
                    .unwrap_or_else(|| self.endpoint.timeout.min(MAX_CONNECT_TIMEOUT)),
            )
            .user_agent(self.user_agent)
            .tcp_nodelay(true)
            .build()?;
        Ok(Client {
            http,
            endpoint: self.endpoint,
            log_prefix: self.log_prefix,
        })
    }
}

/// The gateway client; cheap to clone (the connection pool is shared).
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    endpoint: Endpoint,
    log_prefix: Option<String>,
}

impl Client {
    pub fn builder(endpoint: Endpoint) -> ClientBuilder {
        ClientBuilder {
            endpoint,
            user_agent: concat!("food-client/", env!("CARGO_PKG_VERSION")).to_owned(),
            connect_timeout: None,
            log_prefix: None,
        }
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The gateway's base URL.
    pub fn url(&self) -> &str {
        &self.endpoint.url
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut rb = self
            .http
            .request(method, format!("{}{path}", self.endpoint.url));
        if let Some(t) = &self.endpoint.token {
            rb = rb.bearer_auth(t);
        }
        rb
    }

    fn log(&self, line: impl FnOnce() -> String) {
        if let Some(prefix) = &self.log_prefix {
            eprintln!("{prefix}: {}", line());
        }
    }

    /// Sends the request `build` makes, again on connection errors, and turns
    /// error statuses into [`ApiError::Api`].
    async fn send(
        &self,
        what: &str,
        unary: bool,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, ApiError> {
        let timeout = self.endpoint.timeout;
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            let started = Instant::now();
            let mut rb = build();
            if unary {
                rb = rb.timeout(timeout);
            }
            match rb.send().await {
                Ok(resp) => {
                    self.log(|| {
                        format!("{what} -> {} in {:.1?}", resp.status(), started.elapsed())
                    });
                    return check(resp).await;
                }
                Err(e) if e.is_timeout() => return Err(ApiError::TimedOut(timeout)),
                Err(e) if e.is_connect() && attempt < TRIES => {
                    self.log(|| format!("{what}: {e}; trying again in {backoff:?}"));
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                    attempt += 1;
                }
                Err(e) if e.is_connect() || e.is_request() => {
                    return Err(ApiError::Unreachable {
                        gateway: self.endpoint.url.clone(),
                        source: e,
                    });
                }
                Err(e) => return Err(ApiError::Protocol(format!("{what}: {e}"))),
            }
        }
    }

    async fn body(
        &self,
        what: &str,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Bytes, ApiError> {
        let resp = self.send(what, true, build).await?;
        resp.bytes().await.map_err(|e| {
            if e.is_timeout() {
                ApiError::TimedOut(self.endpoint.timeout)
            } else {
                ApiError::Protocol(format!("{what}: reading the body: {e}"))
            }
        })
    }

    /// `GET path?query`: the body as sent.
    pub async fn get_raw(&self, path: &str, query: &[(&str, String)]) -> Result<Bytes, ApiError> {
        let what = format!("GET {path}");
        self.body(&what, || self.request(Method::GET, path).query(query))
            .await
    }

    /// `POST path` with a JSON body and extra headers: the body as sent.
    pub async fn post_raw<B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
        headers: &[(&str, &str)],
    ) -> Result<Bytes, ApiError> {
        self.with_body(Method::POST, path, body, headers).await
    }

    /// `PUT path` with a JSON body and extra headers: the body as sent.
    pub async fn put_raw<B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
        headers: &[(&str, &str)],
    ) -> Result<Bytes, ApiError> {
        self.with_body(Method::PUT, path, body, headers).await
    }

    /// `PATCH path` with a JSON body and extra headers: the body as sent.
    pub async fn patch_raw<B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
        headers: &[(&str, &str)],
    ) -> Result<Bytes, ApiError> {
        self.with_body(Method::PATCH, path, body, headers).await
    }

    async fn with_body<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: &B,
        headers: &[(&str, &str)],
    ) -> Result<Bytes, ApiError> {
        let what = format!("{method} {path}");
        self.body(&what, || {
            let mut rb = self.request(method.clone(), path).json(body);
            for (k, v) in headers {
                rb = rb.header(*k, *v);
            }
            rb
        })
        .await
    }

    /// `GET path?query`, decoded.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, ApiError> {
        decode(path, &self.get_raw(path, query).await?)
    }

    /// `POST path`, decoded.
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        headers: &[(&str, &str)],
    ) -> Result<T, ApiError> {
        decode(path, &self.post_raw(path, body, headers).await?)
    }

    /// `PUT path`, decoded.
    pub async fn put<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        headers: &[(&str, &str)],
    ) -> Result<T, ApiError> {
        decode(path, &self.put_raw(path, body, headers).await?)
    }

    /// `PATCH path`, decoded.
    pub async fn patch<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        headers: &[(&str, &str)],
    ) -> Result<T, ApiError> {
        decode(path, &self.patch_raw(path, body, headers).await?)
    }

    /// Opens a Server-Sent Events stream, resuming after `last_event_id`.
    /// The endpoint's timeout bounds the opening only.
    pub async fn stream(
        &self,
        path: &str,
        last_event_id: Option<&str>,
    ) -> Result<EventStream, ApiError> {
        let what = format!("GET {path} (stream)");
        let timeout = self.endpoint.timeout;
        let resp = tokio::time::timeout(
            timeout,
            self.send(&what, false, || {
                let mut rb = self
                    .request(Method::GET, path)
                    .header(header::ACCEPT, "text/event-stream");
                if let Some(id) = last_event_id {
                    rb = rb.header("Last-Event-ID", id);
                }
                rb
            }),
        )
        .await
        .map_err(|_| ApiError::TimedOut(timeout))??;
        Ok(EventStream::new(resp, self.endpoint.url.clone()))
    }
}

/// The kitchen's and the couriers' routes (docs/design.md, "Gateway API"),
/// typed. foodctl calls the same paths (see [`routes`]) to print what the
/// gateway sent in its own field order.
impl Client {
    /// `POST /orders/:id/accept`: PLACED -> PREPARING, or a new `ready_by`
    /// for a PREPARING order. The updated order.
    pub async fn accept_order(
        &self,
        order_id: &str,
        accept: &AcceptOrder,
    ) -> Result<Order, ApiError> {
        self.post(&routes::accept(order_id), accept, &[]).await
    }

    /// `POST /orders/:id/reject`: PLACED -> REJECTED with `reason`.
    pub async fn reject_order(&self, order_id: &str, reason: &str) -> Result<Order, ApiError> {
        let body = RejectOrder {
            reason: reason.to_owned(),
        };
        self.post(&routes::reject(order_id), &body, &[]).await
    }

    /// `POST /orders/:id/ready`: PREPARING -> READY_FOR_PICKUP.
    pub async fn mark_ready(&self, order_id: &str) -> Result<Order, ApiError> {
        self.post(&routes::ready(order_id), &serde_json::json!({}), &[])
            .await
    }

    /// `GET /couriers[?on_shift=]`, every page.
    pub async fn couriers(&self, on_shift: Option<bool>) -> Result<Vec<Courier>, ApiError> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut q = routes::couriers_query(on_shift);
            q.push(("limit", food_api::MAX_LIMIT.to_string()));
            if let Some(c) = &cursor {
                q.push(("cursor", c.clone()));
            }
            let page: CourierList = self.get(routes::COURIERS, &q).await?;
            let got = page.couriers.len();
            all.extend(page.couriers);
            match page.next_cursor {
                // A cursor that does not move would loop forever.
                Some(next) if got > 0 && Some(&next) != cursor.as_ref() => cursor = Some(next),
                _ => return Ok(all),
            }
        }
    }

    /// `PUT /couriers/:id/shift`: the courier on or off shift.
    pub async fn set_courier_shift(
        &self,
        courier_id: &str,
        on_shift: bool,
    ) -> Result<Courier, ApiError> {
        self.put(&routes::shift(courier_id), &CourierShift { on_shift }, &[])
            .await
    }

    /// `PUT /couriers/:id`: creates or renames a courier (ops).
    pub async fn put_courier(&self, courier_id: &str, name: &str) -> Result<Courier, ApiError> {
        let body = PutCourier {
            name: name.to_owned(),
        };
        self.put(&routes::courier(courier_id), &body, &[]).await
    }
}

/// Paths of the gateway's routes that take an id, with the id encoded.
pub mod routes {
    use super::path_segment;

    pub const COURIERS: &str = "/couriers";

    pub fn order(id: &str) -> String {
        format!("/orders/{}", path_segment(id))
    }

    pub fn accept(id: &str) -> String {
        format!("/orders/{}/accept", path_segment(id))
    }

    pub fn reject(id: &str) -> String {
        format!("/orders/{}/reject", path_segment(id))
    }

    pub fn ready(id: &str) -> String {
        format!("/orders/{}/ready", path_segment(id))
    }

    pub fn courier(id: &str) -> String {
        format!("/couriers/{}", path_segment(id))
    }

    pub fn shift(id: &str) -> String {
        format!("/couriers/{}/shift", path_segment(id))
    }

    /// The query of `GET /couriers`: `on_shift=true|false` when filtered.
    pub fn couriers_query(on_shift: Option<bool>) -> Vec<(&'static str, String)> {
        on_shift
            .map(|on| vec![("on_shift", on.to_string())])
            .unwrap_or_default()
    }
}

/// A typed shape out of a body, or what the body was if it is not one.
fn decode<T: DeserializeOwned>(path: &str, body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        let text = String::from_utf8_lossy(body);
        ApiError::Protocol(format!("{path}: {e} in {}", truncate(&text, 200)))
    })
}

/// Passes 2xx through; reads anything else as an error body, inventing one
/// from the status when the body is not ours (a proxy's page, say).
async fn check(resp: Response) -> Result<Response, ApiError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let text = resp.text().await.unwrap_or_default();
    Err(error_from(status, &text))
}

fn error_from(status: StatusCode, text: &str) -> ApiError {
    let body = serde_json::from_str::<ErrorBody>(text).unwrap_or_else(|_| {
        let code = code_for_status(status);
        let msg = if text.trim().is_empty() {
            status.canonical_reason().unwrap_or("error").to_lowercase()
        } else {
            text.trim().chars().take(200).collect()
        };
        ErrorBody::new(code, msg)
    });
    ApiError::Api {
        status: status.as_u16(),
        body,
    }
}

fn code_for_status(status: StatusCode) -> ErrorCode {
    match status.as_u16() {
        502 | 503 => ErrorCode::Unavailable,
        408 | 504 => ErrorCode::Timeout,
        s => ErrorCode::ALL
            .into_iter()
            .find(|c| c.http_status() == s)
            .unwrap_or(ErrorCode::Internal),
    }
}

/// `s` cut to at most `n` bytes on a character boundary, marked when cut.
pub fn truncate(s: &str, n: usize) -> String {
    if s.len() <= n {
        s.to_owned()
    } else {
        let mut end = n;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &s[..end])
    }
}

/// Percent-encodes one path segment (an id typed by a person).
pub fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(path_segment("0190f3b2-7c1e"), "0190f3b2-7c1e");
        assert_eq!(path_segment("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn unknown_statuses_get_the_code_of_their_status() {
        assert_eq!(code_for_status(StatusCode::NOT_FOUND), ErrorCode::NotFound);
        assert_eq!(
            code_for_status(StatusCode::BAD_GATEWAY),
            ErrorCode::Unavailable
        );
        assert_eq!(
            code_for_status(StatusCode::IM_A_TEAPOT),
            ErrorCode::Internal
        );
    }

    #[test]
    fn api_errors_print_message_code_and_status() {
        let e = ApiError::Api {
            status: 409,
            body: ErrorBody::new(
                ErrorCode::InvalidTransition,
                "cannot move a delivery from PENDING to DELIVERED",
            ),
        };
        assert_eq!(
            e.to_string(),
            "cannot move a delivery from PENDING to DELIVERED (invalid_transition, HTTP 409)"
        );
        assert_eq!(e.code(), Some("invalid_transition"));
        assert_eq!(e.to_error_json()["code"], "invalid_transition");
        assert!(!e.is_transient());
    }

    #[test]
    fn a_body_that_is_not_the_apis_becomes_an_error_body_of_its_status() {
        let e = error_from(StatusCode::BAD_GATEWAY, "<html>bad gateway</html>");
        let ApiError::Api { status, body } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(*status, 502);
        assert_eq!(body.error.code, "unavailable");
        assert_eq!(body.error.message, "<html>bad gateway</html>");
        assert!(e.is_transient());
        let e = error_from(StatusCode::NOT_FOUND, "");
        assert_eq!(e.to_string(), "not found (not_found, HTTP 404)");
        assert!(e.is_not_found());
    }

    #[test]
    fn an_api_error_body_is_kept_whole() {
        let text = r#"{"error":{"code":"version_conflict","message":"stale","details":{"current_version":3}}}"#;
        let e = error_from(StatusCode::CONFLICT, text);
        assert_eq!(e.code(), Some("version_conflict"));
        assert_eq!(e.to_error_json()["details"]["current_version"], 3);
    }

    #[test]
    fn transient_errors_are_the_unavailable_and_slow_ones() {
        let api = |status, code| ApiError::Api {
            status,
            body: ErrorBody::new(code, "x"),
        };
        assert!(api(429, ErrorCode::RateLimited).is_transient());
        assert!(api(503, ErrorCode::Timeout).is_transient());
        assert!(!api(404, ErrorCode::NotFound).is_transient());
        assert!(ApiError::TimedOut(Duration::from_secs(1)).is_transient());
        assert!(!ApiError::Protocol("x".into()).is_transient());
    }

    #[test]
    fn errors_found_by_the_client_use_the_api_error_shape() {
        let v = error_json(ErrorCode::InvalidArgument, "line 3 is not JSON");
        assert_eq!(
            v,
            serde_json::json!({"code": "invalid_argument", "message": "line 3 is not JSON", "details": {}})
        );
    }

    #[test]
    fn gateway_urls_need_a_scheme_and_a_host_and_lose_a_trailing_slash() {
        assert_eq!(
            normalise_gateway(" http://127.0.0.1:8080/ ").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            normalise_gateway("localhost:8080").unwrap_err().to_string(),
            "gateway `localhost:8080` must start with http:// or https://"
        );
        assert_eq!(
            normalise_gateway("https://").unwrap_err(),
            BadGateway::NoHost("https://".into())
        );
        let e = Endpoint::new("https://food.example/", Some(String::new()), DEFAULT).unwrap();
        assert_eq!((e.url.as_str(), e.token), ("https://food.example", None));
    }

    const DEFAULT: Duration = crate::DEFAULT_TIMEOUT;

    #[test]
    fn long_texts_are_cut_on_a_character_boundary() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("café au lait", 4), "caf…");
    }

    /// Serves one canned HTTP response per connection, written in `parts`
    /// with a pause between them, and returns the gateway's URL.
    async fn serve(parts: Vec<&'static [u8]>) -> String {
        serve_seen(parts).await.0
    }

    /// [`serve`], also handing back the head of each request it answers.
    async fn serve_seen(
        parts: Vec<&'static [u8]>,
    ) -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (seen_tx, seen) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let parts = parts.clone();
                let seen_tx = seen_tx.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let _ = seen_tx.send(String::from_utf8_lossy(&head).into_owned());
                    for part in parts {
                        let _ = conn.write_all(part).await;
                        let _ = conn.flush().await;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                });
            }
        });
        (url, seen)
    }

    /// One JSON answer with `status` (`"200 OK"`), in two parts.
    fn json_answer(status: &str, body: &'static str) -> Vec<&'static [u8]> {
        let head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        vec![Box::leak(head.into_boxed_str()).as_bytes(), body.as_bytes()]
    }

    fn client(url: &str) -> Client {
        Client::builder(Endpoint::new(url, Some("k".into()), DEFAULT).unwrap())
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn an_error_status_comes_back_with_its_status_and_body() {
        let url = serve(vec![
            b"HTTP/1.1 409 Conflict\r\ncontent-type: application/json\r\ncontent-length: 66\r\nconnection: close\r\n\r\n",
            br#"{"error":{"code":"not_cancellable","message":"picked up already"}}"#,
        ])
        .await;

        let err = client(&url)
            .get::<Value>("/orders/x", &[])
            .await
            .unwrap_err();

        let ApiError::Api { status, body } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(*status, 409);
        assert_eq!(body.error.code, "not_cancellable");
        assert_eq!(body.error.message, "picked up already");
    }

    #[tokio::test]
    async fn a_typed_answer_is_decoded() {
        let url = serve(vec![
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 25\r\nconnection: close\r\n\r\n",
            br#"{"created":2,"updated":1}"#,
        ])
        .await;

        let r: food_api::ImportResult = client(&url).get("/menu/import", &[]).await.unwrap();

        assert_eq!((r.created, r.updated), (2, 1));
    }

    #[tokio::test]
    async fn a_patch_sends_its_method_and_decodes_the_answer() {
        let (url, mut seen) = serve_seen(vec![
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 14\r\nconnection: close\r\n\r\n",
            br#"{"open":false}"#,
        ])
        .await;

        let v: Value = client(&url)
            .patch(
                "/restaurants/sakura-sushi",
                &serde_json::json!({"open": false}),
                &[],
            )
            .await
            .unwrap();

        assert_eq!(v, serde_json::json!({"open": false}));
        let head = seen.recv().await.unwrap();
        assert!(
            head.starts_with("PATCH /restaurants/sakura-sushi HTTP/1.1\r\n"),
            "{head}"
        );
    }

    #[tokio::test]
    async fn a_stream_yields_its_events_across_chunks_then_ends() {
        let url = serve(vec![
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n",
            b": hello\revent: delivery\rid: 1\rdata: {\"a\"",
            b":1}\r\r",
            b"data: x\n\n",
        ])
        .await;

        let mut events = client(&url)
            .stream("/events/deliveries", None)
            .await
            .unwrap();

        let first = events.next().await.unwrap().unwrap();
        assert_eq!(
            (
                first.event.as_str(),
                first.id.as_deref(),
                first.data.as_str()
            ),
            ("delivery", Some("1"), "{\"a\":1}")
        );
        let second = events.next().await.unwrap().unwrap();
        assert_eq!(
            (second.event.as_str(), second.data.as_str()),
            ("message", "x")
        );
        assert!(events.next().await.is_none());
    }

    #[tokio::test]
    async fn accepting_an_order_posts_the_prep_time_to_its_accept_route() {
        let order = r#"{"id":"0190f3b2-7c1e-7d2a-9f00-1234abcd5678","customer_id":"c","status":"PREPARING","ready_by":"2026-01-02T12:15:00Z","items":[],"total_cents":0,"currency":"EUR","delivery_address":"x","created_at":"2026-01-02T12:00:00Z","updated_at":"2026-01-02T12:00:00Z"}"#;
        let (url, mut seen) = serve_seen(json_answer("200 OK", order)).await;

        let o = client(&url)
            .accept_order(
                "abcd 5678",
                &AcceptOrder {
                    prep_minutes: Some(15),
                    ready_by: None,
                },
            )
            .await
            .unwrap();

        assert_eq!(o.status, food_api::OrderStatus::Preparing);
        let head = seen.recv().await.unwrap();
        assert!(
            head.starts_with("POST /orders/abcd%205678/accept HTTP/1.1\r\n"),
            "{head}"
        );
    }

    #[tokio::test]
    async fn a_refused_kitchen_action_is_an_api_error_with_its_code() {
        let url = serve(json_answer(
            "409 Conflict",
            r#"{"error":{"code":"invalid_transition","message":"cannot move an order from PLACED to READY_FOR_PICKUP"}}"#,
        ))
        .await;

        let err = client(&url).mark_ready("o1").await.unwrap_err();

        assert_eq!(err.code(), Some("invalid_transition"));
        assert!(matches!(err, ApiError::Api { status: 409, .. }), "{err:?}");
    }

    #[tokio::test]
    async fn couriers_are_listed_with_the_shift_filter() {
        let body = r#"{"couriers":[{"id":"courier-1","name":"Camille Martin","on_shift":true,"active_deliveries":1}],"next_cursor":null}"#;
        let (url, mut seen) = serve_seen(json_answer("200 OK", body)).await;

        let cs = client(&url).couriers(Some(true)).await.unwrap();

        assert_eq!(cs.len(), 1);
        assert_eq!(
            (cs[0].name.as_str(), cs[0].active_deliveries),
            ("Camille Martin", 1)
        );
        let head = seen.recv().await.unwrap();
        assert!(
            head.starts_with("GET /couriers?on_shift=true&limit=1000 HTTP/1.1\r\n"),
            "{head}"
        );
    }

    #[tokio::test]
    async fn nothing_listening_is_unreachable_after_the_retries() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}");

        let err = client(&url).get_raw("/orders", &[]).await.unwrap_err();

        assert!(matches!(err, ApiError::Unreachable { .. }), "{err:?}");
        assert!(
            err.to_string()
                .starts_with(&format!("cannot reach the gateway at {url}: "))
        );
        assert!(err.is_transient());
    }
}
