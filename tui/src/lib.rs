//! food-board: the live delivery board (docs/design.md, "Clients").
//!
//! # Layout
//! - [`app`]: the board's state. Plain data: deliveries merged by version,
//!   the connection state, cursor, filter, sort and key bindings. It never
//!   touches the terminal or the network.
//! - [`ui`]: `render(&App, &mut Frame)`; draws only what fits on screen.
//! - [`data`]: the gateway snapshot and actions, and the live feed (Kafka
//!   directly, or the gateway's SSE stream) with reconnects.
//! - [`config`]: flags and foodctl's contexts, resolved into one `Config`.
//! - [`event`]: the loop that selects over input, ticks and the data channel.
//! - [`kitchen`]: `--kitchen`, a restaurant's screen of orders (its own
//!   state, rendering, feed from `food.orders.v1` and loop).

pub mod app;
pub mod config;
pub mod data;
pub mod event;
pub mod kitchen;
pub mod ui;

/// Parses nothing, runs everything: the binary's whole body.
pub fn run(cli: config::Cli) -> anyhow::Result<()> {
    let config = config::Config::load(cli)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = match config.kitchen.clone() {
        Some(restaurant) => runtime.block_on(kitchen::data::run(config, restaurant)),
        None => runtime.block_on(event::run(config)),
    };
    // A Kafka consumer closing against a vanished broker may block a while;
    // quitting should not wait for it.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    result
}
