//! The menu shipped with the service (`data/menu.json`: restaurants and
//! their items), embedded in the binary so that a fresh install has something
//! to order without any file, and the seeding modes of [`SeedMode`].

use anyhow::Context;
use food_proto::menu::v1 as pm;

use crate::{
    domain::{self, ValidImport},
    settings::SeedMode,
    store::{Imported, Store},
};

/// The seed menu as shipped in the repository.
pub const MENU_JSON: &str = include_str!("../data/menu.json");

/// The seed menu, checked by the same rules as an import.
pub fn menu() -> anyhow::Result<ValidImport> {
    let menu: food_api::MenuImport =
        serde_json::from_str(MENU_JSON).context("reading the embedded data/menu.json")?;
    domain::parse_import(
        menu.restaurants
            .into_iter()
            .map(pm::Restaurant::from)
            .collect(),
        menu.items.into_iter().map(pm::Item::from).collect(),
    )
    .context("checking the embedded data/menu.json")
}

/// Writes the seed as `mode` says; returns what was written.
pub async fn seed(store: &Store, mode: SeedMode) -> anyhow::Result<Imported> {
    match mode {
        SeedMode::Off => Ok(Imported::default()),
        SeedMode::IfEmpty => {
            // Only an empty menu: a restart never undoes imports or edits,
            // not even an import of restaurants alone.
            if !store.is_empty().await.context("counting the menu's rows")? {
                return Ok(Imported::default());
            }
            Ok(store.import(&menu()?).await.context("seeding the menu")?)
        }
        SeedMode::Missing => store
            .insert_missing(&menu()?)
            .await
            .context("adding the missing seed restaurants and items"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_shipped_menu_is_valid_and_varied() {
        let ValidImport { restaurants, items } = menu().unwrap();
        let categories: HashSet<&str> = items.iter().map(|i| i.category.as_str()).collect();
        let unavailable = items.iter().filter(|i| !i.available).count();
        assert!(items.len() >= 80, "{} items", items.len());
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

        let cuisines: HashSet<String> = restaurants.iter().map(|r| r.cuisine_key()).collect();
        assert!(restaurants.len() >= 8, "{} restaurants", restaurants.len());
        assert!(cuisines.len() >= 6, "{cuisines:?}");
        assert!(
            restaurants
                .iter()
                .all(|r| r.open && r.address.ends_with("Lyon")),
            "all open, all in Lyon"
        );
        let ids: HashSet<&str> = restaurants.iter().map(|r| r.id.as_str()).collect();
        for item in &items {
            assert!(
                ids.contains(item.restaurant_id.as_str()),
                "{} belongs to unknown {}",
                item.id,
                item.restaurant_id
            );
        }
        for r in &restaurants {
            let menu = items.iter().filter(|i| i.restaurant_id == r.id).count();
            assert!(menu >= 5, "{} has {menu} items", r.id);
        }
        let owner = |id: &str| {
            items
                .iter()
                .find(|i| i.id.as_str() == id)
                .map(|i| i.restaurant_id.to_string())
        };
        assert_eq!(owner("margherita").as_deref(), Some("trattoria-da-luca"));
        assert_eq!(owner("tiramisu").as_deref(), Some("trattoria-da-luca"));
    }
}
