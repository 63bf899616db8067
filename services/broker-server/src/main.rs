//! `food-broker`: Tansu 0.6.0, a Kafka-compatible broker, in a process of its own.
//!
//! Why a process and not a library inside `food-stack`: Tansu's SQLite
//! storage links libsql's bundled SQLite, and the services link sqlx's
//! bundled SQLite; both define the same C symbols (`sqlite3_version`, ...),
//! so one binary cannot hold both (rust-lld refuses the duplicates, and
//! forcing them together would mix two SQLite builds). `food-stack` and the
//! tests start this binary through `food_broker::EmbeddedBroker`.
//!
//! It exits when its stdin closes, so it never outlives the process that
//! started it, even one killed with SIGKILL.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use tansu_broker::{broker::Broker, coordinator::group::administrator::Controller};
use tansu_storage::StorageContainer;
use tokio::io::AsyncReadExt;
use url::Url;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    version,
    about = "The food platform's local Kafka-compatible broker (Tansu 0.6.0)"
)]
struct Args {
    /// Address to listen on and advertise; IPv4 only.
    #[arg(long, default_value = "127.0.0.1:9092")]
    listen: std::net::SocketAddrV4,
    /// `memory` or the path of a SQLite file (kept across restarts).
    #[arg(long, default_value = "memory")]
    storage: String,
    /// Keep running when stdin closes (for running by hand in the background).
    #[arg(long)]
    detached: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Everything below ends in process::exit; the Result covers start-up.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let listener = Url::parse(&format!("tcp://{}", args.listen))?;
    let storage = if args.storage == "memory" {
        Url::parse("memory://tansu/")?
    } else {
        sqlite_url(&PathBuf::from(&args.storage))?
    };
    let mut broker = Broker::<Controller<StorageContainer>, StorageContainer>::builder()
        .node_id(111)
        .cluster_id("food-local")
        .incarnation_id(uuid::Uuid::now_v7())
        .advertised_listener(listener.clone())
        .storage(storage)
        .listener(listener)
        .schema_registry(None)
        .lake_house(None)
        .otlp_endpoint_url(None)
        .authentication(false)
        .tls_server_config(None)
        .silent(true)
        .build()
        .await
        .map_err(|e| anyhow::anyhow!("starting the broker: {e:?}"))?;
    let serve = async move {
        broker
            .serve(tokio::time::Instant::now())
            .await
            .map_err(|e| anyhow::anyhow!("broker stopped: {e:?}"))
    };
    let parent_gone = async {
        if args.detached {
            std::future::pending::<()>().await;
        }
        let mut stdin = tokio::io::stdin();
        let mut buf = [0u8; 64];
        while let Ok(n) = stdin.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    };
    let term = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    };
    let result = tokio::select! {
        r = serve => r,
        _ = parent_gone => Ok(()),
        _ = term => Ok(()),
    };
    // Exit now: the runtime would otherwise wait for the thread blocked on stdin.
    if let Err(e) = result {
        eprintln!("food-broker: {e:#}");
        std::process::exit(1);
    }
    std::process::exit(0)
}

/// Tansu 0.6.0 joins a `sqlite://` URL's host and path onto the working
/// directory, even when the path looks absolute. `PathBuf::push` of an
/// absolute path replaces what came before, so a path that keeps an absolute
/// path after stripping one leading `/` (`sqlite://food//abs/broker.db`) lands
/// where it was meant to.
fn sqlite_url(path: &std::path::Path) -> anyhow::Result<Url> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let abs = std::path::absolute(path)?;
    Url::parse(&format!("sqlite://food/{}", abs.display()))
        .with_context(|| format!("sqlite storage path {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_keep_an_absolute_path_through_tansus_cwd_join() {
        let url = sqlite_url(std::path::Path::new("/tmp/food-broker-test/broker.db")).unwrap();
        // What tansu-storage 0.6.0 does with the URL (lite.rs, Builder::build):
        let mut joined = PathBuf::from("/some/cwd");
        joined.push(url.domain().unwrap());
        joined.push(url.path().strip_prefix('/').unwrap());
        assert_eq!(joined, PathBuf::from("/tmp/food-broker-test/broker.db"));
    }

    #[test]
    fn the_flags_parse() {
        use clap::CommandFactory;
        Args::command().debug_assert();
    }
}
