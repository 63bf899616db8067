//! Restaurants: listing, filters and pages, lookup, pausing, one
//! restaurant's menu, and the restaurants `BatchGetItems` brings along.

use std::collections::HashSet;

use food_api::ErrorCode;
use food_proto::{
    common::v1::PageRequest,
    menu::v1::{
        BatchGetItemsRequest, GetRestaurantRequest, ImportItemsRequest, ListItemsRequest,
        ListRestaurantsRequest, Restaurant, SetRestaurantOpenRequest,
    },
};
use tonic::Code;

use crate::helpers::{
    all_items, all_restaurants, assert_refused, list_all_restaurants, menu_of, new_restaurant,
    spawn_app,
};

fn ids(restaurants: &[Restaurant]) -> Vec<&str> {
    restaurants.iter().map(|r| r.id.as_str()).collect()
}

async fn list(
    app: &mut crate::helpers::TestApp,
    request: ListRestaurantsRequest,
) -> Vec<Restaurant> {
    list_all_restaurants(&mut app.client, request, 1000).await.0
}

#[tokio::test]
async fn the_seed_lists_ten_open_restaurants_in_lyon_ordered_by_name() {
    // Arrange
    let (mut app, _dir) = spawn_app().await;

    // Act
    let restaurants = all_restaurants(&mut app.client).await;

    // Assert
    assert_eq!(restaurants.len(), 10, "{:?}", ids(&restaurants));
    let cuisines: HashSet<&str> = restaurants.iter().map(|r| r.cuisine.as_str()).collect();
    assert!(cuisines.len() >= 6, "{cuisines:?}");
    assert!(
        restaurants
            .iter()
            .all(|r| r.open && r.address.ends_with("Lyon"))
    );
    let keys: Vec<(&str, &str)> = restaurants
        .iter()
        .map(|r| (r.name.as_str(), r.id.as_str()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "ordered by name, then id");
    let luca = restaurants
        .iter()
        .find(|r| r.id == "trattoria-da-luca")
        .expect("the trattoria is seeded");
    assert_eq!(luca.name, "Trattoria da Luca");
    assert_eq!(luca.cuisine, "italian");
    assert!(luca.address.contains("69002 Lyon"), "{}", luca.address);
    app.stop().await;
}

#[tokio::test]
async fn the_cuisine_filter_is_exact_and_case_insensitive() {
    let (mut app, _dir) = spawn_app().await;

    let japanese = list(
        &mut app,
        ListRestaurantsRequest {
            cuisine: Some("Japanese".into()),
            ..Default::default()
        },
    )
    .await;
    let partial = list(
        &mut app,
        ListRestaurantsRequest {
            cuisine: Some("japan".into()),
            ..Default::default()
        },
    )
    .await;
    let unset = list(
        &mut app,
        ListRestaurantsRequest {
            cuisine: Some(String::new()),
            ..Default::default()
        },
    )
    .await;

    assert_eq!(ids(&japanese), ["kintaro-ramen", "sakura-sushi"]);
    assert!(partial.is_empty(), "{:?}", ids(&partial));
    assert_eq!(unset.len(), 10, "an empty cuisine is no filter");
    app.stop().await;
}

#[tokio::test]
async fn the_query_matches_name_cuisine_address_and_tags_case_insensitively() {
    let (mut app, _dir) = spawn_app().await;
    let mut search = async |q: &str| {
        let found = list(
            &mut app,
            ListRestaurantsRequest {
                query: Some(q.into()),
                ..Default::default()
            },
        )
        .await;
        found.into_iter().map(|r| r.id).collect::<Vec<_>>()
    };

    let by_name = search("SMASH").await;
    let by_cuisine = search("vietnamese").await;
    let by_address = search("69004").await;
    let by_tag = search("Tacos").await;
    let nothing = search("no such place").await;

    assert_eq!(by_name, ["le-smash-club"]);
    assert_eq!(by_cuisine, ["pho-saigon"]);
    assert_eq!(by_address, ["taqueria-el-sol"]);
    assert_eq!(by_tag, ["taqueria-el-sol"]);
    assert!(nothing.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn walking_every_page_sees_each_restaurant_exactly_once_in_order() {
    let (mut app, _dir) = spawn_app().await;
    let everything = all_restaurants(&mut app.client).await;

    let (paged, pages) =
        list_all_restaurants(&mut app.client, ListRestaurantsRequest::default(), 3).await;
    let (japanese, japanese_pages) = list_all_restaurants(
        &mut app.client,
        ListRestaurantsRequest {
            cuisine: Some("japanese".into()),
            ..Default::default()
        },
        1,
    )
    .await;

    assert_eq!(paged, everything);
    assert_eq!(pages, everything.len().div_ceil(3));
    assert_eq!(ids(&japanese), ["kintaro-ramen", "sakura-sushi"]);
    assert_eq!(japanese_pages, 2, "pages keep the filter");
    app.stop().await;
}

#[tokio::test]
async fn a_bad_limit_and_an_item_cursor_are_invalid_arguments() {
    // Arrange
    let (mut app, _dir) = spawn_app().await;
    let item_page = app
        .client
        .list_items(ListItemsRequest {
            page: Some(PageRequest {
                limit: 1,
                cursor: String::new(),
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let item_cursor = item_page.next_cursor.expect("more than one item");

    // Act
    let too_big = app
        .client
        .list_restaurants(ListRestaurantsRequest {
            page: Some(PageRequest {
                limit: 1001,
                cursor: String::new(),
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let foreign = app
        .client
        .list_restaurants(ListRestaurantsRequest {
            page: Some(PageRequest {
                limit: 10,
                cursor: item_cursor,
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();

    // Assert
    assert_refused(
        &too_big,
        Code::InvalidArgument,
        ErrorCode::InvalidArgument,
        Some("page.limit"),
    );
    assert_refused(
        &foreign,
        Code::InvalidArgument,
        ErrorCode::InvalidArgument,
        Some("page.cursor"),
    );
    app.stop().await;
}

#[tokio::test]
async fn get_restaurant_returns_it_and_an_unknown_id_is_not_found() {
    let (mut app, _dir) = spawn_app().await;

    let bouchon = app
        .client
        .get_restaurant(GetRestaurantRequest {
            id: "le-bouchon-des-halles".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let unknown = app
        .client
        .get_restaurant(GetRestaurantRequest { id: "nope".into() })
        .await
        .unwrap_err();
    let empty = app
        .client
        .get_restaurant(GetRestaurantRequest { id: String::new() })
        .await
        .unwrap_err();

    assert_eq!(bouchon.name, "Le Bouchon des Halles");
    assert_eq!(bouchon.cuisine, "french");
    assert!(bouchon.open);
    assert!(!bouchon.tags.is_empty());
    assert_refused(&unknown, Code::NotFound, ErrorCode::NotFound, None);
    let (_, details) = food_kit::grpc::error_code(&unknown);
    assert_eq!(details["id"], "nope");
    assert_refused(
        &empty,
        Code::InvalidArgument,
        ErrorCode::InvalidArgument,
        Some("id"),
    );
    app.stop().await;
}

#[tokio::test]
async fn a_paused_restaurant_is_hidden_by_open_only_until_it_resumes() {
    // Arrange
    let (mut app, _dir) = spawn_app().await;
    let open_only = || ListRestaurantsRequest {
        open_only: Some(true),
        ..Default::default()
    };

    // Act: pause
    let paused = app
        .client
        .set_restaurant_open(SetRestaurantOpenRequest {
            id: "sakura-sushi".into(),
            open: false,
        })
        .await
        .unwrap()
        .into_inner();

    // Assert
    assert_eq!(paused.id, "sakura-sushi");
    assert!(!paused.open, "the updated restaurant is returned");
    assert_eq!(paused.name, "Sakura Sushi", "the other fields are kept");
    let stored = app
        .client
        .get_restaurant(GetRestaurantRequest {
            id: "sakura-sushi".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stored, paused);
    let open = list(&mut app, open_only()).await;
    assert_eq!(open.len(), 9);
    assert!(!ids(&open).contains(&"sakura-sushi"));
    let everything = all_restaurants(&mut app.client).await;
    assert!(
        everything.contains(&paused),
        "still listed without open_only"
    );

    // Act: resume
    let resumed = app
        .client
        .set_restaurant_open(SetRestaurantOpenRequest {
            id: "sakura-sushi".into(),
            open: true,
        })
        .await
        .unwrap()
        .into_inner();

    // Assert
    assert!(resumed.open);
    assert_eq!(list(&mut app, open_only()).await.len(), 10);
    app.stop().await;
}

#[tokio::test]
async fn setting_an_unknown_restaurant_open_is_not_found_and_creates_nothing() {
    let (mut app, _dir) = spawn_app().await;
    let before = all_restaurants(&mut app.client).await;

    let status = app
        .client
        .set_restaurant_open(SetRestaurantOpenRequest {
            id: "ghost-kitchen".into(),
            open: false,
        })
        .await
        .unwrap_err();

    assert_refused(&status, Code::NotFound, ErrorCode::NotFound, None);
    let (_, details) = food_kit::grpc::error_code(&status);
    assert_eq!(details["id"], "ghost-kitchen");
    assert_eq!(all_restaurants(&mut app.client).await, before);
    app.stop().await;
}

#[tokio::test]
async fn the_menu_of_a_restaurant_holds_exactly_its_items() {
    // Arrange
    let (mut app, _dir) = spawn_app().await;
    let everything = all_items(&mut app.client).await;
    let restaurants = all_restaurants(&mut app.client).await;

    let mut seen = 0;
    for restaurant in &restaurants {
        // Act
        let menu = menu_of(&mut app.client, &restaurant.id).await;

        // Assert
        let expected: Vec<_> = everything
            .iter()
            .filter(|i| i.restaurant_id == restaurant.id)
            .cloned()
            .collect();
        assert!(
            menu.len() >= 5,
            "{} has {} items",
            restaurant.id,
            menu.len()
        );
        assert_eq!(menu, expected, "{}", restaurant.id);
        seen += menu.len();
    }
    assert_eq!(
        seen,
        everything.len(),
        "every item belongs to a listed restaurant"
    );
    let luca: Vec<_> = menu_of(&mut app.client, "trattoria-da-luca").await;
    let luca_ids: Vec<&str> = luca.iter().map(|i| i.id.as_str()).collect();
    assert!(luca_ids.contains(&"margherita") && luca_ids.contains(&"tiramisu"));
    app.stop().await;
}

#[tokio::test]
async fn the_restaurant_filter_combines_with_the_others() {
    let (mut app, _dir) = spawn_app().await;

    let desserts = app
        .client
        .list_items(ListItemsRequest {
            restaurant_id: Some("trattoria-da-luca".into()),
            category: Some("Desserts".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let vegan_thai = app
        .client
        .list_items(ListItemsRequest {
            restaurant_id: Some("bangkok-street".into()),
            query: Some("vegan".into()),
            available_only: Some(true),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();

    let dessert_ids: Vec<&str> = desserts.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(dessert_ids, ["panna-cotta", "tiramisu"]);
    assert!(!vegan_thai.items.is_empty());
    assert!(vegan_thai.items.iter().all(|i| {
        i.restaurant_id == "bangkok-street" && i.available && i.tags.iter().any(|t| t == "vegan")
    }));
    app.stop().await;
}

#[tokio::test]
async fn the_menu_of_an_unknown_restaurant_is_not_found_and_of_an_empty_one_is_empty() {
    // Arrange
    let (mut app, _dir) = spawn_app().await;
    app.client
        .import_items(ImportItemsRequest {
            restaurants: vec![new_restaurant("opening-soon")],
            items: Vec::new(),
        })
        .await
        .unwrap();

    // Act
    let unknown = app
        .client
        .list_items(ListItemsRequest {
            restaurant_id: Some("no-such-kitchen".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let empty = app
        .client
        .list_items(ListItemsRequest {
            restaurant_id: Some("opening-soon".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let nothing_matching = app
        .client
        .list_items(ListItemsRequest {
            restaurant_id: Some("trattoria-da-luca".into()),
            category: Some("sushi".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();

    // Assert
    assert_refused(&unknown, Code::NotFound, ErrorCode::NotFound, None);
    let (_, details) = food_kit::grpc::error_code(&unknown);
    assert_eq!(details["id"], "no-such-kitchen");
    assert!(empty.items.is_empty() && empty.next_cursor.is_none());
    assert!(nothing_matching.items.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn batch_get_items_returns_the_restaurants_of_the_found_items_once_each() {
    // Arrange
    let (mut app, _dir) = spawn_app().await;
    let wanted = ["margherita", "tiramisu", "pad-thai", "ghost"];

    // Act
    let response = app
        .client
        .batch_get_items(BatchGetItemsRequest {
            ids: wanted.iter().map(|s| (*s).to_owned()).collect(),
        })
        .await
        .unwrap()
        .into_inner();
    let only_missing = app
        .client
        .batch_get_items(BatchGetItemsRequest {
            ids: vec!["ghost".into()],
        })
        .await
        .unwrap()
        .into_inner();

    // Assert
    let mut restaurants = response.restaurants.clone();
    restaurants.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(ids(&restaurants), ["bangkok-street", "trattoria-da-luca"]);
    for restaurant in &restaurants {
        let stored = app
            .client
            .get_restaurant(GetRestaurantRequest {
                id: restaurant.id.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(restaurant, &stored, "whole restaurants");
    }
    for item in &response.items {
        assert!(
            restaurants.iter().any(|r| r.id == item.restaurant_id),
            "{}",
            item.id
        );
    }
    assert!(only_missing.restaurants.is_empty());
    app.stop().await;
}
