//! Wiring: settings in, a bound listener and a router out, served until
//! shutdown.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{Router, error_handling::HandleErrorLayer, extract::DefaultBodyLimit};
use food_kit::Shutdown;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto,
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::oneshot};
use tower::{ServiceBuilder, limit::GlobalConcurrencyLimitLayer};
use tower_http::limit::RequestBodyLimitLayer;

use crate::{
    auth::KeyStore,
    downstream::Downstream,
    graphql::{self, GatewaySchema},
    live::{self, Hub},
    middleware, openapi,
    order_feed::{self, OrderHub},
    ratelimit::RateLimiter,
    rest,
    service::Gateway,
    settings::Settings,
    state::{AppState, SharedState},
};

/// How long the live feed may take to attach at start before the gateway
/// serves anyway (streams then still start with the current state).
const LIVE_READY_PATIENCE: Duration = Duration::from_secs(5);
/// How long open streams and sockets may take to close after shutdown.
const DRAIN: Duration = Duration::from_secs(5);
/// How far a stream may fall behind the live feed before it is dropped.
const BROADCAST_CAPACITY: usize = 1024;
/// How long a client may take to send a request's headers, counted from
/// the first read (on a kept-alive connection, from the end of the last
/// answer): past it the connection is closed. Without it a client that
/// drips its headers a byte at a time (slowloris) holds a connection and
/// its task for as long as it keeps dripping. Ten seconds is ample for a human's request on a slow link; hyper's
/// default (30 s) only applies when a timer is set, which `axum::serve`
/// does not do.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The most a request's line and headers may take (hyper's read buffer):
/// beyond it hyper answers 431, with an empty body, before any route runs.
/// hyper's default is about 400 KiB; no client of this API needs more than
/// a few KiB.
const MAX_REQUEST_HEAD_BYTES: usize = 64 * 1024;

pub struct Application {
    listener: TcpListener,
    router: Router,
    local_addr: SocketAddr,
    shutdown: Shutdown,
    /// The live feeds' consumers (deliveries, orders), closed before the
    /// gateway counts as stopped.
    live: Vec<tokio::task::JoinHandle<()>>,
}

impl Application {
    /// Binds the listener (port 0 picks one) and starts the live feed; the
    /// downstream services need not be up.
    pub async fn build(settings: Settings, shutdown: Shutdown) -> anyhow::Result<Self> {
        food_kit::metrics::handle();
        let keys = KeyStore::new(&settings.api_keys)?;
        let downstream = Downstream::connect_lazy(&settings)?;
        let gateway = Gateway::new(downstream, Duration::from_millis(settings.menu_cache_ms));
        let hub = Arc::new(Hub::new(BROADCAST_CAPACITY));
        let orders = Arc::new(OrderHub::new(BROADCAST_CAPACITY));

        let (ready_tx, ready_rx) = oneshot::channel();
        let (orders_ready_tx, orders_ready_rx) = oneshot::channel();
        let live = vec![
            tokio::spawn(live::run_consumer(
                settings.kafka.clone(),
                hub.clone(),
                shutdown.clone(),
                ready_tx,
            )),
            tokio::spawn(order_feed::run_consumer(
                settings.kafka.clone(),
                orders.clone(),
                shutdown.clone(),
                orders_ready_tx,
            )),
        ];
        let both = futures::future::join(ready_rx, orders_ready_rx);
        if tokio::time::timeout(LIVE_READY_PATIENCE, both)
            .await
            .is_err()
        {
            tracing::warn!(brokers = %settings.kafka.brokers, "live feeds not attached yet; serving anyway");
        }

        let schema = graphql::schema(
            gateway.clone(),
            hub.clone(),
            orders.clone(),
            shutdown.clone(),
            settings.graphiql,
        );
        let state = Arc::new(AppState {
            gateway,
            keys,
            limiter: RateLimiter::new(settings.rate_limit_per_sec),
            hub,
            orders,
            graphiql: settings.graphiql,
            body_limit: settings.body_limit_bytes,
            shutdown: shutdown.clone(),
        });
        let router = router(state, schema, &settings);

        let listener = TcpListener::bind(settings.listen)
            .await
            .map_err(|e| anyhow::anyhow!("listen: cannot bind {}: {e}", settings.listen))?;
        let local_addr = listener.local_addr()?;
        Ok(Self {
            listener,
            router,
            local_addr,
            shutdown,
            live,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until shutdown, then gives open streams [`DRAIN`] to finish.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        tracing::info!(addr = %self.local_addr, "gateway listening");
        let serve = serve(self.listener, self.router, self.shutdown.clone());
        let shutdown = self.shutdown.clone();
        tokio::select! {
            r = serve => r?,
            _ = async move {
                shutdown.cancelled().await;
                tokio::time::sleep(DRAIN).await;
            } => tracing::warn!("connections still open after the drain period; closing them"),
        }
        // The feed stops on the same shutdown; its consumer must be gone
        // before whatever stops next (food-stack's embedded broker).
        let feeds = futures::future::join_all(self.live);
        if tokio::time::timeout(DRAIN, feeds).await.is_err() {
            tracing::warn!("a live feed did not stop within the drain period");
        }
        Ok(())
    }
}

/// Serves `router` on `listener` until `shutdown`, then lets open
/// connections finish. This is `axum::serve` with the two limits it
/// cannot set: [`HEADER_READ_TIMEOUT`] and [`MAX_REQUEST_HEAD_BYTES`].
async fn serve(listener: TcpListener, router: Router, shutdown: Shutdown) -> std::io::Result<()> {
    // Each connection holds a receiver; the sender sees them all gone.
    let (all_closed, connection) = tokio::sync::watch::channel(());
    loop {
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    // Out of file descriptors and the like: wait, not spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.cancelled() => break,
        };
        // TCP_NODELAY: small responses must not wait for the client's delayed ACK.
        let _ = tcp.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let shutdown = shutdown.clone();
        let connection = connection.clone();
        tokio::spawn(async move {
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .max_buf_size(MAX_REQUEST_HEAD_BYTES);
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(tcp), service);
            tokio::pin!(conn);
            tokio::select! {
                served = conn.as_mut() => {
                    if let Err(e) = served {
                        tracing::debug!(error = %e, "connection ended");
                    }
                }
                _ = shutdown.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(connection);
        });
    }
    drop(connection);
    all_closed.closed().await;
    Ok(())
}

/// The whole HTTP surface with its layers, outermost first: request id and
/// metrics; load shedding beyond `max_in_flight`; admission (body size,
/// key, rate); the streamed-body limit.
pub fn router(state: SharedState, schema: GatewaySchema, settings: &Settings) -> Router {
    let layers = ServiceBuilder::new()
        .layer(axum::middleware::from_fn(middleware::request_context))
        .layer(HandleErrorLayer::new(middleware::overloaded))
        .load_shed()
        .layer(GlobalConcurrencyLimitLayer::new(
            settings.max_in_flight.max(1),
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::admission,
        ))
        .layer(DefaultBodyLimit::max(settings.body_limit_bytes))
        .layer(RequestBodyLimitLayer::new(settings.body_limit_bytes));
    rest::routes()
        .merge(graphql::routes(schema))
        .merge(openapi::routes())
        .fallback(rest::ops::not_found)
        .method_not_allowed_fallback(rest::ops::method_not_allowed)
        .layer(layers)
        .with_state(state)
}
