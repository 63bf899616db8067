//! `foodctl`, the food platform's command-line client for customers and ops.
//!
//! It talks to the gateway's REST API (docs/design.md, "Gateway API") with the JSON
//! shapes of `food_api`, and to Kafka directly for `events tail`.
//!
//! # Layout
//! - [`cli`]: the clap definition (flags, commands, help with exit codes).
//! - [`config`]: the effective [`config::Settings`] of a run, from flags and
//!   the contexts file (`food_client::contexts`).
//! - [`gateway`]: `food_client`'s gateway client, answering in [`doc::Doc`]s.
//! - [`commands`]: one module per command group.
//! - [`output`] and [`table`]: formats (table, wide, json, yaml, ndjson);
//!   [`doc`] keeps responses in the gateway's field order.
//! - [`parse`]: values parsed at the edge (item specs, ETAs, wait targets, keys).
//! - [`exit`]: exit codes and the one mapping from errors to them.
//! - [`progress`]: a progress line on stderr when it is a terminal.
//!
//! `foodctl --version` and `--help` return before any runtime starts; only
//! commands that talk to the network build a (single-threaded) tokio runtime.

pub mod cli;
pub mod commands;
pub mod config;
pub mod doc;
pub mod exit;
pub mod gateway;
pub mod output;
pub mod parse;
pub mod progress;
pub mod table;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, parser::ValueSource};
use food_client::{ContextsFile, contexts_path};

use crate::{
    cli::{Cli, Command},
    commands::{Ctx, context::Typed},
    config::Settings,
    exit::Exit,
    output::{OutputFormat, Printer},
};

/// Parses the command line and runs the command.
pub fn run() -> anyhow::Result<ExitCode> {
    let matches = match Cli::command().try_get_matches() {
        Ok(m) => m,
        Err(e) => {
            // --help and --version land here too, with exit code 0.
            let code = e.exit_code();
            let _ = e.print();
            return Ok(ExitCode::from(u8::try_from(code).unwrap_or(2)));
        }
    };
    let cli = Cli::from_arg_matches(&matches)?;
    match cli.command {
        Command::Completion { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "foodctl", &mut buf);
            let out = Printer {
                format: OutputFormat::Table,
                color: false,
                quiet: cli.global.quiet,
            };
            out.raw(&String::from_utf8_lossy(&buf))?;
            Ok(Exit::Ok.into())
        }
        Command::Context(cmd) => {
            let leaf = leaf_matches(&matches);
            let typed = Typed {
                gateway: typed_here(leaf, "gateway"),
                token: typed_here(leaf, "token"),
                output: typed_here(leaf, "output"),
            };
            commands::context::run(cmd, &cli.global, &typed)
        }
        Command::Events(cli::EventsCmd::Tail {
            topics,
            from_beginning,
            brokers,
            count,
        }) => {
            let settings = Settings::resolve(&cli.global, &ContextsFile::load(&contexts_path()?)?)?;
            let out = settings.printer();
            let tail = commands::events::Tail {
                topics,
                from_beginning,
                brokers,
                count,
                timeout: settings.timeout,
                verbose: settings.verbose > 0,
            };
            runtime()?.block_on(commands::events::tail(&out, tail))
        }
        command => {
            let settings = Settings::resolve(&cli.global, &ContextsFile::load(&contexts_path()?)?)?;
            let rt = runtime()?;
            rt.block_on(async move {
                let ctx = Ctx::new(settings)?;
                match command {
                    Command::Restaurant(c) => commands::restaurant::run(&ctx, c).await,
                    Command::Menu(c) => commands::menu::run(&ctx, c).await,
                    Command::Order(c) => commands::order::run(&ctx, c).await,
                    Command::Courier(c) => commands::courier::run(&ctx, c).await,
                    Command::Delivery(c) => commands::delivery::run(&ctx, c).await,
                    Command::Completion { .. } | Command::Context(_) | Command::Events(_) => {
                        unreachable!("handled without a runtime")
                    }
                }
            })
        }
    }
}

/// Prints an error once, as `foodctl: {err:#}`, and picks the exit code.
/// A closed stdout (`foodctl ... | head`) is not an error.
pub fn report(err: &anyhow::Error) -> ExitCode {
    if output::is_broken_pipe(err) {
        return ExitCode::SUCCESS;
    }
    eprintln!("foodctl: {err:#}");
    for id in ambiguous_candidates(err) {
        eprintln!("  {id}");
    }
    Exit::of(err).into()
}

/// The full ids a short id matched, when the gateway refused it as
/// ambiguous (409 `ambiguous_id`): printed one a line under the error, so
/// the one meant can be copied into the next command.
pub fn ambiguous_candidates(err: &anyhow::Error) -> Vec<String> {
    let body = err.chain().find_map(|cause| match cause.downcast_ref() {
        Some(food_client::ApiError::Api { body, .. }) => Some(body),
        _ => None,
    });
    match body {
        Some(body) if body.error.code == food_api::ErrorCode::AmbiguousId.as_str() => body
            .error
            .details
            .get("candidates")
            .and_then(|c| c.as_array())
            .into_iter()
            .flatten()
            .filter_map(|id| id.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn leaf_matches(m: &clap::ArgMatches) -> &clap::ArgMatches {
    let mut cur = m;
    while let Some((_, sub)) = cur.subcommand() {
        cur = sub;
    }
    cur
}

fn typed_here(m: &clap::ArgMatches, id: &str) -> bool {
    m.value_source(id) == Some(ValueSource::CommandLine)
}
