//! The menu service's settings: the common service settings plus seeding.

use food_kit::settings::{ServiceSettings, SettingsError};
use serde::{Deserialize, Serialize};

/// Loaded by [`Settings::load`] (`food_kit::settings::load("menu")`), so every
/// field can be set with `FOOD_MENU__<FIELD>` (e.g. `FOOD_MENU__SEED=false`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Listen address, database and data dir, shared in shape with the other services.
    #[serde(flatten)]
    pub service: ServiceSettings,
    /// Load the shipped menu on first start (when the items table is empty).
    pub seed: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            service: ServiceSettings::with_listen("127.0.0.1:50051"),
            seed: true,
        }
    }
}

impl Settings {
    /// Defaults, then `FOOD_CONFIG`, then `FOOD_MENU__*`.
    ///
    /// serde's `flatten` buffers the shared fields, which drops the key from
    /// their errors ("invalid socket address syntax"); on failure the shared
    /// part is loaded alone so the message names the setting.
    pub fn load() -> Result<Self, SettingsError> {
        food_kit::settings::load::<Self>("menu").map_err(|err| {
            match food_kit::settings::load::<ServiceSettings>("menu") {
                Err(named) => named,
                Ok(_) => err,
            }
        })
    }

    /// Logs the effective settings, secrets redacted.
    pub fn log(&self) {
        self.service.log("menu");
        tracing::info!(seed = self.seed, "menu settings");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_listen_on_the_documented_port_and_seed() {
        let s = Settings::default();
        assert_eq!(s.service.listen.to_string(), "127.0.0.1:50051");
        assert!(s.seed);
    }

    #[test]
    fn env_vars_reach_flattened_and_own_fields() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("FOOD_MENU__LISTEN", "0.0.0.0:6000");
            jail.set_env("FOOD_MENU__SEED", "false");
            jail.set_env("FOOD_MENU__DATABASE_URL", "postgres://menu@db/menu");
            let s = Settings::load().unwrap();
            assert_eq!(s.service.listen.port(), 6000);
            assert!(!s.seed);
            assert_eq!(s.service.database_url("menu"), "postgres://menu@db/menu");
            Ok(())
        });
    }

    #[test]
    fn a_bad_value_names_the_setting() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("FOOD_MENU__SEED", "sometimes");
            let err = Settings::load().unwrap_err().to_string();
            assert!(err.to_lowercase().contains("seed"), "{err}");
            jail.set_env("FOOD_MENU__SEED", "true");
            jail.set_env("FOOD_MENU__LISTEN", "nowhere");
            let err = Settings::load().unwrap_err().to_string();
            assert!(err.to_lowercase().contains("listen"), "{err}");
            Ok(())
        });
    }
}
