//! `foodctl` end to end: the real binary against a real stack (embedded
//! broker, the three services and the gateway, in-process on free ports).
//!
//! Most tests share one stack and touch only orders they create; the bulk
//! test starts its own so its counts are its own.

mod basics;
mod bulk;
mod context;
mod deliveries;
mod errors;
mod events;
mod helpers;
mod kitchen;
mod menu;
mod orders;
mod restaurants;
mod shortids;
