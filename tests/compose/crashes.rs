//! Each part of the compose topology killed (SIGKILL, as a crash or the
//! OOM killer would) in turn under a steady order load: menu-service,
//! order-service, delivery-service, then the gateway. The test restarts
//! each at once, as compose's `restart: unless-stopped` would, in the same
//! namespace and at the same address.
//!
//! Measured per part: how long from the kill until it was healthy again by
//! its compose healthcheck (probed every 3 s, as compose does: the first
//! probe one interval after the start), and until a request that needs it
//! succeeded through the gateway. Checked afterwards ([`Ledger`]): every
//! acknowledged order and status change is in the databases once, each
//! consumer applied each event of its topic once, and the failed requests
//! during the crashes were 503s or broken connections, never a 500.

use std::time::{Duration, Instant};

use crate::{
    load::{Ledger, Load, client, until_ok},
    topology::{Options, Topology},
};

/// Orders per second: light enough for the debug binaries on two shared
/// cores, so that the times measured are the restarts', not a queue's.
const RATE: u64 = 30;
/// The load runs this long before the first kill and between a part's
/// recovery and the next kill.
const STEADY: Duration = Duration::from_secs(4);
/// A part must serve again within this long of its kill.
const RECOVERY: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root and network namespaces: .ci/run runs it"]
async fn killing_each_part_under_load_loses_and_repeats_nothing() {
    let began = Instant::now();
    let mut topology = Topology::up(Options::default())
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    eprintln!(
        "crashes: topology up in {:.1} s",
        began.elapsed().as_secs_f64()
    );
    let base = topology.gateway_url();
    let http = client();
    let load = Load::start(base.clone(), RATE, "crashes");
    tokio::time::sleep(STEADY).await;
    let probe_order = load
        .figures()
        .acked
        .keys()
        .next()
        .cloned()
        .expect("an order acknowledged before the first kill");

    // What a user of each part asks, through the gateway.
    let parts = [
        ("menu-service", "/menu/items/margherita".to_owned()),
        ("order-service", format!("/orders/{probe_order}")),
        (
            "delivery-service",
            format!("/delivery/status/{probe_order}"),
        ),
        ("gateway", "/menu/items".to_owned()),
    ];
    let mut rows = Vec::new();
    for (service, path) in &parts {
        let old_pid = topology.pid(service, 1).unwrap();
        let killed = Instant::now();
        topology.kill(service, 1).unwrap();
        let (healthy, serving) = tokio::join!(
            async {
                topology
                    .restart(service, 1)
                    .await
                    .unwrap_or_else(|e| panic!("{e:#}"));
                killed.elapsed()
            },
            until_ok(&http, &base, path, killed, RECOVERY),
        );
        let new_pid = topology.pid(service, 1).unwrap();
        assert_ne!(old_pid, new_pid, "{service} was restarted");
        let serving =
            serving.unwrap_or_else(|| panic!("GET {path} answered 200 within {RECOVERY:?}"));
        eprintln!(
            "crashes: {service} killed at {:.1} s of the load: healthy again after {:.1} s, \
             GET {path} 200 after {:.1} s",
            (killed - load.started).as_secs_f64(),
            healthy.as_secs_f64(),
            serving.as_secs_f64()
        );
        rows.push((*service, healthy, serving));
        tokio::time::sleep(STEADY).await;
    }

    let load = load.finish().await;
    let f = load.figures;
    let ledger = Ledger::read(&topology, &f).await;
    let server_errors = f.server_errors();
    let mut block = format!(
        "crashes figures:\n\
         \x20 load: {RATE} orders/s planned, {:.0}/s achieved over {:.1} s\n",
        ledger.acknowledged as f64 / load.load_took.as_secs_f64(),
        load.load_took.as_secs_f64(),
    );
    for (service, healthy, serving) in &rows {
        block.push_str(&format!(
            "  {service:<17} kill -9 → healthy {:5.1} s, requests succeed {:5.1} s\n",
            healthy.as_secs_f64(),
            serving.as_secs_f64()
        ));
    }
    block.push_str(&ledger.summary());
    block.push_str(&format!(
        "  failed requests (retried) {}, of them 5xx other than 503: {}\n    {}\n",
        f.failures.len(),
        server_errors.len(),
        f.failure_kinds()
    ));
    eprintln!("{block}");

    ledger.assert_whole();
    assert!(
        server_errors.is_empty(),
        "a crashed part gives 503, never another 5xx: {server_errors:?}"
    );
    drop(topology);
}
