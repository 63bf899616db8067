//! `food-bench`: how fast a food platform deployment is.
//!
//! Against a running gateway (`--gateway URL`) or a `food-stack` of its own
//! (`--local`), it runs the scenarios `menu` (reads), `orders` (POST
//! /orders), `live` (a status change until SSE, GraphQL and Kafka watchers
//! have it, beside the broker's own latency) and `mixed` (an open-loop mix
//! at fixed rates), and prints tables (or `--json`). With `--local` every
//! throughput is also measured against a minimal hyper server returning the
//! same bodies (the ceiling), and the stack's CPU and memory are sampled.
//! docs/benchmarks.md explains each figure.
//!
//! Exit codes: 0 done, 1 `--slo` given and missed, 2 usage, 3 the run
//! could not be made (no gateway, a refused key, a stack that did not start).

use std::{
    collections::BTreeMap,
    path::PathBuf,
    process::ExitCode,
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use anyhow::{Context as _, bail};
use clap::{Parser, ValueEnum};
use food_client::{Client, Endpoint, parse_duration};
use indicatif::{ProgressBar, ProgressStyle};

use food_bench::{
    ceiling,
    ceiling::{Ceiling, Route},
    engine,
    engine::{Call, Calls, Outcome, Progress, Target},
    live, local, procs,
    procs::{Machine, Meter, Procs},
    report::{CeilingRun, MixedRate, MixedReport, Report, Settings, TargetInfo, Throughput},
    world::World,
};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
enum Scenario {
    Menu,
    Orders,
    Live,
    Mixed,
}

/// How fast a food platform deployment is: menu reads, orders, live
/// updates and an open-loop mixed load.
#[derive(Debug, Parser)]
#[command(
    version,
    after_help = "Exit codes: 0 done, 1 --slo missed, 2 usage, 3 the run failed.\n\
    Orders and status changes are written to the deployment: point it at a staging one."
)]
struct Args {
    /// Scenarios to run [default: all].
    #[arg(value_enum)]
    scenarios: Vec<Scenario>,
    /// The gateway to load (http://host:port) [default: the foodctl context's].
    #[arg(long, env = "FOOD_BENCH_GATEWAY", conflicts_with = "local")]
    gateway: Option<String>,
    /// Start a food-stack of its own on a fresh data dir, measure the
    /// ceiling beside it, and sample its CPU and memory.
    #[arg(long)]
    local: bool,
    /// An ops key [default: the foodctl context's].
    #[arg(long, env = "FOOD_BENCH_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Customer keys that place the orders; without them the ops key
    /// orders for `bench-customer-N`.
    #[arg(
        long = "customer-key",
        env = "FOOD_BENCH_CUSTOMER_KEYS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    customer_keys: Vec<String>,
    /// A foodctl context to take the gateway and key from [default: the
    /// current one].
    #[arg(long)]
    context: Option<String>,
    /// Kafka bootstrap servers, for the live path through
    /// food.deliveries.v1 and the broker's own latency.
    #[arg(long, env = "FOOD_KAFKA_BROKERS")]
    kafka_brokers: Option<String>,
    /// Length of each measured run (each route, each rate).
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    duration: Duration,
    /// HTTP/1.1 connections of the load client.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..))]
    connections: u16,
    /// Arrival rates of the mixed load, requests per second.
    #[arg(long, value_delimiter = ',', default_value = "500,1000,2000,5000")]
    rates: Vec<f64>,
    /// A p99 threshold for the mixed load; missing it at any rate exits 1.
    #[arg(long, value_parser = parse_duration)]
    slo: Option<Duration>,
    /// Status changes timed by the live scenario.
    #[arg(long, default_value_t = 1000)]
    changes: usize,
    /// Seeds every request choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The report as JSON on stdout instead of tables.
    #[arg(long)]
    json: bool,
    /// Processes on this machine to sample (with their children) when the
    /// target is not --local, e.g. a food-stack started by hand.
    #[arg(long = "pid")]
    pids: Vec<u32>,
    /// The food-stack binary for --local [default: beside food-bench, else
    /// on the PATH].
    #[arg(long, env = "FOOD_STACK_BIN")]
    stack_bin: Option<PathBuf>,
    /// Where --local makes its fresh data dir [default: the temp dir].
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

/// The mixed load's shares: browse, order, status.
const MIX: [(&str, f64); 3] = [("browse", 0.70), ("order", 0.20), ("status", 0.10)];
/// Orders whose deliveries the mixed load's status changes move, per
/// connection; enough that no delivery's history grows long.
const STATUS_POOL_PER_CONNECTION: usize = 8;
/// The default SLO the mixed report judges rates by.
const DEFAULT_SLO: Duration = Duration::from_millis(50);

impl Args {
    /// The p99 threshold the mixed report judges rates by, in ms.
    fn slo_ms(&self) -> f64 {
        self.slo.unwrap_or(DEFAULT_SLO).as_secs_f64() * 1e3
    }
}

fn main() -> ExitCode {
    let mut argv = std::env::args_os();
    if argv.nth(1).is_some_and(|a| a == "ceiling") {
        let Some(file) = argv.next() else {
            eprintln!("food-bench ceiling: a routes file is required");
            return ExitCode::from(2);
        };
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        return match runtime.block_on(ceiling::serve(std::path::Path::new(&file))) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("food-bench ceiling: {e:#}");
                ExitCode::from(3)
            }
        };
    }
    let args = Args::parse();
    if args.slo.is_some()
        && !args.scenarios.is_empty()
        && !args.scenarios.contains(&Scenario::Mixed)
    {
        eprintln!("food-bench: --slo judges the mixed scenario; add `mixed`");
        return ExitCode::from(2);
    }
    if args.rates.iter().any(|r| !(r.is_finite() && *r > 0.0)) {
        eprintln!("food-bench: --rates must be positive numbers of requests per second");
        return ExitCode::from(2);
    }
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let result = runtime.block_on(run(args));
    // A Kafka client's close may hold a blocking thread; the figures are out.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("food-bench: {e:#}");
            ExitCode::from(3)
        }
    }
}

/// Runs and prints; `Ok(false)` when `--slo` was missed.
async fn run(args: Args) -> anyhow::Result<bool> {
    let scenarios: Vec<Scenario> = if args.scenarios.is_empty() {
        vec![
            Scenario::Menu,
            Scenario::Orders,
            Scenario::Live,
            Scenario::Mixed,
        ]
    } else {
        let mut s = args.scenarios.clone();
        s.sort();
        s.dedup();
        s
    };
    let stack = if args.local {
        eprintln!("food-bench: starting a food-stack of its own");
        Some(local::LocalStack::start(args.stack_bin.clone(), args.data_dir.as_deref()).await?)
    } else {
        None
    };
    let outcome = bench(&args, &scenarios, stack.as_ref()).await;
    if let Some(stack) = stack {
        let stopped = stack.stop().await;
        if outcome.is_ok() {
            stopped?;
        }
    }
    let report = outcome?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    Ok(report.slo_met != Some(false))
}

async fn bench(
    args: &Args,
    scenarios: &[Scenario],
    stack: Option<&local::LocalStack>,
) -> anyhow::Result<Report> {
    let (gateway, ops_key, customer_keys, kafka, measured) = match stack {
        Some(s) => (
            format!("http://{}", s.gateway),
            s.keys.ops.clone(),
            s.keys.customers.values().cloned().collect(),
            Some(s.kafka_brokers.clone()),
            Procs::new(vec![s.pid]),
        ),
        None => {
            let (gateway, token) = remote_target(args)?;
            (
                gateway,
                token,
                args.customer_keys.clone(),
                args.kafka_brokers.clone(),
                Procs::new(args.pids.clone()),
            )
        }
    };
    let endpoint = Endpoint::new(&gateway, Some(ops_key.clone()), Duration::from_secs(10))?;
    let client = Client::builder(endpoint)
        .user_agent(concat!("food-bench/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let target = load_target(client.url())?;
    let world = Arc::new(World::discover(client, ops_key, &customer_keys, args.seed).await?);
    let settings = Settings {
        scenarios: scenarios
            .iter()
            .map(|s| format!("{s:?}").to_lowercase())
            .collect(),
        duration_s: args.duration.as_secs_f64(),
        connections: args.connections as usize,
        rates: args.rates.clone(),
        changes: args.changes,
        slo_ms: args.slo_ms(),
        seed: args.seed,
    };
    let mut report = Report {
        tool: "food-bench",
        version: env!("CARGO_PKG_VERSION"),
        machine: Machine::this(),
        target: TargetInfo {
            gateway: world.client.url().to_owned(),
            local: stack.is_some(),
            kafka_brokers: kafka.clone(),
            measured_pids: measured.roots().to_vec(),
        },
        settings,
        menu: None,
        orders: None,
        live: None,
        mixed: None,
        slo_met: None,
    };
    let bench = Bench {
        args,
        world: world.clone(),
        target,
        measured,
        with_ceiling: stack.is_some(),
    };
    for s in scenarios {
        bench.settle().await;
        match s {
            Scenario::Menu => report.menu = Some(bench.menu().await?),
            Scenario::Orders => report.orders = Some(bench.orders().await?),
            Scenario::Live => {
                let bar = bar("live", args.changes as u64, "changes");
                let live = live::run(&world, kafka.as_deref(), args.changes, &bar).await?;
                bar.finish_and_clear();
                report.live = Some(live);
            }
            Scenario::Mixed => report.mixed = Some(bench.mixed().await?),
        }
    }
    if args.slo.is_some() {
        report.slo_met = report
            .mixed
            .as_ref()
            .map(|m| m.rates.iter().all(|r| r.within_slo));
    }
    Ok(report)
}

/// The gateway and ops key of a remote target: flags and environment
/// first, then the foodctl context.
fn remote_target(args: &Args) -> anyhow::Result<(String, String)> {
    let context =
        if args.gateway.is_some() && args.token.is_some() && args.context.is_none() {
            None
        } else {
            let path = food_client::contexts_path()?;
            let file = if path.exists() {
                food_client::ContextsFile::load(&path)?
            } else {
                food_client::ContextsFile::default()
            };
            let name = args.context.clone().or(file.current.clone());
            match name {
                Some(name) => Some(file.contexts.get(&name).cloned().with_context(|| {
                    format!("no foodctl context `{name}` in {}", path.display())
                })?),
                None => None,
            }
        };
    let gateway = args
        .gateway
        .clone()
        .or_else(|| context.as_ref().and_then(|c| c.gateway.clone()))
        .context("no gateway: pass --gateway URL (or --local), or use a foodctl context")?;
    let token = args
        .token
        .clone()
        .or_else(|| context.as_ref().and_then(|c| c.token.clone()))
        .context(
            "no ops key: pass --token KEY (or FOOD_BENCH_TOKEN), or use a foodctl context with one",
        )?;
    Ok((gateway, token))
}

/// Where the load client connects: the gateway URL's host and port (plain
/// HTTP; the load client speaks no TLS).
fn load_target(url: &str) -> anyhow::Result<Target> {
    let Some(rest) = url.strip_prefix("http://") else {
        bail!(
            "the load client speaks plain HTTP; `{url}` is not an http:// URL (run food-bench where the gateway is reachable without TLS)"
        );
    };
    let host = rest.split('/').next().unwrap_or(rest).to_owned();
    let with_port = if host
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        host.clone()
    } else {
        format!("{host}:80")
    };
    let addr = std::net::ToSocketAddrs::to_socket_addrs(&with_port)
        .with_context(|| format!("resolving {with_port}"))?
        .next()
        .with_context(|| format!("{with_port} has no address"))?;
    Ok(Target { addr, host })
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
fn bar(name: &str, len: u64, unit: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{prefix:>28}} [{{bar:30}}] {{pos}}/{{len}} {unit} {{msg}}"
        ))
        .unwrap()
        .progress_chars("=> "),
    );
    bar.set_prefix(name.to_owned());
    bar
}

/// A bar that follows a timed run: elapsed milliseconds, requests sent.
fn timed_bar(
    name: &str,
    duration: Duration,
    progress: &Progress,
) -> (ProgressBar, tokio::task::JoinHandle<()>) {
    let bar = bar(name, duration.as_millis() as u64, "ms");
    let ticker = tokio::spawn({
        let bar = bar.clone();
        let sent = progress.sent.clone();
        let started = std::time::Instant::now();
        async move {
            loop {
                bar.set_position(
                    (started.elapsed().as_millis() as u64).min(bar.length().unwrap_or(0)),
                );
                bar.set_message(format!("{} requests", sent.load(Ordering::Relaxed)));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    (bar, ticker)
}

struct Bench<'a> {
    args: &'a Args,
    world: Arc<World>,
    target: Target,
    measured: Procs,
    with_ceiling: bool,
}

impl Bench<'_> {
    fn duration(&self) -> Duration {
        self.args.duration
    }

    fn connections(&self) -> usize {
        self.args.connections as usize
    }

    /// Lets the stack finish the work the last phase left (events still
    /// being consumed): until it uses under a fifth of a core, at most 30 s.
    async fn settle(&self) {
        if self.measured.is_empty() {
            tokio::time::sleep(Duration::from_secs(1)).await;
            return;
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            let before = self.measured.usage().cpu_s;
            tokio::time::sleep(Duration::from_millis(500)).await;
            if (self.measured.usage().cpu_s - before) / 0.5 < 0.2 {
                break;
            }
        }
    }

    /// One closed-loop run of `calls` against `target`, metered.
    async fn closed(
        &self,
        name: &str,
        target: &Target,
        measured: &Procs,
        calls: impl FnMut(usize) -> Calls,
    ) -> anyhow::Result<(Outcome, procs::PhaseUsage)> {
        self.metered(name, measured, |progress| async move {
            engine::closed_loop(
                target,
                self.connections(),
                self.duration(),
                &["request"],
                calls,
                &progress,
            )
            .await
        })
        .await
    }

    /// Runs `run` under a progress bar, sampling `measured` meanwhile.
    async fn metered<F: Future<Output = anyhow::Result<Outcome>>>(
        &self,
        name: &str,
        measured: &Procs,
        run: impl FnOnce(Progress) -> F,
    ) -> anyhow::Result<(Outcome, procs::PhaseUsage)> {
        let progress = Progress::default();
        let (bar, ticker) = timed_bar(name, self.duration(), &progress);
        let meter = Meter::start(measured);
        let out = run(progress).await;
        let usage = meter.finish();
        ticker.abort();
        bar.finish_and_clear();
        Ok((out?, usage))
    }

    /// A route against the gateway, then (with a ceiling) the same calls
    /// against the ceiling serving `routes`.
    async fn throughput(
        &self,
        name: &str,
        routes: Vec<Route>,
        calls: impl Fn(usize) -> Calls,
    ) -> anyhow::Result<Throughput> {
        let (out, usage) = self
            .closed(name, &self.target, &self.measured, &calls)
            .await?;
        let ceiling = if self.with_ceiling {
            let ceiling = Ceiling::start(&routes).await?;
            let target = Target {
                addr: ceiling.addr,
                host: ceiling.addr.to_string(),
            };
            let server = Procs::new(vec![ceiling.pid]);
            let (c_out, c_usage) = self
                .closed(&format!("{name} (ceiling)"), &target, &server, &calls)
                .await?;
            let per_request = |s: f64| s * 1e6 / c_out.requests().max(1) as f64;
            Some(CeilingRun {
                per_second: c_out.per_second(),
                latency: engine::Quantiles::of(&c_out.latency()),
                server_cpu_us_per_request: per_request(c_usage.stack_cpu_s.unwrap_or(0.0)),
                client_cpu_us_per_request: per_request(c_usage.client_cpu_s),
            })
        } else {
            None
        };
        Ok(Throughput::new(name, &out, usage, ceiling))
    }

    /// The body the gateway answers `call` with, for the ceiling to return.
    async fn route_of(&self, call: &Call) -> anyhow::Result<Route> {
        let url = format!("{}{}", self.world.client.url(), call.path);
        let http = reqwest::Client::new();
        let mut rb = http.request(call.method.clone(), &url);
        for (k, v) in call.headers.iter() {
            rb = rb.header(k, v);
        }
        if call.idempotency_key {
            rb = rb.header("idempotency-key", uuid::Uuid::new_v4().to_string());
        }
        if let Some(b) = &call.body {
            rb = rb.body(b.clone());
        }
        let resp = rb
            .send()
            .await
            .with_context(|| format!("{} {}", call.method, call.path))?;
        let status = resp.status();
        if !status.is_success() {
            bail!(
                "{} {} answered {status}: {}",
                call.method,
                call.path,
                resp.text().await.unwrap_or_default()
            );
        }
        Ok(Route {
            path: call.path.split('?').next().unwrap_or_default().to_owned(),
            status: status.as_u16(),
            body: resp.text().await?,
        })
    }

    async fn menu(&self) -> anyhow::Result<Vec<Throughput>> {
        let world = &self.world;
        let mut rows = Vec::new();
        // GET /restaurants and GET /menu/items: one body each.
        for path in ["/restaurants", "/menu/items"] {
            let call = world.get_call(0, path.to_owned());
            let routes = if self.with_ceiling {
                vec![self.route_of(&call).await?]
            } else {
                Vec::new()
            };
            let calls = |_| -> Calls {
                let call = call.clone();
                Box::new(move || call.clone())
            };
            rows.push(
                self.throughput(&format!("GET {path}"), routes, calls)
                    .await?,
            );
            self.settle().await;
        }
        // GET /menu/items/:id over every item.
        let mut routes = Vec::new();
        if self.with_ceiling {
            for id in &world.item_ids {
                routes.push(
                    self.route_of(&world.get_call(0, format!("/menu/items/{id}")))
                        .await?,
                );
            }
        }
        let calls = |c| -> Calls {
            let mut rng = world.rng(1, c);
            let ids = world.item_ids.clone();
            let anonymous = world.anonymous.clone();
            Box::new(move || {
                use rand::seq::IndexedRandom;
                Call {
                    kind: 0,
                    method: hyper::Method::GET,
                    path: format!("/menu/items/{}", ids.choose(&mut rng).unwrap()),
                    headers: anonymous.clone(),
                    body: None,
                    idempotency_key: false,
                    keep_answer: false,
                }
            })
        };
        rows.push(
            self.throughput("GET /menu/items/:id", routes, calls)
                .await?,
        );
        Ok(rows)
    }

    async fn orders(&self) -> anyhow::Result<Throughput> {
        let world = &self.world;
        let routes = if self.with_ceiling {
            let mut rng = world.rng(2, usize::MAX);
            vec![self.route_of(&world.order_call(0, &mut rng)).await?]
        } else {
            Vec::new()
        };
        let calls = |c| -> Calls {
            let mut rng = world.rng(2, c);
            let world = world.clone();
            Box::new(move || world.order_call(0, &mut rng))
        };
        self.throughput("POST /orders", routes, calls).await
    }

    async fn mixed(&self) -> anyhow::Result<MixedReport> {
        let world = &self.world;
        let slo_ms = self.args.slo_ms();
        let pool = Arc::new(
            world
                .delivery_pool(STATUS_POOL_PER_CONNECTION * self.connections())
                .await?,
        );
        let kinds: Vec<&str> = MIX.iter().map(|(k, _)| *k).collect();
        let kinds = &kinds;
        let mut rates = Vec::new();
        for (i, &rate) in self.args.rates.iter().enumerate() {
            self.settle().await;
            let calls = |c| -> Calls {
                let mut rng = world.rng(10 + i as u64, c);
                let world = world.clone();
                let mut status = world.status_calls(2, &pool, c, self.connections());
                Box::new(move || {
                    use rand::Rng;
                    let x: f64 = rng.random();
                    if x < MIX[0].1 {
                        world.browse_call(0, &mut rng)
                    } else if x < MIX[0].1 + MIX[1].1 {
                        world.order_call(1, &mut rng)
                    } else {
                        status(&mut rng)
                    }
                })
            };
            let name = format!("mixed at {rate:.0} req/s");
            let (out, usage) = self
                .metered(&name, &self.measured, |progress| async move {
                    engine::open_loop(
                        &self.target,
                        self.connections(),
                        rate,
                        self.duration(),
                        kinds,
                        calls,
                        &progress,
                    )
                    .await
                })
                .await?;
            rates.push(MixedRate::new(rate, &out, usage, slo_ms));
        }
        let max_rate_within_slo = rates
            .iter()
            .filter(|r| r.within_slo)
            .map(|r| r.target_per_second)
            .fold(None, |m: Option<f64>, r| Some(m.map_or(r, |m| m.max(r))));
        Ok(MixedReport {
            connections: self.connections(),
            slo_ms,
            mix: MIX
                .iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect::<BTreeMap<_, _>>(),
            rates,
            max_rate_within_slo,
        })
    }
}
