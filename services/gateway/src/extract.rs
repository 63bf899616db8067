//! Extractors whose rejections are [`ApiError`]s (so bad input is a JSON 400,
//! 413 or 415, never axum's plain-text bodies or a 500), and the parsing of
//! the headers the API reads.

use axum::{
    extract::{
        FromRequest, FromRequestParts,
        rejection::{JsonRejection, PathRejection, QueryRejection},
    },
    http::{HeaderMap, StatusCode},
};
use food_api::ErrorCode;

use crate::error::ApiError;

/// `axum::Json` with the gateway's errors.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `axum::extract::Query` with the gateway's errors.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `axum::extract::Path` with the gateway's errors.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

fn from_rejection(status: StatusCode, text: String) -> ApiError {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(ErrorCode::PayloadTooLarge, text),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(text),
        _ => ApiError::bad_request(text),
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        from_rejection(r.status(), r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        from_rejection(r.status(), r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        from_rejection(r.status(), r.body_text())
    }
}

/// Parses a status filter, naming the accepted values when it fails.
pub fn parse_status<T: std::str::FromStr>(
    raw: Option<String>,
    all: &[&str],
) -> Result<Option<T>, ApiError> {
    match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| {
            ApiError::bad_request(format!(
                "unknown status {s:?}; expected one of {}",
                all.join(", ")
            ))
            .with_detail("field", "status")
        }),
    }
}

/// The expected version from `If-Match`: `"3"`, `W/"3"` or `3`; `*` and no
/// header mean "any version".
pub fn if_match(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get(axum::http::header::IF_MATCH) else {
        return Ok(None);
    };
    let raw = value
        .to_str()
        .map_err(|_| ApiError::bad_request("If-Match is not valid text"))?;
    parse_version_tag(raw)
}

pub fn parse_version_tag(raw: &str) -> Result<Option<u64>, ApiError> {
    let tag = raw.trim();
    if tag == "*" {
        return Ok(None);
    }
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    let tag = tag
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(tag);
    tag.parse::<u64>().map(Some).map_err(|_| {
        ApiError::bad_request(format!(
            "If-Match must be a delivery version such as \"3\", got {raw:?}"
        ))
        .with_detail("field", "If-Match")
    })
}

/// A header as text, if present and printable.
pub fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// `Idempotency-Key`, at most 255 characters.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    match header_text(headers, "idempotency-key") {
        Some(k) if k.len() > 255 => Err(ApiError::bad_request(
            "Idempotency-Key must be at most 255 characters",
        )),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use food_api::OrderStatus;

    #[test]
    fn status_filters_parse_loosely_and_unknown_ones_are_a_400() {
        let names = ["PLACED"];
        assert_eq!(
            parse_status::<OrderStatus>(Some("out-for-delivery".into()), &names).unwrap(),
            Some(OrderStatus::OutForDelivery)
        );
        assert_eq!(
            parse_status::<OrderStatus>(Some(" ".into()), &names).unwrap(),
            None
        );
        let err = parse_status::<OrderStatus>(Some("LOST".into()), &names).unwrap_err();
        assert_eq!(err.http_status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn if_match_accepts_quoted_weak_and_bare_versions() {
        assert_eq!(parse_version_tag("\"3\"").unwrap(), Some(3));
        assert_eq!(parse_version_tag("3").unwrap(), Some(3));
        assert_eq!(parse_version_tag(" W/\"12\" ").unwrap(), Some(12));
        assert_eq!(parse_version_tag("*").unwrap(), None);
    }

    #[test]
    fn if_match_refuses_anything_else_with_a_400() {
        for bad in ["", "\"abc\"", "-1", "\"3", "1.5", "\"1\", \"2\""] {
            let err = parse_version_tag(bad).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidArgument, "{bad:?}");
        }
    }

    #[test]
    fn a_missing_if_match_means_any_version() {
        assert_eq!(if_match(&HeaderMap::new()).unwrap(), None);
    }

    #[test]
    fn overlong_idempotency_keys_are_refused() {
        let mut h = HeaderMap::new();
        h.insert("idempotency-key", "k".repeat(256).parse().unwrap());
        assert!(idempotency_key(&h).is_err());
        h.insert("idempotency-key", "abc".parse().unwrap());
        assert_eq!(idempotency_key(&h).unwrap().as_deref(), Some("abc"));
    }
}
