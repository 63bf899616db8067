//! delivery-service's couriers and dispatch, over gRPC with a real broker:
//! the order events are published here, as order-service would publish
//! them, so that these tests hold whatever the kitchen side does; one
//! delivery-service on SQLite, or two replicas on one PostgreSQL schema.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use food_api::ErrorCode;
use food_events::{Envelope, Payload, decode, new_envelope, topics::Topics};
use food_kit::{Shutdown, outbox::OutboxMessage};
use food_proto::{
    common::v1::PageRequest,
    delivery::v1::{
        Courier, Delivery, DeliveryStatus, GetStatusRequest, ListCouriersRequest,
        ListDeliveriesRequest, PutCourierRequest, SetCourierShiftRequest, UpdateStatusRequest,
        delivery_service_client::DeliveryServiceClient,
    },
    events::v1::{OrderCancelled, OrderPlaced, OrderStatusChanged},
    order::v1::{Order, OrderLine, OrderStatus},
};
use rdkafka::{
    ClientConfig, Message,
    producer::{FutureProducer, FutureRecord},
};
use tokio::sync::Mutex;
use tonic::{Code, transport::Channel};

use super::helpers::{caught_up, code_of};

/// The seed's couriers.
const C1: &str = "courier-1";
const C2: &str = "courier-2";
const C3: &str = "courier-3";
/// `max_active_per_courier` in these tests, as by default.
const CAP: u32 = 2;

type Client = DeliveryServiceClient<Channel>;

/// A started replica, stopped by the harness's teardown.
struct Running {
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// A broker and delivery-service replicas on one database, on a runtime
/// and thread of their own (as `food_stack::testing::TestStack`), so that a
/// failing test still stops the replicas' consumers before the broker.
struct Deliveries {
    brokers: String,
    topics: Topics,
    prefix: String,
    database_url: String,
    /// The replicas' gRPC addresses, in start order.
    addrs: Vec<SocketAddr>,
    producer: FutureProducer,
    runtime: tokio::runtime::Handle,
    apps: Arc<Mutex<Vec<Running>>>,
    stop: Shutdown,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Deliveries {
    /// One replica on a SQLite file.
    async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/delivery.db", dir.path().display());
        Self::start(url, dir, 1).await
    }

    /// `replicas` replicas on one fresh PostgreSQL schema, or `None` (with
    /// a message) when no server answers outside CI.
    async fn postgres(replicas: usize) -> Option<Self> {
        let url = food_kit::testing::postgres_schema("couriers").await?;
        Some(Self::start(url, tempfile::tempdir().unwrap(), replicas).await)
    }

    async fn start(database_url: String, dir: tempfile::TempDir, replicas: usize) -> Self {
        food_kit::telemetry::init_for_tests();
        let prefix = food_kit::testing::unique_prefix();
        let topics = Topics::with_prefix(&prefix);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let handle = runtime.handle().clone();
        let apps: Arc<Mutex<Vec<Running>>> = Arc::default();
        let stop = Shutdown::new();
        let (ready_tx, ready) = tokio::sync::oneshot::channel();
        let thread = {
            let (apps, stop, all) = (apps.clone(), stop.clone(), topics.all());
            std::thread::spawn(move || {
                runtime.block_on(async move {
                    let broker = food_kit::testing::broker_with_topics(&all).await;
                    let _ = ready_tx.send(broker.bootstrap());
                    stop.cancelled().await;
                    for app in apps.lock().await.drain(..) {
                        app.shutdown.trigger();
                        let _ = tokio::time::timeout(Duration::from_secs(15), app.task).await;
                    }
                    broker.stop().await;
                });
                runtime.shutdown_timeout(Duration::from_secs(2));
            })
        };
        let brokers = ready.await.expect("the broker started");
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .set("message.timeout.ms", "10000")
            .set("linger.ms", "0")
            .create()
            .unwrap();
        let mut this = Self {
            brokers,
            topics,
            prefix,
            database_url,
            addrs: Vec::new(),
            producer,
            runtime: handle,
            apps,
            stop,
            thread: Some(thread),
            _dir: dir,
        };
        for _ in 0..replicas {
            let addr = this.add_replica("delivery-service").await;
            this.addrs.push(addr);
        }
        this
    }

    /// Starts another replica on the database, consuming food.orders.v1 in
    /// consumer group `<prefix><group>`.
    async fn add_replica(&self, group: &str) -> SocketAddr {
        let mut settings = food_delivery::Settings::default();
        settings.service.listen = "127.0.0.1:0".parse().unwrap();
        settings.service.database_url = self.database_url.clone();
        settings.service.kafka.brokers = self.brokers.clone();
        settings.service.kafka.topic_prefix = self.prefix.clone();
        settings.service.kafka.group_id = Some(format!("{}{group}", self.prefix));
        settings.max_active_per_courier = CAP;
        let apps = self.apps.clone();
        self.runtime
            .spawn(async move {
                let shutdown = Shutdown::new();
                let app = food_delivery::Application::build(settings, shutdown.clone())
                    .await
                    .expect("starting delivery-service");
                let addr = app.local_addr();
                let task = tokio::spawn(app.run_until_stopped());
                apps.lock().await.push(Running { shutdown, task });
                addr
            })
            .await
            .unwrap()
    }

    fn group(&self) -> String {
        format!("{}delivery-service", self.prefix)
    }

    /// A client of `replica` whose connection lives on the harness's
    /// runtime, as the replica does. On the test's runtime it could not
    /// answer the replica's GOAWAY while `Drop` blocks that runtime waiting
    /// for the replicas to stop, and each stop waited out its 15 s.
    async fn client(&self, replica: usize) -> Client {
        let url = format!("http://{}", self.addrs[replica]);
        self.runtime
            .spawn(async move { DeliveryServiceClient::connect(url).await.unwrap() })
            .await
            .unwrap()
    }

    /// Publishes `payload` on food.orders.v1, keyed by `order_id`, as
    /// order-service's relay does; returns the envelope.
    async fn publish(&self, order_id: &str, payload: Payload) -> Envelope {
        let env = new_envelope("test-trace", payload);
        self.publish_envelope(order_id, &env).await;
        env
    }

    async fn publish_envelope(&self, order_id: &str, env: &Envelope) {
        let msg = OutboxMessage::event(&self.topics.orders, order_id, env);
        let mut headers = rdkafka::message::OwnedHeaders::new();
        for (k, v) in &msg.headers {
            headers = headers.insert(rdkafka::message::Header {
                key: k,
                value: Some(v.as_bytes()),
            });
        }
        self.producer
            .send(
                FutureRecord::to(&msg.topic)
                    .key(&msg.key)
                    .payload(&msg.payload)
                    .headers(headers),
                Duration::from_secs(10),
            )
            .await
            .expect("publishing an order event");
    }

    async fn place(&self, order_id: &str) {
        self.publish(
            order_id,
            Payload::OrderPlaced(OrderPlaced {
                order: Some(order(order_id, OrderStatus::Placed, None)),
            }),
        )
        .await;
    }

    async fn order_moved(
        &self,
        order_id: &str,
        previous: OrderStatus,
        status: OrderStatus,
        reason: Option<&str>,
    ) -> Envelope {
        self.publish(
            order_id,
            Payload::OrderStatusChanged(OrderStatusChanged {
                order_id: order_id.to_owned(),
                previous: previous as i32,
                status: status as i32,
                order: Some(order(order_id, status, reason)),
            }),
        )
        .await
    }

    async fn accept(&self, order_id: &str) {
        self.order_moved(order_id, OrderStatus::Placed, OrderStatus::Preparing, None)
            .await;
    }

    /// Waits until the replicas applied every order event published so far.
    async fn settled(&self) {
        caught_up(&self.brokers, &self.group(), &self.topics.orders).await;
    }

    /// Every DeliveryStatusChanged published so far: `at_least` of them, or
    /// what came within 20 s (a busy machine's group join, and a relay that
    /// publishes another replica's rows on its next poll, take seconds).
    async fn delivery_events(&self, at_least: usize) -> Vec<(Delivery, i32)> {
        self.delivery_events_within(at_least, Duration::from_secs(20))
            .await
    }

    async fn delivery_events_within(
        &self,
        at_least: usize,
        patience: Duration,
    ) -> Vec<(Delivery, i32)> {
        food_kit::testing::read_topic(&self.brokers, &self.topics.deliveries, at_least, patience)
            .await
            .iter()
            .filter_map(|m| match decode(m.payload()?).ok()?.payload? {
                Payload::DeliveryStatusChanged(c) => Some((c.delivery?, c.previous)),
                _ => None,
            })
            .collect()
    }
}

impl Drop for Deliveries {
    fn drop(&mut self) {
        self.stop.trigger();
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.thread.as_ref().is_some_and(|t| !t.is_finished()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Some(t) = self.thread.take().filter(|t| t.is_finished()) {
            let _ = t.join();
        }
    }
}

fn order(id: &str, status: OrderStatus, rejection_reason: Option<&str>) -> Order {
    Order {
        id: id.to_owned(),
        customer_id: "rita".to_owned(),
        restaurant_id: Some("trattoria-da-luca".to_owned()),
        restaurant_name: Some("Trattoria da Luca".to_owned()),
        pickup_address: Some("3 Rue Mercière, Lyon".to_owned()),
        items: vec![OrderLine {
            item_id: "margherita".to_owned(),
            quantity: 2,
            ..Default::default()
        }],
        total_cents: 2_400,
        currency: "EUR".to_owned(),
        delivery_address: "1 Main St".to_owned(),
        status: status as i32,
        rejection_reason: rejection_reason.map(str::to_owned),
        ..Default::default()
    }
}

/// Order ids that sort by creation, as UUIDv7 do.
fn ids(n: usize) -> Vec<String> {
    let run = &food_kit::testing::unique_prefix()[1..9];
    (1..=n).map(|i| format!("o-{run}-{i:03}")).collect()
}

async fn get(c: &Client, id: &str) -> Delivery {
    c.clone()
        .get_status(GetStatusRequest {
            order_id: id.to_owned(),
        })
        .await
        .unwrap_or_else(|e| panic!("delivery {id}: {e}"))
        .into_inner()
}

/// Polls `id`'s delivery until `check` holds or 15 s pass.
async fn until(c: &Client, id: &str, check: impl Fn(&Delivery) -> bool) -> Delivery {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let found = c
            .clone()
            .get_status(GetStatusRequest {
                order_id: id.to_owned(),
            })
            .await
            .ok()
            .map(|r| r.into_inner());
        match found {
            Some(d) if check(&d) => return d,
            Some(d) if Instant::now() > deadline => return d,
            None if Instant::now() > deadline => panic!("no delivery {id} within 15 s"),
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

async fn shift(c: &Client, id: &str, on_shift: bool) -> Courier {
    c.clone()
        .set_courier_shift(SetCourierShiftRequest {
            courier_id: id.to_owned(),
            on_shift,
        })
        .await
        .unwrap_or_else(|e| panic!("shift of {id}: {e}"))
        .into_inner()
}

async fn couriers(c: &Client, on_shift: Option<bool>) -> Vec<(String, bool, u32)> {
    c.clone()
        .list_couriers(ListCouriersRequest { on_shift })
        .await
        .unwrap()
        .into_inner()
        .couriers
        .into_iter()
        .map(|c| (c.id, c.on_shift, c.active_deliveries))
        .collect()
}

fn row(id: &str, on_shift: bool, active: u32) -> (String, bool, u32) {
    (id.to_owned(), on_shift, active)
}

/// An UpdateStatus by ops (`as_courier` None) or by a courier key.
async fn update(
    c: &Client,
    id: &str,
    status: DeliveryStatus,
    courier: Option<&str>,
    as_courier: Option<&str>,
) -> Result<Delivery, tonic::Status> {
    c.clone()
        .update_status(UpdateStatusRequest {
            order_id: id.to_owned(),
            status: status as i32,
            courier: courier.map(str::to_owned),
            as_courier: as_courier.map(str::to_owned),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner())
}

/// `courier` takes its delivery `id` from ASSIGNED to DELIVERED.
async fn deliver(c: &Client, id: &str, courier: &str) -> Delivery {
    let mut last = None;
    for s in [
        DeliveryStatus::PickedUp,
        DeliveryStatus::InTransit,
        DeliveryStatus::Delivered,
    ] {
        last = Some(
            update(c, id, s, None, Some(courier))
                .await
                .unwrap_or_else(|e| panic!("{courier} moving {id} to {s:?}: {e}")),
        );
    }
    last.unwrap()
}

fn assigned(d: &Delivery) -> (i32, Option<&str>) {
    (d.status, d.courier.as_deref())
}

const PENDING: i32 = DeliveryStatus::Pending as i32;
const ASSIGNED: i32 = DeliveryStatus::Assigned as i32;
const PICKED_UP: i32 = DeliveryStatus::PickedUp as i32;
const CANCELLED: i32 = DeliveryStatus::Cancelled as i32;
const DELIVERED: i32 = DeliveryStatus::Delivered as i32;

fn page() -> Option<PageRequest> {
    Some(PageRequest {
        limit: 1000,
        cursor: String::new(),
    })
}

#[tokio::test]
async fn dispatch_goes_to_the_least_loaded_on_shift_courier_ties_to_the_longest_idle_and_waits_when_none_is_free()
 {
    let svc = Deliveries::sqlite().await;
    let c = svc.client(0).await;
    let o = ids(7);
    for id in &o {
        svc.place(id).await;
    }
    for id in &o {
        until(&c, id, |_| true).await;
    }

    // Accepted with nobody on shift: it waits.
    svc.accept(&o[0]).await;
    svc.settled().await;
    assert_eq!(assigned(&get(&c, &o[0]).await), (PENDING, None));

    // courier-2 starts first: it takes the waiting delivery at once.
    let c2 = shift(&c, C2, true).await;
    assert_eq!((c2.on_shift, c2.active_deliveries), (true, 1));
    let first = get(&c, &o[0]).await;
    assert_eq!(assigned(&first), (ASSIGNED, Some(C2)));
    assert_eq!(first.courier_name.as_deref(), Some("Malik Benali"));
    assert_eq!(
        first.history.last().unwrap().note.as_deref(),
        Some("dispatched")
    );
    tokio::time::sleep(Duration::from_millis(5)).await;
    shift(&c, C1, true).await;

    // courier-1 carries nothing: it gets the next one.
    svc.accept(&o[1]).await;
    let d = until(&c, &o[1], |d| d.status == ASSIGNED).await;
    assert_eq!(assigned(&d), (ASSIGNED, Some(C1)));
    assert_eq!(d.courier_name.as_deref(), Some("Camille Martin"));
    // One each: courier-2 has been idle since earlier (its shift began first).
    svc.accept(&o[2]).await;
    let d = until(&c, &o[2], |d| d.status == ASSIGNED).await;
    assert_eq!(assigned(&d), (ASSIGNED, Some(C2)));
    svc.accept(&o[3]).await;
    let d = until(&c, &o[3], |d| d.status == ASSIGNED).await;
    assert_eq!(assigned(&d), (ASSIGNED, Some(C1)));

    // Both at the cap: the next waits.
    svc.accept(&o[4]).await;
    svc.settled().await;
    assert_eq!(assigned(&get(&c, &o[4]).await), (PENDING, None));
    assert_eq!(
        couriers(&c, None).await,
        [row(C1, true, 2), row(C2, true, 2), row(C3, false, 0)]
    );
    assert_eq!(
        couriers(&c, Some(true)).await,
        [row(C1, true, 2), row(C2, true, 2)]
    );

    // courier-2 frees up: the waiting delivery is its own in the same
    // transaction, so the next read already shows it.
    let done = deliver(&c, &o[0], C2).await;
    assert_eq!(done.status, DELIVERED);
    assert_eq!(assigned(&get(&c, &o[4]).await), (ASSIGNED, Some(C2)));

    // Going off shift keeps the active deliveries and takes no new ones.
    let off = shift(&c, C1, false).await;
    assert_eq!((off.on_shift, off.active_deliveries), (false, 2));
    svc.accept(&o[5]).await;
    svc.settled().await;
    assert_eq!(assigned(&get(&c, &o[5]).await), (PENDING, None));
    assert_eq!(assigned(&get(&c, &o[1]).await), (ASSIGNED, Some(C1)));

    // courier-3 comes on shift: it takes the waiting one at once.
    let c3 = shift(&c, C3, true).await;
    assert_eq!(c3.active_deliveries, 1);
    assert_eq!(assigned(&get(&c, &o[5]).await), (ASSIGNED, Some(C3)));
    // Never accepted: never dispatched.
    assert_eq!(assigned(&get(&c, &o[6]).await), (PENDING, None));
    assert_eq!(
        couriers(&c, None).await,
        [row(C1, false, 2), row(C2, true, 2), row(C3, true, 1)]
    );
}

#[tokio::test]
async fn a_rejected_or_cancelled_order_cancels_its_delivery_once_with_the_reason() {
    let svc = Deliveries::sqlite().await;
    let c = svc.client(0).await;
    let o = ids(4);
    for id in &o {
        svc.place(id).await;
    }
    for id in &o {
        until(&c, id, |_| true).await;
    }
    shift(&c, C1, true).await;

    // Rejected by the kitchen.
    svc.order_moved(
        &o[0],
        OrderStatus::Placed,
        OrderStatus::Rejected,
        Some("too busy"),
    )
    .await;
    let rejected = until(&c, &o[0], |d| d.status == CANCELLED).await;
    assert_eq!((rejected.status, rejected.version), (CANCELLED, 2));
    assert_eq!(
        rejected.history.last().unwrap().note.as_deref(),
        Some("rejected: too busy")
    );

    // Accepted, dispatched, then cancelled: the courier is free again.
    svc.accept(&o[1]).await;
    until(&c, &o[1], |d| d.status == ASSIGNED).await;
    assert_eq!(couriers(&c, Some(true)).await, [row(C1, true, 1)]);
    svc.order_moved(&o[1], OrderStatus::Preparing, OrderStatus::Cancelled, None)
        .await;
    let cancelled = until(&c, &o[1], |d| d.status == CANCELLED).await;
    assert_eq!(cancelled.version, 3);
    assert_eq!(
        cancelled.history.last().unwrap().note.as_deref(),
        Some("cancelled")
    );
    assert_eq!(couriers(&c, Some(true)).await, [row(C1, true, 0)]);

    // OrderCancelled and OrderStatusChanged(CANCELLED) both come: the first
    // cancels, the second changes nothing.
    svc.publish(
        &o[2],
        Payload::OrderCancelled(OrderCancelled {
            order_id: o[2].clone(),
            customer_id: "rita".into(),
            reason: None,
        }),
    )
    .await;
    svc.order_moved(&o[2], OrderStatus::Placed, OrderStatus::Cancelled, None)
        .await;
    svc.settled().await;
    let once = get(&c, &o[2]).await;
    assert_eq!((once.status, once.version), (CANCELLED, 2));
    assert_eq!(
        once.history.last().unwrap().note.as_deref(),
        Some("cancelled")
    );

    // Picked up, then the order is cancelled: the food has left; the
    // delivery goes on.
    svc.accept(&o[3]).await;
    until(&c, &o[3], |d| d.status == ASSIGNED).await;
    update(&c, &o[3], DeliveryStatus::PickedUp, None, Some(C1))
        .await
        .unwrap();
    svc.order_moved(&o[3], OrderStatus::Preparing, OrderStatus::Cancelled, None)
        .await;
    svc.settled().await;
    assert_eq!(get(&c, &o[3]).await.status, PICKED_UP);

    // Each cancel was announced once, with its note.
    // 4 created, 1 rejected, 2 for o1, 1 for o2, 2 for o3.
    let events = svc.delivery_events(4 + 1 + 2 + 1 + 2).await;
    let cancels: Vec<(&str, Option<&str>)> = events
        .iter()
        .filter(|(d, _)| d.status == CANCELLED)
        .map(|(d, _)| {
            (
                d.order_id.as_str(),
                d.history.last().and_then(|h| h.note.as_deref()),
            )
        })
        .collect();
    let mut cancels = cancels;
    cancels.sort();
    assert_eq!(
        cancels,
        [
            (o[0].as_str(), Some("rejected: too busy")),
            (o[1].as_str(), Some("cancelled")),
            (o[2].as_str(), Some("cancelled")),
        ]
    );
}

#[tokio::test]
async fn a_pick_up_needs_an_accepted_order_and_a_courier_must_exist() {
    let svc = Deliveries::sqlite().await;
    let c = svc.client(0).await;
    let o = ids(1);
    svc.place(&o[0]).await;
    until(&c, &o[0], |_| true).await;

    // Ops assign by hand before the kitchen answered: allowed.
    let d = update(&c, &o[0], DeliveryStatus::Assigned, Some(C1), None)
        .await
        .unwrap();
    assert_eq!(d.courier_name.as_deref(), Some("Camille Martin"));
    // But the food cannot leave a kitchen that has not accepted.
    let e = update(&c, &o[0], DeliveryStatus::PickedUp, None, Some(C1))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), code_of(&e)),
        (Code::FailedPrecondition, ErrorCode::NotAccepted)
    );
    assert_eq!(get(&c, &o[0]).await.version, d.version, "nothing changed");

    // Unknown couriers are refused, by assignment or reassignment.
    let e = update(&c, &o[0], DeliveryStatus::Assigned, Some("nobody"), None)
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), code_of(&e)),
        (Code::InvalidArgument, ErrorCode::UnknownCourier)
    );
    // Ops reassign to another courier; the same one again is refused.
    let moved = update(&c, &o[0], DeliveryStatus::Assigned, Some(C2), None)
        .await
        .unwrap();
    assert_eq!(
        (moved.courier.as_deref(), moved.courier_name.as_deref()),
        (Some(C2), Some("Malik Benali"))
    );
    let e = update(&c, &o[0], DeliveryStatus::Assigned, Some(C2), None)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), ErrorCode::InvalidTransition);
    assert_eq!(get(&c, &o[0]).await.version, moved.version);

    svc.accept(&o[0]).await;
    svc.settled().await;
    let picked = update(&c, &o[0], DeliveryStatus::PickedUp, None, Some(C2))
        .await
        .unwrap();
    assert_eq!(picked.status, PICKED_UP);
}

#[tokio::test]
async fn a_courier_moves_only_its_own_deliveries_and_claims_within_the_cap() {
    let svc = Deliveries::sqlite().await;
    let c = svc.client(0).await;
    let o = ids(4);
    for id in &o {
        svc.place(id).await;
        svc.accept(id).await;
    }
    svc.settled().await;
    // Nobody on shift: all four wait; ops give the first to courier-2.
    update(&c, &o[0], DeliveryStatus::Assigned, Some(C2), None)
        .await
        .unwrap();

    // Another courier's delivery does not exist for courier-1.
    let e = update(&c, &o[0], DeliveryStatus::PickedUp, None, Some(C1))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let e = update(&c, &o[0], DeliveryStatus::Cancelled, None, Some(C1))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    // Nor can it take the delivery over.
    let e = update(&c, &o[0], DeliveryStatus::Assigned, None, Some(C1))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let visible: HashSet<String> = c
        .clone()
        .list_deliveries(ListDeliveriesRequest {
            visible_to_courier: Some(C1.into()),
            page: page(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .deliveries
        .into_iter()
        .map(|d| d.order_id)
        .collect();
    assert_eq!(visible, o[1..].iter().cloned().collect());

    // A claim for someone else is refused; its own goes through.
    let e = update(&c, &o[1], DeliveryStatus::Assigned, Some(C3), Some(C1))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), code_of(&e)),
        (Code::PermissionDenied, ErrorCode::PermissionDenied)
    );
    let claimed = update(&c, &o[1], DeliveryStatus::Assigned, None, Some(C1))
        .await
        .unwrap();
    assert_eq!(assigned(&claimed), (ASSIGNED, Some(C1)));
    // An unassigned delivery is not the courier's to move before it claims.
    let e = update(&c, &o[2], DeliveryStatus::Cancelled, None, Some(C1))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    update(&c, &o[2], DeliveryStatus::Assigned, Some(C1), Some(C1))
        .await
        .unwrap();
    // The cap binds claims.
    let e = update(&c, &o[3], DeliveryStatus::Assigned, None, Some(C1))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("max_active_per_courier"), "{e:?}");
    assert_eq!(assigned(&get(&c, &o[3]).await), (PENDING, None));
    // A courier cannot hand its delivery to another.
    let e = update(&c, &o[1], DeliveryStatus::Assigned, Some(C3), Some(C1))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);

    let mine: Vec<String> = c
        .clone()
        .list_deliveries(ListDeliveriesRequest {
            courier_id: Some(C1.into()),
            page: page(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .deliveries
        .into_iter()
        .map(|d| d.order_id)
        .collect();
    assert_eq!(mine, [o[2].clone(), o[1].clone()], "newest first");
    // Ops assigning by hand are not bound by the cap.
    let by_hand = update(&c, &o[3], DeliveryStatus::Assigned, Some(C1), None)
        .await
        .unwrap();
    assert_eq!(assigned(&by_hand), (ASSIGNED, Some(C1)));
    assert_eq!(
        couriers(&c, None).await,
        [row(C1, false, 3), row(C2, false, 1), row(C3, false, 0)]
    );
    // It moves its own.
    let d = deliver(&c, &o[1], C1).await;
    assert_eq!(d.status, DELIVERED);
}

#[tokio::test]
async fn ops_add_and_rename_couriers_and_bad_names_or_ids_are_refused() {
    let svc = Deliveries::sqlite().await;
    let c = svc.client(0).await;
    let put = |id: &str, name: &str| {
        let (mut c, id, name) = (c.clone(), id.to_owned(), name.to_owned());
        async move {
            c.put_courier(PutCourierRequest {
                courier_id: id,
                name,
            })
            .await
            .map(|r| r.into_inner())
        }
    };

    let added = put("courier-4", "  Zoé Petit ").await.unwrap();
    assert_eq!(
        (added.name.as_str(), added.on_shift, added.active_deliveries),
        ("Zoé Petit", false, 0)
    );
    let renamed = put(C1, "Camille M.").await.unwrap();
    assert_eq!(renamed.name, "Camille M.");
    let long = "x".repeat(81);
    for (id, name) in [
        ("courier-5", "   "),
        ("courier-5", long.as_str()),
        ("", "Nobody"),
        ("bad id", "Nobody"),
    ] {
        let e = put(id, name).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{id:?} {name:?}");
    }
    let e = c
        .clone()
        .set_courier_shift(SetCourierShiftRequest {
            courier_id: "courier-9".into(),
            on_shift: true,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let names: Vec<String> = c
        .clone()
        .list_couriers(ListCouriersRequest { on_shift: None })
        .await
        .unwrap()
        .into_inner()
        .couriers
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(
        names,
        ["Camille M.", "Malik Benali", "Inès Laurent", "Zoé Petit"]
    );
}

fn is_active(d: &Delivery) -> bool {
    matches!(
        DeliveryStatus::try_from(d.status).unwrap(),
        DeliveryStatus::Assigned | DeliveryStatus::PickedUp | DeliveryStatus::InTransit
    )
}

/// Replays `events` in the order of their changes and returns, for each
/// courier, the most deliveries it carried at once. Dispatch runs under one
/// lock, so change times order the transactions; within one (the same
/// microsecond), a delivery ending comes before the one it frees a slot for.
fn peak_loads(events: &[(Delivery, i32)]) -> HashMap<String, u32> {
    let mut sorted: Vec<&Delivery> = events.iter().map(|(d, _)| d).collect();
    sorted.sort_by_key(|d| {
        let t = d.updated_at.as_ref().unwrap();
        (t.seconds, t.nanos, is_active(d))
    });
    let mut holder: HashMap<&str, &str> = HashMap::new();
    let mut load: HashMap<String, u32> = HashMap::new();
    let mut peak: HashMap<String, u32> = HashMap::new();
    for d in sorted {
        let active = is_active(d);
        if let Some(old) = holder.remove(d.order_id.as_str()) {
            *load.get_mut(old).unwrap() -= 1;
        }
        if active {
            let courier = d.courier.as_deref().unwrap();
            holder.insert(&d.order_id, courier);
            let n = load.entry(courier.to_owned()).or_default();
            *n += 1;
            let p = peak.entry(courier.to_owned()).or_default();
            *p = (*p).max(*n);
        }
    }
    peak
}

#[tokio::test]
async fn two_replicas_on_postgres_never_give_a_courier_more_than_the_cap_nor_a_delivery_two_couriers()
 {
    let Some(svc) = Deliveries::postgres(2).await else {
        return;
    };
    let (a, b) = (svc.client(0).await, svc.client(1).await);
    let o = ids(40);
    for id in &o {
        svc.place(id).await;
    }
    for id in &o {
        until(&a, id, |_| true).await;
    }

    // 40 acceptances on three partitions (so both replicas consume) while
    // the three couriers come on shift through both replicas.
    let accepts = futures::future::join_all(o.iter().map(|id| svc.accept(id)));
    let shifts = async {
        shift(&a, C1, true).await;
        shift(&b, C2, true).await;
        shift(&a, C3, true).await;
    };
    tokio::join!(accepts, shifts);
    svc.settled().await;
    let loads = couriers(&b, None).await;
    assert_eq!(
        loads,
        [row(C1, true, CAP), row(C2, true, CAP), row(C3, true, CAP)],
        "three couriers full, the rest waiting"
    );

    // Couriers deliver, concurrently, through both replicas, until every
    // order has been delivered; each delivery frees a slot that a waiting
    // delivery takes.
    let work = |courier: &'static str, client: Client| async move {
        let mut delivered = 0;
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let mine = client
                .clone()
                .list_deliveries(ListDeliveriesRequest {
                    courier_id: Some(courier.into()),
                    status: Some(ASSIGNED),
                    page: page(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .deliveries;
            for d in &mine {
                deliver(&client, &d.order_id, courier).await;
                delivered += 1;
            }
            let left = client
                .clone()
                .list_deliveries(ListDeliveriesRequest {
                    status: Some(PENDING),
                    page: page(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .deliveries
                .len();
            if mine.is_empty() && left == 0 {
                return delivered;
            }
            assert!(Instant::now() < deadline, "{courier} still working");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let (n1, n2, n3) = tokio::join!(
        work(C1, a.clone()),
        work(C2, b.clone()),
        work(C3, a.clone())
    );
    assert_eq!(n1 + n2 + n3, 40, "every delivery delivered once");
    for id in &o {
        assert_eq!(get(&b, id).await.status, DELIVERED, "{id}");
    }
    assert_eq!(
        couriers(&a, None).await,
        [row(C1, true, 0), row(C2, true, 0), row(C3, true, 0)]
    );

    // Every DeliveryStatusChanged: PENDING, ASSIGNED, PICKED_UP,
    // IN_TRANSIT, DELIVERED per delivery; one assignment each; no courier
    // above the cap at any point.
    let events = svc.delivery_events(40 * 5).await;
    let mut per_delivery: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (d, _) in &events {
        per_delivery.entry(&d.order_id).or_default().push(d.status);
    }
    assert_eq!(events.len(), 40 * 5, "{per_delivery:?}");
    let mut assignments: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (d, _) in &events {
        if d.status == ASSIGNED {
            assignments
                .entry(&d.order_id)
                .or_default()
                .push(d.courier.as_deref().unwrap());
        }
    }
    assert_eq!(assignments.len(), 40);
    assert!(
        assignments.values().all(|c| c.len() == 1),
        "{assignments:?}"
    );
    let peaks = peak_loads(&events);
    assert!(peaks.values().all(|p| *p <= CAP), "{peaks:?}");
    assert_eq!(peaks.len(), 3, "every courier worked: {peaks:?}");

    // Replaying food.orders.v1 from the beginning in a fresh consumer
    // group changes nothing: no second dispatch, no second anything.
    let versions: Vec<u64> = {
        let mut v = Vec::new();
        for id in &o {
            v.push(get(&a, id).await.version);
        }
        v
    };
    svc.add_replica("replay").await;
    caught_up(
        &svc.brokers,
        &format!("{}replay", svc.prefix),
        &svc.topics.orders,
    )
    .await;
    for (id, version) in o.iter().zip(versions) {
        assert_eq!(get(&a, id).await.version, version, "{id}");
    }
    assert_eq!(
        svc.delivery_events_within(40 * 5 + 1, Duration::from_secs(5))
            .await
            .len(),
        40 * 5
    );
}

#[tokio::test]
async fn acceptance_and_rejection_published_again_with_new_event_ids_change_nothing() {
    let svc = Deliveries::sqlite().await;
    let c = svc.client(0).await;
    let o = ids(2);
    for id in &o {
        svc.place(id).await;
    }
    shift(&c, C1, true).await;
    svc.accept(&o[0]).await;
    svc.order_moved(
        &o[1],
        OrderStatus::Placed,
        OrderStatus::Rejected,
        Some("closed"),
    )
    .await;
    until(&c, &o[0], |d| d.status == ASSIGNED).await;
    until(&c, &o[1], |d| d.status == CANCELLED).await;
    let before = (get(&c, &o[0]).await, get(&c, &o[1]).await);

    // The same events again, as a producer retrying with fresh ids would.
    svc.place(&o[0]).await;
    svc.accept(&o[0]).await;
    svc.order_moved(
        &o[0],
        OrderStatus::Preparing,
        OrderStatus::ReadyForPickup,
        None,
    )
    .await;
    svc.order_moved(
        &o[1],
        OrderStatus::Placed,
        OrderStatus::Rejected,
        Some("closed"),
    )
    .await;
    svc.settled().await;

    assert_eq!((get(&c, &o[0]).await, get(&c, &o[1]).await), before);
    assert_eq!(couriers(&c, Some(true)).await, [row(C1, true, 1)]);
    assert_eq!(
        svc.delivery_events_within(5, Duration::from_secs(5))
            .await
            .len(),
        4
    );
}
