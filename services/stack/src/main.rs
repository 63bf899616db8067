use std::process::ExitCode;

use clap::Parser;
use food_stack::{Args, Stack};

#[tokio::main]
async fn main() -> ExitCode {
    food_kit::telemetry::init();
    let args = Args::parse();
    let shutdown = food_kit::Shutdown::new();
    shutdown.trigger_on_signals();
    let stack = match Stack::start(args.into_config(), shutdown.clone()).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("food-stack: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    stack.print_ready();
    shutdown.cancelled().await;
    eprintln!("food-stack: stopping");
    match stack.wait().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("food-stack: {e:#}");
            ExitCode::FAILURE
        }
    }
}
