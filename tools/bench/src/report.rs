//! What a run found: one serialisable report (`--json`) and the tables
//! printed from it.

use std::collections::BTreeMap;

use comfy_table::{Table, presets::ASCII_MARKDOWN};
use serde::Serialize;

use crate::{
    engine::{Outcome, Quantiles},
    live::LiveReport,
    procs::{Machine, PhaseUsage},
};

#[derive(Debug, Serialize)]
pub struct Report {
    pub tool: &'static str,
    pub version: &'static str,
    pub machine: Machine,
    pub target: TargetInfo,
    pub settings: Settings,
    /// One row per route; absent when the scenario was not run.
    pub menu: Option<Vec<Throughput>>,
    pub orders: Option<Throughput>,
    pub live: Option<LiveReport>,
    pub mixed: Option<MixedReport>,
    /// With `--slo`: whether every mixed rate held it.
    pub slo_met: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct TargetInfo {
    pub gateway: String,
    /// `--local`: a food-stack of the bench's own.
    pub local: bool,
    pub kafka_brokers: Option<String>,
    /// The processes whose CPU and memory are reported (the stack and its
    /// children).
    pub measured_pids: Vec<u32>,
}

#[derive(Debug, Serialize)]
pub struct Settings {
    pub scenarios: Vec<String>,
    pub duration_s: f64,
    pub connections: usize,
    pub rates: Vec<f64>,
    pub changes: usize,
    pub slo_ms: f64,
    pub seed: u64,
}

/// A closed-loop run of one route, beside its ceiling when measured.
#[derive(Debug, Serialize)]
pub struct Throughput {
    pub route: String,
    pub requests: u64,
    pub errors: u64,
    pub error_causes: BTreeMap<String, u64>,
    /// The first body of each error status, by `kind status`.
    pub error_samples: BTreeMap<String, String>,
    pub per_second: f64,
    pub latency: Quantiles,
    pub usage: PhaseUsage,
    /// CPU per request of the measured processes (µs).
    pub stack_cpu_us_per_request: Option<f64>,
    /// CPU per request of the load client (µs).
    pub client_cpu_us_per_request: f64,
    pub ceiling: Option<CeilingRun>,
    /// `per_second` over the ceiling's.
    pub ratio: Option<f64>,
}

/// The same client against the minimal hyper server returning the same body.
#[derive(Debug, Serialize)]
pub struct CeilingRun {
    pub per_second: f64,
    pub latency: Quantiles,
    pub server_cpu_us_per_request: f64,
    pub client_cpu_us_per_request: f64,
}

impl Throughput {
    pub fn new(route: &str, out: &Outcome, usage: PhaseUsage, ceiling: Option<CeilingRun>) -> Self {
        let per_request = |s: f64| s * 1e6 / out.requests().max(1) as f64;
        let per_second = out.per_second();
        Self {
            route: route.to_owned(),
            requests: out.requests(),
            errors: out.errors(),
            error_causes: out.error_causes(),
            error_samples: out.error_samples(),
            per_second,
            latency: Quantiles::of(&out.latency()),
            stack_cpu_us_per_request: usage.stack_cpu_s.map(per_request),
            client_cpu_us_per_request: per_request(usage.client_cpu_s),
            ratio: ceiling.as_ref().map(|c| per_second / c.per_second),
            ceiling,
            usage,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct MixedReport {
    pub connections: usize,
    pub slo_ms: f64,
    pub mix: BTreeMap<String, f64>,
    pub rates: Vec<MixedRate>,
    /// The highest rate whose p99 stayed within the SLO without errors.
    pub max_rate_within_slo: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct MixedRate {
    pub target_per_second: f64,
    pub achieved_per_second: f64,
    pub requests: u64,
    pub errors: u64,
    pub error_causes: BTreeMap<String, u64>,
    /// The first body of each error status, by `kind status`.
    pub error_samples: BTreeMap<String, String>,
    /// From each request's scheduled time.
    pub latency: Quantiles,
    pub kinds: BTreeMap<String, KindFigures>,
    pub usage: PhaseUsage,
    pub within_slo: bool,
}

#[derive(Debug, Serialize)]
pub struct KindFigures {
    pub requests: u64,
    pub errors: u64,
    pub latency: Quantiles,
}

impl MixedRate {
    pub fn new(rate: f64, out: &Outcome, usage: PhaseUsage, slo_ms: f64) -> Self {
        let latency = Quantiles::of(&out.latency());
        Self {
            target_per_second: rate,
            achieved_per_second: out.per_second(),
            requests: out.requests(),
            errors: out.errors(),
            error_causes: out.error_causes(),
            error_samples: out.error_samples(),
            kinds: out
                .kinds
                .iter()
                .map(|k| {
                    (
                        k.name.clone(),
                        KindFigures {
                            requests: k.ok + k.error_count(),
                            errors: k.error_count(),
                            latency: Quantiles::of(&k.latency),
                        },
                    )
                })
                .collect(),
            within_slo: out.errors() == 0 && latency.p99_ms <= slo_ms,
            latency,
            usage,
        }
    }
}

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(ASCII_MARKDOWN).set_header(header.to_vec());
    t
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.digits$}"))
}

fn errors(n: u64, causes: &BTreeMap<String, u64>) -> String {
    if n == 0 {
        return "0".into();
    }
    let causes: Vec<String> = causes.iter().map(|(c, n)| format!("{n}×{c}")).collect();
    format!("{n} ({})", causes.join(", "))
}

impl Report {
    /// The tables, in Markdown, as docs/benchmarks.md holds them.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let m = &self.machine;
        out.push_str(&format!(
            "food-bench {} against {}{}\nmachine: {} CPUs ({}), {} GiB, Linux {}\nper run: {} s, {} connections, seed {}\n",
            self.version,
            self.target.gateway,
            if self.target.local { " (--local: its own food-stack)" } else { "" },
            m.cpus,
            m.cpu_model.as_deref().unwrap_or("?"),
            opt(m.memory_gib, 0),
            m.kernel.as_deref().unwrap_or("?"),
            self.settings.duration_s,
            self.settings.connections,
            self.settings.seed,
        ));
        let mut rows: Vec<&Throughput> = self.menu.iter().flatten().collect();
        rows.extend(self.orders.iter());
        if !rows.is_empty() {
            let mut t = table(&[
                "route",
                "req/s",
                "p50 / p99 ms",
                "errors",
                "ceiling req/s",
                "ceiling p50 / p99 ms",
                "of ceiling",
                "CPU µs/req: stack",
                "client",
                "ceiling server",
                "ceiling client",
            ]);
            for r in rows {
                let c = r.ceiling.as_ref();
                t.add_row(vec![
                    r.route.clone(),
                    format!("{:.0}", r.per_second),
                    format!("{:.2} / {:.2}", r.latency.p50_ms, r.latency.p99_ms),
                    errors(r.errors, &r.error_causes),
                    opt(c.map(|c| c.per_second), 0),
                    c.map_or("-".into(), |c| {
                        format!("{:.2} / {:.2}", c.latency.p50_ms, c.latency.p99_ms)
                    }),
                    opt(r.ratio, 2),
                    opt(r.stack_cpu_us_per_request, 0),
                    format!("{:.0}", r.client_cpu_us_per_request),
                    opt(c.map(|c| c.server_cpu_us_per_request), 0),
                    opt(c.map(|c| c.client_cpu_us_per_request), 0),
                ]);
            }
            out.push_str(&format!("\n{t}\n"));
        }
        if let Some(live) = &self.live {
            let mut t = table(&[
                "live path",
                "p50 ms",
                "p99 ms",
                "max ms",
                "missed",
                "gap to the broker's p99, ms",
            ]);
            let mut row = |name: &str, q: &Quantiles, missed: Option<u64>, gap: Option<f64>| {
                t.add_row(vec![
                    name.to_owned(),
                    format!("{:.2}", q.p50_ms),
                    format!("{:.2}", q.p99_ms),
                    format!("{:.2}", q.max_ms),
                    missed.map_or("-".into(), |m| m.to_string()),
                    opt(gap, 2),
                ]);
            };
            row("PUT /delivery/status answered", &live.put, None, None);
            row(
                "PUT → SSE /events/deliveries",
                &live.sse.latency,
                Some(live.sse.missed),
                live.sse.gap_p99_ms,
            );
            row(
                "PUT → GraphQL deliveryStatusChanged",
                &live.graphql.latency,
                Some(live.graphql.missed),
                live.graphql.gap_p99_ms,
            );
            if let Some(k) = &live.kafka {
                row(
                    "PUT → Kafka food.deliveries.v1",
                    &k.latency,
                    Some(k.missed),
                    k.gap_p99_ms,
                );
            }
            if let Some(b) = &live.broker {
                row("broker alone: produce → consume", b, None, None);
            }
            out.push_str(&format!("\n{} changes\n{t}\n", live.changes));
        }
        if let Some(mixed) = &self.mixed {
            let mut t = table(&[
                "mixed, open loop: target req/s",
                "achieved",
                "p50 / p90 / p99 ms",
                "max ms",
                "p99 browse / order / status",
                "errors",
                "stack cores",
                "stack RSS MiB (peak)",
                "client CPU µs/req",
                "p99 within SLO",
            ]);
            for r in &mixed.rates {
                let kind = |k: &str| {
                    r.kinds
                        .get(k)
                        .map_or("-".into(), |f| format!("{:.1}", f.latency.p99_ms))
                };
                t.add_row(vec![
                    format!("{:.0}", r.target_per_second),
                    format!("{:.0}", r.achieved_per_second),
                    format!(
                        "{:.2} / {:.2} / {:.2}",
                        r.latency.p50_ms, r.latency.p90_ms, r.latency.p99_ms
                    ),
                    format!("{:.1}", r.latency.max_ms),
                    format!(
                        "{} / {} / {}",
                        kind("browse"),
                        kind("order"),
                        kind("status")
                    ),
                    errors(r.errors, &r.error_causes),
                    opt(r.usage.stack_cores, 2),
                    match (r.usage.stack_rss_mib, r.usage.stack_rss_peak_mib) {
                        (Some(a), Some(b)) => format!("{a:.0} ({b:.0})"),
                        _ => "-".into(),
                    },
                    format!(
                        "{:.0}",
                        r.usage.client_cpu_s * 1e6 / r.requests.max(1) as f64
                    ),
                    if r.within_slo { "yes" } else { "no" }.into(),
                ]);
            }
            out.push_str(&format!(
                "\nmix: browse {:.0} %, order {:.0} %, status {:.0} %; SLO p99 ≤ {} ms\n{t}\nhighest rate within the SLO: {}\n",
                mixed.mix.get("browse").unwrap_or(&0.0) * 100.0,
                mixed.mix.get("order").unwrap_or(&0.0) * 100.0,
                mixed.mix.get("status").unwrap_or(&0.0) * 100.0,
                mixed.slo_ms,
                mixed.max_rate_within_slo.map_or("none".into(), |r| format!("{r:.0} req/s")),
            ));
        }
        if let Some(met) = self.slo_met {
            out.push_str(&format!("\nSLO {}\n", if met { "met" } else { "MISSED" }));
        }
        out
    }
}
