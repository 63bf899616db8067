//! The embedded Kafka-compatible broker: Tansu 0.6.0, in-process.
//!
//! `food-stack` and the tests start it on a given or free port, with memory
//! storage (fast, gone on stop) or SQLite storage (survives restarts).
//! Tansu 0.6.0 does not create topics on first use, so callers create them
//! with the admin API (`food_kit::kafka::ensure_topics`).

use std::{
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context, bail};
use rdkafka::{ClientConfig, consumer::BaseConsumer, consumer::Consumer};
use tansu_broker::{broker::Broker, coordinator::group::administrator::Controller};
use tansu_storage::StorageContainer;
use tokio::task::JoinHandle;
use url::Url;

/// Where the broker keeps its log.
#[derive(Clone, Debug)]
pub enum Storage {
    /// In memory; lost when the broker stops.
    Memory,
    /// A SQLite file (created if missing); kept across restarts.
    Sqlite(PathBuf),
}

/// A running in-process broker. Stop it with [`EmbeddedBroker::stop`]; close
/// every client of it first (a consumer dropped after the broker is gone can hang).
#[derive(Debug)]
pub struct EmbeddedBroker {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl EmbeddedBroker {
    /// Starts a broker listening on `addr` (port 0 picks a free port) and
    /// waits until it answers a metadata request.
    pub async fn start(addr: SocketAddr, storage: Storage) -> anyhow::Result<Self> {
        let addr = if addr.port() == 0 {
            free_port(addr)?
        } else {
            addr
        };
        if !addr.is_ipv4() {
            bail!("the embedded broker listens on IPv4 only, not {addr}");
        }
        let listener = Url::parse(&format!("tcp://{addr}"))?;
        let storage_url = match &storage {
            Storage::Memory => Url::parse("memory://tansu/")?,
            Storage::Sqlite(path) => sqlite_url(path)?,
        };
        let mut broker = Broker::<Controller<StorageContainer>, StorageContainer>::builder()
            .node_id(111)
            .cluster_id("food-local")
            .incarnation_id(uuid::Uuid::now_v7())
            .advertised_listener(listener.clone())
            .storage(storage_url)
            .listener(listener)
            .schema_registry(None)
            .lake_house(None)
            .otlp_endpoint_url(None)
            .authentication(false)
            .tls_server_config(None)
            .silent(true)
            .build()
            .await
            .map_err(|e| anyhow::anyhow!("building the embedded broker: {e:?}"))?;
        let task = tokio::spawn(async move {
            if let Err(e) = broker.serve(tokio::time::Instant::now()).await {
                tracing::error!(error = ?e, "embedded broker stopped");
            }
        });
        let this = Self { addr, task };
        this.wait_ready(Duration::from_secs(30)).await?;
        Ok(this)
    }

    /// `host:port` for `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        self.addr.to_string()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving and waits for the broker task to end.
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }

    async fn wait_ready(&self, patience: Duration) -> anyhow::Result<()> {
        let bootstrap = self.bootstrap();
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let b = bootstrap.clone();
            let ok = tokio::task::spawn_blocking(move || {
                let consumer: BaseConsumer = ClientConfig::new()
                    .set("bootstrap.servers", &b)
                    .set("log_level", "0")
                    .create()?;
                consumer
                    .fetch_metadata(None, Duration::from_millis(500))
                    .map(|_| ())
            })
            .await?;
            if ok.is_ok() {
                return Ok(());
            }
            if self.task.is_finished() {
                bail!("the embedded broker on {} stopped while starting", self.addr);
            }
            if tokio::time::Instant::now() > deadline {
                bail!("the embedded broker on {} did not answer within {patience:?}", self.addr);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Picks a free port by binding and releasing it (Tansu binds by itself and
/// must advertise the real port, so it cannot be given port 0).
fn free_port(addr: SocketAddr) -> anyhow::Result<SocketAddr> {
    let l = TcpListener::bind(addr).with_context(|| format!("binding {addr}"))?;
    Ok(l.local_addr()?)
}

/// Tansu 0.6.0 joins a `sqlite://` URL's host and path onto the working
/// directory, even when the path looks absolute. `PathBuf::push` of an
/// absolute path replaces what came before, so a path that keeps an absolute
/// path after stripping one leading `/` (`sqlite://food//abs/broker.db`) lands
/// where it was meant to.
fn sqlite_url(path: &Path) -> anyhow::Result<Url> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let abs = std::path::absolute(path)?;
    let url = Url::parse(&format!("sqlite://food/{}", abs.display()))
        .with_context(|| format!("sqlite storage path {}", path.display()))?;
    debug_assert!(url.path().starts_with("//"));
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_keep_an_absolute_path_through_tansus_cwd_join() {
        let url = sqlite_url(Path::new("/tmp/food-broker-test/broker.db")).unwrap();
        // What tansu-storage 0.6.0 does with the URL (lite.rs, Builder::build):
        let mut joined = PathBuf::from("/some/cwd");
        joined.push(url.domain().unwrap());
        joined.push(url.path().strip_prefix('/').unwrap());
        assert_eq!(joined, PathBuf::from("/tmp/food-broker-test/broker.db"));
    }
}
