//! `foodctl context list|use|set|delete|show`: the contexts file, edited
//! without a runtime or a network call.
//!
//! `context set` takes `--gateway`, `--token` and `-o` from its own command
//! line only, not from `FOODCTL_*` variables, so that an exported variable
//! never lands in the file by accident.

use std::{path::Path, process::ExitCode};

use serde_json::{Value, json};

use food_client::{Context, ContextsFile, contexts_path, normalise_gateway};

use crate::{
    cli::{ContextCmd, GlobalArgs},
    config::{Settings, redact},
    doc::Doc,
    exit::{Exit, fail},
    output::{OutputFormat, Printer},
};

/// The global flags that were typed on this command line.
#[derive(Clone, Debug, Default)]
pub struct Typed {
    pub gateway: bool,
    pub token: bool,
    pub output: bool,
}

pub fn run(cmd: ContextCmd, g: &GlobalArgs, typed: &Typed) -> anyhow::Result<ExitCode> {
    let path = contexts_path()?;
    let mut file = ContextsFile::load(&path)?;
    // Resolving would fail on a dangling current context, which these commands repair.
    let out = Printer {
        format: g.output.unwrap_or(OutputFormat::Table),
        color: false,
        quiet: g.quiet,
    };
    match cmd {
        ContextCmd::List => {
            let v = Doc::from_json(&listing(&file));
            out.object(&v, || {
                let mut lines = vec![format!(
                    "{:<8}{:<20}{:<36}{:<12}{}",
                    "CURRENT", "NAME", "GATEWAY", "TOKEN", "OUTPUT"
                )];
                for (name, p) in &file.contexts {
                    let cur = if file.current.as_deref() == Some(name) {
                        "*"
                    } else {
                        ""
                    };
                    lines.push(
                        format!(
                            "{:<8}{:<20}{:<36}{:<12}{}",
                            cur,
                            name,
                            p.gateway.as_deref().unwrap_or("-"),
                            p.token.as_deref().map_or_else(|| "-".to_owned(), redact),
                            p.output.as_deref().unwrap_or("-")
                        )
                        .trim_end()
                        .to_owned(),
                    );
                }
                Ok(lines.join("\n"))
            })?;
        }
        ContextCmd::Use { name } => {
            if !file.contexts.contains_key(&name) {
                return Err(fail(Exit::NotFound, format!("no context named `{name}`")));
            }
            file.current = Some(name.clone());
            file.save(&path)?;
            out.note(format!("switched to context `{name}`"));
        }
        ContextCmd::Set { name } => {
            let is_new = !file.contexts.contains_key(&name);
            if is_new && !typed.gateway {
                return Err(fail(
                    Exit::Usage,
                    format!("a new context needs --gateway URL (context `{name}`)"),
                ));
            }
            let entry = file
                .contexts
                .entry(name.clone())
                .or_insert_with(Context::default);
            if typed.gateway {
                let url = g.gateway.as_deref().unwrap_or_default();
                entry.gateway = Some(normalise_gateway(url)?);
            }
            if typed.token {
                entry.token = g.token.clone().filter(|t| !t.is_empty());
            }
            if typed.output {
                entry.output = g.output.map(|o| o.name().to_owned());
            }
            if file.current.is_none() {
                file.current = Some(name.clone());
            }
            file.save(&path)?;
            let verb = if is_new { "created" } else { "updated" };
            out.note(format!("context `{name}` {verb} in {}", path.display()));
        }
        ContextCmd::Delete { name } => {
            if file.contexts.remove(&name).is_none() {
                return Err(fail(Exit::NotFound, format!("no context named `{name}`")));
            }
            if file.current.as_deref() == Some(&name) {
                file.current = None;
            }
            file.save(&path)?;
            out.note(format!("context `{name}` deleted"));
        }
        ContextCmd::Show => {
            let s = Settings::resolve(g, &file)?;
            let v = shown(&s, &path);
            out.object(&Doc::from_json(&v), || {
                let mut lines = Vec::new();
                for key in ["context", "gateway", "token", "output", "timeout", "config"] {
                    let val = match &v[key] {
                        Value::String(s) => s.clone(),
                        Value::Null => "-".to_owned(),
                        other => other.to_string(),
                    };
                    lines.push(format!("{:<9}{val}", key.to_uppercase()));
                }
                Ok(lines.join("\n"))
            })?;
        }
    }
    Ok(Exit::Ok.into())
}

/// The file as JSON with tokens redacted.
fn listing(file: &ContextsFile) -> Value {
    let contexts: serde_json::Map<String, Value> = file
        .contexts
        .iter()
        .map(|(n, p)| {
            (
                n.clone(),
                json!({
                    "gateway": p.gateway,
                    "token": p.token.as_deref().map(redact),
                    "output": p.output,
                }),
            )
        })
        .collect();
    json!({ "current": file.current, "contexts": contexts })
}

fn shown(s: &Settings, path: &Path) -> Value {
    json!({
        "context": s.context,
        "gateway": s.gateway,
        "token": s.token.as_deref().map(redact),
        "output": s.output.name(),
        "timeout": format!("{:?}", s.timeout),
        "config": path.display().to_string(),
    })
}
