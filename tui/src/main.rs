use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    match food_board::run(food_board::config::Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("food-board: {e:#}");
            ExitCode::FAILURE
        }
    }
}
