//! The board's state: [`App`], and what changes it.
//!
//! `App` is plain data. It never touches the terminal or the network: keys
//! come in as [`KeyEvent`]s, data as [`Msg`]s, and work goes out as
//! [`Command`]s that the event loop carries out; the current time is
//! injected with [`App::set_now`] so that rendering is deterministic in tests.
//!
//! # Layout
//! Each module depends only on those above it:
//! - `merge`: the deliveries merged by version, the feed's connection
//!   state and event rate.
//! - `state`: options, mode, overlay, status line, and the messages in and
//!   out.
//! - `view`: filter, sort, lanes and cursor: what is visible.
//! - `keys`: which [`Action`] a key means in each mode.
//!
//! This module ties them together: [`App::on_key`] looks the key up in
//! `keys` and [`App::perform`]s the action.

mod keys;
mod merge;
mod state;
#[cfg(test)]
pub(crate) mod tests;
mod view;

use std::cell::OnceCell;

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use food_api::{Courier, Delivery, DeliveryStatus, Order, UpdateDelivery, short_id};

pub use self::{
    keys::{Action, Edit},
    merge::{Card, Conn, DataEvent, Merge},
    state::{Command, Mode, Msg, Options, Overlay, StatusLine},
    view::{Ageing, Lane, LaneKind, Sort, View, format_age},
};
use self::{
    merge::Deliveries,
    view::{Cursor, Query},
};

/// The board.
#[derive(Debug)]
pub struct App {
    pub options: Options,
    deliveries: Deliveries,
    now: DateTime<Utc>,
    query: Query,
    overlay: Overlay,
    mode: Mode,
    cursor: Cursor,
    status: Option<StatusLine>,
    /// The order behind the open detail pane, once loaded.
    detail_order: Option<Order>,
    /// The couriers panel, once `GET /couriers` answered (ops keys only):
    /// shift and load, kept current by delivery events in between.
    couriers: Option<Vec<Courier>>,
    quit: bool,
    /// Built on first use after a change, so a burst of events costs one rebuild.
    view: OnceCell<View>,
}

impl App {
    pub fn new(options: Options, now: DateTime<Utc>) -> Self {
        Self {
            options,
            deliveries: Deliveries::default(),
            now,
            query: Query::default(),
            overlay: Overlay::None,
            mode: Mode::Normal,
            cursor: Cursor::default(),
            status: None,
            detail_order: None,
            couriers: None,
            quit: false,
            view: OnceCell::new(),
        }
    }

    // ---- reading -------------------------------------------------------

    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    pub fn conn(&self) -> &Conn {
        self.deliveries.conn()
    }

    pub fn sort(&self) -> Sort {
        self.query.sort
    }

    pub fn filter(&self) -> &str {
        &self.query.filter
    }

    pub fn show_terminal(&self) -> bool {
        self.query.show_terminal
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

    /// The couriers for the side panel: on shift first, then by name.
    pub fn couriers(&self) -> Option<&[Courier]> {
        self.couriers.as_deref()
    }

    /// A courier's name, for cards that carry only its id.
    pub fn courier_name(&self, id: &str) -> Option<&str> {
        self.couriers
            .as_deref()?
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.name.as_str())
    }

    pub fn set_couriers(&mut self, mut couriers: Vec<Courier>) {
        couriers.sort_by(|a, b| {
            b.on_shift
                .cmp(&a.on_shift)
                .then_with(|| a.name.cmp(&b.name))
        });
        self.couriers = Some(couriers);
    }

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    pub fn live_events(&self) -> u64 {
        self.deliveries.live_events()
    }

    pub fn events_per_second(&self) -> f64 {
        self.deliveries.events_per_second(self.now)
    }

    pub fn len(&self) -> usize {
        self.deliveries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn card(&self, order_id: &str) -> Option<&Card> {
        self.deliveries.get(order_id)
    }

    pub fn delivery(&self, order_id: &str) -> Option<&Delivery> {
        self.card(order_id).map(|c| &c.delivery)
    }

    /// Cards per status, before the filter.
    pub fn count(&self, status: DeliveryStatus) -> usize {
        self.view().count(status)
    }

    pub fn ageing(&self, card: &Card) -> Ageing {
        Ageing::of(card, self.now, &self.options)
    }

    /// The lanes after filter and sort, built on first use after a change.
    pub fn view(&self) -> &View {
        self.view
            .get_or_init(|| View::build(self.deliveries.cards(), &self.query))
    }

    /// The cursor as (lane, row) in the current view; `row` is `None` in an empty lane.
    pub fn selection(&self) -> (usize, Option<usize>) {
        self.view().selection(&self.cursor)
    }

    /// The delivery under the cursor.
    pub fn selected(&self) -> Option<&Delivery> {
        self.delivery(self.view().selected(&self.cursor)?)
    }

    // ---- data ----------------------------------------------------------

    pub fn set_now(&mut self, now: DateTime<Utc>) {
        self.now = now;
    }

    /// Merges one delivery by version: an older version never overwrites a
    /// newer one and a duplicate changes nothing, whatever order the
    /// snapshot and the live feed deliver them in.
    pub fn apply(&mut self, d: Delivery) -> Merge {
        let merge = self.deliveries.apply(d);
        if merge.changed() {
            self.view.take();
        }
        merge
    }

    pub fn on_data(&mut self, ev: DataEvent) {
        // A live change moves a courier's load at once; the next
        // `GET /couriers` confirms it.
        let load = match &ev {
            DataEvent::Changed(d) => Some(self.load_change(d)),
            _ => None,
        };
        if self.deliveries.on_data(ev, self.now) {
            self.view.take();
            if let Some((from, to)) = load {
                self.move_load(from, to);
            }
        }
    }

    /// The courier whose load a change takes away, and the one it adds to.
    fn load_change(&self, d: &Delivery) -> (Option<String>, Option<String>) {
        (self.delivery(&d.order_id).and_then(load_of), load_of(d))
    }

    fn move_load(&mut self, from: Option<String>, to: Option<String>) {
        if from == to {
            return;
        }
        let Some(couriers) = self.couriers.as_mut() else {
            return;
        };
        for c in couriers.iter_mut() {
            if from.as_deref() == Some(c.id.as_str()) {
                c.active_deliveries = c.active_deliveries.saturating_sub(1);
            }
            if to.as_deref() == Some(c.id.as_str()) {
                c.active_deliveries += 1;
            }
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
                                d.courier_name
                                    .as_deref()
                                    .or(d.courier.as_deref())
                                    .map(|c| format!(", courier {c}"))
                                    .unwrap_or_default(),
                                d.version
                            ),
                            false,
                        );
                        let (from, to) = self.load_change(&d);
                        if self.apply(d).changed() {
                            self.move_load(from, to);
                        }
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
            Msg::Couriers(cs) => self.set_couriers(cs),
        }
    }

    pub fn set_status(&mut self, text: impl Into<String>, error: bool) {
        self.status = Some(StatusLine {
            text: text.into(),
            error,
        });
    }

    // ---- keys and actions ----------------------------------------------

    pub fn on_key(&mut self, key: KeyEvent) -> Option<Command> {
        let action = keys::action(key, &self.mode, self.overlay, self.options.read_only)?;
        self.perform(action)
    }

    /// Carries out what a key meant; any work for the event loop comes back.
    pub fn perform(&mut self, action: Action) -> Option<Command> {
        match action {
            Action::Quit => return Some(self.quit()),
            Action::CloseHelp { quit } => {
                self.overlay = Overlay::None;
                if quit {
                    return Some(self.quit());
                }
            }
            Action::Back => {
                if self.overlay != Overlay::None {
                    self.overlay = Overlay::None;
                } else if !self.query.filter.is_empty() {
                    self.set_filter("");
                } else {
                    self.status = None;
                }
            }
            Action::MoveLane(delta) => self.cursor = self.view().lane_moved(&self.cursor, delta),
            Action::MoveRow(delta) => self.move_row(delta),
            Action::ToggleDetail => return self.toggle_detail(),
            Action::ShowHelp => self.overlay = Overlay::Help,
            Action::StartFilter => {
                self.overlay = Overlay::None;
                self.mode = Mode::Filter;
            }
            Action::CycleSort => self.set_sort(self.query.sort.next()),
            Action::ToggleTerminal => self.toggle_terminal(),
            Action::Resync => {
                self.set_status("resyncing…", false);
                return Some(Command::Resync);
            }
            Action::Advance => return self.advance(),
            Action::AskCancel => self.ask_cancel(),
            Action::StartCourier => self.start_courier(),
            Action::Filter(edit) => self.edit_filter(edit),
            Action::Courier(edit) => return self.edit_courier(edit),
            Action::ConfirmCancel(yes) => return self.confirm_cancel(yes),
        }
        None
    }

    fn quit(&mut self) -> Command {
        self.quit = true;
        Command::Quit
    }

    fn move_row(&mut self, delta: isize) {
        let Some(cursor) = self.view().row_moved(&self.cursor, delta) else {
            return;
        };
        self.cursor = cursor;
        if self.overlay == Overlay::Detail {
            self.detail_order = None;
        }
    }

    fn toggle_detail(&mut self) -> Option<Command> {
        if self.overlay == Overlay::Detail {
            self.overlay = Overlay::None;
            return None;
        }
        let order_id = self.selected()?.order_id.clone();
        self.overlay = Overlay::Detail;
        if self.detail_order.as_ref().is_none_or(|o| o.id != order_id) {
            self.detail_order = None;
        }
        Some(Command::FetchOrder { order_id })
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

    fn ask_cancel(&mut self) {
        let Some(d) = self.selected() else { return };
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

    fn confirm_cancel(&mut self, yes: bool) -> Option<Command> {
        let Mode::ConfirmCancel { order_id } = &self.mode else {
            return None;
        };
        let order_id = order_id.clone();
        self.mode = Mode::Normal;
        if yes {
            self.update(order_id, Some(DeliveryStatus::Cancelled), None)
        } else {
            self.status = None;
            None
        }
    }

    fn start_courier(&mut self) {
        let Some(d) = self.selected() else { return };
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

    fn edit_filter(&mut self, edit: Edit) {
        match edit {
            Edit::Submit => self.mode = Mode::Normal,
            Edit::Abort => {
                self.mode = Mode::Normal;
                self.set_filter("");
            }
            Edit::Pop => {
                let mut f = self.query.filter.clone();
                f.pop();
                self.set_filter(&f);
            }
            Edit::Push(c) => {
                let f = format!("{}{c}", self.query.filter);
                self.set_filter(&f);
            }
        }
    }

    fn edit_courier(&mut self, edit: Edit) -> Option<Command> {
        let Mode::Courier {
            order_id,
            input,
            next,
        } = &mut self.mode
        else {
            return None;
        };
        match edit {
            Edit::Push(c) => input.push(c),
            Edit::Pop => {
                input.pop();
            }
            Edit::Abort => self.mode = Mode::Normal,
            Edit::Submit => {
                let (order_id, courier, next) =
                    (std::mem::take(order_id), input.trim().to_owned(), *next);
                self.mode = Mode::Normal;
                if courier.is_empty() {
                    self.set_status("no courier given; nothing sent", true);
                    return None;
                }
                return self.update(order_id, Some(next), Some(courier));
            }
        }
        None
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

    // ---- filter, sort, lanes and cursor ----------------------------------

    pub fn set_filter(&mut self, filter: &str) {
        self.query.filter = filter.to_lowercase();
        self.view.take();
    }

    pub fn set_sort(&mut self, sort: Sort) {
        self.query.sort = sort;
        self.view.take();
    }

    pub fn toggle_terminal(&mut self) {
        self.query.show_terminal = !self.query.show_terminal;
        // Against the lanes as they are now: a view cached before the toggle
        // would leave the cursor on the hidden lane, to reappear there later.
        self.view.take();
        let lanes = self.view().lanes.len();
        self.cursor.clamp_lane(lanes);
    }

    /// Puts the cursor on an order (tests and the end-to-end check).
    pub fn select(&mut self, order_id: &str) -> bool {
        match self.view().cursor_on(order_id) {
            Some(cursor) => {
                self.cursor = cursor;
                true
            }
            None => false,
        }
    }
}

/// The courier a delivery keeps busy, if it is active.
fn load_of(d: &Delivery) -> Option<String> {
    d.courier.clone().filter(|_| d.status.is_active())
}
