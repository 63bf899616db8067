//! What every reliability test shares: the binaries cargo built beside the
//! test, a food-stack on a data dir the test keeps (so it can kill and
//! restart it), food-bench's mixed load with every acknowledged write kept,
//! and a snapshot of every order and delivery with the checks a user would
//! make of it.

use std::{
    collections::BTreeMap,
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use food_api::{Delivery, DeliveryList, Order, OrderList};
use food_bench::{
    engine::{self, Calls, Outcome, Progress, Target},
    local::{Launch, LocalStack, test_binary},
    procs::Procs,
    world::{DeliveryPool, World},
};
use food_client::{Client, Endpoint};

/// The mixed load's kinds and shares, as food-bench's `mixed` scenario.
pub const KINDS: [&str; 3] = ["browse", "order", "status"];
const SHARES: [f64; 2] = [0.70, 0.20];
/// Connections of the load client.
pub const CONNECTIONS: usize = 16;
/// Deliveries the status changes move, per connection.
const POOL_PER_CONNECTION: usize = 4;

/// A food-stack run on `data_dir` as it is (no `--fresh`, so a restart
/// finds what the last run wrote), on the binaries beside the test or those
/// `FOOD_STACK_BIN` and `FOOD_BROKER_BIN` name.
pub fn launch(data_dir: &Path) -> Launch {
    Launch {
        binary: Some(test_binary("FOOD_STACK_BIN", "food-stack")),
        env: vec![(
            "FOOD_BROKER_BIN".into(),
            test_binary("FOOD_BROKER_BIN", "food-broker")
                .display()
                .to_string(),
        )],
        ..Launch::new(data_dir.to_owned())
    }
}

/// The stack's gateway as the load engine addresses it.
pub fn target(stack: &LocalStack) -> Target {
    Target {
        addr: stack.gateway,
        host: stack.gateway.to_string(),
    }
}

/// An ops client of the stack's gateway.
pub fn client(stack: &LocalStack) -> Client {
    let endpoint = Endpoint::new(
        &format!("http://{}", stack.gateway),
        Some(stack.keys.ops.clone()),
        Duration::from_secs(10),
    )
    .unwrap();
    Client::builder(endpoint).build().unwrap()
}

/// What the load needs to know of a running stack, and the deliveries its
/// status changes move.
pub struct Load {
    pub world: Arc<World>,
    pub pool: Arc<DeliveryPool>,
    pub target: Target,
}

impl Load {
    pub async fn prepare(stack: &LocalStack) -> Self {
        Self::prepare_with_pool(stack, POOL_PER_CONNECTION).await
    }

    /// With `per_connection` deliveries for each connection's status changes
    /// to move: each delivery's history (which every event of it carries)
    /// grows by one entry per change.
    pub async fn prepare_with_pool(stack: &LocalStack, per_connection: usize) -> Self {
        let world = Arc::new(
            World::discover(client(stack), stack.keys.ops.clone(), &[], 7)
                .await
                .unwrap(),
        );
        let pool = Arc::new(
            world
                .delivery_pool(per_connection * CONNECTIONS)
                .await
                .unwrap(),
        );
        Self {
            world,
            pool,
            target: target(stack),
        }
    }

    /// food-bench's mixed load (70 % reads, 20 % orders, 10 % courier
    /// reassignments) at `rate` requests per second for `duration`; the
    /// answers to orders and status changes are kept. `phase` seeds it.
    pub async fn run(&self, phase: u64, rate: f64, duration: Duration) -> Outcome {
        let calls = |c| -> Calls {
            let mut rng = self.world.rng(100 + phase, c);
            let world = self.world.clone();
            let mut status = world.status_calls(2, &self.pool, c, CONNECTIONS);
            Box::new(move || {
                use rand::Rng;
                let x: f64 = rng.random();
                let mut call = if x < SHARES[0] {
                    world.browse_call(0, &mut rng)
                } else if x < SHARES[0] + SHARES[1] {
                    world.order_call(1, &mut rng)
                } else {
                    status(&mut rng)
                };
                call.keep_answer = call.kind != 0;
                call
            })
        };
        engine::open_loop(
            &self.target,
            CONNECTIONS,
            rate,
            duration,
            &KINDS,
            calls,
            &Progress::default(),
        )
        .await
        .unwrap()
    }
}

/// The writes a run had acknowledged: order ids, and the version each
/// status change gave its delivery.
#[derive(Debug, Default)]
pub struct Acknowledged {
    pub orders: Vec<String>,
    /// Order id to the highest delivery version a change answered.
    pub versions: BTreeMap<String, u64>,
    pub changes: usize,
}

impl Acknowledged {
    pub fn add(&mut self, out: &Outcome) {
        for answer in &out.kinds[1].answers {
            let order: Order = serde_json::from_slice(answer).unwrap();
            self.orders.push(order.id);
        }
        for answer in &out.kinds[2].answers {
            let d: Delivery = serde_json::from_slice(answer).unwrap();
            let v = self.versions.entry(d.order_id).or_default();
            *v = (*v).max(d.version);
            self.changes += 1;
        }
    }
}

/// Every order and delivery, as ops reads them through the gateway.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub orders: BTreeMap<String, Order>,
    pub deliveries: BTreeMap<String, Delivery>,
    /// Orders with more than one delivery listed.
    pub duplicated_deliveries: usize,
}

impl Snapshot {
    pub async fn take(client: &Client) -> anyhow::Result<Self> {
        let mut orders = BTreeMap::new();
        let mut cursor = None;
        loop {
            let mut query = vec![("limit", "1000".to_owned())];
            query.extend(cursor.take().map(|c| ("cursor", c)));
            let page: OrderList = client.get("/orders", &query).await?;
            orders.extend(page.orders.into_iter().map(|o| (o.id.clone(), o)));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let mut deliveries = BTreeMap::new();
        let mut duplicated_deliveries = 0;
        loop {
            let mut query = vec![("limit", "1000".to_owned())];
            query.extend(cursor.take().map(|c| ("cursor", c)));
            let page: DeliveryList = client.get("/deliveries", &query).await?;
            for d in page.deliveries {
                if deliveries.insert(d.order_id.clone(), d).is_some() {
                    duplicated_deliveries += 1;
                }
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        Ok(Self {
            orders,
            deliveries,
            duplicated_deliveries,
        })
    }

    /// Orders without a delivery yet.
    pub fn undelivered(&self) -> usize {
        self.orders
            .keys()
            .filter(|id| !self.deliveries.contains_key(*id))
            .count()
    }

    /// Orders whose status does not match their delivery's.
    pub fn mismatched(&self) -> Vec<String> {
        self.orders
            .values()
            .filter(|o| {
                self.deliveries
                    .get(&o.id)
                    .is_some_and(|d| !o.status.matches_delivery(d.status))
            })
            .map(|o| {
                format!(
                    "{} {:?}/{:?}",
                    o.id, o.status, self.deliveries[&o.id].status
                )
            })
            .collect()
    }

    /// Deliveries whose history holds one change twice (an event applied
    /// twice leaves the same entry, same time, twice).
    pub fn repeated_history(&self) -> Vec<String> {
        self.deliveries
            .values()
            .filter(|d| {
                let mut seen = std::collections::HashSet::new();
                !d.history
                    .iter()
                    .all(|h| seen.insert((format!("{:?}", h.status), h.at, h.courier.clone())))
            })
            .map(|d| d.order_id.clone())
            .collect()
    }

    /// Settled: every order has its delivery and every status matches.
    pub fn settled(&self) -> bool {
        self.undelivered() == 0 && self.mismatched().is_empty()
    }

    /// The acknowledged writes missing: orders not there, and deliveries
    /// older than a change that was answered.
    pub fn missing(&self, acked: &Acknowledged) -> Vec<String> {
        let mut missing: Vec<String> = acked
            .orders
            .iter()
            .filter(|id| !self.orders.contains_key(*id))
            .map(|id| format!("order {id}"))
            .collect();
        for (id, v) in &acked.versions {
            let now = self.deliveries.get(id).map_or(0, |d| d.version);
            if now < *v {
                missing.push(format!("delivery {id} at version {now}, acknowledged {v}"));
            }
        }
        missing
    }
}

/// Snapshots until one is settled (returned with the time it took), or
/// `patience` runs out (the last one, unsettled).
pub async fn settle(client: &Client, patience: Duration) -> (Snapshot, Duration) {
    let started = Instant::now();
    loop {
        let snapshot = Snapshot::take(client).await;
        if let Ok(s) = snapshot {
            if s.settled() || started.elapsed() > patience {
                return (s, started.elapsed());
            }
        } else if started.elapsed() > patience {
            panic!("no snapshot within {patience:?}: {snapshot:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until `procs` use under a fifth of a core over a second (the
/// consumers have caught up), at most `patience`.
pub async fn quiet(procs: &Procs, patience: Duration) {
    let deadline = Instant::now() + patience;
    while Instant::now() < deadline {
        let before = procs.usage().cpu_s;
        tokio::time::sleep(Duration::from_secs(1)).await;
        if procs.usage().cpu_s - before < 0.2 {
            return;
        }
    }
}

/// The errors of a load by kind and cause, for a failure message.
pub fn errors(out: &Outcome) -> BTreeMap<String, u64> {
    let mut all = BTreeMap::new();
    for k in &out.kinds {
        for (cause, n) in &k.errors {
            all.insert(format!("{} {cause}", k.name), *n);
        }
    }
    all
}
