//! The fixtures the board's unit tests share, and the tests of [`App`] as a
//! whole: keys, data and messages through its public API.

use chrono::{TimeDelta, TimeZone};
use crossterm::event::{KeyCode, KeyModifiers};
use food_api::HistoryEntry;

use super::*;

pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 14, 12, 0, 0).unwrap()
}

/// The fixtures' restaurants: (id, name, address).
pub(crate) const RESTAURANTS: [(&str, &str, &str); 3] = [
    (
        "trattoria-da-luca",
        "Trattoria da Luca",
        "12 Rue Mercière, 69002 Lyon",
    ),
    ("sakura-sushi", "Sakura Sushi", "5 Rue Royale, 69001 Lyon"),
    (
        "bangkok-street",
        "Bangkok Street",
        "40 Cours Gambetta, 69007 Lyon",
    ),
];

/// A delivery with a fixed id (`0190f3b2-...-0000000000NN`) that entered
/// `status` `minutes_ago` before [`t0`]; from one of [`RESTAURANTS`], or
/// (every sixth) from before restaurants existed.
pub(crate) fn delivery(n: u32, status: DeliveryStatus, version: u64, minutes_ago: i64) -> Delivery {
    let at = t0() - TimeDelta::minutes(minutes_ago);
    let created = at - TimeDelta::minutes(5);
    let restaurant = (!n.is_multiple_of(6)).then(|| RESTAURANTS[n as usize % 3]);
    Delivery {
        courier_name: None,
        restaurant_id: restaurant.map(|r| r.0.to_owned()),
        restaurant_name: restaurant.map(|r| r.1.to_owned()),
        pickup_address: restaurant.map(|r| r.2.to_owned()),
        order_id: format!("0190f3b2-7c1e-7d2a-9f00-{n:012}"),
        customer_id: format!("cust-{:02}", n % 7),
        item_count: n % 4 + 1,
        total_cents: 1000 + i64::from(n) * 137,
        currency: "EUR".into(),
        delivery_address: format!("{n} Main Street"),
        status,
        courier: (status != DeliveryStatus::Pending).then(|| format!("courier-{}", n % 3)),
        eta: None,
        version,
        created_at: created,
        updated_at: at,
        history: vec![
            HistoryEntry {
                status: DeliveryStatus::Pending,
                at: created,
                note: None,
                courier: None,
            },
            HistoryEntry {
                status,
                at,
                note: None,
                courier: None,
            },
        ],
    }
}

pub(crate) fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

pub(crate) fn code(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn app() -> App {
    App::new(Options::default(), t0())
}

fn ids(app: &App, lane: usize) -> Vec<String> {
    app.view().lanes[lane]
        .ids
        .iter()
        .map(|s| short_id(s).to_owned())
        .collect()
}

#[test]
fn out_of_order_events_end_at_the_highest_version() {
    let mut app = app();
    let events = [
        delivery(1, DeliveryStatus::Assigned, 2, 3),
        delivery(1, DeliveryStatus::InTransit, 4, 1),
        delivery(1, DeliveryStatus::Pending, 1, 4),
        delivery(1, DeliveryStatus::PickedUp, 3, 2),
    ];

    for e in events {
        app.on_data(DataEvent::Changed(e));
    }

    assert_eq!(app.len(), 1);
    assert_eq!(app.count(DeliveryStatus::InTransit), 1);
    assert_eq!(app.count(DeliveryStatus::PickedUp), 0);
    assert_eq!(app.live_events(), 4);
}

#[test]
fn a_snapshot_racing_with_live_events_keeps_the_newest_of_each() {
    // Live events for orders 1 and 3 arrive while the snapshot is in
    // flight; the snapshot still has order 1's older version and misses 3.
    let mut app = app();
    app.on_data(DataEvent::Connecting { attempt: 0 });
    app.on_data(DataEvent::Changed(delivery(
        1,
        DeliveryStatus::PickedUp,
        3,
        1,
    )));
    app.on_data(DataEvent::Changed(delivery(
        3,
        DeliveryStatus::Pending,
        1,
        0,
    )));

    app.on_data(DataEvent::Snapshot(vec![
        delivery(1, DeliveryStatus::Assigned, 2, 2),
        delivery(2, DeliveryStatus::InTransit, 4, 5),
    ]));
    app.on_data(DataEvent::Changed(delivery(
        2,
        DeliveryStatus::InTransit,
        4,
        5,
    )));

    assert_eq!(app.conn(), &Conn::Live);
    assert_eq!(app.len(), 3);
    assert_eq!(app.count(DeliveryStatus::PickedUp), 1);
    assert_eq!(app.count(DeliveryStatus::Assigned), 0);
    assert_eq!(app.count(DeliveryStatus::InTransit), 1);
    assert_eq!(app.count(DeliveryStatus::Pending), 1);
}

#[test]
fn losing_the_feed_keeps_the_board_and_marks_it_stale_until_a_resync() {
    let mut app = app();
    app.on_data(DataEvent::Snapshot(vec![delivery(
        1,
        DeliveryStatus::Pending,
        1,
        0,
    )]));
    app.set_now(t0() + TimeDelta::seconds(30));

    app.on_data(DataEvent::Lost {
        error: "broker down".into(),
    });
    app.set_now(t0() + TimeDelta::seconds(40));
    app.on_data(DataEvent::Connecting { attempt: 2 });
    app.on_data(DataEvent::Lost {
        error: "still down".into(),
    });

    assert_eq!(
        app.conn(),
        &Conn::Stale {
            since: t0() + TimeDelta::seconds(30),
            attempt: 2,
            error: "still down".into()
        }
    );
    assert_eq!(app.len(), 1);

    app.on_data(DataEvent::Snapshot(vec![delivery(
        1,
        DeliveryStatus::Assigned,
        2,
        0,
    )]));
    assert_eq!(app.conn(), &Conn::Live);
    assert_eq!(app.count(DeliveryStatus::Assigned), 1);
}

#[test]
fn terminal_lanes_appear_and_disappear_with_t() {
    let mut app = app();
    app.apply(delivery(1, DeliveryStatus::Cancelled, 2, 1));
    app.apply(delivery(2, DeliveryStatus::Failed, 3, 1));
    app.apply(delivery(3, DeliveryStatus::Pending, 1, 1));
    assert_eq!(app.view().lanes.len(), 5);

    app.on_key(key('t'));
    let lanes = &app.view().lanes;
    assert_eq!(lanes.len(), 6);
    assert_eq!(lanes[5].kind, LaneKind::Terminal);
    assert_eq!(lanes[5].ids.len(), 2);

    // The cursor on the terminal lane falls back onto the board when it hides.
    for _ in 0..6 {
        app.on_key(key('l'));
    }
    assert_eq!(app.selection().0, 5);
    app.on_key(key('t'));
    assert_eq!(app.view().lanes.len(), 5);
    assert_eq!(app.selection().0, 4);
}

#[test]
fn a_cursor_that_fell_off_the_terminal_lane_stays_on_the_board() {
    let mut app = app();
    app.apply(delivery(1, DeliveryStatus::Cancelled, 2, 1));
    app.on_key(key('t'));
    for _ in 0..6 {
        app.on_key(key('l'));
    }
    // A frame is drawn after each key, as in the terminal.
    assert_eq!(app.selection().0, 5);

    app.on_key(key('t'));
    assert_eq!(app.selection().0, 4);
    app.on_data(DataEvent::Changed(delivery(
        2,
        DeliveryStatus::Pending,
        1,
        0,
    )));
    app.on_key(key('t'));

    assert_eq!(app.selection().0, 4, "where the user last saw it");
}

#[test]
fn the_filter_matches_id_customer_and_courier_case_insensitively() {
    let mut app = app();
    for n in 1..=9 {
        app.apply(delivery(n, DeliveryStatus::Assigned, 2, i64::from(n)));
    }
    app.on_key(key('/'));
    for c in "COURIER-1".chars() {
        app.on_key(key(c));
    }
    app.on_key(code(KeyCode::Enter));
    assert_eq!(ids(&app, 1), ["00000007", "00000004", "00000001"]);
    assert_eq!(app.view().lanes[1].total, 9);

    app.set_filter("cust-03");
    assert_eq!(ids(&app, 1), ["00000003"]);
    app.set_filter("00000008");
    assert_eq!(ids(&app, 1), ["00000008"]);

    app.on_key(code(KeyCode::Esc));
    assert_eq!(ids(&app, 1).len(), 9);
}

#[test]
fn the_filter_matches_restaurant_names_and_ids() {
    let mut app = app();
    for n in 1..=9 {
        app.apply(delivery(n, DeliveryStatus::Assigned, 2, i64::from(n)));
    }

    app.on_key(key('/'));
    for c in "sakura".chars() {
        app.on_key(key(c));
    }
    let by_name = ids(&app, 1);
    app.set_filter("bangkok-street");
    let by_id = ids(&app, 1);

    // 1, 4 and 7 are Sakura Sushi's; 2, 5 and 8 Bangkok Street's.
    assert_eq!(by_name, ["00000007", "00000004", "00000001"]);
    assert_eq!(by_id, ["00000008", "00000005", "00000002"]);
}

#[test]
fn sort_cycles_through_age_id_and_total() {
    let mut app = app();
    app.apply(delivery(2, DeliveryStatus::Pending, 1, 5));
    app.apply(delivery(1, DeliveryStatus::Pending, 1, 1));
    app.apply(delivery(3, DeliveryStatus::Pending, 1, 9));
    let mut small = delivery(4, DeliveryStatus::Pending, 1, 3);
    small.total_cents = 1;
    app.apply(small);

    assert_eq!(app.sort(), Sort::Age);
    assert_eq!(
        ids(&app, 0),
        ["00000003", "00000002", "00000004", "00000001"]
    );
    app.on_key(key('s'));
    assert_eq!(app.sort(), Sort::Id);
    assert_eq!(
        ids(&app, 0),
        ["00000001", "00000002", "00000003", "00000004"]
    );
    app.on_key(key('s'));
    assert_eq!(app.sort(), Sort::Total);
    assert_eq!(
        ids(&app, 0),
        ["00000003", "00000002", "00000001", "00000004"]
    );
    app.on_key(key('s'));
    assert_eq!(app.sort(), Sort::Age);
}

#[test]
fn the_cursor_stays_on_its_card_while_others_arrive() {
    let mut app = app();
    app.apply(delivery(1, DeliveryStatus::Pending, 1, 5));
    app.apply(delivery(2, DeliveryStatus::Pending, 1, 4));
    app.on_key(key('j'));
    assert_eq!(short_id(&app.selected().unwrap().order_id), "00000002");

    app.apply(delivery(3, DeliveryStatus::Pending, 1, 9));

    assert_eq!(short_id(&app.selected().unwrap().order_id), "00000002");
    assert_eq!(app.selection(), (0, Some(2)));
}

#[test]
fn advance_asks_the_state_machine_for_the_next_status_with_the_shown_version() {
    let mut app = app();
    let d = delivery(1, DeliveryStatus::PickedUp, 3, 1);
    app.apply(d.clone());
    app.on_key(key('l'));
    app.on_key(key('l'));

    let cmd = app.on_key(key('a'));

    assert_eq!(
        cmd,
        Some(Command::Update {
            order_id: d.order_id.clone(),
            body: UpdateDelivery {
                status: Some(DeliveryStatus::InTransit),
                version: Some(3),
                ..Default::default()
            }
        })
    );
}

#[test]
fn cancel_asks_for_confirmation_first() {
    let mut app = app();
    let d = delivery(1, DeliveryStatus::Pending, 1, 1);
    app.apply(d.clone());

    assert_eq!(app.on_key(key('x')), None);
    assert!(matches!(app.mode(), Mode::ConfirmCancel { .. }));
    let cmd = app.on_key(key('y'));

    assert!(matches!(
        cmd,
        Some(Command::Update {
            body: UpdateDelivery {
                status: Some(DeliveryStatus::Cancelled),
                ..
            },
            ..
        })
    ));
    assert_eq!(app.on_key(key('x')), None);
    assert_eq!(app.on_key(key('n')), None);
    assert_eq!(app.mode(), &Mode::Normal);
}

#[test]
fn the_courier_input_sends_the_typed_name_with_the_next_status() {
    let mut app = app();
    let d = delivery(1, DeliveryStatus::Pending, 1, 1);
    app.apply(d.clone());

    app.on_key(key('c'));
    for c in "ada".chars() {
        app.on_key(key(c));
    }
    let cmd = app.on_key(code(KeyCode::Enter));

    let Some(Command::Update { body, .. }) = cmd else {
        panic!("{cmd:?}")
    };
    assert_eq!(body.courier.as_deref(), Some("ada"));
    assert_eq!(
        body.status,
        Some(DeliveryStatus::Assigned),
        "with the next status"
    );
    assert_eq!(body.version, Some(1));
}

#[test]
fn a_read_only_board_sends_no_actions() {
    let mut app = App::new(
        Options {
            read_only: true,
            ..Options::default()
        },
        t0(),
    );
    app.apply(delivery(1, DeliveryStatus::Pending, 1, 1));

    for c in ['a', 'x', 'c', 'y'] {
        assert_eq!(app.on_key(key(c)), None);
    }
    assert_eq!(app.mode(), &Mode::Normal);
}

#[test]
fn a_failed_action_shows_its_error_in_the_status_line() {
    let mut app = app();
    app.on_msg(Msg::ActionDone {
        order_id: "0190f3b2-7c1e-7d2a-9f00-000000000001".into(),
        result: Err("invalid_transition: cannot move".into()),
    });
    assert_eq!(
        app.status_line(),
        Some(&StatusLine {
            text: "00000001: invalid_transition: cannot move".into(),
            error: true
        })
    );
}

#[test]
fn pending_cards_turn_yellow_then_red_as_they_age() {
    let mut app = app();
    app.apply(delivery(1, DeliveryStatus::Pending, 1, 5));
    app.apply(delivery(2, DeliveryStatus::Pending, 1, 10));
    app.apply(delivery(3, DeliveryStatus::Pending, 1, 25));
    app.apply(delivery(4, DeliveryStatus::Cancelled, 2, 60));
    let ageing = |n| {
        let id = delivery(n, DeliveryStatus::Pending, 1, 0).order_id;
        app.ageing(app.card(&id).unwrap())
    };
    assert_eq!(ageing(1), Ageing::Fresh);
    assert_eq!(ageing(2), Ageing::Warn);
    assert_eq!(ageing(3), Ageing::Alert);
    assert_eq!(ageing(4), Ageing::Fresh);
}

#[test]
fn events_per_second_counts_whole_seconds_of_live_events() {
    let mut app = app();
    for i in 0..50 {
        app.set_now(t0() + TimeDelta::milliseconds(i * 100));
        app.on_data(DataEvent::Changed(delivery(
            1,
            DeliveryStatus::Pending,
            i as u64 + 1,
            0,
        )));
    }
    app.set_now(t0() + TimeDelta::seconds(5));
    assert!(
        (app.events_per_second() - 10.0).abs() < f64::EPSILON,
        "{}",
        app.events_per_second()
    );
}
