//! The process-wide Prometheus recorder.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the recorder once per process and returns its handle; later calls
/// (several services in one `food-stack`) share it.
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ])
                .expect("static buckets are valid")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may be installed (a test harness); keep ours for rendering.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Serves `GET /metrics` on `addr` until `shutdown` (for services run on
/// their own; in `food-stack` the gateway's `/metrics` shows every part).
pub async fn serve(addr: std::net::SocketAddr, shutdown: crate::Shutdown) -> anyhow::Result<()> {
    let handle = handle();
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let handle = handle.clone();
            async move { handle.render() }
        }),
    );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(addr = %listener.local_addr()?, "serving metrics");
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await?;
    Ok(())
}

/// Starts [`serve`] in the background when `addr` is set.
pub fn spawn_if_configured(addr: Option<std::net::SocketAddr>, shutdown: &crate::Shutdown) {
    if let Some(addr) = addr {
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            if let Err(e) = serve(addr, shutdown).await {
                tracing::error!(%addr, error = %format!("{e:#}"), "metrics endpoint stopped");
            }
        });
    }
}
