//! The `food-stack` binary with `--kafka-brokers` on the test run's broker
//! (Apache Kafka under `FOOD_TEST_BROKER=apache-kafka`, else Tansu): it
//! starts no broker of its own, says so, takes an order through to its
//! delivery, and stops cleanly on SIGTERM; and it keeps running when
//! nobody reads its stdout.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use food_broker::{Storage, testing::TestBroker};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn food_stack_with_kafka_brokers_runs_an_order_on_that_broker_and_stops_on_sigterm() {
    let broker = TestBroker::start("127.0.0.1:0".parse().unwrap(), Storage::Memory)
        .await
        .expect("the test broker starts");
    let data = tempfile::tempdir().unwrap();
    let any = "127.0.0.1:0";
    let mut child = food_stack_on(&broker, data.path(), [any; 4]);

    // Its ready lines: the broker it was given, then each part's address.
    let lines = ready_lines(&mut child).await;
    assert!(
        lines.last().is_some_and(|l| l.starts_with("gateway ")),
        "food-stack is ready within 2 minutes: {lines:?}"
    );
    assert_eq!(
        lines[0],
        format!("broker           ready  {} (external)", broker.bootstrap()),
        "{lines:?}"
    );
    assert!(
        !data.path().join("broker.db").exists(),
        "no embedded broker ran"
    );
    let gateway = ready_addr(&lines, "gateway");

    // An order, placed with the local customer key, gets its delivery.
    let keys: Value = serde_json::from_str(
        &std::fs::read_to_string(data.path().join("local-keys.json")).unwrap(),
    )
    .unwrap();
    let customer = keys["customers"]
        .as_object()
        .and_then(|c| c.values().next())
        .and_then(Value::as_str)
        .expect("a local customer key");
    let http = reqwest::Client::new();
    let r = http
        .post(format!("http://{gateway}/orders"))
        .bearer_auth(customer)
        .json(&json!({
            "items": [{"item_id": "margherita", "quantity": 2}],
            "delivery_address": "12 Rue de la Paix",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let order: Value = r.json().await.unwrap();
    let id = order["id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let delivery = loop {
        let r = http
            .get(format!("http://{gateway}/delivery/status/{id}"))
            .bearer_auth(keys["ops"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            break r.json::<Value>().await.unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "no delivery for {id} after 20 s: {}",
            r.status()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(delivery["status"], "PENDING");

    stop_with_sigterm(child).await;
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn food_stack_keeps_running_when_its_stdout_is_closed() {
    let broker = TestBroker::start("127.0.0.1:0".parse().unwrap(), Storage::Memory)
        .await
        .expect("the test broker starts");
    let data = tempfile::tempdir().unwrap();
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .to_string()
    };
    let gateway = free();
    let mut child = food_stack_on(&broker, data.path(), [&gateway, &free(), &free(), &free()]);
    // As `food-stack | head -0`: nobody reads its ready lines.
    drop(child.stdout.take());

    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let up = http.get(format!("http://{gateway}/readyz")).send().await;
        if up.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "food-stack exited");
        assert!(
            Instant::now() < deadline,
            "food-stack not ready within 2 minutes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Its ready lines are written after /readyz answers; give them time.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        child.try_wait().unwrap(),
        None,
        "food-stack died writing to a closed stdout"
    );
    let status = http
        .get(format!("http://{gateway}/healthz"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);

    stop_with_sigterm(child).await;
    broker.stop().await;
}

/// `food-stack` on `broker` with its data in `data` and its gateway, menu,
/// order and delivery addresses, stdout piped and no foodctl contexts.
fn food_stack_on(broker: &TestBroker, data: &Path, addrs: [&str; 4]) -> Child {
    food_stack_command(broker, data, addrs)
        .spawn()
        .expect("food-stack starts")
}

/// The command [`food_stack_on`] runs, for tests that add flags or
/// variables.
pub(crate) fn food_stack_command(broker: &TestBroker, data: &Path, addrs: [&str; 4]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_food-stack"));
    command
        .arg("--data-dir")
        .arg(data)
        .args(["--kafka-brokers", &broker.bootstrap()])
        .args(["--gateway-addr", addrs[0], "--menu-addr", addrs[1]])
        .args(["--order-addr", addrs[2], "--delivery-addr", addrs[3]])
        .arg("--no-contexts")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped());
    command
}

/// `child`'s ready lines, up to the gateway's (at most 2 minutes). A thread
/// keeps reading to the end, so that food-stack's later lines do not meet
/// a closed pipe.
pub(crate) async fn ready_lines(child: &mut Child) -> Vec<String> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    tokio::task::spawn_blocking(move || {
        let mut lines = Vec::new();
        while let Ok(line) = rx.recv_timeout(Duration::from_secs(300)) {
            let done = line.starts_with("gateway ");
            lines.push(line);
            if done {
                break;
            }
        }
        lines
    })
    .await
    .unwrap()
}

/// The address on `part`'s ready line.
pub(crate) fn ready_addr(lines: &[String], part: &str) -> String {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(part))
        .and_then(|rest| rest.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("a {part} ready line in {lines:?}"))
        .to_owned()
}

/// SIGTERM stops every part and exits 0, within 30 s.
pub(crate) async fn stop_with_sigterm(mut child: Child) {
    let pid = child.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(sent.success());
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap());
    let status = tokio::time::timeout(Duration::from_secs(30), status)
        .await
        .expect("food-stack stops within 30 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "food-stack exited with {status}");
}
