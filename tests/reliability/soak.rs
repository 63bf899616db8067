//! The mixed load for minutes: no error, and the stack's memory and open
//! file descriptors level off after the warm-up instead of growing.

use std::time::Duration;

use food_bench::{local::LocalStack, procs::Procs};

use crate::platform::{self, Load};

const RATE: f64 = 500.0;
/// The soak's length unless `FOOD_SOAK_SECS` says otherwise.
const DEFAULT_SECS: u64 = 180;
const SAMPLE_EVERY: Duration = Duration::from_secs(10);
/// Caches and pools fill during the warm-up; the level after it is the one
/// the end is held to. `FOOD_SOAK_WARM_UP_SECS` changes it.
const DEFAULT_WARM_UP_SECS: u64 = 30;
/// Deliveries each connection's status changes move: enough that none
/// gathers a history longer than a real delivery's in a soak (about 15
/// changes each in 3 minutes), where 4 gather hundreds.
const POOL_PER_CONNECTION: usize = 40;
/// The end's resident memory may be this much above the warm-up's.
const RSS_SLACK: f64 = 0.10;
/// Each SQLite connection's page cache in the soak, in KiB: small enough
/// that the warm-up fills them, so that what grows after it is a leak and
/// not a cache filling (at SQLite's 2 MiB they fill for about 10 minutes at
/// this rate; docs/reliability.md).
const SQLITE_CACHE_KIB: &str = "256";
/// Descriptors that come and go with the load (connections being
/// answered, SQLite's journal files).
const FD_SLACK: usize = 16;

/// Whole seconds from `var`, or `default` when it is not set; a value that
/// is not a number stops the test rather than running another length.
fn secs_from_env(var: &str, default: u64) -> u64 {
    match std::env::var(var) {
        Ok(s) => s
            .parse()
            .unwrap_or_else(|_| panic!("{var}={s:?} is not a whole number of seconds")),
        Err(_) => default,
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "slow (FOOD_SOAK_SECS, 3 min by default); .ci/run runs the reliability target with --ignored"]
async fn a_soak_at_500_per_second_has_no_error_and_no_leak() {
    let secs = secs_from_env("FOOD_SOAK_SECS", DEFAULT_SECS);
    let warm_up_secs = secs_from_env("FOOD_SOAK_WARM_UP_SECS", DEFAULT_WARM_UP_SECS);
    let duration = Duration::from_secs(secs);
    let warm_up = Duration::from_secs(warm_up_secs);
    assert!(
        duration >= warm_up * 2,
        "FOOD_SOAK_SECS={secs} is too short for a warm-up of {warm_up_secs} s"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut launch = platform::launch(&dir.path().join("data"));
    launch.env.push((
        food_kit::db::SQLITE_CACHE_KIB_VAR.into(),
        SQLITE_CACHE_KIB.into(),
    ));
    let stack = LocalStack::launch(&launch).await.unwrap();
    let load = std::sync::Arc::new(Load::prepare_with_pool(&stack, POOL_PER_CONNECTION).await);
    let run = {
        let load = load.clone();
        tokio::spawn(async move { load.run(4, RATE, duration).await })
    };
    let procs = Procs::new(vec![stack.pid]);
    let mut samples = Vec::new();
    let mut at = Duration::ZERO;
    while at < duration {
        tokio::time::sleep(SAMPLE_EVERY).await;
        at += SAMPLE_EVERY;
        samples.push((at, procs.usage()));
    }
    let out = run.await.unwrap();
    let warm = samples
        .iter()
        .find(|(t, _)| *t >= warm_up)
        .map(|(_, u)| *u)
        .unwrap();
    let end = samples.last().unwrap().1;
    let latency = food_bench::engine::Quantiles::of(&out.latency());
    println!(
        "soak: {RATE} req/s for {secs} s, {} requests, {} errors, {:.0} req/s\n\
         latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms\n\
         t (s)  RSS (MiB)  fds",
        out.requests(),
        out.errors(),
        out.per_second(),
        latency.p50_ms,
        latency.p99_ms,
        latency.max_ms,
    );
    for (t, u) in &samples {
        println!("{:>5}  {:>9.1}  {:>3}", t.as_secs(), u.rss_mib, u.open_fds);
    }
    println!(
        "after warm-up: {:.1} MiB, {} fds; end: {:.1} MiB ({:+.1} %), {} fds",
        warm.rss_mib,
        warm.open_fds,
        end.rss_mib,
        (end.rss_mib / warm.rss_mib - 1.0) * 100.0,
        end.open_fds,
    );
    assert_eq!(
        out.errors(),
        0,
        "{:?} {:?}",
        platform::errors(&out),
        out.error_samples()
    );
    assert!(
        end.rss_mib <= warm.rss_mib * (1.0 + RSS_SLACK),
        "resident memory grew from {:.1} to {:.1} MiB",
        warm.rss_mib,
        end.rss_mib
    );
    assert!(
        end.open_fds <= warm.open_fds + FD_SLACK,
        "open descriptors grew from {} to {}",
        warm.open_fds,
        end.open_fds
    );
    stack.stop().await.unwrap();
}
