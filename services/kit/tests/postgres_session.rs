//! A PostgreSQL session whose client went silent inside a transaction (a
//! replica cut off from the network) gives its locks up within seconds.

use std::time::{Duration, Instant};

use food_kit::{Db, db::Migrations};

#[tokio::test]
async fn a_transaction_left_idle_is_ended_by_the_server_and_frees_its_lock() {
    let Some(url) = food_kit::testing::postgres_schema("session").await else {
        return;
    };
    let no_steps = Migrations {
        sqlite: &[],
        postgres: &[],
    };
    let silent = Db::connect(&url, &no_steps).await.unwrap();
    let other = Db::connect(&url, &no_steps).await.unwrap();
    let key: i64 = rand_key();

    // The silent replica takes the lock, then says nothing more.
    let mut held = silent.begin().await.unwrap();
    sqlx::query(&format!("SELECT pg_advisory_xact_lock({key})"))
        .execute(&mut *held)
        .await
        .unwrap();

    let started = Instant::now();
    let mut waiting = other.begin().await.unwrap();
    tokio::time::timeout(
        Duration::from_secs(30),
        sqlx::query(&format!("SELECT pg_advisory_xact_lock({key})")).execute(&mut *waiting),
    )
    .await
    .expect("the lock is freed within 30 s")
    .unwrap();
    let waited = started.elapsed();
    println!("the other session got the lock after {waited:?}");
    assert!(
        waited >= Duration::from_secs(9) && waited < Duration::from_secs(15),
        "waited {waited:?}: idle_in_transaction_session_timeout is 10 s"
    );
    waiting.commit().await.unwrap();

    // The silent session was ended; its pool serves again with a new one.
    assert!(
        held.commit().await.is_err(),
        "the server ended that session"
    );
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(silent.writer())
        .await
        .unwrap();
    assert_eq!(one, 1);
}

/// A lock key of this test's own, so parallel runs do not meet.
fn rand_key() -> i64 {
    i64::from(std::process::id()) << 20 | 0x5e55
}
