//! The compose network on this machine: one bridge holding the host's
//! address (as docker0 does), a /24 private subnet chosen per run, and per
//! service replica a network namespace joined to the bridge by a veth pair,
//! with `lo` up and no default route. Names resolve from
//! `/etc/netns/<namespace>/hosts` (which `ip netns exec` puts over
//! /etc/hosts), where a scaled service's name maps to every replica, as
//! Docker's embedded DNS answers.
//!
//! Names carry this process's pid, so that a run's leftovers (after a crash
//! of the test) are recognised and removed by the next run:
//! namespaces `food-<pid>-<run>-<service>-<n>`, links `f<pid hex>-<run>b`
//! (the bridge) and `f<pid hex>-<run>v<i>` (the host ends).

use std::{
    net::Ipv4Addr,
    path::PathBuf,
    process::Stdio,
    sync::atomic::{AtomicU32, Ordering},
};

use anyhow::{Context, bail};

/// One run's bridge and the namespaces on it.
#[derive(Debug)]
pub struct Network {
    /// `f<pid>-<run>`, the prefix of the run's link names.
    tag: String,
    /// `food-<pid>-<run>`, the prefix of the run's namespace names.
    ns_prefix: String,
    pub bridge: String,
    /// The first three octets of the run's /24.
    subnet: [u8; 3],
    /// The namespaces made so far, with their host-side veth.
    made: Vec<Endpoint>,
}

/// A namespace on the bridge.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub namespace: String,
    /// The host end of the veth pair (the namespace's end is `eth0`).
    pub veth: String,
    pub address: Ipv4Addr,
}

impl Network {
    /// Removes what dead runs left, picks a free /24 and makes the bridge.
    pub fn create() -> anyhow::Result<Self> {
        static RUN: AtomicU32 = AtomicU32::new(0);
        remove_stale();
        let pid = std::process::id();
        let run = RUN.fetch_add(1, Ordering::Relaxed);
        let tag = format!("f{pid:x}-{run}");
        let subnet = free_subnet(pid, run)?;
        let this = Self {
            bridge: format!("{tag}b"),
            ns_prefix: format!("food-{pid}-{run}"),
            tag,
            subnet,
            made: Vec::new(),
        };
        let bridge = this.bridge.clone();
        ip(&["link", "add", &bridge, "type", "bridge"])?;
        ip(&[
            "addr",
            "add",
            &format!("{}/24", this.host_address()),
            "dev",
            &bridge,
        ])?;
        ip(&["link", "set", &bridge, "up"])?;
        Ok(this)
    }

    /// The bridge's address: the host on this network.
    pub fn host_address(&self) -> Ipv4Addr {
        let [a, b, c] = self.subnet;
        Ipv4Addr::new(a, b, c, 1)
    }

    /// `a.b.c.0/24`.
    pub fn subnet(&self) -> String {
        let [a, b, c] = self.subnet;
        format!("{a}.{b}.{c}.0/24")
    }

    /// A namespace for `service` replica `n` at host number `host` of the
    /// subnet (2..=254), joined to the bridge, `lo` and `eth0` up, no route
    /// but the subnet's.
    pub fn add(&mut self, service: &str, n: usize, host: u8) -> anyhow::Result<Endpoint> {
        let [a, b, c] = self.subnet;
        let address = Ipv4Addr::new(a, b, c, host);
        let namespace = format!("{}-{service}-{n}", self.ns_prefix);
        let veth = format!("{}v{host}", self.tag);
        ip(&["netns", "add", &namespace])?;
        let endpoint = Endpoint {
            namespace: namespace.clone(),
            veth: veth.clone(),
            address,
        };
        self.made.push(endpoint.clone());
        ip(&[
            "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &namespace,
        ])?;
        ip(&["link", "set", &veth, "master", &self.bridge, "up"])?;
        ip(&[
            "-n",
            &namespace,
            "addr",
            "add",
            &format!("{address}/24"),
            "dev",
            "eth0",
        ])?;
        ip(&["-n", &namespace, "link", "set", "eth0", "up"])?;
        ip(&["-n", &namespace, "link", "set", "lo", "up"])?;
        Ok(endpoint)
    }

    /// Writes `/etc/netns/<namespace>/hosts` (and an empty resolv.conf:
    /// no DNS server, as nothing off the machine is reachable).
    pub fn write_hosts(&self, namespace: &str, hosts: &str) -> anyhow::Result<()> {
        let dir = etc_dir(namespace);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::write(dir.join("hosts"), hosts)?;
        std::fs::write(
            dir.join("resolv.conf"),
            "# No DNS server: names resolve from /etc/hosts alone.\n",
        )?;
        Ok(())
    }

    /// Removes one namespace (a one-off container's), its link and its
    /// /etc/netns dir.
    pub fn remove(&mut self, namespace: &str) {
        if let Some(i) = self.made.iter().position(|e| e.namespace == namespace) {
            let e = self.made.remove(i);
            remove_endpoint(&e.namespace, &e.veth);
        }
    }

    /// Namespaces made so far.
    pub fn namespaces(&self) -> impl Iterator<Item = &str> {
        self.made.iter().map(|e| e.namespace.as_str())
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        for e in std::mem::take(&mut self.made) {
            remove_endpoint(&e.namespace, &e.veth);
        }
        let _ = ip_quiet(&["link", "del", &self.bridge]);
    }
}

fn remove_endpoint(namespace: &str, veth: &str) {
    kill_namespace_processes(namespace);
    let _ = ip_quiet(&["netns", "del", namespace]);
    // Gone with the namespace, unless something still held it.
    let _ = ip_quiet(&["link", "del", veth]);
    let _ = std::fs::remove_dir_all(etc_dir(namespace));
}

/// SIGKILLs whatever still runs in `namespace` and waits for it to end.
pub fn kill_namespace_processes(namespace: &str) {
    let pids = namespace_pids(namespace);
    for &pid in &pids {
        super::process::signal_pid(pid, "KILL");
    }
    super::process::wait_gone(&pids, std::time::Duration::from_secs(3));
}

/// The processes in `namespace` (`ip netns pids`).
pub fn namespace_pids(namespace: &str) -> Vec<u32> {
    std::process::Command::new("ip")
        .args(["netns", "pids", namespace])
        .stderr(Stdio::null())
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

pub fn etc_dir(namespace: &str) -> PathBuf {
    PathBuf::from("/etc/netns").join(namespace)
}

/// Runs `ip args...`; Err with its stderr when it fails.
pub fn ip(args: &[&str]) -> anyhow::Result<String> {
    let out = std::process::Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("running ip (iproute2)")?;
    if !out.status.success() {
        bail!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn ip_quiet(args: &[&str]) -> anyhow::Result<()> {
    let status = std::process::Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    anyhow::ensure!(status.success(), "ip {} failed", args.join(" "));
    Ok(())
}

/// A 10.x.y.0/24 that no address or route of this machine touches, picked
/// from the pid and run so that parallel runs start apart.
fn free_subnet(pid: u32, run: u32) -> anyhow::Result<[u8; 3]> {
    let taken = format!(
        "{}\n{}",
        ip(&["-4", "-o", "addr", "show"])?,
        ip(&["-4", "route", "show", "table", "all"])?
    );
    let start = (pid.wrapping_mul(31).wrapping_add(run.wrapping_mul(7))) % (64 * 256);
    for i in 0..64 * 256 {
        let n = (start + i) % (64 * 256);
        let (b, c) = (180 + (n / 256) as u8 % 64, (n % 256) as u8);
        let prefix = format!("10.{b}.{c}.");
        if !taken.contains(&prefix) {
            return Ok([10, b, c]);
        }
    }
    bail!("no free 10.x.y.0/24 for the compose network")
}

/// Removes namespaces, links, /etc/netns dirs and temporary dirs named for
/// a pid that no longer runs.
fn remove_stale() {
    let dead = |pid: &str| -> bool {
        pid.parse::<u32>()
            .is_ok_and(|p| !std::path::Path::new(&format!("/proc/{p}")).exists())
    };
    let stale_ns = |name: &str| -> bool {
        name.strip_prefix("food-")
            .and_then(|rest| rest.split('-').next())
            .is_some_and(dead)
    };
    if let Ok(list) = ip(&["netns", "list"]) {
        for line in list.lines() {
            let name = line.split_whitespace().next().unwrap_or_default();
            if stale_ns(name) {
                kill_namespace_processes(name);
                let _ = ip_quiet(&["netns", "del", name]);
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir("/etc/netns") {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if stale_ns(&name) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    // The temporary dirs of runs killed before their Drop (but one kept
    // with FOOD_COMPOSE_KEEP).
    if let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name
                .strip_prefix("food-compose-")
                .and_then(|rest| rest.split('-').next())
                && dead(pid)
                && !e.path().join(".keep").exists()
            {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    if let Ok(links) = ip(&["-o", "link", "show"]) {
        for line in links.lines() {
            // "7: f1a2b-0v3@if2: <...": the name, without its peer.
            let Some(name) = line.split(": ").nth(1) else {
                continue;
            };
            let name = name.split('@').next().unwrap_or_default();
            let Some((pid_hex, rest)) = name.strip_prefix('f').and_then(|n| n.split_once('-'))
            else {
                continue;
            };
            let ours = rest
                .find(['b', 'v'])
                .is_some_and(|i| i > 0 && rest[..i].chars().all(|c| c.is_ascii_digit()));
            if ours
                && let Ok(pid) = u32::from_str_radix(pid_hex, 16)
                && dead(&pid.to_string())
            {
                let _ = ip_quiet(&["link", "del", name]);
            }
        }
    }
}
