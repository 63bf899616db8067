//! Flags and contexts, turned into one validated [`Config`] in one step.
//!
//! The board reads the same config file as `foodctl`:
//! `$XDG_CONFIG_HOME/foodctl/config.toml` (or `~/.config/foodctl/config.toml`),
//! with `current = "name"` and `[contexts.<name>] gateway, token, output`.
//! Flags win over environment variables, which win over the context.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use anyhow::{Context as _, bail};
use chrono::TimeDelta;
use clap::Parser;
use serde::Deserialize;

/// Where the gateway listens when nothing says otherwise (DESIGN.md section 3).
pub const DEFAULT_GATEWAY: &str = "http://127.0.0.1:8080";

/// The live delivery board.
#[derive(Clone, Debug, Parser)]
#[command(name = "food-board", version, about, long_about = None)]
pub struct Cli {
    /// The foodctl context to use (default: the file's `current`).
    #[arg(long, env = "FOODCTL_CONTEXT")]
    pub context: Option<String>,
    /// Gateway base URL (default: the context's, else http://127.0.0.1:8080).
    #[arg(long, env = "FOODCTL_GATEWAY")]
    pub gateway: Option<String>,
    /// API key sent as `Authorization: Bearer <token>`.
    #[arg(long, env = "FOODCTL_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Kafka bootstrap servers for the live feed.
    #[arg(long, env = "FOOD_KAFKA_BROKERS", default_value = "127.0.0.1:9092")]
    pub kafka_brokers: String,
    /// Prepended to topic names (tests share one broker this way).
    #[arg(long, hide = true, default_value = "")]
    pub topic_prefix: String,
    /// Show the board without the actions that change deliveries.
    #[arg(long)]
    pub read_only: bool,
    /// Follow the gateway's SSE stream instead of Kafka (no broker access needed).
    #[arg(long)]
    pub via_gateway: bool,
    /// Print one frame of the current board as text and exit (no terminal needed).
    #[arg(long)]
    pub snapshot: bool,
    /// Width of the `--snapshot` frame.
    #[arg(long, default_value_t = 160, requires = "snapshot")]
    pub width: u16,
    /// Height of the `--snapshot` frame.
    #[arg(long, default_value_t = 40, requires = "snapshot")]
    pub height: u16,
    /// Time in a status after which a card turns yellow (`90s`, `10m`, `1h`; bare numbers are minutes).
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub warn_after: TimeDelta,
    /// Time in a status after which a card turns red.
    #[arg(long, default_value = "20m", value_parser = parse_duration)]
    pub alert_after: TimeDelta,
    /// The foodctl config file (default: $XDG_CONFIG_HOME/foodctl/config.toml).
    #[arg(long, env = "FOODCTL_CONFIG", hide = true)]
    pub config: Option<PathBuf>,
}

/// Where the live changes come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Feed {
    /// `<prefix>food.deliveries.v1`, read directly.
    Kafka { brokers: String, topic: String },
    /// `GET /events/deliveries` on the gateway.
    Sse,
}

/// Everything the board needs, validated.
#[derive(Clone, Debug)]
pub struct Config {
    /// Base URL without a trailing slash.
    pub gateway: String,
    pub token: Option<String>,
    pub feed: Feed,
    /// The context in use, for the header.
    pub context: Option<String>,
    pub read_only: bool,
    pub warn_after: TimeDelta,
    pub alert_after: TimeDelta,
    /// `Some((width, height))` for `--snapshot`.
    pub snapshot: Option<(u16, u16)>,
}

/// foodctl's config file.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ConfigFile {
    pub current: Option<String>,
    #[serde(default)]
    pub contexts: BTreeMap<String, ContextEntry>,
}

/// One `[contexts.<name>]` table.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ContextEntry {
    pub gateway: Option<String>,
    pub token: Option<String>,
    /// foodctl's output format; the board has no use for it.
    #[allow(dead_code)]
    pub output: Option<String>,
}

impl ConfigFile {
    /// Reads the file; a missing file is an empty config.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                toml::from_str(&text).with_context(|| format!("reading {}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }
}

/// `$XDG_CONFIG_HOME/foodctl/config.toml`, else `~/.config/foodctl/config.toml`.
pub fn default_config_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("foodctl").join("config.toml"))
}

impl Config {
    /// Reads the config file the flags point at, then resolves.
    pub fn load(cli: Cli) -> anyhow::Result<Self> {
        let file = match cli.config.clone().or_else(default_config_path) {
            Some(path) => ConfigFile::load(&path)?,
            None => ConfigFile::default(),
        };
        Self::resolve(cli, &file)
    }

    /// Flags (and their env vars) over the context over the defaults.
    pub fn resolve(cli: Cli, file: &ConfigFile) -> anyhow::Result<Self> {
        let name = cli.context.clone().or_else(|| file.current.clone());
        let ctx = match &name {
            Some(n) => match file.contexts.get(n) {
                Some(c) => c.clone(),
                None if cli.context.is_some() => {
                    let known: Vec<&str> = file.contexts.keys().map(String::as_str).collect();
                    bail!(
                        "no context named `{n}` (known: {})",
                        if known.is_empty() {
                            "none".to_owned()
                        } else {
                            known.join(", ")
                        }
                    );
                }
                None => ContextEntry::default(),
            },
            None => ContextEntry::default(),
        };
        let gateway = cli
            .gateway
            .or(ctx.gateway)
            .unwrap_or_else(|| DEFAULT_GATEWAY.to_owned());
        let gateway = gateway.trim_end_matches('/').to_owned();
        if !(gateway.starts_with("http://") || gateway.starts_with("https://")) {
            bail!("--gateway must be an http:// or https:// URL, not `{gateway}`");
        }
        if cli.alert_after < cli.warn_after {
            bail!("--alert-after must not be shorter than --warn-after");
        }
        let feed = if cli.via_gateway {
            Feed::Sse
        } else {
            if cli.kafka_brokers.trim().is_empty() {
                bail!("--kafka-brokers must not be empty");
            }
            Feed::Kafka {
                brokers: cli.kafka_brokers,
                topic: food_events::topics::Topics::with_prefix(&cli.topic_prefix).deliveries,
            }
        };
        Ok(Self {
            gateway,
            token: cli.token.or(ctx.token).filter(|t| !t.is_empty()),
            feed,
            context: name.filter(|n| file.contexts.contains_key(n)),
            read_only: cli.read_only,
            warn_after: cli.warn_after,
            alert_after: cli.alert_after,
            snapshot: cli.snapshot.then_some((cli.width, cli.height)),
        })
    }

    /// Shown in the header: the context name, else the gateway.
    pub fn source(&self) -> String {
        let feed = match &self.feed {
            Feed::Kafka { .. } => "kafka",
            Feed::Sse => "sse",
        };
        match &self.context {
            Some(c) => format!("{c} ({feed})"),
            None => format!("{} ({feed})", self.gateway),
        }
    }
}

/// `90s`, `10m`, `2h`, or a bare number of minutes.
pub fn parse_duration(s: &str) -> Result<TimeDelta, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "m"),
    };
    let n: i64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration like 90s, 10m or 1h"))?;
    match unit {
        "s" => Ok(TimeDelta::seconds(n)),
        "m" | "min" => Ok(TimeDelta::minutes(n)),
        "h" => Ok(TimeDelta::hours(n)),
        _ => Err(format!("`{s}` is not a duration like 90s, 10m or 1h")),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn cli(args: &[&str]) -> Cli {
        let mut argv = vec!["food-board"];
        argv.extend(args);
        Cli::try_parse_from(argv).unwrap()
    }

    fn file() -> ConfigFile {
        toml::from_str(
            r#"
            current = "local"
            [contexts.local]
            gateway = "http://127.0.0.1:8080/"
            token = "ops-key"
            output = "table"
            [contexts.prod]
            gateway = "https://food.example"
            token = "prod-key"
            "#,
        )
        .unwrap()
    }

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_current_context_supplies_gateway_and_token() {
        let c = Config::resolve(cli(&[]), &file()).unwrap();
        assert_eq!(c.gateway, "http://127.0.0.1:8080");
        assert_eq!(c.token.as_deref(), Some("ops-key"));
        assert_eq!(c.context.as_deref(), Some("local"));
        assert!(matches!(c.feed, Feed::Kafka { topic, .. } if topic == "food.deliveries.v1"));
    }

    #[test]
    fn flags_win_over_the_context() {
        let c = Config::resolve(
            cli(&[
                "--context",
                "prod",
                "--token",
                "mine",
                "--topic-prefix",
                "t1.",
                "--via-gateway",
            ]),
            &file(),
        )
        .unwrap();
        assert_eq!(c.gateway, "https://food.example");
        assert_eq!(c.token.as_deref(), Some("mine"));
        assert_eq!(c.feed, Feed::Sse);
        let c = Config::resolve(cli(&["--topic-prefix", "t1."]), &file()).unwrap();
        assert!(matches!(c.feed, Feed::Kafka { topic, .. } if topic == "t1.food.deliveries.v1"));
    }

    #[test]
    fn an_unknown_context_is_an_error_naming_the_known_ones() {
        let err = Config::resolve(cli(&["--context", "nope"]), &file()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no context named `nope` (known: local, prod)"
        );
    }

    #[test]
    fn without_a_config_file_the_defaults_apply() {
        let c = Config::resolve(cli(&[]), &ConfigFile::default()).unwrap();
        assert_eq!(c.gateway, DEFAULT_GATEWAY);
        assert_eq!(c.token, None);
        assert_eq!(c.context, None);
    }

    #[test]
    fn snapshot_size_needs_snapshot_and_thresholds_parse() {
        assert!(Cli::try_parse_from(["food-board", "--width", "80"]).is_err());
        let c = Config::resolve(
            cli(&[
                "--snapshot",
                "--width",
                "80",
                "--height",
                "20",
                "--warn-after",
                "90s",
                "--alert-after",
                "2",
            ]),
            &ConfigFile::default(),
        )
        .unwrap();
        assert_eq!(c.snapshot, Some((80, 20)));
        assert_eq!(c.warn_after, TimeDelta::seconds(90));
        assert_eq!(c.alert_after, TimeDelta::minutes(2));
        assert!(parse_duration("ten").is_err());
        assert!(
            Config::resolve(
                cli(&["--warn-after", "30", "--alert-after", "5"]),
                &ConfigFile::default()
            )
            .is_err()
        );
    }

    #[test]
    fn a_missing_config_file_is_an_empty_config() {
        let dir = tempfile::tempdir().unwrap();
        let f = ConfigFile::load(&dir.path().join("none.toml")).unwrap();
        assert!(f.contexts.is_empty());
    }
}
