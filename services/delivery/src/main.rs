use std::process::ExitCode;

use food_delivery::{Application, Settings};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    food_kit::main_helper::run(
        "delivery",
        "delivery-service",
        |settings: Settings, shutdown| async move {
            settings.service.log("delivery");
            Application::build(settings, shutdown)
                .await?
                .run_until_stopped()
                .await
        },
    )
    .await
}
