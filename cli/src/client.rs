//! The gateway's REST API over reqwest: bearer auth, request timeouts,
//! retries on connection errors, and error bodies turned into [`ApiError`].
//!
//! Responses are kept as [`Doc`]s, in the gateway's field order, so `-o json`
//! prints what the gateway sent; callers decode the typed shapes from
//! `food_api` for tables.

use std::time::{Duration, Instant};

use food_api::{ErrorBody, ErrorCode};
use reqwest::{Method, RequestBuilder, Response, StatusCode, header};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

use crate::{config::Settings, doc::Doc, exit::Exit};

/// Tries per request when the connection fails (the request never arrived,
/// so repeating it is safe; creates carry the same idempotency key anyway).
const TRIES: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// A failed call to the gateway.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The gateway answered with an error.
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
    /// An answer we cannot read.
    #[error("unexpected answer from the gateway: {0}")]
    Protocol(String),
}

impl ApiError {
    pub fn exit(&self) -> Exit {
        match self {
            Self::Api { status, body } => Exit::from_api(*status, &body.error.code),
            Self::Unreachable { .. } => Exit::Unavailable,
            Self::TimedOut(_) => Exit::TimedOut,
            Self::Protocol(_) => Exit::Other,
        }
    }

    /// The error object printed for a failed bulk line.
    pub fn to_error_json(&self) -> Value {
        match self {
            Self::Api { body, .. } => serde_json::to_value(&body.error).unwrap_or(Value::Null),
            Self::Unreachable { .. } => error_json(ErrorCode::Unavailable, &self.to_string()),
            Self::TimedOut(_) => error_json(ErrorCode::Timeout, &self.to_string()),
            Self::Protocol(_) => error_json(ErrorCode::Internal, &self.to_string()),
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Api { status: 404, .. })
    }

    /// Worth trying again later: the gateway or a service behind it is away.
    pub fn is_transient(&self) -> bool {
        matches!(self.exit(), Exit::Unavailable | Exit::TimedOut)
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

/// `{"code", "message", "details": {}}` for errors foodctl found itself.
pub fn error_json(code: ErrorCode, message: &str) -> Value {
    serde_json::json!({ "code": code.as_str(), "message": message, "details": {} })
}

/// The gateway client of one run.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    timeout: Duration,
    verbose: bool,
}

impl Client {
    pub fn new(s: &Settings) -> anyhow::Result<Self> {
        // No client-wide timeout: it would cut streams; each unary request sets its own.
        let http = reqwest::Client::builder()
            .connect_timeout(s.timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("foodctl/", env!("CARGO_PKG_VERSION")))
            .tcp_nodelay(true)
            .build()?;
        Ok(Self {
            http,
            base: s.gateway.clone(),
            token: s.token.clone(),
            timeout: s.timeout,
            verbose: s.verbose > 0,
        })
    }

    pub fn gateway(&self) -> &str {
        &self.base
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut rb = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            rb = rb.bearer_auth(t);
        }
        rb
    }

    /// Sends the request `build` makes, again on connection errors, and turns
    /// error statuses into [`ApiError::Api`].
    async fn send(
        &self,
        what: &str,
        unary: bool,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, ApiError> {
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            let started = Instant::now();
            let mut rb = build();
            if unary {
                rb = rb.timeout(self.timeout);
            }
            match rb.send().await {
                Ok(resp) => {
                    if self.verbose {
                        eprintln!(
                            "foodctl: {what} -> {} in {:.1?}",
                            resp.status(),
                            started.elapsed()
                        );
                    }
                    return check(resp).await;
                }
                Err(e) if e.is_timeout() => return Err(ApiError::TimedOut(self.timeout)),
                Err(e) if e.is_connect() && attempt < TRIES => {
                    if self.verbose {
                        eprintln!("foodctl: {what}: {e}; trying again in {backoff:?}");
                    }
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                    attempt += 1;
                }
                Err(e) if e.is_connect() || e.is_request() => {
                    return Err(ApiError::Unreachable {
                        gateway: self.base.clone(),
                        source: e,
                    });
                }
                Err(e) => return Err(ApiError::Protocol(format!("{what}: {e}"))),
            }
        }
    }

    async fn json(&self, what: &str, build: impl Fn() -> RequestBuilder) -> Result<Doc, ApiError> {
        let resp = self.send(what, true, build).await?;
        let bytes = resp.bytes().await.map_err(|e| {
            if e.is_timeout() {
                ApiError::TimedOut(self.timeout)
            } else {
                ApiError::Protocol(format!("{what}: reading the body: {e}"))
            }
        })?;
        Doc::parse(&bytes).map_err(|e| ApiError::Protocol(format!("{what}: {e}")))
    }

    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Doc, ApiError> {
        let what = format!("GET {path}");
        self.json(&what, || self.request(Method::GET, path).query(query))
            .await
    }

    pub async fn post<B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
        headers: &[(&str, &str)],
    ) -> Result<Doc, ApiError> {
        let what = format!("POST {path}");
        self.json(&what, || {
            let mut rb = self.request(Method::POST, path).json(body);
            for (k, v) in headers {
                rb = rb.header(*k, *v);
            }
            rb
        })
        .await
    }

    pub async fn put<B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
        headers: &[(&str, &str)],
    ) -> Result<Doc, ApiError> {
        let what = format!("PUT {path}");
        self.json(&what, || {
            let mut rb = self.request(Method::PUT, path).json(body);
            for (k, v) in headers {
                rb = rb.header(*k, *v);
            }
            rb
        })
        .await
    }

    /// Opens a Server-Sent Events stream; no timeout once it is open.
    pub async fn stream(
        &self,
        path: &str,
        last_event_id: Option<&str>,
    ) -> Result<Response, ApiError> {
        let what = format!("GET {path} (stream)");
        let timeout = self.timeout;
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
        Ok(resp)
    }
}

/// Passes 2xx through; reads anything else as an error body, inventing one
/// from the status when the body is not ours (a proxy's page, say).
async fn check(resp: Response) -> Result<Response, ApiError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let text = resp.text().await.unwrap_or_default();
    let body = serde_json::from_str::<ErrorBody>(&text).unwrap_or_else(|_| {
        let code = code_for_status(status);
        let msg = if text.trim().is_empty() {
            status.canonical_reason().unwrap_or("error").to_lowercase()
        } else {
            text.trim().chars().take(200).collect()
        };
        ErrorBody::new(code, msg)
    });
    Err(ApiError::Api {
        status: status.as_u16(),
        body,
    })
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

/// Decodes a typed shape out of a response kept as a document.
pub fn typed<T: DeserializeOwned>(doc: &Doc) -> Result<T, ApiError> {
    doc.typed().map_err(|e| {
        let text = doc.to_json().unwrap_or_default();
        ApiError::Protocol(format!("{e} in {}", truncate(&text, 200)))
    })
}

fn truncate(s: &str, n: usize) -> String {
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
pub fn seg(s: &str) -> String {
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
        assert_eq!(seg("0190f3b2-7c1e"), "0190f3b2-7c1e");
        assert_eq!(seg("a/b c"), "a%2Fb%20c");
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
        assert_eq!(e.exit(), Exit::Conflict);
        assert_eq!(e.to_error_json()["code"], "invalid_transition");
    }
}
