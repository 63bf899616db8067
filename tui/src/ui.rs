//! Drawing: [`render`] turns an [`App`] into one frame; nothing else here
//! holds state. Only the cards that fit on screen are drawn, so a frame costs
//! the same with ten deliveries or ten thousand.

use chrono::{DateTime, Utc};
use food_api::{Delivery, DeliveryStatus, format_money, short_id};
use ratatui::{
    Frame, Terminal,
    backend::TestBackend,
    buffer::Buffer,
    layout::{Constraint, Layout, Rect},
    style::{Color, Style, Stylize},
    text::{Line, Span},
    widgets::{Block, BorderType, Borders, Clear, Padding, Paragraph, Wrap},
};

use crate::app::{Ageing, App, Card, Conn, LaneKind, Mode, Overlay, format_age};

/// Lines per card: id and age, restaurant, customer and items, total and
/// courier.
const CARD_HEIGHT: u16 = 4;

/// Draws the whole board.
pub fn render(app: &App, frame: &mut Frame<'_>) {
    let [header, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    render_header(app, frame, header);
    let body = match app.couriers() {
        // The panel only where the lanes keep room to breathe.
        Some(couriers) if body.width >= 100 => {
            let [lanes, panel] =
                Layout::horizontal([Constraint::Fill(1), Constraint::Length(COURIERS_WIDTH)])
                    .areas(body);
            render_couriers(couriers, frame, panel);
            lanes
        }
        _ => body,
    };
    render_lanes(app, frame, body);
    render_status(app, frame, status);
    render_footer(app, frame, footer);
    match app.overlay() {
        Overlay::None => {}
        Overlay::Detail => render_detail(app, frame, body),
        Overlay::Help => render_help(app, frame, body),
    }
}

/// Columns of the couriers panel.
const COURIERS_WIDTH: u16 = 30;

/// The couriers panel: who is on shift and how many active deliveries each
/// has, on shift first.
fn render_couriers(couriers: &[food_api::Courier], frame: &mut Frame<'_>, area: Rect) {
    let on = couriers.iter().filter(|c| c.on_shift).count();
    let block = Block::new()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(Style::new().dark_gray())
        .title(
            Line::from(format!(" COURIERS {on}/{} on shift ", couriers.len()))
                .bold()
                .white(),
        );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width);
    let mut lines: Vec<Line<'_>> = couriers
        .iter()
        .map(|c| {
            let (dot, name_style) = if c.on_shift {
                (Span::raw("● ").green(), Style::new())
            } else {
                (Span::raw("○ ").dark_gray(), Style::new().dark_gray())
            };
            let load = c.active_deliveries.to_string();
            let load = if c.active_deliveries > 0 {
                Span::raw(load).cyan().bold()
            } else {
                Span::raw(load).dark_gray()
            };
            let name: String = c.name.chars().take(width.saturating_sub(5)).collect();
            let pad = width
                .saturating_sub(2 + name.chars().count() + load.width())
                .max(1);
            Line::from(vec![
                dot,
                Span::styled(name, name_style),
                Span::raw(" ".repeat(pad)),
                load,
            ])
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::from("no couriers").dark_gray());
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// Draws one frame into an off-screen buffer and returns it as plain text,
/// one line per row with trailing blanks trimmed (`--snapshot`, tests).
pub fn render_to_text(app: &App, width: u16, height: u16) -> String {
    let mut terminal =
        Terminal::new(TestBackend::new(width, height)).expect("a test backend never fails");
    terminal
        .draw(|f| render(app, f))
        .expect("a test backend never fails");
    buffer_to_text(terminal.backend().buffer())
}

/// The symbols of a buffer, row by row.
pub fn buffer_to_text(buf: &Buffer) -> String {
    let mut out =
        String::with_capacity(usize::from(buf.area.width + 1) * usize::from(buf.area.height));
    for y in buf.area.top()..buf.area.bottom() {
        let start = out.len();
        for x in buf.area.left()..buf.area.right() {
            out.push_str(buf[(x, y)].symbol());
        }
        let trimmed = out[start..].trim_end().len();
        out.truncate(start + trimmed);
        out.push('\n');
    }
    out
}

fn clock(app: &App, t: DateTime<Utc>) -> String {
    t.with_timezone(&app.options.tz)
        .format("%H:%M:%S")
        .to_string()
}

fn render_header(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let conn = match app.conn() {
        Conn::Connecting { attempt: 0 } => Span::raw("◌ connecting").yellow(),
        Conn::Connecting { attempt } => Span::raw(format!("◌ reconnecting {attempt}")).yellow(),
        Conn::Live => Span::raw("● live").green().bold(),
        Conn::Stale { since, attempt, .. } => {
            let retry = if *attempt > 0 {
                format!(" · reconnecting {attempt}")
            } else {
                String::new()
            };
            Span::raw(format!("▲ stale since {}{retry}", clock(app, *since)))
                .red()
                .bold()
        }
    };
    let active: usize = DeliveryStatus::ACTIVE[..4]
        .iter()
        .map(|s| app.count(*s))
        .sum();
    // (priority, segment): on a narrow terminal the least important go first.
    let mut segments: Vec<(u8, Span<'_>)> = vec![(3, Span::raw("food-board").bold())];
    if !app.options.source.is_empty() {
        segments.push((2, Span::raw(app.options.source.as_str()).cyan()));
    }
    // A board for one kitchen's counter says whose it is before anything else.
    if let Some(r) = &app.options.restaurant {
        segments.push((10, Span::raw(r.as_str()).yellow().bold()));
    }
    segments.extend([
        (9, conn),
        (6, Span::raw(format!("{:.1} ev/s", app.events_per_second()))),
        (
            8,
            Span::raw(format!(
                "active {active} · delivered {} · cancelled {} · failed {}",
                app.count(DeliveryStatus::Delivered),
                app.count(DeliveryStatus::Cancelled),
                app.count(DeliveryStatus::Failed),
            )),
        ),
        (4, Span::raw(format!("sort {}", app.sort().as_str()))),
    ]);
    if !app.filter().is_empty() {
        segments.push((7, Span::raw(format!("/{}", app.filter())).magenta()));
    }
    if app.options.read_only {
        segments.push((5, Span::raw("read-only").dark_gray()));
    }
    let now = clock(app, app.now());
    let clock_width = now.len() as u16 + 2;
    let room = usize::from(area.width.saturating_sub(clock_width));
    const SEP: usize = 3;
    let width = |segs: &[(u8, Span<'_>)]| segs.iter().map(|(_, s)| s.width() + SEP).sum::<usize>();
    while width(&segments) > room && segments.len() > 1 {
        let lowest = segments
            .iter()
            .enumerate()
            .min_by_key(|(_, (p, _))| *p)
            .map(|(i, _)| i)
            .expect("not empty");
        segments.remove(lowest);
    }
    let mut spans = vec![Span::raw(" ")];
    for (i, (_, seg)) in segments.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw(" │ ").dark_gray());
        }
        spans.push(seg);
    }
    let [left, right] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(clock_width)]).areas(area);
    frame.render_widget(Line::from(spans), left);
    frame.render_widget(Line::from(now).bold().right_aligned(), right);
}

fn lane_title(app: &App, kind: LaneKind, shown: usize, total: usize) -> String {
    let count = if app.filter().is_empty() {
        total.to_string()
    } else {
        format!("{shown}/{total}")
    };
    match kind {
        LaneKind::Status(s) => format!(" {s} {count} "),
        LaneKind::Terminal => format!(" CANCELLED/FAILED {count} "),
    }
}

fn render_lanes(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let view = app.view();
    if view.lanes.is_empty() {
        return;
    }
    let (sel_lane, sel_row) = app.selection();
    let areas = Layout::horizontal(vec![Constraint::Fill(1); view.lanes.len()]).split(area);
    for (ix, (lane, lane_area)) in view.lanes.iter().zip(areas.iter()).enumerate() {
        let selected_lane = ix == sel_lane;
        let border = if selected_lane {
            Style::new().cyan().bold()
        } else {
            Style::new().dark_gray()
        };
        let mut block = Block::new()
            .borders(Borders::ALL)
            .border_type(BorderType::Rounded)
            .border_style(border)
            .title(
                Line::from(lane_title(app, lane.kind, lane.ids.len(), lane.total))
                    .bold()
                    .white(),
            );
        let inner = block.inner(*lane_area);
        let capacity = usize::from(inner.height / CARD_HEIGHT).max(1);
        let row = if selected_lane { sel_row } else { None };
        // Keep the selected card in sight: scroll just enough, as k9s does.
        let offset = row.map_or(0, |r| (r + 1).saturating_sub(capacity));
        let end = (offset + capacity).min(lane.ids.len());
        let hidden = lane.ids.len() - (end - offset);
        if hidden > 0 {
            block = block.title_bottom(
                Line::from(format!(" +{hidden} more "))
                    .right_aligned()
                    .dark_gray(),
            );
        }
        frame.render_widget(block, *lane_area);
        for (slot, i) in (offset..end).enumerate() {
            let Some(card) = app.card(&lane.ids[i]) else {
                continue;
            };
            let y = inner.y + slot as u16 * CARD_HEIGHT;
            if y + CARD_HEIGHT > inner.bottom() {
                break;
            }
            let card_area = Rect::new(inner.x, y, inner.width, CARD_HEIGHT);
            render_card(app, frame, card_area, card, lane.kind, row == Some(i));
        }
        if lane.ids.is_empty() && inner.height > 0 {
            let text = if lane.total > 0 { "(filtered)" } else { "—" };
            frame.render_widget(Line::from(text).dark_gray().centered(), inner);
        }
    }
}

fn age_style(ageing: Ageing) -> Style {
    match ageing {
        Ageing::Fresh => Style::new().green(),
        Ageing::Warn => Style::new().yellow().bold(),
        Ageing::Alert => Style::new().red().bold(),
    }
}

/// `text` on the left, `right` flush right, in `width` columns.
fn spread<'a>(left: Vec<Span<'a>>, right: Span<'a>, width: u16) -> Line<'a> {
    let used: usize = left.iter().map(Span::width).sum::<usize>() + right.width();
    let pad = usize::from(width).saturating_sub(used).max(1);
    let mut spans = left;
    spans.push(Span::raw(" ".repeat(pad)));
    spans.push(right);
    Line::from(spans)
}

fn render_card(
    app: &App,
    frame: &mut Frame<'_>,
    area: Rect,
    card: &Card,
    lane: LaneKind,
    selected: bool,
) {
    let d: &Delivery = &card.delivery;
    let ageing = app.ageing(card);
    let gutter = if selected {
        Span::raw("▌").cyan().bold()
    } else {
        Span::raw(" ")
    };
    let width = area.width.saturating_sub(1);
    let age = format_age(app.now() - card.since);
    let right = match lane {
        LaneKind::Terminal => Span::raw(age).dark_gray(),
        LaneKind::Status(_) => Span::styled(age, age_style(ageing)),
    };
    let id_style = match ageing {
        Ageing::Alert => Style::new().red().bold(),
        Ageing::Warn => Style::new().yellow().bold(),
        Ageing::Fresh => Style::new().bold(),
    };
    let items = if d.item_count == 1 {
        "1 item".to_owned()
    } else {
        format!("{} items", d.item_count)
    };
    let courier = match courier_label(app, d) {
        Some(c) => Span::raw(c).cyan(),
        None => Span::raw("—").dark_gray(),
    };
    // In the mixed lane the status says which of the two it is.
    let status = (lane == LaneKind::Terminal).then(|| {
        let style = if d.status == DeliveryStatus::Failed {
            Style::new().red().bold()
        } else {
            Style::new().dark_gray().bold()
        };
        [
            Span::styled(d.status.as_str(), style),
            Span::raw(" · ").dark_gray(),
        ]
    });
    let line1 = {
        let mut spans = vec![gutter.clone()];
        spans.extend(
            spread(
                vec![Span::styled(short_id(&d.order_id).to_owned(), id_style)],
                right,
                width,
            )
            .spans,
        );
        Line::from(spans)
    };
    let mut line2 = vec![gutter.clone()];
    line2.extend(status.into_iter().flatten());
    line2.extend([
        Span::raw(d.customer_id.clone()),
        Span::raw(" · ").dark_gray(),
        Span::raw(items),
    ]);
    let line2 = Line::from(line2);
    // A delivery from before restaurants has none to show.
    let restaurant = match d.restaurant_name.as_deref().or(d.restaurant_id.as_deref()) {
        Some(r) if !r.is_empty() => Span::raw(r.to_owned()),
        _ => Span::raw("—").dark_gray(),
    };
    let restaurant = Line::from(vec![gutter.clone(), restaurant]);
    let line3 = Line::from(vec![
        gutter,
        Span::raw(format_money(d.total_cents, &d.currency)),
        Span::raw(" · ").dark_gray(),
        courier,
    ]);
    let mut p = Paragraph::new(vec![line1, restaurant, line2, line3]);
    if selected {
        p = p.style(Style::new().bg(Color::Rgb(40, 44, 52)));
    }
    frame.render_widget(p, area);
}

/// A delivery's courier as people know it: the name the delivery carries,
/// else the couriers panel's, else its id.
fn courier_label(app: &App, d: &Delivery) -> Option<String> {
    let id = d.courier.as_deref().filter(|c| !c.is_empty());
    d.courier_name
        .as_deref()
        .filter(|n| !n.is_empty())
        .or_else(|| id.and_then(|id| app.courier_name(id)))
        .or(id)
        .map(str::to_owned)
}

fn render_status(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let line = match app.mode() {
        Mode::Filter => Line::from(vec![
            Span::raw(" /").magenta().bold(),
            Span::raw(app.filter().to_owned()),
            Span::raw("▏").magenta(),
            Span::raw("   (Enter keeps it, Esc clears)").dark_gray(),
        ]),
        Mode::Courier {
            order_id,
            input,
            next,
        } => Line::from(vec![
            Span::raw(format!(
                " courier id for {} (→ {next}): ",
                short_id(order_id)
            ))
            .cyan()
            .bold(),
            Span::raw(input.clone()),
            Span::raw("▏").cyan(),
            Span::raw("   (Enter sends, Esc aborts)").dark_gray(),
        ]),
        _ => match (app.status_line(), app.conn()) {
            (Some(s), _) if s.error => Line::from(format!(" {}", s.text)).red(),
            (Some(s), _) => Line::from(format!(" {}", s.text)),
            (None, Conn::Stale { error, .. }) => {
                Line::from(format!(" feed lost: {error}; showing the last board")).yellow()
            }
            (None, _) => Line::default(),
        },
    };
    frame.render_widget(line, area);
}

/// (key, what) pairs for the footer and the help.
fn key_hints(app: &App) -> Vec<(&'static str, &'static str)> {
    let mut keys = vec![("←↓↑→/hjkl", "move"), ("⏎", "detail")];
    if !app.options.read_only {
        keys.extend([("a", "advance"), ("x", "cancel"), ("c", "courier")]);
    }
    keys.extend([
        ("/", "filter"),
        ("s", "sort"),
        ("t", "terminal"),
        ("r", "resync"),
        ("?", "help"),
        ("q", "quit"),
    ]);
    keys
}

fn render_footer(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let mut spans = vec![Span::raw(" ")];
    for (key, what) in key_hints(app) {
        spans.push(Span::raw(key).cyan().bold());
        spans.push(Span::raw(format!(" {what}  ")).dark_gray());
    }
    frame.render_widget(Line::from(spans), area);
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn popup<'a>(title: String, hint: String) -> Block<'a> {
    Block::new()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(Style::new().cyan())
        .padding(Padding::horizontal(1))
        .title(Line::from(title).bold())
        .title_bottom(Line::from(hint).right_aligned().dark_gray())
}

fn field<'a>(name: &'a str, value: impl Into<Span<'a>>) -> Line<'a> {
    Line::from(vec![
        Span::raw(format!("{name:<11}")).dark_gray(),
        value.into(),
    ])
}

/// `Trattoria da Luca (trattoria-da-luca)`, or `—` for a delivery from
/// before restaurants.
fn restaurant_text(d: &Delivery) -> String {
    let name = d.restaurant_name.as_deref().filter(|n| !n.is_empty());
    let id = d.restaurant_id.as_deref().filter(|i| !i.is_empty());
    match (name, id) {
        (Some(n), Some(i)) => format!("{n} ({i})"),
        (Some(x), None) | (None, Some(x)) => x.to_owned(),
        (None, None) => "—".into(),
    }
}

fn render_detail(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let Some(d) = app.selected() else { return };
    let card = app
        .card(&d.order_id)
        .expect("the selection is on the board");
    let stamp = |t: DateTime<Utc>| {
        t.with_timezone(&app.options.tz)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    let mut lines = vec![
        field(
            "status",
            Span::raw(format!(
                "{} (version {}), {} in status",
                d.status,
                d.version,
                format_age(app.now() - card.since)
            ))
            .bold(),
        ),
        field("restaurant", restaurant_text(d)),
        field(
            "pick-up",
            d.pickup_address
                .clone()
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| "—".into()),
        ),
        field("customer", d.customer_id.clone()),
        field(
            "courier",
            match (courier_label(app, d), d.courier.as_deref()) {
                (Some(name), Some(id)) if name != id => format!("{name} ({id})"),
                (Some(name), _) => name,
                (None, _) => "—".into(),
            },
        ),
        field("eta", d.eta.map_or_else(|| "—".into(), stamp)),
        field("address", d.delivery_address.clone()),
        field(
            "total",
            format!(
                "{} · {} item{}",
                format_money(d.total_cents, &d.currency),
                d.item_count,
                if d.item_count == 1 { "" } else { "s" }
            ),
        ),
        field("created", stamp(d.created_at)),
        field("updated", stamp(d.updated_at)),
        Line::default(),
        Line::from("items").bold(),
    ];
    match app.detail_order() {
        Some(o) if o.id == d.order_id => {
            for l in &o.items {
                lines.push(Line::from(format!(
                    "  {:>2} × {:<24} {:>14}",
                    l.quantity,
                    l.name,
                    format_money(l.line_total_cents, &o.currency)
                )));
            }
        }
        _ => lines.push(Line::from("  (loading…)").dark_gray()),
    }
    lines.push(Line::default());
    lines.push(Line::from("history").bold());
    for h in &d.history {
        let mut spans = vec![
            Span::raw(format!("  {}  ", stamp(h.at))).dark_gray(),
            Span::raw(format!("{:<10}", h.status.as_str())),
        ];
        if let Some(c) = &h.courier {
            spans.push(Span::raw(format!("  {c}")).cyan());
        }
        if let Some(n) = &h.note {
            spans.push(Span::raw(format!("  “{n}”")).italic());
        }
        lines.push(Line::from(spans));
    }
    let height = lines.len() as u16 + 2;
    let rect = centered(area, 76, height);
    let hint = if app.options.read_only || d.status.is_terminal() {
        " Esc closes ".to_owned()
    } else {
        " a advance · x cancel · c courier · Esc closes ".to_owned()
    };
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(popup(format!(" order {} ", d.order_id), hint)),
        rect,
    );
}

fn render_help(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let mut rows = vec![
        ("←↓↑→ or hjkl", "move between lanes and cards"),
        ("PgUp PgDn g G", "scroll a lane, jump to its top or bottom"),
        ("Enter", "open or close the detail pane"),
    ];
    if !app.options.read_only {
        rows.extend([
            ("a", "advance to the next status"),
            ("x", "cancel the delivery (asks first)"),
            ("c", "set the courier (its id), with the next status"),
        ]);
    }
    rows.extend([
        ("/", "filter on order id, restaurant, customer or courier"),
        ("s", "cycle the sort: age, id, total"),
        ("t", "show or hide CANCELLED and FAILED"),
        ("r", "resync from a fresh snapshot"),
        ("Esc", "close, or clear the filter"),
        ("q Ctrl-C", "quit"),
    ]);
    let mut lines: Vec<Line<'_>> = rows
        .into_iter()
        .map(|(k, v)| {
            Line::from(vec![
                Span::raw(format!("{k:<15}")).cyan().bold(),
                Span::raw(v),
            ])
        })
        .collect();
    lines.push(Line::default());
    lines.push(
        Line::from(format!(
            "cards turn yellow after {} and red after {} in a status",
            format_age(app.options.warn_after),
            format_age(app.options.alert_after)
        ))
        .dark_gray(),
    );
    let rect = centered(area, 66, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).block(popup(" help ".into(), " any key closes ".into())),
        rect,
    );
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use crossterm::event::KeyCode;
    use food_api::{DeliveryStatus::*, Order, OrderLine, OrderStatus};

    use super::*;
    use crate::app::{
        DataEvent, Msg, Options,
        tests::{code, delivery, key, t0},
    };

    fn board() -> App {
        let mut app = App::new(
            Options {
                source: "local".into(),
                ..Options::default()
            },
            t0(),
        );
        let mut n = 0;
        for (status, ages) in [
            (Pending, &[25_i64, 12, 3, 1][..]),
            (Assigned, &[8, 2][..]),
            (PickedUp, &[4][..]),
            (InTransit, &[15, 6, 1][..]),
            (Delivered, &[30][..]),
            (Cancelled, &[40][..]),
            (Failed, &[50][..]),
        ] {
            for age in ages {
                n += 1;
                app.apply(delivery(n, status, 2, *age));
            }
        }
        app.on_data(DataEvent::Snapshot(vec![]));
        app
    }

    #[test]
    fn the_board_shows_one_lane_per_status_with_cards() {
        let app = board();
        insta::assert_snapshot!("board", render_to_text(&app, 120, 24));
    }

    #[test]
    fn the_terminal_lane_shows_cancelled_and_failed() {
        let mut app = board();
        app.on_key(key('t'));
        insta::assert_snapshot!("terminal_lane", render_to_text(&app, 140, 14));
    }

    #[test]
    fn the_detail_pane_shows_history_items_and_version() {
        let mut app = board();
        app.on_key(key('l'));
        let cmd = app.on_key(code(KeyCode::Enter));
        let Some(crate::app::Command::FetchOrder { order_id }) = cmd else {
            panic!("{cmd:?}")
        };
        app.on_msg(Msg::OrderLoaded(Ok(Order {
            ready_by: None,
            rejection_reason: None,
            restaurant_id: None,
            restaurant_name: None,
            pickup_address: None,
            id: order_id,
            customer_id: "cust-05".into(),
            status: OrderStatus::Preparing,
            items: vec![OrderLine {
                item_id: "margherita".into(),
                name: "Margherita".into(),
                quantity: 2,
                unit_price_cents: 850,
                line_total_cents: 1700,
            }],
            total_cents: 1700,
            currency: "EUR".into(),
            delivery_address: "5 Main Street".into(),
            note: None,
            created_at: t0(),
            updated_at: t0(),
        })));
        insta::assert_snapshot!("detail", render_to_text(&app, 120, 30));
    }

    #[test]
    fn help_lists_the_keys() {
        let mut app = board();
        app.on_key(key('?'));
        insta::assert_snapshot!("help", render_to_text(&app, 120, 24));
    }

    #[test]
    fn a_filter_narrows_the_lanes_and_shows_in_the_header() {
        let mut app = board();
        app.on_key(key('/'));
        for c in "courier-1".chars() {
            app.on_key(key(c));
        }
        insta::assert_snapshot!("filter", render_to_text(&app, 120, 16));
    }

    #[test]
    fn a_filter_matches_restaurant_names() {
        let mut app = board();
        app.on_key(key('/'));
        for c in "trattoria".chars() {
            app.on_key(key(c));
        }
        app.on_key(code(KeyCode::Enter));
        insta::assert_snapshot!("filter_restaurant", render_to_text(&app, 120, 16));
    }

    #[test]
    fn a_restaurant_board_shows_only_its_cards_and_names_it_in_the_header() {
        // Arrange: the data side admits only this restaurant's deliveries.
        let scope = crate::config::Scope::restaurant("sakura-sushi");
        let mut app = App::new(
            Options {
                source: "local".into(),
                restaurant: Some("Sakura Sushi".into()),
                ..Options::default()
            },
            t0(),
        );
        let all: Vec<_> = (1..=12)
            .map(|n| {
                let status = [Pending, Assigned, PickedUp, InTransit][n as usize % 4];
                delivery(n, status, 2, i64::from(n))
            })
            .collect();
        // Act
        app.on_data(DataEvent::Snapshot(
            all.into_iter().filter(|d| scope.admits(d)).collect(),
        ));
        // Assert
        let text = render_to_text(&app, 120, 16);
        assert!(
            !text.contains("Trattoria") && !text.contains("Bangkok"),
            "{text}"
        );
        insta::assert_snapshot!("restaurant_board", text);
    }

    #[test]
    fn the_detail_pane_of_an_order_from_before_restaurants_shows_dashes() {
        let mut app = board();
        // 00000006 (ASSIGNED) has no restaurant.
        assert!(app.select("0190f3b2-7c1e-7d2a-9f00-000000000006"));
        let card = render_to_text(&app, 120, 30);
        app.on_key(code(KeyCode::Enter));
        let text = render_to_text(&app, 120, 30);
        assert!(card.contains("│▌00000006 "), "{card}");
        assert!(
            card.contains("│▌—   "),
            "the card renders, without a restaurant: {card}"
        );
        assert!(text.contains("│ restaurant —"), "{text}");
        assert!(text.contains("│ pick-up    —"), "{text}");
    }

    #[test]
    fn a_lost_feed_shows_a_stale_header_and_keeps_the_board() {
        let mut app = board();
        app.set_now(t0() + TimeDelta::seconds(5));
        app.on_data(DataEvent::Lost {
            error: "broker 127.0.0.1:9092 unreachable".into(),
        });
        app.set_now(t0() + TimeDelta::seconds(12));
        app.on_data(DataEvent::Connecting { attempt: 3 });
        insta::assert_snapshot!("stale", render_to_text(&app, 120, 12));
    }

    #[test]
    fn a_read_only_board_hides_the_actions() {
        let mut app = board();
        app.options.read_only = true;
        let text = render_to_text(&app, 160, 10);
        let footer = text.lines().last().unwrap();
        assert!(!footer.contains("advance"), "{footer}");
        assert!(footer.contains("filter"), "{footer}");
    }

    #[test]
    fn ageing_cards_are_drawn_yellow_and_red() {
        let app = board();
        let mut terminal = Terminal::new(TestBackend::new(120, 24)).unwrap();
        terminal.draw(|f| render(&app, f)).unwrap();
        let buf = terminal.backend().buffer();
        let fg_of = |needle: &str| {
            let text = buffer_to_text(buf);
            let (y, line) = text
                .lines()
                .enumerate()
                .find(|(_, l)| l.contains(needle))
                .unwrap();
            let x = line[..line.find(needle).unwrap()].chars().count();
            buf[(x as u16, y as u16)].fg
        };
        assert_eq!(fg_of("00000001"), Color::Red, "25 minutes pending");
        assert_eq!(fg_of("00000002"), Color::Yellow, "12 minutes pending");
        assert_eq!(fg_of("00000003"), Color::Reset, "3 minutes pending");
    }

    fn couriers() -> Vec<food_api::Courier> {
        [
            ("courier-1", "Camille Martin", true, 2),
            ("courier-2", "Malik Benali", false, 0),
            ("courier-3", "Inès Laurent", true, 0),
        ]
        .into_iter()
        .map(|(id, name, on_shift, active)| food_api::Courier {
            id: id.into(),
            name: name.into(),
            on_shift,
            active_deliveries: active,
        })
        .collect()
    }

    #[test]
    fn the_couriers_panel_shows_shift_and_load_and_cards_show_names() {
        let mut app = board();
        app.on_msg(Msg::Couriers(couriers()));
        let text = render_to_text(&app, 150, 24);
        assert!(text.contains("COURIERS 2/3 on shift"), "{text}");
        insta::assert_snapshot!("couriers_panel", text);
    }

    #[test]
    fn an_auto_assignment_shows_live_on_the_card_and_in_the_panel() {
        // Arrange: a pending delivery, and couriers with no load.
        let mut app = board();
        let mut cs = couriers();
        cs[2].active_deliveries = 0;
        app.on_msg(Msg::Couriers(cs));
        let mut d = app
            .delivery("0190f3b2-7c1e-7d2a-9f00-000000000004")
            .unwrap()
            .clone();
        assert_eq!(d.status, Pending);
        // Act: dispatch gives it to Inès.
        d.status = Assigned;
        d.courier = Some("courier-3".into());
        d.courier_name = Some("Inès Laurent".into());
        d.version += 1;
        app.on_data(DataEvent::Changed(d.clone()));
        // Assert
        let ines = app
            .couriers()
            .unwrap()
            .iter()
            .find(|c| c.id == "courier-3")
            .unwrap();
        assert_eq!(ines.active_deliveries, 1);
        let text = render_to_text(&app, 150, 24);
        assert!(text.contains("Inès Laurent"), "{text}");
        // A duplicate (the action's answer, then its event) counts once.
        app.on_data(DataEvent::Changed(d.clone()));
        assert_eq!(
            app.couriers()
                .unwrap()
                .iter()
                .find(|c| c.id == "courier-3")
                .unwrap()
                .active_deliveries,
            1
        );
        // Delivered: the load falls again.
        d.status = PickedUp;
        d.version += 1;
        app.on_data(DataEvent::Changed(d.clone()));
        d.status = InTransit;
        d.version += 1;
        app.on_data(DataEvent::Changed(d.clone()));
        d.status = Delivered;
        d.version += 1;
        app.on_data(DataEvent::Changed(d));
        assert_eq!(
            app.couriers()
                .unwrap()
                .iter()
                .find(|c| c.id == "courier-3")
                .unwrap()
                .active_deliveries,
            0
        );
    }

    #[test]
    fn a_tiny_terminal_does_not_panic() {
        let mut app = board();
        for (w, h) in [(1, 1), (10, 3), (30, 5), (0, 0)] {
            render_to_text(&app, w, h);
        }
        app.on_key(key('?'));
        render_to_text(&app, 8, 4);
        app.on_key(key('?'));
        app.on_key(code(KeyCode::Enter));
        render_to_text(&app, 8, 4);
    }
}
