//! The menu service: what can be ordered and at what price, over gRPC
//! (`food.menu.v1.MenuService`), stored in SQLite or PostgreSQL and seeded
//! from the menu shipped in `data/menu.json`.
//!
//! # Layout
//! - [`settings`]: `Settings`, loaded from `FOOD_MENU__*`.
//! - [`startup`]: `Application::build` / `local_addr` / `run_until_stopped`,
//!   used by `menu-service`, `food-stack` and the tests alike.
//! - [`service`]: the gRPC handlers, their tracing spans and metrics.
//! - [`domain`]: item validation (`ItemId`, `ValidItem`), done once at the edge.
//! - [`page`]: page sizes and the opaque keyset cursor.
//! - [`store`]: the `items` table and its embedded migrations.
//! - [`seed`]: the embedded seed menu.
//! - [`error`]: `MenuError` and its mapping to `tonic::Status`.

pub mod domain;
pub mod error;
pub mod page;
pub mod seed;
pub mod service;
pub mod settings;
pub mod startup;
pub mod store;

pub use settings::Settings;
pub use startup::Application;
