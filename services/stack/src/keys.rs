//! Local API keys and the foodctl contexts that use them.
//!
//! On first start `food-stack` creates one ops key, a key per local courier
//! (`courier-1`..`courier-3`, seeded by delivery-service), a key per seed
//! restaurant and two customer keys, writes them to
//! `<data dir>/local-keys.json` (mode 0600), and hands the gateway only
//! their SHA-256 hashes. A file written by an older release (ops, one
//! courier, customers) is completed in place: its courier key becomes
//! `courier-1`'s. The foodctl contexts that use them go through
//! `food_client`'s contexts file, so foodctl and food-board read what is
//! written here.

use std::{
    collections::BTreeMap,
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::Context as _;
use food_client::{Context, ContextsFile, contexts_path};
use food_gateway::{ApiKey, Role};
use serde::{Deserialize, Serialize};

/// The couriers delivery-service seeds; `courier-1`'s key is also `courier`.
pub const LOCAL_COURIERS: [&str; 3] = ["courier-1", "courier-2", "courier-3"];

/// The customers that get a key on first start.
const LOCAL_CUSTOMERS: [&str; 2] = ["cust-ada", "cust-grace"];

/// `{"ops", "courier" (courier-1's key), "couriers": {id: key},
/// "restaurants": {id: key}, "customers": {id: key}}` (docs/design.md,
/// "Gateway API").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalKeys {
    pub ops: String,
    /// The first courier's key (`couriers["courier-1"]`), where releases
    /// before couriers had their one courier key.
    pub courier: String,
    /// Absent from files of releases before couriers.
    #[serde(default)]
    pub couriers: BTreeMap<String, String>,
    /// One per seed restaurant; absent from files of releases before kitchens.
    #[serde(default)]
    pub restaurants: BTreeMap<String, String>,
    pub customers: BTreeMap<String, String>,
}

/// The seed's restaurants, in the seed's order: id and whether it accepts
/// orders at once.
pub fn seed_restaurants() -> anyhow::Result<Vec<(String, bool)>> {
    let seed = food_menu::seed::menu()?;
    Ok(seed
        .restaurants
        .into_iter()
        .map(|r| (r.id.as_str().to_owned(), r.auto_accept))
        .collect())
}

impl LocalKeys {
    fn generate(restaurants: &[(String, bool)]) -> Self {
        let mut keys = Self {
            ops: new_key("ops"),
            courier: String::new(),
            couriers: BTreeMap::new(),
            restaurants: BTreeMap::new(),
            customers: LOCAL_CUSTOMERS
                .into_iter()
                .map(|c| (c.to_owned(), new_key("cust")))
                .collect(),
        };
        keys.complete(restaurants);
        keys
    }

    /// Adds the keys a file from an older release lacks: its `courier` key
    /// becomes `courier-1`'s, the other couriers and the restaurants get
    /// new ones. Returns whether anything changed.
    fn complete(&mut self, restaurants: &[(String, bool)]) -> bool {
        let before = self.clone();
        let first = LOCAL_COURIERS[0];
        if !self.couriers.contains_key(first) {
            let key = if self.courier.is_empty() {
                new_key("courier")
            } else {
                self.courier.clone()
            };
            self.couriers.insert(first.to_owned(), key);
        }
        for id in &LOCAL_COURIERS[1..] {
            self.couriers
                .entry((*id).to_owned())
                .or_insert_with(|| new_key("courier"));
        }
        self.courier.clone_from(&self.couriers[first]);
        for (id, _) in restaurants {
            self.restaurants
                .entry(id.clone())
                .or_insert_with(|| new_key("kitchen"));
        }
        *self != before
    }

    /// The gateway's view: hashes, roles and the ids they are bound to.
    pub fn api_keys(&self) -> Vec<ApiKey> {
        let mut keys = vec![ApiKey::new(&self.ops, Role::Ops, None)];
        keys.extend(
            self.couriers
                .iter()
                .map(|(id, key)| ApiKey::new(key, Role::Courier, Some(id))),
        );
        // A hand-edited file whose `courier` is not courier-1's still works.
        if !self.couriers.values().any(|k| *k == self.courier) {
            keys.push(ApiKey::new(
                &self.courier,
                Role::Courier,
                Some(LOCAL_COURIERS[0]),
            ));
        }
        keys.extend(
            self.restaurants
                .iter()
                .map(|(id, key)| ApiKey::new(key, Role::Restaurant, Some(id))),
        );
        keys.extend(
            self.customers
                .iter()
                .map(|(id, key)| ApiKey::new(key, Role::Customer, Some(id))),
        );
        keys
    }

    /// The first customer's id and key.
    pub fn first_customer(&self) -> (&str, &str) {
        self.customers
            .iter()
            .next()
            .map(|(c, k)| (c.as_str(), k.as_str()))
            .expect("local keys have customers")
    }

    /// The key of restaurant `id`, if it has one.
    pub fn restaurant(&self, id: &str) -> Option<&str> {
        self.restaurants.get(id).map(String::as_str)
    }

    /// The key of courier `id`, if it has one.
    pub fn courier_key(&self, id: &str) -> Option<&str> {
        self.couriers.get(id).map(String::as_str)
    }
}

/// The restaurant of the `local-kitchen` context: the seed's first that
/// accepts orders by hand (`maison-tandoor`), so that its orders wait for
/// the kitchen.
pub fn local_kitchen(restaurants: &[(String, bool)]) -> Option<&str> {
    restaurants
        .iter()
        .find(|(_, auto)| !auto)
        .or(restaurants.first())
        .map(|(id, _)| id.as_str())
}

fn new_key(kind: &str) -> String {
    let bytes: [u8; 24] = rand::random();
    format!("food_{kind}_{}", hex::encode(bytes))
}

/// Reads `<data dir>/local-keys.json`, creating it on first start and
/// adding what a file of an older release lacks.
pub fn load_or_create(data_dir: &Path) -> anyhow::Result<(LocalKeys, PathBuf)> {
    let path = data_dir.join("local-keys.json");
    let restaurants = seed_restaurants()?;
    if path.exists() {
        keep_private(&path)?;
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let mut keys: LocalKeys = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a keys file", path.display()))?;
        if keys.complete(&restaurants) {
            write_private(&path, &serde_json::to_string_pretty(&keys)?)?;
            tracing::info!(path = %path.display(), "added the courier and restaurant keys to the local keys");
        }
        return Ok((keys, path));
    }
    let keys = LocalKeys::generate(&restaurants);
    write_private(&path, &serde_json::to_string_pretty(&keys)?)?;
    Ok((keys, path))
}

/// Tightens an existing keys file that others may read (copied, unpacked
/// or edited under a loose umask) back to 0600 and says so: its keys are
/// the stack's credentials.
fn keep_private(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).with_context(
            || {
                format!(
                    "{} is readable by others (mode {:o}) and cannot be made 0600",
                    path.display(),
                    mode & 0o777
                )
            },
        )?;
        tracing::warn!(path = %path.display(), was = format!("{:o}", mode & 0o777), "the local keys were readable by others; made them 0600");
    }
    Ok(())
}

/// Writes `text` to `path` readable by the owner only.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// `$XDG_CONFIG_HOME/foodctl/config.toml`, else `~/.config/foodctl/config.toml`;
/// `None` without a home directory.
pub fn foodctl_config_path() -> Option<PathBuf> {
    contexts_path().ok()
}

/// Sets contexts `local` (ops), `local-customer` (the first customer),
/// `local-courier` (`courier-1`) and `local-kitchen` (the seed's first
/// restaurant that accepts by hand), keeping every other context; makes
/// `local` current if none is.
pub fn write_foodctl_contexts(path: &Path, gateway: &str, keys: &LocalKeys) -> anyhow::Result<()> {
    let mut file = ContextsFile::load(path)?;
    let context = |token: &str| Context::new(gateway, Some(token.to_owned()));
    file.contexts.insert("local".into(), context(&keys.ops));
    file.contexts
        .insert("local-customer".into(), context(keys.first_customer().1));
    // Each bound context names its courier or restaurant, so that
    // `foodctl courier on` and `food-board --kitchen` need no id.
    file.contexts.insert(
        "local-courier".into(),
        context(&keys.courier).with_courier(LOCAL_COURIERS[0]),
    );
    let restaurants = seed_restaurants()?;
    if let Some(id) = local_kitchen(&restaurants)
        && let Some(key) = keys.restaurant(id)
    {
        file.contexts
            .insert("local-kitchen".into(), context(key).with_restaurant(id));
    }
    file.current.get_or_insert_with(|| "local".into());
    Ok(file.save(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use food_gateway::hash_key;

    #[test]
    fn a_keys_file_others_may_read_is_made_private_on_load() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (first, path) = load_or_create(dir.path()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();

        let (again, _) = load_or_create(dir.path()).unwrap();

        assert_eq!(first, again);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn keys_are_created_once_private_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let (first, path) = load_or_create(dir.path()).unwrap();
        let (again, _) = load_or_create(dir.path()).unwrap();

        assert_eq!(first, again);
        assert_eq!(first.customers.len(), 2);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let hashes = first.api_keys();
        assert!(hashes.iter().all(|k| !k.sha256.contains(&first.ops)));
        // ops, three couriers, ten restaurants, two customers.
        assert_eq!(hashes.len(), 1 + 3 + 10 + 2);
        food_gateway::auth::KeyStore::new(&hashes).expect("the gateway accepts every key");
    }

    #[test]
    fn a_new_file_has_the_designed_shape() {
        let dir = tempfile::tempdir().unwrap();
        let (keys, path) = load_or_create(dir.path()).unwrap();

        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut fields: Vec<&str> = doc
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            ["courier", "couriers", "customers", "ops", "restaurants"]
        );
        assert_eq!(doc["courier"], doc["couriers"]["courier-1"]);
        let couriers: Vec<&String> = keys.couriers.keys().collect();
        assert_eq!(couriers, ["courier-1", "courier-2", "courier-3"]);
        assert!(keys.restaurant("maison-tandoor").is_some());
        assert!(keys.restaurant("trattoria-da-luca").is_some());
        assert_eq!(keys.restaurants.len(), 10);
        let kitchen = keys
            .api_keys()
            .into_iter()
            .find(|k| k.sha256 == hash_key(keys.restaurant("maison-tandoor").unwrap()));
        assert_eq!(
            kitchen.and_then(|k| k.restaurant_id).as_deref(),
            Some("maison-tandoor")
        );
    }

    #[test]
    fn an_older_file_is_completed_in_place_and_its_courier_becomes_courier_1() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("local-keys.json");
        let old = r#"{"ops": "food_ops_old", "courier": "food_courier_old",
            "customers": {"cust-ada": "food_cust_a", "cust-grace": "food_cust_g"}}"#;
        std::fs::write(&path, old).unwrap();

        let (keys, _) = load_or_create(dir.path()).unwrap();

        assert_eq!(keys.ops, "food_ops_old");
        assert_eq!(keys.courier, "food_courier_old");
        assert_eq!(keys.courier_key("courier-1"), Some("food_courier_old"));
        assert_eq!(keys.couriers.len(), 3);
        assert_eq!(keys.restaurants.len(), 10);
        assert_eq!(keys.customers["cust-ada"], "food_cust_a");
        let (again, _) = load_or_create(dir.path()).unwrap();
        assert_eq!(again, keys, "written back, and stable");
        let old_courier = keys
            .api_keys()
            .into_iter()
            .find(|k| k.sha256 == hash_key("food_courier_old"))
            .unwrap();
        assert_eq!(old_courier.role, Role::Courier);
        assert_eq!(old_courier.courier_id.as_deref(), Some("courier-1"));
    }

    #[test]
    fn the_local_kitchen_is_the_first_restaurant_that_accepts_by_hand() {
        let seed = seed_restaurants().unwrap();
        assert_eq!(local_kitchen(&seed), Some("maison-tandoor"));
    }

    #[test]
    fn contexts_are_added_without_losing_the_users_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("foodctl/config.toml");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            "current = \"prod\"\n[contexts.prod]\ngateway = \"https://food.example\"\n",
        )
        .unwrap();
        let (keys, _) = load_or_create(dir.path()).unwrap();

        write_foodctl_contexts(&path, "http://127.0.0.1:8080", &keys).unwrap();

        let doc: toml::Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
        assert_eq!(doc["current"].as_str(), Some("prod"));
        assert_eq!(
            doc["contexts"]["prod"]["gateway"].as_str(),
            Some("https://food.example")
        );
        assert_eq!(
            doc["contexts"]["local"]["token"].as_str(),
            Some(keys.ops.as_str())
        );
        assert_eq!(
            doc["contexts"]["local-customer"]["token"].as_str(),
            Some(keys.first_customer().1)
        );
        assert_eq!(
            doc["contexts"]["local-courier"]["token"].as_str(),
            keys.courier_key("courier-1")
        );
        assert_eq!(
            doc["contexts"]["local-kitchen"]["token"].as_str(),
            keys.restaurant("maison-tandoor")
        );
        assert_eq!(
            doc["contexts"]["local-courier"]["courier"].as_str(),
            Some("courier-1")
        );
        assert_eq!(
            doc["contexts"]["local-kitchen"]["restaurant"].as_str(),
            Some("maison-tandoor")
        );
    }
}
