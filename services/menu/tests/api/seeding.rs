//! The seed modes (`FOOD_MENU__SEED`): `if-empty` seeds a menu without items,
//! `missing` adds the seed's free ids and leaves existing rows alone, `off`
//! writes nothing.

use std::path::Path;

use food_menu::{Settings, seed, settings::SeedMode};
use food_proto::menu::v1::{GetItemRequest, GetRestaurantRequest, ImportItemsRequest};

use crate::helpers::{
    TestApp, all_items, all_restaurants, new_item, new_restaurant, spawn_app_with, sqlite_settings,
};

fn settings(dir: &Path, seed: SeedMode) -> Settings {
    Settings {
        seed,
        ..sqlite_settings(dir)
    }
}

async fn start(dir: &Path, seed: SeedMode) -> TestApp {
    spawn_app_with(settings(dir, seed)).await
}

#[tokio::test]
async fn seed_missing_on_a_fresh_menu_writes_the_whole_seed() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = seed::menu().unwrap();

    let mut app = start(dir.path(), SeedMode::Missing).await;

    assert_eq!(
        all_restaurants(&mut app.client).await.len(),
        shipped.restaurants.len()
    );
    assert_eq!(all_items(&mut app.client).await.len(), shipped.items.len());
    app.stop().await;
}

#[tokio::test]
async fn seed_missing_adds_the_free_ids_and_keeps_every_existing_row() {
    // Arrange: a menu of ops' own, some of it under seed ids.
    let dir = tempfile::tempdir().unwrap();
    let mut app = start(dir.path(), SeedMode::Off).await;
    let mut luca = new_restaurant("trattoria-da-luca");
    luca.name = "Chez Luca".into();
    luca.open = false;
    let mut margherita = new_item("margherita");
    margherita.restaurant_id = "trattoria-da-luca".into();
    margherita.price_cents = 4242;
    app.client
        .import_items(ImportItemsRequest {
            restaurants: vec![luca.clone(), new_restaurant("ops-own")],
            items: vec![margherita.clone()],
        })
        .await
        .unwrap();
    app.stop().await;
    let shipped = seed::menu().unwrap();

    // Act
    let mut app = start(dir.path(), SeedMode::Missing).await;

    // Assert
    let stored_luca = app
        .client
        .get_restaurant(GetRestaurantRequest {
            id: "trattoria-da-luca".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stored_luca, luca, "an existing restaurant is not touched");
    let stored_margherita = app
        .client
        .get_item(GetItemRequest {
            id: "margherita".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        stored_margherita, margherita,
        "an existing item is not touched"
    );
    let tiramisu = app
        .client
        .get_item(GetItemRequest {
            id: "tiramisu".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        tiramisu.restaurant_id, "trattoria-da-luca",
        "free ids are added"
    );
    let restaurants = all_restaurants(&mut app.client).await;
    assert_eq!(
        restaurants.len(),
        shipped.restaurants.len() + 1,
        "+ ops-own"
    );
    let items = all_items(&mut app.client).await;
    assert_eq!(items.len(), shipped.items.len());
    app.stop().await;

    // Act: once everything is there, another start changes nothing.
    let mut again = start(dir.path(), SeedMode::Missing).await;

    // Assert
    assert_eq!(all_items(&mut again.client).await, items);
    assert_eq!(all_restaurants(&mut again.client).await, restaurants);
    again.stop().await;
}

#[tokio::test]
async fn seed_if_empty_leaves_a_menu_with_items_alone() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let mut app = start(dir.path(), SeedMode::Off).await;
    let mut only = new_item("only-dish");
    only.restaurant_id = "ops-own".into();
    app.client
        .import_items(ImportItemsRequest {
            restaurants: vec![new_restaurant("ops-own")],
            items: vec![only.clone()],
        })
        .await
        .unwrap();
    app.stop().await;

    // Act
    let mut app = start(dir.path(), SeedMode::IfEmpty).await;

    // Assert
    assert_eq!(all_items(&mut app.client).await, [only]);
    assert_eq!(
        all_restaurants(&mut app.client).await,
        [new_restaurant("ops-own")]
    );
    app.stop().await;
}

#[tokio::test]
async fn seed_off_writes_no_restaurants_either() {
    let dir = tempfile::tempdir().unwrap();

    let mut app = start(dir.path(), SeedMode::Off).await;

    assert!(all_restaurants(&mut app.client).await.is_empty());
    assert!(all_items(&mut app.client).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn seed_if_empty_counts_a_menu_of_restaurants_alone_as_not_empty() {
    // Arrange: ops bring their restaurants before any dish.
    let dir = tempfile::tempdir().unwrap();
    let mut app = start(dir.path(), SeedMode::Off).await;
    app.client
        .import_items(ImportItemsRequest {
            restaurants: vec![new_restaurant("ops-own")],
            items: Vec::new(),
        })
        .await
        .unwrap();
    app.stop().await;

    // Act
    let mut app = start(dir.path(), SeedMode::IfEmpty).await;

    // Assert
    assert_eq!(
        all_restaurants(&mut app.client).await,
        [new_restaurant("ops-own")]
    );
    assert!(all_items(&mut app.client).await.is_empty());
    app.stop().await;
}
