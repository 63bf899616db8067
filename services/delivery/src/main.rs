use std::process::ExitCode;

use food_delivery::{Application, Settings};
use food_kit::{Shutdown, settings, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init();
    let settings: Settings = match settings::load("delivery") {
        Ok(s) => s,
        Err(e) => {
            eprintln!("delivery-service: {e}");
            return ExitCode::from(2);
        }
    };
    settings.service.log("delivery");
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
            eprintln!("delivery-service: {e:#}");
            ExitCode::FAILURE
        }
    }
}
