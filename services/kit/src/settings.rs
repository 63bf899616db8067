//! Typed settings: defaults, then an optional TOML file, then environment
//! variables. A bad value stops start-up with one line naming the setting.

use std::path::PathBuf;

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// A setting that could not be read; its message names the setting.
#[derive(Debug, thiserror::Error)]
#[error("bad setting: {0}")]
pub struct SettingsError(String);

/// Loads `S` for the service whose env prefix is `FOOD_<SERVICE>__`.
///
/// Order: `S::default()`, then the TOML file named by `FOOD_CONFIG` (if set),
/// then `FOOD_<SERVICE>__<FIELD>` (nested fields joined with `__`).
/// `FOOD_KAFKA_BROKERS` and `FOOD_DATA_DIR` apply to every service.
///
/// A `FOOD_<SERVICE>__*` variable that names no field of `S` is refused.
pub fn load<S>(service: &str) -> Result<S, SettingsError>
where
    S: Serialize + DeserializeOwned + Default,
{
    let settings: S = load_fields(service)?;
    refuse_unknown_env(&settings, &env_prefix(service))?;
    Ok(settings)
}

/// [`load`] for a part of a service's settings (the shared
/// [`ServiceSettings`] of a service with more, to name the culprit of an
/// error): variables for fields outside `S` are left alone.
pub fn load_fields<S>(service: &str) -> Result<S, SettingsError>
where
    S: Serialize + DeserializeOwned + Default,
{
    let mut figment = Figment::from(Serialized::defaults(S::default()));
    if let Ok(path) = std::env::var("FOOD_CONFIG") {
        if !std::path::Path::new(&path).exists() {
            return Err(SettingsError(format!("FOOD_CONFIG: no such file {path}")));
        }
        figment = figment.merge(Toml::file(path));
    }
    let prefix = env_prefix(service);
    figment = figment
        .merge(
            Env::raw()
                .only(&["FOOD_KAFKA_BROKERS"])
                .map(|_| "kafka.brokers".into()),
        )
        .merge(
            Env::raw()
                .only(&["FOOD_DATA_DIR"])
                .map(|_| "data_dir".into()),
        )
        .merge(Env::prefixed(&prefix).split("__"));
    figment.extract().map_err(|e| {
        // `#[serde(flatten)]` loses the key path; the shared fields read on
        // their own name the culprit.
        let e = if e.path.is_empty() {
            figment.extract::<ServiceSettings>().err().unwrap_or(e)
        } else {
            e
        };
        let from_env = e
            .metadata
            .as_ref()
            .is_some_and(|m| m.name.contains("environment"));
        let name = if from_env {
            format!("{prefix}{}", e.path.join("__").to_ascii_uppercase())
        } else if e.path.is_empty() {
            "settings".to_owned()
        } else {
            e.path.join(".")
        };
        SettingsError(format!("{name}: {}", e.kind).replace('\n', " "))
    })
}

fn env_prefix(service: &str) -> String {
    format!("FOOD_{}__", service.to_ascii_uppercase())
}

/// A `FOOD_<SERVICE>__*` variable that names no setting is refused rather
/// than ignored: a misspelt or renamed variable in a deployment (compose,
/// Kubernetes) would otherwise leave the default in force without a word.
fn refuse_unknown_env<S: Serialize>(settings: &S, prefix: &str) -> Result<(), SettingsError> {
    let known =
        serde_json::to_value(settings).map_err(|e| SettingsError(format!("settings: {e}")))?;
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix(prefix) else {
            continue;
        };
        let mut at = &known;
        for part in rest.to_ascii_lowercase().split("__") {
            let serde_json::Value::Object(fields) = at else {
                // A list or a value taken whole: its inside is not named.
                break;
            };
            match fields.get(part) {
                Some(value) => at = value,
                None => {
                    let mut names: Vec<&str> = fields.keys().map(String::as_str).collect();
                    names.sort_unstable();
                    return Err(SettingsError(format!(
                        "{name}: no such setting (known here: {})",
                        names.join(", ")
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Kafka settings shared by every service.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaSettings {
    /// `bootstrap.servers`.
    pub brokers: String,
    /// Prepended to every topic name; lets tests share one broker.
    pub topic_prefix: String,
    /// Partitions for topics created at start.
    pub partitions: i32,
    /// Replication factor of topics created at start (3 on a cluster).
    pub replication_factor: i32,
    /// `min.insync.replicas` of topics created at start; unset leaves the
    /// broker's default (2 with a replication factor of 3).
    pub min_insync_replicas: Option<u32>,
    /// Consumer group id; defaults to the service name.
    pub group_id: Option<String>,
    /// Shortest time (ms) from the start of a batch of two events or more
    /// that the service's consumer applies to the start of the next. Events
    /// that arrive in between wait and go into the next batch, so that under
    /// load the consumer commits fewer, larger transactions and its outbox
    /// relay publishes fewer, larger batches. After a batch of one event (a
    /// quiet spell, or events now and then) or a full batch, the next starts
    /// at once. 0: every batch starts as soon as the previous one is done.
    pub consumer_batch_interval_ms: u64,
}

impl KafkaSettings {
    /// The layout of topics created at start.
    pub fn topic_layout(&self) -> crate::kafka::TopicLayout {
        crate::kafka::TopicLayout {
            partitions: self.partitions,
            replication_factor: self.replication_factor,
            min_insync_replicas: self.min_insync_replicas,
        }
    }

    /// [`KafkaSettings::consumer_batch_interval_ms`] as a duration.
    pub fn consumer_batch_interval(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.consumer_batch_interval_ms)
    }
}

impl Default for KafkaSettings {
    fn default() -> Self {
        Self {
            brokers: "127.0.0.1:9092".into(),
            topic_prefix: String::new(),
            partitions: 3,
            replication_factor: 1,
            min_insync_replicas: None,
            group_id: None,
            consumer_batch_interval_ms: 50,
        }
    }
}

/// The usual shape of a service's settings; services embed or extend it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceSettings {
    /// gRPC listen address.
    pub listen: std::net::SocketAddr,
    /// `sqlite://...` or `postgres://...`; empty means `<data_dir>/<service>.db`.
    pub database_url: String,
    /// Where SQLite files live.
    pub data_dir: PathBuf,
    pub kafka: KafkaSettings,
    /// Serve Prometheus metrics on this address (standalone services).
    pub metrics_listen: Option<std::net::SocketAddr>,
}

impl ServiceSettings {
    pub fn with_listen(listen: &str) -> Self {
        Self {
            listen: listen.parse().expect("a valid default address"),
            database_url: String::new(),
            data_dir: PathBuf::from("./data"),
            kafka: KafkaSettings::default(),
            metrics_listen: None,
        }
    }

    /// The effective database URL for `service`.
    pub fn database_url(&self, service: &str) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}/{service}.db", self.data_dir.display())
        } else {
            self.database_url.clone()
        }
    }

    /// Logs the effective settings, with passwords in URLs redacted.
    pub fn log(&self, service: &str) {
        tracing::info!(
            service,
            listen = %self.listen,
            database_url = %redact_url(&self.database_url(service)),
            kafka_brokers = %self.kafka.brokers,
            topic_prefix = %self.kafka.topic_prefix,
            partitions = self.kafka.partitions,
            consumer_batch_interval_ms = self.kafka.consumer_batch_interval_ms,
            "effective settings"
        );
    }
}

/// `postgres://user:secret@host/db` -> `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

impl Default for ServiceSettings {
    fn default() -> Self {
        Self::with_listen("127.0.0.1:0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_database_urls() {
        assert_eq!(
            redact_url("postgres://food:hunter2@db:5432/orders"),
            "postgres://food:***@db:5432/orders"
        );
        assert_eq!(
            redact_url("sqlite://./data/order.db"),
            "sqlite://./data/order.db"
        );
    }

    #[test]
    fn an_empty_database_url_means_a_sqlite_file_in_the_data_dir() {
        let s = ServiceSettings::with_listen("127.0.0.1:1");
        assert_eq!(s.database_url("menu"), "sqlite://./data/menu.db");
    }

    #[test]
    fn env_vars_override_defaults_and_bad_values_name_the_setting() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("FOOD_TESTSVC__LISTEN", "127.0.0.1:7777");
            jail.set_env("FOOD_KAFKA_BROKERS", "10.0.0.1:9092");
            let s: ServiceSettings = load("testsvc").unwrap();
            assert_eq!(s.listen.port(), 7777);
            assert_eq!(s.kafka.brokers, "10.0.0.1:9092");

            jail.set_env("FOOD_TESTSVC__KAFKA__PARTITIONS", "many");
            let err = load::<ServiceSettings>("testsvc").unwrap_err().to_string();
            assert!(err.contains("FOOD_TESTSVC__KAFKA__PARTITIONS"), "{err}");
            assert!(!err.contains('\n'));
            Ok(())
        });
    }

    #[test]
    fn a_variable_that_names_no_setting_is_refused_with_its_name() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("FOOD_TESTSVC__KAFKA__BROKERS", "10.0.0.1:9092");
            jail.set_env("FOOD_TESTSVC__METRICS_LISTEN", "127.0.0.1:9100");
            load::<ServiceSettings>("testsvc").expect("known names, nested and optional");

            jail.set_env("FOOD_TESTSVC__DATABASE_ADDR", "postgres://db/x");
            let err = load::<ServiceSettings>("testsvc").unwrap_err().to_string();
            assert!(
                err.contains("FOOD_TESTSVC__DATABASE_ADDR: no such setting"),
                "{err}"
            );
            assert!(err.contains("database_url"), "the known names: {err}");
            assert!(!err.contains('\n'));
            Ok(())
        });
        figment::Jail::expect_with(|jail| {
            jail.set_env("FOOD_TESTSVC__KAFKA__BROKER", "10.0.0.1:9092");
            let err = load::<ServiceSettings>("testsvc").unwrap_err().to_string();
            assert!(err.contains("FOOD_TESTSVC__KAFKA__BROKER: "), "{err}");
            Ok(())
        });
    }
}
