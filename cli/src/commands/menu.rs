//! `foodctl menu list|show|import`.

use std::process::ExitCode;

use food_api::{ImportResult, Item, ItemList, MenuImport, Restaurant};
use food_client::{ApiError, path_segment};
use serde_json::{Value, json};

use super::{Ctx, fetch_all, read_input};
use crate::{
    cli::MenuCmd,
    doc::Doc,
    exit::{Exit, fail},
    gateway::typed,
    table,
};

/// Restaurants and items per import request, well under the gateway's
/// 1 MiB body limit.
const IMPORT_BATCH: usize = 500;

pub async fn run(ctx: &Ctx, cmd: MenuCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        MenuCmd::List {
            restaurant,
            category,
            available,
            search,
            page,
        } => {
            let mut q = Vec::new();
            if let Some(r) = &restaurant {
                q.push(("restaurant", r.clone()));
            }
            if let Some(c) = category {
                q.push(("category", c));
            }
            if available {
                q.push(("available", "true".to_owned()));
            }
            if let Some(s) = search {
                q.push(("q", s));
            }
            let v = fetch_all(&ctx.client, "/menu/items", &q, "items", &page)
                .await
                .map_err(|e| match &restaurant {
                    Some(r) => unknown_restaurant(e, r),
                    None => e.into(),
                })?;
            let empty = v.list("items").is_none_or(Vec::is_empty);
            if empty && let Some(r) = &restaurant {
                // A typo in a restaurant id should say so, not look like an
                // empty menu.
                ctx.client
                    .get(&format!("/restaurants/{}", path_segment(r)), &[])
                    .await
                    .map_err(|e| unknown_restaurant(e, r))?;
            }
            ctx.out.list(&v, "items", || {
                let list: ItemList = typed(&v)?;
                Ok(table::items(&list.items, ctx.out.wide(), ctx.out.color))
            })?;
            if empty {
                ctx.out.hint(match &restaurant {
                    Some(r) => format!("no dish of {r} matches"),
                    None => "no dish matches; `foodctl restaurant list` shows the restaurants"
                        .to_owned(),
                });
            }
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
            let import = parse_import(&read_input(&file)?)?;
            let mut total = ImportResult {
                created: 0,
                updated: 0,
            };
            for batch in batches(&import, IMPORT_BATCH) {
                let v = ctx.client.post("/menu/items", &batch, &[]).await?;
                let r: ImportResult = typed(&v)?;
                total.created += r.created;
                total.updated += r.updated;
            }
            let v = Doc::from_json(&serde_json::to_value(&total)?);
            ctx.out.object(&v, || {
                let items = plural(import.items.len(), "item");
                let what = match import.restaurants.len() {
                    0 => items,
                    n => format!("{} and {items}", plural(n, "restaurant")),
                };
                Ok(format!(
                    "imported {what}: {} created, {} updated",
                    total.created, total.updated
                ))
            })?;
        }
    }
    Ok(Exit::Ok.into())
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// An unknown restaurant named by `--restaurant` is not found (exit 3),
/// with where to find the ids.
fn unknown_restaurant(e: ApiError, id: &str) -> anyhow::Error {
    if e.is_not_found() {
        fail(
            Exit::NotFound,
            format!("no restaurant `{id}`; `foodctl restaurant list` shows their ids"),
        )
    } else {
        e.into()
    }
}

/// The request bodies of an import, in order: restaurants first, so each
/// item's restaurant exists by the time (or in the very request) the item
/// arrives; the menu service upserts a request's restaurants before its
/// items. At most `size` restaurants and items per request.
pub fn batches(import: &MenuImport, size: usize) -> Vec<Value> {
    let size = size.max(1);
    let mut out: Vec<(Vec<&Restaurant>, Vec<&Item>)> = Vec::new();
    let mut room = 0;
    for r in &import.restaurants {
        if room == 0 {
            out.push((Vec::new(), Vec::new()));
            room = size;
        }
        if let Some(last) = out.last_mut() {
            last.0.push(r);
        }
        room -= 1;
    }
    for i in &import.items {
        if room == 0 {
            out.push((Vec::new(), Vec::new()));
            room = size;
        }
        if let Some(last) = out.last_mut() {
            last.1.push(i);
        }
        room -= 1;
    }
    out.into_iter()
        .map(|(restaurants, items)| {
            // Items alone keep the body every gateway has taken.
            if restaurants.is_empty() {
                json!({ "items": items })
            } else {
                json!({ "restaurants": restaurants, "items": items })
            }
        })
        .collect()
}

/// `{"restaurants": [...], "items": [...]}` (the seed's form), or items
/// alone: a JSON array, `{"items": [...]}`, one item object, or NDJSON.
/// Everything is checked against the API shapes before anything is sent.
pub fn parse_import(text: &str) -> anyhow::Result<MenuImport> {
    if text.trim().is_empty() {
        return Err(fail(Exit::Usage, "the import file is empty"));
    }
    let mut restaurants = Vec::new();
    let values: Vec<(String, Value)> = match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(a)) => numbered("item", a),
        Ok(Value::Object(mut o)) if o.contains_key("items") || o.contains_key("restaurants") => {
            if let Some(rs) = o.remove("restaurants") {
                let Value::Array(rs) = rs else {
                    return Err(fail(Exit::Usage, "`restaurants` must be a list"));
                };
                for (at, v) in numbered("restaurant", rs) {
                    let r = serde_json::from_value::<Restaurant>(v)
                        .map_err(|e| fail(Exit::Usage, format!("{at}: {e}")))?;
                    restaurants.push(r);
                }
            }
            match o.remove("items") {
                Some(Value::Array(a)) => numbered("item", a),
                Some(_) => return Err(fail(Exit::Usage, "`items` must be a list")),
                None => Vec::new(),
            }
        }
        Ok(Value::Object(o)) => vec![("the item".to_owned(), Value::Object(o))],
        Ok(_) => {
            return Err(fail(
                Exit::Usage,
                "expected {\"restaurants\": [...], \"items\": [...]}, a JSON array of items or NDJSON",
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
    let items = values
        .into_iter()
        .map(|(at, v)| {
            let item = serde_json::from_value::<Item>(v)
                .map_err(|e| fail(Exit::Usage, format!("{at}: {e}")))?;
            if item.restaurant_id.trim().is_empty() {
                // Said here, with the line, rather than by the service for a
                // whole batch.
                return Err(fail(
                    Exit::Usage,
                    format!(
                        "{at} (`{}`): missing field `restaurant_id`; every dish belongs to a restaurant",
                        item.id
                    ),
                ));
            }
            Ok(item)
        })
        .collect::<anyhow::Result<Vec<Item>>>()?;
    Ok(MenuImport { restaurants, items })
}

/// `("item 1", v)`, `("item 2", v)`... for error messages.
fn numbered(what: &str, values: Vec<Value>) -> Vec<(String, Value)> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| (format!("{what} {}", i + 1), v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str =
        r#"{"id":"a","restaurant_id":"r","name":"A","category":"pizza","price_cents":100}"#;
    const PLACE: &str =
        r#"{"id":"r","name":"R","cuisine":"italian","address":"1 Rue de la République, Lyon"}"#;

    fn parse_items(text: &str) -> anyhow::Result<Vec<Item>> {
        parse_import(text).map(|m| m.items)
    }

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
    fn imports_accept_the_seed_form_with_restaurants() {
        let m = parse_import(&format!(
            "{{\"restaurants\":[{PLACE}],\"items\":[{ONE},{ONE}]}}"
        ))
        .unwrap();
        assert_eq!(m.restaurants.len(), 1);
        assert!(
            m.restaurants[0].open,
            "a restaurant is open unless it says not"
        );
        assert_eq!(m.items.len(), 2);
        let only = parse_import(&format!("{{\"restaurants\":[{PLACE}]}}")).unwrap();
        assert_eq!((only.restaurants.len(), only.items.len()), (1, 0));
    }

    #[test]
    fn a_bad_item_is_a_usage_error_naming_its_line() {
        let err = parse_items(&format!("{ONE}\n{{\"id\":\"b\"}}\n")).unwrap_err();
        assert_eq!(Exit::of(&err), Exit::Usage);
        assert!(err.to_string().starts_with("line 2:"), "{err}");
        assert_eq!(Exit::of(&parse_items("  ").unwrap_err()), Exit::Usage);
    }

    #[test]
    fn a_bad_restaurant_or_an_item_without_one_is_a_usage_error_naming_it() {
        let err = parse_import(r#"{"restaurants":[{"id":"r"}],"items":[]}"#).unwrap_err();
        assert_eq!(Exit::of(&err), Exit::Usage);
        assert!(err.to_string().starts_with("restaurant 1:"), "{err}");
        let orphan = r#"[{"id":"lost","name":"L","category":"c","price_cents":1}]"#;
        let err = parse_import(orphan).unwrap_err();
        assert_eq!(Exit::of(&err), Exit::Usage);
        assert!(
            err.to_string()
                .starts_with("item 1 (`lost`): missing field `restaurant_id`"),
            "{err}"
        );
    }

    #[test]
    fn restaurants_go_first_and_batches_hold_at_most_the_batch_size() {
        // Arrange: 3 restaurants and 5 items, 4 to a request.
        let m = parse_import(&format!(
            "{{\"restaurants\":[{PLACE},{PLACE},{PLACE}],\"items\":[{ONE},{ONE},{ONE},{ONE},{ONE}]}}"
        ))
        .unwrap();

        // Act
        let bodies = batches(&m, 4);

        // Assert
        let count = |b: &Value, k: &str| b.get(k).and_then(Value::as_array).map_or(0, Vec::len);
        let shape: Vec<(usize, usize)> = bodies
            .iter()
            .map(|b| (count(b, "restaurants"), count(b, "items")))
            .collect();
        assert_eq!(shape, [(3, 1), (0, 4)]);
        assert!(
            bodies[1].get("restaurants").is_none(),
            "items alone are sent as before"
        );
        assert!(batches(&MenuImport::default(), 4).is_empty());
    }
}
