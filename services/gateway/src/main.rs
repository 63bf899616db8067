//! `gateway`: the HTTP entry point. Settings come from `FOOD_GATEWAY__*`
//! (and `FOOD_CONFIG`, `FOOD_KAFKA_BROKERS`); see `food_gateway::Settings`.

use std::process::ExitCode;

use food_gateway::{Application, Settings};
use food_kit::Shutdown;

#[tokio::main]
async fn main() -> ExitCode {
    food_kit::telemetry::init();
    let settings = match food_kit::settings::load::<Settings>("gateway") {
        Ok(s) => s,
        Err(e) => {
            eprintln!("gateway: {e}");
            return ExitCode::from(2);
        }
    };
    settings.log();
    let shutdown = Shutdown::new();
    shutdown.trigger_on_signals();
    let result = async {
        Application::build(settings, shutdown)
            .await?
            .run_until_stopped()
            .await
    }
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "gateway stopped");
            eprintln!("gateway: {e:#}");
            ExitCode::FAILURE
        }
    }
}
