//! A short `food-bench --local` run: the JSON report has every figure the
//! tables print, and the figures are those of a run that worked.

use serde_json::Value;

const BENCH: &str = env!("CARGO_BIN_EXE_food-bench");

/// `food-bench` run by a test, on the `food-stack` and `food-broker` cargo
/// built beside it (`cargo test --workspace` builds them all). Started by a
/// test, not by cargo, neither food-bench nor food-stack runs a
/// `cargo build` of its own (`food_broker::cargo_run`).
fn bench() -> std::process::Command {
    let mut command = std::process::Command::new(BENCH);
    for (var, bin) in [
        ("FOOD_STACK_BIN", "food-stack"),
        ("FOOD_BROKER_BIN", "food-broker"),
    ] {
        command.env(var, food_bench::local::test_binary(var, bin));
    }
    command
}

/// `--local` starts a food-stack with its embedded broker whatever
/// `FOOD_TEST_BROKER` says, so the suite's run on Apache Kafka would only
/// repeat these tests.
fn on_the_default_broker() -> bool {
    match std::env::var("FOOD_TEST_BROKER").as_deref() {
        Ok("apache-kafka" | "kafka") => {
            eprintln!("skipped: food-bench --local runs the embedded broker, tested on Tansu");
            false
        }
        _ => true,
    }
}

/// The value at a dotted path (`menu.0.latency`); `null` when missing.
fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.')
        .fold(v, |at, key| match key.parse::<usize>() {
            Ok(i) => &at[i],
            Err(_) => &at[key],
        })
}

fn number(v: &Value, path: &str) -> f64 {
    let n = at(v, path);
    n.as_f64()
        .unwrap_or_else(|| panic!("`{path}` is not a number: {n}"))
}

fn quantiles(v: &Value, path: &str) {
    let p50 = number(v, &format!("{path}.p50_ms"));
    let p90 = number(v, &format!("{path}.p90_ms"));
    let p99 = number(v, &format!("{path}.p99_ms"));
    let max = number(v, &format!("{path}.max_ms"));
    assert!(
        0.0 < p50 && p50 <= p90 && p90 <= p99 && p99 <= max,
        "{path}: {p50} {p90} {p99} {max}"
    );
}

fn usage(v: &Value, path: &str) {
    assert!(number(v, &format!("{path}.stack_cpu_s")) > 0.0);
    assert!(number(v, &format!("{path}.stack_cores")) > 0.0);
    let rss = number(v, &format!("{path}.stack_rss_mib"));
    let peak = number(v, &format!("{path}.stack_rss_peak_mib"));
    assert!(
        rss > 10.0 && peak >= rss,
        "{path}: RSS {rss} MiB, peak {peak}"
    );
    assert!(number(v, &format!("{path}.client_cpu_s")) > 0.0);
    // A run of `--duration 1s` may stop its clock a hair short of it.
    assert!(number(v, &format!("{path}.wall_s")) >= 0.9);
}

/// A closed-loop row with its ceiling.
fn throughput(v: &Value, path: &str, route: &str) {
    let row = at(v, path);
    assert_eq!(row["route"], route);
    assert!(number(row, "requests") > 0.0);
    assert_eq!(row["errors"], 0, "{row}");
    assert!(row["error_causes"].as_object().unwrap().is_empty());
    assert!(number(row, "per_second") > 0.0);
    quantiles(row, "latency");
    usage(row, "usage");
    assert!(number(row, "stack_cpu_us_per_request") > 0.0);
    assert!(number(row, "client_cpu_us_per_request") > 0.0);
    assert!(number(row, "ceiling.per_second") > 0.0);
    quantiles(row, "ceiling.latency");
    assert!(number(row, "ceiling.server_cpu_us_per_request") > 0.0);
    assert!(number(row, "ceiling.client_cpu_us_per_request") > 0.0);
    let ratio = number(row, "ratio");
    let expected = number(row, "per_second") / number(row, "ceiling.per_second");
    assert!((ratio - expected).abs() < 1e-9, "{route}: ratio {ratio}");
}

#[test]
fn a_short_local_run_reports_every_figure() {
    if !on_the_default_broker() {
        return;
    }
    // Each run 1 s; fewer changes and lower rates than the defaults, so
    // that a debug build on a busy machine finishes in about a minute.
    let out = bench()
        .args(["--local", "--duration", "1s", "--changes", "200"])
        .args(["--rates", "50,100", "--slo", "5s", "--json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_str(&stdout).expect("a JSON report");

    assert_eq!(r["tool"], "food-bench");
    assert_eq!(r["version"], env!("CARGO_PKG_VERSION"));
    assert!(number(&r, "machine.cpus") >= 1.0);
    assert!(number(&r, "machine.memory_gib") > 0.0);
    assert!(r["machine"]["kernel"].is_string());
    assert!(
        r["target"]["gateway"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    assert_eq!(r["target"]["local"], true);
    assert!(r["target"]["kafka_brokers"].is_string());
    assert_eq!(r["target"]["measured_pids"].as_array().unwrap().len(), 1);
    assert_eq!(
        r["settings"]["scenarios"],
        serde_json::json!(["menu", "orders", "live", "mixed"])
    );
    assert_eq!(number(&r, "settings.duration_s"), 1.0);
    assert_eq!(number(&r, "settings.connections"), 32.0);
    assert_eq!(number(&r, "settings.changes"), 200.0);
    assert_eq!(number(&r, "settings.slo_ms"), 5000.0);
    assert_eq!(number(&r, "settings.seed"), 1.0);

    let menu = r["menu"].as_array().expect("menu rows");
    assert_eq!(menu.len(), 3);
    for (i, route) in ["GET /restaurants", "GET /menu/items", "GET /menu/items/:id"]
        .into_iter()
        .enumerate()
    {
        throughput(&r, &format!("menu.{i}"), route);
    }
    throughput(&r, "orders", "POST /orders");

    let live = &r["live"];
    assert_eq!(live["changes"], 200);
    quantiles(live, "put");
    quantiles(live, "broker");
    for path in ["sse", "graphql", "kafka"] {
        quantiles(live, path);
        assert_eq!(live[path]["missed"], 0, "{path}: {}", live[path]);
        let gap = number(live, &format!("{path}.gap_p99_ms"));
        let expected = number(live, &format!("{path}.p99_ms")) - number(live, "broker.p99_ms");
        assert!((gap - expected).abs() < 1e-9, "{path}: gap {gap}");
    }

    let mixed = &r["mixed"];
    assert_eq!(number(mixed, "connections"), 32.0);
    assert_eq!(number(mixed, "slo_ms"), 5000.0);
    assert_eq!(number(mixed, "mix.browse"), 0.7);
    let rates = mixed["rates"].as_array().unwrap();
    assert_eq!(rates.len(), 2);
    for (i, target) in [50.0, 100.0].into_iter().enumerate() {
        let rate = &rates[i];
        assert_eq!(number(rate, "target_per_second"), target);
        // 1 s at the rate, whatever the server's pace: an open loop.
        assert_eq!(number(rate, "requests"), target);
        assert_eq!(rate["errors"], 0, "{rate}");
        assert!(number(rate, "achieved_per_second") > 0.5 * target);
        quantiles(rate, "latency");
        for kind in ["browse", "order", "status"] {
            let k = &rate["kinds"][kind];
            assert!(number(k, "requests") > 0.0, "{kind}: {k}");
            assert_eq!(k["errors"], 0);
            quantiles(k, "latency");
        }
        usage(rate, "usage");
        assert_eq!(rate["within_slo"], true, "{rate}");
    }
    assert_eq!(number(mixed, "max_rate_within_slo"), 100.0);
    assert_eq!(r["slo_met"], true);
}

#[test]
fn a_missed_slo_exits_1_and_bad_flags_exit_2() {
    if !on_the_default_broker() {
        return;
    }
    let usage = bench().args(["--local", "--rates", "0"]).output().unwrap();
    assert_eq!(usage.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&usage.stderr).contains("--rates"));

    let nowhere = bench()
        .args(["--gateway", "http://127.0.0.1:9", "--token", "x", "menu"])
        .output()
        .unwrap();
    assert_eq!(nowhere.status.code(), Some(3), "{nowhere:?}");

    // 1 µs at p99 cannot be held by anything.
    let missed = bench()
        .args([
            "--local",
            "--duration",
            "1s",
            "--rates",
            "20",
            "--slo",
            "0.001ms",
            "mixed",
        ])
        .output()
        .unwrap();
    assert_eq!(
        missed.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&missed.stderr)
    );
    assert!(String::from_utf8_lossy(&missed.stdout).contains("SLO MISSED"));
}
