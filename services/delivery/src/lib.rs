//! delivery-service: creates a delivery for each placed order, moves it
//! through the delivery state machine, and announces every change.
//!
//! # Layout
//! - [`Settings`], [`Application`]: wiring (gRPC server, outbox relay, consumer).
//! - `store`: SQL for deliveries and their history; every change writes the
//!   row, a history entry and a DeliveryStatusChanged outbox row in one
//!   transaction.
//! - `service`: the `DeliveryService` gRPC implementation.
//! - `events`: the food.orders.v1 consumer: creates deliveries, dispatches
//!   them once the kitchen accepts, cancels them with their order.
//!
//! Couriers live here too (`store`'s couriers, `ListCouriers`,
//! `SetCourierShift`, `PutCourier`). Every transaction that may assign a
//! courier takes the dispatch lock first (`store::lock_dispatch`), so that
//! replicas on one PostgreSQL database never overload a courier or give a
//! delivery two.

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
    /// The most active deliveries automatic dispatch and couriers' claims
    /// give one courier (ops assigning by hand are not bound by it).
    pub max_active_per_courier: u32,
}

/// The default of [`Settings::max_active_per_courier`].
pub const DEFAULT_MAX_ACTIVE_PER_COURIER: u32 = 2;

impl food_kit::healthcheck::Probed for Settings {
    fn probe(&self) -> food_kit::healthcheck::Probe {
        food_kit::healthcheck::Probe::Grpc(self.service.listen)
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            service: ServiceSettings::with_listen("127.0.0.1:50053"),
            max_active_per_courier: DEFAULT_MAX_ACTIVE_PER_COURIER,
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
    Step {
        version: 102,
        description: "couriers",
        sql: include_str!("../migrations/0102_couriers.sql"),
    },
    Step {
        version: 103,
        description: "delivery short ids",
        sql: include_str!("../migrations/0103_delivery_short_ids.sql"),
    },
]);

/// A built delivery-service, listening, not yet serving.
pub struct Application(EventService<OrderEvents>);

impl Application {
    pub async fn build(settings: Settings, shutdown: Shutdown) -> anyhow::Result<Self> {
        let s = &settings.service;
        let cap = settings.max_active_per_courier;
        anyhow::ensure!(
            cap >= 1,
            "max_active_per_courier must be at least 1, got {cap}"
        );
        let db = Db::connect(&s.database_url(SERVICE), &MIGRATIONS).await?;
        let topics = Topics::with_prefix(&s.kafka.topic_prefix);
        ensure_topics(&s.kafka, &topics).await?;
        let waker = Waker::new();
        let relay = Relay::new(SERVICE, db.clone(), &s.kafka.brokers, waker.clone())?;
        let consumer = group_consumer(&s.kafka, "delivery-service", &topics.orders)?;
        let handler = OrderEvents::new(topics.clone(), waker.clone(), cap);

        let api = service::DeliveryApi::new(db.clone(), topics, waker, cap);
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
