//! What operators and generic clients rely on: health, reflection, restarts.

use food_menu::{Settings, settings::SeedMode};
use food_proto::menu::v1::{GetItemRequest, ImportItemsRequest};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};

use crate::helpers::{all_items, new_item, spawn_app, spawn_app_with, sqlite_settings};

#[tokio::test]
async fn health_reports_the_menu_service_and_the_server_as_serving() {
    // Arrange
    let (app, _dir) = spawn_app().await;
    let mut health = HealthClient::new(app.channel().await);

    // Act
    let service = health
        .check(HealthCheckRequest {
            service: "food.menu.v1.MenuService".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let server = health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();

    // Assert
    assert_eq!(service.status(), ServingStatus::Serving);
    assert_eq!(server.status(), ServingStatus::Serving);
    app.stop().await;
}

#[tokio::test]
async fn reflection_lists_the_menu_service() {
    // Arrange
    let (app, _dir) = spawn_app().await;
    let mut reflection = ServerReflectionClient::new(app.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };

    // Act
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.message().await.unwrap().expect("one response");

    // Assert
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection response {response:?}");
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"food.menu.v1.MenuService"), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");
    app.stop().await;
}

#[tokio::test]
async fn data_survives_a_restart_on_the_same_file_and_is_not_reseeded() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let mut first = spawn_app_with(sqlite_settings(dir.path())).await;
    let mut margherita = first
        .client
        .get_item(GetItemRequest {
            id: "margherita".into(),
        })
        .await
        .unwrap()
        .into_inner();
    margherita.price_cents = 4242;
    first
        .client
        .import_items(ImportItemsRequest {
            restaurants: Vec::new(),
            items: vec![margherita.clone(), new_item("kept-after-restart")],
        })
        .await
        .unwrap();
    let before = all_items(&mut first.client).await;
    first.stop().await;

    // Act
    let mut second = spawn_app_with(sqlite_settings(dir.path())).await;
    let after = all_items(&mut second.client).await;

    // Assert
    assert_eq!(after, before);
    assert!(after.iter().any(|i| i.id == "kept-after-restart"));
    assert_eq!(
        after
            .iter()
            .find(|i| i.id == "margherita")
            .unwrap()
            .price_cents,
        4242,
        "the seed does not overwrite edits"
    );
    second.stop().await;
}

#[tokio::test]
async fn with_seeding_off_a_fresh_menu_is_empty() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        seed: SeedMode::Off,
        ..sqlite_settings(dir.path())
    };

    // Act
    let mut app = spawn_app_with(settings).await;

    // Assert
    assert!(all_items(&mut app.client).await.is_empty());
    app.stop().await;
}
