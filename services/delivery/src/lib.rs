//! delivery-service: creates a delivery for each placed order, moves it
//! through the delivery state machine, and announces every change.
//!
//! # Layout
//! - [`Settings`], [`Application`]: wiring (gRPC server, outbox relay, consumer).
//! - `store`: SQL for deliveries and their history; every change writes the
//!   row, a history entry and a DeliveryStatusChanged outbox row in one
//!   transaction.
//! - `service`: the `DeliveryService` gRPC implementation.
//! - `events`: the OrderPlaced / OrderCancelled consumer.

mod events;
mod service;
mod store;

use std::net::SocketAddr;

use food_events::topics::Topics;
use food_kit::{
    Db, Shutdown,
    db::{Migrations, Step},
    event_service::{EventService, ensure_topics, group_consumer},
    grpc::GrpcHost,
    outbox::{Relay, Waker},
    settings::ServiceSettings,
};
use food_proto::delivery::v1::delivery_service_server::DeliveryServiceServer;
use serde::{Deserialize, Serialize};

pub use events::OrderEvents;

const SERVICE: &str = "delivery";

/// delivery-service settings (`FOOD_DELIVERY__*`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    #[serde(flatten)]
    pub service: ServiceSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            service: ServiceSettings::with_listen("127.0.0.1:50053"),
        }
    }
}

/// One file for both backends: its SQL is portable.
pub const MIGRATIONS: Migrations = Migrations::portable(&[
    Step {
        version: 100,
        description: "deliveries",
        sql: include_str!("../migrations/0100_deliveries.sql"),
    },
    Step {
        version: 101,
        description: "delivery restaurants",
        sql: include_str!("../migrations/0101_delivery_restaurants.sql"),
    },
]);

/// A built delivery-service, listening, not yet serving.
pub struct Application(EventService<OrderEvents>);

impl Application {
    pub async fn build(settings: Settings, shutdown: Shutdown) -> anyhow::Result<Self> {
        let s = &settings.service;
        let db = Db::connect(&s.database_url(SERVICE), &MIGRATIONS).await?;
        let topics = Topics::with_prefix(&s.kafka.topic_prefix);
        ensure_topics(&s.kafka, &topics).await?;
        let waker = Waker::new();
        let relay = Relay::new(SERVICE, db.clone(), &s.kafka.brokers, waker.clone())?;
        let consumer = group_consumer(&s.kafka, "delivery-service", &topics.orders)?;
        let handler = OrderEvents::new(topics.clone(), waker.clone());

        let api = service::DeliveryApi::new(db.clone(), topics, waker);
        let host = GrpcHost::bind("delivery-service", s.listen)
            .await?
            .add_service(DeliveryServiceServer::new(api))
            .await;
        Ok(Self(EventService {
            host,
            db,
            relay,
            consumer,
            handler,
            batch_interval: s.kafka.consumer_batch_interval(),
            shutdown,
            metrics_listen: s.metrics_listen,
        }))
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.0.host.local_addr()
    }

    /// Serves until shutdown: drains in-flight calls, stops consuming, then
    /// flushes the outbox relay.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.0.run(async {}).await
    }
}
