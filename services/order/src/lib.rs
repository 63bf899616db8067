//! order-service: prices orders from the menu, stores them with their
//! OrderPlaced event in one transaction, is the kitchen's side (accept,
//! reject, ready, the acceptance deadline), and follows deliveries to move
//! each order's status.
//!
//! # Layout
//! - [`Settings`], [`Application`]: wiring (gRPC server, outbox relay,
//!   consumer, deadline sweep).
//! - `validate`: request checks, each naming its field.
//! - `menu`: the items and restaurants an order needs, cached briefly.
//! - `pricing`: one restaurant per order, open, its items available; the
//!   checks in the order a customer should hear of them; how its kitchen
//!   takes it.
//! - `store`: SQL for orders and lines; the batching committer; conditional
//!   status moves.
//! - `service`: the `OrderService` gRPC implementation.
//! - `events`: the DeliveryStatusChanged consumer.
//! - `deadline`: rejects orders whose kitchen did not answer in time.

mod deadline;
mod events;
mod menu;
mod pricing;
mod service;
mod store;
mod validate;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use food_events::topics::Topics;
use food_kit::{
    Db, Shutdown,
    db::{Migrations, Step},
    event_service::{EventService, ensure_topics, group_consumer},
    grpc::{
        GrpcHost,
        balance::{BalanceSettings, Balanced},
    },
    outbox::{Relay, Waker},
    settings::ServiceSettings,
};
use food_proto::{
    menu::v1::menu_service_client::MenuServiceClient,
    order::v1::order_service_server::OrderServiceServer,
};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

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
    /// How the menu-service replicas behind `menu_url` are found and
    /// watched (`FOOD_ORDER__MENU_BALANCE__PROBE_INTERVAL_MS`, ...): calls go
    /// round-robin over those that answer their health probe.
    pub menu_balance: BalanceSettings,
    /// How long a menu item's price and availability, and whether its
    /// restaurant is open, are used before menu-service is asked again; 0
    /// asks for every order.
    pub menu_cache_ms: u64,
    /// How long the outbox relay's producer gathers events into one produce
    /// request (`linger.ms`). Under load a relay round's events then go to
    /// the broker in one request instead of several; an idle order's event
    /// waits this long. Order events feed no live watcher (delivery events
    /// do, and delivery-service sends at once). 0: send at once.
    pub relay_linger_ms: u64,
    /// How often overdue acceptance deadlines are looked for: an order of a
    /// kitchen that accepts by hand is rejected (`timeout`) at most this
    /// long after its deadline.
    pub acceptance_sweep_ms: u64,
}

impl food_kit::healthcheck::Probed for Settings {
    fn probe(&self) -> food_kit::healthcheck::Probe {
        food_kit::healthcheck::Probe::Grpc(self.service.listen)
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            service: ServiceSettings::with_listen("127.0.0.1:50052"),
            menu_url: "http://127.0.0.1:50051".into(),
            menu_timeout_ms: 2000,
            menu_balance: BalanceSettings::default(),
            menu_cache_ms: 1000,
            relay_linger_ms: 2,
            acceptance_sweep_ms: 1000,
        }
    }
}

/// One file for both backends: its SQL is portable.
pub const MIGRATIONS: Migrations = Migrations::portable(&[
    Step {
        version: 100,
        description: "orders",
        sql: include_str!("../migrations/0100_orders.sql"),
    },
    Step {
        version: 101,
        description: "order restaurants",
        sql: include_str!("../migrations/0101_order_restaurants.sql"),
    },
    Step {
        version: 102,
        description: "order kitchen",
        sql: include_str!("../migrations/0102_order_kitchen.sql"),
    },
    Step {
        version: 103,
        description: "order short ids",
        sql: include_str!("../migrations/0103_order_short_ids.sql"),
    },
]);

/// A built order-service, listening, not yet serving.
pub struct Application {
    service: EventService<DeliveryEvents>,
    /// Writes orders in batches; ends when the server's senders are gone.
    committer: JoinHandle<()>,
    /// Rejects orders whose kitchen did not answer in time; started with
    /// the server.
    sweeper: deadline::Sweeper,
}

impl Application {
    pub async fn build(settings: Settings, shutdown: Shutdown) -> anyhow::Result<Self> {
        let s = &settings.service;
        let db = Db::connect(&s.database_url(SERVICE), &MIGRATIONS).await?;
        let topics = Topics::with_prefix(&s.kafka.topic_prefix);
        ensure_topics(&s.kafka, &topics).await?;

        let timeout = Duration::from_millis(settings.menu_timeout_ms);
        let menu_channel = Balanced::new(
            "menu",
            &settings.menu_url,
            Arc::new(move |endpoint| endpoint.connect_timeout(timeout).timeout(timeout)),
            &settings.menu_balance,
        )
        .context("menu_url")?;
        let menu = menu::MenuItems::new(
            MenuServiceClient::new(menu_channel),
            Duration::from_millis(settings.menu_cache_ms),
        );

        let waker = Waker::new();
        let relay = Relay::with_linger(
            SERVICE,
            db.clone(),
            &s.kafka.brokers,
            waker.clone(),
            Duration::from_millis(settings.relay_linger_ms),
        )?;
        let (committer, committer_task) =
            store::Committer::start(db.clone(), topics.clone(), waker.clone());

        let consumer = group_consumer(&s.kafka, "order-service", &topics.deliveries)?;
        let handler = DeliveryEvents::new(topics.clone(), waker.clone());

        let sweeper = deadline::Sweeper::new(
            db.clone(),
            topics.clone(),
            waker.clone(),
            Duration::from_millis(settings.acceptance_sweep_ms.max(1)),
        );
        let api = service::OrderApi::new(db.clone(), menu, committer, topics, waker);
        let host = GrpcHost::bind("order-service", s.listen)
            .await?
            .add_service(OrderServiceServer::new(api))
            .await;
        Ok(Self {
            service: EventService {
                host,
                db,
                relay,
                consumer,
                handler,
                batch_interval: s.kafka.consumer_batch_interval(),
                shutdown,
                metrics_listen: s.metrics_listen,
            },
            committer: committer_task,
            sweeper,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.service.host.local_addr()
    }

    /// Serves until shutdown: drains in-flight calls, stops consuming and
    /// sweeping, waits for the committer's last batch, then flushes the
    /// outbox relay.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let committer = self.committer;
        let sweeper = tokio::spawn(self.sweeper.run(self.service.shutdown.clone()));
        self.service
            .run(async {
                let _ = sweeper.await;
                let _ = committer.await;
            })
            .await
    }
}
