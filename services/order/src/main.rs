use std::process::ExitCode;

use food_kit::{Shutdown, settings, telemetry};
use food_order::{Application, Settings};

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init();
    let settings: Settings = match settings::load("order") {
        Ok(s) => s,
        Err(e) => {
            eprintln!("order-service: {e}");
            return ExitCode::from(2);
        }
    };
    settings.service.log("order");
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
            eprintln!("order-service: {e:#}");
            ExitCode::FAILURE
        }
    }
}
