//! A gRPC channel over every replica of a downstream service.
//!
//! A downstream URL names a service, `http://order-service:50052`; with
//! several replicas (`docker compose up --scale`, a Kubernetes headless
//! Service) its host name resolves to several addresses, as Docker's DNS
//! returns every container of a service. [`Balanced`] spreads calls over
//! all of them:
//! - the host is resolved again every `resolve_interval_ms` (the system
//!   resolver: hosts file, then DNS); each address gets one lazily
//!   connecting tonic channel (one HTTP/2 connection), kept while the name
//!   resolves to it;
//! - every `probe_interval_ms` each address is asked `grpc.health.v1` on
//!   that channel, with a `probe_timeout_ms` deadline: an address whose
//!   process is gone (connection refused), unreachable (a cut link: the
//!   probe times out) or shutting down (NOT_SERVING) takes no calls until it
//!   answers SERVING again, which also brings a restarted replica back;
//! - calls go round-robin over the addresses that answered; a call that
//!   could not connect takes its address out at once, before the next
//!   probe, and is sent once more to another address: it never reached a
//!   server, so repeating it is safe whatever the method;
//! - a call whose connection broke while it was in flight (the replica
//!   died under it) fails as UNAVAILABLE, not as an unknown error; it is
//!   sent once more to another address when repeating it is safe: a read
//!   (`Get*`, `List*`, `BatchGet*`) or a call marked [`Idempotent`] (an
//!   order with an idempotency key);
//! - when no address answers, calls go to all of them, so that they fail
//!   fast with the real cause rather than wait out their deadline.
//!
//! So a dead replica stops getting calls within one probe interval (one
//! call at most fails on it first, and is retried elsewhere), a cut one
//! within a probe interval and a probe timeout; the calls already in flight
//! on it fail or time out.
//!
//! A URL whose host is an IP address (`http://127.0.0.1:50052`, as
//! food-stack runs) is one channel with no resolving and no probing: the
//! balancer then costs one boxed future per call.
//!
//! Why not tonic's `Channel::balance_channel`: its power-of-two-choices
//! balancer asks each connection whether it is ready, and tonic's lazily
//! reconnecting connection says ready even when its connect failed (the
//! error is handed to the next call instead), with every connection
//! reporting the same load; so a dead replica keeps its share of the calls
//! until something removes it (measured: with one of two menu-service
//! replicas stopped, 36 of the next 100 calls failed). Removing it (probing) is ours to write
//! either way, and picking among the healthy set ourselves also lets a call
//! that never connected be sent to another replica.

use std::{
    fmt, io,
    net::{IpAddr, SocketAddr},
    sync::{
        Arc, RwLock, Weak,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use anyhow::Context as _;
use bytes::Bytes;
use futures::future::BoxFuture;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use serde::{Deserialize, Serialize};
use tonic::{
    ConnectError, Status, TimeoutExpired,
    body::Body,
    transport::{Channel, Endpoint, Uri},
};
use tower::{Service, ServiceExt};

use crate::healthcheck::grpc_serving;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How replicas are found and watched.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct BalanceSettings {
    /// How often each replica is asked `grpc.health.v1`: a replica that
    /// died stops getting calls within this.
    pub probe_interval_ms: u64,
    /// A replica that does not answer a probe within this takes no calls
    /// until it does (a cut link, a hung process).
    pub probe_timeout_ms: u64,
    /// How often the URL's host name is resolved again, to find replicas
    /// added or removed.
    pub resolve_interval_ms: u64,
}

impl Default for BalanceSettings {
    fn default() -> Self {
        Self {
            probe_interval_ms: 250,
            probe_timeout_ms: 750,
            resolve_interval_ms: 1000,
        }
    }
}

/// Resolves a host and port to addresses; [`system_resolver`] in
/// production, a fixed list in tests.
pub type Resolver =
    Arc<dyn Fn(String, u16) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>> + Send + Sync>;

/// The system's resolver (`getaddrinfo`: the hosts file, then DNS).
pub fn system_resolver() -> Resolver {
    Arc::new(|host, port| {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), port))
                .await?
                .collect())
        })
    })
}

/// Applied to each replica's endpoint: timeouts, keep-alive.
pub type Configure = Arc<dyn Fn(Endpoint) -> Endpoint + Send + Sync>;

/// Marks a call (in its `tonic::Request` extensions) as safe to send again
/// after its connection broke in flight: applying it twice is applying it
/// once (a create with an idempotency key). Reads need no mark.
#[derive(Clone, Copy, Debug, Default)]
pub struct Idempotent;

/// Whether a call may be sent again after it may have reached a server.
fn repeatable(parts: &http::request::Parts) -> bool {
    let method = parts.uri.path().rsplit('/').next().unwrap_or_default();
    ["Get", "List", "BatchGet"]
        .iter()
        .any(|read| method.starts_with(read))
        || parts.extensions.get::<Idempotent>().is_some()
}

/// A gRPC channel over every address a URL's host resolves to; see the
/// module doc. Cloning is cheap: clones share connections and health.
#[derive(Clone)]
pub struct Balanced {
    shared: Arc<Shared>,
}

struct Shared {
    /// For logs and metrics: `order`, say.
    service: String,
    scheme: String,
    host: String,
    port: u16,
    /// The URL as given: the `:authority` of every call, whichever replica
    /// takes it.
    origin: Uri,
    configure: Configure,
    resolve: Resolver,
    /// The current replicas; replaced whole when the name resolves to
    /// another set, while each one's health changes in place.
    members: RwLock<Arc<[Arc<Member>]>>,
    /// Round-robin ticket.
    next: AtomicUsize,
    /// Whether the last resolution failed, so that a failing name is
    /// logged when it starts and stops failing, not every time.
    resolve_failing: AtomicBool,
}

struct Member {
    addr: SocketAddr,
    channel: Channel,
    /// Answered its last probe with SERVING, and no call failed to connect
    /// to it since.
    up: AtomicBool,
    calls: metrics::Counter,
}

impl Balanced {
    /// A channel over the replicas behind `url`, found with the system
    /// resolver. Must be called within a Tokio runtime: nothing connects
    /// yet, but a name is watched by a task that ends with the last clone.
    pub fn new(
        service: &str,
        url: &str,
        configure: Configure,
        settings: &BalanceSettings,
    ) -> anyhow::Result<Self> {
        Self::with_resolver(service, url, configure, settings, system_resolver())
    }

    /// As [`Self::new`], with the resolver given (tests).
    pub fn with_resolver(
        service: &str,
        url: &str,
        configure: Configure,
        settings: &BalanceSettings,
        resolve: Resolver,
    ) -> anyhow::Result<Self> {
        let origin: Uri = url.parse().with_context(|| format!("`{url}`"))?;
        let scheme = origin.scheme_str().unwrap_or("http").to_owned();
        let host = origin
            .host()
            .with_context(|| format!("`{url}` has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = origin
            .port_u16()
            .unwrap_or(if scheme == "https" { 443 } else { 80 });
        let literal = host.parse::<IpAddr>().ok();
        let shared = Arc::new(Shared {
            service: service.to_owned(),
            scheme,
            host,
            port,
            origin,
            configure,
            resolve,
            members: RwLock::new(Arc::from(Vec::new())),
            next: AtomicUsize::new(0),
            resolve_failing: AtomicBool::new(false),
        });
        match literal {
            Some(ip) => {
                let member = shared.member(SocketAddr::new(ip, port))?;
                member.up.store(true, Ordering::Relaxed);
                *shared.members.write().unwrap() = Arc::from(vec![Arc::new(member)]);
            }
            None => {
                tokio::spawn(watch(
                    Arc::downgrade(&shared),
                    Duration::from_millis(settings.probe_interval_ms.max(1)),
                    Duration::from_millis(settings.probe_timeout_ms.max(1)),
                    Duration::from_millis(settings.resolve_interval_ms.max(1)),
                ));
            }
        }
        Ok(Self { shared })
    }

    /// The replicas' addresses and whether each takes calls.
    pub fn replicas(&self) -> Vec<(SocketAddr, bool)> {
        self.shared
            .snapshot()
            .iter()
            .map(|m| (m.addr, m.up.load(Ordering::Relaxed)))
            .collect()
    }
}

impl fmt::Debug for Balanced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Balanced")
            .field("service", &self.shared.service)
            .field("origin", &self.shared.origin)
            .field("replicas", &self.replicas())
            .finish()
    }
}

impl Service<Request<Body>> for Balanced {
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Response<Body>, BoxError>>;

    /// Always ready: each replica's channel queues on its own, and every
    /// call has its deadline.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let members = self.shared.snapshot();
        if let [only] = &*members {
            let only = only.clone();
            return Box::pin(async move { only.finish(only.send(request).await) });
        }
        Box::pin(self.shared.clone().call(members, request))
    }
}

impl Shared {
    fn snapshot(&self) -> Arc<[Arc<Member>]> {
        self.members.read().unwrap().clone()
    }

    fn member(&self, addr: SocketAddr) -> anyhow::Result<Member> {
        let endpoint = Endpoint::from_shared(format!("{}://{addr}", self.scheme))?;
        let channel = (self.configure)(endpoint)
            .origin(self.origin.clone())
            .connect_lazy();
        Ok(Member {
            addr,
            channel,
            up: AtomicBool::new(false),
            calls: metrics::counter!(
                "grpc_client_calls_total",
                "service" => self.service.clone(),
                "replica" => addr.to_string(),
            ),
        })
    }

    async fn call(
        self: Arc<Self>,
        mut members: Arc<[Arc<Member>]>,
        request: Request<Body>,
    ) -> Result<Response<Body>, BoxError> {
        if members.is_empty() {
            // Called before the watcher's first resolution.
            self.refresh().await;
            members = self.snapshot();
        }
        let Some(first) = self.pick(&members, None) else {
            return Err(Box::new(Status::unavailable(format!(
                "{}: `{}` resolves to no address",
                self.service, self.host
            ))));
        };
        if members.len() == 1 {
            return first.finish(first.send(request).await);
        }
        // Kept whole so that a call that never reached a server can be
        // sent again; the food services' calls are all unary and small.
        let (parts, body) = request.into_parts();
        let bytes = body.collect().await?.to_bytes();
        let again = rebuild(&parts, bytes.clone());
        let repeatable = repeatable(&parts);
        let request = Request::from_parts(parts, Body::new(Full::new(bytes)));
        match first.send(request).await {
            Err(e) if never_connected(e.as_ref()) || (repeatable && broke(e.as_ref())) => {
                if never_connected(e.as_ref()) {
                    self.down(first, &e);
                }
                match self.pick(&members, Some(first.addr)) {
                    Some(second) => {
                        let result = second.send(again).await;
                        if let Err(e) = &result
                            && never_connected(e.as_ref())
                        {
                            self.down(second, e);
                        }
                        second.finish(result)
                    }
                    None => first.finish(Err(e)),
                }
            }
            other => first.finish(other),
        }
    }

    /// Round-robin over the replicas that are up, other than `except`;
    /// over all of them (but `except`) when none is.
    fn pick<'a>(
        &self,
        members: &'a [Arc<Member>],
        except: Option<SocketAddr>,
    ) -> Option<&'a Arc<Member>> {
        let ticket = self.next.fetch_add(1, Ordering::Relaxed);
        let eligible = |m: &&Arc<Member>| Some(m.addr) != except;
        let up = |m: &&Arc<Member>| eligible(m) && m.up.load(Ordering::Relaxed);
        let count = members.iter().filter(up).count();
        if count > 0 {
            return members.iter().filter(up).nth(ticket % count);
        }
        let count = members.iter().filter(eligible).count();
        if count == 0 {
            return None;
        }
        members.iter().filter(eligible).nth(ticket % count)
    }

    fn down(&self, member: &Member, error: &BoxError) {
        if member.up.swap(false, Ordering::Relaxed) {
            tracing::warn!(
                service = %self.service,
                replica = %member.addr,
                error = %error,
                "replica taken out: a call could not connect"
            );
        }
    }

    /// Resolves the host again and takes the replicas it now names; keeps
    /// the current ones when it fails or names none.
    async fn refresh(&self) {
        let result = (self.resolve)(self.host.clone(), self.port).await;
        let mut addrs = match result {
            Ok(addrs) if !addrs.is_empty() => addrs,
            other => {
                if !self.resolve_failing.swap(true, Ordering::Relaxed) {
                    let error = other
                        .err()
                        .map_or("no address".to_owned(), |e| e.to_string());
                    tracing::warn!(service = %self.service, host = %self.host, %error, "cannot resolve; keeping the replicas known");
                }
                return;
            }
        };
        if self.resolve_failing.swap(false, Ordering::Relaxed) {
            tracing::info!(service = %self.service, host = %self.host, "resolves again");
        }
        addrs.sort();
        addrs.dedup();
        let current = self.snapshot();
        if current.iter().map(|m| m.addr).eq(addrs.iter().copied()) {
            return;
        }
        let mut next = Vec::with_capacity(addrs.len());
        for addr in addrs {
            match current.iter().find(|m| m.addr == addr) {
                Some(m) => next.push(m.clone()),
                None => match self.member(addr) {
                    Ok(m) => next.push(Arc::new(m)),
                    Err(e) => {
                        tracing::warn!(service = %self.service, replica = %addr, error = %e, "replica skipped")
                    }
                },
            }
        }
        tracing::info!(
            service = %self.service,
            host = %self.host,
            replicas = ?next.iter().map(|m| m.addr).collect::<Vec<_>>(),
            "replicas resolved"
        );
        *self.members.write().unwrap() = Arc::from(next);
    }

    /// Asks every replica `grpc.health.v1` at once and records the answers.
    async fn probe(&self, timeout: Duration) {
        let members = self.snapshot();
        let probes = members.iter().map(|m| async move {
            let verdict = grpc_serving(m.channel.clone(), timeout).await;
            let was = m.up.swap(verdict.is_ok(), Ordering::Relaxed);
            match verdict {
                Ok(()) if !was => {
                    tracing::info!(service = %self.service, replica = %m.addr, "replica takes calls")
                }
                Err(reason) if was => {
                    tracing::warn!(service = %self.service, replica = %m.addr, %reason, "replica taken out")
                }
                _ => {}
            }
        });
        futures::future::join_all(probes).await;
    }
}

impl Member {
    async fn send(&self, request: Request<Body>) -> Result<Response<Body>, BoxError> {
        self.calls.increment(1);
        let result = self.channel.clone().oneshot(request).await;
        result.map_err(Into::into)
    }

    /// A call's last result as the caller sees it: a connection that broke
    /// under it is UNAVAILABLE (tonic would say UNKNOWN), as gRPC has it
    /// for a transport failure.
    fn finish(&self, result: Result<Response<Body>, BoxError>) -> Result<Response<Body>, BoxError> {
        result.map_err(|e| {
            if broke(e.as_ref()) {
                Box::new(Status::unavailable(format!(
                    "the connection to {} broke: {e}",
                    self.addr
                )))
            } else {
                e
            }
        })
    }
}

/// Resolves and probes until the last [`Balanced`] clone is gone.
async fn watch(
    shared: Weak<Shared>,
    probe_every: Duration,
    probe_timeout: Duration,
    resolve_every: Duration,
) {
    let mut ticks = tokio::time::interval(probe_every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut resolved: Option<tokio::time::Instant> = None;
    loop {
        ticks.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if resolved.is_none_or(|at| at.elapsed() >= resolve_every) {
            shared.refresh().await;
            resolved = Some(tokio::time::Instant::now());
        }
        shared.probe(probe_timeout).await;
    }
}

/// True when `error` is a failure to connect: the call was never sent.
fn never_connected(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(e) = source {
        if e.is::<ConnectError>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// True when `error` is a connection that broke with the call in flight:
/// not a failure to connect, not the call's deadline, not a status.
fn broke(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(e) = source {
        if e.is::<ConnectError>() || e.is::<TimeoutExpired>() || e.is::<Status>() {
            return false;
        }
        source = e.source();
    }
    true
}

/// A copy of a request whose body was read whole.
fn rebuild(parts: &http::request::Parts, body: Bytes) -> Request<Body> {
    let mut request = Request::new(Body::new(Full::new(body)));
    *request.method_mut() = parts.method.clone();
    *request.uri_mut() = parts.uri.clone();
    *request.version_mut() = parts.version;
    *request.headers_mut() = parts.headers.clone();
    *request.extensions_mut() = parts.extensions.clone();
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(addrs: Vec<SocketAddr>) -> Resolver {
        Arc::new(move |_, _| {
            let addrs = addrs.clone();
            Box::pin(async move { Ok(addrs) })
        })
    }

    fn plain() -> Configure {
        Arc::new(|e| e)
    }

    #[tokio::test]
    async fn an_ip_address_is_one_replica_taking_calls_at_once() {
        let b = Balanced::new(
            "menu",
            "http://127.0.0.1:50051",
            plain(),
            &BalanceSettings::default(),
        )
        .unwrap();
        assert_eq!(
            b.replicas(),
            vec![("127.0.0.1:50051".parse().unwrap(), true)]
        );
    }

    #[tokio::test]
    async fn a_name_takes_every_address_it_resolves_to_once() {
        let a: SocketAddr = "127.0.0.2:7".parse().unwrap();
        let c: SocketAddr = "127.0.0.3:7".parse().unwrap();
        let b = Balanced::with_resolver(
            "menu",
            "http://menu-service:7",
            plain(),
            &BalanceSettings::default(),
            fixed(vec![c, a, c]),
        )
        .unwrap();
        b.shared.refresh().await;
        let addrs: Vec<_> = b.replicas().into_iter().map(|(a, _)| a).collect();
        assert_eq!(addrs, vec![a, c]);
    }

    #[tokio::test]
    async fn picks_go_round_robin_over_the_replicas_that_are_up() {
        let addrs: Vec<SocketAddr> = (1..=3)
            .map(|i| format!("127.0.0.{i}:7").parse().unwrap())
            .collect();
        let b = Balanced::with_resolver(
            "menu",
            "http://menu-service:7",
            plain(),
            &BalanceSettings::default(),
            fixed(addrs.clone()),
        )
        .unwrap();
        b.shared.refresh().await;
        let members = b.shared.snapshot();
        let picks = |except| {
            (0..6)
                .map(|_| b.shared.pick(&members, except).unwrap().addr)
                .collect::<Vec<_>>()
        };
        // None up: all of them take turns.
        assert_eq!(picks(None).iter().filter(|a| **a == addrs[1]).count(), 2);
        members[0].up.store(true, Ordering::Relaxed);
        members[2].up.store(true, Ordering::Relaxed);
        let p = picks(None);
        assert!(
            !p.contains(&addrs[1]),
            "a replica that is down gets no call"
        );
        assert_eq!(p.iter().filter(|a| **a == addrs[0]).count(), 3);
        assert!(picks(Some(addrs[0])).iter().all(|a| *a == addrs[2]));
    }

    #[test]
    fn reads_and_marked_calls_may_be_sent_again() {
        let parts = |path: &str, mark: bool| {
            let mut r = Request::builder().uri(path).body(()).unwrap();
            if mark {
                r.extensions_mut().insert(Idempotent);
            }
            r.into_parts().0
        };
        assert!(repeatable(&parts(
            "/food.menu.v1.MenuService/GetItem",
            false
        )));
        assert!(repeatable(&parts(
            "/food.menu.v1.MenuService/BatchGetItems",
            false
        )));
        assert!(repeatable(&parts(
            "/food.order.v1.OrderService/ListOrders",
            false
        )));
        assert!(!repeatable(&parts(
            "/food.order.v1.OrderService/CreateOrder",
            false
        )));
        assert!(repeatable(&parts(
            "/food.order.v1.OrderService/CreateOrder",
            true
        )));
        assert!(!repeatable(&parts(
            "/food.delivery.v1.DeliveryService/UpdateStatus",
            false
        )));
    }

    #[test]
    fn a_broken_connection_is_told_from_a_refused_one_and_a_deadline() {
        let refused = ConnectError(Box::new(io::Error::from(io::ErrorKind::ConnectionRefused)));
        assert!(never_connected(&refused));
        assert!(!broke(&refused));
        assert!(!broke(&TimeoutExpired(())));
        assert!(!broke(&Status::not_found("x")));
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert!(broke(&reset));
        assert!(!never_connected(&reset));
    }

    #[test]
    fn defaults_take_a_dead_replica_out_within_a_second() {
        let s = BalanceSettings::default();
        assert!(s.probe_interval_ms + s.probe_timeout_ms <= 1000);
    }
}
