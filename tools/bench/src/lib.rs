//! food-bench's parts as a library: the open-loop load engine, the calls it
//! makes against a deployment, a `food-stack` of its own and the sampling of
//! processes' CPU, memory and file descriptors. The `food-bench` binary
//! runs them as scenarios; the reliability suite (tests/reliability) drives
//! its loads with them while it breaks the platform.

pub mod ceiling;
pub mod engine;
pub mod live;
pub mod local;
pub mod procs;
pub mod report;
pub mod world;
