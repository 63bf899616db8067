//! Local API keys and the foodctl contexts that use them.
//!
//! On first start `food-stack` creates one ops key, one courier key and two
//! customer keys, writes them to `<data dir>/local-keys.json` (mode 0600),
//! and hands the gateway only their SHA-256 hashes. The foodctl contexts
//! that use them go through `food_client`'s contexts file, so foodctl and
//! food-board read what is written here.

use std::{
    collections::BTreeMap,
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::Context as _;
use food_client::{Context, ContextsFile, contexts_path};
use food_gateway::{ApiKey, Role, hash_key};
use serde::{Deserialize, Serialize};

/// `{"ops": "...", "courier": "...", "customers": {"<customer id>": "<key>"}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalKeys {
    pub ops: String,
    pub courier: String,
    pub customers: BTreeMap<String, String>,
}

impl LocalKeys {
    fn generate() -> Self {
        Self {
            ops: new_key("ops"),
            courier: new_key("courier"),
            customers: ["cust-ada", "cust-grace"]
                .into_iter()
                .map(|c| (c.to_owned(), new_key("cust")))
                .collect(),
        }
    }

    /// The gateway's view: hashes and roles only.
    pub fn api_keys(&self) -> Vec<ApiKey> {
        let mut keys = vec![
            ApiKey {
                sha256: hash_key(&self.ops),
                role: Role::Ops,
                customer_id: None,
            },
            ApiKey {
                sha256: hash_key(&self.courier),
                role: Role::Courier,
                customer_id: None,
            },
        ];
        keys.extend(self.customers.iter().map(|(id, key)| ApiKey {
            sha256: hash_key(key),
            role: Role::Customer,
            customer_id: Some(id.clone()),
        }));
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
}

fn new_key(kind: &str) -> String {
    let bytes: [u8; 24] = rand::random();
    format!("food_{kind}_{}", hex::encode(bytes))
}

/// Reads `<data dir>/local-keys.json`, creating it on first start.
pub fn load_or_create(data_dir: &Path) -> anyhow::Result<(LocalKeys, PathBuf)> {
    let path = data_dir.join("local-keys.json");
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let keys = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a keys file", path.display()))?;
        return Ok((keys, path));
    }
    let keys = LocalKeys::generate();
    write_private(&path, &serde_json::to_string_pretty(&keys)?)?;
    Ok((keys, path))
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

/// Sets contexts `local` (ops) and `local-customer` (the first customer),
/// keeping every other context; makes `local` current if none is.
pub fn write_foodctl_contexts(path: &Path, gateway: &str, keys: &LocalKeys) -> anyhow::Result<()> {
    let mut file = ContextsFile::load(path)?;
    let context = |token: &str| Context::new(gateway, Some(token.to_owned()));
    file.contexts.insert("local".into(), context(&keys.ops));
    file.contexts
        .insert("local-customer".into(), context(keys.first_customer().1));
    file.current.get_or_insert_with(|| "local".into());
    Ok(file.save(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(hashes.len(), 4);
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
    }
}
