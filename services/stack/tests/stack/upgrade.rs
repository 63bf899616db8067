//! A data dir written by the release before restaurants
//! (tests/fixtures/data-dir-0.1.0, see its README) starts with today's
//! `food-stack`: its menu moves to the `house-kitchen` restaurant, the seed's
//! restaurants join it, its orders and deliveries read with no restaurant
//! rather than fail and still move, and new orders carry their restaurant.
//! Its keys file gains the couriers' and kitchens' keys, its one courier
//! key becoming `courier-1`'s.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::external_kafka::{ready_addr, ready_lines, stop_with_sigterm};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/data-dir-0.1.0");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_dir_of_the_release_before_restaurants_starts_and_keeps_its_orders() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    copy_dir(Path::new(FIXTURE), &data);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_food-stack"))
        .arg("--data-dir")
        .arg(&data)
        .args([
            "--gateway-addr",
            "127.0.0.1:0",
            "--menu-addr",
            "127.0.0.1:0",
        ])
        .args([
            "--order-addr",
            "127.0.0.1:0",
            "--delivery-addr",
            "127.0.0.1:0",
        ])
        .args(["--broker-addr", "127.0.0.1:0", "--no-contexts"])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("food-stack starts");
    let lines = ready_lines(&mut child).await;
    assert!(
        lines.last().is_some_and(|l| l.starts_with("gateway ")),
        "the upgraded data dir starts: {lines:?}"
    );
    let api = Api {
        base: format!("http://{}", ready_addr(&lines, "gateway")),
        http: reqwest::Client::new(),
        ops: local_key(&data, "ops"),
    };

    // The old menu is one restaurant's; the seed's restaurants joined it.
    let kitchen = api.get("/restaurants/house-kitchen").await;
    assert_eq!(kitchen["name"], "House Kitchen", "{kitchen}");
    let menu = api.get("/restaurants/house-kitchen/menu?limit=1000").await;
    let old_items: Vec<&str> = menu["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        old_items.len(),
        55,
        "54 seeded and one imported: {old_items:?}"
    );
    assert!(old_items.contains(&"house-lasagne") && old_items.contains(&"margherita"));
    let restaurants = api.get("/restaurants?limit=100").await;
    let count = restaurants["restaurants"].as_array().unwrap().len();
    assert!(count >= 9, "house-kitchen and the seed's: {restaurants}");

    // The three old orders read as they were, with no restaurant.
    let orders = api.get("/orders?limit=100").await;
    let orders = orders["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 3, "{orders:?}");
    let mut statuses: Vec<&str> = orders
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    statuses.sort();
    assert_eq!(statuses, ["CANCELLED", "OUT_FOR_DELIVERY", "PLACED"]);
    for order in orders {
        assert_eq!(order["restaurant_id"], Value::Null, "{order}");
        assert_eq!(order["restaurant_name"], Value::Null, "{order}");
        let delivery = api
            .get(&format!(
                "/delivery/status/{}",
                order["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(delivery["restaurant_name"], Value::Null, "{delivery}");
        assert_eq!(delivery["pickup_address"], Value::Null, "{delivery}");
    }

    // An old delivery still moves, and its order follows through Kafka.
    let out = orders
        .iter()
        .find(|o| o["status"] == "OUT_FOR_DELIVERY")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for status in ["IN_TRANSIT", "DELIVERED"] {
        let r = api
            .http
            .put(format!("{}/delivery/status/{out}", api.base))
            .bearer_auth(&api.ops)
            .json(&json!({ "status": status }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{status}");
    }
    api.eventually(&format!("/orders/{out}"), |o| o["status"] == "DELIVERED")
        .await;

    // A new order from a seed restaurant carries it, down to its delivery.
    let thai = api.get("/restaurants/bangkok-street").await;
    let menu = api
        .get("/restaurants/bangkok-street/menu?available=true")
        .await;
    let item = menu["items"][0]["id"].as_str().unwrap().to_owned();
    let r = api
        .http
        .post(format!("{}/orders", api.base))
        .bearer_auth(&api.ops)
        .json(&json!({
            "items": [{"item_id": item, "quantity": 1}],
            "delivery_address": "8 Place Bellecour, Lyon",
            "customer_id": "cust-ada",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let order: Value = r.json().await.unwrap();
    assert_eq!(order["restaurant_id"], "bangkok-street");
    assert_eq!(order["restaurant_name"], thai["name"]);
    let delivery = api
        .eventually(
            &format!("/delivery/status/{}", order["id"].as_str().unwrap()),
            |d| d["status"] == "PENDING",
        )
        .await;
    assert_eq!(delivery["pickup_address"], thai["address"], "{delivery}");

    // The keys file gained a key per courier and per seed restaurant; the
    // old courier key is courier-1's and still works, as that courier.
    let keys: Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("local-keys.json")).unwrap())
            .unwrap();
    let old: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(FIXTURE).join("local-keys.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(keys["ops"], old["ops"]);
    assert_eq!(keys["customers"], old["customers"]);
    assert_eq!(keys["courier"], old["courier"]);
    assert_eq!(keys["couriers"]["courier-1"], old["courier"]);
    assert_eq!(keys["couriers"].as_object().unwrap().len(), 3, "{keys}");
    assert!(keys["restaurants"]["maison-tandoor"].is_string(), "{keys}");
    let courier = old["courier"].as_str().unwrap();
    let shift = |id: &str| {
        api.http
            .put(format!("{}/couriers/{id}/shift", api.base))
            .bearer_auth(courier)
            .json(&json!({ "on_shift": true }))
            .send()
    };
    let own = shift("courier-1").await.unwrap();
    assert_eq!(own.status(), 200);
    let own: Value = own.json().await.unwrap();
    assert_eq!(
        (own["id"].as_str(), own["on_shift"].as_bool()),
        (Some("courier-1"), Some(true))
    );
    assert_eq!(shift("courier-2").await.unwrap().status(), 403);
    let kitchen = api
        .http
        .get(format!("{}/orders", api.base))
        .bearer_auth(keys["restaurants"]["maison-tandoor"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(kitchen.status(), 200);
    let kitchen: Value = kitchen.json().await.unwrap();
    assert_eq!(
        kitchen["orders"],
        json!([]),
        "a kitchen sees only its own orders"
    );

    stop_with_sigterm(child).await;
}

struct Api {
    base: String,
    http: reqwest::Client,
    ops: String,
}

impl Api {
    async fn get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.ops)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body = r.text().await.unwrap();
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// `path` once `done` holds for it (404s meanwhile are waited out), at
    /// most 20 s.
    async fn eventually(&self, path: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let r = self
                .http
                .get(format!("{}{path}", self.base))
                .bearer_auth(&self.ops)
                .send()
                .await
                .unwrap();
            if r.status() == 200 {
                let v: Value = r.json().await.unwrap();
                if done(&v) {
                    return v;
                }
                assert!(Instant::now() < deadline, "GET {path} never got there: {v}");
            } else {
                assert!(Instant::now() < deadline, "GET {path}: {}", r.status());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn local_key(data: &Path, role: &str) -> String {
    let keys: Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("local-keys.json")).unwrap())
            .unwrap();
    keys[role].as_str().unwrap().to_owned()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() != "README.md" {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}
