//! Starting a real stack in-process (embedded broker, menu, order, delivery,
//! gateway on free ports with SQLite in a tempdir) and running the real
//! `foodctl` binary against it.
//!
//! [`start_stack`] starts the platform with `food_stack::testing`, on an
//! in-memory broker; it runs on a thread and runtime of its own, so tests
//! stay plain synchronous `assert_cmd` tests.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, ChildStdout, Stdio},
    sync::{OnceLock, mpsc},
    time::{Duration, Instant},
};

use assert_cmd::Command;
use food_stack::testing::TestStack;
use serde_json::Value;
use tempfile::TempDir;

/// A running stack and the keys to use it.
pub struct Stack {
    /// `http://127.0.0.1:PORT` of the gateway.
    pub gateway: String,
    /// Kafka bootstrap servers of the test's broker.
    pub brokers: String,
    /// Prefix of this stack's topic names.
    pub prefix: String,
    pub ops_key: String,
    /// `courier-1`'s key.
    pub courier_key: String,
    /// `courier-2`'s key.
    pub courier2_key: String,
    /// The kitchen of [`KITCHEN`], which accepts orders by hand.
    pub kitchen_key: String,
    /// The kitchen of [`OTHER_KITCHEN`].
    pub other_kitchen_key: String,
    pub customer_key: String,
    pub customer_id: String,
    pub other_customer_key: String,
    /// `XDG_CONFIG_HOME` for foodctl, so no test reads the user's contexts.
    pub config_home: TempDir,
    /// Torn down in order when dropped.
    _platform: TestStack,
}

/// A seed restaurant that accepts orders by hand (300 s to answer).
pub const KITCHEN: &str = "maison-tandoor";
/// Another one; its key must not reach [`KITCHEN`]'s orders.
pub const OTHER_KITCHEN: &str = "le-bouchon-des-halles";
/// A seed restaurant that accepts orders at once.
pub const AUTO_KITCHEN: &str = "trattoria-da-luca";

/// One stack shared by the tests that only read or touch their own orders.
pub fn shared_stack() -> &'static Stack {
    static STACK: OnceLock<Stack> = OnceLock::new();
    STACK.get_or_init(start_stack)
}

fn key(role: &str) -> String {
    format!("test-{role}-{}", uuid::Uuid::now_v7().simple())
}

/// Starts a fresh stack (`food_stack::testing`) with the test keys; it
/// stops when the returned value is dropped.
pub fn start_stack() -> Stack {
    let ops_key = key("ops");
    let courier_key = key("courier");
    let courier2_key = key("courier2");
    let kitchen_key = key("kitchen");
    let other_kitchen_key = key("kitchen2");
    let customer_key = key("customer");
    let customer_id = format!("cust-{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
    let other_customer_key = key("customer2");
    let platform = TestStack::builder()
        .ops_key(&ops_key)
        .courier_key(&courier_key)
        .courier_key_for(&courier2_key, "courier-2")
        .restaurant_key(&kitchen_key, KITCHEN)
        .restaurant_key(&other_kitchen_key, OTHER_KITCHEN)
        .customer_key(&customer_key, &customer_id)
        .customer_key(&other_customer_key, "cust-other")
        .start_blocking();
    Stack {
        gateway: platform.gateway_url(),
        brokers: platform.brokers.clone(),
        prefix: platform.prefix.clone(),
        ops_key,
        courier_key,
        courier2_key,
        kitchen_key,
        other_kitchen_key,
        customer_key,
        customer_id,
        other_customer_key,
        config_home: tempfile::tempdir().expect("a config dir"),
        _platform: platform,
    }
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

/// An item of `restaurant` that can be ordered now.
pub fn item_of(stack: &Stack, restaurant: &str) -> String {
    let v = json(
        stack,
        &stack.ops_key,
        &["menu", "list", "--available", "--restaurant", restaurant],
    );
    v["items"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("an available item of {restaurant}"))
        .to_owned()
}

/// Places an order of one `item` as `key`'s customer and returns it.
pub fn order_of(stack: &Stack, key: &str, item: &str) -> Value {
    json(
        stack,
        key,
        &[
            "order",
            "create",
            "--item",
            item,
            "--address",
            "1 Test Street",
        ],
    )
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
