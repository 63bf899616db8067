//! Exit codes (docs/design.md, "Clients") and the one place that maps an error to one.
//!
//! Scripts branch on these numbers, so they are stable: a new kind of failure
//! gets an existing code, never a new meaning for an old one.

use std::process::ExitCode;

use food_api::ErrorCode;
use food_client::{ApiError, BadGateway, ContextsError};

/// How `foodctl` ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Exit {
    Ok,
    Other,
    Usage,
    NotFound,
    Auth,
    Conflict,
    Unavailable,
    TimedOut,
}

impl Exit {
    pub const ALL: [Exit; 8] = [
        Self::Ok,
        Self::Other,
        Self::Usage,
        Self::NotFound,
        Self::Auth,
        Self::Conflict,
        Self::Unavailable,
        Self::TimedOut,
    ];

    pub fn code(self) -> u8 {
        match self {
            Self::Ok => 0,
            Self::Other => 1,
            Self::Usage => 2,
            Self::NotFound => 3,
            Self::Auth => 4,
            Self::Conflict => 5,
            Self::Unavailable => 6,
            Self::TimedOut => 7,
        }
    }

    /// One line for `foodctl --help` and the README.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Other => "other error, or some lines of a bulk create failed",
            Self::Usage => "usage: bad flags, bad input file or a 400/413 from the gateway",
            Self::NotFound => "not found (404), or no such context",
            Self::Auth => "auth: missing, bad or insufficient token (401, 403)",
            Self::Conflict => "conflict or refused transition (409, 422)",
            Self::Unavailable => "unavailable: gateway unreachable, 503, or rate limited (429)",
            Self::TimedOut => "timed out (a request, or --wait-for)",
        }
    }

    /// The code for a machine code from an error body.
    pub fn from_error_code(code: ErrorCode) -> Self {
        match code {
            ErrorCode::InvalidArgument | ErrorCode::PayloadTooLarge => Self::Usage,
            ErrorCode::NotFound => Self::NotFound,
            ErrorCode::Unauthenticated | ErrorCode::PermissionDenied => Self::Auth,
            ErrorCode::InvalidTransition
            | ErrorCode::VersionConflict
            | ErrorCode::ItemUnavailable
            | ErrorCode::MixedRestaurants
            | ErrorCode::RestaurantClosed
            | ErrorCode::NotAccepted
            | ErrorCode::UnknownCourier
            | ErrorCode::NotCancellable
            | ErrorCode::AmbiguousId
            | ErrorCode::IdempotencyConflict
            | ErrorCode::AlreadyExists => Self::Conflict,
            ErrorCode::RateLimited | ErrorCode::Unavailable => Self::Unavailable,
            ErrorCode::Timeout => Self::TimedOut,
            ErrorCode::Internal => Self::Other,
        }
    }

    /// The fallback when a body carries no code we know (a proxy's error page).
    pub fn from_http_status(status: u16) -> Self {
        match status {
            200..=299 => Self::Ok,
            400 | 413 => Self::Usage,
            401 | 403 => Self::Auth,
            404 => Self::NotFound,
            409 | 412 | 422 => Self::Conflict,
            429 | 502 | 503 => Self::Unavailable,
            408 | 504 => Self::TimedOut,
            _ => Self::Other,
        }
    }

    /// The code for an error body, falling back to the HTTP status.
    pub fn from_api(status: u16, code: &str) -> Self {
        ErrorCode::parse(code).map_or_else(|| Self::from_http_status(status), Self::from_error_code)
    }

    /// The code for a failed call to the gateway.
    pub fn of_api(err: &ApiError) -> Self {
        match err {
            ApiError::Api { status, body } => Self::from_api(*status, &body.error.code),
            ApiError::Unreachable { .. } | ApiError::Interrupted { .. } => Self::Unavailable,
            ApiError::TimedOut(_) => Self::TimedOut,
            ApiError::Protocol(_) => Self::Other,
        }
    }

    /// The code for any error `run` returns: the first link of the cause
    /// chain that knows its code decides.
    pub fn of(err: &anyhow::Error) -> Self {
        for cause in err.chain() {
            if let Some(f) = cause.downcast_ref::<Fail>() {
                return f.exit;
            }
            if let Some(e) = cause.downcast_ref::<ApiError>() {
                return Self::of_api(e);
            }
            // A bad contexts file or gateway URL is the user's to fix.
            if cause.is::<BadGateway>() {
                return Self::Usage;
            }
            if let Some(e) = cause.downcast_ref::<ContextsError>() {
                return match e {
                    ContextsError::Invalid { .. } => Self::Usage,
                    _ => Self::Other,
                };
            }
            if let Some(e) = cause.downcast_ref::<clap::Error>() {
                return if e.use_stderr() {
                    Self::Usage
                } else {
                    Self::Ok
                };
            }
        }
        Self::Other
    }

    /// The most specific code that all `codes` share: itself if they agree,
    /// else [`Exit::Other`]; [`Exit::Ok`] when there are none.
    pub fn shared(codes: impl IntoIterator<Item = Exit>) -> Self {
        let mut shared = None;
        for c in codes {
            match shared {
                None => shared = Some(c),
                Some(s) if s == c => {}
                Some(_) => return Self::Other,
            }
        }
        shared.unwrap_or(Self::Ok)
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e.code())
    }
}

/// The `Exit codes:` section of `foodctl --help`.
pub fn help_text() -> String {
    let mut s = String::from("Exit codes:\n");
    for e in Exit::ALL {
        s.push_str(&format!("  {}  {}\n", e.code(), e.describe()));
    }
    s.push_str("\nEnvironment: FOODCTL_GATEWAY, FOODCTL_TOKEN, FOODCTL_CONTEXT, NO_COLOR,\n");
    s.push_str("FOOD_KAFKA_BROKERS (events tail), XDG_CONFIG_HOME (contexts file).");
    s
}

/// A failure that knows its exit code; its message is printed as is.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Fail {
    pub exit: Exit,
    pub message: String,
}

/// Builds an error that ends `foodctl` with `exit`.
pub fn fail(exit: Exit, message: impl Into<String>) -> anyhow::Error {
    Fail {
        exit,
        message: message.into(),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_documented_numbers() {
        let codes: Vec<u8> = Exit::ALL.iter().map(|e| e.code()).collect();
        assert_eq!(codes, [0, 1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn every_machine_code_maps_to_the_code_of_its_http_status() {
        for code in ErrorCode::ALL {
            let by_code = Exit::from_error_code(code);
            let by_status = Exit::from_http_status(code.http_status());
            // 503 Timeout is the one deliberate difference: the code is more precise.
            if code != ErrorCode::Timeout {
                assert_eq!(by_code, by_status, "{code}");
            }
        }
    }

    #[test]
    fn api_errors_map_by_code_first_then_by_status() {
        assert_eq!(Exit::from_api(404, "not_found"), Exit::NotFound);
        assert_eq!(Exit::from_api(409, "invalid_transition"), Exit::Conflict);
        assert_eq!(Exit::from_api(422, "item_unavailable"), Exit::Conflict);
        assert_eq!(Exit::from_api(401, "unauthenticated"), Exit::Auth);
        assert_eq!(Exit::from_api(403, "permission_denied"), Exit::Auth);
        assert_eq!(Exit::from_api(429, "rate_limited"), Exit::Unavailable);
        assert_eq!(Exit::from_api(503, "timeout"), Exit::TimedOut);
        assert_eq!(Exit::from_api(503, "something_new"), Exit::Unavailable);
        assert_eq!(Exit::from_api(500, "internal"), Exit::Other);
        assert_eq!(Exit::from_api(418, ""), Exit::Other);
    }

    #[test]
    fn an_ambiguous_short_id_exits_5_with_its_candidates_on_hand() {
        let mut body = food_api::ErrorBody::new(
            ErrorCode::AmbiguousId,
            "`e920546f` is the short id of 2 orders: a-e920546f, b-e920546f; use the full id",
        );
        body.error.details.insert(
            "candidates".into(),
            serde_json::json!(["a-e920546f", "b-e920546f"]),
        );
        let err =
            anyhow::Error::new(ApiError::Api { status: 409, body }).context("GET /orders/e920546f");

        assert_eq!(Exit::of(&err), Exit::Conflict);
        assert_eq!(Exit::of(&err).code(), 5);
        assert_eq!(
            crate::ambiguous_candidates(&err),
            ["a-e920546f", "b-e920546f"]
        );
        let other = anyhow::Error::new(ApiError::Api {
            status: 404,
            body: food_api::ErrorBody::new(ErrorCode::NotFound, "no order `e920546f`"),
        });
        assert!(crate::ambiguous_candidates(&other).is_empty());
    }

    #[test]
    fn gateway_errors_map_by_their_body_and_transport_errors_by_kind() {
        let e = ApiError::Api {
            status: 409,
            body: food_api::ErrorBody::new(
                ErrorCode::InvalidTransition,
                "cannot move a delivery from PENDING to DELIVERED",
            ),
        };
        assert_eq!(Exit::of_api(&e), Exit::Conflict);
        assert_eq!(
            Exit::of_api(&ApiError::TimedOut(std::time::Duration::from_secs(1))),
            Exit::TimedOut
        );
        assert_eq!(Exit::of(&anyhow::Error::from(e)), Exit::Conflict);
    }

    #[test]
    fn transient_gateway_errors_are_the_ones_that_exit_unavailable_or_timed_out() {
        for code in ErrorCode::ALL {
            for status in [code.http_status(), 418] {
                let e = ApiError::Api {
                    status,
                    body: food_api::ErrorBody::new(code, "x"),
                };
                let exit = Exit::of_api(&e);
                assert_eq!(
                    e.is_transient(),
                    matches!(exit, Exit::Unavailable | Exit::TimedOut),
                    "{code} {status}"
                );
            }
        }
        for status in [400, 404, 408, 429, 500, 502, 503, 504] {
            let mut body = food_api::ErrorBody::new(ErrorCode::Internal, "x");
            body.error.code = "something_new".into();
            let e = ApiError::Api { status, body };
            assert_eq!(
                e.is_transient(),
                matches!(Exit::of_api(&e), Exit::Unavailable | Exit::TimedOut),
                "{status}"
            );
        }
    }

    #[test]
    fn a_bad_gateway_url_is_a_usage_error() {
        let err = anyhow::Error::from(food_client::normalise_gateway("localhost").unwrap_err());
        assert_eq!(Exit::of(&err), Exit::Usage);
    }

    #[test]
    fn an_error_chain_takes_the_code_of_its_first_known_cause() {
        let err = fail(Exit::TimedOut, "waited too long").context("creating order");
        assert_eq!(Exit::of(&err), Exit::TimedOut);
        assert_eq!(Exit::of(&anyhow::anyhow!("plain")), Exit::Other);
    }

    #[test]
    fn a_shared_code_survives_and_a_mix_becomes_other() {
        assert_eq!(Exit::shared([]), Exit::Ok);
        assert_eq!(
            Exit::shared([Exit::Conflict, Exit::Conflict]),
            Exit::Conflict
        );
        assert_eq!(Exit::shared([Exit::Conflict, Exit::NotFound]), Exit::Other);
    }

    #[test]
    fn the_help_text_lists_every_code() {
        let help = help_text();
        for e in Exit::ALL {
            assert!(help.contains(&format!("  {}  {}", e.code(), e.describe())));
        }
    }
}
