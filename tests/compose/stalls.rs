//! A part that hangs rather than dies: SIGSTOP (as a stalled VM, a long GC
//! pause or a livelocked process: its sockets stay open, nothing answers).
//!
//! - menu-service stopped: POST /orders (order-service asks menu-service
//!   for prices) answers 503 with `unavailable` or `timeout` within the
//!   gateway's downstream timeout (`downstream_timeout_ms`, 3 s; order-
//!   service's own `menu_timeout_ms` is 2 s), and reads of orders keep
//!   working;
//! - order-service stopped: the gateway's order routes answer 503 within
//!   its downstream timeout, its menu routes keep working.
//!
//! After SIGCONT each part serves again at once, with nothing restarted
//! (the same pids).

use std::time::{Duration, Instant};

use crate::{
    load::{Answer, client, get, post_order, until_ok},
    topology::{Options, Topology},
};

/// The gateway's `downstream_timeout_ms` (services/gateway/src/settings.rs).
const GATEWAY_TIMEOUT: Duration = Duration::from_millis(3000);
/// order-service's `menu_cache_ms` (services/order/src/lib.rs): for this
/// long after its last answer, a stopped menu-service is not asked.
const MENU_CACHE: Duration = Duration::from_millis(1000);
/// What a 503 may take beyond the timeout: the gateway's own work and the
/// host's port forwarding, on two cores shared with the build.
const SLACK: Duration = Duration::from_millis(700);
/// Requests asked of each route while a part is stopped.
const TRIES: usize = 2;
const PARTS: [&str; 4] = [
    "menu-service",
    "order-service",
    "delivery-service",
    "gateway",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root and network namespaces: .ci/run runs it"]
async fn a_stopped_downstream_gives_a_fast_503_and_recovers_on_sigcont() {
    let began = Instant::now();
    let topology = Topology::up(Options::default())
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    eprintln!(
        "stalls: topology up in {:.1} s",
        began.elapsed().as_secs_f64()
    );
    let base = topology.gateway_url();
    let http = client();
    let pids: Vec<u32> = PARTS.iter().map(|p| topology.pid(p, 1).unwrap()).collect();
    let placed = post_order(&http, &base, "stalls-0").await;
    assert_eq!(placed.status, 201, "{}", placed.body);
    let order = format!("/orders/{}", placed.body["id"].as_str().unwrap());
    eprintln!("stalls figures:");

    // menu-service stopped.
    topology.signal("menu-service", 1, "STOP").unwrap();
    let stopped = Instant::now();
    tokio::time::sleep(MENU_CACHE + Duration::from_millis(200)).await;
    let mut posts = Vec::new();
    for n in 1..=TRIES {
        posts.push(post_order(&http, &base, &format!("stalls-menu-{n}")).await);
    }
    let reads = times(&http, &base, &order).await;
    topology.signal("menu-service", 1, "CONT").unwrap();
    let resumed = Instant::now();
    let back = until_placed(&http, &base, resumed).await;
    eprintln!(
        "  menu-service SIGSTOP ({:.1} s): POST /orders {}; GET /orders/:id {}\n\
         \x20 menu-service SIGCONT: POST /orders 201 after {} ms",
        (resumed - stopped).as_secs_f64(),
        show(&posts),
        show(&reads),
        back.as_millis()
    );
    assert_fast_503s("POST /orders with menu-service stopped", &posts);
    assert_ok(&format!("GET {order} with menu-service stopped"), &reads);

    // order-service stopped.
    topology.signal("order-service", 1, "STOP").unwrap();
    let stopped = Instant::now();
    let order_reads = times(&http, &base, &order).await;
    let mut posts = Vec::new();
    for n in 1..=TRIES {
        posts.push(post_order(&http, &base, &format!("stalls-order-{n}")).await);
    }
    let menu_reads = times(&http, &base, "/menu/items/margherita").await;
    topology.signal("order-service", 1, "CONT").unwrap();
    let resumed = Instant::now();
    let back = until_ok(&http, &base, &order, resumed, Duration::from_secs(10))
        .await
        .expect("GET /orders/:id answered 200 within 10 s of SIGCONT");
    eprintln!(
        "  order-service SIGSTOP ({:.1} s): GET /orders/:id {}; POST /orders {}; \
         GET /menu/items/:id {}\n\
         \x20 order-service SIGCONT: GET /orders/:id 200 after {} ms",
        (resumed - stopped).as_secs_f64(),
        show(&order_reads),
        show(&posts),
        show(&menu_reads),
        back.as_millis()
    );
    let after: Vec<u32> = PARTS.iter().map(|p| topology.pid(p, 1).unwrap()).collect();
    eprintln!("  pids before {pids:?}, after {after:?} (nothing restarted)");

    assert_fast_503s("GET /orders/:id with order-service stopped", &order_reads);
    assert_fast_503s("POST /orders with order-service stopped", &posts);
    assert_ok(
        "GET /menu/items/:id with order-service stopped",
        &menu_reads,
    );
    assert!(
        back < Duration::from_secs(2),
        "order-service served within 2 s of SIGCONT"
    );
    assert_eq!(pids, after, "SIGSTOP and SIGCONT restarted nothing");
    // The pause lost no write: a POST acknowledged after SIGCONT is there.
    let again = until_placed(&http, &base, Instant::now()).await;
    assert!(again < Duration::from_secs(2), "orders flow again");
    drop(topology);
}

/// `GET path` [`TRIES`] times.
async fn times(http: &reqwest::Client, base: &str, path: &str) -> Vec<Answer> {
    let mut out = Vec::new();
    for _ in 0..TRIES {
        out.push(get(http, base, path).await);
    }
    out
}

/// POSTs fresh orders until one is acknowledged; how long from `since`.
async fn until_placed(http: &reqwest::Client, base: &str, since: Instant) -> Duration {
    for n in 0.. {
        let a = post_order(
            http,
            base,
            &format!("stalls-back-{}-{n}", std::process::id()),
        )
        .await;
        if a.status == 201 {
            break;
        }
        assert!(
            since.elapsed() < Duration::from_secs(10),
            "POST /orders answered 201 within 10 s: {} {}",
            a.status,
            a.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    since.elapsed()
}

/// `503 timeout 3012 ms, 503 unavailable 14 ms, ...`
fn show(answers: &[Answer]) -> String {
    answers
        .iter()
        .map(|a| format!("{} {} {} ms", a.status, a.code(), a.took.as_millis()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn assert_fast_503s(what: &str, answers: &[Answer]) {
    for a in answers {
        assert_eq!(a.status, 503, "{what}: {} {}", a.status, a.body);
        assert!(
            ["unavailable", "timeout"].contains(&a.code()),
            "{what}: a clear code: {}",
            a.body
        );
        assert!(
            a.took <= GATEWAY_TIMEOUT + SLACK,
            "{what}: within the gateway's downstream timeout: {} ms",
            a.took.as_millis()
        );
    }
}

fn assert_ok(what: &str, answers: &[Answer]) {
    for a in answers {
        assert_eq!(a.status, 200, "{what}: {}", a.body);
        assert!(
            a.took < Duration::from_secs(1),
            "{what}: at its usual pace: {} ms",
            a.took.as_millis()
        );
    }
}
