//! The same API against PostgreSQL, in a schema of its own; skipped (with a
//! note on stderr) when no server answers at the test URL.

use std::collections::HashSet;

use food_api::ErrorCode;
use food_menu::Settings;
use food_proto::menu::v1::{
    BatchGetItemsRequest, GetItemRequest, ImportItemsRequest, ListItemsRequest,
};
use sqlx::PgConnection;
use tonic::Code;

use crate::helpers::{all_items, assert_refused, list_all, new_item, spawn_app_with};

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
