//! Test support: a broker per test and reading a topic from the beginning.

use std::time::Duration;

use food_broker::{Storage, testing::TestBroker};
use rdkafka::{
    ClientConfig, Message,
    consumer::{Consumer, StreamConsumer},
    message::OwnedMessage,
};

/// Starts an in-memory broker on a free port, with the given topics created.
pub async fn broker_with_topics(topics: &[String]) -> TestBroker {
    let broker = TestBroker::start("127.0.0.1:0".parse().unwrap(), Storage::Memory)
        .await
        .expect("starting the embedded broker");
    crate::kafka::ensure_topics(&broker.bootstrap(), topics, 3, Duration::from_secs(30))
        .await
        .expect("creating topics");
    broker
}

/// A prefix that keeps one test's topics and groups apart from another's.
pub fn unique_prefix() -> String {
    format!("t{}.", &uuid::Uuid::now_v7().simple().to_string()[20..])
}

/// Reads `topic` from the beginning with a fresh group until `count` messages
/// arrived or `patience` ran out.
pub async fn read_topic(
    brokers: &str,
    topic: &str,
    count: usize,
    patience: Duration,
) -> Vec<OwnedMessage> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("reader-{}", uuid::Uuid::now_v7()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "5")
        .set("broker.address.family", "v4")
        .create()
        .expect("creating a reader");
    consumer.subscribe(&[topic]).expect("subscribing");
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + patience;
    while out.len() < count {
        match tokio::time::timeout_at(deadline, consumer.recv()).await {
            Ok(Ok(m)) => out.push(m.detach()),
            Ok(Err(e)) => tracing::debug!(error = %e, "reader error"),
            Err(_) => break,
        }
    }
    out
}

/// The key of a message as text.
pub fn key_of(m: &OwnedMessage) -> String {
    String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned()
}

/// The PostgreSQL database tests use: `FOOD_TEST_POSTGRES_URL`, by default
/// the `test` database at 127.0.0.1:5432 with trust auth (`.ci/run` and
/// `deploy/postgres/provision.sh` provide it).
pub fn postgres_url() -> String {
    std::env::var("FOOD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A connection to [`postgres_url`] for setting a test up (creating its
/// schema). When no server answers, the test is skipped with a message
/// (`None`), except under `CI=true`, where it fails: coverage does not
/// vanish because a server was missing.
pub async fn postgres_admin() -> Option<sqlx::PgConnection> {
    use sqlx::Connection;
    let url = postgres_url();
    let why = match tokio::time::timeout(Duration::from_secs(5), sqlx::PgConnection::connect(&url))
        .await
    {
        Ok(Ok(conn)) => return Some(conn),
        Ok(Err(e)) => format!("cannot connect to {url}: {e}"),
        Err(_) => format!("{url} did not answer within 5 s"),
    };
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("PostgreSQL is required under CI=true: {why}");
    }
    eprintln!("SKIPPED: a PostgreSQL test: {why}");
    None
}

/// A fresh schema `<label>_<unique>` in [`postgres_url`]'s database, so
/// parallel tests share no tables: the URL with its `search_path` set, or
/// `None` as [`postgres_admin`] decides.
pub async fn postgres_schema(label: &str) -> Option<String> {
    let mut conn = postgres_admin().await?;
    let schema = format!("{label}_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .expect("creating a test schema");
    Some(with_search_path(&postgres_url(), &schema))
}

/// `url` with `search_path` set to `schema`.
pub fn with_search_path(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20search_path%3D{schema}")
}

/// How long a healthcheck run may take in a test. The probe itself gives
/// up after its 800 ms deadline; the rest is starting a debug binary, which
/// took 1.3 s on a 2-core machine busy with the rest of the suite. A run
/// past this bound waited on something it should not have.
pub const HEALTHCHECK_BOUND: Duration = Duration::from_secs(5);

/// What `<binary> healthcheck` answered: exit code, stdout, stderr and how
/// long it took.
#[derive(Debug)]
pub struct HealthcheckRun {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
}

/// Runs `<binary> healthcheck` with only `env` (as a probe runs it), off
/// the async runtime so that a server in the same test can answer.
pub async fn run_healthcheck(binary: &str, env: &[(&str, &str)]) -> HealthcheckRun {
    let mut command = std::process::Command::new(binary);
    command
        .arg("healthcheck")
        .env_clear()
        .envs(env.iter().copied());
    let binary = binary.to_owned();
    tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let out = command
            .output()
            .unwrap_or_else(|e| panic!("running {binary} healthcheck: {e}"));
        HealthcheckRun {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            took: started.elapsed(),
        }
    })
    .await
    .unwrap()
}

/// Checks what every binary's healthcheck does without a server: nothing
/// listening at its address is exit 1 with one line, within the bound; a
/// listen address that does not parse is exit 2 naming the variable.
pub async fn healthcheck_refuses_without_a_server(binary: &str, name: &str, listen_var: &str) {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let listen = format!("0.0.0.0:{port}");
    let run = run_healthcheck(binary, &[(listen_var, &listen)]).await;
    assert_eq!(run.code, Some(1), "{run:?}");
    assert_eq!(run.stdout.lines().count(), 1, "one line: {run:?}");
    assert!(
        run.stdout.starts_with(&format!(
            "{name}: not serving: cannot connect to 127.0.0.1:{port}"
        )),
        "{run:?}"
    );
    assert!(run.took < HEALTHCHECK_BOUND, "{run:?}");

    let run = run_healthcheck(binary, &[(listen_var, "nowhere")]).await;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains(listen_var), "{run:?}");
}
