//! `foodctl menu list|show|import`.

use std::process::ExitCode;

use food_api::{ImportResult, Item, ItemList};
use food_client::path_segment;
use serde_json::{Value, json};

use super::{Ctx, fetch_all, read_input};
use crate::{
    cli::MenuCmd,
    doc::Doc,
    exit::{Exit, fail},
    gateway::typed,
    table,
};

/// Items per import request, well under the gateway's 1 MiB body limit.
const IMPORT_BATCH: usize = 500;

pub async fn run(ctx: &Ctx, cmd: MenuCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        MenuCmd::List {
            category,
            available,
            search,
            page,
        } => {
            let mut q = Vec::new();
            if let Some(c) = category {
                q.push(("category", c));
            }
            if available {
                q.push(("available", "true".to_owned()));
            }
            if let Some(s) = search {
                q.push(("q", s));
            }
            let v = fetch_all(&ctx.client, "/menu/items", &q, "items", &page).await?;
            ctx.out.list(&v, "items", || {
                let list: ItemList = typed(&v)?;
                Ok(table::items(&list.items, ctx.out.wide(), ctx.out.color))
            })?;
        }
        MenuCmd::Show { id } => {
            let v = ctx
                .client
                .get(&format!("/menu/items/{}", path_segment(&id)), &[])
                .await?;
            ctx.out
                .object(&v, || Ok(table::item(&typed::<Item>(&v)?)))?;
        }
        MenuCmd::Import { file } => {
            let items = parse_items(&read_input(&file)?)?;
            let mut total = ImportResult {
                created: 0,
                updated: 0,
            };
            for chunk in items.chunks(IMPORT_BATCH) {
                let v = ctx
                    .client
                    .post("/menu/items", &json!({ "items": chunk }), &[])
                    .await?;
                let r: ImportResult = typed(&v)?;
                total.created += r.created;
                total.updated += r.updated;
            }
            let v = Doc::from_json(&serde_json::to_value(&total)?);
            ctx.out.object(&v, || {
                Ok(format!(
                    "imported {} items: {} created, {} updated",
                    items.len(),
                    total.created,
                    total.updated
                ))
            })?;
        }
    }
    Ok(Exit::Ok.into())
}

/// A JSON array of items, `{"items": [...]}`, one item object, or NDJSON.
/// Every item is checked against the API shape before anything is sent.
pub fn parse_items(text: &str) -> anyhow::Result<Vec<Item>> {
    if text.trim().is_empty() {
        return Err(fail(Exit::Usage, "the import file is empty"));
    }
    let values: Vec<(String, Value)> = match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(a)) => a
            .into_iter()
            .enumerate()
            .map(|(i, v)| (format!("item {}", i + 1), v))
            .collect(),
        Ok(Value::Object(mut o)) => match o.remove("items") {
            Some(Value::Array(a)) => a
                .into_iter()
                .enumerate()
                .map(|(i, v)| (format!("item {}", i + 1), v))
                .collect(),
            Some(_) => return Err(fail(Exit::Usage, "`items` must be a list")),
            None => vec![("the item".to_owned(), Value::Object(o))],
        },
        Ok(_) => {
            return Err(fail(
                Exit::Usage,
                "expected a JSON array, {\"items\": [...]} or NDJSON",
            ));
        }
        Err(_) => {
            let mut out = Vec::new();
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let v = serde_json::from_str(line)
                    .map_err(|e| fail(Exit::Usage, format!("line {}: {e}", i + 1)))?;
                out.push((format!("line {}", i + 1), v));
            }
            out
        }
    };
    values
        .into_iter()
        .map(|(at, v)| {
            serde_json::from_value::<Item>(v).map_err(|e| fail(Exit::Usage, format!("{at}: {e}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"{"id":"a","name":"A","category":"pizza","price_cents":100}"#;

    #[test]
    fn imports_accept_arrays_wrapped_lists_single_objects_and_ndjson() {
        assert_eq!(parse_items(&format!("[{ONE},{ONE}]")).unwrap().len(), 2);
        assert_eq!(
            parse_items(&format!("{{\"items\":[{ONE}]}}"))
                .unwrap()
                .len(),
            1
        );
        assert_eq!(parse_items(ONE).unwrap()[0].currency, "EUR");
        assert_eq!(parse_items(&format!("{ONE}\n\n{ONE}\n")).unwrap().len(), 2);
    }

    #[test]
    fn a_bad_item_is_a_usage_error_naming_its_line() {
        let err = parse_items(&format!("{ONE}\n{{\"id\":\"b\"}}\n")).unwrap_err();
        assert_eq!(Exit::of(&err), Exit::Usage);
        assert!(err.to_string().starts_with("line 2:"), "{err}");
        assert_eq!(Exit::of(&parse_items("  ").unwrap_err()), Exit::Usage);
    }
}
