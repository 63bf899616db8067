//! The seed flow on the compose topology, through the gateway's published
//! port, as a user of `docker compose up` would drive it; then `food-bench`
//! against that gateway, as an operator measures a deployment.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};

use crate::topology::{Options, Topology};

/// The local keys whose hashes deploy/gateway.toml holds.
const OPS: &str = "ops-local";
const CUSTOMER: &str = "customer-local";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root and network namespaces: .ci/run runs it"]
async fn the_seed_flow_runs_on_the_compose_topology() {
    let topology = Topology::up(Options::default())
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    eprintln!(
        "compose topology on {}:\n{}",
        topology.subnet(),
        topology.startup_report()
    );
    let base = topology.gateway_url();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let flow_began = Instant::now();

    // Anyone browses the seed menu; an order goes to a kitchen that
    // accepts by itself.
    let restaurants: Value = get(&http, &format!("{base}/restaurants"), None).await;
    let kitchen = restaurants["restaurants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["auto_accept"] == true && r["open"] == true)
        .expect("an open seed restaurant that accepts by itself")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let menu: Value = get(&http, &format!("{base}/menu/items"), None).await;
    let items = menu["items"].as_array().expect("a list of items");
    assert!(items.len() >= 10, "the seed menu: {} items", items.len());
    let item = items
        .iter()
        .find(|i| i["restaurant_id"] == kitchen.as_str() && i["available"] == true)
        .expect("an available item of that kitchen");

    let r = http
        .post(format!("{base}/orders"))
        .bearer_auth(CUSTOMER)
        .header("Idempotency-Key", "compose-seed-flow")
        .json(&json!({"items": [{"item_id": item["id"], "quantity": 2}], "delivery_address": "1 Compose Way"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "POST /orders: {}", r.text().await.unwrap());
    let order: Value = r.json().await.unwrap();
    let id = order["id"].as_str().unwrap().to_owned();
    assert_eq!(order["status"], "PLACED");

    // The delivery appears from the OrderPlaced event; a watcher follows it.
    eventually("the delivery exists", async || {
        let r = http
            .get(format!("{base}/delivery/status/{id}"))
            .bearer_auth(OPS)
            .send()
            .await
            .ok()?;
        r.status().is_success().then_some(())
    })
    .await;
    let stream = http
        .get(format!("{base}/delivery/status/{id}/stream"))
        .bearer_auth(CUSTOMER)
        .timeout(Duration::from_secs(120))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel::<String>();
    let watcher = tokio::spawn(async move {
        let mut body = stream.bytes_stream();
        let mut buffer = String::new();
        while let Some(Ok(chunk)) = body.next().await {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find('\n') {
                let line: String = buffer.drain(..=end).collect();
                if let Some(data) = line.trim_end().strip_prefix("data:") {
                    let d: Value = serde_json::from_str(data.trim()).unwrap();
                    let _ = seen_tx.send(d["status"].as_str().unwrap().to_owned());
                }
            }
        }
    });
    let mut watched = Vec::new();
    let mut expect = async |status: &str| {
        let got = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                let s = seen.recv().await.expect("the stream is open");
                watched.push(s.clone());
                if s == status {
                    return;
                }
            }
        })
        .await;
        assert!(got.is_ok(), "the watcher saw {watched:?}, not {status}");
    };
    expect("PENDING").await;

    // Ops put a courier on shift: dispatch assigns the delivery once the
    // kitchen has accepted; ops then move it to DELIVERED.
    let r = http
        .put(format!("{base}/couriers/courier-1/shift"))
        .bearer_auth(OPS)
        .json(&json!({"on_shift": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "courier-1 on shift");
    expect("ASSIGNED").await;
    for status in ["PICKED_UP", "IN_TRANSIT", "DELIVERED"] {
        let r = http
            .put(format!("{base}/delivery/status/{id}"))
            .bearer_auth(OPS)
            .json(&json!({"status": status}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "PUT {status}: {}", r.text().await.unwrap());
        expect(status).await;
    }
    let delivered: Value = eventually("the order is DELIVERED", async || {
        let o: Value = http
            .get(format!("{base}/orders/{id}"))
            .bearer_auth(CUSTOMER)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (o["status"] == "DELIVERED").then_some(o)
    })
    .await;
    assert_eq!(delivered["id"], id.as_str());
    watcher.abort();
    eprintln!(
        "seed flow: order {id} DELIVERED in {:.1} s; the watcher saw {watched:?}",
        flow_began.elapsed().as_secs_f64()
    );

    // The `tools` profile's one-shot foodctl, in a namespace of its own.
    let out = topology.run("foodctl", None).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "foodctl menu list: {}\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(item["name"].as_str().unwrap()),
        "foodctl menu list shows the seed menu:\n{stdout}"
    );
    eprintln!("foodctl menu list: {} lines", stdout.lines().count());

    // food-bench from the host, as an operator points it at a deployment:
    // every scenario, short runs, Kafka through the host's listener.
    let out = tokio::process::Command::new(topology.bin_dir().join("food-bench"))
        .args(["--gateway", &base, "--token", OPS])
        .args(["--kafka-brokers", &topology.kafka_bootstrap()])
        .args(["--duration", "1s", "--changes", "100", "--rates", "50,100"])
        .arg("--json")
        .output()
        .await
        .expect("running food-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "food-bench: {}\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(&stdout).expect("food-bench's JSON report");
    for row in report["menu"].as_array().expect("menu rows") {
        assert!(row["requests"].as_u64() > Some(0), "{row}");
        assert_eq!(row["errors"], 0, "{row}");
    }
    assert!(report["orders"]["requests"].as_u64() > Some(0));
    assert_eq!(report["orders"]["errors"], 0, "{}", report["orders"]);
    let live = &report["live"];
    assert_eq!(live["changes"], 100);
    for path in ["sse", "graphql", "kafka"] {
        assert_eq!(live[path]["missed"], 0, "{path}: {}", live[path]);
    }
    assert!(live["broker"]["p99_ms"].as_f64() > Some(0.0), "{live}");
    for rate in report["mixed"]["rates"].as_array().expect("mixed rates") {
        assert_eq!(rate["errors"], 0, "{rate}");
    }
    eprintln!(
        "food-bench on the compose topology: GET /menu/items {:.0} req/s, POST /orders {:.0}/s, \
         PUT → SSE p99 {:.1} ms, Kafka p99 {:.1} ms (broker {:.1} ms), mixed at 100 req/s p99 {:.1} ms",
        report["menu"][1]["per_second"].as_f64().unwrap(),
        report["orders"]["per_second"].as_f64().unwrap(),
        live["sse"]["p99_ms"].as_f64().unwrap(),
        live["kafka"]["p99_ms"].as_f64().unwrap(),
        live["broker"]["p99_ms"].as_f64().unwrap(),
        report["mixed"]["rates"][1]["latency"]["p99_ms"]
            .as_f64()
            .unwrap(),
    );
}

async fn get(http: &reqwest::Client, url: &str, key: Option<&str>) -> Value {
    let mut request = http.get(url);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let r = request.send().await.unwrap();
    assert!(r.status().is_success(), "GET {url}: {}", r.status());
    r.json().await.unwrap()
}

async fn eventually<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: not within 20 s");
}
