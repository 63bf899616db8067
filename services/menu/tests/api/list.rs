//! ListItems: the seed, filters and pagination.

use std::collections::HashSet;

use food_api::ErrorCode;
use food_proto::{common::v1::PageRequest, menu::v1::ListItemsRequest};
use tonic::Code;

use crate::helpers::{all_items, assert_refused, list_all, spawn_app};

#[tokio::test]
async fn a_fresh_service_is_seeded_with_at_least_40_items_in_6_categories() {
    // Arrange
    let (mut app, _dir) = spawn_app().await;

    // Act
    let items = all_items(&mut app.client).await;

    // Assert
    let categories: HashSet<_> = items.iter().map(|i| i.category.clone()).collect();
    assert!(items.len() >= 40, "{} items", items.len());
    assert!(categories.len() >= 6, "{categories:?}");
    assert!(
        items.iter().any(|i| !i.available),
        "some seed items are unavailable"
    );
    let margherita = items.iter().find(|i| i.id == "margherita").unwrap();
    assert_eq!(margherita.currency, "EUR");
    assert!(margherita.price_cents > 0);
    app.stop().await;
}

#[tokio::test]
async fn the_category_filter_is_exact_and_case_insensitive() {
    // Arrange
    let (mut app, _dir) = spawn_app().await;
    let request = |category: &str| ListItemsRequest {
        restaurant_id: None,
        category: Some(category.to_owned()),
        ..Default::default()
    };

    // Act
    let (pizzas, _) = list_all(&mut app.client, request("PiZZa"), 1000).await;
    let (partial, _) = list_all(&mut app.client, request("pizz"), 1000).await;

    // Assert
    assert!(pizzas.len() >= 5, "{} pizzas", pizzas.len());
    assert!(pizzas.iter().all(|i| i.category == "pizza"));
    assert!(partial.is_empty(), "a category prefix matches nothing");
    app.stop().await;
}

#[tokio::test]
async fn available_only_hides_unavailable_items() {
    // Arrange
    let (mut app, _dir) = spawn_app().await;
    let everything = all_items(&mut app.client).await;

    // Act
    let request = ListItemsRequest {
        restaurant_id: None,
        available_only: Some(true),
        ..Default::default()
    };
    let (available, _) = list_all(&mut app.client, request, 1000).await;

    // Assert
    let unavailable = everything.iter().filter(|i| !i.available).count();
    assert!(unavailable > 0);
    assert!(available.iter().all(|i| i.available));
    assert_eq!(available.len(), everything.len() - unavailable);
    app.stop().await;
}

#[tokio::test]
async fn the_query_matches_name_description_and_tags_case_insensitively() {
    // Arrange
    let (mut app, _dir) = spawn_app().await;
    let search = |q: &str| ListItemsRequest {
        restaurant_id: None,
        query: Some(q.to_owned()),
        ..Default::default()
    };

    // Act
    let (by_name, _) = list_all(&mut app.client, search("MARGHERITA"), 1000).await;
    let (by_description, _) = list_all(&mut app.client, search("mozzarella"), 1000).await;
    let (by_tag, _) = list_all(&mut app.client, search("Gluten-Free"), 1000).await;
    let (nothing, _) = list_all(&mut app.client, search("no such dish anywhere"), 1000).await;
    let (wildcard, _) = list_all(&mut app.client, search("%"), 1000).await;

    // Assert
    assert!(by_name.iter().any(|i| i.id == "margherita"));
    assert!(
        by_name
            .iter()
            .all(|i| i.name.to_lowercase().contains("margherita"))
    );
    assert!(by_description.len() >= 2);
    assert!(
        by_description
            .iter()
            .all(|i| i.description.to_lowercase().contains("mozzarella"))
    );
    assert!(by_tag.len() >= 5);
    assert!(
        by_tag
            .iter()
            .all(|i| i.tags.iter().any(|t| t == "gluten-free")
                || i.name.to_lowercase().contains("gluten-free")
                || i.description.to_lowercase().contains("gluten-free"))
    );
    assert!(nothing.is_empty());
    assert!(
        wildcard
            .iter()
            .all(|i| format!("{}{}", i.name, i.description).contains('%'))
    );
    app.stop().await;
}

#[tokio::test]
async fn filters_combine() {
    // Arrange
    let (mut app, _dir) = spawn_app().await;
    let request = ListItemsRequest {
        restaurant_id: None,
        category: Some("drinks".into()),
        available_only: Some(true),
        query: Some("vegan".into()),
        page: None,
    };

    // Act
    let (items, _) = list_all(&mut app.client, request, 1000).await;

    // Assert
    assert!(!items.is_empty());
    assert!(items.iter().all(|i| i.category == "drinks" && i.available));
    assert!(items.iter().all(|i| i.tags.iter().any(|t| t == "vegan")));
    assert!(
        !items.iter().any(|i| i.id == "craft-ipa"),
        "unavailable drinks are hidden"
    );
    app.stop().await;
}

#[tokio::test]
async fn walking_every_page_sees_each_item_exactly_once_in_order() {
    // Arrange
    let (mut app, _dir) = spawn_app().await;
    let everything = all_items(&mut app.client).await;

    // Act
    let (paged, pages) = list_all(&mut app.client, ListItemsRequest::default(), 7).await;

    // Assert
    let ids: Vec<_> = paged.iter().map(|i| i.id.clone()).collect();
    let unique: HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "no duplicates");
    assert_eq!(paged, everything, "same items, same order as one big page");
    assert_eq!(pages, everything.len().div_ceil(7));
    let keys: Vec<_> = paged
        .iter()
        .map(|i| (i.category.clone(), i.name.clone(), i.id.clone()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "ordered by category, name, id");
    app.stop().await;
}

#[tokio::test]
async fn pagination_keeps_the_filters() {
    // Arrange
    let (mut app, _dir) = spawn_app().await;
    let request = ListItemsRequest {
        restaurant_id: None,
        available_only: Some(true),
        ..Default::default()
    };
    let (one_page, _) = list_all(&mut app.client, request.clone(), 1000).await;

    // Act
    let (paged, pages) = list_all(&mut app.client, request, 5).await;

    // Assert
    assert_eq!(paged, one_page);
    assert!(pages > 1);
    app.stop().await;
}

#[tokio::test]
async fn limit_zero_means_a_page_of_50() {
    // Arrange
    let (mut app, _dir) = spawn_app().await;
    let total = all_items(&mut app.client).await.len();
    assert!(total > 50, "the seed is larger than one default page");

    // Act
    let page = app
        .client
        .list_items(ListItemsRequest::default())
        .await
        .unwrap()
        .into_inner();

    // Assert
    assert_eq!(page.items.len(), 50);
    assert!(page.next_cursor.is_some());
    app.stop().await;
}

#[tokio::test]
async fn a_limit_above_1000_and_a_forged_cursor_are_invalid_arguments() {
    // Arrange
    let (mut app, _dir) = spawn_app().await;
    let with_page = |limit: u32, cursor: &str| ListItemsRequest {
        restaurant_id: None,
        page: Some(PageRequest {
            limit,
            cursor: cursor.to_owned(),
        }),
        ..Default::default()
    };

    // Act
    let too_big = app
        .client
        .list_items(with_page(1001, ""))
        .await
        .unwrap_err();
    let forged = app
        .client
        .list_items(with_page(10, "margherita"))
        .await
        .unwrap_err();
    let max = app.client.list_items(with_page(1000, "")).await;

    // Assert
    assert_refused(
        &too_big,
        Code::InvalidArgument,
        ErrorCode::InvalidArgument,
        Some("page.limit"),
    );
    assert_refused(
        &forged,
        Code::InvalidArgument,
        ErrorCode::InvalidArgument,
        Some("page.cursor"),
    );
    assert!(max.is_ok());
    app.stop().await;
}
