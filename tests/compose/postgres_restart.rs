//! The topology's own PostgreSQL server (every service's database)
//! restarted under a steady order load: a fast shutdown (SIGINT: open
//! transactions rolled back, connections closed), then a start, as
//! `docker compose restart postgres` does. The services are not touched:
//! their pools must find the server again by themselves.
//!
//! Besides the load, a prober places one order at a time (each POST
//! retried with its idempotency key until acknowledged) and records every
//! answer, which gives the gap (from the first refused write to the first
//! acknowledged one after it) and the time from the server's start until
//! writes succeed. Checked: every answer in the gap was a 503 with a clear
//! code (never a 500, never a hang), and afterwards ([`Ledger`]) every
//! acknowledged order and status change is there once and each event was
//! applied once.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use crate::{
    load::{Answer, Ledger, Load, client, post_order},
    topology::{Options, Topology},
};

/// Orders per second, as in the crash test.
const RATE: u64 = 30;
const STEADY: Duration = Duration::from_secs(4);
/// How long the server stays down between its shutdown and its start: a
/// restart of a big database's host, longer than the gateway's downstream
/// timeout (3 s), so that requests in the gap must be refused, not only
/// delayed.
const DOWN: Duration = Duration::from_secs(4);

/// One answer of the prober, with when it was asked.
struct Probe {
    at: Instant,
    answer: Answer,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root and network namespaces: .ci/run runs it"]
async fn restarting_postgres_under_load_loses_nothing_and_pools_recover() {
    let began = Instant::now();
    let topology = Topology::up(Options::default())
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    eprintln!(
        "postgres restart: topology up in {:.1} s",
        began.elapsed().as_secs_f64()
    );
    let base = topology.gateway_url();
    let load = Load::start(base.clone(), RATE, "pg-restart");
    let probes = Arc::new(Mutex::new(Vec::<Probe>::new()));
    let probed = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let prober = tokio::spawn(probe(
        base.clone(),
        probes.clone(),
        probed.clone(),
        stop.clone(),
    ));
    tokio::time::sleep(STEADY).await;

    let down = Instant::now();
    topology.signal("postgres", 1, "INT").unwrap();
    topology
        .wait_exit("postgres", 1, Duration::from_secs(30))
        .await
        .unwrap();
    let stopped = down.elapsed();
    tokio::time::sleep(DOWN).await;
    let start = Instant::now();
    let healthy = topology
        .restart("postgres", 1)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    // Writes flow again before the load stops.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !probes
        .lock()
        .unwrap()
        .iter()
        .any(|p| p.at > start && p.answer.status == 201)
    {
        assert!(
            Instant::now() < deadline,
            "writes succeeded within 30 s of PostgreSQL's start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(STEADY).await;
    stop.store(true, Ordering::Relaxed);
    prober.await.unwrap();
    let load = load.finish().await;

    let mut f = load.figures;
    let probes = std::mem::take(&mut *probes.lock().unwrap());
    f.acked.extend(
        probed
            .lock()
            .unwrap()
            .drain(..)
            .map(|id| (id, SystemTime::now())),
    );
    let ledger = Ledger::read(&topology, &f).await;
    // The gap: from the shutdown to the first write acknowledged after it
    // was asked once the server was down.
    let first_written = probes
        .iter()
        .find(|p| p.at > down && p.answer.status == 201)
        .expect("a write after the restart");
    let written_at = first_written.at + first_written.answer.took;
    let gap = written_at - down;
    let refused: Vec<&Probe> = probes.iter().filter(|p| p.answer.status != 201).collect();
    let slowest = probes
        .iter()
        .map(|p| p.answer.took)
        .max()
        .unwrap_or_default();
    let mut codes: Vec<String> = refused
        .iter()
        .map(|p| format!("{} {}", p.answer.status, p.answer.code()))
        .collect();
    codes.sort();
    codes.dedup();
    let server_errors = f.server_errors();
    eprintln!(
        "postgres restart figures:\n\
         \x20 load: {RATE} orders/s planned, {:.0}/s achieved over {:.1} s\n\
         \x20 fast shutdown took {} ms; the server healthy (pg_isready, every 3 s) {:.1} s after its start\n\
         \x20 prober: {} writes asked, {} refused ({codes:?}), the slowest answer {} ms\n\
         \x20 gap: {} ms from the shutdown to the first write acknowledged, \
         {} ms after the server's start\n\
         {}\
         \x20 load's failed requests (retried) {}, of them 5xx other than 503: {}\n\
         \x20   {}",
        ledger.acknowledged as f64 / load.load_took.as_secs_f64(),
        load.load_took.as_secs_f64(),
        stopped.as_millis(),
        healthy.as_secs_f64(),
        probes.len(),
        refused.len(),
        slowest.as_millis(),
        gap.as_millis(),
        written_at.saturating_duration_since(start).as_millis(),
        ledger.summary(),
        f.failures.len(),
        server_errors.len(),
        f.failure_kinds(),
    );

    ledger.assert_whole();
    for p in &refused {
        assert_eq!(
            p.answer.status, 503,
            "a write while PostgreSQL is down: 503, never a 500 or a hang: {}",
            p.answer.body
        );
        assert!(
            ["unavailable", "timeout"].contains(&p.answer.code()),
            "a clear code: {}",
            p.answer.body
        );
    }
    assert!(
        server_errors.is_empty(),
        "PostgreSQL down gives 503, never another 5xx: {server_errors:?}"
    );
    assert!(
        slowest <= Duration::from_millis(3700),
        "no write waited past the gateway's downstream timeout (3 s): {} ms",
        slowest.as_millis()
    );
    assert!(
        written_at.saturating_duration_since(start) < Duration::from_secs(15),
        "the pools found the server again within 15 s of its start"
    );
    drop(topology);
}

/// Places one order at a time every 100 ms until `stop`, each retried with
/// its key until acknowledged; records every answer and the acknowledged
/// orders' ids.
async fn probe(
    base: String,
    probes: Arc<Mutex<Vec<Probe>>>,
    acked: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
) {
    let http = client();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let key = format!("pg-probe-{}-{n}", std::process::id());
        loop {
            let at = Instant::now();
            let answer = post_order(&http, &base, &key).await;
            let ok = answer.status == 201;
            if ok {
                acked
                    .lock()
                    .unwrap()
                    .push(answer.body["id"].as_str().unwrap().to_owned());
            }
            probes.lock().unwrap().push(Probe { at, answer });
            tokio::time::sleep(Duration::from_millis(100)).await;
            if ok {
                break;
            }
        }
    }
}
