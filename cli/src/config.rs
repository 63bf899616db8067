//! Contexts (profiles) in `$XDG_CONFIG_HOME/foodctl/config.toml` and the
//! effective settings of one run.
//!
//! Precedence, highest first: flags, `FOODCTL_*` variables (clap reads them
//! as flag values), the selected context, built-in defaults. `food-stack`
//! writes this file too (contexts `local` and `local-customer`), so unknown
//! keys are tolerated.

use std::{
    collections::BTreeMap,
    ffi::OsString,
    fs,
    io::{IsTerminal, Write},
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context as _;
use clap::ValueEnum;
use serde::{Deserialize, Serialize};

use crate::{
    cli::{GlobalArgs, OutputFormat},
    exit::{Exit, fail},
};

pub const DEFAULT_GATEWAY: &str = "http://127.0.0.1:8080";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The contexts file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigFile {
    /// The context used when neither `--context` nor `FOODCTL_CONTEXT` names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    #[serde(default)]
    pub contexts: BTreeMap<String, Profile>,
}

/// One context: where the gateway is and who we are there.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Default `-o` for this context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

/// `$XDG_CONFIG_HOME/foodctl/config.toml`, else `~/.config/foodctl/config.toml`.
pub fn config_path() -> anyhow::Result<PathBuf> {
    config_path_from(
        std::env::var_os("XDG_CONFIG_HOME"),
        std::env::var_os("HOME"),
    )
}

/// [`config_path`] with the environment passed in, so tests need not change it.
pub fn config_path_from(xdg: Option<OsString>, home: Option<OsString>) -> anyhow::Result<PathBuf> {
    let base = match xdg {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => {
            let home = home.filter(|h| !h.is_empty()).context(
                "neither XDG_CONFIG_HOME nor HOME is set; cannot find the contexts file",
            )?;
            PathBuf::from(home).join(".config")
        }
    };
    Ok(base.join("foodctl").join("config.toml"))
}

impl ConfigFile {
    /// Reads the file; a missing file is an empty config.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        match fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text)
                .map_err(|e| fail(Exit::Usage, format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Writes the file with mode 0600 (it holds API keys), atomically.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let dir = path
            .parent()
            .context("the contexts file has no parent directory")?;
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let text = toml::to_string_pretty(self).context("encoding the contexts file")?;
        let tmp = dir.join(format!(".config.toml.{}", std::process::id()));
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts
            .open(&tmp)
            .with_context(|| format!("writing {}", tmp.display()))?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }
}

/// The validated settings of one run.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The context in use, if any.
    pub context: Option<String>,
    /// Base URL without a trailing slash.
    pub gateway: String,
    pub token: Option<String>,
    pub output: OutputFormat,
    /// Colour on stdout: a terminal, no `--no-color`, no `NO_COLOR`.
    pub color: bool,
    pub quiet: bool,
    pub verbose: u8,
    /// Request timeout, and the bound of `--wait-for`.
    pub timeout: Duration,
}

impl Settings {
    /// Turns the global flags and the contexts file into settings.
    pub fn resolve(g: &GlobalArgs, file: &ConfigFile) -> anyhow::Result<Self> {
        let (name, explicit) = match &g.context {
            Some(n) => (Some(n.clone()), true),
            None => (file.current.clone(), false),
        };
        let profile = match &name {
            Some(n) => match file.contexts.get(n) {
                Some(p) => p.clone(),
                None if explicit => {
                    return Err(fail(
                        Exit::NotFound,
                        format!("no context named `{n}` (see `foodctl context list`)"),
                    ));
                }
                None => {
                    return Err(fail(
                        Exit::NotFound,
                        format!(
                            "the current context `{n}` does not exist (see `foodctl context list`)"
                        ),
                    ));
                }
            },
            None => Profile::default(),
        };
        let gateway = g
            .gateway
            .clone()
            .or(profile.gateway)
            .unwrap_or_else(|| DEFAULT_GATEWAY.to_owned());
        let gateway = normalise_gateway(&gateway)?;
        let output = match (g.output, &profile.output) {
            (Some(o), _) => o,
            (None, Some(o)) => OutputFormat::from_str(o, true).map_err(|_| {
                fail(
                    Exit::Usage,
                    format!(
                        "context `{}`: unknown output `{o}`",
                        name.as_deref().unwrap_or("")
                    ),
                )
            })?,
            (None, None) => OutputFormat::Table,
        };
        let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Ok(Self {
            context: name,
            gateway,
            token: g.token.clone().or(profile.token).filter(|t| !t.is_empty()),
            output,
            color: !g.no_color && !no_color_env && std::io::stdout().is_terminal(),
            quiet: g.quiet,
            verbose: g.verbose,
            timeout: g.timeout.unwrap_or(DEFAULT_TIMEOUT),
        })
    }
}

/// Checks the URL early (a typo should not look like an outage) and drops a
/// trailing slash so paths join cleanly.
pub fn normalise_gateway(url: &str) -> anyhow::Result<String> {
    let u = url.trim().trim_end_matches('/');
    let rest = u
        .strip_prefix("http://")
        .or_else(|| u.strip_prefix("https://"))
        .ok_or_else(|| {
            fail(
                Exit::Usage,
                format!("gateway `{url}` must start with http:// or https://"),
            )
        })?;
    if rest.is_empty() {
        return Err(fail(Exit::Usage, format!("gateway `{url}` has no host")));
    }
    Ok(u.to_owned())
}

/// Shows enough of a key to tell two apart, never the key.
pub fn redact(token: &str) -> String {
    let n = token.chars().count();
    if n <= 8 {
        "****".to_owned()
    } else {
        let tail: String = token.chars().skip(n - 4).collect();
        format!("****{tail}")
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches};

    use super::*;
    use crate::cli::Cli;

    /// Parses flags without reading FOODCTL_* variables, so the caller's
    /// environment cannot change the outcome.
    fn globals(args: &[&str]) -> GlobalArgs {
        let mut cmd = Cli::command();
        for name in ["gateway", "token", "context"] {
            cmd = cmd.mut_arg(name, |a| a.env(None::<&str>));
        }
        let mut v = vec!["foodctl"];
        v.extend_from_slice(args);
        v.extend_from_slice(&["context", "show"]);
        let m = cmd.try_get_matches_from(v).unwrap();
        Cli::from_arg_matches(&m).unwrap().global
    }

    fn sample() -> ConfigFile {
        let mut f = ConfigFile {
            current: Some("local".into()),
            ..Default::default()
        };
        f.contexts.insert(
            "local".into(),
            Profile {
                gateway: Some("http://127.0.0.1:8080/".into()),
                token: Some("ops-key-123456".into()),
                output: Some("wide".into()),
            },
        );
        f.contexts.insert(
            "prod".into(),
            Profile {
                gateway: Some("https://food.example".into()),
                token: None,
                output: None,
            },
        );
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
        let back = ConfigFile::load(&path).unwrap();
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
            config_path_from(xdg, Some("/home/x".into())).unwrap(),
            dir.path().join("foodctl/config.toml")
        );
        assert_eq!(
            config_path_from(Some("".into()), Some("/home/x".into())).unwrap(),
            PathBuf::from("/home/x/.config/foodctl/config.toml")
        );
        assert!(config_path_from(None, None).is_err());
    }

    #[test]
    fn a_context_saved_under_a_tempdir_xdg_home_is_read_back() {
        // Arrange
        let dir = tempfile::tempdir().unwrap();
        let path = config_path_from(Some(dir.path().as_os_str().to_owned()), None).unwrap();
        // Act
        sample().save(&path).unwrap();
        // Assert
        let s = Settings::resolve(
            &globals(&["--context", "prod"]),
            &ConfigFile::load(&path).unwrap(),
        )
        .unwrap();
        assert_eq!(s.gateway, "https://food.example");
    }

    #[test]
    fn a_missing_file_is_an_empty_config_and_a_broken_one_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            ConfigFile::load(&dir.path().join("nope.toml")).unwrap(),
            ConfigFile::default()
        );
        let bad = dir.path().join("bad.toml");
        fs::write(&bad, "current = [").unwrap();
        let err = ConfigFile::load(&bad).unwrap_err();
        assert_eq!(Exit::of(&err), Exit::Usage);
    }

    #[test]
    fn the_current_context_supplies_what_flags_do_not() {
        let s = Settings::resolve(&globals(&[]), &sample()).unwrap();
        assert_eq!(s.context.as_deref(), Some("local"));
        assert_eq!(s.gateway, "http://127.0.0.1:8080");
        assert_eq!(s.token.as_deref(), Some("ops-key-123456"));
        assert_eq!(s.output, OutputFormat::Wide);
    }

    #[test]
    fn flags_override_the_context() {
        let g = globals(&[
            "--context",
            "prod",
            "--gateway",
            "http://other:1",
            "-o",
            "json",
        ]);
        let s = Settings::resolve(&g, &sample()).unwrap();
        assert_eq!(s.gateway, "http://other:1");
        assert_eq!(s.token, None);
        assert_eq!(s.output, OutputFormat::Json);
    }

    #[test]
    fn an_unknown_context_is_not_found_and_a_bad_url_is_usage() {
        let err = Settings::resolve(&globals(&["--context", "nope"]), &sample()).unwrap_err();
        assert_eq!(Exit::of(&err), Exit::NotFound);
        let err =
            Settings::resolve(&globals(&["--gateway", "localhost:8080"]), &sample()).unwrap_err();
        assert_eq!(Exit::of(&err), Exit::Usage);
    }

    #[test]
    fn without_any_config_the_defaults_apply() {
        let s = Settings::resolve(&globals(&[]), &ConfigFile::default()).unwrap();
        assert_eq!(s.gateway, DEFAULT_GATEWAY);
        assert_eq!(s.output, OutputFormat::Table);
        assert_eq!(s.timeout, DEFAULT_TIMEOUT);
    }

    #[test]
    fn tokens_are_redacted_to_their_last_four_characters() {
        assert_eq!(redact("abcdefghijkl"), "****ijkl");
        assert_eq!(redact("short"), "****");
    }
}
