//! order-service: prices orders from the menu, stores them with their
//! OrderPlaced event in one transaction, and follows deliveries to move each
//! order's status.
//!
//! # Layout
//! - [`Settings`], [`Application`]: wiring (gRPC server, outbox relay, consumer).
//! - `validate`: request checks, each naming its field.
//! - `store`: SQL for orders and lines; the batching committer.
//! - `service`: the `OrderService` gRPC implementation.
//! - `events`: the DeliveryStatusChanged consumer.

mod events;
mod menu;
mod service;
mod store;
mod validate;

use std::{net::SocketAddr, time::Duration};

use anyhow::Context;
use food_events::topics::Topics;
use food_kit::{
    Db, Shutdown,
    db::{Migrations, Step},
    outbox::{Relay, Waker},
    settings::ServiceSettings,
};
use food_proto::{
    menu::v1::menu_service_client::MenuServiceClient,
    order::v1::order_service_server::OrderServiceServer,
};
use rdkafka::consumer::{Consumer, StreamConsumer};
use serde::{Deserialize, Serialize};
use tokio::{net::TcpListener, task::JoinHandle};
use tonic::transport::Endpoint;

pub use events::DeliveryEvents;

const SERVICE: &str = "order";

/// order-service settings (`FOOD_ORDER__*`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    #[serde(flatten)]
    pub service: ServiceSettings,
    /// The menu service, for pricing.
    pub menu_url: String,
    /// Bound on each menu call, so that a stuck menu fails orders fast.
    pub menu_timeout_ms: u64,
    /// How long a menu item's price and availability are used before
    /// menu-service is asked again; 0 asks for every order.
    pub menu_cache_ms: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            service: ServiceSettings::with_listen("127.0.0.1:50052"),
            menu_url: "http://127.0.0.1:50051".into(),
            menu_timeout_ms: 2000,
            menu_cache_ms: 1000,
        }
    }
}

pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &[Step {
        version: 100,
        description: "orders",
        sql: include_str!("../migrations/0100_orders.sql"),
    }],
    postgres: &[Step {
        version: 100,
        description: "orders",
        sql: include_str!("../migrations/0100_orders.sql"),
    }],
};

/// A built order-service, listening, not yet serving.
pub struct Application {
    addr: SocketAddr,
    listener: TcpListener,
    router: tonic::transport::server::Router,
    db: Db,
    relay: Relay,
    consumer: StreamConsumer,
    handler: DeliveryEvents,
    committer: JoinHandle<()>,
    shutdown: Shutdown,
    metrics_listen: Option<SocketAddr>,
}

impl Application {
    pub async fn build(settings: Settings, shutdown: Shutdown) -> anyhow::Result<Self> {
        let s = &settings.service;
        let db = Db::connect(&s.database_url(SERVICE), &MIGRATIONS).await?;
        let topics = Topics::with_prefix(&s.kafka.topic_prefix);
        food_kit::kafka::ensure_topics(
            &s.kafka.brokers,
            &topics.all(),
            s.kafka.partitions,
            Duration::from_secs(30),
        )
        .await
        .context("creating topics")?;

        let timeout = Duration::from_millis(settings.menu_timeout_ms);
        let menu_channel = Endpoint::from_shared(settings.menu_url.clone())
            .with_context(|| format!("menu_url `{}`", settings.menu_url))?
            .connect_timeout(timeout)
            .timeout(timeout)
            .connect_lazy();
        let menu = menu::MenuItems::new(
            MenuServiceClient::new(menu_channel),
            Duration::from_millis(settings.menu_cache_ms),
        );

        let waker = Waker::new();
        let relay = Relay::new(SERVICE, db.clone(), &s.kafka.brokers, waker.clone())?;
        let (committer, committer_task) =
            store::Committer::start(db.clone(), topics.clone(), waker.clone());

        let group = s
            .kafka
            .group_id
            .clone()
            .unwrap_or_else(|| "order-service".to_owned());
        let consumer: StreamConsumer = food_kit::kafka::consumer_config(&s.kafka.brokers, &group)
            .create()
            .context("creating the delivery-events consumer")?;
        consumer.subscribe(&[&topics.deliveries])?;
        let handler = DeliveryEvents::new(topics.clone(), waker.clone());

        let (health, health_service) = tonic_health::server::health_reporter();
        health
            .set_serving::<OrderServiceServer<service::OrderApi>>()
            .await;
        let (reflection_v1, reflection_v1alpha) = food_kit::grpc::reflection()?;
        let api = service::OrderApi::new(db.clone(), menu, committer, topics, waker);
        let router = tonic::transport::Server::builder()
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(OrderServiceServer::new(api));

        let listener = TcpListener::bind(s.listen)
            .await
            .with_context(|| format!("binding {}", s.listen))?;
        let addr = listener.local_addr()?;
        Ok(Self {
            addr,
            listener,
            router,
            db,
            relay,
            consumer,
            handler,
            committer: committer_task,
            shutdown,
            metrics_listen: s.metrics_listen,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until shutdown: drains in-flight calls, stops consuming, then
    /// flushes the outbox relay.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        tracing::info!(addr = %self.addr, "order-service listening");
        food_kit::metrics::spawn_if_configured(self.metrics_listen, &self.shutdown);
        let consumer = tokio::spawn(food_events::consumer::run(
            self.consumer,
            self.db.clone(),
            self.handler,
            self.shutdown.clone(),
        ));
        let relay_stop = Shutdown::new();
        let relay = tokio::spawn(self.relay.run(relay_stop.clone()));
        let served = food_kit::grpc::serve(self.router, self.listener, self.shutdown.clone()).await;
        let _ = consumer.await;
        // The committer ends when the server (and with it every sender) is gone.
        let _ = self.committer.await;
        relay_stop.trigger();
        let _ = relay.await;
        self.db.close().await;
        served
    }
}
