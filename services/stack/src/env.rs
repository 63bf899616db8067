//! The services' own settings in one process: `food-stack` reads each part's
//! `FOOD_<PART>__*` variables (and `FOOD_CONFIG`) the way the separate
//! binaries do, and refuses the few it sets itself, naming the flag to use
//! instead (docs/operations.md, "Settings food-stack honours"). A documented
//! setting is never ignored without a word.

use anyhow::Context;
use serde::{Serialize, de::DeserializeOwned};

/// Settings the stack sets for every part, by the variable's name after
/// `FOOD_<PART>__`, with what to use instead.
const SET_BY_THE_STACK: &[(&str, &str)] = &[
    ("LISTEN", "--{part}-addr"),
    ("DATA_DIR", "--data-dir"),
    ("KAFKA__BROKERS", "--kafka-brokers"),
    ("KAFKA__TOPIC_PREFIX", "separate data dirs or brokers"),
    ("KAFKA__PARTITIONS", "--partitions"),
    ("KAFKA__REPLICATION_FACTOR", "--replication-factor"),
    ("KAFKA__MIN_INSYNC_REPLICAS", "--min-insync-replicas"),
    ("MENU_URL", "nothing: the stack connects its parts"),
    ("ORDER_URL", "nothing: the stack connects its parts"),
    ("DELIVERY_URL", "nothing: the stack connects its parts"),
    (
        "METRICS_LISTEN",
        "the gateway's /metrics, which serves every part's",
    ),
];

/// `S` loaded like the `part` binary loads it, after checking that no
/// variable of `vars` sets what the stack sets itself.
pub fn load<S>(part: &str, vars: &[(String, String)]) -> anyhow::Result<S>
where
    S: Serialize + DeserializeOwned + Default,
{
    refuse_stack_owned(part, vars)?;
    food_kit::settings::load(part).with_context(|| format!("{part} settings"))
}

/// The first of `vars` (name, value) that sets one of
/// [`SET_BY_THE_STACK`] for `part` is an error naming it.
fn refuse_stack_owned(part: &str, vars: &[(String, String)]) -> anyhow::Result<()> {
    let prefix = format!("FOOD_{}__", part.to_ascii_uppercase());
    for (name, _) in vars {
        let Some(setting) = name.strip_prefix(&prefix) else {
            continue;
        };
        if let Some((_, instead)) = SET_BY_THE_STACK
            .iter()
            .find(|(owned, _)| owned.eq_ignore_ascii_case(setting))
        {
            anyhow::bail!(
                "{name} is not used by food-stack, which sets it itself: use {}",
                instead.replace("{part}", part)
            );
        }
    }
    Ok(())
}

/// Where a part keeps its data, for its ready line: the database URL with
/// any password hidden.
pub fn store_label(database_url: &str) -> String {
    match database_url.strip_prefix("sqlite://") {
        Some(path) => format!("SQLite {}", path.split('?').next().unwrap_or(path)),
        None => food_kit::settings::redact_url(database_url),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_variable_the_stack_sets_itself_is_refused_with_the_flag_to_use() {
        let err = refuse_stack_owned("order", &vars(&[("FOOD_ORDER__LISTEN", "0.0.0.0:1")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("FOOD_ORDER__LISTEN"), "{err}");
        assert!(err.contains("--order-addr"), "{err}");
        let err = refuse_stack_owned("gateway", &vars(&[("FOOD_GATEWAY__menu_url", "http://x")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("FOOD_GATEWAY__menu_url"), "{err}");
    }

    #[test]
    fn other_variables_and_other_parts_pass() {
        let vars = vars(&[
            ("FOOD_ORDER__DATABASE_URL", "postgres://db/orders"),
            ("FOOD_ORDER__MENU_CACHE_MS", "0"),
            ("FOOD_MENU__LISTEN", "0.0.0.0:1"),
            ("FOOD_KAFKA_BROKERS", "k:9092"),
        ]);
        refuse_stack_owned("order", &vars).unwrap();
        refuse_stack_owned("delivery", &vars).unwrap();
    }

    #[test]
    fn store_labels_hide_passwords() {
        assert_eq!(
            store_label("postgres://food:secret@db:5432/orders"),
            "postgres://food:***@db:5432/orders"
        );
        assert_eq!(
            store_label("sqlite:///srv/data/menu.db"),
            "SQLite /srv/data/menu.db"
        );
    }
}
