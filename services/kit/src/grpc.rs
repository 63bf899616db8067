//! gRPC plumbing shared by the services: the host every service serves on
//! ([`host::GrpcHost`]), reflection, and errors carrying a machine code.

pub mod host;

pub use host::GrpcHost;

use std::collections::HashMap;

use food_api::ErrorCode;
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

/// A `Status` whose details carry the machine code (as `google.rpc.ErrorInfo`
/// reason) and field-level context.
pub fn error(code: ErrorCode, message: impl Into<String>, fields: &[(&str, String)]) -> Status {
    let grpc = match code {
        ErrorCode::InvalidArgument | ErrorCode::PayloadTooLarge => Code::InvalidArgument,
        ErrorCode::NotFound => Code::NotFound,
        ErrorCode::InvalidTransition
        | ErrorCode::VersionConflict
        | ErrorCode::ItemUnavailable
        | ErrorCode::NotCancellable => Code::FailedPrecondition,
        ErrorCode::IdempotencyConflict | ErrorCode::AlreadyExists => Code::AlreadyExists,
        ErrorCode::Unauthenticated => Code::Unauthenticated,
        ErrorCode::PermissionDenied => Code::PermissionDenied,
        ErrorCode::RateLimited => Code::ResourceExhausted,
        ErrorCode::Unavailable => Code::Unavailable,
        ErrorCode::Timeout => Code::DeadlineExceeded,
        ErrorCode::Internal => Code::Internal,
    };
    let metadata: HashMap<String, String> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    Status::with_error_details(
        grpc,
        message,
        ErrorDetails::with_error_info(code.as_str(), "food", metadata),
    )
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

/// Maps a database error to UNAVAILABLE without leaking SQL to clients.
pub fn db_error(e: impl std::fmt::Display) -> Status {
    tracing::error!(error = %e, "database error");
    error(
        ErrorCode::Unavailable,
        "the database is unavailable, try again",
        &[],
    )
}

/// A list call's page size: 0 means the default (50); above the maximum
/// (1000) is refused rather than clamped, so a client learns its assumption
/// is wrong.
pub fn page_limit(limit: u32) -> Result<u32, Status> {
    match limit {
        0 => Ok(food_api::DEFAULT_LIMIT),
        l if l <= food_api::MAX_LIMIT => Ok(l),
        l => Err(error(
            ErrorCode::InvalidArgument,
            format!("limit must be at most {}, got {l}", food_api::MAX_LIMIT),
            &[("field", "limit".into())],
        )),
    }
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
    fn a_bare_status_falls_back_to_its_grpc_code() {
        let (code, _) = error_code(&Status::unavailable("down"));
        assert_eq!(code, ErrorCode::Unavailable);
    }
}
