//! `menu-service`: settings, telemetry, then the [`Application`].

use std::process::ExitCode;

use food_menu::{Application, Settings};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    food_kit::main_helper::run(
        "menu",
        "menu-service",
        |settings: Settings, shutdown| async move {
            settings.log();
            Application::build(settings, shutdown)
                .await?
                .run_until_stopped()
                .await
        },
    )
    .await
}
