//! The menu service's settings: the common service settings plus seeding.

use std::fmt;

use food_kit::settings::{ServiceSettings, SettingsError};
use serde::{Deserialize, Deserializer, Serialize, de};

/// Loaded by [`Settings::load`] (`food_kit::settings::load("menu")`), so every
/// field can be set with `FOOD_MENU__<FIELD>` (e.g. `FOOD_MENU__SEED=off`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Listen address, database and data dir, shared in shape with the other services.
    #[serde(flatten)]
    pub service: ServiceSettings,
    /// When the shipped menu (`data/menu.json`) is written at start.
    pub seed: SeedMode,
}

/// When the shipped menu is written at start; `FOOD_MENU__SEED`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SeedMode {
    /// Seed a menu that has no restaurants and no items (a fresh install);
    /// a restart never undoes imports or edits.
    #[default]
    IfEmpty,
    /// Add the seed's restaurants and items whose ids are still free,
    /// leaving existing rows alone, so an upgraded data dir gains the
    /// restaurants of a newer seed.
    Missing,
    /// Never write the seed: the menu is only what ops import.
    Off,
}

impl SeedMode {
    const NAMES: &'static [&'static str] = &["if-empty", "missing", "off"];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::IfEmpty => "if-empty",
            Self::Missing => "missing",
            Self::Off => "off",
        }
    }
}

impl fmt::Display for SeedMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Also takes `true` and `false`, the values of releases where seeding was
/// a switch, so existing configurations keep their meaning.
impl<'de> Deserialize<'de> for SeedMode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = SeedMode;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("one of if-empty, missing, off (or true, false)")
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<SeedMode, E> {
                Ok(if v { SeedMode::IfEmpty } else { SeedMode::Off })
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<SeedMode, E> {
                match v.trim().to_ascii_lowercase().as_str() {
                    "if-empty" | "true" => Ok(SeedMode::IfEmpty),
                    "missing" => Ok(SeedMode::Missing),
                    "off" | "false" => Ok(SeedMode::Off),
                    _ => Err(E::unknown_variant(v, SeedMode::NAMES)),
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            service: ServiceSettings::with_listen("127.0.0.1:50051"),
            seed: SeedMode::IfEmpty,
        }
    }
}

impl food_kit::healthcheck::Probed for Settings {
    fn probe(&self) -> food_kit::healthcheck::Probe {
        food_kit::healthcheck::Probe::Grpc(self.service.listen)
    }
}

impl Settings {
    /// Defaults, then `FOOD_CONFIG`, then `FOOD_MENU__*`.
    ///
    /// serde's `flatten` buffers the shared fields, which drops the key from
    /// their errors ("invalid socket address syntax"); on failure the shared
    /// part is loaded alone so the message names the setting.
    pub fn load() -> Result<Self, SettingsError> {
        food_kit::settings::load::<Self>("menu").map_err(
            |err| match food_kit::settings::load_fields::<ServiceSettings>("menu") {
                Err(named) => named,
                Ok(_) => err,
            },
        )
    }

    /// Logs the effective settings, secrets redacted.
    pub fn log(&self) {
        self.service.log("menu");
        tracing::info!(seed = %self.seed, "menu settings");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_listen_on_the_documented_port_and_seed() {
        let s = Settings::default();
        assert_eq!(s.service.listen.to_string(), "127.0.0.1:50051");
        assert_eq!(s.seed, SeedMode::IfEmpty);
    }

    #[test]
    fn env_vars_reach_flattened_and_own_fields() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("FOOD_MENU__LISTEN", "0.0.0.0:6000");
            jail.set_env("FOOD_MENU__SEED", "false");
            jail.set_env("FOOD_MENU__DATABASE_URL", "postgres://menu@db/menu");
            let s = Settings::load().unwrap();
            assert_eq!(s.service.listen.port(), 6000);
            assert_eq!(s.seed, SeedMode::Off);
            assert_eq!(s.service.database_url("menu"), "postgres://menu@db/menu");
            Ok(())
        });
    }

    #[test]
    fn each_seed_mode_is_read_by_name_and_the_old_switch_still_works() {
        figment::Jail::expect_with(|jail| {
            for (value, mode) in [
                ("if-empty", SeedMode::IfEmpty),
                ("missing", SeedMode::Missing),
                ("off", SeedMode::Off),
                ("true", SeedMode::IfEmpty),
                ("false", SeedMode::Off),
            ] {
                jail.set_env("FOOD_MENU__SEED", value);
                assert_eq!(Settings::load().unwrap().seed, mode, "{value}");
            }
            Ok(())
        });
    }

    #[test]
    fn a_bad_value_names_the_setting() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("FOOD_MENU__SEED", "sometimes");
            let err = Settings::load().unwrap_err().to_string();
            assert!(err.to_lowercase().contains("seed"), "{err}");
            assert!(
                err.contains("missing"),
                "the allowed values are listed: {err}"
            );
            jail.set_env("FOOD_MENU__SEED", "true");
            jail.set_env("FOOD_MENU__LISTEN", "nowhere");
            let err = Settings::load().unwrap_err().to_string();
            assert!(err.to_lowercase().contains("listen"), "{err}");
            Ok(())
        });
    }
}
