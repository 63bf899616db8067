//! The OpenAPI schemas utoipa cannot derive from a type: the error codes
//! (an enum of [`ErrorCode::ALL`]'s names, though the body carries a
//! string) and a tag (a constrained string inside a list).

use std::borrow::Cow;

use utoipa::{
    PartialSchema, ToSchema,
    openapi::{
        RefOr,
        schema::{ObjectBuilder, Schema, Type},
    },
};

use crate::ErrorCode;

impl PartialSchema for ErrorCode {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "A stable machine-readable code; the HTTP status follows from it \
                 (`invalid_argument` 400, `unauthenticated` 401, `permission_denied` 403, \
                 `not_found` 404, `invalid_transition`, `version_conflict`, `not_cancellable`, \
                 `not_accepted`, `ambiguous_id`, `idempotency_conflict`, `already_exists` 409, \
                 `payload_too_large` 413, `item_unavailable`, `mixed_restaurants`, \
                 `restaurant_closed`, `unknown_courier` 422, `rate_limited` 429, \
                 `internal` 500, `unavailable`, `timeout` 503). `invalid_argument` is also \
                 the code of a 415 (a body sent as another content type than JSON) and of \
                 a 422 (a well-formed request that cannot be acted on: a reference to \
                 nothing, a time already past, a field the caller's key must give).",
            ))
            .enum_values(Some(ErrorCode::ALL.iter().map(|c| c.as_str())))
            .into()
    }
}

impl ToSchema for ErrorCode {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ErrorCode")
    }
}

/// A tag of a restaurant or an item: 1 to 40 characters, not blank.
pub struct Tag;

impl PartialSchema for Tag {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("A tag: 1 to 40 characters, not blank."))
            .min_length(Some(1))
            .max_length(Some(40))
            .pattern(Some(r"\S"))
            .examples([serde_json::json!("vegetarian")])
            .into()
    }
}

impl ToSchema for Tag {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Tag")
    }
}
