//! ImportItems: restaurants and items, upserts, counts, validation and
//! all-or-nothing batches.

use food_api::ErrorCode;
use food_proto::menu::v1::{
    GetItemRequest, GetRestaurantRequest, ImportItemsRequest, Item, Restaurant,
};
use tonic::Code;

use crate::helpers::{
    all_items, all_restaurants, assert_refused, menu_of, new_item, new_restaurant, spawn_app,
};

/// Spoils one field of a good item.
type Breakage = fn(&mut Item);
/// Spoils one field of a good restaurant.
type RestaurantBreakage = fn(&mut Restaurant);

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

#[tokio::test]
async fn an_import_brings_a_new_restaurant_with_its_menu_and_counts_the_items() {
    // Arrange
    let (mut app, _dir) = spawn_app().await;
    let restaurant = new_restaurant("seoul-kitchen");
    let mut bibimbap = new_item("bibimbap");
    bibimbap.restaurant_id = "seoul-kitchen".into();
    let mut kimchi = new_item("kimchi-pancake");
    kimchi.restaurant_id = "seoul-kitchen".into();

    // Act
    let counts = app
        .client
        .import_items(ImportItemsRequest {
            restaurants: vec![restaurant.clone()],
            items: vec![bibimbap.clone(), kimchi.clone()],
        })
        .await
        .unwrap()
        .into_inner();

    // Assert
    assert_eq!((counts.created, counts.updated), (2, 0), "items only");
    let stored = app
        .client
        .get_restaurant(GetRestaurantRequest {
            id: "seoul-kitchen".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stored, restaurant);
    assert_eq!(
        menu_of(&mut app.client, "seoul-kitchen").await,
        [bibimbap, kimchi]
    );
    app.stop().await;
}

#[tokio::test]
async fn an_import_updates_a_stored_restaurant_and_can_move_an_item_to_another() {
    // Arrange
    let (mut app, _dir) = spawn_app().await;
    let mut bowl = app
        .client
        .get_restaurant(GetRestaurantRequest {
            id: "green-bowl".into(),
        })
        .await
        .unwrap()
        .into_inner();
    bowl.address = "2 Quai Saint-Antoine, 69002 Lyon".into();
    bowl.open = false;
    bowl.tags.push("terrace".into());
    let mut water = app
        .client
        .get_item(GetItemRequest {
            id: "still-water".into(),
        })
        .await
        .unwrap()
        .into_inner();
    water.restaurant_id = "le-smash-club".into();

    // Act
    let counts = app
        .client
        .import_items(ImportItemsRequest {
            restaurants: vec![bowl.clone()],
            items: vec![water.clone()],
        })
        .await
        .unwrap()
        .into_inner();

    // Assert
    assert_eq!((counts.created, counts.updated), (0, 1));
    let stored = app
        .client
        .get_restaurant(GetRestaurantRequest {
            id: "green-bowl".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stored, bowl);
    let smash = menu_of(&mut app.client, "le-smash-club").await;
    assert!(smash.contains(&water));
    let bowl_menu = menu_of(&mut app.client, "green-bowl").await;
    assert!(!bowl_menu.iter().any(|i| i.id == "still-water"));
    app.stop().await;
}

#[tokio::test]
async fn import_refuses_an_item_of_an_unknown_restaurant_naming_it_and_changes_nothing() {
    // Arrange
    let (mut app, _dir) = spawn_app().await;
    let items_before = all_items(&mut app.client).await;
    let restaurants_before = all_restaurants(&mut app.client).await;
    let mut brought = new_item("brought-along");
    brought.restaurant_id = "seoul-kitchen".into();
    let mut orphan = new_item("orphan");
    orphan.restaurant_id = "nowhere-kitchen".into();
    let mut changed_seed = items_before[0].clone();
    changed_seed.price_cents += 1;

    // Act: a new restaurant and good items first, so that a partial write would show.
    let status = app
        .client
        .import_items(ImportItemsRequest {
            restaurants: vec![new_restaurant("seoul-kitchen")],
            items: vec![new_item("fine"), brought, changed_seed, orphan],
        })
        .await
        .unwrap_err();

    // Assert
    assert_refused(
        &status,
        Code::InvalidArgument,
        ErrorCode::InvalidArgument,
        Some("items[3].restaurant_id"),
    );
    let (_, details) = food_kit::grpc::error_code(&status);
    assert_eq!(details["index"], "3");
    assert!(
        status.message().contains("nowhere-kitchen"),
        "{}",
        status.message()
    );
    assert_eq!(all_items(&mut app.client).await, items_before);
    assert_eq!(all_restaurants(&mut app.client).await, restaurants_before);
    app.stop().await;
}

#[tokio::test]
async fn import_rejects_each_bad_restaurant_field_naming_it_and_changes_nothing() {
    // Arrange
    let (mut app, _dir) = spawn_app().await;
    let items_before = all_items(&mut app.client).await;
    let restaurants_before = all_restaurants(&mut app.client).await;
    let cases: Vec<(&str, RestaurantBreakage)> = vec![
        ("id", |r| r.id = "Seoul Kitchen".into()),
        ("id", |r| r.id = String::new()),
        ("name", |r| r.name = " ".into()),
        ("cuisine", |r| r.cuisine = String::new()),
        ("address", |r| r.address = String::new()),
        ("address", |r| r.address = "a".repeat(201)),
        ("tags", |r| r.tags = vec![String::new()]),
    ];

    for (field, break_it) in cases {
        // Act
        let mut bad = new_restaurant("broken");
        break_it(&mut bad);
        let status = app
            .client
            .import_items(ImportItemsRequest {
                restaurants: vec![new_restaurant("fine-place"), bad],
                items: vec![new_item("fine")],
            })
            .await
            .unwrap_err();

        // Assert
        let expected = format!("restaurants[1].{field}");
        assert_refused(
            &status,
            Code::InvalidArgument,
            ErrorCode::InvalidArgument,
            Some(&expected),
        );
        assert!(status.message().contains(&expected), "{}", status.message());
    }
    assert_eq!(all_items(&mut app.client).await, items_before);
    assert_eq!(all_restaurants(&mut app.client).await, restaurants_before);
    app.stop().await;
}
