//! Two menu-service replicas behind one name, reached as order-service and
//! the gateway reach a service (`food_kit::grpc::balance`): calls spread
//! over both, a stopped one stops getting calls within about a second and
//! gets them again once restarted, one that accepts connections but never
//! answers is left out, and a call that cannot connect goes to the other.
//!
//! The name resolves to two loopback addresses with one port (127.0.0.1 and
//! 127.0.0.2: Linux answers on all of 127/8), given by the test's resolver
//! as the system's would give them for a name with two addresses. Replica A
//! has one restaurant paused and B has not, so each answer says which
//! replica gave it.

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use food_kit::grpc::balance::{BalanceSettings, Balanced, Resolver};
use food_proto::menu::v1::{
    GetRestaurantRequest, SetRestaurantOpenRequest, menu_service_client::MenuServiceClient,
};
use tonic::Code;

use crate::helpers::{TestApp, spawn_app_with, sqlite_settings};

/// Paused on replica A only.
const MARKER: &str = "green-bowl";
const CALL_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Replica {
    A,
    B,
}

/// One call through the balanced channel, and when it ended.
struct Call {
    at: Instant,
    took: Duration,
    answer: Result<Replica, Code>,
}

fn resolving_to(addrs: Vec<SocketAddr>) -> Resolver {
    Arc::new(move |_, _| {
        let addrs = addrs.clone();
        Box::pin(async move { Ok(addrs) })
    })
}

fn balanced(port: u16, addrs: Vec<SocketAddr>) -> Balanced {
    Balanced::with_resolver(
        "menu",
        &format!("http://menu-service:{port}"),
        Arc::new(|e| e.connect_timeout(CALL_TIMEOUT).timeout(CALL_TIMEOUT)),
        &BalanceSettings::default(),
        resolving_to(addrs),
    )
    .unwrap()
}

async fn who(client: &mut MenuServiceClient<Balanced>) -> Result<Replica, Code> {
    let restaurant = client
        .get_restaurant(GetRestaurantRequest { id: MARKER.into() })
        .await
        .map_err(|s| s.code())?
        .into_inner();
    Ok(if restaurant.open {
        Replica::B
    } else {
        Replica::A
    })
}

/// Calls one after another (a few milliseconds apart) for `run`.
async fn drive(mut client: MenuServiceClient<Balanced>, run: Duration) -> Vec<Call> {
    let end = Instant::now() + run;
    let mut calls = Vec::new();
    while Instant::now() < end {
        let started = Instant::now();
        let answer = who(&mut client).await;
        calls.push(Call {
            at: Instant::now(),
            took: started.elapsed(),
            answer,
        });
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    calls
}

/// Replica A on 127.0.0.1 (a free port) with its marker restaurant paused,
/// B on 127.0.0.2 with the same port.
async fn two_replicas() -> (TestApp, TestApp, [tempfile::TempDir; 2]) {
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let a = spawn_app_with(sqlite_settings(dirs[0].path())).await;
    let mut settings = sqlite_settings(dirs[1].path());
    settings.service.listen = SocketAddr::from(([127, 0, 0, 2], a.addr.port()));
    let b = spawn_app_with(settings).await;
    a.client
        .clone()
        .set_restaurant_open(SetRestaurantOpenRequest {
            id: MARKER.into(),
            open: false,
        })
        .await
        .unwrap();
    (a, b, dirs)
}

async fn wait_until(what: &str, within: Duration, check: impl Fn() -> bool) -> Duration {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < within, "{what} within {within:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    started.elapsed()
}

#[tokio::test]
async fn calls_spread_over_replicas_and_skip_a_stopped_one_until_it_restarts() {
    // Arrange
    let (a, b, dirs) = two_replicas().await;
    let (a_addr, b_addr) = (a.addr, b.addr);
    let channel = balanced(a_addr.port(), vec![a_addr, b_addr]);
    let client = MenuServiceClient::new(channel.clone());
    wait_until(
        "both replicas answer their probe",
        Duration::from_secs(3),
        || channel.replicas().iter().all(|(_, up)| *up),
    )
    .await;

    // Act 1: both up.
    let mut c = client.clone();
    let mut answers = Vec::new();
    for _ in 0..40 {
        answers.push(who(&mut c).await.expect("every call succeeds"));
    }
    let to_a = answers.iter().filter(|r| **r == Replica::A).count();
    println!("40 calls over two replicas: A {to_a}, B {}", 40 - to_a);
    assert!(
        (15..=25).contains(&to_a),
        "calls spread over both replicas: {to_a} of 40 went to A"
    );

    // Act 2: A stops while calls keep coming.
    let driver = tokio::spawn(drive(client.clone(), Duration::from_millis(2500)));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopped = Instant::now();
    a.stop().await;
    let calls = driver.await.unwrap();

    // Assert: within a second of the stop every call succeeds on B.
    let failed: Vec<_> = calls.iter().filter(|c| c.answer.is_err()).collect();
    let last_to_a = calls
        .iter()
        .filter(|c| c.answer == Ok(Replica::A))
        .map(|c| c.at.saturating_duration_since(stopped))
        .max();
    println!(
        "A stopped: {} calls, {} failed ({:?}), last answer from A {:?} after the stop",
        calls.len(),
        failed.len(),
        failed.iter().map(|c| c.answer).collect::<Vec<_>>(),
        last_to_a,
    );
    let settled = stopped + Duration::from_secs(1);
    let late: Vec<_> = calls.iter().filter(|c| c.at > settled + c.took).collect();
    assert!(late.len() > 50, "calls kept coming after the stop");
    assert!(
        late.iter().all(|c| c.answer == Ok(Replica::B)),
        "from a second after the stop every call succeeds on B"
    );
    assert!(
        !channel
            .replicas()
            .iter()
            .any(|(addr, up)| *addr == a_addr && *up),
        "the stopped replica is out"
    );

    // Act 3: A starts again on the same address.
    let mut settings = sqlite_settings(dirs[0].path());
    settings.service.listen = a_addr;
    let driver = tokio::spawn(drive(client.clone(), Duration::from_millis(2500)));
    let restarted = Instant::now();
    let a = spawn_app_with(settings).await;
    let calls = driver.await.unwrap();

    // Assert: A takes calls again, and nothing failed meanwhile.
    let first_to_a = calls
        .iter()
        .find(|c| c.answer == Ok(Replica::A))
        .map(|c| c.at.saturating_duration_since(restarted));
    let failed = calls.iter().filter(|c| c.answer.is_err()).count();
    println!(
        "A restarted: {} calls, {failed} failed, first answer from A {first_to_a:?} after its start",
        calls.len()
    );
    assert_eq!(failed, 0, "no call fails while a replica comes back");
    assert!(
        first_to_a.is_some_and(|t| t < Duration::from_millis(1500)),
        "the restarted replica takes calls again within 1.5 s: {first_to_a:?}"
    );
    let tail = &calls[calls.len() / 2..];
    assert!(
        tail.iter().any(|c| c.answer == Ok(Replica::A))
            && tail.iter().any(|c| c.answer == Ok(Replica::B)),
        "both replicas share the calls again"
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_replica_that_accepts_but_never_answers_is_left_out() {
    // Arrange: B, and a listener on 127.0.0.3 that never accepts: connects
    // succeed (the kernel completes them), calls hang, as behind a cut link.
    let (a, b, _dirs) = two_replicas().await;
    a.stop().await;
    let hole = std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 3], b.addr.port())))
        .expect("binding 127.0.0.3");
    let hole_addr = hole.local_addr().unwrap();
    let channel = balanced(b.addr.port(), vec![b.addr, hole_addr]);
    let client = MenuServiceClient::new(channel.clone());

    // Act
    let started = Instant::now();
    let calls = drive(client, Duration::from_millis(2500)).await;

    // Assert: the hung replica is out within about a second; from then on
    // every call succeeds on B, fast.
    assert!(
        channel
            .replicas()
            .iter()
            .any(|(addr, up)| *addr == hole_addr && !up),
        "the hung replica is out"
    );
    let failed: Vec<_> = calls.iter().filter(|c| c.answer.is_err()).collect();
    let last_failure = failed
        .iter()
        .map(|c| c.at.saturating_duration_since(started))
        .max();
    println!(
        "a replica that never answers: {} calls, {} failed ({:?}), the last {last_failure:?} after the start",
        calls.len(),
        failed.len(),
        failed.iter().map(|c| c.answer).collect::<Vec<_>>(),
    );
    let late: Vec<_> = calls
        .iter()
        .filter(|c| c.at > started + Duration::from_millis(1500) + c.took)
        .collect();
    assert!(late.len() > 20, "calls kept coming: {}", late.len());
    assert!(
        late.iter()
            .all(|c| c.answer == Ok(Replica::B) && c.took < Duration::from_millis(500)),
        "after 1.5 s every call succeeds on B at once"
    );
    drop(hole);
    b.stop().await;
}

#[tokio::test]
async fn a_call_that_cannot_connect_is_sent_to_the_other_replica() {
    // Arrange: B, and 127.0.0.4 with nothing listening; no probe has run
    // yet, so both count as untested and take turns.
    let (a, b, _dirs) = two_replicas().await;
    a.stop().await;
    let dead = SocketAddr::from(([127, 0, 0, 4], b.addr.port()));
    let channel = balanced(b.addr.port(), vec![dead, b.addr]);
    let mut client = MenuServiceClient::new(channel.clone());

    // Act
    let mut answers = Vec::new();
    for _ in 0..10 {
        answers.push(who(&mut client).await);
    }

    // Assert
    assert!(
        answers.iter().all(|a| *a == Ok(Replica::B)),
        "every call succeeds on B: {answers:?}"
    );
    assert!(
        channel
            .replicas()
            .iter()
            .any(|(addr, up)| *addr == dead && !up),
        "the dead replica is out"
    );
    b.stop().await;
}
