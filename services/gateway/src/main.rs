//! `gateway`: the HTTP entry point. Settings come from `FOOD_GATEWAY__*`
//! (and `FOOD_CONFIG`, `FOOD_KAFKA_BROKERS`); see `food_gateway::Settings`.

use std::process::ExitCode;

use food_gateway::{Application, Settings};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    food_kit::main_helper::run(
        "gateway",
        "gateway",
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
