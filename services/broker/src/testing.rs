//! The broker a test runs on: Tansu (`food-broker`, the default) or Apache
//! Kafka, chosen by `FOOD_TEST_BROKER` (`tansu` or `apache-kafka`), so that
//! one suite runs against both engines (`.ci/run` runs it twice).
//!
//! On Apache Kafka, a [`Storage::Memory`] broker is one shared by every test
//! of the process (a JVM takes seconds to start; tests keep apart by their
//! topic prefixes and consumer groups), started on first use and killed
//! when the process exits; stopping such a handle leaves it running. A
//! [`Storage::Sqlite`] broker is a node of its own whose log lives in a
//! folder beside that path (`<path>.kafka`), so that a test can kill it and
//! start it again on its log, as it does Tansu on its SQLite file.

use std::{net::SocketAddr, path::PathBuf};

use crate::{
    EmbeddedBroker, Storage,
    apache::{ClusterOptions, KafkaCluster},
};

/// Which Kafka engine the tests run against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// Tansu 0.6.0, the broker `food-stack` embeds.
    Tansu,
    /// Apache Kafka in KRaft mode, the engine of compose and production.
    ApacheKafka,
}

impl Engine {
    /// `FOOD_TEST_BROKER`: `apache-kafka` (or `kafka`) selects Apache Kafka;
    /// unset, empty or `tansu` selects Tansu; anything else is a mistake
    /// worth stopping for.
    pub fn from_env() -> Self {
        match std::env::var("FOOD_TEST_BROKER").as_deref() {
            Err(_) | Ok("") | Ok("tansu") => Self::Tansu,
            Ok("apache-kafka") | Ok("kafka") => Self::ApacheKafka,
            Ok(other) => {
                panic!("FOOD_TEST_BROKER={other:?}: expected `tansu` or `apache-kafka`")
            }
        }
    }
}

/// A broker for one test; see the module docs.
#[derive(Debug)]
pub struct TestBroker {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Tansu(EmbeddedBroker),
    Own(KafkaCluster),
    Shared(&'static KafkaCluster),
}

static SHARED: tokio::sync::OnceCell<KafkaCluster> = tokio::sync::OnceCell::const_new();

impl TestBroker {
    /// Starts a broker of the engine [`Engine::from_env`] names, on `addr`
    /// (port 0 picks a free one; the shared Apache Kafka ignores it) with
    /// the storage given, and waits until it serves.
    pub async fn start(addr: SocketAddr, storage: Storage) -> anyhow::Result<Self> {
        let inner = match (Engine::from_env(), storage) {
            (Engine::Tansu, storage) => Inner::Tansu(EmbeddedBroker::start(addr, storage).await?),
            (Engine::ApacheKafka, Storage::Memory) => Inner::Shared(shared().await?),
            (Engine::ApacheKafka, Storage::Sqlite(path)) => {
                let options = ClusterOptions {
                    first_port: addr.port(),
                    ..ClusterOptions::default()
                };
                Inner::Own(KafkaCluster::start(&log_dir(path), options).await?)
            }
        };
        Ok(Self { inner })
    }

    /// `host:port,...` for `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        match &self.inner {
            Inner::Tansu(b) => b.bootstrap(),
            Inner::Own(c) => c.bootstrap(),
            Inner::Shared(c) => c.bootstrap(),
        }
    }

    /// The (first) broker's address.
    pub fn addr(&self) -> SocketAddr {
        match &self.inner {
            Inner::Tansu(b) => b.addr(),
            Inner::Own(c) => c.addr(),
            Inner::Shared(c) => c.addr(),
        }
    }

    pub fn engine(&self) -> Engine {
        match self.inner {
            Inner::Tansu(_) => Engine::Tansu,
            Inner::Own(_) | Inner::Shared(_) => Engine::ApacheKafka,
        }
    }

    /// Whether [`TestBroker::stop`] really stops it (not the shared one).
    pub fn is_own(&self) -> bool {
        !matches!(self.inner, Inner::Shared(_))
    }

    /// Kills the broker (SIGKILL) and waits for it to exit; the shared
    /// Apache Kafka broker is left running.
    pub async fn stop(self) {
        match self.inner {
            Inner::Tansu(b) => b.stop().await,
            Inner::Own(c) => c.stop().await,
            Inner::Shared(_) => {}
        }
    }
}

async fn shared() -> anyhow::Result<&'static KafkaCluster> {
    SHARED
        .get_or_try_init(|| async {
            let dir = std::env::temp_dir().join(format!(
                "food-test-kafka-{}-{}",
                std::process::id(),
                uuid::Uuid::now_v7().simple()
            ));
            let started = std::time::Instant::now();
            let options = ClusterOptions {
                remove_dir_on_exit: true,
                ..ClusterOptions::default()
            };
            let cluster = KafkaCluster::start(&dir, options).await?;
            eprintln!(
                "Apache Kafka {} ready on {} in {:.1} s (log: {})",
                crate::apache::version(),
                cluster.bootstrap(),
                started.elapsed().as_secs_f64(),
                cluster.node_log(1).display()
            );
            Ok(cluster)
        })
        .await
}

/// Where an Apache Kafka node keeps the log a test named by a file path.
fn log_dir(path: PathBuf) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".kafka");
    path.with_file_name(name)
}
