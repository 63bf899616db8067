//! A menu written by release 0.1.0, before restaurants: the migration moves
//! its items to the `house-kitchen` restaurant, and the seed modes decide
//! what a start adds to it.

use std::{collections::HashSet, path::Path};

use food_kit::db::{Db, Migrations};
use food_menu::{seed, settings::SeedMode, store::MIGRATIONS};
use food_proto::menu::v1::{BatchGetItemsRequest, GetRestaurantRequest, Restaurant};

use crate::helpers::{all_items, all_restaurants, menu_of, spawn_app_with, sqlite_settings};

/// The menu.db of the data dir written by release 0.1.0 (its README says how).
const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../stack/tests/fixtures/data-dir-0.1.0/menu.db"
);

/// Items in the fixture: the 54-item seed of 0.1.0 and `house-lasagne`.
const FIXTURE_ITEMS: usize = 55;

/// A copy of the fixture in `dir`, so tests never change the original.
fn copy_fixture(dir: &Path) {
    std::fs::copy(FIXTURE, dir.join("menu.db")).unwrap_or_else(|e| {
        panic!("copying {FIXTURE} (the 0.1.0 data dir's menu.db must be checked in): {e}")
    });
}

/// The restaurant the migration creates for items that had none.
pub fn house_kitchen() -> Restaurant {
    Restaurant {
        id: "house-kitchen".into(),
        name: "House Kitchen".into(),
        cuisine: "various".into(),
        address: String::new(),
        open: true,
        tags: Vec::new(),
        auto_accept: true,
        acceptance_timeout_s: 300,
    }
}

/// Writes a menu as release 0.1.0 did: its migrations only, and items
/// without a restaurant.
pub async fn write_0_1_0_menu(url: &str, ids: &[&str]) {
    let old = Migrations {
        sqlite: &MIGRATIONS.sqlite[..1],
        postgres: &MIGRATIONS.postgres[..1],
    };
    assert_eq!(old.sqlite[0].version, 100, "0.1.0 stopped at version 100");
    let db = Db::connect(url, &old).await.expect("creating a 0.1.0 menu");
    for id in ids {
        sqlx::query(
            "INSERT INTO items (id, name, description, category, category_key, price_cents, \
             currency, available, prep_minutes, tags, search_text, created_at, updated_at) \
             VALUES ($1, $2, '', 'pasta', 'pasta', 1290, 'EUR', 1, 20, '[]', $3, 1, 1)",
        )
        .bind((*id).to_owned())
        .bind(format!("Old {id}"))
        .bind(format!("old {id}"))
        .execute(db.writer())
        .await
        .expect("writing a 0.1.0 item");
    }
    db.close().await;
}

#[tokio::test]
async fn the_0_1_0_menu_moves_to_the_house_kitchen_and_stays_whole() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    copy_fixture(dir.path());

    // Act: the default mode seeds only an empty menu, and this one is not.
    let mut app = spawn_app_with(sqlite_settings(dir.path())).await;

    // Assert
    let items = all_items(&mut app.client).await;
    assert_eq!(items.len(), FIXTURE_ITEMS);
    assert!(
        items.iter().all(|i| i.restaurant_id == "house-kitchen"),
        "every item moved"
    );
    assert!(
        items.iter().any(|i| i.id == "house-lasagne"),
        "ops' import kept"
    );
    assert_eq!(all_restaurants(&mut app.client).await, [house_kitchen()]);
    assert_eq!(menu_of(&mut app.client, "house-kitchen").await, items);
    let batch = app
        .client
        .batch_get_items(BatchGetItemsRequest {
            ids: vec!["margherita".into(), "house-lasagne".into()],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(batch.items.len(), 2);
    assert_eq!(batch.restaurants, [house_kitchen()]);
    app.stop().await;
}

#[tokio::test]
async fn with_seed_missing_an_upgraded_menu_gains_the_restaurants_and_keeps_its_items() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    copy_fixture(dir.path());
    let settings = || {
        let mut s = sqlite_settings(dir.path());
        s.seed = SeedMode::Missing;
        s
    };
    let shipped = seed::menu().unwrap();

    // Act
    let mut app = spawn_app_with(settings()).await;

    // Assert
    let items = all_items(&mut app.client).await;
    let restaurants = all_restaurants(&mut app.client).await;
    assert_eq!(restaurants.len(), shipped.restaurants.len() + 1);
    assert!(restaurants.contains(&house_kitchen()));
    let margherita = items.iter().find(|i| i.id == "margherita").unwrap();
    assert_eq!(
        margherita.restaurant_id, "house-kitchen",
        "existing rows are not touched"
    );
    let kept: HashSet<&str> = items
        .iter()
        .filter(|i| i.restaurant_id == "house-kitchen")
        .map(|i| i.id.as_str())
        .collect();
    assert_eq!(kept.len(), FIXTURE_ITEMS);
    let added = shipped
        .items
        .iter()
        .filter(|i| !kept.contains(i.id.as_str()))
        .count();
    assert_eq!(items.len(), FIXTURE_ITEMS + added);
    let tacos = items.iter().find(|i| i.id == "tacos-al-pastor").unwrap();
    assert_eq!(
        tacos.restaurant_id, "taqueria-el-sol",
        "new seed items arrive"
    );
    app.stop().await;

    // Act: a second start has nothing left to add.
    let mut again = spawn_app_with(settings()).await;

    // Assert
    assert_eq!(all_items(&mut again.client).await, items);
    assert_eq!(all_restaurants(&mut again.client).await, restaurants);
    again.stop().await;
}

#[tokio::test]
async fn an_upgraded_house_kitchen_takes_its_address_from_an_import() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("menu.db").display());
    write_0_1_0_menu(&url, &["old-lasagne", "old-soup"]).await;
    let mut app = spawn_app_with(sqlite_settings(dir.path())).await;
    let mut kitchen = app
        .client
        .get_restaurant(GetRestaurantRequest {
            id: "house-kitchen".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(kitchen, house_kitchen());

    // Act
    kitchen.address = "1 Place Bellecour, 69002 Lyon".into();
    app.client
        .import_items(food_proto::menu::v1::ImportItemsRequest {
            restaurants: vec![kitchen.clone()],
            items: Vec::new(),
        })
        .await
        .unwrap();

    // Assert
    let stored = app
        .client
        .get_restaurant(GetRestaurantRequest {
            id: "house-kitchen".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stored, kitchen);
    let menu = menu_of(&mut app.client, "house-kitchen").await;
    let ids: Vec<&str> = menu.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["old-lasagne", "old-soup"]);
    app.stop().await;
}
