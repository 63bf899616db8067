//! Extractors whose rejections are [`ApiError`]s (so bad input is a JSON 400,
//! 413 or 415, never axum's plain-text bodies or a 500), and the parsing of
//! the headers the API reads.

use axum::{
    extract::{
        FromRequest, FromRequestParts, Request,
        rejection::{JsonRejection, PathRejection, QueryRejection},
    },
    http::{HeaderMap, StatusCode},
};
use food_api::ErrorCode;
use serde::de::DeserializeOwned;
use serde_json::{Number, Value};

use crate::error::ApiError;

/// `axum::Json` with the gateway's errors. A number with no fraction is
/// an integer whichever way it is written (`2`, `2.0`, `2e0`), as JSON
/// Schema and the OpenAPI document count them, so `"quantity": 2.0` is
/// read as 2 rather than refused.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(mut value) = axum::Json::<Value>::from_request(req, state).await?;
        integral_numbers_as_integers(&mut value);
        serde_path_to_error::deserialize(value)
            .map(ApiJson)
            .map_err(|e| {
                let field = e.path().to_string();
                let err = ApiError::bad_request(format!(
                    "the JSON body does not have the expected shape: {e}"
                ));
                if field.is_empty() || field == "." {
                    err
                } else {
                    err.with_detail("field", field)
                }
            })
    }
}

/// Rewrites every float with no fractional part that fits an integer as
/// that integer.
fn integral_numbers_as_integers(value: &mut Value) {
    match value {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            // Beyond 2^63 a float no longer names one integer exactly.
            if f.fract() == 0.0 && f.abs() < 9.2e18 {
                *n = Number::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(integral_numbers_as_integers),
        _ => {}
    }
}

/// `axum::extract::Query` with the gateway's errors. A query string whose
/// percent-escapes are not UTF-8 is refused: axum would decode them
/// lossily to U+FFFD and search for that.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let raw = parts.uri.query().unwrap_or_default();
        if std::str::from_utf8(&percent_decoded(raw.as_bytes())).is_err() {
            return Err(ApiError::bad_request(
                "the query string is not UTF-8 once percent-decoded",
            ));
        }
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(ApiQuery(value))
    }
}

/// `raw` with its `%XX` escapes decoded (a malformed escape is kept as is).
fn percent_decoded(raw: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match (
            raw[i],
            raw.get(i + 1).copied().and_then(hex),
            raw.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

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

/// Parses a status filter, naming the accepted values when it fails; a
/// blank one is refused like any other name that is not a status.
pub fn parse_status<T: std::str::FromStr>(
    raw: Option<String>,
    all: &[&str],
) -> Result<Option<T>, ApiError> {
    match raw.as_deref().map(str::trim) {
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

/// The longest idempotency key, in characters (order-service's limit).
pub const MAX_IDEMPOTENCY_KEY: usize = 200;

/// `Idempotency-Key`: printable ASCII, at most [`MAX_IDEMPOTENCY_KEY`]
/// characters; a blank one is no key.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(raw) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    check_idempotency_key(raw.as_bytes(), "Idempotency-Key")
}

/// An idempotency key (the header, or a body's `idempotency_key`):
/// printable ASCII (so that a key means the same bytes wherever it was
/// typed), at most [`MAX_IDEMPOTENCY_KEY`] characters; blank is no key.
pub fn check_idempotency_key(raw: &[u8], field: &str) -> Result<Option<String>, ApiError> {
    let refuse = |why: String| Err(ApiError::bad_request(why).with_detail("field", field));
    if !raw.iter().all(|b| (b' '..=b'~').contains(b)) {
        return refuse(format!("{field} must be printable ASCII"));
    }
    if raw.len() > MAX_IDEMPOTENCY_KEY {
        return refuse(format!(
            "{field} must be at most {MAX_IDEMPOTENCY_KEY} characters"
        ));
    }
    let key = String::from_utf8_lossy(raw).trim().to_owned();
    Ok(Some(key).filter(|k| !k.is_empty()))
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
        assert_eq!(parse_status::<OrderStatus>(None, &names).unwrap(), None);
        let blank = parse_status::<OrderStatus>(Some(" ".into()), &names).unwrap_err();
        assert_eq!(blank.http_status(), StatusCode::BAD_REQUEST);
        let err = parse_status::<OrderStatus>(Some("LOST".into()), &names).unwrap_err();
        assert_eq!(err.http_status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn integral_floats_are_read_as_integers_and_other_numbers_are_kept() {
        let mut v = serde_json::json!({"q": 2.0, "list": [1e2, 1.5, -3.0], "s": "2.0"});
        integral_numbers_as_integers(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"q": 2, "list": [100, 1.5, -3], "s": "2.0"})
        );
        let line: food_api::OrderItemInput =
            serde_json::from_value(serde_json::json!({"item_id": "x", "quantity": 2})).unwrap();
        assert_eq!(line.quantity, 2);
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
        h.insert("idempotency-key", "k".repeat(201).parse().unwrap());
        assert!(idempotency_key(&h).is_err());
        h.insert("idempotency-key", "k".repeat(200).parse().unwrap());
        assert_eq!(idempotency_key(&h).unwrap().map(|k| k.len()), Some(200));
        h.insert("idempotency-key", " abc ".parse().unwrap());
        assert_eq!(idempotency_key(&h).unwrap().as_deref(), Some("abc"));
    }

    #[test]
    fn query_strings_are_percent_decoded_to_check_their_utf8() {
        assert_eq!(
            percent_decoded(b"q=caf%C3%A9&x=%2"),
            "q=café&x=%2".as_bytes()
        );
        assert!(std::str::from_utf8(&percent_decoded(b"q=%FF%FE")).is_err());
    }

    #[test]
    fn idempotency_keys_outside_printable_ascii_are_refused_and_blank_ones_ignored() {
        let err = check_idempotency_key("clé".as_bytes(), "idempotency_key").unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidArgument);
        assert!(check_idempotency_key(b"a\tb", "Idempotency-Key").is_err());
        assert_eq!(
            check_idempotency_key(b"   ", "Idempotency-Key").unwrap(),
            None
        );
    }

    /// `If-Match` carries the version a change expects (docs/design.md 5:
    /// "`expected_version` gives optimistic concurrency").
    mod props {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #[test]
            fn any_version_reads_back_from_each_form_of_its_tag(v in any::<u64>()) {
                for tag in [format!("{v}"), format!("\"{v}\""), format!("W/\"{v}\""), format!(" \"{v}\" ")] {
                    prop_assert_eq!(parse_version_tag(&tag).unwrap(), Some(v));
                }
            }

            /// Anything else, a version past u64 included, is a 400 naming
            /// the header, never a guess.
            #[test]
            fn any_other_tag_is_refused_with_a_400(tag in prop_oneof![
                any::<String>(),
                "[0-9]{20,30}",
                "W/\"-?[0-9a-z]{0,4}\"?",
            ]) {
                match parse_version_tag(&tag) {
                    Ok(Some(v)) => {
                        let t = tag.trim();
                        let bare = t.strip_prefix("W/").unwrap_or(t);
                        let bare = bare.strip_prefix('"').and_then(|b| b.strip_suffix('"')).unwrap_or(bare);
                        // The tag's digits are that number (`+3` and `003` are 3).
                        prop_assert_eq!(bare.parse::<u128>(), Ok(u128::from(v)));
                    }
                    Ok(None) => prop_assert_eq!(tag.trim(), "*"),
                    Err(e) => {
                        prop_assert_eq!(e.http_status().as_u16(), 400);
                        prop_assert_eq!(&e.body().error.details["field"], "If-Match");
                    }
                }
            }
        }
    }
}
