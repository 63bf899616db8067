//! docker-compose.yml run without Docker, with real network separation:
//! each service replica in a Linux network namespace of its own on one
//! bridge, names resolving as on the compose network, healthchecks and
//! `depends_on` honoured (the harness: [`topology`]).
//!
//! - `flow`: the seed flow (menu, order, delivery to DELIVERED, SSE)
//!   through the gateway's published port, and `foodctl` as the compose
//!   `tools` profile runs it;
//! - `faults`: a renamed variable, a host name that does not resolve and a
//!   missing healthcheck in a copy of the compose file each fail `up`,
//!   naming the service;
//! - `isolation`: no route off the machine, and nothing of a run left
//!   after it;
//! - `replicas`: two order-service and two delivery-service replicas share
//!   the partitions and the calls, and losing one (killed, or its link cut)
//!   loses and repeats nothing under load;
//! - `crashes`: each service and the gateway killed (SIGKILL) in turn
//!   under load and restarted as compose's `restart:` would: recovery
//!   times, nothing acknowledged lost, nothing applied twice;
//! - `stalls`: menu-service, then order-service, stopped (SIGSTOP): a 503
//!   with a clear code within the gateway's downstream timeout, the other
//!   routes unhurt, and SIGCONT restores them with nothing restarted;
//! - `postgres_restart`: the topology's PostgreSQL restarted under load:
//!   503s in the gap, pools that recover by themselves, nothing lost.
//!
//! `load` is the order load they (and `replicas`) run and the checks of it
//! against the databases and topics.
//!
//! They need root (namespaces, links, mounts), PostgreSQL's binaries, Java
//! and the project's binaries built (`cargo test --workspace` builds the
//! debug ones into $CARGO_TARGET_DIR/debug, which the harness runs; or
//! `cargo build --bins`; or FOOD_BIN_DIR), so they are `#[ignore]`d;
//! `.ci/run` runs them:
//!
//!   cargo test -p food-e2e --test compose -- --ignored --test-threads=1 --nocapture

mod crashes;
mod faults;
mod flow;
mod isolation;
mod load;
mod postgres_restart;
mod replicas;
mod stalls;
mod topology;
