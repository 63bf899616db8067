//! Slow clients (slowloris): hundreds of connections that send their
//! request headers one byte a second must neither starve normal clients
//! nor hold their connections for ever.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{TestStack, Who, spawn_stack};

const SLOW_CLIENTS: usize = 200;
/// Requests per latency sample.
const SAMPLES: usize = 20;

/// The median latency of [`SAMPLES`] menu reads.
async fn median_latency(stack: &TestStack) -> Duration {
    let mut times = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let started = Instant::now();
        let res = stack
            .get("/menu/items?limit=5", Who::Anonymous)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{}", res.status());
        res.bytes().await.unwrap();
        times.push(started.elapsed());
    }
    times.sort();
    times[SAMPLES / 2]
}

/// Sends a request's headers one byte a second, never finishing them, and
/// returns how long the gateway kept the connection open.
async fn slowloris(addr: std::net::SocketAddr) -> Duration {
    let started = Instant::now();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut read, mut write) = tcp.into_split();
    let drip = async move {
        let head = format!("GET /menu/items HTTP/1.1\r\nhost: {addr}\r\nx-slow: ");
        for byte in head.bytes().chain(std::iter::repeat(b'a')) {
            if write.write_all(&[byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    };
    let mut sink = Vec::new();
    tokio::select! {
        _ = drip => {}
        _ = read.read_to_end(&mut sink) => {}
    }
    started.elapsed()
}

#[tokio::test]
async fn slow_clients_neither_starve_others_nor_keep_their_connections() {
    // Arrange
    let stack = spawn_stack().await;
    median_latency(&stack).await; // warm the menu cache and the pool
    let before = median_latency(&stack).await;

    // Act
    let slow: Vec<_> = (0..SLOW_CLIENTS)
        .map(|_| tokio::spawn(slowloris(stack.addr)))
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let during = median_latency(&stack).await;
    let patience = food_gateway::HEADER_READ_TIMEOUT + Duration::from_secs(10);
    let held = tokio::time::timeout(patience, futures::future::join_all(slow))
        .await
        .expect("the gateway cuts slow connections");

    // Assert
    let held: Vec<Duration> = held.into_iter().map(Result::unwrap).collect();
    let longest = held.iter().max().unwrap();
    println!(
        "slowloris: {SLOW_CLIENTS} slow connections; normal median latency {before:?} before, \
         {during:?} during; slow connections cut after at most {longest:?}"
    );
    let bound = (before * 10).max(Duration::from_millis(200));
    assert!(
        during <= bound,
        "{during:?} during against {before:?} before"
    );
    assert!(
        *longest < food_gateway::HEADER_READ_TIMEOUT + Duration::from_secs(3),
        "a slow connection was held {longest:?}"
    );
    assert_eq!(
        stack
            .get("/readyz", Who::Anonymous)
            .send()
            .await
            .unwrap()
            .status(),
        reqwest::StatusCode::OK
    );
}
