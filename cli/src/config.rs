//! The effective settings of one run: the global flags over the selected
//! context of the contexts file (`food_client::contexts`) over the defaults.
//!
//! Precedence, highest first: flags, `FOODCTL_*` variables (clap reads them
//! as flag values), the selected context, built-in defaults. `food-stack`
//! writes the contexts file too (contexts `local` and `local-customer`).

use std::{io::IsTerminal, time::Duration};

use clap::ValueEnum;
use food_client::{ContextsFile, DEFAULT_GATEWAY, DEFAULT_TIMEOUT, Endpoint, normalise_gateway};

use crate::{
    cli::GlobalArgs,
    exit::{Exit, fail},
    output::{OutputFormat, Printer},
};

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
    /// The courier the context's key is bound to (`courier on|off` without
    /// an id); not when `--token` names another key.
    pub courier: Option<String>,
}

impl Settings {
    /// Turns the global flags and the contexts file into settings.
    pub fn resolve(g: &GlobalArgs, file: &ContextsFile) -> anyhow::Result<Self> {
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
            None => food_client::Context::default(),
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
        let courier = if g.token.is_some() {
            None
        } else {
            profile.courier.filter(|c| !c.is_empty())
        };
        Ok(Self {
            courier,
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

    /// Where the gateway is, for the gateway client.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            url: self.gateway.clone(),
            token: self.token.clone(),
            timeout: self.timeout,
        }
    }

    /// The printer for this run's format and terminal.
    pub fn printer(&self) -> Printer {
        Printer {
            format: self.output,
            color: self.color,
            quiet: self.quiet,
        }
    }
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

    use food_client::{Context, contexts_path_from};

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
        f.contexts.insert(
            "prod".into(),
            Context {
                gateway: Some("https://food.example".into()),
                token: None,
                output: None,
                ..Default::default()
            },
        );
        f
    }

    #[test]
    fn a_context_saved_under_a_tempdir_xdg_home_is_read_back() {
        // Arrange
        let dir = tempfile::tempdir().unwrap();
        let path = contexts_path_from(Some(dir.path().as_os_str().to_owned()), None).unwrap();
        // Act
        sample().save(&path).unwrap();
        // Assert
        let s = Settings::resolve(
            &globals(&["--context", "prod"]),
            &ContextsFile::load(&path).unwrap(),
        )
        .unwrap();
        assert_eq!(s.gateway, "https://food.example");
    }

    #[test]
    fn a_missing_file_is_an_empty_config_and_a_broken_one_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            ContextsFile::load(&dir.path().join("nope.toml")).unwrap(),
            ContextsFile::default()
        );
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "current = [").unwrap();
        let err = anyhow::Error::from(ContextsFile::load(&bad).unwrap_err());
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
        let s = Settings::resolve(&globals(&[]), &ContextsFile::default()).unwrap();
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
