//! The idempotent consumer step against real databases: the same event
//! twice is applied once, and a failing handler records nothing.

use std::sync::atomic::{AtomicBool, Ordering};

use food_events::{
    Envelope, Handled, Handler, Outcome, Payload,
    consumer::{handle, handle_batch},
    new_envelope,
};
use food_kit::{
    Db, Tx,
    db::{Migrations, Step},
};
use food_proto::events::v1::OrderCancelled;
use sqlx::Row;

const MIGRATIONS: Migrations = Migrations {
    sqlite: &[Step {
        version: 100,
        description: "counter",
        sql: "CREATE TABLE applied (order_id TEXT NOT NULL, n BIGINT NOT NULL)",
    }],
    postgres: &[Step {
        version: 100,
        description: "counter",
        sql: "CREATE TABLE applied (order_id TEXT NOT NULL, n BIGINT NOT NULL)",
    }],
};

/// Counts applications per order, and can be told to fail once.
struct Counting {
    fail_next: AtomicBool,
}

impl Handler for Counting {
    fn name(&self) -> &str {
        "test.counting"
    }

    async fn apply(&self, tx: &mut Tx, env: &Envelope) -> anyhow::Result<Outcome> {
        let Some(Payload::OrderCancelled(c)) = &env.payload else {
            return Ok(Outcome::Ignored);
        };
        sqlx::query("INSERT INTO applied (order_id, n) VALUES ($1, 1)")
            .bind(&c.order_id)
            .execute(&mut **tx)
            .await?;
        if self.fail_next.swap(false, Ordering::SeqCst) {
            anyhow::bail!("simulated failure after writing");
        }
        Ok(Outcome::Applied)
    }
}

fn event(order_id: &str) -> Envelope {
    new_envelope(
        "trace",
        Payload::OrderCancelled(OrderCancelled {
            order_id: order_id.into(),
            customer_id: "c".into(),
            reason: None,
        }),
    )
}

async fn applied(db: &Db, order_id: &str) -> i64 {
    sqlx::query("SELECT COUNT(*) AS n FROM applied WHERE order_id = $1")
        .bind(order_id)
        .fetch_one(db.reader())
        .await
        .unwrap()
        .get::<i64, _>("n")
}

async fn the_same_event_twice_is_applied_once(db: Db) {
    let handler = Counting {
        fail_next: AtomicBool::new(false),
    };
    let env = event("o1");

    let first = handle(&db, &handler, &env).await.unwrap();
    let second = handle(&db, &handler, &env).await.unwrap();

    assert_eq!(first, Handled::Applied);
    assert_eq!(second, Handled::Duplicate);
    assert_eq!(applied(&db, "o1").await, 1);
}

async fn a_failed_application_records_nothing_and_the_retry_applies(db: Db) {
    let handler = Counting {
        fail_next: AtomicBool::new(true),
    };
    let env = event("o2");

    assert!(handle(&db, &handler, &env).await.is_err());
    assert_eq!(applied(&db, "o2").await, 0, "rolled back with the event id");
    assert_eq!(handle(&db, &handler, &env).await.unwrap(), Handled::Applied);
    assert_eq!(applied(&db, "o2").await, 1);
}

async fn sqlite() -> (Db, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(
        &format!("sqlite://{}/c.db", dir.path().display()),
        &MIGRATIONS,
    )
    .await
    .unwrap();
    (db, dir)
}

#[tokio::test]
async fn sqlite_consumer_applies_a_redelivered_event_once() {
    let (db, _dir) = sqlite().await;
    the_same_event_twice_is_applied_once(db).await;
}

#[tokio::test]
async fn sqlite_consumer_rolls_back_a_failed_event_with_its_id() {
    let (db, _dir) = sqlite().await;
    a_failed_application_records_nothing_and_the_retry_applies(db).await;
}

#[tokio::test]
async fn postgres_consumer_applies_a_redelivered_event_once() {
    let Some(db) = postgres().await else {
        eprintln!("SKIPPED: PostgreSQL not reachable at 127.0.0.1:5432 (database test)");
        return;
    };
    the_same_event_twice_is_applied_once(db.clone()).await;
    a_failed_application_records_nothing_and_the_retry_applies(db).await;
}

async fn postgres() -> Option<Db> {
    use sqlx::Connection;
    let base = "postgres://postgres@127.0.0.1:5432/test";
    let mut conn = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        sqlx::PgConnection::connect(base),
    )
    .await
    .ok()?
    .ok()?;
    let schema = format!("events_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .ok()?;
    Db::connect(
        &format!("{base}?options=-c%20search_path%3D{schema}"),
        &MIGRATIONS,
    )
    .await
    .ok()
}

#[tokio::test]
async fn a_batch_applies_each_event_once_even_when_it_repeats_inside_the_batch() {
    let (db, _dir) = sqlite().await;
    let handler = Counting {
        fail_next: AtomicBool::new(false),
    };
    let (a, b) = (event("b1"), event("b2"));

    let outcomes = handle_batch(&db, &handler, &[a.clone(), b.clone(), a.clone()])
        .await
        .unwrap();
    let again = handle_batch(&db, &handler, &[b, a]).await.unwrap();

    assert_eq!(
        outcomes,
        [Handled::Applied, Handled::Applied, Handled::Duplicate]
    );
    assert_eq!(again, [Handled::Duplicate, Handled::Duplicate]);
    assert_eq!(applied(&db, "b1").await, 1);
    assert_eq!(applied(&db, "b2").await, 1);
}

#[tokio::test]
async fn a_failing_event_in_a_batch_rolls_the_batch_back_and_the_retry_applies_each_once() {
    let (db, _dir) = sqlite().await;
    let handler = Counting {
        fail_next: AtomicBool::new(false),
    };
    let envs = [event("f1"), event("f2"), event("f3")];
    // The first event of the batch fails once: the whole transaction rolls
    // back, then each event is applied on its own.
    handler.fail_next.store(true, Ordering::SeqCst);

    let outcomes = handle_batch(&db, &handler, &envs).await.unwrap();

    assert_eq!(
        outcomes,
        [Handled::Applied, Handled::Applied, Handled::Applied]
    );
    for id in ["f1", "f2", "f3"] {
        assert_eq!(applied(&db, id).await, 1, "{id}");
    }
}
