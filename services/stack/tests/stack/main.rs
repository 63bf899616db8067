//! food-stack's tests, one binary:
//! - `services`: menu, order and delivery over gRPC, started as
//!   `food-stack` starts them (`food_stack::testing`) without the gateway;
//! - `external_kafka`: the `food-stack` binary on a broker it was given;
//! - `storage`: the binary on PostgreSQL, and the settings it honours;
//! - `deploy`: the compose file and the gateway's config for it.

mod deploy;
mod external_kafka;
mod services;
mod storage;
