//! One module per command group; each takes the run's [`Ctx`] and returns
//! the exit code. Shared pieces: paging through lists and reading input files.

pub mod bulk;
pub mod context;
pub mod courier;
pub mod delivery;
pub mod events;
pub mod menu;
pub mod order;
pub mod restaurant;
pub mod watch;

use std::{io::Read, path::Path};

use anyhow::Context as _;
use food_api::MAX_LIMIT;
use food_client::{ApiError, Client};

use crate::{
    cli::Page,
    config::Settings,
    doc::Doc,
    exit::{Exit, fail},
    gateway::Gateway,
    output::Printer,
};

/// What every gateway command needs.
#[derive(Debug)]
pub struct Ctx {
    pub settings: Settings,
    pub client: Gateway,
    pub out: Printer,
}

impl Ctx {
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        Ok(Self {
            client: Gateway::new(
                Client::builder(settings.endpoint())
                    .user_agent(concat!("foodctl/", env!("CARGO_PKG_VERSION")))
                    .log_requests((settings.verbose > 0).then_some("foodctl"))
                    .build()?,
            ),
            out: settings.printer(),
            settings,
        })
    }
}

/// Fetches pages of a list until `page.limit` results or the last page, and
/// returns one list object of the API's shape (`{"<key>": [...], "next_cursor"}`).
pub async fn fetch_all(
    client: &Gateway,
    path: &str,
    query: &[(&str, String)],
    key: &str,
    page: &Page,
) -> Result<Doc, ApiError> {
    let mut cursor = page.cursor.clone();
    let mut remaining = page.limit;
    let mut acc: Option<Doc> = None;
    loop {
        let size = remaining.map_or(MAX_LIMIT, |r| r.min(MAX_LIMIT));
        let mut q = query.to_vec();
        q.push(("limit", size.to_string()));
        if let Some(c) = &cursor {
            q.push(("cursor", c.clone()));
        }
        let v = client.get(path, &q).await?;
        let items = v.list(key).cloned().ok_or_else(|| {
            ApiError::Protocol(format!("GET {path}: no `{key}` list in the answer"))
        })?;
        let next = v.str("next_cursor").map(str::to_owned);
        let got = items.len();
        match acc.as_mut() {
            None => acc = Some(v),
            Some(a) => a.extend_list(key, items, next.clone()),
        }
        if let Some(r) = remaining.as_mut() {
            *r = r.saturating_sub(u32::try_from(got).unwrap_or(u32::MAX));
            if *r == 0 {
                break;
            }
        }
        match next {
            Some(c) if got > 0 => cursor = Some(c),
            _ => break,
        }
    }
    Ok(acc.unwrap_or_default())
}

/// Reads a file, or stdin for `-`. A missing file is a usage error.
pub fn read_input(path: &Path) -> anyhow::Result<String> {
    if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading stdin")?;
        return Ok(s);
    }
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(s),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::InvalidData
            ) =>
        {
            Err(fail(Exit::Usage, format!("{}: {e}", path.display())))
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}
