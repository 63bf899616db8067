//! The menu service: the restaurants, what each of them sells and at what
//! price, over gRPC (`food.menu.v1.MenuService`), stored in SQLite or
//! PostgreSQL and seeded from the menu shipped in `data/menu.json`.
//!
//! # Layout
//! - [`settings`]: `Settings`, loaded from `FOOD_MENU__*`, and `SeedMode`.
//! - [`startup`]: `Application::build` / `local_addr` / `run_until_stopped`,
//!   used by `menu-service`, `food-stack` and the tests alike.
//! - [`service`]: the gRPC handlers, their tracing spans and metrics.
//! - [`domain`]: restaurant and item validation (`RestaurantId`,
//!   `ValidRestaurant`, `ItemId`, `ValidItem`), done once at the edge.
//! - [`page`]: the opaque keyset cursors of items and restaurants.
//! - [`store`]: the `restaurants` and `items` tables and their embedded migrations.
//! - [`seed`]: the embedded seed menu and the seed modes.
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
