//! CPU time and resident memory of processes and their descendants, read
//! from /proc (Linux; elsewhere every figure is 0).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde::Serialize;

/// Linux reports CPU times in USER_HZ ticks, 100 per second.
const TICKS_PER_SECOND: f64 = 100.0;

/// How often a [`Meter`] samples resident memory.
const SAMPLE_EVERY: Duration = Duration::from_millis(250);

/// Some processes, each with every process it started (the stack and its
/// embedded broker).
#[derive(Clone, Debug, Default)]
pub struct Procs {
    roots: Vec<u32>,
    descendants: bool,
}

/// What a set of processes used, summed.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    /// User and system CPU since each process started, in seconds.
    pub cpu_s: f64,
    /// Resident memory now, in MiB.
    pub rss_mib: f64,
    /// File descriptors open now (entries of /proc/<pid>/fd): a leak of
    /// connections or files shows as a count that keeps growing.
    pub open_fds: usize,
}

impl Procs {
    pub fn new(roots: Vec<u32>) -> Self {
        Self {
            roots,
            descendants: true,
        }
    }

    /// This process alone (the load client), without the stack or the
    /// ceiling it started.
    pub fn this() -> Self {
        Self {
            roots: vec![std::process::id()],
            descendants: false,
        }
    }

    /// The processes given (without their descendants).
    pub fn roots(&self) -> &[u32] {
        &self.roots
    }

    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    /// The roots and their descendants, now.
    fn pids(&self) -> Vec<u32> {
        if !self.descendants {
            return self.roots.clone();
        }
        let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for entry in entries.flatten() {
                let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                    continue;
                };
                if let Some(ppid) = stat_fields(pid).and_then(|f| f.get(1)?.parse().ok()) {
                    children.entry(ppid).or_default().push(pid);
                }
            }
        }
        let mut out = Vec::new();
        let mut todo = self.roots.clone();
        while let Some(pid) = todo.pop() {
            out.push(pid);
            if let Some(kids) = children.get(&pid) {
                todo.extend(kids.iter().filter(|k| !self.roots.contains(k)));
            }
        }
        out
    }

    pub fn usage(&self) -> Usage {
        let mut u = Usage::default();
        for pid in self.pids() {
            if let Some(f) = stat_fields(pid) {
                // After the command name: utime is the 12th field, stime the 13th.
                let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
                u.cpu_s += (ticks(11) + ticks(12)) / TICKS_PER_SECOND;
            }
            if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                let kib = status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                    .unwrap_or(0.0);
                u.rss_mib += kib / 1024.0;
            }
            if let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
                u.open_fds += fds.count();
            }
        }
        u
    }
}

/// The fields of /proc/<pid>/stat after the command name (which may hold
/// spaces): state first, then ppid.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// What the measured processes and the load client used during a phase.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct PhaseUsage {
    /// The measured processes' CPU, in seconds; `None` when nothing is
    /// measured (a remote gateway without `--pid`).
    pub stack_cpu_s: Option<f64>,
    /// That CPU over the phase's wall time: 1.0 is one core busy.
    pub stack_cores: Option<f64>,
    /// Resident memory at the end of the phase and its highest sample, MiB.
    pub stack_rss_mib: Option<f64>,
    pub stack_rss_peak_mib: Option<f64>,
    /// This process's CPU (the load client), in seconds.
    pub client_cpu_s: f64,
    pub wall_s: f64,
}

/// Samples the measured processes while a phase runs.
pub struct Meter {
    stack: Procs,
    started: Instant,
    stack_before: Usage,
    client_before: Usage,
    peak: Arc<Mutex<f64>>,
    sampler: tokio::task::JoinHandle<()>,
}

impl Meter {
    pub fn start(stack: &Procs) -> Self {
        let peak = Arc::new(Mutex::new(0.0_f64));
        let sampler = {
            let stack = stack.clone();
            let peak = peak.clone();
            tokio::spawn(async move {
                if stack.is_empty() {
                    return;
                }
                loop {
                    let rss = tokio::task::spawn_blocking({
                        let stack = stack.clone();
                        move || stack.usage().rss_mib
                    })
                    .await
                    .unwrap_or(0.0);
                    {
                        let mut p = peak.lock().unwrap();
                        *p = p.max(rss);
                    }
                    tokio::time::sleep(SAMPLE_EVERY).await;
                }
            })
        };
        Self {
            stack_before: stack.usage(),
            client_before: Procs::this().usage(),
            stack: stack.clone(),
            started: Instant::now(),
            peak,
            sampler,
        }
    }

    pub fn finish(self) -> PhaseUsage {
        self.sampler.abort();
        let wall_s = self.started.elapsed().as_secs_f64();
        let client_cpu_s = Procs::this().usage().cpu_s - self.client_before.cpu_s;
        if self.stack.is_empty() {
            return PhaseUsage {
                client_cpu_s,
                wall_s,
                ..PhaseUsage::default()
            };
        }
        let now = self.stack.usage();
        let cpu = now.cpu_s - self.stack_before.cpu_s;
        let peak = self.peak.lock().unwrap().max(now.rss_mib);
        PhaseUsage {
            stack_cpu_s: Some(cpu),
            stack_cores: Some(cpu / wall_s.max(1e-9)),
            stack_rss_mib: Some(now.rss_mib),
            stack_rss_peak_mib: Some(peak),
            client_cpu_s,
            wall_s,
        }
    }
}

/// The machine the run happened on, for the report.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: Option<String>,
    pub memory_gib: Option<f64>,
    pub kernel: Option<String>,
}

impl Machine {
    pub fn this() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Self {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model: cpuinfo
                .lines()
                .find_map(|l| l.strip_prefix("model name"))
                .and_then(|v| v.split_once(':'))
                .map(|(_, v)| v.trim().to_owned()),
            memory_gib: meminfo
                .lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                .map(|kib| kib / 1024.0 / 1024.0),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .ok()
                .map(|s| s.trim().to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_counts_with_its_parent_and_the_client_alone_with_itself() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let parent = Procs::new(vec![child.id()]);
        let usage = parent.usage();
        assert!(usage.rss_mib > 0.0, "{usage:?}");
        assert_eq!(parent.pids(), vec![child.id()]);
        let client = Procs::this();
        assert_eq!(client.pids(), vec![std::process::id()]);
        assert!(client.usage().rss_mib > usage.rss_mib);
        child.kill().unwrap();
        let _ = child.wait();
    }
}
