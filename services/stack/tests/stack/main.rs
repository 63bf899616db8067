//! food-stack's tests, one binary:
//! - `services`: menu, order and delivery over gRPC, started as
//!   `food-stack` starts them (`food_stack::testing`) without the gateway;
//! - `external_kafka`: the `food-stack` binary on a broker it was given;
//! - `storage`: the binary on PostgreSQL, and the settings it honours;
//! - `upgrade`: the binary on a data dir of the release before restaurants;
//! - `deploy`: the compose file and the gateway's config for it;
//! - `shortids`: a short order id several orders share, through the
//!   services and the gateway.

mod deploy;
mod external_kafka;
mod services;
mod shortids;
mod storage;
mod upgrade;
