//! The body of every service's `main`: telemetry, settings (one line and
//! exit code 2 when one is bad), signals, then the service until it stops.

use std::{future::Future, process::ExitCode};

use serde::{Serialize, de::DeserializeOwned};

use crate::{Shutdown, settings, telemetry};

/// Runs `serve` with settings loaded for `service` (`FOOD_<SERVICE>__*`);
/// `binary` names the process in error lines.
pub async fn run<S, F, Fut>(service: &str, binary: &str, serve: F) -> ExitCode
where
    S: Serialize + DeserializeOwned + Default,
    F: FnOnce(S, Shutdown) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    telemetry::init();
    let settings: S = match settings::load(service) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{binary}: {e}");
            return ExitCode::from(2);
        }
    };
    let shutdown = Shutdown::new();
    shutdown.trigger_on_signals();
    match serve(settings, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{binary}: {e:#}");
            ExitCode::FAILURE
        }
    }
}
