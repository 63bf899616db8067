//! Flags and contexts, turned into one validated [`Config`] in one step.
//!
//! The board reads foodctl's contexts file (`food_client::contexts`) and
//! uses its `gateway` and `token`. Flags win over environment variables,
//! which win over the context.

use std::{path::PathBuf, time::Duration};

use anyhow::bail;
use chrono::TimeDelta;
use clap::Parser;
use food_api::Delivery;
use food_client::{
    Context, ContextsFile, DEFAULT_GATEWAY, contexts_path, normalise_gateway,
    parse_duration_with_unit,
};

/// The live delivery board, or with `--kitchen` a restaurant's kitchen screen.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "food-board",
    version,
    about,
    long_about = None,
    after_help = concat!(
        "Examples:\n",
        "  food-board                                        the delivery board (ops)\n",
        "  food-board --kitchen --restaurant maison-tandoor  a kitchen's screen, as ops\n",
        "  food-board --context local-kitchen --kitchen     the same, with its own key\n",
    )
)]
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
    /// Show only this restaurant's deliveries: a board for one kitchen's
    /// counter (ids from `foodctl restaurant list`).
    #[arg(long, value_name = "ID")]
    pub restaurant: Option<String>,
    /// The kitchen's screen: one restaurant's orders in the lanes PLACED,
    /// PREPARING and READY_FOR_PICKUP, with keys to accept, reject and
    /// ready them. The restaurant is `--restaurant`, else the context's
    /// `restaurant` (a context holding that restaurant's key).
    #[arg(long)]
    pub kitchen: bool,
    /// Show the board without the actions that change deliveries (or orders).
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
    #[arg(long, default_value = "10m", value_parser = parse_threshold)]
    pub warn_after: TimeDelta,
    /// Time in a status after which a card turns red.
    #[arg(long, default_value = "20m", value_parser = parse_threshold)]
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

/// Which deliveries the board shows: all of them, or one restaurant's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    /// `--restaurant`: the snapshot asks the gateway for this restaurant's
    /// deliveries, and live changes of others are dropped.
    pub restaurant: Option<String>,
}

impl Scope {
    pub fn restaurant(id: impl Into<String>) -> Self {
        Self {
            restaurant: Some(id.into()),
        }
    }

    /// Whether a delivery belongs on this board. The snapshot and both live
    /// feeds go through this one rule; a delivery from before restaurants
    /// belongs to none, so only an unscoped board shows it.
    pub fn admits(&self, d: &Delivery) -> bool {
        self.restaurant
            .as_deref()
            .is_none_or(|r| d.restaurant_id.as_deref() == Some(r))
    }
}

/// Everything the board needs, validated.
#[derive(Clone, Debug)]
pub struct Config {
    /// Base URL without a trailing slash.
    pub gateway: String,
    pub token: Option<String>,
    pub feed: Feed,
    pub scope: Scope,
    /// The context in use, for the header.
    pub context: Option<String>,
    /// `--kitchen`: the restaurant whose kitchen this is.
    pub kitchen: Option<String>,
    pub read_only: bool,
    pub warn_after: TimeDelta,
    pub alert_after: TimeDelta,
    /// `Some((width, height))` for `--snapshot`.
    pub snapshot: Option<(u16, u16)>,
}

impl Config {
    /// Reads the config file the flags point at, then resolves.
    pub fn load(cli: Cli) -> anyhow::Result<Self> {
        // Without a home directory there is no file, and the flags must do.
        let file = match cli.config.clone().or_else(|| contexts_path().ok()) {
            Some(path) => ContextsFile::load(&path)?,
            None => ContextsFile::default(),
        };
        Self::resolve(cli, &file)
    }

    /// Flags (and their env vars) over the context over the defaults.
    pub fn resolve(cli: Cli, file: &ContextsFile) -> anyhow::Result<Self> {
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
                None => Context::default(),
            },
            None => Context::default(),
        };
        let gateway = cli
            .gateway
            .or(ctx.gateway)
            .unwrap_or_else(|| DEFAULT_GATEWAY.to_owned());
        let gateway = normalise_gateway(&gateway)?;
        if cli.alert_after < cli.warn_after {
            bail!("--alert-after must not be shorter than --warn-after");
        }
        let restaurant = match cli.restaurant.map(|r| r.trim().to_owned()) {
            Some(r) if r.is_empty() => bail!("--restaurant must not be empty"),
            r => r,
        };
        // The context's restaurant goes with the context's key only.
        let bound = if cli.token.is_some() {
            None
        } else {
            ctx.restaurant.clone().filter(|r| !r.is_empty())
        };
        let kitchen = if cli.kitchen {
            match restaurant.clone().or(bound) {
                Some(r) => Some(r),
                None => bail!(
                    "--kitchen needs a restaurant: --restaurant ID (with that restaurant's key \
                     or an ops key), or a context naming its restaurant (`restaurant = \"ID\"` \
                     next to its token, as food-stack's local-kitchen has)"
                ),
            }
        } else {
            None
        };
        let topics = food_events::topics::Topics::with_prefix(&cli.topic_prefix);
        let feed = if cli.via_gateway {
            Feed::Sse
        } else {
            if cli.kafka_brokers.trim().is_empty() {
                bail!("--kafka-brokers must not be empty");
            }
            Feed::Kafka {
                brokers: cli.kafka_brokers,
                topic: if kitchen.is_some() {
                    topics.orders
                } else {
                    topics.deliveries
                },
            }
        };
        Ok(Self {
            gateway,
            token: cli.token.or(ctx.token).filter(|t| !t.is_empty()),
            feed,
            scope: Scope { restaurant },
            context: name.filter(|n| file.contexts.contains_key(n)),
            kitchen,
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

/// `90s`, `10m`, `2h`, `1h30m`, or a bare number of minutes.
pub fn parse_threshold(s: &str) -> Result<TimeDelta, String> {
    let d = parse_duration_with_unit(s, Duration::from_secs(60))?;
    TimeDelta::from_std(d).map_err(|_| format!("`{s}` is too long"))
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

    fn file() -> ContextsFile {
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
    fn restaurant_scopes_the_board_to_that_restaurants_deliveries() {
        let c = Config::resolve(
            cli(&["--restaurant", "sakura-sushi"]),
            &ContextsFile::default(),
        )
        .unwrap();
        assert_eq!(c.scope, Scope::restaurant("sakura-sushi"));
        assert!(Config::resolve(cli(&["--restaurant", " "]), &ContextsFile::default()).is_err());

        let mut d = crate::app::tests::delivery(1, food_api::DeliveryStatus::Pending, 1, 1);
        d.restaurant_id = None;
        assert!(
            Scope::default().admits(&d),
            "an old delivery is on the whole board"
        );
        assert!(!c.scope.admits(&d), "but on no restaurant's");
        d.restaurant_id = Some("sakura-sushi".into());
        assert!(c.scope.admits(&d));
        d.restaurant_id = Some("kintaro-ramen".into());
        assert!(!c.scope.admits(&d));
    }

    #[test]
    fn the_kitchen_needs_a_restaurant_from_the_flag_or_the_context() {
        let mut f = file();
        f.contexts.insert(
            "local-kitchen".into(),
            Context::new("http://127.0.0.1:8080", Some("kitchen-key".into()))
                .with_restaurant("maison-tandoor"),
        );

        let err = Config::resolve(cli(&["--kitchen"]), &f).unwrap_err();
        let bound = Config::resolve(cli(&["--kitchen", "--context", "local-kitchen"]), &f).unwrap();
        let ops = Config::resolve(cli(&["--kitchen", "--restaurant", "sakura-sushi"]), &f).unwrap();
        let other_key = Config::resolve(
            cli(&["--kitchen", "--context", "local-kitchen", "--token", "x"]),
            &f,
        );

        assert!(
            err.to_string().starts_with("--kitchen needs a restaurant"),
            "{err}"
        );
        assert_eq!(bound.kitchen.as_deref(), Some("maison-tandoor"));
        assert!(matches!(bound.feed, Feed::Kafka { topic, .. } if topic == "food.orders.v1"));
        assert_eq!(ops.kitchen.as_deref(), Some("sakura-sushi"));
        assert!(
            other_key.is_err(),
            "another key is not the context's restaurant's"
        );
        let plain = Config::resolve(cli(&["--context", "local-kitchen"]), &f).unwrap();
        assert_eq!(
            plain.kitchen, None,
            "the context alone does not make a kitchen"
        );
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
        let c = Config::resolve(cli(&[]), &ContextsFile::default()).unwrap();
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
            &ContextsFile::default(),
        )
        .unwrap();
        assert_eq!(c.snapshot, Some((80, 20)));
        assert_eq!(c.warn_after, TimeDelta::seconds(90));
        assert_eq!(c.alert_after, TimeDelta::minutes(2));
        assert!(parse_threshold("ten").is_err());
        assert!(
            Config::resolve(
                cli(&["--warn-after", "30", "--alert-after", "5"]),
                &ContextsFile::default()
            )
            .is_err()
        );
    }

    #[test]
    fn a_missing_config_file_is_an_empty_config() {
        let dir = tempfile::tempdir().unwrap();
        let f = ContextsFile::load(&dir.path().join("none.toml")).unwrap();
        assert!(f.contexts.is_empty());
    }
}
