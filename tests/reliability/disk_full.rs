//! A full disk under the data dir: writes are refused with a clear 503,
//! never a 500 or a crash; what was acknowledged stays readable; writes
//! work again as soon as there is room, without a restart.

use std::{
    io::Write as _,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use food_bench::local::LocalStack;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::platform::{self, Load};

/// The tmpfs the data dir lives on.
const TMPFS_SIZE: &str = "size=64m";
/// Writes tried against the full disk; SQLite may still have free pages in
/// its files for the first few.
const TRIES: usize = 500;

/// A tmpfs mounted on a directory, unmounted when dropped (after the stack
/// on it is gone: declare it first).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path) -> Self {
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", TMPFS_SIZE, "tmpfs"])
            .arg(dir)
            .status()
            .expect("running mount");
        assert!(status.success(), "mount -t tmpfs needs root: {status}");
        Self(dir.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Writes zeros to `path` until the disk is full; returns the bytes written.
fn fill(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    let mut written = 0;
    loop {
        match file.write(&chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => written += n as u64,
        }
    }
    let _ = file.sync_all();
    written
}

/// One write of each kind: an order, and a reassignment of a delivery to a
/// courier other than its own.
async fn writes(
    http: &reqwest::Client,
    base: &str,
    ops: &str,
    load: &Load,
    n: usize,
) -> [(StatusCode, Value); 2] {
    let kitchen = &load.world.kitchens[0];
    let order = http
        .post(format!("{base}/orders"))
        .bearer_auth(ops)
        .json(&json!({
            "items": [{"item_id": kitchen.items[0], "quantity": 1}],
            "delivery_address": format!("{n} Full Disk Street"),
            "customer_id": "disk-full",
        }))
        .send()
        .await
        .unwrap();
    let order = (order.status(), order.json().await.unwrap_or(Value::Null));
    let delivery = format!("{base}/delivery/status/{}", load.pool.orders[0]);
    let current: Value = http
        .get(&delivery)
        .bearer_auth(ops)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let courier = load
        .world
        .couriers
        .iter()
        .find(|c| current["courier"] != c.as_str())
        .unwrap();
    let change = http
        .put(&delivery)
        .bearer_auth(ops)
        .json(&json!({"status": "ASSIGNED", "courier": courier}))
        .send()
        .await
        .unwrap();
    let change = (change.status(), change.json().await.unwrap_or(Value::Null));
    [order, change]
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root for a tmpfs (about 30 s); .ci/run runs the reliability target with --ignored"]
async fn a_full_disk_refuses_writes_with_503_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let _tmpfs = Tmpfs::mount(dir.path());
    let stack = LocalStack::launch(&platform::launch(&dir.path().join("data")))
        .await
        .unwrap();
    let load = Load::prepare(&stack).await;
    let out = load.run(3, 200.0, Duration::from_secs(5)).await;
    assert_eq!(out.errors(), 0, "{:?}", out.error_samples());
    let client = platform::client(&stack);
    let (before, _) = platform::settle(&client, Duration::from_secs(30)).await;

    let ballast = dir.path().join("ballast");
    let filled = fill(&ballast);
    let http = reqwest::Client::new();
    let base = format!("http://{}", stack.gateway);
    let ops = stack.keys.ops.clone();
    let mut refused: Vec<(StatusCode, Value)> = Vec::new();
    // Orders and status changes refused, and accepted (SQLite reuses the
    // room its files already have until a file must grow).
    let mut refused_by_kind = [0; 2];
    let mut accepted = 0;
    let mut other = Vec::new();
    for n in 0..TRIES {
        for (kind, (status, body)) in writes(&http, &base, &ops, &load, n)
            .await
            .into_iter()
            .enumerate()
        {
            match status {
                s if s.is_success() => accepted += 1,
                StatusCode::SERVICE_UNAVAILABLE => {
                    refused_by_kind[kind] += 1;
                    refused.push((status, body));
                }
                _ => other.push((status, body)),
            }
        }
        if refused.len() >= 20 {
            break;
        }
    }
    let codes: std::collections::BTreeSet<String> = refused
        .iter()
        .map(|(_, b)| b["error"]["code"].as_str().unwrap_or("none").to_owned())
        .collect();
    // Reads of what was acknowledged before the disk filled.
    let during = crate::platform::Snapshot::take(&client).await;
    let alive = std::path::Path::new(&format!("/proc/{}", stack.pid)).exists();

    std::fs::remove_file(&ballast).unwrap();
    let freed = Instant::now();
    let recovered = loop {
        let [order, change] = writes(&http, &base, &ops, &load, TRIES).await;
        if order.0.is_success() && change.0.is_success() {
            break Some(freed.elapsed());
        }
        if freed.elapsed() > Duration::from_secs(30) {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    println!(
        "disk full (tmpfs {TMPFS_SIZE}, ballast {} MiB)\n\
         writes accepted on the full disk: {accepted}, refused with 503: {} \
         ({} orders, {} status changes), other answers: {}\n\
         error codes: {codes:?}\n\
         orders readable during: {}, stack alive: {alive}\n\
         writes work again {:?} after the ballast is deleted",
        filled / (1 << 20),
        refused.len(),
        refused_by_kind[0],
        refused_by_kind[1],
        other.len(),
        during.as_ref().map_or(0, |s| s.orders.len()),
        recovered,
    );
    assert!(
        alive,
        "food-stack died on a full disk\n{}",
        stack.log_tail()
    );
    assert!(other.is_empty(), "not 2xx nor 503: {other:?}");
    assert!(!refused.is_empty(), "no write was refused on a full disk");
    assert_eq!(codes, ["unavailable".to_owned()].into(), "{refused:?}");
    let during = during.unwrap();
    for (id, order) in &before.orders {
        assert_eq!(during.orders.get(id).map(|o| &o.id), Some(&order.id));
    }
    assert!(
        recovered.is_some(),
        "writes still refused 30 s after the disk had room"
    );
    stack.stop().await.unwrap();
}
