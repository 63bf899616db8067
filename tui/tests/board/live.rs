//! The board follows the platform live.

use std::time::Duration;

use food_api::DeliveryStatus;
use food_board::{
    app::{App, Conn, DataEvent, Options},
    config::Scope,
    ui,
};

use crate::helpers::{Board, KITCHEN, KitchenScreen, spawn_stack, spawn_stack_with_durable_broker};

const PATIENCE: Duration = Duration::from_secs(20);
/// How long a change may take to reach the board once it happened.
const LIVE: Duration = Duration::from_secs(5);

fn status_of(board: &Board, order_id: &str) -> Option<DeliveryStatus> {
    board.app.delivery(order_id).map(|d| d.status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_put_through_the_gateway_reaches_the_board_via_kafka() {
    // Arrange: an order placed before the board starts is in its snapshot.
    let stack = spawn_stack().await;
    let before = stack.create_order().await;
    let gw = stack.gateway();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while gw
        .snapshot(&Scope::default())
        .await
        .unwrap()
        .iter()
        .all(|d| d.order_id != before)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "delivery-service never created {before}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut board = Board::start(stack.kafka_feed(), stack.gateway());
    assert!(
        board.until(PATIENCE, |app| app.conn() == &Conn::Live).await,
        "the board never went live"
    );
    assert_eq!(status_of(&board, &before), Some(DeliveryStatus::Pending));

    // Act: a new order, then a status change, both through the gateway.
    let order_id = stack.create_order().await;
    let arrived = board
        .until(PATIENCE, |app| app.delivery(&order_id).is_some())
        .await;
    assert!(arrived, "the new delivery never reached the board");
    stack.put_status(&order_id, "ASSIGNED").await;

    // Assert: the board shows the change, from Kafka, within seconds.
    let moved = board
        .until(LIVE, |app| {
            app.delivery(&order_id).is_some_and(|d| {
                d.status == DeliveryStatus::Assigned
                    && d.courier.as_deref() == Some("courier-1")
                    && d.courier_name.as_deref() == Some("Camille Martin")
            })
        })
        .await;
    assert!(
        moved,
        "the PUT never reached the board: {:?}",
        board.app.delivery(&order_id)
    );
    assert!(
        board.app.live_events() >= 2,
        "changes came from the live feed"
    );
    assert_eq!(board.app.count(DeliveryStatus::Assigned), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_put_reaches_the_board_via_the_gateway_event_stream() {
    // Arrange
    let stack = spawn_stack().await;
    let mut board = Board::start(food_board::config::Feed::Sse, stack.gateway());
    assert!(
        board.until(PATIENCE, |app| app.conn() == &Conn::Live).await,
        "the board never went live"
    );

    // Act
    let order_id = stack.create_order().await;
    assert!(
        board
            .until(PATIENCE, |app| app.delivery(&order_id).is_some())
            .await,
        "the new delivery never reached the board"
    );
    stack.put_status(&order_id, "ASSIGNED").await;

    // Assert
    let moved = board
        .until(LIVE, |app| {
            status_of_app(app, &order_id) == Some(DeliveryStatus::Assigned)
        })
        .await;
    assert!(
        moved,
        "the PUT never reached the board: {:?}",
        board.app.delivery(&order_id)
    );
}

fn status_of_app(app: &food_board::app::App, order_id: &str) -> Option<DeliveryStatus> {
    app.delivery(order_id).map(|d| d.status)
}

// This test found a crash in librdkafka when the broker comes back (fixed in
// vendor/rdkafka-sys, see FOOD-PATCH.md there).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_board_goes_stale_without_its_broker_and_resyncs_when_it_returns() {
    // Arrange: a live board with one delivery on it.
    let mut stack = spawn_stack_with_durable_broker().await;
    let mut board = Board::start(stack.kafka_feed(), stack.gateway());
    assert!(board.until(PATIENCE, |app| app.conn() == &Conn::Live).await);
    let order_id = stack.create_order().await;
    assert!(
        board
            .until(PATIENCE, |app| app.delivery(&order_id).is_some())
            .await
    );

    // Act: the broker goes away.
    stack.stop_order_service().await;
    stack.stop_broker().await;

    // Assert: stale, with the last board kept.
    let stale = board
        .until(PATIENCE, |app| matches!(app.conn(), Conn::Stale { .. }))
        .await;
    assert!(stale, "the board never noticed: {:?}", board.app.conn());
    assert!(board.app.delivery(&order_id).is_some());

    // Act: a change made while the broker is away, then the broker returns.
    stack.put_status(&order_id, "ASSIGNED").await;
    stack.restart_broker().await;

    // Assert: live again, and the resync brought the change in.
    let back = board
        .until(Duration::from_secs(30), |app| {
            app.conn() == &Conn::Live
                && status_of_app(app, &order_id) == Some(DeliveryStatus::Assigned)
        })
        .await;
    assert!(
        back,
        "no resync: {:?} {:?}",
        board.app.conn(),
        board.app.delivery(&order_id)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_without_a_broker_says_so_and_keeps_retrying() {
    // Arrange: nothing listens on the broker or gateway address.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let feed = food_board::config::Feed::Kafka {
        brokers: format!("127.0.0.1:{port}"),
        topic: "nowhere.food.deliveries.v1".into(),
    };
    let gateway =
        food_board::data::Gateway::new(&format!("http://127.0.0.1:{port}"), None).unwrap();

    // Act
    let mut board = Board::start(feed, gateway);

    // Assert
    let retrying = board
        .until(
            PATIENCE,
            |app| matches!(app.conn(), Conn::Stale { attempt, .. } if *attempt >= 1),
        )
        .await;
    assert!(retrying, "{:?}", board.app.conn());
    assert!(board.app.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restaurant_board_shows_that_restaurants_deliveries_only() {
    // Arrange: one order of each of two restaurants before the board
    // starts, so the snapshot has both to choose from.
    let stack = spawn_stack().await;
    let early_luca = stack.create_order_at("trattoria-da-luca").await;
    let early_sushi = stack.create_order_at("sakura-sushi").await;
    let gw = stack.gateway();
    let scope = Scope::restaurant("trattoria-da-luca");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while gw.snapshot(&Scope::default()).await.unwrap().len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "delivery-service never created both deliveries"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut board = Board::start_scoped(stack.kafka_feed(), scope.clone(), stack.gateway());
    assert!(
        board.until(PATIENCE, |app| app.conn() == &Conn::Live).await,
        "the board never went live"
    );

    // Act: new orders of both, and a change to each, through the gateway.
    let sushi = stack.create_order_at("sakura-sushi").await;
    let luca = stack.create_order_at("trattoria-da-luca").await;
    assert!(
        board
            .until(PATIENCE, |app| app.delivery(&luca).is_some())
            .await,
        "the restaurant's new delivery never reached the board"
    );
    stack.put_status(&sushi, "ASSIGNED").await;
    stack.put_status(&luca, "ASSIGNED").await;
    let moved = board
        .until(LIVE, |app| {
            status_of_app(app, &luca) == Some(DeliveryStatus::Assigned)
        })
        .await;

    // The other restaurant's events are on other partitions: give them
    // time to arrive (and be dropped) too.
    board.until(Duration::from_secs(1), |_| false).await;

    // Assert: the other restaurant's deliveries never showed.
    assert!(moved, "{:?}", board.app.delivery(&luca));
    assert!(board.app.delivery(&early_luca).is_some(), "in the snapshot");
    assert!(board.app.delivery(&early_sushi).is_none());
    assert!(board.app.delivery(&sushi).is_none());
    assert_eq!(board.app.len(), 2);
    let d = board.app.delivery(&luca).unwrap();
    assert_eq!(d.restaurant_name.as_deref(), Some("Trattoria da Luca"));
    assert!(d.pickup_address.as_deref().is_some_and(|a| !a.is_empty()));

    // And `--snapshot --restaurant` draws the same board from the gateway,
    // headed by the restaurant's name; a typo in the id stops it.
    let name = food_board::event::restaurant_name(&gw, "trattoria-da-luca")
        .await
        .unwrap();
    assert_eq!(name, "Trattoria da Luca");
    let typo = food_board::event::restaurant_name(&gw, "trattoria-da-lucca")
        .await
        .unwrap_err();
    assert!(
        typo.to_string()
            .contains("no restaurant `trattoria-da-lucca`"),
        "{typo}"
    );
    let snapshot = gw.snapshot(&scope).await.unwrap();
    assert_eq!(snapshot.len(), 2, "{snapshot:?}");
    let mut app = App::new(
        Options {
            restaurant: Some(name),
            ..Options::default()
        },
        chrono::Utc::now(),
    );
    app.on_data(DataEvent::Snapshot(snapshot));
    let text = ui::render_to_text(&app, 120, 16);
    assert!(text.contains("Trattoria da Luca"), "{text}");
    assert!(!text.contains("Sakura Sushi"), "{text}");
    assert!(text.contains(&luca[luca.len() - 8..]), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_kitchen_sees_its_orders_live_and_moves_them_with_its_keys() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use food_api::OrderStatus;
    let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);

    // Arrange: an order of the kitchen before the screen starts (the
    // snapshot), and the screen with the restaurant's own key.
    let stack = spawn_stack().await;
    let early = stack.create_order_at(KITCHEN).await;
    let mut screen = KitchenScreen::start(stack.kitchen_feed(), KITCHEN, stack.kitchen_gateway());
    assert!(
        screen
            .until(PATIENCE, |k| k.conn() == &Conn::Live
                && k.order(&early).is_some())
            .await,
        "the snapshot never showed {early}: {:?}",
        screen.kitchen.conn()
    );

    // Act: a new order of the kitchen and one of another restaurant.
    let other = stack.create_order_at("trattoria-da-luca").await;
    let fresh = stack.create_order_at(KITCHEN).await;
    assert!(
        screen.until(LIVE, |k| k.order(&fresh).is_some()).await,
        "the new order never reached the kitchen"
    );
    assert_eq!(
        screen.kitchen.order(&fresh).unwrap().status,
        OrderStatus::Placed
    );

    // Accept it with a typed prep time.
    assert!(screen.kitchen.select(&fresh));
    screen.press(key('a'));
    for _ in 0..3 {
        screen.press(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE));
    }
    screen.press(key('2'));
    screen.press(key('5'));
    screen.press(enter);
    let accepted = screen
        .until(LIVE, |k| {
            k.order(&fresh)
                .is_some_and(|o| o.status == OrderStatus::Preparing && o.ready_by.is_some())
        })
        .await;
    assert!(accepted, "{:?}", screen.kitchen.status_line());
    let left = screen
        .kitchen
        .countdown(screen.kitchen.order(&fresh).unwrap())
        .unwrap();
    assert!(
        (24..=25).contains(&left.num_minutes()),
        "25 minutes to prepare, {left} left"
    );

    // Ready it; reject the early one.
    assert!(screen.kitchen.select(&fresh));
    screen.press(key('r'));
    assert!(screen.kitchen.select(&early));
    screen.press(key('x'));
    for c in "no lamb".chars() {
        screen.press(key(c));
    }
    screen.press(enter);

    // Assert: ready in its lane; the rejected one gone; the other
    // restaurant's never shown.
    let done = screen
        .until(LIVE, |k| {
            k.order(&fresh)
                .is_some_and(|o| o.status == OrderStatus::ReadyForPickup)
                && k.order(&early).is_none()
        })
        .await;
    assert!(done, "{:?}", screen.kitchen.status_line());
    assert!(screen.kitchen.order(&other).is_none());
    assert_eq!(screen.kitchen.len(), 1);
    let text = food_board::kitchen::ui::render_to_text(&screen.kitchen, 120, 16);
    assert!(text.contains("READY_FOR_PICKUP 1"), "{text}");
    assert!(text.contains(&fresh[fresh.len() - 8..]), "{text}");
}
