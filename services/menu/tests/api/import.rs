//! ImportItems: upserts, counts, validation and all-or-nothing batches.

use food_api::ErrorCode;
use food_proto::menu::v1::{GetItemRequest, ImportItemsRequest, Item};
use tonic::Code;

use crate::helpers::{all_items, assert_refused, new_item, spawn_app};

/// Spoils one field of a good item.
type Breakage = fn(&mut Item);

#[tokio::test]
async fn import_creates_new_items_and_updates_existing_ones() {
    // Arrange
    let (mut app, _dir) = spawn_app().await;
    let before = all_items(&mut app.client).await.len();
    let mut margherita = app
        .client
        .get_item(GetItemRequest {
            id: "margherita".into(),
        })
        .await
        .unwrap()
        .into_inner();
    margherita.price_cents = 1190;
    margherita.available = false;
    margherita.tags = vec!["vegetarian".into(), "classic".into(), "new-price".into()];

    // Act
    let counts = app
        .client
        .import_items(ImportItemsRequest {
            restaurants: Vec::new(),
            items: vec![
                new_item("weekly-special"),
                margherita.clone(),
                new_item("chef-choice"),
            ],
        })
        .await
        .unwrap()
        .into_inner();

    // Assert
    assert_eq!((counts.created, counts.updated), (2, 1));
    assert_eq!(all_items(&mut app.client).await.len(), before + 2);
    let stored = app
        .client
        .get_item(GetItemRequest {
            id: "margherita".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stored, margherita);
    let special = app
        .client
        .get_item(GetItemRequest {
            id: "weekly-special".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(special, new_item("weekly-special"));
    app.stop().await;
}

#[tokio::test]
async fn importing_the_same_items_twice_counts_them_as_updated() {
    let (mut app, _dir) = spawn_app().await;
    let batch = ImportItemsRequest {
        restaurants: Vec::new(),
        items: vec![new_item("a"), new_item("b")],
    };

    let first = app
        .client
        .import_items(batch.clone())
        .await
        .unwrap()
        .into_inner();
    let second = app.client.import_items(batch).await.unwrap().into_inner();

    assert_eq!((first.created, first.updated), (2, 0));
    assert_eq!((second.created, second.updated), (0, 2));
    app.stop().await;
}

#[tokio::test]
async fn imported_items_are_found_by_the_filters() {
    // Arrange
    let (mut app, _dir) = spawn_app().await;
    let mut item = new_item("smoked-tofu-bao");
    item.name = "Smoked Tofu Bao".into();
    item.category = "Street Food".into();
    item.tags = vec!["vegan".into(), "Spicy".into()];
    app.client
        .import_items(ImportItemsRequest {
            restaurants: Vec::new(),
            items: vec![item],
        })
        .await
        .unwrap();

    // Act
    let by_category = app
        .client
        .list_items(food_proto::menu::v1::ListItemsRequest {
            restaurant_id: None,
            category: Some("street food".into()),
            query: Some("spicy".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();

    // Assert
    assert_eq!(by_category.items.len(), 1);
    assert_eq!(by_category.items[0].id, "smoked-tofu-bao");
    assert_eq!(
        by_category.items[0].category, "Street Food",
        "stored as given"
    );
    app.stop().await;
}

#[tokio::test]
async fn import_rejects_each_bad_field_naming_the_item_and_changes_nothing() {
    // Arrange
    let (mut app, _dir) = spawn_app().await;
    let before = all_items(&mut app.client).await;
    let cases: Vec<(&str, Breakage)> = vec![
        ("id", |i| i.id = "Bad Id".into()),
        ("id", |i| i.id = String::new()),
        ("id", |i| i.id = "x".repeat(65)),
        ("restaurant_id", |i| i.restaurant_id = String::new()),
        ("restaurant_id", |i| i.restaurant_id = "Green Bowl".into()),
        ("name", |i| i.name = String::new()),
        ("name", |i| i.name = "n".repeat(121)),
        ("category", |i| i.category = " ".into()),
        ("price_cents", |i| i.price_cents = -1),
        ("price_cents", |i| i.price_cents = 1_000_001),
        ("currency", |i| i.currency = "eur".into()),
        ("currency", |i| i.currency = "EU".into()),
        ("currency", |i| i.currency = String::new()),
        ("prep_minutes", |i| i.prep_minutes = 241),
        ("tags", |i| {
            i.tags = (0..21).map(|n| format!("t{n}")).collect()
        }),
        ("description", |i| i.description = "d".repeat(2001)),
    ];

    for (field, break_it) in cases {
        // Act: a good item first, so that a partial write would show.
        let mut bad = new_item("broken");
        break_it(&mut bad);
        let mut changed_seed = before[0].clone();
        changed_seed.price_cents += 1;
        let status = app
            .client
            .import_items(ImportItemsRequest {
                restaurants: Vec::new(),
                items: vec![new_item("fine"), changed_seed, bad],
            })
            .await
            .unwrap_err();

        // Assert
        let expected = format!("items[2].{field}");
        assert_refused(
            &status,
            Code::InvalidArgument,
            ErrorCode::InvalidArgument,
            Some(&expected),
        );
        let (_, details) = food_kit::grpc::error_code(&status);
        assert_eq!(details["index"], "2");
        assert!(status.message().contains(&expected), "{}", status.message());
    }
    assert_eq!(all_items(&mut app.client).await, before, "nothing changed");
    app.stop().await;
}

#[tokio::test]
async fn import_rejects_an_id_given_twice_in_one_batch() {
    let (mut app, _dir) = spawn_app().await;
    let before = all_items(&mut app.client).await;

    let status = app
        .client
        .import_items(ImportItemsRequest {
            restaurants: Vec::new(),
            items: vec![new_item("twice"), new_item("twice")],
        })
        .await
        .unwrap_err();

    assert_refused(
        &status,
        Code::InvalidArgument,
        ErrorCode::InvalidArgument,
        Some("items[1].id"),
    );
    assert_eq!(all_items(&mut app.client).await, before);
    app.stop().await;
}

#[tokio::test]
async fn import_accepts_the_limits_of_every_field() {
    // Arrange
    let (mut app, _dir) = spawn_app().await;
    let mut edge = new_item(&"x".repeat(64));
    edge.name = "n".repeat(120);
    edge.price_cents = 1_000_000;
    edge.prep_minutes = 240;
    edge.tags = (0..20).map(|n| format!("t{n}")).collect();
    let mut free = new_item("free-water_2");
    free.price_cents = 0;
    free.prep_minutes = 0;
    free.tags = vec![];

    // Act
    let counts = app
        .client
        .import_items(ImportItemsRequest {
            restaurants: Vec::new(),
            items: vec![edge.clone(), free],
        })
        .await
        .unwrap()
        .into_inner();

    // Assert
    assert_eq!(counts.created, 2);
    let stored = app
        .client
        .get_item(GetItemRequest {
            id: edge.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stored, edge);
    app.stop().await;
}
