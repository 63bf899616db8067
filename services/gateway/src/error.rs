//! The gateway's one error type: every failure, from a bad query string to a
//! downstream gRPC status, becomes an [`ApiError`], which renders as the
//! `{"error": {...}}` body for REST and as an error with `extensions.code`
//! for GraphQL. gRPC statuses are mapped here and nowhere else.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use food_api::{ErrorBody, ErrorCode};
use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A failure with a machine code, from the gateway itself or a downstream.
    #[error("{message}")]
    Coded {
        code: ErrorCode,
        message: String,
        details: Map<String, Value>,
    },
    /// A body sent with a content type other than JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A request the API document allows in form that cannot be acted on
    /// as it stands: a reference to nothing, a time already past, a field
    /// the caller's role must give. `invalid_argument`, answered with 422
    /// rather than 400 so that a client can tell "fix the request's form"
    /// from "this request, well formed, is refused"; `field` names the field.
    #[error("{message}")]
    Unprocessable { message: String, field: String },
    /// Too many requests for one customer key.
    #[error("rate limit exceeded, retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// A bug or an unexpected failure; its cause is logged, not shown.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Coded {
            code,
            message: message.into(),
            details: Map::new(),
        }
    }

    pub fn with_detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        if let Self::Coded { details, .. } = &mut self {
            details.insert(key.to_owned(), value.into());
        }
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidArgument, message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthenticated, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::PermissionDenied, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, message)
    }

    pub fn unprocessable(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Unprocessable {
            message: message.into(),
            field: field.into(),
        }
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            ErrorCode::PayloadTooLarge,
            format!("the request body is larger than {limit} bytes"),
        )
        .with_detail("limit_bytes", limit)
    }

    /// The machine code clients branch on.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Coded { code, .. } => *code,
            Self::UnsupportedMediaType(_) | Self::Unprocessable { .. } => {
                ErrorCode::InvalidArgument
            }
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Unexpected(_) => ErrorCode::Internal,
        }
    }

    pub fn http_status(&self) -> StatusCode {
        match self {
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            other => StatusCode::from_u16(other.code().http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    /// The message shown to clients; unexpected errors hide their cause.
    fn public_message(&self) -> String {
        match self {
            Self::Unexpected(_) => "internal error".to_owned(),
            other => other.to_string(),
        }
    }

    fn details(&self) -> Map<String, Value> {
        match self {
            Self::Coded { details, .. } => details.clone(),
            Self::RateLimited { retry_after_secs } => Map::from_iter([(
                "retry_after_secs".to_owned(),
                Value::from(*retry_after_secs),
            )]),
            Self::Unprocessable { field, .. } => {
                Map::from_iter([("field".to_owned(), Value::from(field.as_str()))])
            }
            _ => Map::new(),
        }
    }

    pub fn body(&self) -> ErrorBody {
        let mut body = ErrorBody::new(self.code(), self.public_message());
        body.error.details = self.details();
        body
    }

    /// The GraphQL form: the message, `extensions.code` (the machine code)
    /// and `extensions.details`.
    pub fn into_graphql(self) -> async_graphql::Error {
        self.log();
        let code = self.code();
        let details = self.details();
        use async_graphql::ErrorExtensions as _;
        async_graphql::Error::new(self.public_message()).extend_with(|_, ext| {
            ext.set("code", code.as_str());
            if !details.is_empty()
                && let Ok(v) = async_graphql::Value::from_json(Value::Object(details.clone()))
            {
                ext.set("details", v);
            }
        })
    }

    fn log(&self) {
        match self {
            Self::Unexpected(e) => tracing::error!(error = format!("{e:#}"), "unexpected error"),
            Self::Coded {
                code: ErrorCode::Unavailable | ErrorCode::Timeout | ErrorCode::Internal,
                message,
                ..
            } => tracing::warn!(code = %self.code(), %message, "downstream failure"),
            _ => tracing::debug!(code = %self.code(), message = %self, "request refused"),
        }
    }
}

impl From<food_api::status::UnknownStatus> for ApiError {
    /// A downstream sent a status this gateway does not know: a corrupt
    /// record or a newer peer, and never something to guess. Logged with the
    /// value, shown as an internal error.
    fn from(e: food_api::status::UnknownStatus) -> Self {
        Self::Unexpected(anyhow::anyhow!("a downstream reply has an {e}"))
    }
}

/// The error details the services send that are numbers (gRPC carries
/// them as text).
const NUMERIC_DETAILS: [&str; 4] = [
    "current_version",
    "active_deliveries",
    "max_active_per_courier",
    "index",
];

impl From<tonic::Status> for ApiError {
    /// The one mapping from gRPC to the gateway's errors: the machine code
    /// travels in the status details; the fields known to be counts
    /// ([`NUMERIC_DETAILS`]) become JSON numbers, every other stays text
    /// (an id made of digits is still an id).
    fn from(status: tonic::Status) -> Self {
        let (mut code, fields) = food_kit::grpc::error_code(&status);
        // tonic reports its own deadline (`Endpoint::timeout`) as CANCELLED.
        if status.code() == tonic::Code::Cancelled && status.message().contains("Timeout expired") {
            code = ErrorCode::Timeout;
        }
        let details = fields
            .into_iter()
            .map(|(k, v)| {
                let number = NUMERIC_DETAILS
                    .contains(&k.as_str())
                    .then(|| v.parse::<i64>().ok())
                    .flatten();
                let value = number.map_or_else(|| Value::from(v), Value::from);
                (k, value)
            })
            .collect();
        // Statuses made by the transport (no details) say only "tcp connect
        // error" and the like; say what it means for the client.
        let from_transport = status.details().is_empty();
        let message = match code {
            ErrorCode::Unavailable if from_transport => {
                format!("a downstream service is unavailable ({})", status.message())
            }
            ErrorCode::Timeout if from_transport => {
                format!(
                    "a downstream service did not answer in time ({})",
                    status.message()
                )
            }
            ErrorCode::Internal => "a downstream service failed".to_owned(),
            _ => status.message().to_owned(),
        };
        if code == ErrorCode::Internal {
            tracing::error!(grpc_code = ?status.code(), message = %status.message(), "downstream internal error");
        }
        Self::Coded {
            code,
            message,
            details,
        }
    }
}

impl From<async_graphql::ParseRequestError> for ApiError {
    fn from(e: async_graphql::ParseRequestError) -> Self {
        match e {
            async_graphql::ParseRequestError::PayloadTooLarge => {
                Self::new(ErrorCode::PayloadTooLarge, "the request body is too large")
            }
            other => Self::bad_request(format!("bad GraphQL request: {other}")),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.log();
        let status = self.http_status();
        let mut response = (status, axum::Json(self.body())).into_response();
        if let Self::RateLimited { retry_after_secs } = self {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_secs.max(1)),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use food_kit::grpc::error;

    #[test]
    fn a_version_conflict_keeps_its_code_and_a_numeric_current_version() {
        let status = error(
            ErrorCode::VersionConflict,
            "stale version",
            &[("current_version", "4".into())],
        );
        let err = ApiError::from(status);
        assert_eq!(err.http_status(), StatusCode::CONFLICT);
        let body = err.body();
        assert_eq!(body.error.code, "version_conflict");
        assert_eq!(body.error.details["current_version"], 4);
    }

    #[test]
    fn an_id_made_of_digits_stays_text() {
        let status = error(
            ErrorCode::NotFound,
            "no order `8811896`",
            &[("order_id", "8811896".into())],
        );
        let body = ApiError::from(status).body();
        assert_eq!(body.error.details["order_id"], "8811896");
    }

    #[test]
    fn each_machine_code_maps_to_its_documented_http_status() {
        let cases = [
            (ErrorCode::InvalidArgument, 400),
            (ErrorCode::NotFound, 404),
            (ErrorCode::InvalidTransition, 409),
            (ErrorCode::ItemUnavailable, 422),
            (ErrorCode::Unavailable, 503),
        ];
        for (code, http) in cases {
            let err = ApiError::from(error(code, "x", &[]));
            assert_eq!(err.http_status().as_u16(), http, "{code}");
            assert_eq!(err.code(), code);
        }
    }

    #[test]
    fn restaurant_refusals_are_422s_that_keep_their_details() {
        let mixed = ApiError::from(error(
            ErrorCode::MixedRestaurants,
            "items of sakura-sushi and le-smash-club",
            &[("restaurant_ids", "sakura-sushi,le-smash-club".into())],
        ));
        let closed = ApiError::from(error(
            ErrorCode::RestaurantClosed,
            "sakura-sushi is paused",
            &[("restaurant_id", "sakura-sushi".into())],
        ));

        assert_eq!(mixed.http_status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = mixed.body();
        assert_eq!(body.error.code, "mixed_restaurants");
        assert_eq!(
            body.error.details["restaurant_ids"],
            "sakura-sushi,le-smash-club"
        );
        assert_eq!(closed.http_status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = closed.body();
        assert_eq!(body.error.code, "restaurant_closed");
        assert_eq!(body.error.details["restaurant_id"], "sakura-sushi");
    }

    #[test]
    fn a_bare_transport_failure_is_a_503_unavailable() {
        let err = ApiError::from(tonic::Status::unavailable(""));
        assert_eq!(err.http_status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(err.body().error.code, "unavailable");
    }

    #[test]
    fn a_timed_out_call_is_a_503() {
        let err = ApiError::from(tonic::Status::deadline_exceeded("slow"));
        assert_eq!(err.http_status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(err.code(), ErrorCode::Timeout);
    }

    #[test]
    fn tonics_own_deadline_is_a_timeout() {
        let err = ApiError::from(tonic::Status::cancelled("Timeout expired"));
        assert_eq!(err.code(), ErrorCode::Timeout);
        assert_eq!(err.http_status(), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn unexpected_errors_hide_their_cause() {
        let err = ApiError::from(anyhow::anyhow!("secret db password"));
        assert_eq!(err.http_status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(err.body().error.message, "internal error");
    }

    #[test]
    fn an_unprocessable_request_is_a_422_invalid_argument_naming_its_field() {
        let err = ApiError::unprocessable("customer_id", "name the customer");
        assert_eq!(err.http_status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = err.body();
        assert_eq!(body.error.code, "invalid_argument");
        assert_eq!(body.error.details["field"], "customer_id");
    }

    #[test]
    fn rate_limited_responses_carry_retry_after() {
        let res = ApiError::RateLimited {
            retry_after_secs: 2,
        }
        .into_response();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers()[header::RETRY_AFTER], "2");
    }

    #[test]
    fn graphql_errors_carry_the_machine_code_in_extensions() {
        let err = ApiError::forbidden("no").into_graphql();
        let ext = err.extensions.unwrap();
        assert_eq!(
            ext.get("code"),
            Some(&async_graphql::Value::from("permission_denied"))
        );
    }
}
