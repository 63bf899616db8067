//! Drawing the kitchen: a header (restaurant, connection, counts, clock),
//! the three lanes of cards, the status line or prompt, and the keys.

use chrono::TimeDelta;
use food_api::{Order, OrderStatus, short_id};
use ratatui::{
    Frame, Terminal,
    backend::TestBackend,
    layout::{Constraint, Layout, Rect},
    style::{Color, Style, Stylize},
    text::{Line, Span},
    widgets::{Block, BorderType, Borders, Clear, Padding, Paragraph},
};

use super::{Kitchen, KitchenMode};
use crate::{
    app::{Conn, format_age},
    ui::buffer_to_text,
};

/// Item lines shown on a card; more are summed up as `+N more`.
const ITEM_LINES: usize = 3;
/// Lines per card: id and age, the items, the countdown.
const CARD_HEIGHT: u16 = ITEM_LINES as u16 + 2;

/// Draws the whole kitchen.
pub fn render(k: &Kitchen, frame: &mut Frame<'_>) {
    let [header, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    render_header(k, frame, header);
    render_lanes(k, frame, body);
    render_status(k, frame, status);
    render_footer(k, frame, footer);
    if k.help_shown() {
        render_help(k, frame, body);
    }
}

/// One frame as text (`--snapshot`, tests).
pub fn render_to_text(k: &Kitchen, width: u16, height: u16) -> String {
    let mut terminal =
        Terminal::new(TestBackend::new(width, height)).expect("a test backend never fails");
    terminal
        .draw(|f| render(k, f))
        .expect("a test backend never fails");
    buffer_to_text(terminal.backend().buffer())
}

fn clock(k: &Kitchen) -> String {
    k.now()
        .with_timezone(&k.options.tz)
        .format("%H:%M:%S")
        .to_string()
}

fn render_header(k: &Kitchen, frame: &mut Frame<'_>, area: Rect) {
    let conn = match k.conn() {
        Conn::Connecting { attempt: 0 } => Span::raw("◌ connecting").yellow(),
        Conn::Connecting { attempt } => Span::raw(format!("◌ reconnecting {attempt}")).yellow(),
        Conn::Live => Span::raw("● live").green().bold(),
        Conn::Stale { since, attempt, .. } => {
            let retry = if *attempt > 0 {
                format!(" · reconnecting {attempt}")
            } else {
                String::new()
            };
            Span::raw(format!(
                "▲ stale since {}{retry}",
                since.with_timezone(&k.options.tz).format("%H:%M:%S")
            ))
            .red()
            .bold()
        }
    };
    let late = k
        .lane_orders(1)
        .iter()
        .filter(|o| k.countdown(o).is_some_and(|d| d < TimeDelta::zero()))
        .count();
    let restaurant = k
        .options
        .restaurant
        .clone()
        .unwrap_or_else(|| k.restaurant_id.clone());
    let mut spans = vec![
        Span::raw(" "),
        Span::raw("kitchen").bold(),
        Span::raw(" │ ").dark_gray(),
        Span::raw(restaurant).yellow().bold(),
        Span::raw(" │ ").dark_gray(),
        conn,
        Span::raw(" │ ").dark_gray(),
        Span::raw(format!(
            "to answer {} · preparing {} · ready {}",
            k.lane_orders(0).len(),
            k.lane_orders(1).len(),
            k.lane_orders(2).len()
        )),
    ];
    if late > 0 {
        spans.push(Span::raw(" │ ").dark_gray());
        spans.push(Span::raw(format!("{late} late")).red().bold());
    }
    if !k.options.source.is_empty() {
        spans.push(Span::raw(" │ ").dark_gray());
        spans.push(Span::raw(k.options.source.clone()).cyan());
    }
    let now = clock(k);
    let clock_width = now.len() as u16 + 2;
    let [left, right] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(clock_width)]).areas(area);
    frame.render_widget(Line::from(spans), left);
    frame.render_widget(Line::from(now).bold().right_aligned(), right);
}

fn render_lanes(k: &Kitchen, frame: &mut Frame<'_>, area: Rect) {
    let lanes = OrderStatus::KITCHEN;
    let areas = Layout::horizontal(vec![Constraint::Fill(1); lanes.len()]).split(area);
    let sel_row = k.selected_row();
    for (ix, (status, lane_area)) in lanes.iter().zip(areas.iter()).enumerate() {
        let orders = k.lane_orders(ix);
        let selected_lane = ix == k.selected_lane();
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
                Line::from(format!(" {status} {} ", orders.len()))
                    .bold()
                    .white(),
            );
        let inner = block.inner(*lane_area);
        let capacity = usize::from(inner.height / CARD_HEIGHT).max(1);
        let row = if selected_lane { sel_row } else { None };
        let offset = row.map_or(0, |r| (r + 1).saturating_sub(capacity));
        let end = (offset + capacity).min(orders.len());
        let hidden = orders.len() - (end - offset);
        if hidden > 0 {
            block = block.title_bottom(
                Line::from(format!(" +{hidden} more "))
                    .right_aligned()
                    .dark_gray(),
            );
        }
        frame.render_widget(block, *lane_area);
        for (slot, i) in (offset..end).enumerate() {
            let y = inner.y + slot as u16 * CARD_HEIGHT;
            if y + CARD_HEIGHT > inner.bottom() {
                break;
            }
            let card = Rect::new(inner.x, y, inner.width, CARD_HEIGHT);
            render_card(k, frame, card, orders[i], row == Some(i));
        }
        if orders.is_empty() && inner.height > 0 {
            frame.render_widget(Line::from("—").dark_gray().centered(), inner);
        }
    }
}

/// `12m`, `1h05m`: a countdown's size, whatever its sign.
fn minutes(d: TimeDelta) -> String {
    let secs = d.num_seconds().abs();
    if secs < 60 {
        format!("{secs}s")
    } else {
        format_age(TimeDelta::seconds(secs))
    }
}

/// The card's last line: what the kitchen must watch for this order.
fn countdown(k: &Kitchen, o: &Order) -> Span<'static> {
    match o.status {
        OrderStatus::Placed => match k.answer_within(o) {
            Some(left) if left > TimeDelta::zero() => {
                let style = if left < TimeDelta::minutes(1) {
                    Style::new().red().bold()
                } else {
                    Style::new().yellow()
                };
                Span::styled(format!("answer within {}", minutes(left)), style)
            }
            Some(_) => Span::raw("answer overdue").red().bold(),
            None => Span::raw("waiting to be accepted").dark_gray(),
        },
        OrderStatus::Preparing => match k.countdown(o) {
            Some(left) if left >= TimeDelta::zero() => {
                let style = if left < TimeDelta::minutes(2) {
                    Style::new().yellow().bold()
                } else {
                    Style::new().green()
                };
                let at = o
                    .ready_by
                    .map(|t| t.with_timezone(&k.options.tz).format("%H:%M").to_string())
                    .unwrap_or_default();
                Span::styled(format!("ready in {} ({at})", minutes(left)), style)
            }
            Some(late) => Span::raw(format!("late {}", minutes(late)))
                .white()
                .on_red()
                .bold(),
            None => Span::raw("no ready-by time").dark_gray(),
        },
        _ => Span::raw(format!("waiting {}", format_age(k.now() - o.updated_at))).cyan(),
    }
}

fn render_card(k: &Kitchen, frame: &mut Frame<'_>, area: Rect, o: &Order, selected: bool) {
    let gutter = || {
        if selected {
            Span::raw("▌").cyan().bold()
        } else {
            Span::raw(" ")
        }
    };
    let late =
        o.status == OrderStatus::Preparing && k.countdown(o).is_some_and(|d| d < TimeDelta::zero());
    let id_style = if late {
        Style::new().red().bold()
    } else {
        Style::new().bold()
    };
    let age = format_age(k.now() - o.created_at);
    let width = usize::from(area.width.saturating_sub(1));
    let id = short_id(&o.id).to_owned();
    let pad = width.saturating_sub(id.len() + age.len()).max(1);
    let mut lines = vec![Line::from(vec![
        gutter(),
        Span::styled(id, id_style),
        Span::raw(" ".repeat(pad)),
        Span::raw(age).dark_gray(),
    ])];
    let shown = if o.items.len() > ITEM_LINES {
        ITEM_LINES - 1
    } else {
        ITEM_LINES
    };
    for l in o.items.iter().take(shown) {
        lines.push(Line::from(vec![
            gutter(),
            Span::raw(format!("{} × ", l.quantity)).dark_gray(),
            Span::raw(l.name.clone()),
        ]));
    }
    if o.items.len() > shown {
        let more: u32 = o.items[shown..].iter().map(|l| l.quantity).sum();
        lines.push(Line::from(vec![
            gutter(),
            Span::raw(format!("+{more} more")).dark_gray(),
        ]));
    }
    while lines.len() < usize::from(CARD_HEIGHT) - 1 {
        lines.push(Line::from(gutter()));
    }
    lines.push(Line::from(vec![gutter(), countdown(k, o)]));
    let mut p = Paragraph::new(lines);
    if selected {
        p = p.style(Style::new().bg(Color::Rgb(40, 44, 52)));
    }
    frame.render_widget(p, area);
}

fn render_status(k: &Kitchen, frame: &mut Frame<'_>, area: Rect) {
    let prompt = |label: String, input: &str, hint: &'static str| {
        Line::from(vec![
            Span::raw(label).cyan().bold(),
            Span::raw(input.to_owned()),
            Span::raw("▏").cyan(),
            Span::raw(hint).dark_gray(),
        ])
    };
    let line = match k.mode() {
        KitchenMode::Accept { order_id, input } => {
            let mut l = prompt(
                format!(" accept {}: prep minutes ", short_id(order_id)),
                input,
                "   (Enter accepts, Esc aborts)",
            );
            if let Some(s) = k.status_line().filter(|s| s.error) {
                l.spans.push(Span::raw(format!("  {}", s.text)).red());
            }
            l
        }
        KitchenMode::Reject { order_id, input } => {
            let mut l = prompt(
                format!(" reject {}: reason ", short_id(order_id)),
                input,
                "   (Enter rejects, Esc aborts)",
            );
            if let Some(s) = k.status_line().filter(|s| s.error) {
                l.spans.push(Span::raw(format!("  {}", s.text)).red());
            }
            l
        }
        KitchenMode::Normal => match (k.status_line(), k.conn()) {
            (Some(s), _) if s.error => Line::from(format!(" {}", s.text)).red(),
            (Some(s), _) => Line::from(format!(" {}", s.text)),
            (None, Conn::Stale { error, .. }) => {
                Line::from(format!(" feed lost: {error}; showing the last orders")).yellow()
            }
            (None, _) => Line::default(),
        },
    };
    frame.render_widget(line, area);
}

fn key_hints(k: &Kitchen) -> Vec<(&'static str, &'static str)> {
    let mut keys = vec![("←↓↑→/hjkl", "move")];
    if !k.options.read_only {
        keys.extend([("a", "accept"), ("x", "reject"), ("r", "ready")]);
    }
    keys.extend([("R", "resync"), ("?", "help"), ("q", "quit")]);
    keys
}

fn render_footer(k: &Kitchen, frame: &mut Frame<'_>, area: Rect) {
    let mut spans = vec![Span::raw(" ")];
    for (key, what) in key_hints(k) {
        spans.push(Span::raw(key).cyan().bold());
        spans.push(Span::raw(format!(" {what}  ")).dark_gray());
    }
    frame.render_widget(Line::from(spans), area);
}

fn render_help(k: &Kitchen, frame: &mut Frame<'_>, area: Rect) {
    let mut rows = vec![("←↓↑→ or hjkl", "move between lanes and orders")];
    if !k.options.read_only {
        rows.extend([
            (
                "a",
                "accept a PLACED order with a prep time (or retime a PREPARING one)",
            ),
            ("x", "reject a PLACED order, with a reason"),
            ("r", "a PREPARING order is ready for pick-up"),
        ]);
    }
    rows.extend([
        ("R", "resync from a fresh snapshot"),
        ("Esc", "clear the status line, abort a prompt"),
        ("q Ctrl-C", "quit"),
    ]);
    let mut lines: Vec<Line<'_>> = rows
        .into_iter()
        .map(|(key, what)| {
            Line::from(vec![
                Span::raw(format!("{key:<14}")).cyan().bold(),
                Span::raw(what),
            ])
        })
        .collect();
    lines.push(Line::default());
    lines.push(
        Line::from("PREPARING cards count down to their ready-by time; late ones turn red")
            .dark_gray(),
    );
    let w = 84.min(area.width);
    let h = (lines.len() as u16 + 2).min(area.height);
    let rect = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::new()
                .borders(Borders::ALL)
                .border_type(BorderType::Rounded)
                .border_style(Style::new().cyan())
                .padding(Padding::horizontal(1))
                .title(Line::from(" kitchen help ").bold())
                .title_bottom(Line::from(" any key closes ").right_aligned().dark_gray()),
        ),
        rect,
    );
}
