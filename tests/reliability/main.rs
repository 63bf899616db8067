//! Faults on one machine under food-bench's open-loop load, against a real
//! `food-stack` process (the debug binaries cargo built beside the test):
//! a broker outage, kill -9 and a restart on the same data dir, a replay
//! of every topic, a full disk and a soak. Each test prints one summary
//! block of figures (docs/reliability.md). All are slow and `#[ignore]`d:
//! `cargo test --workspace --test reliability -- --ignored --test-threads=1`
//! (the full disk needs root for its tmpfs; `FOOD_SOAK_SECS` lengthens
//! the soak).

mod broker_outage;
mod crash;
mod disk_full;
mod platform;
mod soak;
