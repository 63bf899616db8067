//! The body of every service's `main`: telemetry, settings (one line and
//! exit code 2 when one is bad), signals, then the service until it stops.
//! `<binary> healthcheck` asks the running process instead (see
//! [`crate::healthcheck`]).

use std::{future::Future, process::ExitCode};

use serde::{Serialize, de::DeserializeOwned};

use crate::{
    Shutdown,
    healthcheck::{Probe, Probed},
    settings, telemetry,
};

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    Serve,
    Healthcheck,
    Help,
    Version,
}

fn command(args: &[String]) -> Result<Command, String> {
    match args {
        [] => Ok(Command::Serve),
        [one] if one == "healthcheck" => Ok(Command::Healthcheck),
        [one] if one == "-h" || one == "--help" || one == "help" => Ok(Command::Help),
        [one] if one == "-V" || one == "--version" => Ok(Command::Version),
        [first, ..] => Err(format!("unexpected argument '{first}'")),
    }
}

fn usage(binary: &str, service: &str) -> String {
    format!(
        "Usage: {binary} [healthcheck]\n\n\
         With no argument, serves until SIGTERM or Ctrl-C.\n\
         healthcheck  asks the running {binary} at its configured address; exit 0 when it serves\n\n\
         Settings: defaults, then the TOML file named by FOOD_CONFIG, then FOOD_{}__* variables\n\
         (nested fields joined with __), FOOD_KAFKA_BROKERS and FOOD_DATA_DIR.",
        service.to_ascii_uppercase()
    )
}

/// Runs `serve` with settings loaded for `service` (`FOOD_<SERVICE>__*`);
/// `binary` names the process in error lines. With the argument
/// `healthcheck`, asks the running process where the same settings say it
/// listens, prints one line and exits 0 (serving) or 1.
pub async fn run<S, F, Fut>(service: &str, binary: &str, serve: F) -> ExitCode
where
    S: Serialize + DeserializeOwned + Default + Probed,
    F: FnOnce(S, Shutdown) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match command(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{binary}: {e}\n\n{}", usage(binary, service));
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help => {
            println!("{}", usage(binary, service));
            return ExitCode::SUCCESS;
        }
        Command::Version => {
            println!("{binary} {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Command::Serve | Command::Healthcheck => {}
    }
    if command == Command::Serve {
        telemetry::init();
    }
    let settings: S = match settings::load(service) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{binary}: {e}");
            return ExitCode::from(2);
        }
    };
    if command == Command::Healthcheck {
        return healthcheck(binary, settings.probe()).await;
    }
    let shutdown = Shutdown::new();
    shutdown.trigger_on_signals();
    match serve(settings, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{binary}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn healthcheck(binary: &str, probe: Probe) -> ExitCode {
    match probe.check().await {
        Ok(line) => {
            println!("{binary}: {line}");
            ExitCode::SUCCESS
        }
        Err(line) => {
            println!("{binary}: not serving: {line}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_command_line_is_serve_healthcheck_help_or_version() {
        assert_eq!(command(&args(&[])), Ok(Command::Serve));
        assert_eq!(command(&args(&["healthcheck"])), Ok(Command::Healthcheck));
        assert_eq!(command(&args(&["--help"])), Ok(Command::Help));
        assert_eq!(command(&args(&["-V"])), Ok(Command::Version));
        assert!(command(&args(&["healthcheck", "now"])).is_err());
        assert!(command(&args(&["serve"])).unwrap_err().contains("'serve'"));
    }
}
