//! Two order-service and two delivery-service replicas on the compose
//! topology (`docker compose up --scale order-service=2 --scale
//! delivery-service=2`) share the work, and the platform survives losing
//! one: killed (SIGKILL) in one run, its link cut and later restored in the
//! other.
//!
//! Under a steady order load through the gateway's published port (ops
//! places orders for `cust-local`, each POST retried with its idempotency
//! key until acknowledged), every 25th acknowledged order is watched over
//! SSE while ops moves its delivery to DELIVERED. Checked afterwards:
//! - both replicas of each consumer group own partitions (Kafka's
//!   ConsumerGroupCommand in the kafka namespace), before the fault and
//!   after a cut replica's link is back;
//! - every acknowledged order has exactly one order row and one delivery
//!   (the databases), no order or delivery exists that was not
//!   acknowledged, and each delivery's history holds each status once;
//! - nothing was applied twice and nothing skipped: each consumer's
//!   `processed_events` rows are exactly the distinct event ids on the
//!   topic it reads;
//! - every status change reached the SSE watcher;
//! - the gateway kept answering: failed requests are counted with when
//!   they happened, and the gateway's per-replica call counts
//!   (`grpc_client_calls_total`) show it balanced over both order-service
//!   replicas and stopped calling a killed one.
//!
//! The takeover time is the longest an order acknowledged after the fault,
//! on a partition the lost replica owned, waited for its delivery. It is
//! bounded by the consumers' settings (services/events/src/kafka.rs): a
//! replica that vanishes without leaving its group keeps its partitions
//! until the coordinator has had no heartbeat for `session.timeout.ms`
//! (10 s); the survivor, heartbeating every `heartbeat.interval.ms` (1 s),
//! hears of the rebalance within a second and resumes from the last
//! committed offsets. Expected: about 10 to 12 s.
//!
//! The load's rate is `FOOD_REPLICAS_RATE` orders per second (default 80:
//! the debug binaries, Apache Kafka and PostgreSQL beside each other on two
//! shared cores top out at 70 to 90; release binaries, `FOOD_BIN_DIR`, go
//! further); the achieved rate is printed.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    net::Ipv4Addr,
    time::{Duration, Instant, SystemTime},
};

use sqlx::{PgPool, Row};

use crate::{
    load::{Ledger, Load, MOVES, OPS, pool},
    topology::{Options, Topology},
};

const LOAD: Duration = Duration::from_secs(40);
const FAULT_AT: Duration = Duration::from_secs(10);
const LINK_UP_AT: Duration = Duration::from_secs(30);
const ORDER_KILL_AT: Duration = Duration::from_secs(24);

fn rate() -> u64 {
    std::env::var("FOOD_REPLICAS_RATE")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(80)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// SIGKILL a delivery-service replica, later an order-service one.
    Kill,
    /// Take a delivery-service replica's link down, later up again.
    Cut,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root and network namespaces: .ci/run runs it"]
async fn killing_a_delivery_and_an_order_replica_under_load_loses_and_repeats_nothing() {
    run(Fault::Kill).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root and network namespaces: .ci/run runs it"]
async fn cutting_a_delivery_replica_off_under_load_loses_and_repeats_nothing() {
    run(Fault::Cut).await;
}

async fn run(fault: Fault) {
    let began = Instant::now();
    let options = Options {
        scale: BTreeMap::from([
            ("order-service".to_owned(), 2),
            ("delivery-service".to_owned(), 2),
        ]),
        ..Options::default()
    };
    let mut topology = Topology::up(options)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    eprintln!(
        "replicas ({fault:?}): topology up in {:.1} s",
        began.elapsed().as_secs_f64()
    );
    let base = topology.gateway_url();
    let deliveries_db = pool(&topology.postgres_url("deliveries")).await;

    // Both replicas of each group own partitions.
    for (group, service) in [
        ("delivery-service", "delivery-service"),
        ("order-service", "order-service"),
    ] {
        let owners = both_own_partitions(&topology, group, service, Duration::from_secs(40)).await;
        eprintln!("replicas ({fault:?}): group {group}: {}", show(&owners));
    }

    // The replica to lose, chosen before the load: the worst case, the one
    // that publishes delivery-service's outbox (the holder of its
    // PostgreSQL advisory lock), with the partitions it owns.
    let victim = relay_leader(&topology, &deliveries_db, "delivery-service").await;
    let lost_addr = topology.address("delivery-service", victim);
    let owners = assignment(&topology, "delivery-service").await.unwrap();
    let lost_partitions: HashSet<i32> = owners
        .get(&lost_addr)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .collect();

    // The load, then the fault.
    let load = Load::start(base.clone(), rate(), "replicas");
    let load_start = load.started;
    tokio::time::sleep_until((load_start + FAULT_AT).into()).await;
    let calls_before = downstream_calls(&base).await;
    let fault_wall = SystemTime::now();
    let fault_at = Instant::now();
    match fault {
        Fault::Kill => topology.kill("delivery-service", victim).unwrap(),
        Fault::Cut => topology.link_down("delivery-service", victim).unwrap(),
    }
    eprintln!(
        "replicas ({fault:?}): delivery-service-{victim} ({lost_addr}, outbox publisher, \
         partitions {lost_partitions:?} of food.orders.v1) lost at {:.1} s",
        (fault_at - load_start).as_secs_f64()
    );

    // Second phase: the cut link comes back, or an order-service replica is killed.
    let mut order_kill = None;
    match fault {
        Fault::Cut => {
            tokio::time::sleep_until((load_start + LINK_UP_AT).into()).await;
            topology.link_up("delivery-service", victim).unwrap();
            eprintln!(
                "replicas (Cut): delivery-service-{victim} link up at {:.1} s",
                load_start.elapsed().as_secs_f64()
            );
        }
        Fault::Kill => {
            tokio::time::sleep_until((load_start + ORDER_KILL_AT).into()).await;
            let before = downstream_calls(&base).await;
            let killed_at = Instant::now();
            topology.kill("order-service", 2).unwrap();
            order_kill = Some((killed_at, before));
            eprintln!(
                "replicas (Kill): order-service-2 ({}) killed at {:.1} s",
                topology.address("order-service", 2),
                (killed_at - load_start).as_secs_f64()
            );
        }
    }

    tokio::time::sleep_until((load_start + LOAD).into()).await;
    let load = load.finish().await;
    let load_took = load.load_took;
    let f = load.figures;
    let acked: HashMap<String, SystemTime> = f.acked.clone();
    let calls_after = downstream_calls(&base).await;

    // A cut replica rejoins its group.
    if fault == Fault::Cut {
        let owners = both_own_partitions(
            &topology,
            "delivery-service",
            "delivery-service",
            Duration::from_secs(60),
        )
        .await;
        eprintln!(
            "replicas (Cut): after the link came back: delivery-service: {}",
            show(&owners)
        );
    }

    // The acknowledged writes against the databases and the topics.
    let ledger = Ledger::read(&topology, &f).await;
    let created = &ledger.created;

    // SSE: every change of a watched order reached its watcher, once.
    let mut sse_missed = Vec::new();
    let mut sse_repeated = 0;
    for id in &f.watched {
        let seen = f.seen.get(id).cloned().unwrap_or_default();
        let statuses: Vec<&str> = seen.iter().map(|(_, s)| s.as_str()).collect();
        if !MOVES.iter().all(|m| statuses.contains(m)) {
            sse_missed.push(format!("{id}: {statuses:?}"));
        }
        let versions: HashSet<u64> = seen.iter().map(|(v, _)| *v).collect();
        sse_repeated += seen.len() - versions.len();
    }

    // Takeover: how long orders acknowledged after the fault waited for
    // their delivery, on the lost replica's partitions and on the others.
    let mut waits_lost = Vec::new();
    let mut waits_kept = Vec::new();
    let killed_order_at = order_kill.as_ref().map(|(at, _)| *at);
    let window_end = killed_order_at.unwrap_or(fault_at + Duration::from_secs(3600));
    for (id, ack) in &acked {
        let Some(created_at) = created.get(id) else {
            continue;
        };
        if *ack < fault_wall || ack_instant(*ack, fault_wall, fault_at) >= window_end {
            continue;
        }
        let wait = created_at.duration_since(*ack).unwrap_or_default();
        match ledger.partition_of.get(id) {
            Some(p) if lost_partitions.contains(p) => waits_lost.push(wait),
            _ => waits_kept.push(wait),
        }
    }
    let max = |w: &[Duration]| w.iter().max().copied().unwrap_or_default().as_millis();
    let takeover_ms = max(&waits_lost);

    // The gateway: failed requests and per-replica calls.
    let failures = f.failures.clone();
    let failure_span = |from: Instant| {
        let after: Vec<&(Instant, String)> =
            failures.iter().filter(|(at, _)| *at >= from).collect();
        (
            after.len(),
            after
                .iter()
                .map(|(at, _)| *at - from)
                .max()
                .unwrap_or_default(),
        )
    };
    let order_addrs = [1, 2].map(|r| topology.address("order-service", r).to_string());
    let delivery_addrs = [1, 2].map(|r| topology.address("delivery-service", r).to_string());
    let per_replica =
        |calls: &BTreeMap<(String, String), f64>, service: &str, addrs: &[String; 2]| {
            addrs
                .iter()
                .map(|a| {
                    calls
                        .iter()
                        .filter(|((s, r), _)| s == service && r.starts_with(&format!("{a}:")))
                        .map(|(_, n)| *n)
                        .sum::<f64>()
                })
                .collect::<Vec<f64>>()
        };
    let orders_before = per_replica(&calls_before, "order", &order_addrs);
    let deliveries_after = per_replica(&calls_after, "delivery", &delivery_addrs);
    let deliveries_before = per_replica(&calls_before, "delivery", &delivery_addrs);

    // How late changes reached the SSE watchers: delivery-service's outbox
    // relay publishes them, one replica at a time.
    let lag_max = |from: SystemTime, to: SystemTime| {
        f.sse_lag
            .iter()
            .filter(|(at, _)| *at >= from && *at < to)
            .map(|(_, lag)| *lag)
            .max()
            .unwrap_or_default()
            .as_millis()
    };
    let sse_lag_before = lag_max(SystemTime::UNIX_EPOCH, fault_wall);
    let sse_lag_after = lag_max(fault_wall, SystemTime::now());
    let achieved = acked.len() as f64 / load_took.as_secs_f64();
    eprintln!(
        "replicas ({fault:?}) figures:\n\
         \x20 load: planned {} orders/s, achieved {achieved:.0}/s over {:.1} s\n\
         {}\
         \x20 SSE changes seen twice {sse_repeated}\n\
         \x20 watched over SSE {}, moved to DELIVERED {}, SSE missing a change {}, \
         longest SSE lag {sse_lag_before} ms before the fault, {sse_lag_after} ms after\n\
         \x20 takeover (delivery-service-{victim} lost, partitions {lost_partitions:?}): \
         longest wait for a delivery {takeover_ms} ms on its partitions ({} orders), \
         {} ms on the others ({} orders)\n\
         \x20 gateway: failed requests {} in all; after the delivery-service fault {:?}\n\
         \x20 gateway calls per order-service replica before the fault {:?}, \
         per delivery-service replica before {:?} and after {:?}",
        rate(),
        load_took.as_secs_f64(),
        ledger.summary(),
        f.watched.len(),
        f.moved,
        sse_missed.len(),
        waits_lost.len(),
        max(&waits_kept),
        waits_kept.len(),
        failures.len(),
        failure_span(fault_at),
        orders_before,
        deliveries_before,
        deliveries_after,
    );
    let mut grouped: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (at, what) in &failures {
        grouped
            .entry(what.as_str())
            .or_default()
            .push(format!("{:.2}", (*at - load_start).as_secs_f64()));
    }
    for (what, at) in grouped {
        eprintln!(
            "  failed: {what}, {} times, at {} s",
            at.len(),
            at.join(" ")
        );
    }

    assert!(
        achieved >= rate() as f64 * 0.6,
        "the load ran: {achieved:.0} of {} orders/s",
        rate()
    );
    ledger.assert_whole();
    assert!(
        sse_missed.is_empty(),
        "changes the SSE watcher missed: {sse_missed:?}"
    );
    assert_eq!(sse_repeated, 0, "changes the SSE watcher got twice");
    assert_eq!(
        f.moved as usize,
        f.watched.len(),
        "every watched delivery moved to DELIVERED"
    );
    assert!(
        !waits_lost.is_empty(),
        "orders on the lost replica's partitions after the fault"
    );
    assert!(
        takeover_ms < 20_000,
        "the survivor took over within 20 s (session.timeout.ms 10 s): {takeover_ms} ms"
    );
    let share = orders_before[0] / (orders_before[0] + orders_before[1]).max(1.0);
    assert!(
        (0.3..=0.7).contains(&share),
        "the gateway balanced over both order-service replicas: {orders_before:?}"
    );
    // POST /orders never touches delivery-service: losing it fails no order.
    let failed_posts_after_fault = failures
        .iter()
        .filter(|(at, what)| {
            *at >= fault_at && what.starts_with("POST") && killed_order_at.is_none_or(|k| *at < k)
        })
        .count();
    assert_eq!(
        failed_posts_after_fault, 0,
        "POST /orders failed while only delivery-service was hurt"
    );

    if let Some((killed_at, before)) = order_kill {
        let killed = order_addrs[1].clone();
        let calls_killed = |calls: &BTreeMap<(String, String), f64>| {
            calls
                .iter()
                .filter(|((s, r), _)| s == "order" && r.starts_with(&format!("{killed}:")))
                .map(|(_, n)| *n)
                .sum::<f64>()
        };
        let after_kill = calls_killed(&calls_after) - calls_killed(&before);
        let (n, last) = failure_span(killed_at);
        eprintln!(
            "replicas (Kill): order-service-2 killed: gateway calls to it afterwards {after_kill}, \
             failed requests afterwards {n}, the last {} ms after the kill",
            last.as_millis()
        );
        assert!(
            last < Duration::from_secs(2),
            "requests failed for at most ~1 s after an order-service replica died: {} ms",
            last.as_millis()
        );
    }
    drop(topology);
}

/// Which replica of `service` holds the advisory lock that makes its
/// outbox relay the publisher (by the address of its connection).
async fn relay_leader(topology: &Topology, db: &PgPool, service: &str) -> usize {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let holders: Vec<String> = sqlx::query(
            "SELECT host(a.client_addr) AS addr FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database()",
        )
        .fetch_all(db)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|r| r.get::<Option<String>, _>("addr"))
        .collect();
        for replica in 1..=topology.replicas(service) {
            if holders.contains(&topology.address(service, replica).to_string()) {
                return replica;
            }
        }
        assert!(
            Instant::now() < deadline,
            "a {service} replica publishes its outbox"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Each member's partitions of `group`, by the member's address, from
/// Kafka's own ConsumerGroupCommand.
async fn assignment(
    topology: &Topology,
    group: &str,
) -> anyhow::Result<BTreeMap<Ipv4Addr, Vec<i32>>> {
    let out = topology
        .kafka_tool(
            "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
            &[
                "--bootstrap-server",
                "kafka:9092",
                "--describe",
                "--group",
                group,
            ],
        )
        .await?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut owners: BTreeMap<Ipv4Addr, Vec<i32>> = BTreeMap::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        // GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID
        if cols.len() < 9 || cols[0] != group {
            continue;
        }
        let (Ok(partition), Ok(host)) = (
            cols[2].parse::<i32>(),
            cols[7].trim_start_matches('/').parse::<Ipv4Addr>(),
        ) else {
            continue;
        };
        owners.entry(host).or_default().push(partition);
    }
    Ok(owners)
}

/// Waits until every replica of `service` owns a partition of `group`.
async fn both_own_partitions(
    topology: &Topology,
    group: &str,
    service: &str,
    within: Duration,
) -> BTreeMap<Ipv4Addr, Vec<i32>> {
    let deadline = Instant::now() + within;
    loop {
        let owners = assignment(topology, group).await.unwrap_or_default();
        let all = (1..=topology.replicas(service)).all(|r| {
            owners
                .get(&topology.address(service, r))
                .is_some_and(|p| !p.is_empty())
        });
        if all {
            return owners;
        }
        assert!(
            Instant::now() < deadline,
            "every {service} replica owns a partition of {group} within {within:?}: {}",
            show(&owners)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn show(owners: &BTreeMap<Ipv4Addr, Vec<i32>>) -> String {
    owners
        .iter()
        .map(|(a, p)| format!("{a} owns {p:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `grpc_client_calls_total` from the gateway's /metrics, by (service, replica).
async fn downstream_calls(base: &str) -> BTreeMap<(String, String), f64> {
    let text = reqwest::Client::new()
        .get(format!("{base}/metrics"))
        .bearer_auth(OPS)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut out = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| l.starts_with("grpc_client_calls_total{"))
    {
        let label = |name: &str| {
            line.split(&format!("{name}=\""))
                .nth(1)
                .and_then(|s| s.split('"').next())
                .unwrap_or_default()
                .to_owned()
        };
        let value: f64 = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        out.insert((label("service"), label("replica")), value);
    }
    out
}

/// The monotonic instant of a wall-clock time, by its distance from a pair
/// taken together.
fn ack_instant(at: SystemTime, wall: SystemTime, mono: Instant) -> Instant {
    match at.duration_since(wall) {
        Ok(after) => mono + after,
        Err(e) => mono - e.duration(),
    }
}
