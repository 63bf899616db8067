//! GetItem and BatchGetItems.

use food_api::ErrorCode;
use food_proto::menu::v1::{BatchGetItemsRequest, GetItemRequest};
use tonic::Code;

use crate::helpers::{assert_refused, spawn_app};

#[tokio::test]
async fn get_item_returns_the_whole_item() {
    // Arrange
    let (mut app, _dir) = spawn_app().await;

    // Act
    let item = app
        .client
        .get_item(GetItemRequest {
            id: "margherita".into(),
        })
        .await
        .unwrap()
        .into_inner();

    // Assert
    assert_eq!(item.id, "margherita");
    assert_eq!(item.name, "Margherita");
    assert_eq!(item.category, "pizza");
    assert_eq!(item.currency, "EUR");
    assert!(item.available);
    assert!(item.prep_minutes > 0);
    assert!(item.tags.contains(&"vegetarian".to_owned()));
    assert!(!item.description.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn get_item_of_an_unknown_id_is_not_found_with_a_machine_code() {
    // Arrange
    let (mut app, _dir) = spawn_app().await;

    // Act
    let status = app
        .client
        .get_item(GetItemRequest {
            id: "no-such-dish".into(),
        })
        .await
        .unwrap_err();

    // Assert
    assert_refused(&status, Code::NotFound, ErrorCode::NotFound, None);
    let (_, details) = food_kit::grpc::error_code(&status);
    assert_eq!(details["id"], "no-such-dish");
    app.stop().await;
}

#[tokio::test]
async fn get_item_with_an_empty_id_is_an_invalid_argument() {
    let (mut app, _dir) = spawn_app().await;

    let status = app
        .client
        .get_item(GetItemRequest { id: String::new() })
        .await
        .unwrap_err();

    assert_refused(
        &status,
        Code::InvalidArgument,
        ErrorCode::InvalidArgument,
        Some("id"),
    );
    app.stop().await;
}

#[tokio::test]
async fn batch_get_items_returns_found_items_and_missing_ids_once_each() {
    // Arrange
    let (mut app, _dir) = spawn_app().await;
    let ids = [
        "margherita",
        "ghost",
        "pad-thai",
        "margherita",
        "ghost",
        "salmon-sashimi",
    ];

    // Act
    let response = app
        .client
        .batch_get_items(BatchGetItemsRequest {
            ids: ids.iter().map(|s| (*s).to_owned()).collect(),
        })
        .await
        .unwrap()
        .into_inner();

    // Assert
    let mut found: Vec<_> = response.items.iter().map(|i| i.id.as_str()).collect();
    found.sort();
    assert_eq!(found, ["margherita", "pad-thai", "salmon-sashimi"]);
    assert_eq!(response.missing_ids, ["ghost"]);
    let sashimi = response
        .items
        .iter()
        .find(|i| i.id == "salmon-sashimi")
        .unwrap();
    assert!(
        !sashimi.available,
        "unavailable items are returned with available = false"
    );
    app.stop().await;
}

#[tokio::test]
async fn batch_get_items_with_no_ids_returns_nothing() {
    let (mut app, _dir) = spawn_app().await;

    let response = app
        .client
        .batch_get_items(BatchGetItemsRequest { ids: vec![] })
        .await
        .unwrap()
        .into_inner();

    assert!(response.items.is_empty() && response.missing_ids.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn batch_get_items_accepts_1000_ids_and_refuses_more() {
    // Arrange
    let (mut app, _dir) = spawn_app().await;
    let ids = |n: usize| (0..n).map(|i| format!("item-{i}")).collect::<Vec<_>>();

    // Act
    let thousand = app
        .client
        .batch_get_items(BatchGetItemsRequest { ids: ids(1000) })
        .await
        .unwrap()
        .into_inner();
    let too_many = app
        .client
        .batch_get_items(BatchGetItemsRequest { ids: ids(1001) })
        .await
        .unwrap_err();

    // Assert
    assert_eq!(thousand.missing_ids.len(), 1000);
    assert_refused(
        &too_many,
        Code::InvalidArgument,
        ErrorCode::InvalidArgument,
        Some("ids"),
    );
    app.stop().await;
}
