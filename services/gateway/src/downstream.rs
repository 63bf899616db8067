//! The gRPC clients of menu, order and delivery: lazy channels (the gateway
//! starts without them), a deadline on connecting and on every call (a
//! stopped service gives a fast UNAVAILABLE, a hung one a timeout), and the
//! request id passed on as `x-trace-id` metadata.
//!
//! Each URL may name several replicas (`order-service` scaled to two
//! resolves to two addresses): calls are spread round-robin over the
//! replicas that answer their health probe, a dead or cut-off one stops
//! getting calls within about a second and gets them again once it answers
//! (`food_kit::grpc::balance`, settings `FOOD_GATEWAY__BALANCE__*`).

use std::{sync::Arc, time::Duration};

use food_kit::{
    grpc::balance::{Balanced, Configure},
    healthcheck::grpc_serving,
};
use food_proto::{
    delivery::v1::delivery_service_client::DeliveryServiceClient,
    menu::v1::menu_service_client::MenuServiceClient,
    order::v1::order_service_client::OrderServiceClient,
};
use tonic::{
    Request, Status,
    metadata::MetadataValue,
    service::{Interceptor, interceptor::InterceptedService},
};

use crate::settings::Settings;

tokio::task_local! {
    /// The request id of the HTTP request being served; set by the request
    /// middleware, read by [`TraceInterceptor`].
    pub static REQUEST_ID: String;
}

/// Copies the current request id into the call's metadata.
#[derive(Clone, Copy, Debug, Default)]
pub struct TraceInterceptor;

impl Interceptor for TraceInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Ok(Ok(value)) = REQUEST_ID.try_with(|id| MetadataValue::try_from(id.as_str())) {
            request
                .metadata_mut()
                .insert(food_kit::grpc::TRACE_ID, value);
        }
        Ok(request)
    }
}

pub type TracedChannel = InterceptedService<Balanced, TraceInterceptor>;

/// The three downstream services. Cloning is cheap: clones share connections.
#[derive(Clone, Debug)]
pub struct Downstream {
    pub menu: MenuServiceClient<TracedChannel>,
    pub order: OrderServiceClient<TracedChannel>,
    pub delivery: DeliveryServiceClient<TracedChannel>,
    /// Plain channels for health checks, by service name.
    channels: Vec<(&'static str, Balanced)>,
    timeout: Duration,
}

impl Downstream {
    /// Creates the channels without connecting; connections are made on the
    /// first call and remade after a failure. Must be called within a Tokio
    /// runtime (a name is watched by a task).
    pub fn connect_lazy(settings: &Settings) -> anyhow::Result<Self> {
        let timeout = Duration::from_millis(settings.downstream_timeout_ms.max(1));
        let configure: Configure = Arc::new(move |endpoint| {
            endpoint
                .connect_timeout(timeout)
                .timeout(timeout)
                .tcp_nodelay(true)
                .http2_keep_alive_interval(Duration::from_secs(30))
                .keep_alive_while_idle(true)
        });
        let channel = |name: &str, url: &str| -> anyhow::Result<Balanced> {
            Balanced::new(name, url, configure.clone(), &settings.balance)
                .map_err(|e| anyhow::anyhow!("{name}_url: {e:#}"))
        };
        let menu = channel("menu", &settings.menu_url)?;
        let order = channel("order", &settings.order_url)?;
        let delivery = channel("delivery", &settings.delivery_url)?;
        Ok(Self {
            menu: MenuServiceClient::with_interceptor(menu.clone(), TraceInterceptor),
            order: OrderServiceClient::with_interceptor(order.clone(), TraceInterceptor),
            delivery: DeliveryServiceClient::with_interceptor(delivery.clone(), TraceInterceptor),
            channels: vec![("menu", menu), ("order", order), ("delivery", delivery)],
            timeout,
        })
    }

    /// `grpc.health.v1` of each service: `Ok` when it reports SERVING.
    pub async fn health(&self) -> Vec<(&'static str, Result<(), String>)> {
        let checks = self.channels.iter().map(|(name, channel)| async move {
            (*name, grpc_serving(channel.clone(), self.timeout).await)
        });
        futures::future::join_all(checks).await
    }
}
