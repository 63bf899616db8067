//! `menu-service`: settings, telemetry, then the [`Application`].

use std::process::ExitCode;

use food_kit::Shutdown;
use food_menu::{Application, Settings};

#[tokio::main]
async fn main() -> ExitCode {
    food_kit::telemetry::init();
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("menu-service: {err}");
            return ExitCode::from(2);
        }
    };
    settings.log();
    let shutdown = Shutdown::new();
    shutdown.trigger_on_signals();
    match run(settings, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %format!("{err:#}"), "menu-service failed");
            eprintln!("menu-service: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(settings: Settings, shutdown: Shutdown) -> anyhow::Result<()> {
    Application::build(settings, shutdown)
        .await?
        .run_until_stopped()
        .await
}
