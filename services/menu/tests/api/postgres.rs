//! The same API against PostgreSQL, in a schema of its own; skipped (with a
//! note on stderr) when no server answers at the test URL.

use std::collections::HashSet;

use food_api::ErrorCode;
use food_menu::{Settings, settings::SeedMode};
use food_proto::menu::v1::{
    BatchGetItemsRequest, GetItemRequest, ImportItemsRequest, ListItemsRequest,
    ListRestaurantsRequest, SetRestaurantOpenRequest,
};
use sqlx::PgConnection;
use tonic::Code;

use crate::{
    helpers::{
        all_items, all_restaurants, assert_refused, list_all, list_all_restaurants, menu_of,
        new_item, new_restaurant, spawn_app_with,
    },
    upgrade::{house_kitchen, write_0_1_0_menu},
};

/// A schema of the test's own, so tests can share one database.
struct Schema {
    admin: PgConnection,
    name: String,
    /// The database URL with `search_path` set to the schema.
    url: String,
}

impl Schema {
    async fn create() -> Option<Self> {
        let url = food_kit::testing::postgres_url();
        let mut admin = food_kit::testing::postgres_admin().await?;
        let name = format!("menu_test_{}", uuid::Uuid::now_v7().simple());
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&mut admin)
            .await
            .expect("creating a test schema");
        let url = format!("{url}?options[search_path]={name}");
        Some(Self { admin, name, url })
    }

    async fn drop(mut self) {
        sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.name))
            .execute(&mut self.admin)
            .await
            .expect("dropping the test schema");
    }
}

#[tokio::test]
async fn the_menu_works_the_same_on_postgresql_and_survives_a_restart() {
    // Arrange
    let Some(schema) = Schema::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let settings = || {
        let mut s = Settings::default();
        s.service.listen = "127.0.0.1:0".parse().unwrap();
        s.service.data_dir = dir.path().to_path_buf();
        s.service.database_url = schema.url.clone();
        s
    };
    let mut app = spawn_app_with(settings()).await;

    // Act + Assert: the seed
    let items = all_items(&mut app.client).await;
    let categories: HashSet<_> = items.iter().map(|i| i.category.clone()).collect();
    assert!(items.len() >= 40 && categories.len() >= 6);

    // filters and pagination
    let (paged, _) = list_all(&mut app.client, ListItemsRequest::default(), 9).await;
    assert_eq!(paged, items);
    let (pizzas, _) = list_all(
        &mut app.client,
        ListItemsRequest {
            restaurant_id: None,
            category: Some("PIZZA".into()),
            available_only: Some(true),
            query: Some("MOZZARELLA".into()),
            page: None,
        },
        2,
    )
    .await;
    assert!(!pizzas.is_empty());
    assert!(pizzas.iter().all(|i| i.category == "pizza" && i.available));

    // lookups
    let missing = app
        .client
        .get_item(GetItemRequest { id: "ghost".into() })
        .await
        .unwrap_err();
    assert_refused(&missing, Code::NotFound, ErrorCode::NotFound, None);
    let batch = app
        .client
        .batch_get_items(BatchGetItemsRequest {
            ids: vec!["margherita".into(), "ghost".into(), "margherita".into()],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(batch.items.len(), 1);
    assert_eq!(batch.missing_ids, ["ghost"]);

    // imports, including an all-or-nothing refusal
    let mut margherita = batch.items[0].clone();
    margherita.price_cents = 1111;
    let counts = app
        .client
        .import_items(ImportItemsRequest {
            restaurants: Vec::new(),
            items: vec![margherita.clone(), new_item("pg-special")],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((counts.created, counts.updated), (1, 1));
    let mut bad = new_item("pg-bad");
    bad.currency = "euro".into();
    let refused = app
        .client
        .import_items(ImportItemsRequest {
            restaurants: Vec::new(),
            items: vec![new_item("pg-never"), bad],
        })
        .await
        .unwrap_err();
    assert_refused(
        &refused,
        Code::InvalidArgument,
        ErrorCode::InvalidArgument,
        Some("items[1].currency"),
    );
    let before = all_items(&mut app.client).await;
    assert!(!before.iter().any(|i| i.id == "pg-never"));
    app.stop().await;

    // a restart keeps everything and does not reseed
    let mut again = spawn_app_with(settings()).await;
    assert_eq!(all_items(&mut again.client).await, before);
    again.stop().await;

    schema.drop().await;
}

/// Settings for a service on `schema`, with its data dir in `dir`.
fn pg_settings(schema: &Schema, dir: &std::path::Path, seed: SeedMode) -> Settings {
    let mut s = Settings::default();
    s.service.listen = "127.0.0.1:0".parse().unwrap();
    s.service.data_dir = dir.to_path_buf();
    s.service.database_url = schema.url.clone();
    s.seed = seed;
    s
}

#[tokio::test]
async fn restaurants_work_the_same_on_postgresql() {
    // Arrange
    let Some(schema) = Schema::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut app = spawn_app_with(pg_settings(&schema, dir.path(), SeedMode::IfEmpty)).await;

    // Act + Assert: the seed, filters and pages
    let restaurants = all_restaurants(&mut app.client).await;
    assert_eq!(restaurants.len(), 10);
    let (paged, pages) =
        list_all_restaurants(&mut app.client, ListRestaurantsRequest::default(), 4).await;
    assert_eq!((paged, pages), (restaurants.clone(), 3));
    let (japanese, _) = list_all_restaurants(
        &mut app.client,
        ListRestaurantsRequest {
            cuisine: Some("JAPANESE".into()),
            query: Some("ramen".into()),
            ..Default::default()
        },
        1,
    )
    .await;
    let japanese: Vec<&str> = japanese.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(japanese, ["kintaro-ramen"]);

    // pausing
    let paused = app
        .client
        .set_restaurant_open(SetRestaurantOpenRequest {
            id: "pho-saigon".into(),
            open: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!paused.open);
    let (open, _) = list_all_restaurants(
        &mut app.client,
        ListRestaurantsRequest {
            open_only: Some(true),
            ..Default::default()
        },
        100,
    )
    .await;
    assert_eq!(open.len(), 9);

    // one restaurant's menu, and the restaurants of a batch
    let everything = all_items(&mut app.client).await;
    let pho_menu = menu_of(&mut app.client, "pho-saigon").await;
    let expected: Vec<_> = everything
        .iter()
        .filter(|i| i.restaurant_id == "pho-saigon")
        .cloned()
        .collect();
    assert_eq!(pho_menu, expected);
    let unknown = app
        .client
        .list_items(ListItemsRequest {
            restaurant_id: Some("ghost".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_refused(&unknown, Code::NotFound, ErrorCode::NotFound, None);
    let batch = app
        .client
        .batch_get_items(BatchGetItemsRequest {
            ids: vec!["beef-pho".into(), "banh-mi-tofu".into()],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(batch.restaurants, [paused]);

    // an import with an unknown restaurant changes nothing
    let mut orphan = new_item("pg-orphan");
    orphan.restaurant_id = "nowhere".into();
    let refused = app
        .client
        .import_items(ImportItemsRequest {
            restaurants: vec![new_restaurant("pg-new")],
            items: vec![new_item("pg-fine"), orphan],
        })
        .await
        .unwrap_err();
    assert_refused(
        &refused,
        Code::InvalidArgument,
        ErrorCode::InvalidArgument,
        Some("items[1].restaurant_id"),
    );
    assert_eq!(all_items(&mut app.client).await, everything);
    let restaurants = all_restaurants(&mut app.client).await;
    assert!(!restaurants.iter().any(|r| r.id == "pg-new"));
    app.stop().await;

    // a restart keeps the pause
    let mut again = spawn_app_with(pg_settings(&schema, dir.path(), SeedMode::Missing)).await;
    assert_eq!(all_restaurants(&mut again.client).await, restaurants);
    again.stop().await;

    schema.drop().await;
}

#[tokio::test]
async fn a_0_1_0_menu_on_postgresql_moves_to_the_house_kitchen() {
    // Arrange
    let Some(schema) = Schema::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    write_0_1_0_menu(&schema.url, &["old-lasagne", "margherita"]).await;

    // Act
    let mut app = spawn_app_with(pg_settings(&schema, dir.path(), SeedMode::Missing)).await;

    // Assert
    let kitchen = menu_of(&mut app.client, "house-kitchen").await;
    let ids: Vec<&str> = kitchen.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["margherita", "old-lasagne"]);
    let restaurants = all_restaurants(&mut app.client).await;
    assert!(restaurants.contains(&house_kitchen()));
    assert_eq!(restaurants.len(), 11, "the seed's ten are added");
    let tiramisu = app
        .client
        .get_item(GetItemRequest {
            id: "tiramisu".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(tiramisu.restaurant_id, "trattoria-da-luca");
    app.stop().await;

    schema.drop().await;
}
