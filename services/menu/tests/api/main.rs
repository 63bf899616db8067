//! The menu service through its gRPC API, against a real SQLite file (and
//! PostgreSQL when one is reachable). One binary keeps link time down.

mod healthcheck;
mod helpers;
mod import;
mod list;
mod lookup;
mod ops;
mod postgres;
mod replicas;
mod restaurants;
mod seeding;
mod upgrade;
