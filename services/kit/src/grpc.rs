//! gRPC plumbing shared by the services: the host every service serves on
//! ([`host::GrpcHost`]), the client channel over a service's replicas
//! ([`balance::Balanced`]), reflection, and errors carrying a machine code.

pub mod balance;
pub mod host;

pub use host::GrpcHost;

use std::collections::HashMap;

use food_api::{ErrorCode, PageError};
use tonic::{Code, Status, metadata::MetadataMap};
use tonic_types::{ErrorDetails, StatusExt};

/// Server reflection v1 and v1alpha over every food proto, so that grpcurl
/// and other generic clients work.
pub fn reflection() -> anyhow::Result<(
    tonic_reflection::server::v1::ServerReflectionServer<
        impl tonic_reflection::server::v1::ServerReflection,
    >,
    tonic_reflection::server::v1alpha::ServerReflectionServer<
        impl tonic_reflection::server::v1alpha::ServerReflection,
    >,
)> {
    let v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(food_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(food_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    Ok((v1, v1alpha))
}

/// The longest message or field value an error carries; longer ones are
/// cut. They travel in HTTP/2 trailers, which clients bound (hyper's
/// default header list is 16 KiB): a 10 KB order id echoed in the message
/// and again in the details broke the gateway's connection to the service,
/// turning a not-found into a 503.
const MAX_ERROR_TEXT: usize = 256;

/// `text` cut to [`MAX_ERROR_TEXT`] bytes on a character boundary, with an
/// ellipsis when it was cut.
fn bounded(mut text: String) -> String {
    if text.len() > MAX_ERROR_TEXT {
        let mut end = MAX_ERROR_TEXT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// A `Status` whose details carry the machine code (as `google.rpc.ErrorInfo`
/// reason) and field-level context, each bounded to [`MAX_ERROR_TEXT`].
pub fn error(code: ErrorCode, message: impl Into<String>, fields: &[(&str, String)]) -> Status {
    let grpc = match code {
        ErrorCode::InvalidArgument
        | ErrorCode::PayloadTooLarge
        | ErrorCode::MixedRestaurants
        | ErrorCode::UnknownCourier => Code::InvalidArgument,
        ErrorCode::NotFound => Code::NotFound,
        ErrorCode::InvalidTransition
        | ErrorCode::VersionConflict
        | ErrorCode::ItemUnavailable
        | ErrorCode::NotCancellable
        | ErrorCode::NotAccepted
        | ErrorCode::RestaurantClosed => Code::FailedPrecondition,
        ErrorCode::IdempotencyConflict | ErrorCode::AlreadyExists => Code::AlreadyExists,
        ErrorCode::AmbiguousId => Code::FailedPrecondition,
        ErrorCode::Unauthenticated => Code::Unauthenticated,
        ErrorCode::PermissionDenied => Code::PermissionDenied,
        ErrorCode::RateLimited => Code::ResourceExhausted,
        ErrorCode::Unavailable => Code::Unavailable,
        ErrorCode::Timeout => Code::DeadlineExceeded,
        ErrorCode::Internal => Code::Internal,
    };
    let metadata: HashMap<String, String> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), bounded(v.clone())))
        .collect();
    Status::with_error_details(
        grpc,
        bounded(message.into()),
        ErrorDetails::with_error_info(code.as_str(), "food", metadata),
    )
}

/// Refuses control characters other than line breaks and tabs in text a
/// person wrote (an address, a note, a name) as INVALID_ARGUMENT naming
/// `field`: PostgreSQL cannot store NUL in text (the insert failed as
/// INTERNAL where SQLite stored it), and escape sequences would reach the
/// terminals of `foodctl` and `food-board` as commands.
pub fn printable(text: &str, field: &str) -> Result<(), Status> {
    match text
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        Some(c) => Err(error(
            ErrorCode::InvalidArgument,
            format!("{field} contains the control character {c:?}"),
            &[("field", field.to_owned())],
        )),
        None => Ok(()),
    }
}

/// Reads the machine code and fields back from a `Status`; falls back to the
/// gRPC code when a status carries no details (from a proxy, say).
pub fn error_code(status: &Status) -> (ErrorCode, HashMap<String, String>) {
    if let Some(info) = status.get_error_details().error_info()
        && let Some(code) = ErrorCode::parse(&info.reason)
    {
        return (code, info.metadata.clone());
    }
    let code = match status.code() {
        Code::InvalidArgument | Code::OutOfRange => ErrorCode::InvalidArgument,
        Code::NotFound => ErrorCode::NotFound,
        Code::FailedPrecondition | Code::Aborted => ErrorCode::InvalidTransition,
        Code::AlreadyExists => ErrorCode::AlreadyExists,
        Code::Unauthenticated => ErrorCode::Unauthenticated,
        Code::PermissionDenied => ErrorCode::PermissionDenied,
        Code::ResourceExhausted => ErrorCode::RateLimited,
        Code::Unavailable | Code::Cancelled => ErrorCode::Unavailable,
        Code::DeadlineExceeded => ErrorCode::Timeout,
        _ => ErrorCode::Internal,
    };
    (code, HashMap::new())
}

/// A list call's optional status filter: absent or 0 (the enum's
/// UNSPECIFIED) means every status; a value `parse` refuses is an
/// INVALID_ARGUMENT naming the `status` field.
pub fn status_filter<T, E: std::fmt::Display>(
    value: Option<i32>,
    parse: impl FnOnce(i32) -> Result<T, E>,
) -> Result<Option<T>, Status> {
    match value {
        None | Some(0) => Ok(None),
        Some(v) => parse(v).map(Some).map_err(|e| {
            error(
                ErrorCode::InvalidArgument,
                e.to_string(),
                &[("field", "status".into())],
            )
        }),
    }
}

/// Metadata key carrying the trace id from the gateway to the services and on
/// into Kafka headers.
pub const TRACE_ID: &str = "x-trace-id";

/// The caller's trace id, or a fresh one.
pub fn trace_id(metadata: &MetadataMap) -> String {
    metadata
        .get(TRACE_ID)
        .or_else(|| metadata.get("x-request-id"))
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string())
}

/// Maps a database error to a status without leaking SQL to clients: a
/// stored value that does not decode is INTERNAL (corruption, which a retry
/// will not cure; the value is logged), anything else UNAVAILABLE.
pub fn db_error(e: impl DbFailure) -> Status {
    if e.is_corrupt() {
        tracing::error!(error = %e, "corrupt stored value");
        return error(ErrorCode::Internal, "a stored record is corrupt", &[]);
    }
    tracing::error!(error = %e, "database error");
    error(
        ErrorCode::Unavailable,
        "the database is unavailable, try again",
        &[],
    )
}

/// What [`db_error`] asks of a failure: its message for the log, and
/// whether it met a corrupt stored value.
pub trait DbFailure: std::fmt::Display {
    fn is_corrupt(&self) -> bool {
        false
    }
}

impl DbFailure for sqlx::Error {
    fn is_corrupt(&self) -> bool {
        crate::db::is_corrupt(self)
    }
}

/// A store's own failure message (the order committer's), never corruption.
impl DbFailure for String {}

/// A page request refused by the page rule ([`food_api::page`]), naming the
/// request field at fault (`page.limit` or `page.cursor`).
pub fn page_error(e: PageError) -> Status {
    let field = format!("page.{}", e.field());
    error(
        ErrorCode::InvalidArgument,
        format!("{field} {e}"),
        &[("field", field)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_codes_survive_the_round_trip_through_a_status() {
        let s = error(
            ErrorCode::VersionConflict,
            "stale",
            &[("current_version", "4".into())],
        );
        assert_eq!(s.code(), Code::FailedPrecondition);
        let (code, fields) = error_code(&s);
        assert_eq!(code, ErrorCode::VersionConflict);
        assert_eq!(fields["current_version"], "4");
    }

    #[test]
    fn long_messages_and_fields_are_cut_on_a_character_boundary() {
        let id = "é".repeat(10_000);
        let s = error(
            ErrorCode::NotFound,
            format!("no order `{id}`"),
            &[("order_id", id)],
        );
        assert!(s.message().len() <= MAX_ERROR_TEXT + '…'.len_utf8());
        assert!(s.message().starts_with("no order `é") && s.message().ends_with('…'));
        assert!(error_code(&s).1["order_id"].len() <= MAX_ERROR_TEXT + '…'.len_utf8());
    }

    #[test]
    fn a_refused_page_names_its_field() {
        let s = page_error(PageError::LimitTooLarge(1001));
        assert_eq!(s.code(), Code::InvalidArgument);
        assert_eq!(s.message(), "page.limit must be at most 1000, got 1001");
        assert_eq!(error_code(&s).1["field"], "page.limit");
        let (_, fields) = error_code(&page_error(PageError::ForeignCursor));
        assert_eq!(fields["field"], "page.cursor");
    }

    #[test]
    fn a_corrupt_stored_value_is_internal_and_an_unreachable_database_unavailable() {
        let corrupt = sqlx::Error::ColumnDecode {
            index: "\"status\"".into(),
            source: Box::new(food_api::status::UnknownStatus("LOST".into())),
        };
        let (code, _) = error_code(&db_error(corrupt));
        assert_eq!(code, ErrorCode::Internal);
        let (code, _) = error_code(&db_error(sqlx::Error::PoolTimedOut));
        assert_eq!(code, ErrorCode::Unavailable);
        let (code, _) = error_code(&db_error("the order committer has stopped".to_owned()));
        assert_eq!(code, ErrorCode::Unavailable);
    }

    #[test]
    fn a_status_filter_of_zero_is_none_and_a_refused_one_names_the_field() {
        let parse = |v: i32| {
            if v == 2 {
                Ok("two")
            } else {
                Err("unknown status")
            }
        };
        assert_eq!(status_filter(None, parse).unwrap(), None);
        assert_eq!(status_filter(Some(0), parse).unwrap(), None);
        assert_eq!(status_filter(Some(2), parse).unwrap(), Some("two"));
        let refused = status_filter(Some(9), parse).unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
        assert_eq!(error_code(&refused).1["field"], "status");
    }

    #[test]
    fn a_bare_status_falls_back_to_its_grpc_code() {
        let (code, _) = error_code(&Status::unavailable("down"));
        assert_eq!(code, ErrorCode::Unavailable);
    }
}
