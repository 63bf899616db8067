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
            tracing::info!(
                menu_url = %settings.menu_url,
                menu_timeout_ms = settings.menu_timeout_ms,
                menu_probe_interval_ms = settings.menu_balance.probe_interval_ms,
                menu_probe_timeout_ms = settings.menu_balance.probe_timeout_ms,
                menu_resolve_interval_ms = settings.menu_balance.resolve_interval_ms,
                menu_cache_ms = settings.menu_cache_ms,
                relay_linger_ms = settings.relay_linger_ms,
                acceptance_sweep_ms = settings.acceptance_sweep_ms,
                "order-service settings"
            );
            Application::build(settings, shutdown)
                .await?
                .run_until_stopped()
                .await
        },
    )
    .await
}
