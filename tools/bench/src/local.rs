//! `--local`: a `food-stack` of the bench's own, on a fresh data dir and
//! free ports, stopped (SIGTERM) at the end. Its stdout tells when it is
//! ready; its log goes to `stack.log` beside the data dir, shown when it
//! fails. Tests start one with [`Launch`] to restart it or kill it.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use anyhow::{Context as _, bail};
use serde::Deserialize;
use tokio::io::AsyncBufReadExt;

const BIN: &str = "food-stack";
/// A cold start creates topics and databases and seeds the menu.
const READY_WITHIN: Duration = Duration::from_secs(120);

/// The keys `food-stack` writes to `<data dir>/local-keys.json`.
#[derive(Clone, Debug, Deserialize)]
pub struct LocalKeys {
    pub ops: String,
    #[serde(default)]
    pub customers: BTreeMap<String, String>,
}

/// How to start a food-stack: [`LocalStack::start`] takes a fresh data dir
/// of its own; tests that restart a stack on the same data dir, or run it
/// on a broker of their own, say so here.
#[derive(Clone, Debug)]
pub struct Launch {
    /// [default: [`find_binary`]]
    pub binary: Option<PathBuf>,
    pub data_dir: PathBuf,
    /// Deletes the data dir first (`--fresh`).
    pub fresh: bool,
    /// An external broker (`--kafka-brokers`) instead of the embedded one.
    pub kafka_brokers: Option<String>,
    /// Settings of the parts (`FOOD_<PART>__*`).
    pub env: Vec<(String, String)>,
}

impl Launch {
    /// The stack on `data_dir` as it is, with its embedded broker.
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            binary: None,
            data_dir,
            fresh: false,
            kafka_brokers: None,
            env: Vec::new(),
        }
    }
}

pub struct LocalStack {
    pub gateway: SocketAddr,
    pub kafka_brokers: String,
    pub keys: LocalKeys,
    pub pid: u32,
    child: tokio::process::Child,
    log: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl LocalStack {
    /// Starts `binary` (or the one [`find_binary`] finds) on a fresh data
    /// dir under `parent` (else the system's temp dir).
    pub async fn start(binary: Option<PathBuf>, parent: Option<&Path>) -> anyhow::Result<Self> {
        let dir = match parent {
            Some(p) => {
                std::fs::create_dir_all(p)?;
                tempfile::Builder::new()
                    .prefix("food-bench-")
                    .tempdir_in(p)?
            }
            None => tempfile::Builder::new().prefix("food-bench-").tempdir()?,
        };
        let launch = Launch {
            binary,
            fresh: true,
            ..Launch::new(dir.path().join("data"))
        };
        let mut stack = Self::launch(&launch).await?;
        stack._dir = Some(dir);
        Ok(stack)
    }

    /// Starts a food-stack as `launch` says; its log goes to `stack.log`
    /// beside the data dir, appended to, so a restart keeps the log of the
    /// run before it.
    pub async fn launch(launch: &Launch) -> anyhow::Result<Self> {
        let binary = match &launch.binary {
            Some(b) => b.clone(),
            None => find_binary()?,
        };
        let data = &launch.data_dir;
        let log = data.with_file_name("stack.log");
        // Five free ports, held together while chosen: one listener
        // dropped before the next is bound may hand its port out again
        // (two parts on one port, the second failing to bind).
        let held = (0..5)
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
            .collect::<std::io::Result<Vec<_>>>()?;
        let mut ports = held
            .iter()
            .map(|l| l.local_addr().map(|a| a.to_string()))
            .collect::<std::io::Result<Vec<_>>>()?
            .into_iter();
        drop(held);
        let mut port = || ports.next().unwrap();
        let mut command = tokio::process::Command::new(&binary);
        command
            .arg("--data-dir")
            .arg(data)
            .arg("--no-contexts")
            .args(["--gateway-addr", &port()])
            .args(["--menu-addr", &port()])
            .args(["--order-addr", &port()])
            .args(["--delivery-addr", &port()])
            .args(["--broker-addr", &port()])
            // Its own settings only: an operator's FOOD_* variables are for
            // their deployment, not this one.
            .env_remove("FOOD_DATA_DIR")
            .env_remove("FOOD_KAFKA_BROKERS")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&log)?,
            )
            .kill_on_drop(true);
        if launch.fresh {
            command.arg("--fresh");
        }
        if let Some(brokers) = &launch.kafka_brokers {
            command.args(["--kafka-brokers", brokers]);
        }
        for (k, _) in std::env::vars() {
            if k.starts_with("FOOD_") && k.contains("__") {
                command.env_remove(k);
            }
        }
        command.envs(launch.env.iter().map(|(k, v)| (k, v)));
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let pid = child.id().context("food-stack exited at once")?;
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut gateway = None;
        let mut kafka = None;
        let ready = tokio::time::timeout(READY_WITHIN, async {
            while let Some(line) = lines.next_line().await? {
                let mut words = line.split_whitespace();
                match (words.next(), words.next(), words.next()) {
                    (Some("broker"), Some("ready"), Some(addr)) => kafka = Some(addr.to_owned()),
                    (Some("gateway"), Some("ready"), Some(addr)) => {
                        gateway = Some(addr.parse::<SocketAddr>()?);
                        return anyhow::Ok(());
                    }
                    _ => {}
                }
            }
            bail!("food-stack exited before it was ready")
        })
        .await;
        let failed = match ready {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some(format!("not ready within {} s", READY_WITHIN.as_secs())),
        };
        if let Some(why) = failed {
            let _ = child.start_kill();
            bail!("{}: {why}\n{}", binary.display(), tail(&log));
        }
        // Keep reading stdout so the stack never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let keys_file = data.join("local-keys.json");
        let keys: LocalKeys = serde_json::from_slice(
            &std::fs::read(&keys_file)
                .with_context(|| format!("reading {}", keys_file.display()))?,
        )
        .with_context(|| format!("reading {}", keys_file.display()))?;
        Ok(Self {
            gateway: gateway.unwrap(),
            kafka_brokers: kafka.context("food-stack did not say where its broker is")?,
            keys,
            pid,
            child,
            log,
            _dir: None,
        })
    }

    /// SIGKILL, as a crash or the OOM killer would stop it; waits for it to
    /// be gone. Its embedded broker exits when its stdin closes.
    pub async fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill().await?;
        Ok(())
    }

    /// The last lines of the stack's log, to show beside a failure.
    pub fn log_tail(&self) -> String {
        tail(&self.log)
    }

    /// SIGTERM, then up to 20 s for a clean stop.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        match tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => bail!("food-stack stopped with {status}\n{}", tail(&self.log)),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => {
                let _ = self.child.start_kill();
                bail!("food-stack did not stop within 20 s of SIGTERM")
            }
        }
    }
}

/// The last lines of the stack's log.
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(20);
    format!(
        "last lines of {}:\n{}",
        log.display(),
        lines[from..].join("\n")
    )
}

/// `FOOD_STACK_BIN`, else `food-stack` beside this binary (cargo puts them
/// together), else on the PATH. Run by cargo (`cargo run -p food-bench`),
/// it first builds `food-stack` and the broker it starts in this binary's
/// profile, a no-op when they are up to date, so a changed stack is never
/// measured stale (the food-stack it starts is not run by cargo, so it
/// builds nothing of its own). Tests pass
/// `FOOD_STACK_BIN`: a build from inside a test would use other features,
/// and a food-bench a test starts is not run by cargo
/// ([`food_broker::cargo_run`]).
pub fn find_binary() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("FOOD_STACK_BIN") {
        return Ok(PathBuf::from(p));
    }
    if let Some(cargo) = food_broker::cargo_run() {
        food_broker::cargo_build(
            &cargo,
            &[("food-stack", BIN), ("food-broker-server", "food-broker")],
        )
        .map_err(anyhow::Error::msg)?;
    }
    if let Some(p) = food_broker::beside_this_exe(BIN) {
        return Ok(p);
    }
    if let Some(path) = std::env::var_os("PATH")
        && let Some(p) = std::env::split_paths(&path)
            .map(|d| d.join(BIN))
            .find(|p| p.is_file())
    {
        return Ok(p);
    }
    bail!(
        "cannot find the `{BIN}` binary; build it (`cargo build --release -p food-stack`), \
         put it on the PATH, or pass --stack-bin"
    )
}

/// For tests: the binary the environment variable `var` names
/// (`FOOD_STACK_BIN=target/release/food-stack` runs a suite on release
/// binaries), else `name` as cargo built it beside the test
/// (`cargo test --workspace` builds them all). Panics with what to do when
/// neither is there.
pub fn test_binary(var: &str, name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(var) {
        let path = PathBuf::from(path);
        assert!(path.is_file(), "{var}={} is not a file", path.display());
        return path;
    }
    food_broker::beside_this_exe(name).unwrap_or_else(|| {
        panic!("{name} is missing: build it with `cargo build --workspace` or set {var}")
    })
}
