//! The transactional outbox against the real embedded broker, with SQLite
//! (and PostgreSQL where reachable).

use std::{collections::HashMap, time::Duration};

use food_broker::{Storage, testing::TestBroker};
use food_kit::{
    Db, Shutdown,
    db::Migrations,
    outbox::{OutboxMessage, Relay, Waker, enqueue},
    testing::{key_of, read_topic, unique_prefix},
};
use rdkafka::Message;

const NO_MIGRATIONS: Migrations = Migrations {
    sqlite: &[],
    postgres: &[],
};

fn message(topic: &str, key: &str, seq: u32) -> OutboxMessage {
    OutboxMessage {
        event_id: uuid::Uuid::now_v7().to_string(),
        topic: topic.to_owned(),
        key: key.to_owned(),
        payload: format!("{key}:{seq}").into_bytes(),
        headers: vec![("event-type".into(), "Test".into())],
    }
}

/// Payloads per key, in topic order, after dropping exact duplicates.
fn by_key(msgs: &[rdkafka::message::OwnedMessage]) -> HashMap<String, Vec<u32>> {
    let mut seen = std::collections::HashSet::new();
    let mut out: HashMap<String, Vec<u32>> = HashMap::new();
    for m in msgs {
        let payload = String::from_utf8_lossy(m.payload().unwrap()).into_owned();
        if !seen.insert(payload.clone()) {
            continue;
        }
        let seq: u32 = payload.rsplit(':').next().unwrap().parse().unwrap();
        out.entry(key_of(m)).or_default().push(seq);
    }
    out
}

async fn sqlite_db(dir: &tempfile::TempDir) -> Db {
    let url = format!("sqlite://{}/outbox.db", dir.path().display());
    Db::connect(&url, &NO_MIGRATIONS).await.unwrap()
}

async fn commit_events(
    db: &Db,
    waker: &Waker,
    topic: &str,
    keys: &[&str],
    range: std::ops::Range<u32>,
) {
    for seq in range {
        for key in keys {
            let mut tx = db.begin().await.unwrap();
            enqueue(&mut tx, &message(topic, key, seq)).await.unwrap();
            tx.commit().await.unwrap();
            waker.wake();
        }
    }
}

/// Creates `topic` (3 partitions) on `broker`.
async fn create_topic(broker: &TestBroker, topic: &str) {
    food_kit::kafka::ensure_topics(
        &broker.bootstrap(),
        &[topic.to_owned()],
        3,
        Duration::from_secs(30),
    )
    .await
    .unwrap();
}

async fn committed_rows_reach_kafka_once_in_key_order_and_rolled_back_rows_never(
    db: Db,
    broker: &TestBroker,
) {
    let topic = format!("{}outbox", unique_prefix());
    create_topic(broker, &topic).await;
    let waker = Waker::new();
    let relay = Relay::new("test", db.clone(), &broker.bootstrap(), waker.clone()).unwrap();
    let stop = Shutdown::new();
    let task = tokio::spawn(relay.run(stop.clone()));

    let keys = ["order-a", "order-b", "order-c"];
    commit_events(&db, &waker, &topic, &keys, 0..20).await;
    let mut tx = db.begin().await.unwrap();
    enqueue(&mut tx, &message(&topic, "order-a", 999))
        .await
        .unwrap();
    tx.rollback().await.unwrap();

    let msgs = read_topic(&broker.bootstrap(), &topic, 60, Duration::from_secs(20)).await;
    // Give a stray rolled-back or duplicate message a moment to show up.
    let extra = read_topic(&broker.bootstrap(), &topic, 61, Duration::from_millis(1500)).await;
    stop.trigger();
    task.await.unwrap();
    let unmarked: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")
        .fetch_one(db.reader())
        .await
        .unwrap();
    // A new relay on the same outbox finds nothing left to send.
    let relay = Relay::new("test", db.clone(), &broker.bootstrap(), waker.clone()).unwrap();
    let stop = Shutdown::new();
    let task = tokio::spawn(relay.run(stop.clone()));
    let after_restart =
        read_topic(&broker.bootstrap(), &topic, 61, Duration::from_millis(1500)).await;
    stop.trigger();
    task.await.unwrap();

    assert_eq!(msgs.len(), 60, "every committed event arrives");
    assert_eq!(
        extra.len(),
        60,
        "nothing more: no duplicate, no rolled-back event"
    );
    assert_eq!(
        unmarked, 0,
        "every published row is marked sent by the time the relay stops"
    );
    assert_eq!(
        after_restart.len(),
        60,
        "a restarted relay sends nothing again"
    );
    let keyed = by_key(&msgs);
    for key in keys {
        assert_eq!(keyed[key], (0..20).collect::<Vec<_>>(), "{key} in order");
    }
    for m in &msgs {
        let headers = m.headers().expect("headers");
        use rdkafka::message::Headers;
        assert_eq!(headers.get(0).key, "event-type");
    }
}

#[tokio::test]
async fn sqlite_outbox_publishes_committed_rows_once_in_key_order() {
    let broker = TestBroker::start("127.0.0.1:0".parse().unwrap(), Storage::Memory)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(&dir).await;
    committed_rows_reach_kafka_once_in_key_order_and_rolled_back_rows_never(db, &broker).await;
    broker.stop().await;
}

#[tokio::test]
async fn postgres_outbox_publishes_committed_rows_once_in_key_order() {
    let Some(url) = food_kit::testing::postgres_schema("kit").await else {
        return;
    };
    let broker = TestBroker::start("127.0.0.1:0".parse().unwrap(), Storage::Memory)
        .await
        .unwrap();
    let db = Db::connect(&url, &NO_MIGRATIONS).await.unwrap();
    committed_rows_reach_kafka_once_in_key_order_and_rolled_back_rows_never(db, &broker).await;
    broker.stop().await;
}

/// On PostgreSQL a transaction may commit a lower outbox id after a higher
/// one was published: that row must still be published, not marked sent
/// with the ids around it.
#[tokio::test]
async fn postgres_row_committed_below_a_published_one_is_still_published() {
    let Some(url) = food_kit::testing::postgres_schema("kit").await else {
        return;
    };
    let broker = TestBroker::start("127.0.0.1:0".parse().unwrap(), Storage::Memory)
        .await
        .unwrap();
    let db = Db::connect(&url, &NO_MIGRATIONS).await.unwrap();
    let topic = format!("{}outbox", unique_prefix());
    create_topic(&broker, &topic).await;
    let relay = Relay::new("test", db.clone(), &broker.bootstrap(), Waker::new()).unwrap();

    // The slow transaction takes the lower id and commits last.
    let mut slow = db.begin().await.unwrap();
    enqueue(&mut slow, &message(&topic, "slow", 1))
        .await
        .unwrap();
    let mut fast = db.begin().await.unwrap();
    enqueue(&mut fast, &message(&topic, "fast", 1))
        .await
        .unwrap();
    fast.commit().await.unwrap();
    assert_eq!(relay.relay_once().await.unwrap(), 1, "the committed row");
    slow.commit().await.unwrap();
    relay.mark().await.unwrap();
    assert_eq!(
        relay.relay_once().await.unwrap(),
        1,
        "the row that committed late is published, not marked sent unseen"
    );
    relay.mark().await.unwrap();

    let msgs = read_topic(&broker.bootstrap(), &topic, 2, Duration::from_secs(20)).await;
    let keyed = by_key(&msgs);
    assert_eq!(keyed.get("slow"), Some(&vec![1]), "{keyed:?}");
    assert_eq!(keyed.get("fast"), Some(&vec![1]), "{keyed:?}");
    let unsent: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")
        .fetch_one(db.reader())
        .await
        .unwrap();
    assert_eq!(unsent, 0);
    broker.stop().await;
}

#[tokio::test]
async fn a_broker_outage_mid_relay_delays_events_but_loses_and_reorders_none() {
    let dir = tempfile::tempdir().unwrap();
    let broker_file = dir.path().join("broker.db");
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let broker = TestBroker::start(addr, Storage::Sqlite(broker_file.clone()))
        .await
        .unwrap();
    let topic = format!("{}outage", unique_prefix());
    create_topic(&broker, &topic).await;
    let db = sqlite_db(&dir).await;
    let waker = Waker::new();
    let relay = Relay::new("test", db.clone(), &broker.bootstrap(), waker.clone()).unwrap();
    let stop = Shutdown::new();
    let task = tokio::spawn(relay.run(stop.clone()));
    let keys = ["k1", "k2", "k3", "k4"];

    commit_events(&db, &waker, &topic, &keys, 0..25).await;
    broker.stop().await;
    // Committed while the broker is away: acknowledged to clients, so never lost.
    commit_events(&db, &waker, &topic, &keys, 25..50).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let broker = TestBroker::start(addr, Storage::Sqlite(broker_file))
        .await
        .unwrap();

    let msgs = read_topic(&broker.bootstrap(), &topic, 200, Duration::from_secs(30)).await;
    stop.trigger();
    task.await.unwrap();
    broker.stop().await;

    let keyed = by_key(&msgs);
    for key in keys {
        assert_eq!(
            keyed.get(key).cloned().unwrap_or_default(),
            (0..50).collect::<Vec<_>>(),
            "{key}: all 50, in order"
        );
    }
}

/// Publishes 12 rows in one relay round of a relay made by `relay` on a
/// fresh outbox, after a first round has connected its producer; returns
/// the rows published and how long the round took.
async fn timed_round(topic: &str, relay: impl Fn(Db) -> Relay) -> (usize, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(&dir).await;
    let waker = Waker::new();
    let relay = relay(db.clone());
    commit_events(&db, &waker, topic, &["warm-up"], 0..1).await;
    assert_eq!(relay.relay_once().await.unwrap(), 1);
    commit_events(&db, &waker, topic, &["a", "b", "c"], 0..4).await;
    let started = std::time::Instant::now();
    let sent = relay.relay_once().await.unwrap();
    (sent, started.elapsed())
}

/// A lingering relay holds a round's events until its linger is out, then
/// publishes them together; a relay without linger publishes at once.
#[tokio::test]
async fn a_lingering_relay_waits_out_its_linger_and_a_plain_one_sends_at_once() {
    let broker = TestBroker::start("127.0.0.1:0".parse().unwrap(), Storage::Memory)
        .await
        .unwrap();
    let topic = format!("{}linger", unique_prefix());
    create_topic(&broker, &topic).await;
    let linger = Duration::from_millis(1500);
    let lingering =
        |db: Db| Relay::with_linger("test", db, &broker.bootstrap(), Waker::new(), linger).unwrap();
    let plain = |db: Db| Relay::new("test", db, &broker.bootstrap(), Waker::new()).unwrap();
    let (sent, lingered) = timed_round(&topic, lingering).await;
    let (sent_plain, at_once) = timed_round(&topic, plain).await;

    assert_eq!((sent, sent_plain), (12, 12), "every row is published");
    assert!(
        lingered >= linger - Duration::from_millis(100),
        "a round with a {linger:?} linger was acknowledged after {lingered:?}"
    );
    assert!(
        at_once < linger / 2,
        "a round without linger took {at_once:?}"
    );
    let msgs = read_topic(&broker.bootstrap(), &topic, 26, Duration::from_secs(20)).await;
    assert_eq!(msgs.len(), 26, "both relays' rows arrive");
    broker.stop().await;
}
