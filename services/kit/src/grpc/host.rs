//! One gRPC host for every service: a bound listener (port 0 resolves
//! before anyone connects), health and reflection, call metrics as a tower
//! layer, NOT_SERVING as soon as shutdown starts, then a drain.

use std::{
    convert::Infallible,
    net::SocketAddr,
    task::{Context as TaskContext, Poll},
    time::Instant,
};

use anyhow::Context;
use futures::future::BoxFuture;
use http::{Request, Response};
use tokio::net::TcpListener;
use tokio_stream::{StreamExt, wrappers::TcpListenerStream};
use tonic::{
    Code, Status,
    body::Body,
    server::NamedService,
    transport::{Server, server::Router},
};
use tonic_health::server::HealthReporter;
use tower::{Layer, Service, layer::util::Identity, layer::util::Stack};

use crate::Shutdown;

/// A service's gRPC server, bound and assembled, not yet serving.
pub struct GrpcHost {
    /// For logs: `order-service`, say.
    name: &'static str,
    /// Bound at build time so that port 0 resolves before anyone connects.
    listener: TcpListener,
    local_addr: SocketAddr,
    router: Router<Stack<CallMetricsLayer, Identity>>,
    /// Turned to NOT_SERVING when shutdown starts, so that load balancers
    /// and probes stop routing here before the server drains.
    health: HealthReporter,
    /// The gRPC services added, whose health is reported one by one.
    services: Vec<&'static str>,
}

impl GrpcHost {
    /// Binds `listen` (port 0 picks a free port) and starts a server with
    /// health and reflection; add the service's API with [`Self::add_service`].
    pub async fn bind(name: &'static str, listen: SocketAddr) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding the gRPC listener on {listen}"))?;
        let local_addr = listener.local_addr()?;
        let (health, health_service) = tonic_health::server::health_reporter();
        let (reflection_v1, reflection_v1alpha) = super::reflection()?;
        let router = Server::builder()
            .layer(CallMetricsLayer)
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha);
        Ok(Self {
            name,
            listener,
            local_addr,
            router,
            health,
            services: Vec::new(),
        })
    }

    /// Adds a service and reports it SERVING.
    pub async fn add_service<S>(mut self, service: S) -> Self
    where
        S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.health
            .set_service_status(S::NAME, tonic_health::ServingStatus::Serving)
            .await;
        self.services.push(S::NAME);
        self.router = self.router.add_service(service);
        self
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Serves until `shutdown`: reports NOT_SERVING at once, then stops
    /// accepting and drains in-flight calls.
    pub async fn serve(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let Self {
            name,
            listener,
            local_addr,
            router,
            health,
            services,
        } = self;
        tracing::info!(addr = %local_addr, "{name} listening");
        let reporting = shutdown.clone();
        tokio::spawn(async move {
            reporting.cancelled().await;
            // "" is the server as a whole, which probes ask about.
            for service in services.into_iter().chain([""]) {
                health
                    .set_service_status(service, tonic_health::ServingStatus::NotServing)
                    .await;
            }
        });
        // TCP_NODELAY on every accepted connection: without it small replies
        // wait for the peer's delayed ACK (about 40 ms on Linux).
        let incoming = TcpListenerStream::new(listener).map(|conn| {
            conn.inspect(|stream| {
                let _ = stream.set_nodelay(true);
            })
        });
        router
            .serve_with_incoming_shutdown(incoming, async move { shutdown.cancelled().await })
            .await?;
        Ok(())
    }
}

/// Counts and times every call to a food service under
/// `grpc_requests_total{service, method, code}` and
/// `grpc_request_duration_seconds{service, method}` (service is the full
/// gRPC name, `food.order.v1.OrderService`; code the canonical upper-case
/// name, `NOT_FOUND`), and logs refused calls. Health and reflection calls
/// (any path outside `/food.`) pass through uncounted.
#[derive(Clone, Copy, Debug, Default)]
pub struct CallMetricsLayer;

impl<S> Layer<S> for CallMetricsLayer {
    type Service = CallMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CallMetrics { inner }
    }
}

/// The service [`CallMetricsLayer`] wraps around the server's routes.
#[derive(Clone, Debug)]
pub struct CallMetrics<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for CallMetrics<S>
where
    S: Service<Request<B>, Response = Response<Body>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if !request.uri().path().starts_with("/food.") {
            return Box::pin(self.inner.call(request));
        }
        // A `Uri` clone shares its bytes: no copy of the path per call.
        let uri = request.uri().clone();
        let response = self.inner.call(request);
        let started = Instant::now();
        Box::pin(async move {
            let result = response.await;
            if let Ok(response) = &result {
                // A unary call that succeeds sends its status in the
                // trailers; one that fails, in the headers (trailers-only).
                let code = Status::from_header_map(response.headers()).map_or(Code::Ok, |status| {
                    if !matches!(status.code(), Code::Ok | Code::Unavailable | Code::Internal) {
                        // Database errors were logged with their cause
                        // where they were mapped.
                        tracing::info!(
                            path = uri.path(),
                            code = code_name(status.code()),
                            message = status.message(),
                            "request refused"
                        );
                    }
                    status.code()
                });
                let (service, method) = labels(uri.path(), code);
                metrics::counter!(
                    "grpc_requests_total",
                    "service" => service,
                    "method" => method,
                    "code" => code_name(code),
                )
                .increment(1);
                metrics::histogram!(
                    "grpc_request_duration_seconds",
                    "service" => service,
                    "method" => method,
                )
                .record(started.elapsed().as_secs_f64());
            }
            result
        })
    }
}

/// The `(service, method)` labels of a call to one of the food services
/// (`/food.order.v1.OrderService/CreateOrder`). Labels are static strings,
/// each distinct one made once: the food services' methods are few and
/// fixed, and a path that names none of them (UNIMPLEMENTED) is labelled
/// `unknown` rather than remembered, so that callers cannot grow the set.
fn labels(path: &str, code: Code) -> (&'static str, &'static str) {
    const UNKNOWN: (&str, &str) = ("unknown", "unknown");
    if code == Code::Unimplemented {
        return UNKNOWN;
    }
    match path.strip_prefix('/').and_then(|p| p.split_once('/')) {
        Some((service, method)) => (intern(service), intern(method)),
        None => UNKNOWN,
    }
}

/// A `'static` copy of a label value, made once per distinct value.
fn intern(value: &str) -> &'static str {
    use std::{
        collections::HashSet,
        sync::{Mutex, OnceLock},
    };
    static SEEN: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut seen = SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(known) = seen.get(value) {
        return known;
    }
    let leaked: &'static str = Box::leak(value.to_owned().into_boxed_str());
    seen.insert(leaked);
    leaked
}

/// The canonical upper-case name of a gRPC code, as dashboards expect it.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_names_are_the_canonical_grpc_names() {
        assert_eq!(code_name(Code::Ok), "OK");
        assert_eq!(code_name(Code::InvalidArgument), "INVALID_ARGUMENT");
        assert_eq!(code_name(Code::NotFound), "NOT_FOUND");
    }

    #[test]
    fn a_call_is_labelled_by_service_and_method_and_unknown_paths_are_not_kept() {
        assert_eq!(
            labels("/food.order.v1.OrderService/CreateOrder", Code::Ok),
            ("food.order.v1.OrderService", "CreateOrder")
        );
        assert_eq!(
            labels("/food.order.v1.OrderService/Nope", Code::Unimplemented),
            ("unknown", "unknown")
        );
        assert_eq!(
            labels("/food.nonsense", Code::NotFound),
            ("unknown", "unknown")
        );
    }

    #[test]
    fn a_label_is_interned_once() {
        let a = intern("food.menu.v1.MenuService");
        let b = intern(&String::from("food.menu.v1.MenuService"));
        assert!(std::ptr::eq(a, b));
    }
}
