//! GraphQL at `/graphql`: queries and mutations over POST, GraphiQL on GET
//! (when enabled), subscriptions over WebSocket (`graphql-transport-ws`,
//! the key in the `connection_init` payload). Access rules are those of
//! REST: resolvers call the same [`Gateway`] with the same [`Caller`].
//!
//! The SDL is exported to `docs/api/schema.graphql` by the food-contract
//! crate, whose test fails when it drifts.

mod root;
pub mod types;

use std::{collections::HashMap, sync::Arc};

use async_graphql::{
    Context, Data, Schema, SchemaBuilder,
    dataloader::{DataLoader, Loader},
    http::{ALL_WEBSOCKET_PROTOCOLS, GraphiQLSource},
};
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::{
    Extension, Router,
    extract::{State, WebSocketUpgrade, ws::rejection::WebSocketUpgradeRejection},
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use food_api::ErrorCode;
use food_kit::Shutdown;

pub use root::{MutationRoot, QueryRoot, SubscriptionRoot};

use crate::{
    auth::{Authentication, Caller},
    error::ApiError,
    live::Hub,
    order_feed::OrderHub,
    service::Gateway,
    state::SharedState,
};

pub type GatewaySchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Deepest accepted query.
pub const MAX_DEPTH: usize = 10;
/// Largest accepted query complexity (each field counts one).
pub const MAX_COMPLEXITY: usize = 500;

/// The schema without data: for the SDL and as the base of [`schema`].
pub fn builder() -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    Schema::build(QueryRoot, MutationRoot, SubscriptionRoot)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
}

/// The SDL, exported to docs/api/schema.graphql (crate food-contract).
pub fn sdl() -> String {
    builder().finish().sdl()
}

pub fn schema(
    gateway: Gateway,
    hub: Arc<Hub>,
    orders: Arc<OrderHub>,
    shutdown: Shutdown,
    introspection: bool,
) -> GatewaySchema {
    let loader = DataLoader::new(ItemLoader(gateway.clone()), tokio::spawn);
    let restaurants = DataLoader::new(RestaurantLoader(gateway.clone()), tokio::spawn);
    let mut b = builder()
        .data(gateway)
        .data(hub)
        .data(orders)
        .data(shutdown)
        .data(loader)
        .data(restaurants);
    if !introspection {
        b = b.disable_introspection();
    }
    b.finish()
}

/// Batches the menu items of all order lines in a query into one `BatchGetItems`.
pub struct ItemLoader(Gateway);

impl Loader<String> for ItemLoader {
    type Value = food_api::Item;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        let items = self
            .0
            .batch_items(keys.to_vec())
            .await
            .map_err(ApiError::into_graphql)?;
        Ok(items.into_iter().map(|i| (i.id.clone(), i)).collect())
    }
}

/// The restaurants of the orders, deliveries and items of a query, each
/// read once (from the gateway's menu cache when fresh); unknown ids are
/// left out, so their `restaurant` is null.
pub struct RestaurantLoader(Gateway);

impl Loader<String> for RestaurantLoader {
    type Value = food_api::Restaurant;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        let reads = keys.iter().map(|id| self.0.restaurant(id));
        let mut found = HashMap::new();
        for read in futures::future::join_all(reads).await {
            if let Some(r) = optional(read)? {
                found.insert(r.id.clone(), r);
            }
        }
        Ok(found)
    }
}

pub(crate) fn gateway<'a>(ctx: &Context<'a>) -> &'a Gateway {
    ctx.data_unchecked::<Gateway>()
}

pub(crate) fn caller(ctx: &Context<'_>) -> Caller {
    ctx.data_opt::<Caller>().cloned().unwrap_or_default()
}

/// GraphQL answers "not found" (and "not yours") with null.
pub(crate) fn optional<T>(r: Result<T, ApiError>) -> async_graphql::Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
        Err(e) => Err(e.into_graphql()),
    }
}

/// `/graphql`, answered by `schema` (carried as an extension so that the
/// shared state need not know the GraphQL types).
pub fn routes(schema: GatewaySchema) -> Router<SharedState> {
    Router::new()
        .route("/graphql", axum::routing::get(get).post(post))
        .layer(Extension(schema))
}

/// `POST /graphql`.
#[tracing::instrument(skip_all)]
pub async fn post(
    Extension(schema): Extension<GatewaySchema>,
    caller: Caller,
    request: GraphQLRequest<ApiError>,
) -> GraphQLResponse {
    schema
        .execute(request.into_inner().data(caller))
        .await
        .into()
}

/// `GET /graphql`: a WebSocket upgrade for subscriptions, else GraphiQL
/// when enabled.
pub async fn get(
    State(state): State<SharedState>,
    Extension(schema): Extension<GatewaySchema>,
    headers: HeaderMap,
    protocol: Result<GraphQLProtocol, StatusCode>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    match (upgrade, protocol) {
        (Ok(upgrade), Ok(protocol)) => websocket(state, schema, &headers, protocol, upgrade),
        (Ok(_), Err(_)) => ApiError::bad_request(
            "unsupported WebSocket subprotocol; use graphql-transport-ws",
        )
        .into_response(),
        (Err(_), _) if state.graphiql => Html(
            GraphiQLSource::build()
                .endpoint("/graphql")
                .subscription_endpoint("/graphql")
                .finish(),
        )
        .into_response(),
        (Err(_), _) => ApiError::not_found(
            "GraphiQL is disabled; POST queries to /graphql or open a graphql-transport-ws WebSocket",
        )
        .into_response(),
    }
}

fn websocket(
    state: SharedState,
    schema: GatewaySchema,
    headers: &HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    // A key on the upgrade request itself is honoured too; connection_init wins.
    let header_auth = state.keys.authenticate(
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    );
    let shutdown = state.shutdown.clone();
    // A message may be as large as a request body, not axum's 64 MiB: a
    // subscription message is a small query.
    let message_limit = state.body_limit;
    upgrade
        .max_message_size(message_limit)
        .max_frame_size(message_limit)
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| async move {
            let serve = GraphQLWebSocket::new(socket, schema, protocol)
                .on_connection_init(move |payload| on_connection_init(state, header_auth, payload))
                .serve();
            tokio::select! {
                _ = serve => {}
                _ = shutdown.cancelled() => {}
            }
        })
}

/// Reads `{"Authorization": "Bearer <key>"}` from `connection_init`; a
/// refused key closes the connection, no key means anonymous.
async fn on_connection_init(
    state: SharedState,
    header_auth: Authentication,
    payload: serde_json::Value,
) -> async_graphql::Result<Data> {
    let auth = match authorization_of(&payload) {
        Some(value) => state.keys.authenticate(Some(value)),
        None => header_auth,
    };
    let caller = Caller::from_authentication(auth).map_err(ApiError::into_graphql)?;
    let mut data = Data::default();
    data.insert(caller);
    Ok(data)
}

fn authorization_of(payload: &serde_json::Value) -> Option<&str> {
    let obj = payload.as_object()?;
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .and_then(|(_, v)| v.as_str())
        .or_else(|| {
            obj.get("headers")
                .and_then(|h| h.as_object())
                .and_then(|h| {
                    h.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
                })
                .and_then(|(_, v)| v.as_str())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_init_payload_carries_the_key_in_either_form() {
        let flat = serde_json::json!({"Authorization": "Bearer k"});
        let nested = serde_json::json!({"headers": {"authorization": "Bearer k"}});
        assert_eq!(authorization_of(&flat), Some("Bearer k"));
        assert_eq!(authorization_of(&nested), Some("Bearer k"));
        assert_eq!(authorization_of(&serde_json::json!({})), None);
    }

    #[test]
    fn the_schema_has_the_documented_operations() {
        let sdl = sdl();
        for needle in [
            "menuItems(restaurantId: ID, category: String, available: Boolean, search: String",
            "restaurants(cuisine: String, open: Boolean, search: String, limit: Int, cursor: String): RestaurantPage!",
            "restaurant(id: ID!): Restaurant",
            "menu(category: String, available: Boolean, search: String",
            "setRestaurantOpen(restaurantId: ID!, open: Boolean!): Restaurant!",
            "deliveries(status: DeliveryStatus, restaurantId: ID",
            "pickupAddress: String",
            "menuItem(id: ID!): Item",
            "order(id: ID!): Order",
            "deliveryStatus(orderId: ID!): Delivery",
            "createOrder(input: CreateOrderInput!): Order!",
            "cancelOrder(orderId: ID!",
            "updateDeliveryStatus(orderId: ID!, status: DeliveryStatus!",
            "deliveryStatusChanged(orderId: ID!): Delivery!",
            "orderStatusChanged(restaurantId: ID!): Order!",
            "acceptOrder(orderId: ID!, readyBy: DateTime, prepMinutes: Int): Order!",
            "rejectOrder(orderId: ID!, reason: String!): Order!",
            "markOrderReady(orderId: ID!): Order!",
            "setCourierShift(courierId: ID!, onShift: Boolean!): Courier!",
            "couriers(onShift: Boolean): [Courier!]!",
            "readyBy: DateTime",
            "rejectionReason: String",
            "courierName: String",
            "autoAccept: Boolean!",
            "acceptanceTimeoutS: Int!",
            "READY_FOR_PICKUP",
            "PICKED_UP",
            "priceCents: Int!",
        ] {
            assert!(sdl.contains(needle), "missing {needle:?} in\n{sdl}");
        }
    }
}
