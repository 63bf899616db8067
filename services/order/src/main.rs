use std::process::ExitCode;

use food_order::{Application, Settings};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    food_kit::main_helper::run(
        "order",
        "order-service",
        |settings: Settings, shutdown| async move {
            settings.service.log("order");
            Application::build(settings, shutdown)
                .await?
                .run_until_stopped()
                .await
        },
    )
    .await
}
