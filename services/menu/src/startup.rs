//! Wiring: database, seed, listener and the tonic server with health and
//! reflection. Tests and `food-stack` start exactly this.

use std::net::SocketAddr;

use anyhow::Context;
use food_kit::{Db, Shutdown};
use food_proto::menu::v1::menu_service_server::MenuServiceServer;
use tokio::net::TcpListener;
use tonic::transport::{Server, server::Router};
use tonic_health::server::HealthReporter;

use crate::{
    Settings, seed,
    service::MenuApi,
    store::{MIGRATIONS, Store},
};

/// A built, bound, not yet serving menu service.
pub struct Application {
    /// Bound in `build` so that port 0 resolves before anyone connects.
    listener: TcpListener,
    local_addr: SocketAddr,
    router: Router,
    /// Flipped to NOT_SERVING when shutdown starts, so load balancers stop routing here first.
    health: HealthReporter,
    /// Closed after the server drains, so a restart on the same SQLite file finds it released.
    db: Db,
    shutdown: Shutdown,
    /// Standalone `/metrics`, when configured.
    metrics_listen: Option<SocketAddr>,
}

impl Application {
    /// Connects and migrates the database, seeds an empty menu (when
    /// `settings.seed`), binds the listener and assembles the server.
    pub async fn build(settings: Settings, shutdown: Shutdown) -> anyhow::Result<Self> {
        let url = settings.service.database_url("menu");
        let db = Db::connect(&url, &MIGRATIONS).await?;
        let store = Store::new(db.clone());
        if settings.seed {
            let seeded = seed::seed_if_empty(&store).await?;
            if seeded > 0 {
                tracing::info!(items = seeded, "seeded the menu from data/menu.json");
            }
        }

        let listener = TcpListener::bind(settings.service.listen)
            .await
            .with_context(|| format!("binding the gRPC listener on {}", settings.service.listen))?;
        let local_addr = listener.local_addr()?;

        let (health, health_service) = tonic_health::server::health_reporter();
        health.set_serving::<MenuServiceServer<MenuApi>>().await;
        let (reflection_v1, reflection_v1alpha) = food_kit::grpc::reflection()?;
        let router = Server::builder()
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(MenuServiceServer::new(MenuApi::new(store)));

        Ok(Self {
            listener,
            local_addr,
            router,
            health,
            db,
            shutdown,
            metrics_listen: settings.service.metrics_listen,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until the shutdown token trips, then drains in-flight calls
    /// and closes the database.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let health = self.health.clone();
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            shutdown.cancelled().await;
            health.set_not_serving::<MenuServiceServer<MenuApi>>().await;
        });
        food_kit::metrics::spawn_if_configured(self.metrics_listen, &self.shutdown);
        tracing::info!(addr = %self.local_addr, "menu-service listening");
        let served = food_kit::grpc::serve(self.router, self.listener, self.shutdown).await;
        self.db.close().await;
        tracing::info!("menu-service stopped");
        served
    }
}
