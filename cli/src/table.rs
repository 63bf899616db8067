//! Tables for people: aligned columns without borders (comfy-table), money
//! as `12.50 EUR`, times relative to `now` (`3m ago`), statuses coloured
//! only when the printer allows colour. Every renderer takes `now` so tests
//! are deterministic.

use chrono::{DateTime, Utc};
use comfy_table::{Cell, Color, Table, presets};
use food_api::{
    Courier, Delivery, DeliveryStatus, Item, Order, OrderStatus, Restaurant, format_money, short_id,
};

/// `just now`, `42s ago`, `3m ago`, `2h ago`, `5d ago`; `in 12m` for the future.
pub fn relative(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - t).num_seconds();
    let (n, future) = if secs < 0 {
        (-secs, true)
    } else {
        (secs, false)
    };
    let span = match n {
        0..=1 => return "just now".into(),
        2..=59 => format!("{n}s"),
        60..=3599 => format!("{}m", n / 60),
        3600..=86_399 => format!("{}h", n / 3600),
        _ => format!("{}d", n / 86_400),
    };
    if future {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

fn new_table(header: &[&str], color: bool) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING);
    if color {
        t.enforce_styling();
    } else {
        t.force_no_tty();
    }
    if !header.is_empty() {
        t.set_header(header.iter().map(Cell::new));
    }
    t
}

/// Renders with two spaces between columns and no trailing blanks.
fn finish(mut t: Table) -> String {
    for col in t.column_iter_mut() {
        col.set_padding((0, 2));
    }
    let s = t.to_string();
    let lines: Vec<&str> = s.lines().map(str::trim_end).collect();
    lines.join("\n")
}

fn delivery_color(s: DeliveryStatus) -> Color {
    match s {
        DeliveryStatus::Pending => Color::Yellow,
        DeliveryStatus::Assigned => Color::Cyan,
        DeliveryStatus::PickedUp | DeliveryStatus::InTransit => Color::Blue,
        DeliveryStatus::Delivered => Color::Green,
        DeliveryStatus::Cancelled => Color::DarkGrey,
        DeliveryStatus::Failed => Color::Red,
    }
}

fn order_color(s: OrderStatus) -> Color {
    match s {
        OrderStatus::Placed => Color::Yellow,
        OrderStatus::Preparing => Color::Cyan,
        OrderStatus::ReadyForPickup => Color::Magenta,
        OrderStatus::OutForDelivery => Color::Blue,
        OrderStatus::Delivered => Color::Green,
        OrderStatus::Rejected => Color::Red,
        OrderStatus::Cancelled => Color::DarkGrey,
        OrderStatus::Failed => Color::Red,
    }
}

fn status_cell(text: &str, color: Color, enabled: bool) -> Cell {
    let c = Cell::new(text);
    if enabled { c.fg(color) } else { c }
}

fn or_dash(s: Option<&str>) -> String {
    match s {
        Some(s) if !s.is_empty() => s.to_owned(),
        _ => "-".into(),
    }
}

/// `open` or `closed`: what a customer can expect when ordering.
fn open_cell(open: bool, color: bool) -> Cell {
    if open {
        status_cell("open", Color::Green, color)
    } else {
        status_cell("closed", Color::DarkGrey, color)
    }
}

/// `restaurant list`.
pub fn restaurants(rs: &[Restaurant], wide: bool, color: bool) -> String {
    let mut header = vec!["ID", "NAME", "CUISINE", "STATUS"];
    if wide {
        header.extend(["ADDRESS", "TAGS"]);
    }
    let mut t = new_table(&header, color);
    for r in rs {
        let mut row = vec![
            Cell::new(&r.id),
            Cell::new(&r.name),
            Cell::new(&r.cuisine),
            open_cell(r.open, color),
        ];
        if wide {
            row.push(Cell::new(or_dash(Some(&r.address))));
            row.push(Cell::new(or_dash(Some(&r.tags.join(",")))));
        }
        t.add_row(row);
    }
    finish(t)
}

/// `restaurant open|close`: the restaurant's fields.
pub fn restaurant(r: &Restaurant, color: bool) -> String {
    finish(restaurant_fields(r, color))
}

fn restaurant_fields(r: &Restaurant, color: bool) -> Table {
    let mut t = new_table(&[], color);
    t.add_row(vec![Cell::new("ID"), Cell::new(&r.id)]);
    t.add_row(vec![Cell::new("NAME"), Cell::new(&r.name)]);
    t.add_row(vec![Cell::new("CUISINE"), Cell::new(&r.cuisine)]);
    t.add_row(vec![Cell::new("STATUS"), open_cell(r.open, color)]);
    t.add_row(vec![
        Cell::new("ADDRESS"),
        Cell::new(or_dash(Some(&r.address))),
    ]);
    t.add_row(vec![
        Cell::new("TAGS"),
        Cell::new(or_dash(Some(&r.tags.join(", ")))),
    ]);
    t
}

/// `restaurant show`: the restaurant, a line summing up its menu, then
/// the dishes (without a restaurant column: they are all this one's).
pub fn restaurant_with_menu(r: &Restaurant, items: &[Item], color: bool) -> String {
    let mut t = restaurant_fields(r, color);
    t.add_row(vec![Cell::new("MENU"), Cell::new(menu_summary(items))]);
    let mut text = finish(t);
    if !items.is_empty() {
        text.push_str("\n\n");
        text.push_str(&item_rows(items, false, false, color));
    }
    text
}

/// `12 dishes (11 available) in 4 categories: pizza 6, pasta 3, ...`,
/// categories in the menu's order.
pub fn menu_summary(items: &[Item]) -> String {
    if items.is_empty() {
        return "no dishes yet".into();
    }
    let mut categories: Vec<(&str, usize)> = Vec::new();
    for i in items {
        match categories.iter_mut().find(|(c, _)| *c == i.category) {
            Some((_, n)) => *n += 1,
            None => categories.push((&i.category, 1)),
        }
    }
    let available = items.iter().filter(|i| i.available).count();
    let plural = |n: usize, one: &str, many: &str| {
        if n == 1 {
            format!("{n} {one}")
        } else {
            format!("{n} {many}")
        }
    };
    format!(
        "{} ({available} available) in {}: {}",
        plural(items.len(), "dish", "dishes"),
        plural(categories.len(), "category", "categories"),
        categories
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// `menu list`: which restaurant each dish is from, since an order takes
/// dishes of one restaurant only.
pub fn items(items: &[Item], wide: bool, color: bool) -> String {
    item_rows(items, true, wide, color)
}

fn item_rows(items: &[Item], restaurant: bool, wide: bool, color: bool) -> String {
    let mut header = vec!["ID", "NAME"];
    if restaurant {
        header.push("RESTAURANT");
    }
    header.extend(["CATEGORY", "PRICE", "AVAILABLE", "PREP"]);
    if wide {
        header.extend(["TAGS", "DESCRIPTION"]);
    }
    let mut t = new_table(&header, color);
    for i in items {
        let avail = if i.available { "yes" } else { "no" };
        let mut row = vec![Cell::new(&i.id), Cell::new(&i.name)];
        if restaurant {
            row.push(Cell::new(or_dash(Some(&i.restaurant_id))));
        }
        row.extend([
            Cell::new(&i.category),
            Cell::new(format_money(i.price_cents, &i.currency)),
            status_cell(
                avail,
                if i.available {
                    Color::Green
                } else {
                    Color::DarkGrey
                },
                color,
            ),
            Cell::new(format!("{}m", i.prep_minutes)),
        ]);
        if wide {
            row.push(Cell::new(i.tags.join(",")));
            row.push(Cell::new(&i.description));
        }
        t.add_row(row);
    }
    finish(t)
}

/// `menu show`.
pub fn item(i: &Item) -> String {
    let mut t = new_table(&[], false);
    t.add_row(["ID", &i.id]);
    t.add_row(["NAME", &i.name]);
    t.add_row(["RESTAURANT", &or_dash(Some(&i.restaurant_id))]);
    t.add_row(["CATEGORY", &i.category]);
    t.add_row(["PRICE", &format_money(i.price_cents, &i.currency)]);
    t.add_row(["AVAILABLE", if i.available { "yes" } else { "no" }]);
    t.add_row(["PREP", &format!("{} min", i.prep_minutes)]);
    t.add_row(["TAGS", &or_dash(Some(&i.tags.join(", ")))]);
    t.add_row(["DESCRIPTION", &or_dash(Some(&i.description))]);
    finish(t)
}

/// `order get`, `order create`: the order, then its lines.
pub fn order(o: &Order, now: DateTime<Utc>, color: bool) -> String {
    let mut t = new_table(&[], color);
    t.add_row(vec![Cell::new("ORDER"), Cell::new(&o.id)]);
    t.add_row(vec![
        Cell::new("STATUS"),
        status_cell(o.status.as_str(), order_color(o.status), color),
    ]);
    if let Some(reason) = rejection(o) {
        t.add_row(vec![Cell::new("REASON"), Cell::new(reason)]);
    }
    t.add_row(vec![Cell::new("READY BY"), Cell::new(ready_by(o, now))]);
    t.add_row(vec![
        Cell::new("FROM"),
        Cell::new(from(
            o.restaurant_name.as_deref(),
            o.restaurant_id.as_deref(),
        )),
    ]);
    t.add_row(vec![
        Cell::new("PICKUP"),
        Cell::new(or_dash(o.pickup_address.as_deref())),
    ]);
    t.add_row(vec![Cell::new("CUSTOMER"), Cell::new(&o.customer_id)]);
    t.add_row(vec![
        Cell::new("TOTAL"),
        Cell::new(format_money(o.total_cents, &o.currency)),
    ]);
    t.add_row(vec![Cell::new("ADDRESS"), Cell::new(&o.delivery_address)]);
    t.add_row(vec![
        Cell::new("NOTE"),
        Cell::new(or_dash(o.note.as_deref())),
    ]);
    t.add_row(vec![
        Cell::new("CREATED"),
        Cell::new(relative(o.created_at, now)),
    ]);
    t.add_row(vec![
        Cell::new("UPDATED"),
        Cell::new(relative(o.updated_at, now)),
    ]);
    let mut lines = new_table(&["ITEM", "NAME", "QTY", "UNIT", "TOTAL"], color);
    for l in &o.items {
        lines.add_row(vec![
            Cell::new(&l.item_id),
            Cell::new(&l.name),
            Cell::new(l.quantity),
            Cell::new(format_money(l.unit_price_cents, &o.currency)),
            Cell::new(format_money(l.line_total_cents, &o.currency)),
        ]);
    }
    format!("{}\n\n{}", finish(t), finish(lines))
}

/// When the kitchen said the food will be ready, while that matters (before
/// pick-up): `19:45 (in 12m)`, `19:45 (3m late)`; `-` otherwise.
fn ready_by(o: &Order, now: DateTime<Utc>) -> String {
    let Some(t) = o.ready_by else {
        return "-".into();
    };
    let clock = t.format("%H:%M UTC");
    if !matches!(
        o.status,
        OrderStatus::Preparing | OrderStatus::ReadyForPickup
    ) {
        return clock.to_string();
    }
    if o.status == OrderStatus::Preparing && t < now {
        let late = (now - t).num_minutes().max(1);
        format!("{clock} ({late}m late)")
    } else {
        format!("{clock} ({})", relative(t, now))
    }
}

/// The kitchen's reason, for a rejected order.
fn rejection(o: &Order) -> Option<&str> {
    o.rejection_reason.as_deref().filter(|r| !r.is_empty())
}

/// `Trattoria da Luca (trattoria-da-luca)`; `-` for an order placed before
/// restaurants existed.
fn from(name: Option<&str>, id: Option<&str>) -> String {
    match (name.filter(|n| !n.is_empty()), id.filter(|i| !i.is_empty())) {
        (Some(n), Some(i)) => format!("{n} ({i})"),
        (Some(n), None) => n.to_owned(),
        (None, i) => or_dash(i),
    }
}

/// The restaurant column of the lists: its name, else its id, else `-`.
fn restaurant_cell(name: Option<&str>, id: Option<&str>) -> Cell {
    Cell::new(or_dash(name.filter(|n| !n.is_empty()).or(id)))
}

/// `order list`.
pub fn orders(orders: &[Order], now: DateTime<Utc>, wide: bool, color: bool) -> String {
    let mut header = vec![
        "ORDER",
        "STATUS",
        "RESTAURANT",
        "CUSTOMER",
        "ITEMS",
        "TOTAL",
        "CREATED",
    ];
    if wide {
        header.extend(["READY BY", "REASON", "ID", "PICKUP", "ADDRESS", "UPDATED"]);
    }
    let mut t = new_table(&header, color);
    for o in orders {
        let count: u32 = o.items.iter().map(|l| l.quantity).sum();
        let mut row = vec![
            Cell::new(short_id(&o.id)),
            status_cell(o.status.as_str(), order_color(o.status), color),
            restaurant_cell(o.restaurant_name.as_deref(), o.restaurant_id.as_deref()),
            Cell::new(&o.customer_id),
            Cell::new(count),
            Cell::new(format_money(o.total_cents, &o.currency)),
            Cell::new(relative(o.created_at, now)),
        ];
        if wide {
            row.push(Cell::new(ready_by(o, now)));
            row.push(Cell::new(or_dash(rejection(o))));
            row.push(Cell::new(&o.id));
            row.push(Cell::new(or_dash(o.pickup_address.as_deref())));
            row.push(Cell::new(&o.delivery_address));
            row.push(Cell::new(relative(o.updated_at, now)));
        }
        t.add_row(row);
    }
    finish(t)
}

/// A delivery's courier as people know it: its name, else its id.
fn courier_of(d: &Delivery) -> String {
    or_dash(
        d.courier_name
            .as_deref()
            .filter(|n| !n.is_empty())
            .or(d.courier.as_deref()),
    )
}

/// `Camille Martin (courier-1)` for the detail view.
fn courier_detail(d: &Delivery) -> String {
    match (
        d.courier_name.as_deref().filter(|n| !n.is_empty()),
        d.courier.as_deref().filter(|c| !c.is_empty()),
    ) {
        (Some(n), Some(id)) if n != id => format!("{n} ({id})"),
        (n, id) => or_dash(n.or(id)),
    }
}

fn eta(d: &Delivery, now: DateTime<Utc>) -> String {
    d.eta.map_or_else(|| "-".into(), |t| relative(t, now))
}

/// `delivery status`: the delivery, then its history.
pub fn delivery(d: &Delivery, now: DateTime<Utc>, color: bool) -> String {
    let mut t = new_table(&[], color);
    t.add_row(vec![Cell::new("ORDER"), Cell::new(&d.order_id)]);
    t.add_row(vec![
        Cell::new("STATUS"),
        status_cell(d.status.as_str(), delivery_color(d.status), color),
    ]);
    t.add_row(vec![Cell::new("COURIER"), Cell::new(courier_detail(d))]);
    t.add_row(vec![Cell::new("ETA"), Cell::new(eta(d, now))]);
    t.add_row(vec![Cell::new("VERSION"), Cell::new(d.version)]);
    t.add_row(vec![
        Cell::new("FROM"),
        Cell::new(from(
            d.restaurant_name.as_deref(),
            d.restaurant_id.as_deref(),
        )),
    ]);
    t.add_row(vec![
        Cell::new("PICKUP"),
        Cell::new(or_dash(d.pickup_address.as_deref())),
    ]);
    t.add_row(vec![Cell::new("CUSTOMER"), Cell::new(&d.customer_id)]);
    t.add_row(vec![Cell::new("ITEMS"), Cell::new(d.item_count)]);
    t.add_row(vec![
        Cell::new("TOTAL"),
        Cell::new(format_money(d.total_cents, &d.currency)),
    ]);
    t.add_row(vec![Cell::new("ADDRESS"), Cell::new(&d.delivery_address)]);
    t.add_row(vec![
        Cell::new("UPDATED"),
        Cell::new(relative(d.updated_at, now)),
    ]);
    let mut h = new_table(&["STATUS", "AT", "COURIER", "NOTE"], color);
    for e in &d.history {
        h.add_row(vec![
            status_cell(e.status.as_str(), delivery_color(e.status), color),
            Cell::new(relative(e.at, now)),
            Cell::new(or_dash(e.courier.as_deref())),
            Cell::new(or_dash(e.note.as_deref())),
        ]);
    }
    if d.history.is_empty() {
        finish(t)
    } else {
        format!("{}\n\n{}", finish(t), finish(h))
    }
}

/// `delivery list`.
pub fn deliveries(ds: &[Delivery], now: DateTime<Utc>, wide: bool, color: bool) -> String {
    let mut header = vec![
        "ORDER",
        "STATUS",
        "RESTAURANT",
        "COURIER",
        "ITEMS",
        "TOTAL",
        "ETA",
        "AGE",
        "VERSION",
    ];
    if wide {
        header.extend(["ID", "CUSTOMER", "PICKUP", "ADDRESS"]);
    }
    let mut t = new_table(&header, color);
    for d in ds {
        let mut row = vec![
            Cell::new(short_id(&d.order_id)),
            status_cell(d.status.as_str(), delivery_color(d.status), color),
            restaurant_cell(d.restaurant_name.as_deref(), d.restaurant_id.as_deref()),
            Cell::new(courier_of(d)),
            Cell::new(d.item_count),
            Cell::new(format_money(d.total_cents, &d.currency)),
            Cell::new(eta(d, now)),
            Cell::new(relative(d.created_at, now)),
            Cell::new(d.version),
        ];
        if wide {
            row.push(Cell::new(&d.order_id));
            row.push(Cell::new(&d.customer_id));
            row.push(Cell::new(or_dash(d.pickup_address.as_deref())));
            row.push(Cell::new(&d.delivery_address));
        }
        t.add_row(row);
    }
    finish(t)
}

/// `courier list`, and one courier after `courier on|off|set`.
pub fn couriers(cs: &[Courier], color: bool) -> String {
    let mut t = new_table(&["ID", "NAME", "ON SHIFT", "ACTIVE"], color);
    for c in cs {
        let shift = if c.on_shift {
            status_cell("yes", Color::Green, color)
        } else {
            status_cell("no", Color::DarkGrey, color)
        };
        t.add_row(vec![
            Cell::new(&c.id),
            Cell::new(&c.name),
            shift,
            Cell::new(c.active_deliveries),
        ]);
    }
    finish(t)
}

/// One line per change for `watch` in table mode.
pub fn change_line(d: &Delivery, now: DateTime<Utc>) -> String {
    let mut s = format!(
        "{}  {}  {:<10}  v{}",
        d.updated_at.format("%H:%M:%S"),
        short_id(&d.order_id),
        d.status.as_str(),
        d.version
    );
    if d.courier.is_some() {
        s.push_str(&format!("  courier {}", courier_of(d)));
    }
    if d.eta.is_some() {
        s.push_str(&format!("  eta {}", eta(d, now)));
    }
    if let Some(note) = d.history.last().and_then(|h| h.note.as_deref()) {
        s.push_str(&format!("  \"{note}\""));
    }
    s
}

#[cfg(test)]
mod tests {
    use food_api::{HistoryEntry, OrderLine};

    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn sample_order() -> Order {
        Order {
            ready_by: Some(at("2026-01-02T12:15:00Z")),
            rejection_reason: None,
            restaurant_id: Some("trattoria-da-luca".into()),
            restaurant_name: Some("Trattoria da Luca".into()),
            pickup_address: Some("12 Rue Mercière, Lyon".into()),
            id: "0190f3b2-7c1e-7d2a-9f00-1234abcd5678".into(),
            customer_id: "cust-1".into(),
            status: OrderStatus::Preparing,
            items: vec![
                OrderLine {
                    item_id: "margherita".into(),
                    name: "Margherita".into(),
                    quantity: 2,
                    unit_price_cents: 950,
                    line_total_cents: 1900,
                },
                OrderLine {
                    item_id: "tiramisu".into(),
                    name: "Tiramisu".into(),
                    quantity: 1,
                    unit_price_cents: 650,
                    line_total_cents: 650,
                },
            ],
            total_cents: 2550,
            currency: "EUR".into(),
            delivery_address: "1 Main St".into(),
            note: None,
            created_at: at("2026-01-02T11:57:00Z"),
            updated_at: at("2026-01-02T11:59:30Z"),
        }
    }

    #[test]
    fn relative_times_read_like_people_say_them() {
        let now = at("2026-01-02T12:00:00Z");
        assert_eq!(relative(now, now), "just now");
        assert_eq!(relative(at("2026-01-02T11:59:18Z"), now), "42s ago");
        assert_eq!(relative(at("2026-01-02T11:57:00Z"), now), "3m ago");
        assert_eq!(relative(at("2026-01-02T10:00:00Z"), now), "2h ago");
        assert_eq!(relative(at("2025-12-28T12:00:00Z"), now), "5d ago");
        assert_eq!(relative(at("2026-01-02T12:12:00Z"), now), "in 12m");
    }

    #[test]
    fn an_order_renders_as_aligned_fields_and_lines() {
        // Arrange
        let now = at("2026-01-02T12:00:00Z");
        // Act
        let text = order(&sample_order(), now, false);
        // Assert
        let expected = "\
ORDER     0190f3b2-7c1e-7d2a-9f00-1234abcd5678
STATUS    PREPARING
READY BY  12:15 UTC (in 15m)
FROM      Trattoria da Luca (trattoria-da-luca)
PICKUP    12 Rue Mercière, Lyon
CUSTOMER  cust-1
TOTAL     25.50 EUR
ADDRESS   1 Main St
NOTE      -
CREATED   3m ago
UPDATED   30s ago

ITEM        NAME        QTY  UNIT      TOTAL
margherita  Margherita  2    9.50 EUR  19.00 EUR
tiramisu    Tiramisu    1    6.50 EUR  6.50 EUR";
        assert_eq!(text, expected, "\n{text}");
    }

    #[test]
    fn an_order_list_shows_short_ids_counts_and_money() {
        let now = at("2026-01-02T12:00:00Z");
        let text = orders(&[sample_order()], now, false, false);
        let expected = "\
ORDER     STATUS     RESTAURANT         CUSTOMER  ITEMS  TOTAL      CREATED
abcd5678  PREPARING  Trattoria da Luca  cust-1    3      25.50 EUR  3m ago";
        assert_eq!(text, expected, "\n{text}");
    }

    #[test]
    fn an_order_from_before_restaurants_shows_dashes_for_its_restaurant() {
        // Arrange
        let now = at("2026-01-02T12:00:00Z");
        let old = Order {
            restaurant_id: None,
            restaurant_name: None,
            pickup_address: None,
            ..sample_order()
        };
        // Act
        let one = order(&old, now, false);
        let list = orders(std::slice::from_ref(&old), now, true, false);
        // Assert
        assert!(one.contains("\nFROM      -\n"), "{one}");
        assert!(one.contains("\nPICKUP    -\n"), "{one}");
        let row = list.lines().nth(1).unwrap();
        assert!(
            row.starts_with("abcd5678  PREPARING  -           cust-1"),
            "{list}"
        );
    }

    fn sample_restaurant(open: bool) -> Restaurant {
        Restaurant {
            id: "trattoria-da-luca".into(),
            name: "Trattoria da Luca".into(),
            cuisine: "italian".into(),
            address: "12 Rue Mercière, Lyon".into(),
            open,
            tags: vec!["pizza".into(), "pasta".into()],
            auto_accept: true,
            acceptance_timeout_s: 300,
        }
    }

    fn dish(id: &str, category: &str, available: bool) -> Item {
        Item {
            id: id.into(),
            restaurant_id: "trattoria-da-luca".into(),
            name: id.to_uppercase(),
            description: String::new(),
            category: category.into(),
            price_cents: 950,
            currency: "EUR".into(),
            available,
            prep_minutes: 12,
            tags: vec![],
        }
    }

    #[test]
    fn a_restaurant_list_says_which_are_open_and_wide_adds_the_address() {
        let rs = [sample_restaurant(true), sample_restaurant(false)];

        let text = restaurants(&rs, false, false);
        let wide = restaurants(&rs, true, false);

        let expected = "\
ID                 NAME               CUISINE  STATUS
trattoria-da-luca  Trattoria da Luca  italian  open
trattoria-da-luca  Trattoria da Luca  italian  closed";
        assert_eq!(text, expected, "\n{text}");
        assert!(
            wide.lines()
                .next()
                .unwrap()
                .ends_with("ADDRESS                TAGS"),
            "\n{wide}"
        );
        assert!(
            wide.contains("12 Rue Mercière, Lyon  pizza,pasta"),
            "\n{wide}"
        );
    }

    #[test]
    fn a_restaurant_shows_its_fields_a_menu_summary_and_its_dishes() {
        let items = [
            dish("margherita", "pizza", true),
            dish("diavola", "pizza", false),
            dish("tiramisu", "dessert", true),
        ];

        let text = restaurant_with_menu(&sample_restaurant(false), &items, false);

        let expected = "\
ID       trattoria-da-luca
NAME     Trattoria da Luca
CUISINE  italian
STATUS   closed
ADDRESS  12 Rue Mercière, Lyon
TAGS     pizza, pasta
MENU     3 dishes (2 available) in 2 categories: pizza 2, dessert 1

ID          NAME        CATEGORY  PRICE     AVAILABLE  PREP
margherita  MARGHERITA  pizza     9.50 EUR  yes        12m
diavola     DIAVOLA     pizza     9.50 EUR  no         12m
tiramisu    TIRAMISU    dessert   9.50 EUR  yes        12m";
        assert_eq!(text, expected, "\n{text}");
        assert_eq!(
            menu_summary(&items[2..]),
            "1 dish (1 available) in 1 category: dessert 1"
        );
        assert_eq!(menu_summary(&[]), "no dishes yet");
    }

    #[test]
    fn a_menu_list_names_each_dishs_restaurant() {
        let text = items(&[dish("margherita", "pizza", true)], false, false);
        assert!(
            text.starts_with("ID          NAME        RESTAURANT         CATEGORY"),
            "\n{text}"
        );
        assert!(
            text.contains("margherita  MARGHERITA  trattoria-da-luca  pizza"),
            "\n{text}"
        );
    }

    #[test]
    fn colour_adds_escape_codes_only_when_enabled() {
        let now = at("2026-01-02T12:00:00Z");
        assert!(!orders(&[sample_order()], now, false, false).contains('\u{1b}'));
        assert!(orders(&[sample_order()], now, false, true).contains('\u{1b}'));
    }

    #[test]
    fn a_delivery_shows_its_history_and_a_change_fits_one_line() {
        let now = at("2026-01-02T12:00:00Z");
        let d = Delivery {
            courier_name: None,
            restaurant_id: Some("trattoria-da-luca".into()),
            restaurant_name: Some("Trattoria da Luca".into()),
            pickup_address: Some("12 Rue Mercière, Lyon".into()),
            order_id: "0190f3b2-7c1e-7d2a-9f00-1234abcd5678".into(),
            customer_id: "cust-1".into(),
            item_count: 3,
            total_cents: 2550,
            currency: "EUR".into(),
            delivery_address: "1 Main St".into(),
            status: DeliveryStatus::Assigned,
            courier: Some("bob".into()),
            eta: Some(at("2026-01-02T12:15:00Z")),
            version: 2,
            created_at: at("2026-01-02T11:57:00Z"),
            updated_at: at("2026-01-02T11:59:00Z"),
            history: vec![
                HistoryEntry {
                    status: DeliveryStatus::Pending,
                    at: at("2026-01-02T11:57:00Z"),
                    note: None,
                    courier: None,
                },
                HistoryEntry {
                    status: DeliveryStatus::Assigned,
                    at: at("2026-01-02T11:59:00Z"),
                    note: Some("on my way".into()),
                    courier: Some("bob".into()),
                },
            ],
        };
        let text = delivery(&d, now, false);
        assert!(text.contains("STATUS    ASSIGNED"), "{text}");
        assert!(text.contains("ETA       in 15m"), "{text}");
        assert!(
            text.contains(
                "FROM      Trattoria da Luca (trattoria-da-luca)\nPICKUP    12 Rue Mercière, Lyon"
            ),
            "{text}"
        );
        let list = deliveries(std::slice::from_ref(&d), now, true, false);
        assert!(
            list.contains("abcd5678  ASSIGNED  Trattoria da Luca  bob"),
            "{list}"
        );
        assert!(list.contains("12 Rue Mercière, Lyon  1 Main St"), "{list}");
        assert!(
            text.contains("ASSIGNED  1m ago  bob      on my way"),
            "{text}"
        );
        assert_eq!(
            change_line(&d, now),
            "11:59:00  abcd5678  ASSIGNED    v2  courier bob  eta in 15m  \"on my way\""
        );
    }

    #[test]
    fn a_late_or_rejected_order_says_so() {
        let now = at("2026-01-02T12:20:00Z");
        let late = order(&sample_order(), now, false);
        assert!(late.contains("\nREADY BY  12:15 UTC (5m late)\n"), "{late}");
        let rejected = Order {
            status: OrderStatus::Rejected,
            rejection_reason: Some("out of dough".into()),
            ready_by: None,
            ..sample_order()
        };
        let text = order(&rejected, now, false);
        assert!(
            text.contains("STATUS    REJECTED\nREASON    out of dough\nREADY BY  -\n"),
            "{text}"
        );
        let wide = orders(&[sample_order(), rejected], now, true, false);
        let header = wide.lines().next().unwrap();
        assert!(header.contains("READY BY"), "{wide}");
        assert!(header.contains("REASON"), "{wide}");
        assert!(
            wide.contains("REJECTED   Trattoria da Luca  cust-1    3      25.50 EUR  23m ago  -"),
            "{wide}"
        );
        assert!(wide.contains("out of dough"), "{wide}");
    }

    #[test]
    fn new_statuses_have_their_own_colours() {
        let now = at("2026-01-02T12:00:00Z");
        for status in [OrderStatus::ReadyForPickup, OrderStatus::Rejected] {
            let o = Order {
                status,
                ..sample_order()
            };
            let text = orders(&[o], now, false, true);
            assert!(text.contains(status.as_str()), "{text}");
        }
        assert_eq!(order_color(OrderStatus::ReadyForPickup), Color::Magenta);
        assert_eq!(order_color(OrderStatus::Rejected), Color::Red);
    }

    #[test]
    fn a_delivery_names_its_courier() {
        let now = at("2026-01-02T12:00:00Z");
        let d = Delivery {
            courier_name: Some("Camille Martin".into()),
            restaurant_id: None,
            restaurant_name: None,
            pickup_address: None,
            order_id: "0190f3b2-7c1e-7d2a-9f00-1234abcd5678".into(),
            customer_id: "cust-1".into(),
            item_count: 1,
            total_cents: 950,
            currency: "EUR".into(),
            delivery_address: "1 Main St".into(),
            status: DeliveryStatus::Assigned,
            courier: Some("courier-1".into()),
            eta: None,
            version: 2,
            created_at: at("2026-01-02T11:57:00Z"),
            updated_at: at("2026-01-02T11:59:00Z"),
            history: vec![],
        };
        assert!(
            delivery(&d, now, false).contains("COURIER   Camille Martin (courier-1)"),
            "{}",
            delivery(&d, now, false)
        );
        let list = deliveries(std::slice::from_ref(&d), now, false, false);
        assert!(
            list.contains("ASSIGNED  -           Camille Martin"),
            "{list}"
        );
        assert!(
            change_line(&d, now).contains("courier Camille Martin"),
            "{}",
            change_line(&d, now)
        );
    }

    #[test]
    fn couriers_show_their_shift_and_load() {
        let cs = [
            Courier {
                id: "courier-1".into(),
                name: "Camille Martin".into(),
                on_shift: true,
                active_deliveries: 2,
            },
            Courier {
                id: "courier-2".into(),
                name: "Malik Benali".into(),
                on_shift: false,
                active_deliveries: 0,
            },
        ];
        let text = couriers(&cs, false);
        let expected = "\
ID         NAME            ON SHIFT  ACTIVE
courier-1  Camille Martin  yes       2
courier-2  Malik Benali    no        0";
        assert_eq!(text, expected, "\n{text}");
    }
}
