//! Writing results: stdout for data in the chosen format, stderr for
//! diagnostics. Every write is flushed so streams show up at once, and
//! write errors (a closed pipe) reach `main`, which ends quietly on them.

use std::io::{self, Write};

use anyhow::Context as _;
use clap::ValueEnum;

use crate::doc::Doc;

/// How data is written to stdout (`-o`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns for people.
    Table,
    /// A table with more columns.
    Wide,
    /// Exactly what the API returns.
    Json,
    Yaml,
    /// One JSON object per line (list items, stream events, bulk results).
    Ndjson,
}

impl OutputFormat {
    pub fn name(self) -> &'static str {
        match self {
            Self::Table => "table",
            Self::Wide => "wide",
            Self::Json => "json",
            Self::Yaml => "yaml",
            Self::Ndjson => "ndjson",
        }
    }

    pub fn is_table(self) -> bool {
        matches!(self, Self::Table | Self::Wide)
    }
}

/// Prints data and diagnostics for one run.
#[derive(Clone, Debug)]
pub struct Printer {
    pub format: OutputFormat,
    pub color: bool,
    pub quiet: bool,
}

impl Printer {
    pub fn wide(&self) -> bool {
        self.format == OutputFormat::Wide
    }

    /// Writes `text` to stdout as is, then flushes.
    pub fn raw(&self, text: &str) -> io::Result<()> {
        let mut out = io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()
    }

    /// Writes `text` and a newline unless it ends in one.
    pub fn line(&self, text: &str) -> io::Result<()> {
        if text.ends_with('\n') {
            self.raw(text)
        } else {
            self.raw(&format!("{text}\n"))
        }
    }

    /// One object as the API returned it, or as `table` renders it.
    pub fn object(
        &self,
        v: &Doc,
        table: impl FnOnce() -> anyhow::Result<String>,
    ) -> anyhow::Result<()> {
        match self.format {
            OutputFormat::Table | OutputFormat::Wide => self.line(&table()?)?,
            OutputFormat::Json => self.line(&v.to_json_pretty()?)?,
            OutputFormat::Ndjson => self.line(&v.to_json()?)?,
            OutputFormat::Yaml => self.raw(&to_yaml(v)?)?,
        }
        Ok(())
    }

    /// A list object (`{"<key>": [...], "next_cursor"}`): whole for json and
    /// yaml, one element per line for ndjson.
    pub fn list(
        &self,
        v: &Doc,
        key: &str,
        table: impl FnOnce() -> anyhow::Result<String>,
    ) -> anyhow::Result<()> {
        match self.format {
            OutputFormat::Ndjson => {
                let mut text = String::new();
                for item in v.list(key).into_iter().flatten() {
                    text.push_str(&serde_json::to_string(item)?);
                    text.push('\n');
                }
                self.raw(&text)?;
                Ok(())
            }
            _ => self.object(v, table),
        }
    }

    /// One event of a stream: a JSON line for json and ndjson, a YAML
    /// document, or the line `table` renders.
    pub fn event(&self, v: &Doc, table: impl FnOnce() -> String) -> anyhow::Result<()> {
        match self.format {
            OutputFormat::Table | OutputFormat::Wide => self.line(&table())?,
            OutputFormat::Json | OutputFormat::Ndjson => self.line(&v.to_json()?)?,
            OutputFormat::Yaml => self.raw(&format!("---\n{}", to_yaml(v)?))?,
        }
        Ok(())
    }

    /// A hint for people on stderr (what an empty list means, what to
    /// type next): only with a table format, so scripts reading JSON get
    /// none, and not with `-q`.
    pub fn hint(&self, msg: impl std::fmt::Display) {
        if self.format.is_table() {
            self.note(msg);
        }
    }

    /// A diagnostic on stderr, unless `-q`.
    pub fn note(&self, msg: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{msg}");
        }
    }
}

fn to_yaml(v: &Doc) -> anyhow::Result<String> {
    v.to_yaml().context("encoding YAML")
}

/// True when `err` (or a cause) is a write to a closed pipe: `foodctl ... | head`.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_pipe_is_recognised_through_context() {
        let err =
            anyhow::Error::from(io::Error::from(io::ErrorKind::BrokenPipe)).context("printing");
        assert!(is_broken_pipe(&err));
        assert!(!is_broken_pipe(&anyhow::anyhow!("other")));
    }

    #[test]
    fn yaml_keeps_the_api_field_names() {
        let v = Doc::from_json(&serde_json::json!({"id": "x", "price_cents": 1250}));
        let y = to_yaml(&v).unwrap();
        assert!(y.contains("price_cents: 1250"), "{y}");
    }
}
