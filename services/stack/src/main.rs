use std::{process::ExitCode, time::Duration};

use clap::Parser;
use food_stack::{Args, Stack};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("food-stack: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(run());
    // A Kafka client whose close outlived its bound may still hold a
    // blocking thread; the process must not wait for it.
    runtime.shutdown_timeout(Duration::from_secs(2));
    code
}

async fn run() -> ExitCode {
    food_kit::telemetry::init();
    let args = Args::parse();
    let shutdown = food_kit::Shutdown::new();
    shutdown.trigger_on_signals();
    let config = match args.into_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("food-stack: {e:#}");
            return ExitCode::from(2);
        }
    };
    let stack = match Stack::start(config, shutdown.clone()).await {
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
