//! kill -9 of food-stack under load, then a restart on the same data dir;
//! and a replay of every topic by consumer groups that never read them.

use std::time::{Duration, Instant};

use food_bench::{local::LocalStack, procs::Procs};

use crate::platform::{self, Acknowledged, Load, Snapshot};

/// How long the stack is loaded before it is killed, and at what rate.
const BEFORE_KILL: Duration = Duration::from_secs(10);
const RATE: f64 = 300.0;
/// What a restarted stack gets to apply every event its consumers had not
/// committed.
const CATCH_UP: Duration = Duration::from_secs(60);

/// Every write acknowledged before a SIGKILL is there after a restart on
/// the same data dir, and every event was applied exactly once: every
/// order has one delivery, their statuses match, no delivery history
/// holds a change twice.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "slow (about 40 s); .ci/run runs the reliability target with --ignored"]
async fn kill_9_under_load_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let launch = platform::launch(&dir.path().join("data"));
    let stack = LocalStack::launch(&launch).await.unwrap();
    let load = Load::prepare(&stack).await;

    // The load outlives the stack: requests after the kill fail (connect
    // errors), what was answered before must survive.
    let run = {
        let load = std::sync::Arc::new(load);
        tokio::spawn(async move { load.run(1, RATE, BEFORE_KILL * 2).await })
    };
    tokio::time::sleep(BEFORE_KILL).await;
    stack.kill().await.unwrap();
    let killed = Instant::now();
    let out = run.await.unwrap();
    let mut acked = Acknowledged::default();
    acked.add(&out);

    let stack = LocalStack::launch(&launch).await.unwrap();
    let restarted_in = killed.elapsed();
    let client = platform::client(&stack);
    let (after, took) = platform::settle(&client, CATCH_UP).await;
    let missing = after.missing(&acked);
    println!(
        "kill -9 under load ({RATE} req/s, killed after {} s)\n\
         requests answered before the kill: {}, failed after it: {}\n\
         acknowledged orders: {}, status changes: {}\n\
         restart to ready: {:.1} s, settled {:.1} s after ready\n\
         orders: {}, deliveries: {}, missing: {}, duplicated deliveries: {}, \
         repeated history entries: {}, mismatched statuses: {}",
        BEFORE_KILL.as_secs(),
        out.requests() - out.errors(),
        out.errors(),
        acked.orders.len(),
        acked.changes,
        restarted_in.as_secs_f64(),
        took.as_secs_f64(),
        after.orders.len(),
        after.deliveries.len(),
        missing.len(),
        after.duplicated_deliveries,
        after.repeated_history().len(),
        after.mismatched().len(),
    );
    assert!(acked.orders.len() > 100, "too few orders to tell: {out:?}");
    assert!(missing.is_empty(), "acknowledged but gone: {missing:?}");
    assert!(
        after.settled(),
        "not settled within {CATCH_UP:?}: {} undelivered, {:?}",
        after.undelivered(),
        after.mismatched()
    );
    assert_eq!(after.duplicated_deliveries, 0);
    assert_eq!(after.repeated_history(), Vec::<String>::new());
    stack.stop().await.unwrap();
}

/// Consumer groups that start from the beginning of every topic change
/// nothing: every order, delivery and history is as it was.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "slow (about 40 s); .ci/run runs the reliability target with --ignored"]
async fn a_replay_of_every_topic_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut launch = platform::launch(&dir.path().join("data"));
    let stack = LocalStack::launch(&launch).await.unwrap();
    let load = Load::prepare(&stack).await;
    let out = load.run(2, RATE, Duration::from_secs(10)).await;
    assert_eq!(out.errors(), 0, "{:?}", out.error_samples());
    let client = platform::client(&stack);
    let (before, _) = platform::settle(&client, CATCH_UP).await;
    assert!(before.settled());
    stack.stop().await.unwrap();

    // Groups no one has used: the services read every topic from offset 0
    // (`auto.offset.reset=earliest`) and apply every event again.
    for service in ["ORDER", "DELIVERY"] {
        launch.env.push((
            format!("FOOD_{service}__KAFKA__GROUP_ID"),
            format!("replay-{}", service.to_lowercase()),
        ));
    }
    let started = Instant::now();
    let stack = LocalStack::launch(&launch).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    platform::quiet(&Procs::new(vec![stack.pid]), CATCH_UP).await;
    let replayed_in = started.elapsed();
    let after = Snapshot::take(&platform::client(&stack)).await.unwrap();
    let brokers = stack.kafka_brokers.clone();
    let (order_read, delivery_read) = tokio::task::spawn_blocking(move || {
        (
            committed(&brokers, "replay-order"),
            committed(&brokers, "replay-delivery"),
        )
    })
    .await
    .unwrap();
    let changed: Vec<&String> = before
        .orders
        .iter()
        .filter(|(id, o)| after.orders.get(*id) != Some(o))
        .map(|(id, _)| id)
        .chain(
            before
                .deliveries
                .iter()
                .filter(|(id, d)| after.deliveries.get(*id) != Some(d))
                .map(|(id, _)| id),
        )
        .collect();
    println!(
        "replay from fresh consumer groups\n\
         orders: {}, deliveries: {}, status changes in the run: {}\n\
         restart and replay until quiet: {:.1} s\n\
         records the replay groups committed: order {order_read}, delivery {delivery_read}\n\
         changed orders or deliveries: {}, new orders: {}, new deliveries: {}",
        before.orders.len(),
        before.deliveries.len(),
        out.kinds[2].ok,
        replayed_in.as_secs_f64(),
        changed.len(),
        after.orders.len() - before.orders.len(),
        after.deliveries.len() - before.deliveries.len(),
    );
    // The replay happened: each group read at least one event per order
    // (the delivery service) and per delivery (the order service).
    assert!(
        delivery_read >= before.orders.len() as i64,
        "{delivery_read}"
    );
    assert!(order_read >= before.deliveries.len() as i64, "{order_read}");
    assert!(changed.is_empty(), "changed by the replay: {changed:?}");
    assert_eq!(after, before);
    stack.stop().await.unwrap();
}

/// The offsets `group` has committed, summed over every topic's
/// partitions: how many records it has read and applied (a blocking call).
fn committed(brokers: &str, group: &str) -> i64 {
    use rdkafka::{
        ClientConfig, Offset, TopicPartitionList,
        consumer::{BaseConsumer, Consumer},
    };
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("broker.address.family", "v4")
        .set("group.id", group)
        .create()
        .unwrap();
    let metadata = consumer
        .fetch_metadata(None, Duration::from_secs(5))
        .unwrap();
    let mut partitions = TopicPartitionList::new();
    for topic in metadata
        .topics()
        .iter()
        .filter(|t| !t.name().starts_with("__"))
    {
        for p in topic.partitions() {
            partitions.add_partition(topic.name(), p.id());
        }
    }
    consumer
        .committed_offsets(partitions, Duration::from_secs(5))
        .unwrap()
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) => Some(o),
            _ => None,
        })
        .sum()
}
