//! Startup and round-trip figures for docs/benchmarks.md (a benchmark, not a
//! timed test): runs the built `foodctl` N times and prints percentiles.
//!
//! Beside it, `/bin/true` run the same way: the cost of starting any process
//! here, in the same run.
//!
//! `cargo bench -p foodctl --bench startup`; `FOODCTL_BENCH_RUNS` sets N
//! (default 300). With `FOODCTL_GATEWAY` set (and `FOODCTL_TOKEN` if
//! needed) it also times `foodctl menu list -o json` against that gateway.

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

fn time_runs(args: &[&str], runs: usize) -> Vec<Duration> {
    time_program(env!("CARGO_BIN_EXE_foodctl"), args, runs)
}

fn time_program(bin: &str, args: &[&str], runs: usize) -> Vec<Duration> {
    let once = || {
        let started = Instant::now();
        let status = Command::new(bin)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("running foodctl");
        assert!(status.success(), "{bin} {args:?} failed");
        started.elapsed()
    };
    for _ in 0..runs.min(10) {
        once();
    }
    let mut times: Vec<Duration> = (0..runs).map(|_| once()).collect();
    times.sort();
    times
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn report(name: &str, t: &[Duration]) {
    let mean = t.iter().sum::<Duration>() / u32::try_from(t.len()).unwrap_or(1);
    println!(
        "{name}: runs={} min={:.2?} p50={:.2?} p99={:.2?} max={:.2?} mean={:.2?}",
        t.len(),
        t[0],
        pct(t, 0.50),
        pct(t, 0.99),
        t[t.len() - 1],
        mean
    );
}

fn main() {
    let runs: usize = std::env::var("FOODCTL_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    // The floor: starting any process on this machine, in the same run.
    let floor = time_program("/bin/true", &[], runs);
    report("/bin/true (process start floor)", &floor);
    let version = time_runs(&["--version"], runs);
    report("foodctl --version", &version);
    let p50 = pct(&version, 0.50);
    println!(
        "target: p50 <= 5 ms: {}",
        if p50 <= Duration::from_millis(5) {
            "met"
        } else {
            "NOT met"
        }
    );
    if std::env::var_os("FOODCTL_GATEWAY").is_some() {
        let list = time_runs(&["menu", "list", "-o", "json"], runs.min(100));
        report("foodctl menu list -o json (process + round trip)", &list);
    } else {
        println!("(set FOODCTL_GATEWAY to time `menu list -o json` against a running stack)");
    }
}
