//! The kitchen's fixtures and tests: merging, keys and prompts through its
//! public API, and TestBackend snapshots of the screen.

use chrono::TimeDelta;
use crossterm::event::{KeyCode, KeyModifiers};
use food_api::OrderLine;
use ratatui::{Terminal, backend::TestBackend, style::Color};

use super::*;
use crate::{
    app::tests::{code, key, t0},
    kitchen::ui::render_to_text,
    ui::buffer_to_text,
};

const RESTAURANT: &str = "maison-tandoor";

/// The dishes of the fixtures: (id, name, prep minutes).
const DISHES: [(&str, &str, u32); 5] = [
    ("butter-chicken", "Butter Chicken", 20),
    ("garlic-naan", "Garlic Naan", 8),
    ("dal-makhani", "Dal Makhani", 25),
    ("mango-lassi", "Mango Lassi", 3),
    ("samosa", "Samosa", 10),
];

/// An order of [`RESTAURANT`] with a fixed id (`...-0000000000NN`),
/// placed `minutes_ago` before [`t0`], with `n % 4 + 1` kinds of dishes.
pub(crate) fn order(n: u32, status: OrderStatus, minutes_ago: i64) -> Order {
    let created = t0() - TimeDelta::minutes(minutes_ago);
    let kinds = (n % 4 + 1) as usize;
    let items: Vec<OrderLine> = (0..kinds)
        .map(|i| {
            let (id, name, _) = DISHES[(n as usize + i) % DISHES.len()];
            OrderLine {
                item_id: id.into(),
                name: name.into(),
                quantity: (i as u32 % 2) + 1,
                unit_price_cents: 900,
                line_total_cents: 900 * (i64::from(i as u32 % 2) + 1),
            }
        })
        .collect();
    Order {
        id: format!("0190f3b2-7c1e-7d2a-9f00-{n:012}"),
        customer_id: format!("cust-{:02}", n % 7),
        restaurant_id: Some(RESTAURANT.into()),
        restaurant_name: Some("Maison Tandoor".into()),
        pickup_address: Some("3 Rue Paul Bert, Lyon".into()),
        status,
        ready_by: None,
        rejection_reason: None,
        total_cents: items.iter().map(|l| l.line_total_cents).sum(),
        items,
        currency: "EUR".into(),
        delivery_address: format!("{n} Main Street"),
        note: None,
        created_at: created,
        updated_at: created,
    }
}

/// `order` accepted `accepted_ago` minutes before [`t0`], due `due_in`
/// minutes after it (negative: late).
fn preparing(n: u32, minutes_ago: i64, accepted_ago: i64, due_in: i64) -> Order {
    let mut o = order(n, OrderStatus::Preparing, minutes_ago);
    o.updated_at = t0() - TimeDelta::minutes(accepted_ago);
    o.ready_by = Some(t0() + TimeDelta::minutes(due_in));
    o
}

fn kitchen() -> Kitchen {
    let mut k = Kitchen::new(
        Options {
            source: "local-kitchen".into(),
            restaurant: Some("Maison Tandoor".into()),
            ..Options::default()
        },
        RESTAURANT,
        t0(),
    );
    k.acceptance_timeout = Some(TimeDelta::minutes(5));
    k.set_menu(
        DISHES
            .iter()
            .map(|(id, _, m)| ((*id).to_owned(), *m))
            .collect(),
    );
    k
}

/// Two orders to answer, three preparing (one late), one ready.
fn busy_kitchen() -> Kitchen {
    let mut k = kitchen();
    let mut ready = order(6, OrderStatus::ReadyForPickup, 30);
    ready.updated_at = t0() - TimeDelta::minutes(2);
    k.on_data(KitchenEvent::Snapshot(vec![
        order(1, OrderStatus::Placed, 1),
        order(2, OrderStatus::Placed, 4),
        preparing(3, 12, 11, 9),
        preparing(4, 25, 24, -3),
        preparing(5, 6, 5, 1),
        ready,
    ]));
    k
}

fn id(n: u32) -> String {
    format!("0190f3b2-7c1e-7d2a-9f00-{n:012}")
}

#[test]
fn the_kitchen_shows_three_lanes_with_items_and_countdowns() {
    let k = busy_kitchen();
    insta::assert_snapshot!("kitchen", render_to_text(&k, 120, 22));
}

#[test]
fn a_late_card_stands_out_in_red() {
    let k = busy_kitchen();
    let mut terminal = Terminal::new(TestBackend::new(120, 22)).unwrap();
    terminal.draw(|f| ui::render(&k, f)).unwrap();
    let buf = terminal.backend().buffer();
    let text = buffer_to_text(buf);
    let (y, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("late 3m"))
        .expect(&text);
    let x = line[..line.find("late 3m").unwrap()].chars().count();
    assert_eq!(buf[(x as u16, y as u16)].bg, Color::Red, "{text}");
    let (y, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("00000004"))
        .unwrap();
    let x = line[..line.find("00000004").unwrap()].chars().count();
    assert_eq!(
        buf[(x as u16, y as u16)].fg,
        Color::Red,
        "the late order's id"
    );
    assert!(text.contains("1 late"), "the header counts it: {text}");
}

#[test]
fn the_accept_prompt_offers_the_longest_prep_time_and_sends_what_is_typed() {
    let mut k = busy_kitchen();
    // 00000002: dishes 2 and 3 of the menu, Dal Makhani (25 min) the longest.
    assert!(k.select(&id(2)));

    assert_eq!(k.on_key(key('a')), None);

    assert_eq!(
        k.mode(),
        &KitchenMode::Accept {
            order_id: id(2),
            input: "25".into()
        }
    );
    insta::assert_snapshot!("accept_prompt", render_to_text(&k, 120, 22));
    k.on_key(code(KeyCode::Backspace));
    k.on_key(code(KeyCode::Backspace));
    k.on_key(key('3'));
    k.on_key(key('0'));
    let cmd = k.on_key(code(KeyCode::Enter));
    assert_eq!(
        cmd,
        Some(KitchenCommand::Accept {
            order_id: id(2),
            prep_minutes: 30
        })
    );
    assert_eq!(k.mode(), &KitchenMode::Normal);
}

#[test]
fn a_bad_prep_time_keeps_the_prompt_open_with_an_error() {
    let mut k = busy_kitchen();
    k.select(&id(1));
    k.on_key(key('a'));
    k.on_key(key('x'));

    let cmd = k.on_key(code(KeyCode::Enter));

    assert_eq!(cmd, None);
    assert!(matches!(k.mode(), KitchenMode::Accept { .. }));
    let text = render_to_text(&k, 120, 22);
    assert!(text.contains("whole minutes from 1 to 240"), "{text}");
}

#[test]
fn the_reject_prompt_needs_a_reason_and_sends_it() {
    let mut k = busy_kitchen();
    k.select(&id(1));
    k.on_key(key('x'));
    assert_eq!(k.on_key(code(KeyCode::Enter)), None, "no reason yet");
    for c in "out of naan".chars() {
        k.on_key(key(c));
    }
    insta::assert_snapshot!("reject_prompt", render_to_text(&k, 120, 22));

    let cmd = k.on_key(code(KeyCode::Enter));

    assert_eq!(
        cmd,
        Some(KitchenCommand::Reject {
            order_id: id(1),
            reason: "out of naan".into()
        })
    );
}

#[test]
fn keys_refuse_what_the_order_machine_refuses_without_asking_the_gateway() {
    let mut k = busy_kitchen();
    k.select(&id(3));
    assert_eq!(k.on_key(key('x')), None);
    assert!(k.status_line().unwrap().error);
    assert_eq!(k.mode(), &KitchenMode::Normal);
    assert_eq!(
        k.on_key(key('r')),
        Some(KitchenCommand::Ready { order_id: id(3) })
    );
    k.select(&id(1));
    assert_eq!(k.on_key(key('r')), None, "a PLACED order is not ready");
    k.select(&id(6));
    k.on_key(key('a'));
    assert_eq!(k.mode(), &KitchenMode::Normal, "a ready order is accepted");
}

#[test]
fn a_preparing_order_is_retimed_from_what_is_left() {
    let mut k = busy_kitchen();
    k.select(&id(3));
    k.on_key(key('a'));
    assert_eq!(
        k.mode(),
        &KitchenMode::Accept {
            order_id: id(3),
            input: "10".into()
        },
        "9 minutes left, rounded up"
    );
}

#[test]
fn orders_move_between_lanes_and_leave_them_and_old_copies_change_nothing() {
    let mut k = busy_kitchen();
    let placed = k.order(&id(1)).unwrap().clone();
    let mut accepted = placed.clone();
    accepted.status = OrderStatus::Preparing;
    accepted.updated_at = t0() + TimeDelta::seconds(5);
    accepted.ready_by = Some(t0() + TimeDelta::minutes(20));

    k.on_data(KitchenEvent::Changed(accepted.clone()));
    assert_eq!(k.order(&id(1)).unwrap().status, OrderStatus::Preparing);
    k.on_data(KitchenEvent::Changed(placed.clone()));
    assert_eq!(
        k.order(&id(1)).unwrap().status,
        OrderStatus::Preparing,
        "an older copy never wins"
    );

    let mut out = accepted.clone();
    out.status = OrderStatus::OutForDelivery;
    out.updated_at = t0() + TimeDelta::minutes(30);
    k.on_data(KitchenEvent::Changed(out));
    assert!(k.order(&id(1)).is_none(), "picked up: off the screen");
    k.on_data(KitchenEvent::Changed(accepted));
    assert!(
        k.order(&id(1)).is_none(),
        "and a replay does not bring it back"
    );

    k.on_data(KitchenEvent::Cancelled { order_id: id(2) });
    assert!(k.order(&id(2)).is_none());
    k.on_data(KitchenEvent::Changed(order(2, OrderStatus::Placed, 4)));
    assert!(k.order(&id(2)).is_none(), "cancelled is for good");
}

#[test]
fn another_restaurants_orders_are_not_on_the_screen() {
    let mut k = kitchen();
    let mut other = order(9, OrderStatus::Placed, 1);
    other.restaurant_id = Some("sakura-sushi".into());

    k.on_data(KitchenEvent::Changed(other));

    assert!(k.is_empty());
}

#[test]
fn an_auto_accepted_order_ends_preparing_whatever_order_its_two_copies_come_in() {
    let placed = order(7, OrderStatus::Placed, 0);
    let mut accepted = placed.clone();
    accepted.status = OrderStatus::Preparing;
    accepted.ready_by = Some(t0() + TimeDelta::minutes(20));
    for events in [
        [placed.clone(), accepted.clone()],
        [accepted.clone(), placed.clone()],
    ] {
        let mut k = kitchen();
        for o in events {
            k.on_data(KitchenEvent::Changed(o));
        }
        assert_eq!(k.order(&id(7)).unwrap().status, OrderStatus::Preparing);
    }
}

#[test]
fn an_action_done_moves_the_card_and_says_so() {
    let mut k = busy_kitchen();
    let mut ready = k.order(&id(3)).unwrap().clone();
    ready.status = OrderStatus::ReadyForPickup;
    ready.updated_at = t0() + TimeDelta::seconds(1);

    k.on_msg(KitchenMsg::ActionDone {
        order_id: id(3),
        what: "ready",
        result: Ok(ready),
    });
    k.on_msg(KitchenMsg::ActionDone {
        order_id: id(1),
        what: "accepted",
        result: Err("invalid_transition: cannot move an order from REJECTED to PREPARING".into()),
    });

    assert_eq!(k.lane_orders(2).len(), 2);
    let text = render_to_text(&k, 120, 22);
    assert!(
        text.contains("00000001: invalid_transition: cannot move an order from REJECTED"),
        "{text}"
    );
}

#[test]
fn the_help_lists_the_kitchen_keys() {
    let mut k = busy_kitchen();
    k.on_key(key('?'));
    insta::assert_snapshot!("kitchen_help", render_to_text(&k, 120, 22));
    k.on_key(key('j'));
    assert!(!k.help_shown());
}

#[test]
fn a_lost_feed_marks_the_kitchen_stale_and_keeps_the_orders() {
    let mut k = busy_kitchen();
    k.set_now(t0() + TimeDelta::seconds(3));
    k.on_data(KitchenEvent::Lost {
        error: "broker 127.0.0.1:9092 unreachable".into(),
    });
    let text = render_to_text(&k, 120, 22);
    assert!(text.contains("▲ stale since 12:00:03"), "{text}");
    assert!(text.contains("feed lost: broker"), "{text}");
    assert_eq!(k.len(), 6);
}

#[test]
fn a_read_only_kitchen_binds_no_action_keys() {
    let mut k = busy_kitchen();
    k.options.read_only = true;
    k.select(&id(1));
    for c in ['a', 'x', 'r'] {
        assert_eq!(k.on_key(key(c)), None);
        assert_eq!(k.mode(), &KitchenMode::Normal);
    }
    assert_eq!(
        k.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
        Some(KitchenCommand::Quit)
    );
}

#[test]
fn a_tiny_terminal_does_not_panic() {
    let mut k = busy_kitchen();
    for (w, h) in [(1, 1), (10, 3), (30, 5), (0, 0)] {
        render_to_text(&k, w, h);
    }
    k.on_key(key('?'));
    render_to_text(&k, 8, 4);
}

#[test]
fn prep_times_are_whole_minutes() {
    assert_eq!(parse_prep("15"), Ok(15));
    assert_eq!(parse_prep(" 20m "), Ok(20));
    assert!(parse_prep("0").is_err());
    assert!(parse_prep("241").is_err());
    assert!(parse_prep("soon").is_err());
}
