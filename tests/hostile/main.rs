//! Hostile input on every surface of the platform, against one stack: a
//! table of REST requests (sent as raw bytes, so that paths, headers and
//! bodies may be anything), GraphQL over HTTP and over WebSocket
//! (`graphql-transport-ws`), and gRPC straight to menu-, order- and
//! delivery-service. Every case must be refused with a clear 4xx in the
//! documented error shape (or the fitting gRPC code), never a 5xx, and the
//! stack must still serve afterwards. Beside it, slow clients (slowloris)
//! must not starve normal ones.

#[path = "../api/helpers.rs"]
#[allow(dead_code)] // The api target uses the rest of the helpers.
mod helpers;

mod graphql;
mod grpc;
mod rest;
mod slow;
mod ws;

use std::{collections::BTreeMap, time::Instant};

use reqwest::StatusCode;

use helpers::{Who, spawn_stack};

/// What the suite saw, by surface: for the summary line and the final
/// assertion that no case got a 5xx.
#[derive(Default)]
pub struct Tally {
    tried: BTreeMap<&'static str, usize>,
    /// Cases that answered a 5xx (or INTERNAL/UNKNOWN over gRPC), by name.
    server_errors: Vec<String>,
    /// Cases whose answer differed from the table's, with what came.
    mismatches: Vec<String>,
}

impl Tally {
    /// Records one case of `surface`: `server_error` when the platform
    /// failed on it, `mismatch` when the answer was not the expected one.
    pub fn record(
        &mut self,
        surface: &'static str,
        name: &str,
        server_error: bool,
        mismatch: Option<String>,
    ) {
        *self.tried.entry(surface).or_default() += 1;
        if server_error {
            self.server_errors.push(format!("{surface}: {name}"));
        }
        if let Some(m) = mismatch {
            self.mismatches.push(format!("{surface}: {name}: {m}"));
        }
    }

    fn summary(&self) -> String {
        let total: usize = self.tried.values().sum();
        let by_surface: Vec<String> = self.tried.iter().map(|(s, n)| format!("{s} {n}")).collect();
        format!(
            "hostile input: {total} cases ({}), 5xx seen: {}",
            by_surface.join(", "),
            self.server_errors.len()
        )
    }
}

#[tokio::test]
async fn hostile_input_is_refused_clearly_and_the_stack_keeps_serving() {
    // Arrange
    let stack = spawn_stack().await;
    let started = Instant::now();
    let mut tally = Tally::default();

    // Act
    rest::run(&stack, &mut tally).await;
    graphql::run(&stack, &mut tally).await;
    ws::run(&stack, &mut tally).await;
    grpc::run(&stack, &mut tally).await;

    // Assert
    println!("{} in {:?}", tally.summary(), started.elapsed());
    for failure in tally.server_errors.iter().chain(&tally.mismatches) {
        println!("  {failure}");
    }
    assert!(
        tally.server_errors.is_empty(),
        "5xx answers: {:#?}",
        tally.server_errors
    );
    assert!(
        tally.mismatches.is_empty(),
        "unexpected answers: {:#?}",
        tally.mismatches
    );
    assert!(
        tally.tried.values().sum::<usize>() >= 60,
        "{}",
        tally.summary()
    );
    let ready = stack.get("/readyz", Who::Anonymous).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let order = stack.create_order(Who::Alice).await;
    assert_eq!(order["status"], "PLACED", "{order}");
}
