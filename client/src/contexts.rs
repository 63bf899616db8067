//! The contexts file: named gateway profiles that `foodctl` edits,
//! `food-board` reads and `food-stack` fills with its local keys.
//!
//! `$XDG_CONFIG_HOME/foodctl/config.toml` (else `~/.config/foodctl/config.toml`):
//!
//! ```toml
//! current = "local"
//!
//! [contexts.local]
//! gateway = "http://127.0.0.1:8080"
//! token = "food_ops_..."
//! output = "wide"
//!
//! [contexts.local-kitchen]
//! gateway = "http://127.0.0.1:8080"
//! token = "food_restaurant_..."
//! restaurant = "maison-tandoor"
//! ```
//!
//! `restaurant` and `courier` name what a context's key is bound to (a
//! restaurant key, a courier key), so clients can default to it: the gateway
//! knows whose a key is, a client does not.
//!
//! Every program reads and writes it through [`ContextsFile`], so they agree
//! on its format. Keys this version does not know are kept on a rewrite: a
//! newer client may have written them.

use std::{
    collections::BTreeMap,
    ffi::OsString,
    fs,
    io::{self, Write},
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

/// The whole file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ContextsFile {
    /// The context used when the command line names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    /// By name; a map keeps them sorted in the file and in listings.
    #[serde(default)]
    pub contexts: BTreeMap<String, Context>,
    /// Top-level keys of other versions, written back as they were.
    #[serde(flatten)]
    pub other: toml::Table,
}

/// One context: where the gateway is and who we are there.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Context {
    /// The gateway's base URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// The API key sent as `Authorization: Bearer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// foodctl's default `-o` in this context; the board has no use for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// The restaurant a `restaurant` key is bound to: `food-board --kitchen`
    /// shows its orders without `--restaurant`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restaurant: Option<String>,
    /// The courier a `courier` key is bound to: `foodctl courier on|off`
    /// without an id sets its shift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub courier: Option<String>,
    /// Keys of other versions, written back as they were.
    #[serde(flatten)]
    pub other: toml::Table,
}

impl Context {
    /// A context with a gateway and a token, as `food-stack` writes them.
    pub fn new(gateway: impl Into<String>, token: Option<String>) -> Self {
        Self {
            gateway: Some(gateway.into()),
            token,
            ..Self::default()
        }
    }

    /// The same context, bound to a restaurant (a restaurant key's).
    pub fn with_restaurant(mut self, id: impl Into<String>) -> Self {
        self.restaurant = Some(id.into());
        self
    }

    /// The same context, bound to a courier (a courier key's).
    pub fn with_courier(mut self, id: impl Into<String>) -> Self {
        self.courier = Some(id.into());
        self
    }
}

/// Reading, finding or writing the file failed.
#[derive(Debug, thiserror::Error)]
pub enum ContextsError {
    #[error("neither XDG_CONFIG_HOME nor HOME is set; cannot find the contexts file")]
    NoHome,
    /// The file is there but is not a contexts file.
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("reading {}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("writing {}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("encoding the contexts file")]
    Encode(#[from] toml::ser::Error),
}

/// `$XDG_CONFIG_HOME/foodctl/config.toml`, else `~/.config/foodctl/config.toml`.
pub fn contexts_path() -> Result<PathBuf, ContextsError> {
    contexts_path_from(
        std::env::var_os("XDG_CONFIG_HOME"),
        std::env::var_os("HOME"),
    )
}

/// [`contexts_path`] with the environment passed in, so tests need not change it.
pub fn contexts_path_from(
    xdg: Option<OsString>,
    home: Option<OsString>,
) -> Result<PathBuf, ContextsError> {
    let base = match xdg {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => {
            let home = home
                .filter(|h| !h.is_empty())
                .ok_or(ContextsError::NoHome)?;
            PathBuf::from(home).join(".config")
        }
    };
    Ok(base.join("foodctl").join("config.toml"))
}

impl ContextsFile {
    /// Reads the file; a missing file is an empty one.
    pub fn load(path: &Path) -> Result<Self, ContextsError> {
        match fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).map_err(|e| ContextsError::Invalid {
                path: path.to_owned(),
                message: e.to_string(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(ContextsError::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Writes the file with mode 0600 (it holds API keys), atomically: a
    /// reader sees the old file or the new one, never half of one.
    pub fn save(&self, path: &Path) -> Result<(), ContextsError> {
        let write_err = |path: &Path| {
            let path = path.to_owned();
            move |source| ContextsError::Write { path, source }
        };
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(write_err(dir))?;
        let text = toml::to_string_pretty(self)?;
        let tmp = dir.join(format!(".config.toml.{}", std::process::id()));
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(write_err(&tmp))?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(write_err(&tmp))?;
        drop(f);
        fs::rename(&tmp, path).map_err(write_err(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ContextsFile {
        let mut f = ContextsFile {
            current: Some("local".into()),
            ..Default::default()
        };
        f.contexts.insert(
            "local".into(),
            Context {
                gateway: Some("http://127.0.0.1:8080/".into()),
                token: Some("ops-key-123456".into()),
                output: Some("wide".into()),
                ..Default::default()
            },
        );
        f.contexts
            .insert("prod".into(), Context::new("https://food.example", None));
        f
    }

    #[test]
    fn the_contexts_file_round_trips_with_private_permissions() {
        // Arrange
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("foodctl").join("config.toml");
        let file = sample();
        // Act
        file.save(&path).unwrap();
        let back = ContextsFile::load(&path).unwrap();
        // Assert
        assert_eq!(back, file);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("current = \"local\""), "{text}");
        assert!(text.contains("[contexts.local]"), "{text}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn the_contexts_file_lives_under_xdg_config_home_else_home() {
        let dir = tempfile::tempdir().unwrap();
        let xdg = Some(dir.path().as_os_str().to_owned());
        assert_eq!(
            contexts_path_from(xdg, Some("/home/x".into())).unwrap(),
            dir.path().join("foodctl/config.toml")
        );
        assert_eq!(
            contexts_path_from(Some("".into()), Some("/home/x".into())).unwrap(),
            PathBuf::from("/home/x/.config/foodctl/config.toml")
        );
        assert!(matches!(
            contexts_path_from(None, None),
            Err(ContextsError::NoHome)
        ));
    }

    #[test]
    fn a_missing_file_is_empty_and_a_broken_one_names_its_path() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            ContextsFile::load(&dir.path().join("nope.toml")).unwrap(),
            ContextsFile::default()
        );
        let bad = dir.path().join("bad.toml");
        fs::write(&bad, "current = [").unwrap();
        let err = ContextsFile::load(&bad).unwrap_err();
        assert!(matches!(err, ContextsError::Invalid { .. }), "{err:?}");
        assert!(err.to_string().starts_with(&bad.display().to_string()));
    }

    #[test]
    fn keys_of_other_versions_survive_a_rewrite() {
        // Arrange: a file with keys this version does not know.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        fs::write(
            &path,
            "current = \"prod\"\ntheme = \"dark\"\n\n[contexts.prod]\ngateway = \"https://food.example\"\nregion = \"eu\"\n",
        )
        .unwrap();
        // Act
        let mut file = ContextsFile::load(&path).unwrap();
        file.contexts
            .insert("local".into(), Context::new("http://127.0.0.1:8080", None));
        file.save(&path).unwrap();
        // Assert
        let doc: toml::Table = fs::read_to_string(&path).unwrap().parse().unwrap();
        assert_eq!(doc["theme"].as_str(), Some("dark"));
        assert_eq!(doc["contexts"]["prod"]["region"].as_str(), Some("eu"));
        assert_eq!(
            doc["contexts"]["local"]["gateway"].as_str(),
            Some("http://127.0.0.1:8080")
        );
    }

    #[test]
    fn a_file_written_by_hand_reads_like_one_written_here() {
        let file: ContextsFile = toml::from_str(
            r#"
            current = "local"
            [contexts.local]
            gateway = "http://127.0.0.1:8080/"
            token = "ops-key-123456"
            output = "wide"
            [contexts.prod]
            gateway = "https://food.example"
            "#,
        )
        .unwrap();
        assert_eq!(file, sample());
    }
}
