//! Starts the local Kafka-compatible broker (`food-broker`, Tansu 0.6.0) as
//! a child process, for `food-stack` and the tests.
//!
//! The broker runs in its own process because Tansu's SQLite storage and the
//! services' sqlx SQLite both bundle SQLite's C symbols, which cannot be
//! linked into one binary (see docs/broker.md). The child exits when this
//! process goes away (it watches its stdin), so nothing is left running.
//!
//! [`apache`] starts Apache Kafka (KRaft) from its Maven Central jars, and
//! [`testing`] gives each test the broker `FOOD_TEST_BROKER` names, so that
//! the suite runs against both engines.

pub mod apache;
pub mod testing;

use std::{
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use anyhow::{Context, bail};
use rdkafka::{
    ClientConfig,
    consumer::{BaseConsumer, Consumer},
};
use tokio::process::{Child, Command};

/// Where the broker keeps its log.
#[derive(Clone, Debug)]
pub enum Storage {
    /// In memory; lost when the broker stops.
    Memory,
    /// A SQLite file (created if missing); kept across restarts.
    Sqlite(PathBuf),
}

/// mimalloc's switch for transparent huge pages, set to 0 for the broker.
const THP_OPTION: &str = "MIMALLOC_ALLOW_THP";

/// A running broker process. Stop it with [`EmbeddedBroker::stop`]; dropping
/// it kills the process too.
#[derive(Debug)]
pub struct EmbeddedBroker {
    addr: SocketAddr,
    child: Child,
}

impl EmbeddedBroker {
    /// Starts a broker on `addr` (port 0 picks a free port) and waits until
    /// it answers a metadata request.
    pub async fn start(addr: SocketAddr, storage: Storage) -> anyhow::Result<Self> {
        Self::start_with(&broker_binary()?, addr, storage).await
    }

    /// As [`EmbeddedBroker::start`], with the binary given.
    pub async fn start_with(
        bin: &Path,
        addr: SocketAddr,
        storage: Storage,
    ) -> anyhow::Result<Self> {
        let addr = if addr.port() == 0 {
            TcpListener::bind(addr)
                .and_then(|l| l.local_addr())
                .with_context(|| format!("finding a free port on {addr}"))?
        } else {
            addr
        };
        if !addr.is_ipv4() {
            bail!("the broker listens on IPv4 only, not {addr}");
        }
        let storage_arg = match &storage {
            Storage::Memory => "memory".to_owned(),
            Storage::Sqlite(p) => std::path::absolute(p)?.display().to_string(),
        };
        let mut command = Command::new(bin);
        // Under load the broker's allocator kept faulting in fresh
        // transparent huge pages, each zeroed whole (2.6 % of both cores):
        // without them the broker took 8 % less CPU per order
        // (docs/benchmarks.md). A value set by the caller stands.
        if std::env::var_os(THP_OPTION).is_none() {
            command.env(THP_OPTION, "0");
        }
        let child = command
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--storage")
            .arg(&storage_arg)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            // Its own process group: Ctrl-C in a terminal reaches the parent,
            // which stops its Kafka clients before it stops the broker.
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let mut this = Self { addr, child };
        this.wait_ready(Duration::from_secs(30)).await?;
        Ok(this)
    }

    /// `host:port` for `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        self.addr.to_string()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the broker (SIGKILL: SQLite storage is durable at every commit,
    /// so this is also how tests simulate a crash) and waits for it to exit.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }

    async fn wait_ready(&mut self, patience: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "the broker on {} exited while starting ({status})",
                    self.addr
                );
            }
            if tokio::net::TcpStream::connect(self.addr).await.is_ok() {
                let b = self.bootstrap();
                let ok = tokio::task::spawn_blocking(move || broker_ids(&b)).await?;
                if ok.is_some() {
                    return Ok(());
                }
            }
            if tokio::time::Instant::now() > deadline {
                bail!(
                    "the broker on {} did not answer within {patience:?}",
                    self.addr
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The ids of the brokers a metadata request to `bootstrap` lists, or
/// `None` when no answer came within 2 s (a blocking call).
pub(crate) fn broker_ids(bootstrap: &str) -> Option<Vec<i32>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("broker.address.family", "v4")
        .create()
        .ok()?;
    let metadata = consumer.fetch_metadata(None, Duration::from_secs(2)).ok()?;
    Some(metadata.brokers().iter().map(|b| b.id()).collect())
}

const BIN: &str = "food-broker";

/// Finds the `food-broker` binary: `FOOD_BROKER_BIN`, next to this
/// executable (or its `deps/` parent, for tests and benches), then `PATH`.
///
/// Under `cargo run` the binary is built or brought up to date first (a
/// no-op when nothing changed), so a change to the broker's sources is never
/// run stale. Tests and benches (executables in `deps/`) only build a missing
/// one: `cargo test --workspace` has just built it, and a `cargo build -p`
/// from inside a test would build the broker again with other features,
/// which on a cold cache could outlast a test's time limit. A process a test
/// starts (a `food-stack`) builds nothing either: see [`cargo_run`].
pub fn broker_binary() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("FOOD_BROKER_BIN") {
        return Ok(PathBuf::from(p));
    }
    let cargo = cargo_run();
    let test_or_bench = in_deps_dir();
    if let Some(cargo) = cargo.as_deref()
        && !test_or_bench
    {
        // `cargo run`: bring it up to date.
        if let Err(e) = build_with_cargo(cargo) {
            tracing::warn!(error = %e, "could not build food-broker with cargo; looking for one already built");
        }
    }
    let found = beside_this_exe(BIN).or_else(|| {
        std::env::var_os("PATH")
            .into_iter()
            .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
            .map(|d| d.join(BIN))
            .find(|p| p.is_file())
    });
    if let Some(p) = found {
        return Ok(p);
    }
    if let Some(cargo) = cargo.as_deref()
        && test_or_bench
    {
        // A test or bench: build the missing binary.
        build_with_cargo(cargo).map_err(anyhow::Error::msg)?;
        if let Some(p) = beside_this_exe(BIN) {
            return Ok(p);
        }
    }
    bail!(
        "cannot find the `{BIN}` binary; build it with `cargo build -p food-broker-server` \
         or set FOOD_BROKER_BIN"
    )
}

/// The cargo this process was started by (`cargo run`, `cargo test`,
/// `cargo bench`), or `None`.
///
/// Cargo puts its own path in `CARGO`, but every process started below it
/// inherits that: a `food-stack` a test starts would take itself for
/// `cargo run` and build its parts again with one package's features (and
/// the next `cargo test --workspace` would build them back). So on Linux the
/// parent process must be cargo itself; elsewhere `CARGO` alone decides.
pub fn cargo_run() -> Option<PathBuf> {
    let cargo = PathBuf::from(std::env::var_os("CARGO")?);
    parent_is_cargo(&cargo).unwrap_or(true).then_some(cargo)
}

/// Whether the parent process runs `cargo` (by its executable's name: a
/// rustup proxy execs the toolchain's cargo); `None` where `/proc` does not
/// say.
fn parent_is_cargo(cargo: &Path) -> Option<bool> {
    let parent = std::os::unix::process::parent_id();
    let exe = std::fs::read_link(format!("/proc/{parent}/exe")).ok()?;
    Some(
        exe.file_stem()
            .is_some_and(|stem| Some(stem) == cargo.file_stem()),
    )
}

/// Whether this executable is a test or bench (cargo puts those in `deps/`).
fn in_deps_dir() -> bool {
    std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.ends_with("deps")))
        .unwrap_or(false)
}

/// `cargo build -p food-broker-server --bin food-broker`.
fn build_with_cargo(cargo: &Path) -> Result<(), String> {
    cargo_build(cargo, &[("food-broker-server", BIN)])
}

/// `cargo build -p <package> --bin <bin>` for each pair, in the profile this
/// executable was built in; cargo's progress goes to stderr. For a program
/// [`cargo_run`] says cargo started, to bring the binaries it starts up to
/// date.
pub fn cargo_build(cargo: &Path, bins: &[(&str, &str)]) -> Result<(), String> {
    let release = std::env::current_exe()
        .ok()
        .is_some_and(|e| e.components().any(|c| c.as_os_str() == "release"));
    let mut cmd = std::process::Command::new(cargo);
    cmd.arg("build");
    for (package, bin) in bins {
        cmd.args(["-p", package, "--bin", bin]);
    }
    if release {
        cmd.arg("--release");
    }
    let names = bins
        .iter()
        .map(|(_, bin)| *bin)
        .collect::<Vec<_>>()
        .join(", ");
    match cmd.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("cargo build of {names} failed: {status}")),
        Err(e) => Err(format!("running cargo: {e}")),
    }
}

/// The binary `name` cargo built beside this executable: in its directory,
/// or, for a test or bench (in `deps/`), in the one above.
pub fn beside_this_exe(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    [Some(dir), dir.parent().filter(|_| dir.ends_with("deps"))]
        .into_iter()
        .flatten()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    const PROBE: &str = "FOOD_PROBE_CARGO_RUN";

    /// A process a test starts (as food-stack is) inherits cargo's `CARGO`
    /// but was not started by cargo, so it builds nothing.
    #[test]
    fn a_process_a_test_starts_is_not_cargo_run() {
        if std::env::var_os(PROBE).is_some() {
            println!("cargo_run: {:?}", super::cargo_run());
            return;
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "tests::a_process_a_test_starts_is_not_cargo_run",
                "--exact",
                "--nocapture",
            ])
            .env(PROBE, "1")
            .env("CARGO", std::env::var_os("CARGO").unwrap_or("cargo".into()))
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&out.stdout);
        assert!(out.contains("cargo_run: None"), "the child says: {out}");
    }
}
