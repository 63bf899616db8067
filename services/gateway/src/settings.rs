//! The gateway's settings (`FOOD_GATEWAY__*`) and its API keys, which are
//! stored as SHA-256 hashes so that a leaked config file leaks no key.

use std::net::SocketAddr;

use food_kit::{grpc::balance::BalanceSettings, settings::KafkaSettings};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// HTTP listen address (REST, GraphQL, SSE, /metrics).
    pub listen: SocketAddr,
    /// gRPC endpoint of menu-service, e.g. `http://127.0.0.1:50051`.
    pub menu_url: String,
    /// gRPC endpoint of order-service.
    pub order_url: String,
    /// gRPC endpoint of delivery-service.
    pub delivery_url: String,
    /// Where live delivery changes are read from.
    pub kafka: KafkaSettings,
    /// Accepted keys, hashed.
    pub api_keys: Vec<ApiKey>,
    /// Requests per second per customer key; 0 disables the limit.
    pub rate_limit_per_sec: u32,
    /// Largest accepted request body.
    pub body_limit_bytes: usize,
    /// Deadline of every downstream gRPC call (and of connecting).
    pub downstream_timeout_ms: u64,
    /// How the replicas behind each URL are found and watched
    /// (`FOOD_GATEWAY__BALANCE__PROBE_INTERVAL_MS`, `..._PROBE_TIMEOUT_MS`,
    /// `..._RESOLVE_INTERVAL_MS`): a URL whose host is a name is resolved
    /// again and again and calls go round-robin over the addresses that
    /// answer their health probe; an IP address is one replica.
    pub balance: BalanceSettings,
    /// Requests served at once; more are refused at once with 503 rather
    /// than queued, so that an overload never turns into a hang.
    pub max_in_flight: usize,
    /// Serves GraphiQL on `GET /graphql` and allows introspection.
    pub graphiql: bool,
    /// How long a menu read (`GET /menu/items`, `GET /menu/items/:id`,
    /// `GET /restaurants...` and their GraphQL forms) is answered from
    /// memory before menu-service is asked again; 0 asks every time. An
    /// import or a pause/resume through this gateway empties it at once.
    pub menu_cache_ms: u64,
}

impl food_kit::healthcheck::Probed for Settings {
    fn probe(&self) -> food_kit::healthcheck::Probe {
        food_kit::healthcheck::Probe::Http(self.listen, "/readyz")
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            menu_url: "http://127.0.0.1:50051".into(),
            order_url: "http://127.0.0.1:50052".into(),
            delivery_url: "http://127.0.0.1:50053".into(),
            kafka: KafkaSettings::default(),
            api_keys: Vec::new(),
            rate_limit_per_sec: 0,
            body_limit_bytes: 1024 * 1024,
            downstream_timeout_ms: 3000,
            balance: BalanceSettings::default(),
            max_in_flight: 512,
            graphiql: false,
            menu_cache_ms: 1000,
        }
    }
}

impl Settings {
    /// Logs the effective settings; keys are summarised, never printed.
    pub fn log(&self) {
        let count = |r: Role| self.api_keys.iter().filter(|k| k.role == r).count();
        tracing::info!(
            listen = %self.listen,
            menu_url = %self.menu_url,
            order_url = %self.order_url,
            delivery_url = %self.delivery_url,
            kafka_brokers = %self.kafka.brokers,
            topic_prefix = %self.kafka.topic_prefix,
            customer_keys = count(Role::Customer),
            restaurant_keys = count(Role::Restaurant),
            courier_keys = count(Role::Courier),
            ops_keys = count(Role::Ops),
            rate_limit_per_sec = self.rate_limit_per_sec,
            body_limit_bytes = self.body_limit_bytes,
            downstream_timeout_ms = self.downstream_timeout_ms,
            probe_interval_ms = self.balance.probe_interval_ms,
            probe_timeout_ms = self.balance.probe_timeout_ms,
            resolve_interval_ms = self.balance.resolve_interval_ms,
            max_in_flight = self.max_in_flight,
            graphiql = self.graphiql,
            menu_cache_ms = self.menu_cache_ms,
            "effective settings"
        );
    }
}

/// One accepted key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ApiKey {
    /// Lower-case hex of `sha256(key)`; see [`hash_key`].
    pub sha256: String,
    pub role: Role,
    /// The customer a `customer` key acts as; required for that role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// The restaurant a `restaurant` key acts for; required for that role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restaurant_id: Option<String>,
    /// The courier a `courier` key is; required for that role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub courier_id: Option<String>,
}

impl ApiKey {
    /// A key entry for the raw `key` (tests, `food-stack`); `scope` is the
    /// id the role is bound to: the customer of a customer key, the
    /// restaurant of a restaurant key, the courier of a courier key
    /// (ignored for ops).
    pub fn new(key: &str, role: Role, scope: Option<&str>) -> Self {
        let scope = scope.map(str::to_owned);
        let mut k = Self {
            sha256: hash_key(key),
            role,
            customer_id: None,
            restaurant_id: None,
            courier_id: None,
        };
        match role {
            Role::Customer => k.customer_id = scope,
            Role::Restaurant => k.restaurant_id = scope,
            Role::Courier => k.courier_id = scope,
            Role::Ops => {}
        }
        k
    }
}

/// What a key may do (docs/design.md, "Gateway API").
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Customer,
    /// A kitchen: its restaurant's orders (accept, reject, ready) and pausing it.
    Restaurant,
    Courier,
    Ops,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Restaurant => "restaurant",
            Self::Courier => "courier",
            Self::Ops => "ops",
        }
    }
}

/// Lower-case hex SHA-256 of `key`, the form keys are stored in.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_hash_to_lower_case_hex_sha256() {
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn defaults_match_the_design() {
        let s = Settings::default();
        assert_eq!(s.listen.port(), 8080);
        assert_eq!(s.body_limit_bytes, 1 << 20);
        assert!(!s.graphiql);
    }

    #[test]
    fn keys_read_from_toml_with_lower_case_roles() {
        let s: Settings =
            toml_like(r#"{"api_keys":[{"sha256":"ab","role":"customer","customer_id":"c1"}]}"#);
        assert_eq!(s.api_keys[0].role, Role::Customer);
        assert_eq!(s.api_keys[0].customer_id.as_deref(), Some("c1"));
        assert_eq!(s.listen.port(), 8080, "missing fields take defaults");
    }

    #[test]
    fn restaurant_and_courier_keys_read_with_their_ids() {
        let s: Settings = toml_like(
            r#"{"api_keys":[{"sha256":"ab","role":"restaurant","restaurant_id":"maison-tandoor"},
                            {"sha256":"cd","role":"courier","courier_id":"courier-1"}]}"#,
        );
        assert_eq!(s.api_keys[0].role, Role::Restaurant);
        assert_eq!(
            s.api_keys[0].restaurant_id.as_deref(),
            Some("maison-tandoor")
        );
        assert_eq!(s.api_keys[1].role, Role::Courier);
        assert_eq!(s.api_keys[1].courier_id.as_deref(), Some("courier-1"));
    }

    #[test]
    fn a_new_key_binds_its_scope_to_its_role() {
        let k = ApiKey::new("k", Role::Courier, Some("courier-2"));
        assert_eq!(k.courier_id.as_deref(), Some("courier-2"));
        assert_eq!((k.customer_id, k.restaurant_id), (None, None));
        let k = ApiKey::new("k", Role::Restaurant, Some("sakura-sushi"));
        assert_eq!(k.restaurant_id.as_deref(), Some("sakura-sushi"));
    }

    fn toml_like(json: &str) -> Settings {
        serde_json::from_str(json).unwrap()
    }
}
