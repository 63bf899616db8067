//! Starts the menu `Application` on a free port with its own SQLite file (or
//! PostgreSQL schema) and hands back a connected client.

use std::{net::SocketAddr, path::Path, time::Duration};

use food_api::ErrorCode;
use food_kit::Shutdown;
use food_menu::{Application, Settings};
use food_proto::{
    common::v1::PageRequest,
    menu::v1::{
        Item, ListItemsRequest, ListRestaurantsRequest, Restaurant,
        menu_service_client::MenuServiceClient,
    },
};
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tonic::{Code, Status, transport::Channel};

/// A running menu service and a client for it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: MenuServiceClient<Channel>,
    shutdown: Shutdown,
    server: JoinHandle<anyhow::Result<()>>,
}

impl TestApp {
    /// Stops the server and waits until it has drained and closed its database.
    pub async fn stop(self) {
        self.shutdown.trigger();
        tokio::time::timeout(Duration::from_secs(10), self.server)
            .await
            .expect("the server stops within 10 s")
            .expect("the server task does not panic")
            .expect("the server stops cleanly");
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect()
            .await
            .expect("connecting to the menu service")
    }
}

/// Settings for a service on a free port whose SQLite file lives in `dir`.
pub fn sqlite_settings(dir: &Path) -> Settings {
    let mut settings = Settings::default();
    settings.service.listen = "127.0.0.1:0".parse().unwrap();
    settings.service.data_dir = dir.to_path_buf();
    settings.service.database_url = format!("sqlite://{}", dir.join("menu.db").display());
    settings
}

/// A seeded service on a fresh SQLite file; keep the `TempDir` alive as long as the app.
pub async fn spawn_app() -> (TestApp, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_with(sqlite_settings(dir.path())).await;
    (app, dir)
}

pub async fn spawn_app_with(settings: Settings) -> TestApp {
    food_kit::telemetry::init_for_tests();
    let shutdown = Shutdown::new();
    let app = Application::build(settings, shutdown.clone())
        .await
        .expect("building the menu application");
    let addr = app.local_addr();
    let server = tokio::spawn(app.run_until_stopped());
    let client = MenuServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("connecting to the menu service");
    TestApp {
        addr,
        client,
        shutdown,
        server,
    }
}

/// Walks every page of `request` with pages of `limit`, returning all items
/// and how many pages it took.
pub async fn list_all(
    client: &mut MenuServiceClient<Channel>,
    mut request: ListItemsRequest,
    limit: u32,
) -> (Vec<Item>, usize) {
    let mut items = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        request.page = Some(PageRequest {
            limit,
            cursor: cursor.clone(),
        });
        let page = client
            .list_items(request.clone())
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        assert!(
            page.items.len() <= limit as usize,
            "a page never exceeds its limit"
        );
        items.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = next,
            None => return (items, pages),
        }
        assert!(pages < 10_000, "pagination terminates");
    }
}

/// Every item on the menu, in listing order.
pub async fn all_items(client: &mut MenuServiceClient<Channel>) -> Vec<Item> {
    list_all(client, ListItemsRequest::default(), 1000).await.0
}

/// Walks every page of `request` with pages of `limit`, returning all
/// restaurants and how many pages it took.
pub async fn list_all_restaurants(
    client: &mut MenuServiceClient<Channel>,
    mut request: ListRestaurantsRequest,
    limit: u32,
) -> (Vec<Restaurant>, usize) {
    let mut restaurants = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        request.page = Some(PageRequest {
            limit,
            cursor: cursor.clone(),
        });
        let page = client
            .list_restaurants(request.clone())
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        assert!(
            page.restaurants.len() <= limit as usize,
            "a page never exceeds its limit"
        );
        restaurants.extend(page.restaurants);
        match page.next_cursor {
            Some(next) => cursor = next,
            None => return (restaurants, pages),
        }
        assert!(pages < 10_000, "pagination terminates");
    }
}

/// Every restaurant, in listing order.
pub async fn all_restaurants(client: &mut MenuServiceClient<Channel>) -> Vec<Restaurant> {
    list_all_restaurants(client, ListRestaurantsRequest::default(), 1000)
        .await
        .0
}

/// The items of one restaurant, in listing order.
pub async fn menu_of(client: &mut MenuServiceClient<Channel>, restaurant_id: &str) -> Vec<Item> {
    let request = ListItemsRequest {
        restaurant_id: Some(restaurant_id.to_owned()),
        ..Default::default()
    };
    list_all(client, request, 1000).await.0
}

/// A valid restaurant that is not in the seed.
pub fn new_restaurant(id: &str) -> Restaurant {
    Restaurant {
        id: id.to_owned(),
        name: format!("Test {id}"),
        cuisine: "korean".to_owned(),
        address: "3 Rue de la Barre, 69002 Lyon".to_owned(),
        open: true,
        tags: vec!["bibimbap".to_owned()],
        auto_accept: true,
        acceptance_timeout_s: 300,
    }
}

/// A seed restaurant that the test items of [`new_item`] belong to.
pub const TEST_RESTAURANT: &str = "green-bowl";

/// A valid item that is not on the seed menu, of [`TEST_RESTAURANT`].
pub fn new_item(id: &str) -> Item {
    Item {
        restaurant_id: TEST_RESTAURANT.to_owned(),
        id: id.to_owned(),
        name: format!("Test {id}"),
        description: "Made for a test".to_owned(),
        category: "specials".to_owned(),
        price_cents: 999,
        currency: "EUR".to_owned(),
        available: true,
        prep_minutes: 10,
        tags: vec!["vegetarian".to_owned()],
    }
}

/// Asserts a gRPC error with the given code, machine code and `field` detail.
pub fn assert_refused(status: &Status, code: Code, machine: ErrorCode, field: Option<&str>) {
    assert_eq!(status.code(), code, "{status:?}");
    let (got, details) = food_kit::grpc::error_code(status);
    assert_eq!(got, machine, "{status:?}");
    if let Some(field) = field {
        assert_eq!(
            details.get("field").map(String::as_str),
            Some(field),
            "{status:?}"
        );
    }
}
