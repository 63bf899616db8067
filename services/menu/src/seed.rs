//! The menu shipped with the service (`data/menu.json`), embedded in the
//! binary so that a fresh install has something to order without any file.

use anyhow::Context;
use food_proto::menu::v1 as pm;

use crate::{
    domain::{self, ValidItem},
    store::Store,
};

/// The seed menu as shipped in the repository.
pub const MENU_JSON: &str = include_str!("../data/menu.json");

/// The seed menu, checked by the same rules as an import.
pub fn items() -> anyhow::Result<Vec<ValidItem>> {
    let items: Vec<food_api::Item> =
        serde_json::from_str(MENU_JSON).context("reading the embedded data/menu.json")?;
    let items = items.into_iter().map(pm::Item::from).collect();
    domain::parse_batch(items).context("checking the embedded data/menu.json")
}

/// Seeds the menu when the table is empty, so that a restart never undoes
/// imports or edits. Returns how many items were written.
pub async fn seed_if_empty(store: &Store) -> anyhow::Result<u32> {
    if store.count().await.context("counting menu items")? > 0 {
        return Ok(0);
    }
    let counts = store.upsert(&items()?).await.context("seeding the menu")?;
    Ok(counts.created + counts.updated)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_shipped_menu_is_valid_and_varied() {
        let items = items().unwrap();
        let categories: HashSet<&str> = items.iter().map(|i| i.category.as_str()).collect();
        let unavailable = items.iter().filter(|i| !i.available).count();
        assert!(items.len() >= 48, "{} items", items.len());
        assert!(categories.len() >= 7, "{categories:?}");
        assert!((3..=4).contains(&unavailable), "{unavailable} unavailable");
        assert!(
            items
                .iter()
                .all(|i| i.currency == "EUR" && i.price_cents > 0)
        );
        for tag in ["vegetarian", "vegan", "spicy", "gluten-free"] {
            assert!(
                items.iter().any(|i| i.tags.iter().any(|t| t == tag)),
                "{tag}"
            );
        }
    }
}
