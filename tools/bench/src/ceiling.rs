//! The ceiling: a minimal hyper server returning, for each route, the very
//! status and body the gateway returned, driven by the same client in the
//! same run. What the gateway reaches of it is the figure to compare
//! between machines and runs.
//!
//! It runs as a child process (`food-bench ceiling ROUTES_FILE`, hidden),
//! so that its CPU is counted apart from the load client's. It stops when
//! its stdin closes, so it never outlives the run.

use std::{collections::HashMap, convert::Infallible, path::Path, process::Stdio, sync::Arc};

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncBufReadExt;

/// One route the ceiling answers: its path (the query is ignored), the
/// status and the JSON body.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Route {
    pub path: String,
    pub status: u16,
    pub body: String,
}

/// Serves `routes` on 127.0.0.1 until stdin closes; prints `listening ADDR`.
pub async fn serve(routes_file: &Path) -> anyhow::Result<()> {
    let routes: Vec<Route> = serde_json::from_slice(
        &std::fs::read(routes_file)
            .with_context(|| format!("reading {}", routes_file.display()))?,
    )?;
    let routes: Arc<HashMap<String, (u16, Bytes)>> = Arc::new(
        routes
            .into_iter()
            .map(|r| (r.path, (r.status, Bytes::from(r.body))))
            .collect(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening {}", listener.local_addr()?);
    let serving = async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let routes = routes.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let (status, body) = routes
                        .get(req.uri().path())
                        .cloned()
                        .unwrap_or((404, Bytes::new()));
                    async move {
                        Ok::<_, Infallible>(
                            Response::builder()
                                .status(status)
                                .header("content-type", "application/json")
                                .body(Full::new(body))
                                .unwrap(),
                        )
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    };
    // Blocking stdin on a thread of its own: it returns when the parent
    // closes the pipe or goes away.
    let (closed, stdin_closed) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
        let _ = closed.send(());
    });
    tokio::select! {
        () = serving => {}
        _ = stdin_closed => {}
    }
    Ok(())
}

/// A running ceiling process.
pub struct Ceiling {
    pub addr: std::net::SocketAddr,
    pub pid: u32,
    _child: tokio::process::Child,
    _dir: tempfile::TempDir,
}

impl Ceiling {
    /// Starts `food-bench ceiling` serving `routes`.
    pub async fn start(routes: &[Route]) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("routes.json");
        std::fs::write(&file, serde_json::to_vec(routes)?)?;
        let exe = std::env::current_exe().context("finding food-bench's own binary")?;
        let mut child = tokio::process::Command::new(exe)
            .arg("ceiling")
            .arg(&file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting the ceiling server")?;
        let stdout = child.stdout.take().unwrap();
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = tokio::time::timeout(std::time::Duration::from_secs(10), lines.next_line())
            .await
            .context("the ceiling server did not start within 10 s")??
            .context("the ceiling server exited")?;
        let addr = line
            .strip_prefix("listening ")
            .context("the ceiling server said something else")?
            .parse()?;
        Ok(Self {
            addr,
            pid: child.id().context("the ceiling server exited")?,
            _child: child,
            _dir: dir,
        })
    }
}
