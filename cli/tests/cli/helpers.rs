//! Starting a real stack in-process (embedded broker, menu, order, delivery,
//! gateway on free ports with SQLite in a tempdir) and running the real
//! `foodctl` binary against it.
//!
//! [`start_stack`] starts the platform with `food-stack`'s own start
//! function, on an in-memory broker. The stack runs on its own thread and
//! runtime, so tests stay plain synchronous `assert_cmd` tests.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, ChildStdout, Stdio},
    sync::{OnceLock, mpsc},
    time::{Duration, Instant},
};

use assert_cmd::Command;
use food_broker::{Storage, testing::TestBroker};
use food_gateway::{ApiKey, Role};
use food_kit::Shutdown;
use serde_json::Value;
use tempfile::TempDir;

/// A running stack and the keys to use it.
pub struct Stack {
    /// `http://127.0.0.1:PORT` of the gateway.
    pub gateway: String,
    /// Kafka bootstrap servers of the embedded broker.
    pub brokers: String,
    /// Prefix of this stack's topic names.
    pub prefix: String,
    pub ops_key: String,
    pub courier_key: String,
    pub customer_key: String,
    pub customer_id: String,
    pub other_customer_key: String,
    /// `XDG_CONFIG_HOME` for foodctl, so no test reads the user's contexts.
    pub config_home: TempDir,
    shutdown: Shutdown,
    _data: TempDir,
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

/// One stack shared by the tests that only read or touch their own orders.
pub fn shared_stack() -> &'static Stack {
    static STACK: OnceLock<Stack> = OnceLock::new();
    STACK.get_or_init(start_stack)
}

fn key(role: &str) -> String {
    format!("test-{role}-{}", uuid::Uuid::now_v7().simple())
}

/// Starts a fresh stack; it stops when the returned value is dropped.
pub fn start_stack() -> Stack {
    let data = tempfile::tempdir().expect("a data dir");
    let data_dir = data.path().to_owned();
    let shutdown = Shutdown::new();
    let prefix = food_kit::testing::unique_prefix();
    let keys = Keys {
        ops: key("ops"),
        courier: key("courier"),
        customer: key("customer"),
        customer_id: format!("cust-{}", &uuid::Uuid::now_v7().simple().to_string()[20..]),
        other_customer: key("customer2"),
    };
    let (tx, rx) = mpsc::channel();
    {
        let shutdown = shutdown.clone();
        let prefix = prefix.clone();
        let keys = keys.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime");
            rt.block_on(async move {
                let started = run_pieces(&data_dir, &prefix, &keys, shutdown.clone()).await;
                let (stack, broker) = match started {
                    Ok((stack, broker)) => {
                        let _ = tx.send(Ok((
                            format!("http://{}", stack.gateway),
                            broker.bootstrap(),
                        )));
                        (stack, broker)
                    }
                    Err(e) => {
                        let _ = tx.send(Err(format!("{e:#}")));
                        return;
                    }
                };
                shutdown.cancelled().await;
                let _ = stack.wait().await;
                broker.stop().await;
            });
        });
    }
    let (gateway, brokers) = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the stack starts within 2 minutes")
        .unwrap_or_else(|e| panic!("starting the stack: {e}"));
    let config_home = tempfile::tempdir().expect("a config dir");
    Stack {
        gateway,
        brokers,
        prefix,
        ops_key: keys.ops,
        courier_key: keys.courier,
        customer_key: keys.customer,
        customer_id: keys.customer_id,
        other_customer_key: keys.other_customer,
        config_home,
        shutdown,
        _data: data,
    }
}

#[derive(Clone)]
struct Keys {
    ops: String,
    courier: String,
    customer: String,
    customer_id: String,
    other_customer: String,
}

/// The platform as `food-stack` starts it, on an in-memory broker of its
/// own, with the test keys.
async fn run_pieces(
    data_dir: &Path,
    prefix: &str,
    keys: &Keys,
    shutdown: Shutdown,
) -> anyhow::Result<(food_stack::Stack, TestBroker)> {
    let broker = TestBroker::start("127.0.0.1:0".parse()?, Storage::Memory).await?;
    let mut config = food_stack::Config::for_tests(data_dir.to_owned());
    config.kafka_brokers = Some(broker.bootstrap());
    config.topic_prefix = prefix.to_owned();
    config.gateway.api_keys = vec![
        ApiKey::new(&keys.ops, Role::Ops, None),
        ApiKey::new(&keys.courier, Role::Courier, None),
        ApiKey::new(&keys.customer, Role::Customer, Some(&keys.customer_id)),
        ApiKey::new(&keys.other_customer, Role::Customer, Some("cust-other")),
    ];
    let stack = food_stack::Stack::start(config, shutdown).await?;
    Ok((stack, broker))
}

/// `foodctl` with a private config dir and no colour; no gateway or token.
pub fn bare_foodctl(config_home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("foodctl").expect("the foodctl binary");
    cmd.env("XDG_CONFIG_HOME", config_home)
        .env("NO_COLOR", "1")
        .env_remove("FOODCTL_GATEWAY")
        .env_remove("FOODCTL_TOKEN")
        .env_remove("FOODCTL_CONTEXT")
        .env_remove("FOOD_KAFKA_BROKERS")
        .timeout(Duration::from_secs(120));
    cmd
}

/// `foodctl` pointed at `stack` with `key`.
pub fn foodctl(stack: &Stack, key: &str) -> Command {
    let mut cmd = bare_foodctl(stack.config_home.path());
    cmd.env("FOODCTL_GATEWAY", &stack.gateway)
        .env("FOODCTL_TOKEN", key);
    cmd
}

/// Runs `foodctl ... -o json` and parses its stdout, asserting success.
pub fn json(stack: &Stack, key: &str, args: &[&str]) -> Value {
    let out = foodctl(stack, key)
        .args(args)
        .args(["-o", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "foodctl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// The id of an item that can be ordered now.
pub fn available_item(stack: &Stack) -> String {
    let v = json(
        stack,
        &stack.ops_key,
        &["menu", "list", "--available", "--limit", "5"],
    );
    v["items"][0]["id"]
        .as_str()
        .expect("an available item")
        .to_owned()
}

/// Places an order as `key`'s customer and returns its id.
pub fn place_order(stack: &Stack, key: &str) -> String {
    let item = available_item(stack);
    let v = json(
        stack,
        key,
        &[
            "order",
            "create",
            "--item",
            &format!("{item}:2"),
            "--address",
            "1 Test Street",
        ],
    );
    v["id"].as_str().expect("an order id").to_owned()
}

/// Waits until the order's delivery exists (it is created from an event).
pub fn wait_for_delivery(stack: &Stack, order_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = foodctl(stack, &stack.ops_key)
            .args(["delivery", "status", order_id, "-o", "json"])
            .output()
            .unwrap();
        if out.status.success() {
            return serde_json::from_slice(&out.stdout).unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "no delivery for {order_id} within 20s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A running `foodctl` whose stdout is read line by line.
pub struct Running {
    pub child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    /// Starts `foodctl args` against `stack` as `key`.
    pub fn spawn(stack: &Stack, key: &str, args: &[&str]) -> Self {
        let path: PathBuf = assert_cmd::cargo::cargo_bin("foodctl");
        let mut child = std::process::Command::new(path)
            .args(args)
            .env("XDG_CONFIG_HOME", stack.config_home.path())
            .env("NO_COLOR", "1")
            .env("FOODCTL_GATEWAY", &stack.gateway)
            .env("FOODCTL_TOKEN", key)
            .env_remove("FOODCTL_CONTEXT")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawning foodctl");
        let stdout: ChildStdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// The next line of stdout, or a panic after `patience`.
    pub fn next_line(&self, patience: Duration) -> String {
        self.lines
            .recv_timeout(patience)
            .unwrap_or_else(|_| panic!("no output line within {patience:?}"))
    }

    /// Waits for the process to end and returns its exit code.
    pub fn wait(mut self, patience: Duration) -> i32 {
        let deadline = Instant::now() + patience;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("foodctl did not end within {patience:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
