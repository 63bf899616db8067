//! `food-stack`: the whole platform in one process on one machine.
//!
//! Starts the local broker (unless `--kafka-brokers` names a cluster), then
//! menu, order and delivery services and the gateway: the very same
//! `Application`s the separate binaries run, storing SQLite files under the
//! data dir. On first start it creates local API keys
//! (`<data dir>/local-keys.json`) and `foodctl` contexts that use them.
//!
//! # Layout
//! - [`Args`] / [`Config`]: flags (docs/operations.md).
//! - [`keys`]: the local keys file and the foodctl contexts.
//! - [`Stack`]: starting and stopping every part in order.
//! - `testing` (feature `test-util`): the test harness around [`Stack`].

mod env;
pub mod keys;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;

use std::{future::Future, net::SocketAddr, path::PathBuf, pin::Pin, time::Duration};

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
    /// Requests per second per customer key; 0 means none [default: 0, or
    /// FOOD_GATEWAY__RATE_LIMIT_PER_SEC].
    #[arg(long)]
    pub rate_limit: Option<u32>,
    /// A PostgreSQL server for the services' databases instead of SQLite
    /// files: `menu`, `orders` and `deliveries` on it, created when missing
    /// (`postgres://host/food` makes them `food_menu`, ...).
    /// `FOOD_<SERVICE>__DATABASE_URL` still picks one service's database.
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
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
    /// A PostgreSQL server: each service without a database URL of its own
    /// gets a database there (`menu`, `orders`, `deliveries`, after the
    /// URL's own database name and `_` when it names one).
    pub postgres: Option<String>,
    /// Each part's own settings (from `FOOD_<PART>__*` for `food-stack`).
    /// The stack sets their addresses, data dir, Kafka and the parts'
    /// endpoints, and adds the local keys to any keys the gateway has.
    pub menu: food_menu::Settings,
    pub order: food_order::Settings,
    pub delivery: food_delivery::Settings,
    pub gateway: food_gateway::Settings,
}

impl Args {
    /// The config `food-stack` runs with: the flags, and each part's
    /// settings from its environment variables (refusing those the stack
    /// sets itself, see [`env`]).
    pub fn into_config(self) -> anyhow::Result<Config> {
        let vars: Vec<(String, String)> = std::env::vars().collect();
        let mut gateway: food_gateway::Settings = env::load("gateway", &vars)?;
        if let Some(limit) = self.rate_limit {
            gateway.rate_limit_per_sec = limit;
        }
        Ok(Config {
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
            postgres: self.postgres,
            menu: {
                let mut menu: food_menu::Settings = env::load("menu", &vars)?;
                // The stack adds a newer seed's restaurants to an older data
                // dir (docs/operations.md, "Upgrade") unless told otherwise.
                if !vars.iter().any(|(k, _)| k == "FOOD_MENU__SEED") {
                    menu.seed = food_menu::settings::SeedMode::Missing;
                }
                menu
            },
            order: env::load("order", &vars)?,
            delivery: env::load("delivery", &vars)?,
            gateway,
        })
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
            postgres: None,
            menu: food_menu::Settings {
                seed: food_menu::settings::SeedMode::Missing,
                ..Default::default()
            },
            order: Default::default(),
            delivery: Default::default(),
            gateway: food_gateway::Settings::default(),
        }
    }
}

/// A service's consumer group when topics are prefixed, so that stacks
/// sharing a broker share no group.
fn group_id(prefix: &str, service: &str) -> String {
    format!("{prefix}{service}-service")
}

/// The `Application` API that each service and the gateway share
/// (docs/design.md): what the stack needs to start, stop and restart a part.
trait App: Sized + Send + 'static {
    type Settings: Clone + Send + Sync + 'static;
    fn build(
        settings: Self::Settings,
        shutdown: Shutdown,
    ) -> impl Future<Output = anyhow::Result<Self>> + Send;
    fn local_addr(&self) -> SocketAddr;
    fn run_until_stopped(self) -> impl Future<Output = anyhow::Result<()>> + Send + 'static;
    /// Where `settings` say to listen: a restart listens where the part did.
    fn listen(settings: &mut Self::Settings) -> &mut SocketAddr;
}

macro_rules! app {
    ($app:ty, $settings:ty, |$s:ident| $listen:expr) => {
        impl App for $app {
            type Settings = $settings;
            async fn build(settings: $settings, shutdown: Shutdown) -> anyhow::Result<Self> {
                <$app>::build(settings, shutdown).await
            }
            fn local_addr(&self) -> SocketAddr {
                <$app>::local_addr(self)
            }
            fn run_until_stopped(
                self,
            ) -> impl Future<Output = anyhow::Result<()>> + Send + 'static {
                <$app>::run_until_stopped(self)
            }
            fn listen($s: &mut $settings) -> &mut SocketAddr {
                $listen
            }
        }
    };
}

app!(food_menu::Application, food_menu::Settings, |s| &mut s
    .service
    .listen);
app!(food_order::Application, food_order::Settings, |s| &mut s
    .service
    .listen);
app!(food_delivery::Application, food_delivery::Settings, |s| {
    &mut s.service.listen
});
app!(food_gateway::Application, food_gateway::Settings, |s| {
    &mut s.listen
});

type Launch = Box<
    dyn Fn(Shutdown) -> Pin<Box<dyn Future<Output = anyhow::Result<Running>> + Send>> + Send + Sync,
>;

/// One part of the stack, running or stopped by [`Stack::stop_part`].
struct Part {
    name: &'static str,
    addr: SocketAddr,
    /// Where the part keeps its data, for its ready line.
    store: Option<String>,
    /// Starts the part again on `addr` with the settings it first had.
    launch: Launch,
    running: Option<Running>,
}

struct Running {
    task: JoinHandle<anyhow::Result<()>>,
    shutdown: Shutdown,
}

impl Part {
    /// Builds and spawns `A` under a child of `stack`'s token, so that
    /// each part can be stopped on its own and in order.
    async fn start<A: App>(
        name: &'static str,
        mut settings: A::Settings,
        stack: &Shutdown,
    ) -> anyhow::Result<Self> {
        let shutdown = stack.child();
        let app = A::build(settings.clone(), shutdown.clone())
            .await
            .with_context(|| format!("starting {name}"))?;
        let addr = app.local_addr();
        *A::listen(&mut settings) = addr;
        let launch: Launch = Box::new(move |shutdown: Shutdown| {
            let settings = settings.clone();
            Box::pin(async move {
                let app = A::build(settings, shutdown.clone())
                    .await
                    .with_context(|| format!("restarting {name}"))?;
                Ok(Running {
                    task: tokio::spawn(app.run_until_stopped()),
                    shutdown,
                })
            })
        });
        Ok(Self {
            name,
            addr,
            store: None,
            launch,
            running: Some(Running {
                task: tokio::spawn(app.run_until_stopped()),
                shutdown,
            }),
        })
    }

    /// Trips the part's token and waits for it to stop.
    async fn stop(&mut self) -> anyhow::Result<()> {
        let Some(running) = self.running.take() else {
            return Ok(());
        };
        running.shutdown.trigger();
        match tokio::time::timeout(Duration::from_secs(15), running.task).await {
            Ok(Ok(result)) => result.context(self.name),
            Ok(Err(e)) => anyhow::bail!("{} panicked: {e}", self.name),
            Err(_) => anyhow::bail!("{} did not stop within 15 s", self.name),
        }
    }
}

type DatabaseUrl = Box<dyn Fn(&str) -> String + Send + Sync>;

/// What only the test harness changes ([`testing`]); `food-stack` itself
/// runs with the defaults.
#[derive(Default)]
struct Tweaks {
    /// Menu, order and delivery only: service-level tests call them over
    /// gRPC.
    no_gateway: bool,
    /// Each service's database URL by its name (`menu`, ...), instead of a
    /// SQLite file in the data dir.
    database_url: Option<DatabaseUrl>,
    /// order-service's settings apart from those the stack sets.
    order: Option<food_order::Settings>,
}

/// A running platform.
pub struct Stack {
    /// The gateway's address; port 0 when the stack runs without one
    /// (service-level tests).
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
    /// In start order: menu, order, delivery, gateway.
    parts: Vec<Part>,
    /// The parent of each part's token; a restarted part gets a new child.
    shutdown: Shutdown,
    #[cfg(feature = "embedded-broker")]
    broker: Option<food_broker::EmbeddedBroker>,
}

impl Stack {
    /// Starts every part and returns once each is listening. `shutdown`
    /// stops them all (see [`Stack::wait`]).
    pub async fn start(config: Config, shutdown: Shutdown) -> anyhow::Result<Self> {
        Self::start_with(config, shutdown, Tweaks::default()).await
    }

    async fn start_with(
        config: Config,
        shutdown: Shutdown,
        tweaks: Tweaks,
    ) -> anyhow::Result<Self> {
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

        // A test's URL, then the service's own, then a database on the
        // --postgres server, then a SQLite file in the data dir.
        let mut database_urls = Vec::new();
        for (name, own, database) in [
            ("menu", &config.menu.service, "menu"),
            ("order", &config.order.service, "orders"),
            ("delivery", &config.delivery.service, "deliveries"),
        ] {
            let url = if let Some(url) = &tweaks.database_url {
                url(name)
            } else if !own.database_url.is_empty() {
                own.database_url.clone()
            } else if let Some(server) = &config.postgres {
                let database = match food_kit::db::postgres_url_database(server) {
                    Some(prefix) => format!("{prefix}_{database}"),
                    None => database.to_owned(),
                };
                food_kit::db::create_postgres_database(server, &database).await?;
                food_kit::db::postgres_database_url(server, &database)?
            } else {
                format!("sqlite://{}/{name}.db", data_dir.display())
            };
            database_urls.push((name, url));
        }
        let service = |own: &ServiceSettings, listen: SocketAddr, name: &str| {
            let mut s = own.clone();
            s.listen = listen;
            s.data_dir = data_dir.clone();
            s.database_url = database_urls
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, url)| url.clone())
                .unwrap_or_default();
            s.kafka = food_kit::settings::KafkaSettings {
                consumer_batch_interval_ms: own.kafka.consumer_batch_interval_ms,
                group_id: own.kafka.group_id.clone(),
                ..kafka.clone()
            };
            if !config.topic_prefix.is_empty() {
                s.kafka.group_id = Some(group_id(&config.topic_prefix, name));
            }
            s
        };

        // The gateway stops first (no new requests), then the services
        // drain, then the broker goes: `wait` stops the parts in reverse.
        let mut parts = Vec::new();
        let menu = food_menu::Settings {
            service: service(&config.menu.service, config.menu_addr, "menu"),
            ..config.menu.clone()
        };
        let menu_store = env::store_label(&menu.service.database_url);
        parts.push(Part::start::<food_menu::Application>("menu-service", menu, &shutdown).await?);
        parts[0].store = Some(menu_store);
        let menu_addr = parts[0].addr;
        let order_own = tweaks.order.unwrap_or(config.order);
        let order = food_order::Settings {
            service: service(&order_own.service, config.order_addr, "order"),
            menu_url: format!("http://{menu_addr}"),
            ..order_own
        };
        let order_store = env::store_label(&order.service.database_url);
        parts
            .push(Part::start::<food_order::Application>("order-service", order, &shutdown).await?);
        parts[1].store = Some(order_store);
        let delivery = food_delivery::Settings {
            service: service(&config.delivery.service, config.delivery_addr, "delivery"),
            max_active_per_courier: config.delivery.max_active_per_courier,
        };
        let delivery_store = env::store_label(&delivery.service.database_url);
        parts.push(
            Part::start::<food_delivery::Application>("delivery-service", delivery, &shutdown)
                .await?,
        );
        parts[2].store = Some(delivery_store);
        let [order_addr, delivery_addr] = [parts[1].addr, parts[2].addr];

        let mut gateway_addr = SocketAddr::from(([127, 0, 0, 1], 0));
        if !tweaks.no_gateway {
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
            let gateway =
                Part::start::<food_gateway::Application>("gateway", gw, &shutdown).await?;
            gateway_addr = gateway.addr;
            parts.push(gateway);

            if let Some(path) = &config.foodctl_config {
                keys::write_foodctl_contexts(path, &format!("http://{gateway_addr}"), &local_keys)
                    .with_context(|| format!("writing foodctl contexts to {}", path.display()))?;
            }
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
            shutdown,
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
            match &p.store {
                Some(store) => writeln!(out, "{:<16} ready  {} ({store})", p.name, p.addr)?,
                None => writeln!(out, "{:<16} ready  {}", p.name, p.addr)?,
            }
        }
        writeln!(
            out,
            "api keys         {} (ops, couriers, kitchens, customers)",
            self.keys_file.display()
        )?;
        writeln!(
            out,
            "try: foodctl restaurant list    (or: curl http://{}/restaurants)",
            self.gateway
        )?;
        writeln!(
            out,
            "     foodctl --context local-kitchen order list    (maison-tandoor's kitchen accepts by hand)"
        )?;
        writeln!(
            out,
            "     foodctl --context local-courier courier on courier-1    (couriers start off shift)"
        )?;
        out.flush()
    }

    /// Stops one part (`"menu-service"`, `"order-service"`,
    /// `"delivery-service"` or `"gateway"`) and waits for it, leaving the
    /// others running: a downstream outage, for tests.
    pub async fn stop_part(&mut self, name: &str) -> anyhow::Result<()> {
        let part = self.part(name)?;
        anyhow::ensure!(part.running.is_some(), "{name} is not running");
        part.stop().await
    }

    /// Starts a part that [`Stack::stop_part`] stopped, on the address and
    /// with the settings it had: the end of an outage, for tests.
    pub async fn restart_part(&mut self, name: &str) -> anyhow::Result<()> {
        let shutdown = self.shutdown.child();
        let part = self.part(name)?;
        anyhow::ensure!(part.running.is_none(), "{name} is running");
        part.running = Some((part.launch)(shutdown).await?);
        Ok(())
    }

    fn part(&mut self, name: &str) -> anyhow::Result<&mut Part> {
        self.parts
            .iter_mut()
            .find(|p| p.name == name)
            .with_context(|| format!("no part named {name}"))
    }

    /// Stops every part, gateway first, broker last; returns the first error.
    pub async fn stop(self) -> anyhow::Result<()> {
        for running in self.parts.iter().filter_map(|p| p.running.as_ref()) {
            running.shutdown.trigger();
        }
        self.wait().await
    }

    /// Waits for the parts to stop (after the shutdown token was tripped).
    pub async fn wait(mut self) -> anyhow::Result<()> {
        let mut first_error = None;
        for p in self.parts.iter_mut().rev() {
            match p.stop().await {
                Ok(()) => tracing::info!(part = p.name, "stopped"),
                Err(e) => {
                    tracing::error!(part = p.name, error = %format!("{e:#}"), "stopped with an error");
                    first_error.get_or_insert(e);
                }
            }
        }
        #[cfg(feature = "embedded-broker")]
        if let Some(b) = self.broker.take() {
            b.stop().await;
        }
        first_error.map_or(Ok(()), Err)
    }
}
