//! Wiring: database, seed, listener and the tonic server with health and
//! reflection. Tests and `food-stack` start exactly this.

use std::net::SocketAddr;

use food_kit::{Db, Shutdown, grpc::GrpcHost};
use food_proto::menu::v1::menu_service_server::MenuServiceServer;

use crate::{
    Settings, seed,
    service::MenuApi,
    store::{Imported, MIGRATIONS, Store},
};

/// A built, bound, not yet serving menu service.
pub struct Application {
    /// The gRPC server, bound, with the menu API added.
    host: GrpcHost,
    /// Closed after the server drains, so a restart on the same SQLite file finds it released.
    db: Db,
    shutdown: Shutdown,
    /// Standalone `/metrics`, when configured.
    metrics_listen: Option<SocketAddr>,
}

impl Application {
    /// Connects and migrates the database, seeds the menu as `settings.seed`
    /// says, binds the listener and assembles the server.
    pub async fn build(settings: Settings, shutdown: Shutdown) -> anyhow::Result<Self> {
        let url = settings.service.database_url("menu");
        let db = Db::connect(&url, &MIGRATIONS).await?;
        let store = Store::new(db.clone());
        let seeded = seed::seed(&store, settings.seed).await?;
        if seeded != Imported::default() {
            tracing::info!(
                mode = %settings.seed,
                restaurants = seeded.restaurants.created,
                items = seeded.items.created,
                "seeded the menu from data/menu.json"
            );
        }
        let host = GrpcHost::bind("menu-service", settings.service.listen)
            .await?
            .add_service(MenuServiceServer::new(MenuApi::new(store)))
            .await;
        Ok(Self {
            host,
            db,
            shutdown,
            metrics_listen: settings.service.metrics_listen,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.host.local_addr()
    }

    /// Serves until the shutdown token trips, then drains in-flight calls
    /// and closes the database.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        food_kit::metrics::spawn_if_configured(self.metrics_listen, &self.shutdown);
        let served = self.host.serve(self.shutdown).await;
        self.db.close().await;
        tracing::info!("menu-service stopped");
        served
    }
}
