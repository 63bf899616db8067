//! Where the `food-stack` binary keeps its data: `--postgres` puts the
//! services' databases on a PostgreSQL server (and a restart finds them
//! there), `FOOD_<SERVICE>__DATABASE_URL` picks one service's database, and
//! a variable naming something the stack sets itself is refused at start.
//! Each ready line says where that part's data is.

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use food_broker::{Storage, testing::TestBroker};
use serde_json::{Value, json};
use sqlx::Connection;

use crate::external_kafka::{food_stack_command, ready_addr, ready_lines, stop_with_sigterm};

const ANY: [&str; 4] = ["127.0.0.1:0"; 4];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_postgres_the_orders_are_on_that_server_and_survive_a_restart() {
    let Some(mut admin) = food_kit::testing::postgres_admin().await else {
        return;
    };
    let broker = TestBroker::start("127.0.0.1:0".parse().unwrap(), Storage::Memory)
        .await
        .expect("the test broker starts");
    let data = tempfile::tempdir().unwrap();
    // The URL's database name prefixes the services' databases, so this
    // test shares none with another run.
    let prefix = format!(
        "fs{}",
        &food_kit::testing::unique_prefix()[1..].trim_end_matches('.')
    );
    let server = server_url(&prefix);
    let start = || {
        let mut child = food_stack_command(&broker, data.path(), ANY)
            .args(["--postgres", &server])
            .spawn()
            .expect("food-stack starts");
        async move {
            let lines = ready_lines(&mut child).await;
            (child, lines)
        }
    };

    let (child, lines) = start().await;
    for (part, database) in [
        ("menu-service", "menu"),
        ("order-service", "orders"),
        ("delivery-service", "deliveries"),
    ] {
        let line = lines
            .iter()
            .find(|l| l.starts_with(part))
            .unwrap_or_else(|| panic!("a {part} ready line in {lines:?}"));
        let url = database_url(&prefix, database);
        assert!(line.ends_with(&format!("({url})")), "{line}");
    }
    for file in ["menu.db", "order.db", "delivery.db"] {
        assert!(!data.path().join(file).exists(), "{file} was written");
    }
    let gateway = ready_addr(&lines, "gateway");
    let keys = local_keys(data.path());
    let id = place_order(&gateway, &keys).await;
    let mut orders = sqlx::PgConnection::connect(&database_url(&prefix, "orders"))
        .await
        .unwrap();
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM orders WHERE id = $1")
        .bind(&id)
        .fetch_one(&mut orders)
        .await
        .unwrap();
    assert_eq!(stored, 1, "the order is in PostgreSQL");
    orders.close().await.unwrap();
    stop_with_sigterm(child).await;

    let (child, lines) = start().await;
    let gateway = ready_addr(&lines, "gateway");
    let r = reqwest::Client::new()
        .get(format!("http://{gateway}/orders/{id}"))
        .bearer_auth(keys["ops"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the order is still there after a restart");
    stop_with_sigterm(child).await;
    broker.stop().await;

    for database in ["menu", "orders", "deliveries"] {
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {prefix}_{database} WITH (FORCE)"
        ))
        .execute(&mut admin)
        .await
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_services_database_url_is_honoured_and_the_others_stay_on_sqlite() {
    let Some(url) = food_kit::testing::postgres_schema("stack_order").await else {
        return;
    };
    let broker = TestBroker::start("127.0.0.1:0".parse().unwrap(), Storage::Memory)
        .await
        .expect("the test broker starts");
    let data = tempfile::tempdir().unwrap();
    let mut child = food_stack_command(&broker, data.path(), ANY)
        .env("FOOD_ORDER__DATABASE_URL", &url)
        .spawn()
        .expect("food-stack starts");
    let lines = ready_lines(&mut child).await;
    let line = |part: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(part))
            .cloned()
            .unwrap_or_else(|| panic!("a {part} ready line in {lines:?}"))
    };
    assert!(line("order-service").contains("(postgres://"), "{lines:?}");
    let menu_db = data.path().join("menu.db");
    assert!(
        line("menu-service").ends_with(&format!("(SQLite {})", menu_db.display())),
        "{lines:?}"
    );
    assert!(
        !data.path().join("order.db").exists(),
        "order.db was written"
    );

    let gateway = ready_addr(&lines, "gateway");
    let id = place_order(&gateway, &local_keys(data.path())).await;
    let mut orders = sqlx::PgConnection::connect(&url).await.unwrap();
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM orders WHERE id = $1")
        .bind(&id)
        .fetch_one(&mut orders)
        .await
        .unwrap();
    assert_eq!(stored, 1, "the order is in the database the variable named");
    stop_with_sigterm(child).await;
    broker.stop().await;
}

#[test]
fn a_variable_for_what_the_stack_sets_itself_stops_it_at_start_naming_both() {
    let data = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_food-stack"))
        .arg("--data-dir")
        .arg(data.path())
        .args(["--kafka-brokers", "127.0.0.1:1", "--no-contexts"])
        .env("FOOD_MENU__LISTEN", "0.0.0.0:50051")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("FOOD_MENU__LISTEN"), "{stderr}");
    assert!(stderr.contains("--menu-addr"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(out.stdout.is_empty(), "nothing started");
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// The test server's URL with `database` as its database name.
fn server_url(database: &str) -> String {
    let base = food_kit::testing::postgres_url();
    let (server, _) = base.rsplit_once('/').expect("a database in the test URL");
    format!("{server}/{database}")
}

fn database_url(prefix: &str, database: &str) -> String {
    server_url(&format!("{prefix}_{database}"))
}

fn local_keys(data: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(data.join("local-keys.json")).unwrap()).unwrap()
}

/// Places an order as the first local customer and returns its id once its
/// delivery exists (the whole flow ran on these databases).
async fn place_order(gateway: &str, keys: &Value) -> String {
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
            "items": [{"item_id": "margherita", "quantity": 1}],
            "delivery_address": "3 Quai Saint-Antoine, Lyon",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = http
            .get(format!("http://{gateway}/delivery/status/{id}"))
            .bearer_auth(keys["ops"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            return id;
        }
        assert!(Instant::now() < deadline, "no delivery for {id} after 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
