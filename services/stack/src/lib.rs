//! `food-stack`: the whole platform in one process on one machine.
//!
//! Starts the local broker (unless `--kafka-brokers` names a cluster), then
//! menu, order and delivery services and the gateway: the very same
//! `Application`s the separate binaries run, storing SQLite files under the
//! data dir. On first start it creates local API keys
//! (`<data dir>/local-keys.json`) and `foodctl` contexts that use them.
//!
//! # Layout
//! - [`Args`] / [`Config`]: flags (DESIGN.md section 7).
//! - [`keys`]: the local keys file and the foodctl contexts.
//! - [`Stack`]: starting and stopping every part in order.

pub mod keys;

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::Context;
use clap::Parser;
use food_kit::{Shutdown, settings::ServiceSettings};
use tokio::task::JoinHandle;

/// Flags of `food-stack`.
#[derive(Debug, Parser)]
#[command(
    version,
    about = "Runs the food platform on this machine: broker, services and gateway"
)]
pub struct Args {
    /// Where SQLite files, the broker's log and local-keys.json live.
    #[arg(long, default_value = "./data", env = "FOOD_DATA_DIR")]
    pub data_dir: PathBuf,
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub gateway_addr: SocketAddr,
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub menu_addr: SocketAddr,
    #[arg(long, default_value = "127.0.0.1:50052")]
    pub order_addr: SocketAddr,
    #[arg(long, default_value = "127.0.0.1:50053")]
    pub delivery_addr: SocketAddr,
    /// Where the embedded broker listens.
    #[arg(long, default_value = "127.0.0.1:9092")]
    pub broker_addr: SocketAddr,
    /// An external Kafka cluster (`host:port,...`); without it the embedded broker runs.
    #[arg(long, env = "FOOD_KAFKA_BROKERS")]
    pub kafka_brokers: Option<String>,
    /// Start from an empty data dir (deletes the old one).
    #[arg(long)]
    pub fresh: bool,
    /// Requests per second per customer key; 0 means none.
    #[arg(long, default_value_t = 0)]
    pub rate_limit: u32,
    /// Partitions of topics created at start.
    #[arg(long, default_value_t = 3)]
    pub partitions: i32,
    /// Replication factor of topics created at start (3 on a cluster of
    /// three brokers or more; see docs/deploy.md).
    #[arg(long, default_value_t = 1)]
    pub replication_factor: i32,
    /// `min.insync.replicas` of topics created at start (2 with a
    /// replication factor of 3); the broker's default when not given.
    #[arg(long)]
    pub min_insync_replicas: Option<u32>,
    /// Do not write foodctl contexts.
    #[arg(long)]
    pub no_contexts: bool,
}

/// What to start; tests build one with port 0 everywhere.
#[derive(Clone, Debug)]
pub struct Config {
    pub data_dir: PathBuf,
    pub gateway_addr: SocketAddr,
    pub menu_addr: SocketAddr,
    pub order_addr: SocketAddr,
    pub delivery_addr: SocketAddr,
    pub broker_addr: SocketAddr,
    pub kafka_brokers: Option<String>,
    pub fresh: bool,
    pub partitions: i32,
    pub replication_factor: i32,
    pub min_insync_replicas: Option<u32>,
    /// Prefix for topic names (tests share nothing).
    pub topic_prefix: String,
    /// Where to write foodctl contexts; `None` writes none.
    pub foodctl_config: Option<PathBuf>,
    /// The gateway's limits and options. The stack sets its address, the
    /// services' endpoints and Kafka, and adds the local keys to any keys
    /// given here.
    pub gateway: food_gateway::Settings,
}

impl Args {
    pub fn into_config(self) -> Config {
        Config {
            foodctl_config: (!self.no_contexts)
                .then(keys::foodctl_config_path)
                .flatten(),
            data_dir: self.data_dir,
            gateway_addr: self.gateway_addr,
            menu_addr: self.menu_addr,
            order_addr: self.order_addr,
            delivery_addr: self.delivery_addr,
            broker_addr: self.broker_addr,
            kafka_brokers: self.kafka_brokers,
            fresh: self.fresh,
            partitions: self.partitions,
            replication_factor: self.replication_factor,
            min_insync_replicas: self.min_insync_replicas,
            topic_prefix: String::new(),
            gateway: food_gateway::Settings {
                rate_limit_per_sec: self.rate_limit,
                ..Default::default()
            },
        }
    }
}

impl Config {
    /// Everything on free ports under `data_dir`, no contexts written.
    pub fn for_tests(data_dir: PathBuf) -> Self {
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        Self {
            data_dir,
            gateway_addr: any,
            menu_addr: any,
            order_addr: any,
            delivery_addr: any,
            broker_addr: any,
            kafka_brokers: None,
            fresh: false,
            partitions: 3,
            replication_factor: 1,
            min_insync_replicas: None,
            topic_prefix: String::new(),
            foodctl_config: None,
            gateway: food_gateway::Settings::default(),
        }
    }
}

struct Part {
    name: &'static str,
    addr: SocketAddr,
    task: JoinHandle<anyhow::Result<()>>,
    shutdown: Shutdown,
}

/// A running platform.
pub struct Stack {
    pub gateway: SocketAddr,
    pub menu: SocketAddr,
    pub order: SocketAddr,
    pub delivery: SocketAddr,
    /// `bootstrap.servers` of the broker in use.
    pub kafka_brokers: String,
    pub keys: keys::LocalKeys,
    pub keys_file: PathBuf,
    pub data_dir: PathBuf,
    pub topic_prefix: String,
    embedded: bool,
    parts: Vec<Part>,
    #[cfg(feature = "embedded-broker")]
    broker: Option<food_broker::EmbeddedBroker>,
}

impl Stack {
    /// Starts every part and returns once each is listening. `shutdown`
    /// stops them all (see [`Stack::wait`]).
    pub async fn start(config: Config, shutdown: Shutdown) -> anyhow::Result<Self> {
        if config.fresh && config.data_dir.exists() {
            std::fs::remove_dir_all(&config.data_dir)
                .with_context(|| format!("removing {}", config.data_dir.display()))?;
        }
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating the data dir {}", config.data_dir.display()))?;
        let data_dir = std::path::absolute(&config.data_dir)?;

        #[cfg(feature = "embedded-broker")]
        let mut broker = None;
        let (kafka_brokers, embedded) = match &config.kafka_brokers {
            Some(b) => (b.clone(), false),
            None => {
                #[cfg(feature = "embedded-broker")]
                {
                    let b = food_broker::EmbeddedBroker::start(
                        config.broker_addr,
                        food_broker::Storage::Sqlite(data_dir.join("broker.db")),
                    )
                    .await
                    .with_context(|| format!("starting the broker on {}", config.broker_addr))?;
                    let addr = b.bootstrap();
                    broker = Some(b);
                    (addr, true)
                }
                #[cfg(not(feature = "embedded-broker"))]
                anyhow::bail!("built without the embedded broker: pass --kafka-brokers")
            }
        };
        let topics = food_events::topics::Topics::with_prefix(&config.topic_prefix);
        let kafka = food_kit::settings::KafkaSettings {
            brokers: kafka_brokers.clone(),
            topic_prefix: config.topic_prefix.clone(),
            partitions: config.partitions,
            replication_factor: config.replication_factor,
            min_insync_replicas: config.min_insync_replicas,
            ..Default::default()
        };
        food_kit::kafka::ensure_topics(
            &kafka_brokers,
            &topics.all(),
            kafka.topic_layout(),
            Duration::from_secs(30),
        )
        .await
        .with_context(|| format!("creating topics on {kafka_brokers}"))?;

        let (local_keys, keys_file) = keys::load_or_create(&data_dir)?;

        let service = |listen: SocketAddr, name: &str| {
            let mut s = ServiceSettings::with_listen("127.0.0.1:0");
            s.listen = listen;
            s.data_dir = data_dir.clone();
            s.database_url = format!("sqlite://{}/{name}.db", data_dir.display());
            s.kafka = kafka.clone();
            if !config.topic_prefix.is_empty() {
                s.kafka.group_id = Some(format!("{}{name}-service", config.topic_prefix));
            }
            s
        };
        let mut parts = Vec::new();

        // Each part gets its own child token: the gateway stops first (no new
        // requests), then the services drain, then the broker goes.
        let child = shutdown.child();
        let menu = food_menu::Application::build(
            food_menu::Settings {
                service: service(config.menu_addr, "menu"),
                seed: true,
            },
            child.clone(),
        )
        .await
        .context("starting menu-service")?;
        let menu_addr = menu.local_addr();
        parts.push(Part {
            name: "menu-service",
            addr: menu_addr,
            task: tokio::spawn(menu.run_until_stopped()),
            shutdown: child,
        });

        let child = shutdown.child();
        let order = food_order::Application::build(
            food_order::Settings {
                service: service(config.order_addr, "order"),
                menu_url: format!("http://{menu_addr}"),
                ..food_order::Settings::default()
            },
            child.clone(),
        )
        .await
        .context("starting order-service")?;
        let order_addr = order.local_addr();
        parts.push(Part {
            name: "order-service",
            addr: order_addr,
            task: tokio::spawn(order.run_until_stopped()),
            shutdown: child,
        });

        let child = shutdown.child();
        let delivery = food_delivery::Application::build(
            food_delivery::Settings {
                service: service(config.delivery_addr, "delivery"),
            },
            child.clone(),
        )
        .await
        .context("starting delivery-service")?;
        let delivery_addr = delivery.local_addr();
        parts.push(Part {
            name: "delivery-service",
            addr: delivery_addr,
            task: tokio::spawn(delivery.run_until_stopped()),
            shutdown: child,
        });

        let child = shutdown.child();
        let mut gw = config.gateway.clone();
        gw.listen = config.gateway_addr;
        gw.menu_url = format!("http://{menu_addr}");
        gw.order_url = format!("http://{order_addr}");
        gw.delivery_url = format!("http://{delivery_addr}");
        gw.api_keys.extend(local_keys.api_keys());
        gw.kafka = food_kit::settings::KafkaSettings {
            group_id: gw.kafka.group_id.clone(),
            ..kafka.clone()
        };
        let gateway = food_gateway::Application::build(gw, child.clone())
            .await
            .context("starting the gateway")?;
        let gateway_addr = gateway.local_addr();
        parts.push(Part {
            name: "gateway",
            addr: gateway_addr,
            task: tokio::spawn(gateway.run_until_stopped()),
            shutdown: child,
        });

        if let Some(path) = &config.foodctl_config {
            keys::write_foodctl_contexts(path, &format!("http://{gateway_addr}"), &local_keys)
                .with_context(|| format!("writing foodctl contexts to {}", path.display()))?;
        }

        Ok(Self {
            gateway: gateway_addr,
            menu: menu_addr,
            order: order_addr,
            delivery: delivery_addr,
            kafka_brokers,
            keys: local_keys,
            keys_file,
            data_dir,
            topic_prefix: config.topic_prefix,
            embedded,
            parts,
            #[cfg(feature = "embedded-broker")]
            broker,
        })
    }

    /// One line per part, then where the keys are and what to try. A
    /// closed stdout (`food-stack | head -1`) does not stop the stack.
    pub fn print_ready(&self) {
        let _ = self.write_ready(&mut std::io::stdout().lock());
    }

    fn write_ready(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        let broker_kind = if self.embedded {
            format!(
                "embedded, log in {}",
                self.data_dir.join("broker.db").display()
            )
        } else {
            "external".to_owned()
        };
        writeln!(
            out,
            "broker           ready  {} ({broker_kind})",
            self.kafka_brokers
        )?;
        for p in &self.parts {
            writeln!(out, "{:<16} ready  {}", p.name, p.addr)?;
        }
        writeln!(out, "api keys         {}", self.keys_file.display())?;
        writeln!(
            out,
            "try: foodctl menu list    (or: curl http://{}/menu/items)",
            self.gateway
        )?;
        out.flush()
    }

    /// Stops one part (`"menu-service"`, `"order-service"`,
    /// `"delivery-service"` or `"gateway"`) and waits for it, leaving the
    /// others running: a downstream outage, for tests.
    pub async fn stop_part(&mut self, name: &str) -> anyhow::Result<()> {
        let at = self
            .parts
            .iter()
            .position(|p| p.name == name)
            .with_context(|| format!("no running part named {name}"))?;
        let part = self.parts.remove(at);
        part.shutdown.trigger();
        match tokio::time::timeout(Duration::from_secs(15), part.task).await {
            Ok(Ok(result)) => result.context(part.name),
            Ok(Err(e)) => anyhow::bail!("{} panicked: {e}", part.name),
            Err(_) => anyhow::bail!("{} did not stop within 15 s", part.name),
        }
    }

    /// Stops every part, gateway first, broker last; returns the first error.
    pub async fn stop(self) -> anyhow::Result<()> {
        for p in &self.parts {
            p.shutdown.trigger();
        }
        self.wait().await
    }

    /// Waits for the parts to stop (after the shutdown token was tripped).
    pub async fn wait(self) -> anyhow::Result<()> {
        let mut first_error = None;
        for p in self.parts.into_iter().rev() {
            p.shutdown.trigger();
            match tokio::time::timeout(Duration::from_secs(15), p.task).await {
                Ok(Ok(Ok(()))) => tracing::info!(part = p.name, "stopped"),
                Ok(Ok(Err(e))) => {
                    tracing::error!(part = p.name, error = %format!("{e:#}"), "stopped with an error");
                    first_error.get_or_insert(e.context(p.name));
                }
                Ok(Err(e)) => {
                    first_error.get_or_insert(anyhow::anyhow!("{} panicked: {e}", p.name));
                }
                Err(_) => {
                    first_error
                        .get_or_insert(anyhow::anyhow!("{} did not stop within 15 s", p.name));
                }
            }
        }
        #[cfg(feature = "embedded-broker")]
        if let Some(b) = self.broker {
            b.stop().await;
        }
        first_error.map_or(Ok(()), Err)
    }
}
