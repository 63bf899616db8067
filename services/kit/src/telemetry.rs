//! Tracing set up once per process: human-readable by default, JSON lines
//! with `FOOD_LOG_FORMAT=json`; the filter comes from `RUST_LOG` (default `info`).

use std::io::IsTerminal;

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// The filter when `RUST_LOG` is unset or invalid.
const DEFAULT_FILTER: &str = "info,rdkafka=warn,tansu=warn,tansu_broker=warn,tansu_storage=warn,sqlx=warn,h2=warn,tower=warn,hyper=warn,libsql=warn";

/// Crates that log whole WebSocket messages and handshakes at trace level;
/// the gateway's GraphQL `connection_init` payload and upgrade request
/// carry an API key. Capped at debug whatever `RUST_LOG` says, so that no
/// log level writes a key.
const PAYLOAD_LOGGERS: [&str; 2] = ["tungstenite=debug", "tokio_tungstenite=debug"];

/// The filter of `rust_log` (the `RUST_LOG` syntax; the default when
/// absent or invalid) with [`PAYLOAD_LOGGERS`] capped.
pub fn env_filter(rust_log: Option<&str>) -> EnvFilter {
    let filter = rust_log
        .and_then(|spec| EnvFilter::try_new(spec).ok())
        .unwrap_or_else(|| EnvFilter::new(DEFAULT_FILTER));
    PAYLOAD_LOGGERS.into_iter().fold(filter, |filter, cap| {
        filter.add_directive(cap.parse().expect("a valid directive"))
    })
}

/// Installs the global subscriber. Later calls (tests, `food-stack` starting
/// several services) are no-ops.
pub fn init() {
    let filter = env_filter(std::env::var("RUST_LOG").ok().as_deref());
    let json = std::env::var("FOOD_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = if json {
        registry
            .with(
                fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_writer(std::io::stderr),
            )
            .try_init()
    } else {
        // Colours only on a terminal: a log redirected to a file or a
        // journal gets no escape codes.
        registry
            .with(
                fmt::layer()
                    .with_ansi(std::io::stderr().is_terminal())
                    .with_writer(std::io::stderr),
            )
            .try_init()
    };
}

/// For tests: logs only when `TEST_LOG` is set, so test output stays quiet.
pub fn init_for_tests() {
    if std::env::var_os("TEST_LOG").is_some() {
        init();
    }
}
