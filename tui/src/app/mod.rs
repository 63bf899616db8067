//! The board's state: deliveries merged by version, the connection state, the
//! cursor, the filter and sort, and the key bindings.
//!
//! `App` is plain data. It never touches the terminal or the network: keys
//! come in as [`KeyEvent`]s and actions go out as [`Command`]s that the event
//! loop carries out, and the current time is injected with [`App::set_now`]
//! so that rendering is deterministic in tests.

use std::{
    cell::OnceCell,
    collections::{HashMap, VecDeque},
    sync::Arc,
};

use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use food_api::{Delivery, DeliveryStatus, Order, UpdateDelivery, short_id};

/// What the live feed tells the board.
#[derive(Clone, Debug, PartialEq)]
pub enum DataEvent {
    /// A (re)connection attempt started; `attempt` 0 is the first connection.
    Connecting { attempt: u32 },
    /// The whole board as the gateway saw it; the feed is live from here on.
    Snapshot(Vec<Delivery>),
    /// One change from the live feed.
    Changed(Delivery),
    /// The feed is gone; the board keeps what it has and marks it stale.
    Lost { error: String },
}

/// Everything the event loop hands to the board.
#[derive(Clone, Debug)]
pub enum Msg {
    Data(DataEvent),
    /// A gateway action finished; on success the updated delivery.
    ActionDone {
        order_id: String,
        result: Result<Delivery, String>,
    },
    /// The order behind the detail pane, for its items.
    OrderLoaded(Result<Order, String>),
}

/// Work the event loop does on the board's behalf.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// `PUT /delivery/status/{order_id}`.
    Update {
        order_id: String,
        body: UpdateDelivery,
    },
    /// `GET /orders/{order_id}`, for the detail pane.
    FetchOrder {
        order_id: String,
    },
    /// Drop the feed and start again from a fresh snapshot.
    Resync,
    Quit,
}

/// What [`App::apply`] did with a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merge {
    Inserted,
    Updated,
    /// Same version as the board already has.
    Duplicate,
    /// Older than what the board already has; ignored.
    Outdated,
}

/// The connection to the live feed, as the header shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Conn {
    /// Before the first snapshot.
    Connecting {
        attempt: u32,
    },
    Live,
    /// The feed is gone: the board is as of `since`.
    Stale {
        since: DateTime<Utc>,
        attempt: u32,
        error: String,
    },
}

/// Card order within a lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Sort {
    /// Longest in its status first: what needs attention.
    #[default]
    Age,
    Id,
    /// Biggest first.
    Total,
}

impl Sort {
    pub fn next(self) -> Self {
        match self {
            Self::Age => Self::Id,
            Self::Id => Self::Total,
            Self::Total => Self::Age,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Age => "age",
            Self::Id => "id",
            Self::Total => "total",
        }
    }
}

/// A column of the board.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LaneKind {
    Status(DeliveryStatus),
    /// CANCELLED and FAILED together, shown on demand.
    Terminal,
}

impl LaneKind {
    fn holds(self, s: DeliveryStatus) -> bool {
        match self {
            Self::Status(st) => st == s,
            Self::Terminal => matches!(s, DeliveryStatus::Cancelled | DeliveryStatus::Failed),
        }
    }
}

/// One column of the board after filter and sort.
#[derive(Clone, Debug)]
pub struct Lane {
    pub kind: LaneKind,
    /// Order ids, in display order.
    pub ids: Vec<Arc<str>>,
    /// Cards in this lane before the filter.
    pub total: usize,
}

/// The lanes as drawn; rebuilt only when deliveries, filter, sort or lanes change.
#[derive(Clone, Debug)]
pub struct View {
    pub lanes: Vec<Lane>,
    /// Cards per status (indexed like [`DeliveryStatus::ALL`]), before the filter.
    pub counts: [usize; 7],
}

/// An overlay over the board.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overlay {
    None,
    Detail,
    Help,
}

/// What the keyboard is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// Typing the filter; the board follows each keystroke.
    Filter,
    /// Typing a courier name for an order. The gateway changes a courier
    /// only together with a status, so the name goes with the next status.
    Courier {
        order_id: String,
        input: String,
        next: DeliveryStatus,
    },
    /// Waiting for y/n before cancelling an order.
    ConfirmCancel {
        order_id: String,
    },
}

/// The status line under the board.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusLine {
    pub text: String,
    pub error: bool,
}

/// Board settings that do not change while it runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// Hides and disables the actions (advance, cancel, courier).
    pub read_only: bool,
    /// Time in a non-terminal status after which a card turns yellow.
    pub warn_after: TimeDelta,
    /// ... and red.
    pub alert_after: TimeDelta,
    /// Shown in the header: the context or gateway the board reads.
    pub source: String,
    /// The clock's time zone (local in the terminal, UTC in tests).
    pub tz: FixedOffset,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            read_only: false,
            warn_after: TimeDelta::minutes(10),
            alert_after: TimeDelta::minutes(20),
            source: String::new(),
            tz: FixedOffset::east_opt(0).expect("UTC is a valid offset"),
        }
    }
}

/// A delivery and when it entered its current status.
#[derive(Clone, Debug)]
pub struct Card {
    /// The map key, shared with the view's lanes so rebuilding them allocates nothing per card.
    pub id: Arc<str>,
    pub delivery: Delivery,
    /// Cached because sorting by age and drawing ages touch every card.
    pub since: DateTime<Utc>,
}

impl Card {
    fn new(id: Arc<str>, delivery: Delivery) -> Self {
        let since = delivery
            .history
            .iter()
            .rev()
            .find(|h| h.status == delivery.status)
            .map_or(delivery.updated_at, |h| h.at);
        Self {
            id,
            delivery,
            since,
        }
    }
}

/// How long a card has been in its status, relative to the thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ageing {
    Fresh,
    Warn,
    Alert,
}

/// Events per second over the last few whole seconds.
#[derive(Clone, Debug, Default)]
struct RateMeter {
    /// (unix second, events in it), oldest first.
    buckets: VecDeque<(i64, u32)>,
}

impl RateMeter {
    const WINDOW: i64 = 5;

    fn record(&mut self, now: DateTime<Utc>) {
        let sec = now.timestamp();
        match self.buckets.back_mut() {
            Some((s, n)) if *s == sec => *n += 1,
            _ => self.buckets.push_back((sec, 1)),
        }
        while self
            .buckets
            .front()
            .is_some_and(|(s, _)| *s < sec - Self::WINDOW)
        {
            self.buckets.pop_front();
        }
    }

    /// Whole seconds only, so the figure does not jump within a second.
    fn per_second(&self, now: DateTime<Utc>) -> f64 {
        let sec = now.timestamp();
        let n: u32 = self
            .buckets
            .iter()
            .filter(|(s, _)| *s >= sec - Self::WINDOW && *s < sec)
            .map(|(_, n)| n)
            .sum();
        f64::from(n) / Self::WINDOW as f64
    }
}

/// Where the cursor is: a lane, and a card in it by id so that it stays on
/// the same card while others come and go.
#[derive(Clone, Debug, Default)]
struct Cursor {
    lane: usize,
    id: Option<Arc<str>>,
    /// Used when the card under the cursor left the lane.
    row: usize,
}

/// The board.
#[derive(Debug)]
pub struct App {
    pub options: Options,
    cards: HashMap<Arc<str>, Card>,
    now: DateTime<Utc>,
    conn: Conn,
    rate: RateMeter,
    sort: Sort,
    /// Lower-case; empty means no filter.
    filter: String,
    show_terminal: bool,
    overlay: Overlay,
    mode: Mode,
    cursor: Cursor,
    status: Option<StatusLine>,
    /// The order behind the open detail pane, once loaded.
    detail_order: Option<Order>,
    quit: bool,
    /// Live events applied since start, for the benchmarks and the header.
    events: u64,
    view: OnceCell<View>,
}

impl App {
    pub fn new(options: Options, now: DateTime<Utc>) -> Self {
        Self {
            options,
            cards: HashMap::new(),
            now,
            conn: Conn::Connecting { attempt: 0 },
            rate: RateMeter::default(),
            sort: Sort::default(),
            filter: String::new(),
            show_terminal: false,
            overlay: Overlay::None,
            mode: Mode::Normal,
            cursor: Cursor::default(),
            status: None,
            detail_order: None,
            quit: false,
            events: 0,
            view: OnceCell::new(),
        }
    }

    // ---- reading -------------------------------------------------------

    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    pub fn conn(&self) -> &Conn {
        &self.conn
    }

    pub fn sort(&self) -> Sort {
        self.sort
    }

    pub fn filter(&self) -> &str {
        &self.filter
    }

    pub fn show_terminal(&self) -> bool {
        self.show_terminal
    }

    pub fn overlay(&self) -> Overlay {
        self.overlay
    }

    pub fn mode(&self) -> &Mode {
        &self.mode
    }

    pub fn status_line(&self) -> Option<&StatusLine> {
        self.status.as_ref()
    }

    pub fn detail_order(&self) -> Option<&Order> {
        self.detail_order.as_ref()
    }

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    pub fn live_events(&self) -> u64 {
        self.events
    }

    pub fn events_per_second(&self) -> f64 {
        self.rate.per_second(self.now)
    }

    pub fn len(&self) -> usize {
        self.cards.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cards.is_empty()
    }

    pub fn card(&self, order_id: &str) -> Option<&Card> {
        self.cards.get(order_id)
    }

    pub fn delivery(&self, order_id: &str) -> Option<&Delivery> {
        self.cards.get(order_id).map(|c| &c.delivery)
    }

    /// Cards per status, before the filter.
    pub fn count(&self, status: DeliveryStatus) -> usize {
        self.view().counts[status_index(status)]
    }

    pub fn ageing(&self, card: &Card) -> Ageing {
        if card.delivery.status.is_terminal() {
            return Ageing::Fresh;
        }
        let age = self.now - card.since;
        if age >= self.options.alert_after {
            Ageing::Alert
        } else if age >= self.options.warn_after {
            Ageing::Warn
        } else {
            Ageing::Fresh
        }
    }

    /// The lanes after filter and sort, built on first use after a change.
    pub fn view(&self) -> &View {
        self.view.get_or_init(|| self.build_view())
    }

    /// The cursor as (lane, row) in the current view; `row` is `None` in an empty lane.
    pub fn selection(&self) -> (usize, Option<usize>) {
        let view = self.view();
        if view.lanes.is_empty() {
            return (0, None);
        }
        let lane_ix = self.cursor.lane.min(view.lanes.len() - 1);
        let lane = &view.lanes[lane_ix];
        if lane.ids.is_empty() {
            return (lane_ix, None);
        }
        let row = self
            .cursor
            .id
            .as_ref()
            .and_then(|id| lane.ids.iter().position(|x| x == id))
            .unwrap_or_else(|| self.cursor.row.min(lane.ids.len() - 1));
        (lane_ix, Some(row))
    }

    /// The delivery under the cursor.
    pub fn selected(&self) -> Option<&Delivery> {
        let (lane, row) = self.selection();
        let id = self.view().lanes.get(lane)?.ids.get(row?)?;
        self.delivery(id)
    }

    fn build_view(&self) -> View {
        let mut kinds: Vec<LaneKind> = DeliveryStatus::ACTIVE.map(LaneKind::Status).to_vec();
        if self.show_terminal {
            kinds.push(LaneKind::Terminal);
        }
        let mut lanes: Vec<(LaneKind, Vec<&Card>, usize)> =
            kinds.iter().map(|k| (*k, Vec::new(), 0)).collect();
        let mut counts = [0; 7];
        for card in self.cards.values() {
            counts[status_index(card.delivery.status)] += 1;
            let Some(lane) = lanes.iter_mut().find(|l| l.0.holds(card.delivery.status)) else {
                continue;
            };
            lane.2 += 1;
            if self.matches(&card.delivery) {
                lane.1.push(card);
            }
        }
        let lanes = lanes
            .into_iter()
            .map(|(kind, mut cards, total)| {
                match self.sort {
                    Sort::Age => cards.sort_unstable_by(|a, b| {
                        a.since.cmp(&b.since).then_with(|| a.id.cmp(&b.id))
                    }),
                    Sort::Id => cards.sort_unstable_by(|a, b| a.id.cmp(&b.id)),
                    Sort::Total => cards.sort_unstable_by(|a, b| {
                        b.delivery
                            .total_cents
                            .cmp(&a.delivery.total_cents)
                            .then_with(|| a.id.cmp(&b.id))
                    }),
                }
                let ids = cards.into_iter().map(|c| c.id.clone()).collect();
                Lane { kind, ids, total }
            })
            .collect();
        View { lanes, counts }
    }

    fn matches(&self, d: &Delivery) -> bool {
        self.filter.is_empty()
            || contains_ci(&d.order_id, &self.filter)
            || contains_ci(&d.customer_id, &self.filter)
            || d.courier
                .as_deref()
                .is_some_and(|c| contains_ci(c, &self.filter))
    }

    // ---- data ----------------------------------------------------------

    pub fn set_now(&mut self, now: DateTime<Utc>) {
        self.now = now;
    }

    /// Merges one delivery by version: an older version never overwrites a
    /// newer one and a duplicate changes nothing, whatever order the
    /// snapshot and the live feed deliver them in.
    pub fn apply(&mut self, d: Delivery) -> Merge {
        let merge = match self.cards.get_mut(d.order_id.as_str()) {
            Some(card) if d.version < card.delivery.version => return Merge::Outdated,
            Some(card) if d.version == card.delivery.version => return Merge::Duplicate,
            Some(card) => {
                *card = Card::new(card.id.clone(), d);
                Merge::Updated
            }
            None => {
                let id: Arc<str> = Arc::from(d.order_id.as_str());
                self.cards.insert(id.clone(), Card::new(id, d));
                Merge::Inserted
            }
        };
        self.view.take();
        merge
    }

    pub fn on_data(&mut self, ev: DataEvent) {
        match ev {
            DataEvent::Connecting { attempt } => match &mut self.conn {
                Conn::Stale { attempt: a, .. } | Conn::Connecting { attempt: a } => *a = attempt,
                Conn::Live => self.conn = Conn::Connecting { attempt },
            },
            DataEvent::Snapshot(deliveries) => {
                for d in deliveries {
                    self.apply(d);
                }
                self.conn = Conn::Live;
            }
            DataEvent::Changed(d) => {
                self.events += 1;
                self.rate.record(self.now);
                self.apply(d);
            }
            DataEvent::Lost { error } => match &mut self.conn {
                // Stale since the first loss, not since the latest failed retry.
                Conn::Stale { error: e, .. } => *e = error,
                _ => {
                    self.conn = Conn::Stale {
                        since: self.now,
                        attempt: 0,
                        error,
                    }
                }
            },
        }
    }

    pub fn on_msg(&mut self, msg: Msg) {
        match msg {
            Msg::Data(ev) => self.on_data(ev),
            Msg::ActionDone { order_id, result } => {
                let short = short_id(&order_id).to_owned();
                match result {
                    Ok(d) => {
                        self.set_status(
                            format!(
                                "{short} is {}{} (v{})",
                                d.status,
                                d.courier
                                    .as_deref()
                                    .map(|c| format!(", courier {c}"))
                                    .unwrap_or_default(),
                                d.version
                            ),
                            false,
                        );
                        self.apply(d);
                    }
                    Err(e) => self.set_status(format!("{short}: {e}"), true),
                }
            }
            Msg::OrderLoaded(Ok(order)) => {
                if self.selected().is_some_and(|d| d.order_id == order.id) {
                    self.detail_order = Some(order);
                }
            }
            Msg::OrderLoaded(Err(e)) => self.set_status(format!("loading the order: {e}"), true),
        }
    }

    pub fn set_status(&mut self, text: impl Into<String>, error: bool) {
        self.status = Some(StatusLine {
            text: text.into(),
            error,
        });
    }

    // ---- keys ----------------------------------------------------------

    pub fn on_key(&mut self, key: KeyEvent) -> Option<Command> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            self.quit = true;
            return Some(Command::Quit);
        }
        match self.mode.clone() {
            Mode::Normal => self.on_normal_key(key),
            Mode::Filter => {
                self.on_filter_key(key);
                None
            }
            Mode::Courier {
                order_id,
                input,
                next,
            } => self.on_courier_key(key, order_id, input, next),
            Mode::ConfirmCancel { order_id } => {
                self.mode = Mode::Normal;
                if matches!(key.code, KeyCode::Char('y' | 'Y')) {
                    self.update(order_id, Some(DeliveryStatus::Cancelled), None)
                } else {
                    self.status = None;
                    None
                }
            }
        }
    }

    fn on_normal_key(&mut self, key: KeyEvent) -> Option<Command> {
        if self.overlay == Overlay::Help {
            // Any key closes the help, as in k9s; only quitting also acts.
            self.overlay = Overlay::None;
            if key.code == KeyCode::Char('q') {
                self.quit = true;
                return Some(Command::Quit);
            }
            return None;
        }
        match key.code {
            KeyCode::Char('q') => {
                self.quit = true;
                return Some(Command::Quit);
            }
            KeyCode::Esc => {
                if self.overlay != Overlay::None {
                    self.overlay = Overlay::None;
                } else if !self.filter.is_empty() {
                    self.set_filter("");
                } else {
                    self.status = None;
                }
            }
            KeyCode::Left | KeyCode::Char('h') => self.move_lane(-1),
            KeyCode::Right | KeyCode::Char('l') => self.move_lane(1),
            KeyCode::Up | KeyCode::Char('k') => self.move_row(-1),
            KeyCode::Down | KeyCode::Char('j') => self.move_row(1),
            KeyCode::PageUp => self.move_row(-10),
            KeyCode::PageDown => self.move_row(10),
            KeyCode::Home | KeyCode::Char('g') => self.move_row(isize::MIN / 2),
            KeyCode::End | KeyCode::Char('G') => self.move_row(isize::MAX / 2),
            KeyCode::Enter => {
                if self.overlay == Overlay::Detail {
                    self.overlay = Overlay::None;
                } else if let Some(d) = self.selected() {
                    let order_id = d.order_id.clone();
                    self.overlay = Overlay::Detail;
                    if self.detail_order.as_ref().is_none_or(|o| o.id != order_id) {
                        self.detail_order = None;
                    }
                    return Some(Command::FetchOrder { order_id });
                }
            }
            KeyCode::Char('?') => self.overlay = Overlay::Help,
            KeyCode::Char('/') => {
                self.overlay = Overlay::None;
                self.mode = Mode::Filter;
            }
            KeyCode::Char('s') => {
                self.sort = self.sort.next();
                self.view.take();
            }
            KeyCode::Char('t') => self.toggle_terminal(),
            KeyCode::Char('r') => {
                self.set_status("resyncing…", false);
                return Some(Command::Resync);
            }
            KeyCode::Char('a') if !self.options.read_only => return self.advance(),
            KeyCode::Char('x') if !self.options.read_only => {
                let d = self.selected()?;
                if d.status.is_terminal() {
                    let msg = format!(
                        "{} is {}: nothing to cancel",
                        short_id(&d.order_id),
                        d.status
                    );
                    self.set_status(msg, true);
                } else {
                    let order_id = d.order_id.clone();
                    self.set_status(format!("cancel {}? (y/n)", short_id(&order_id)), false);
                    self.mode = Mode::ConfirmCancel { order_id };
                }
            }
            KeyCode::Char('c') if !self.options.read_only => {
                let d = self.selected()?;
                match d.status.next() {
                    Some(next) => {
                        self.mode = Mode::Courier {
                            order_id: d.order_id.clone(),
                            input: d.courier.clone().unwrap_or_default(),
                            next,
                        }
                    }
                    None => {
                        let msg = format!(
                            "{} is {}: no courier to set",
                            short_id(&d.order_id),
                            d.status
                        );
                        self.set_status(msg, true);
                    }
                }
            }
            _ => {}
        }
        None
    }

    fn on_filter_key(&mut self, key: KeyEvent) {
        match key.code {
            KeyCode::Enter => self.mode = Mode::Normal,
            KeyCode::Esc => {
                self.mode = Mode::Normal;
                self.set_filter("");
            }
            KeyCode::Backspace => {
                let mut f = self.filter.clone();
                f.pop();
                self.set_filter(&f);
            }
            KeyCode::Char(c) => {
                let f = format!("{}{c}", self.filter);
                self.set_filter(&f);
            }
            _ => {}
        }
    }

    fn on_courier_key(
        &mut self,
        key: KeyEvent,
        order_id: String,
        mut input: String,
        next: DeliveryStatus,
    ) -> Option<Command> {
        match key.code {
            KeyCode::Enter => {
                self.mode = Mode::Normal;
                let courier = input.trim().to_owned();
                if courier.is_empty() {
                    self.set_status("no courier given; nothing sent", true);
                    return None;
                }
                return self.update(order_id, Some(next), Some(courier));
            }
            KeyCode::Esc => {
                self.mode = Mode::Normal;
                return None;
            }
            KeyCode::Backspace => {
                input.pop();
            }
            KeyCode::Char(c) => input.push(c),
            _ => {}
        }
        self.mode = Mode::Courier {
            order_id,
            input,
            next,
        };
        None
    }

    /// `a`: the next status on the happy path, as the one state machine says.
    fn advance(&mut self) -> Option<Command> {
        let d = self.selected()?;
        match d.status.next() {
            Some(next) => {
                let order_id = d.order_id.clone();
                self.update(order_id, Some(next), None)
            }
            None => {
                let msg = format!("{} is {}: no next status", short_id(&d.order_id), d.status);
                self.set_status(msg, true);
                None
            }
        }
    }

    fn update(
        &mut self,
        order_id: String,
        status: Option<DeliveryStatus>,
        courier: Option<String>,
    ) -> Option<Command> {
        let d = self.delivery(&order_id)?;
        let body = UpdateDelivery {
            status,
            courier,
            // The board acts on what it shows: a change it has not seen yet wins.
            version: Some(d.version),
            ..UpdateDelivery::default()
        };
        let what = match (&body.status, &body.courier) {
            (Some(s), Some(c)) => format!("{s} with {c}"),
            (Some(s), None) => format!("{s}"),
            (None, Some(c)) => format!("courier {c}"),
            (None, None) => String::new(),
        };
        self.set_status(format!("{} → {what}…", short_id(&order_id)), false);
        Some(Command::Update { order_id, body })
    }

    pub fn set_filter(&mut self, filter: &str) {
        self.filter = filter.to_lowercase();
        self.view.take();
    }

    pub fn set_sort(&mut self, sort: Sort) {
        self.sort = sort;
        self.view.take();
    }

    pub fn toggle_terminal(&mut self) {
        self.show_terminal = !self.show_terminal;
        let lanes = self.view().lanes.len();
        self.cursor.lane = self.cursor.lane.min(lanes.saturating_sub(1));
        self.view.take();
    }

    fn move_lane(&mut self, delta: isize) {
        let (lane, row) = self.selection();
        let lanes = self.view().lanes.len();
        let lane = lane
            .saturating_add_signed(delta)
            .min(lanes.saturating_sub(1));
        let ids = &self.view().lanes[lane].ids;
        let row = row
            .unwrap_or(self.cursor.row)
            .min(ids.len().saturating_sub(1));
        self.cursor = Cursor {
            lane,
            id: ids.get(row).cloned(),
            row,
        };
    }

    fn move_row(&mut self, delta: isize) {
        let (lane, row) = self.selection();
        let Some(row) = row else { return };
        let ids = &self.view().lanes[lane].ids;
        let row = row.saturating_add_signed(delta).min(ids.len() - 1);
        self.cursor = Cursor {
            lane,
            id: ids.get(row).cloned(),
            row,
        };
        if self.overlay == Overlay::Detail {
            self.detail_order = None;
        }
    }

    /// Puts the cursor on an order (tests and the end-to-end check).
    pub fn select(&mut self, order_id: &str) -> bool {
        let view = self.view();
        for (lane_ix, lane) in view.lanes.iter().enumerate() {
            if let Some(row) = lane.ids.iter().position(|x| &**x == order_id) {
                self.cursor = Cursor {
                    lane: lane_ix,
                    id: Some(lane.ids[row].clone()),
                    row,
                };
                return true;
            }
        }
        false
    }
}

fn status_index(s: DeliveryStatus) -> usize {
    DeliveryStatus::ALL
        .iter()
        .position(|x| *x == s)
        .expect("ALL lists every status")
}

/// ASCII-case-insensitive substring test; `needle` is already lower-case.
fn contains_ci(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    if n.len() > h.len() {
        return false;
    }
    if !needle.is_ascii() {
        return haystack.to_lowercase().contains(needle);
    }
    h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

/// `42s`, `12m`, `3h05m`, `2d03h`: a card's time in status.
pub fn format_age(d: TimeDelta) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86400, (s % 86400) / 3600),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::TimeZone;
    use food_api::HistoryEntry;

    pub(crate) fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 14, 12, 0, 0).unwrap()
    }

    /// A delivery with a fixed id (`0190f3b2-...-0000000000NN`) that entered
    /// `status` `minutes_ago` before [`t0`].
    pub(crate) fn delivery(
        n: u32,
        status: DeliveryStatus,
        version: u64,
        minutes_ago: i64,
    ) -> Delivery {
        let at = t0() - TimeDelta::minutes(minutes_ago);
        let created = at - TimeDelta::minutes(5);
        Delivery {
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
    fn an_older_version_never_overwrites_a_newer_one() {
        let mut app = app();
        let newer = delivery(1, DeliveryStatus::PickedUp, 3, 1);
        let older = delivery(1, DeliveryStatus::Assigned, 2, 2);

        assert_eq!(app.apply(newer), Merge::Inserted);
        let merge = app.apply(older);

        assert_eq!(merge, Merge::Outdated);
        let d = app
            .delivery(&delivery(1, DeliveryStatus::Pending, 1, 0).order_id)
            .unwrap();
        assert_eq!((d.status, d.version), (DeliveryStatus::PickedUp, 3));
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
    fn a_duplicate_changes_nothing() {
        let mut app = app();
        let d = delivery(1, DeliveryStatus::Assigned, 2, 3);
        app.apply(d.clone());
        let mut dup = d.clone();
        dup.courier = Some("someone else".into());

        let merge = app.apply(dup);

        assert_eq!(merge, Merge::Duplicate);
        assert_eq!(app.delivery(&d.order_id), Some(&d));
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

    #[test]
    fn ages_read_naturally() {
        assert_eq!(format_age(TimeDelta::seconds(42)), "42s");
        assert_eq!(format_age(TimeDelta::seconds(12 * 60 + 5)), "12m");
        assert_eq!(format_age(TimeDelta::minutes(185)), "3h05m");
        assert_eq!(format_age(TimeDelta::hours(51)), "2d03h");
        assert_eq!(format_age(TimeDelta::seconds(-3)), "0s");
    }
}
