//! The error body every REST error uses, and its stable machine codes.

use serde::{Deserialize, Serialize};

/// `{"error": {"code", "message", "details"}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(as = Error, example = json!({"error": {"code": "not_found", "message": "no order 0193a1b2-7c1e-7d2a-9f00-1234abcd5678", "details": {}}}))
)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong: a machine code, a message for people, and details.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// A stable machine-readable code, one of [`ErrorCode`]'s names.
    #[cfg_attr(feature = "openapi", schema(value_type = ErrorCode))]
    pub code: String,
    /// For people; may change between releases.
    pub message: String,
    /// Field-level reasons and context such as `current_version`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true, value_type = Object))]
    pub details: serde_json::Map<String, serde_json::Value>,
}

/// Machine codes, shared by gRPC error details, REST bodies, GraphQL
/// extensions and foodctl's exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InvalidArgument,
    NotFound,
    /// A status change the state machine refuses.
    InvalidTransition,
    /// `expected_version`/`If-Match` did not match the current version.
    VersionConflict,
    /// An item exists but cannot be ordered now.
    ItemUnavailable,
    /// The order is past the point where it can be cancelled.
    NotCancellable,
    /// An order's items come from more than one restaurant.
    MixedRestaurants,
    /// The restaurant is paused and takes no new orders.
    RestaurantClosed,
    /// A courier cannot pick up an order the kitchen has not accepted.
    NotAccepted,
    /// A delivery names a courier that does not exist.
    UnknownCourier,
    /// A short order id (its last 8 characters) matches more than one of the
    /// orders the caller may see; `details.candidates` lists their full ids.
    AmbiguousId,
    /// The idempotency key was used before with a different request.
    IdempotencyConflict,
    AlreadyExists,
    Unauthenticated,
    PermissionDenied,
    PayloadTooLarge,
    RateLimited,
    Unavailable,
    Timeout,
    Internal,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 20] = [
        Self::InvalidArgument,
        Self::NotFound,
        Self::InvalidTransition,
        Self::VersionConflict,
        Self::ItemUnavailable,
        Self::NotCancellable,
        Self::MixedRestaurants,
        Self::RestaurantClosed,
        Self::NotAccepted,
        Self::UnknownCourier,
        Self::AmbiguousId,
        Self::IdempotencyConflict,
        Self::AlreadyExists,
        Self::Unauthenticated,
        Self::PermissionDenied,
        Self::PayloadTooLarge,
        Self::RateLimited,
        Self::Unavailable,
        Self::Timeout,
        Self::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidArgument => "invalid_argument",
            Self::NotFound => "not_found",
            Self::InvalidTransition => "invalid_transition",
            Self::VersionConflict => "version_conflict",
            Self::ItemUnavailable => "item_unavailable",
            Self::NotCancellable => "not_cancellable",
            Self::MixedRestaurants => "mixed_restaurants",
            Self::RestaurantClosed => "restaurant_closed",
            Self::NotAccepted => "not_accepted",
            Self::UnknownCourier => "unknown_courier",
            Self::AmbiguousId => "ambiguous_id",
            Self::IdempotencyConflict => "idempotency_conflict",
            Self::AlreadyExists => "already_exists",
            Self::Unauthenticated => "unauthenticated",
            Self::PermissionDenied => "permission_denied",
            Self::PayloadTooLarge => "payload_too_large",
            Self::RateLimited => "rate_limited",
            Self::Unavailable => "unavailable",
            Self::Timeout => "timeout",
            Self::Internal => "internal",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The HTTP status the gateway answers with.
    pub fn http_status(self) -> u16 {
        match self {
            Self::InvalidArgument => 400,
            Self::Unauthenticated => 401,
            Self::PermissionDenied => 403,
            Self::NotFound => 404,
            Self::InvalidTransition
            | Self::VersionConflict
            | Self::NotCancellable
            | Self::NotAccepted
            | Self::AmbiguousId
            | Self::IdempotencyConflict
            | Self::AlreadyExists => 409,
            Self::PayloadTooLarge => 413,
            Self::ItemUnavailable
            | Self::MixedRestaurants
            | Self::RestaurantClosed
            | Self::UnknownCourier => 422,
            Self::RateLimited => 429,
            Self::Unavailable | Self::Timeout => 503,
            Self::Internal => 500,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ErrorBody {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            error: ErrorDetail {
                code: code.as_str().to_owned(),
                message: message.into(),
                details: serde_json::Map::new(),
            },
        }
    }

    pub fn with_detail(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.error.details.insert(key.to_owned(), value.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_name() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
        }
    }

    #[test]
    fn only_internal_errors_are_5xx_apart_from_unavailability() {
        for code in ErrorCode::ALL {
            let s = code.http_status();
            if s >= 500 {
                assert!(matches!(
                    code,
                    ErrorCode::Internal | ErrorCode::Unavailable | ErrorCode::Timeout
                ));
            }
        }
    }

    #[test]
    fn the_body_has_the_documented_shape() {
        let body =
            ErrorBody::new(ErrorCode::VersionConflict, "stale").with_detail("current_version", 3);
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["error"]["code"], "version_conflict");
        assert_eq!(json["error"]["details"]["current_version"], 3);
    }
}
