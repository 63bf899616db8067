//! The kitchen's screen (`food-board --kitchen`): one restaurant's orders in
//! the lanes PLACED, PREPARING and READY_FOR_PICKUP, fed from
//! `food.orders.v1` (docs/design.md, "Clients").
//!
//! Like the delivery board, [`Kitchen`] is plain data: keys come in as
//! [`KeyEvent`]s, data as [`KitchenMsg`]s, gateway work goes out as
//! [`KitchenCommand`]s, and the time is injected, so [`ui`] renders it
//! deterministically in tests.
//!
//! # Layout
//! - this module: the orders merged by `updated_at`, the lanes, the cursor,
//!   the prompts (prep time, reject reason) and the key bindings.
//! - [`ui`]: `render(&Kitchen, &mut Frame)`.
//! - [`data`]: the snapshot (`GET /orders?restaurant=&status=`), the live
//!   feed from Kafka, the gateway actions and the event loop.

pub mod data;
pub mod ui;

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use food_api::{Order, OrderStatus, short_id};

use crate::app::{Conn, Options, StatusLine};

/// What the kitchen's feed tells the screen.
#[derive(Clone, Debug, PartialEq)]
pub enum KitchenEvent {
    /// A (re)connection attempt started; 0 is the first.
    Connecting { attempt: u32 },
    /// The restaurant's orders in the three lanes, as the gateway has them:
    /// they replace what the screen shows.
    Snapshot(Vec<Order>),
    /// One order after a change (OrderPlaced, OrderStatusChanged).
    Changed(Order),
    /// An order that was cancelled (OrderCancelled carries no order).
    Cancelled { order_id: String },
    /// The feed is gone; the screen keeps what it has and marks it stale.
    Lost { error: String },
}

/// Everything the event loop hands to the kitchen.
#[derive(Clone, Debug)]
pub enum KitchenMsg {
    Data(KitchenEvent),
    /// A kitchen action finished; on success the updated order.
    ActionDone {
        order_id: String,
        what: &'static str,
        result: Result<Order, String>,
    },
    /// The restaurant's dishes' prep times, for the default of the accept prompt.
    Menu(HashMap<String, u32>),
}

/// Work the event loop does for the kitchen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KitchenCommand {
    /// `POST /orders/:id/accept {"prep_minutes"}`.
    Accept {
        order_id: String,
        prep_minutes: u32,
    },
    /// `POST /orders/:id/reject {"reason"}`.
    Reject {
        order_id: String,
        reason: String,
    },
    /// `POST /orders/:id/ready`.
    Ready {
        order_id: String,
    },
    /// Drop the feed and start again from a fresh snapshot.
    Resync,
    Quit,
}

/// What the keyboard is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KitchenMode {
    Normal,
    /// Typing the prep time (minutes) for accepting an order.
    Accept {
        order_id: String,
        input: String,
    },
    /// Typing the reason for rejecting an order.
    Reject {
        order_id: String,
        input: String,
    },
}

/// Prep time when neither the order's dishes nor the menu say.
pub const DEFAULT_PREP_MINUTES: u32 = 15;

/// The kitchen's screen.
#[derive(Debug)]
pub struct Kitchen {
    pub options: Options,
    /// The restaurant's id: events of other restaurants are not ours.
    pub restaurant_id: String,
    /// How long the kitchen has to answer a PLACED order, for restaurants
    /// that accept by hand; `None` when it auto-accepts or is not known.
    pub acceptance_timeout: Option<TimeDelta>,
    orders: HashMap<String, Order>,
    /// Orders that left the lanes, with the `updated_at` they left at: an
    /// older copy (a late snapshot, a replayed event) must not bring them back.
    gone: HashMap<String, DateTime<Utc>>,
    prep: HashMap<String, u32>,
    conn: Conn,
    now: DateTime<Utc>,
    /// (lane, order id under the cursor).
    lane: usize,
    selected: Option<String>,
    mode: KitchenMode,
    help: bool,
    status: Option<StatusLine>,
    quit: bool,
}

impl Kitchen {
    pub fn new(options: Options, restaurant_id: impl Into<String>, now: DateTime<Utc>) -> Self {
        Self {
            options,
            restaurant_id: restaurant_id.into(),
            acceptance_timeout: None,
            orders: HashMap::new(),
            gone: HashMap::new(),
            prep: HashMap::new(),
            conn: Conn::Connecting { attempt: 0 },
            now,
            lane: 0,
            selected: None,
            mode: KitchenMode::Normal,
            help: false,
            status: None,
            quit: false,
        }
    }

    // ---- reading -------------------------------------------------------

    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    pub fn set_now(&mut self, now: DateTime<Utc>) {
        self.now = now;
    }

    pub fn conn(&self) -> &Conn {
        &self.conn
    }

    pub fn mode(&self) -> &KitchenMode {
        &self.mode
    }

    pub fn help_shown(&self) -> bool {
        self.help
    }

    pub fn status_line(&self) -> Option<&StatusLine> {
        self.status.as_ref()
    }

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    pub fn order(&self, id: &str) -> Option<&Order> {
        self.orders.get(id)
    }

    pub fn len(&self) -> usize {
        self.orders.len()
    }

    pub fn is_empty(&self) -> bool {
        self.orders.is_empty()
    }

    /// The lane the cursor is in (0 PLACED, 1 PREPARING, 2 READY_FOR_PICKUP).
    pub fn selected_lane(&self) -> usize {
        self.lane
    }

    /// The order under the cursor.
    pub fn selected(&self) -> Option<&Order> {
        let lane = self.lane_orders(self.lane);
        self.selected
            .as_deref()
            .and_then(|id| lane.iter().copied().find(|o| o.id == id))
            .or_else(|| lane.first().copied())
    }

    /// The orders of one lane: PLACED oldest first (answer them in turn),
    /// PREPARING by `ready_by` (the next due first), READY_FOR_PICKUP
    /// oldest first.
    pub fn lane_orders(&self, lane: usize) -> Vec<&Order> {
        let Some(status) = OrderStatus::KITCHEN.get(lane).copied() else {
            return Vec::new();
        };
        let mut v: Vec<&Order> = self
            .orders
            .values()
            .filter(|o| o.status == status)
            .collect();
        v.sort_by(|a, b| {
            let key = |o: &Order| match status {
                OrderStatus::Preparing => o.ready_by.unwrap_or(o.updated_at),
                OrderStatus::ReadyForPickup => o.updated_at,
                _ => o.created_at,
            };
            key(a).cmp(&key(b)).then_with(|| a.id.cmp(&b.id))
        });
        v
    }

    /// Time left until `ready_by`, negative when late; `None` without one.
    pub fn countdown(&self, o: &Order) -> Option<TimeDelta> {
        o.ready_by.map(|t| t - self.now)
    }

    /// Time left to answer a PLACED order before it is rejected for
    /// `timeout`; `None` when the restaurant accepts by itself.
    pub fn answer_within(&self, o: &Order) -> Option<TimeDelta> {
        let limit = self.acceptance_timeout?;
        (o.status == OrderStatus::Placed).then(|| o.created_at + limit - self.now)
    }

    /// The default of the accept prompt: the order's longest dish prep time
    /// (what an auto-accepting kitchen uses), else what it was given
    /// already for a PREPARING order, else [`DEFAULT_PREP_MINUTES`].
    pub fn default_prep(&self, o: &Order) -> u32 {
        if let Some(m) = o
            .items
            .iter()
            .filter_map(|l| self.prep.get(&l.item_id).copied())
            .max()
            .filter(|m| *m > 0)
        {
            return m;
        }
        DEFAULT_PREP_MINUTES
    }

    // ---- data ----------------------------------------------------------

    pub fn set_menu(&mut self, prep: HashMap<String, u32>) {
        self.prep = prep;
    }

    fn belongs(&self, o: &Order) -> bool {
        o.restaurant_id.as_deref() == Some(self.restaurant_id.as_str())
    }

    /// Merges one order: a copy older than what the screen has (or had, for
    /// an order that left the lanes) changes nothing; an order outside the
    /// three lanes leaves them. Returns whether anything changed.
    pub fn apply(&mut self, o: Order) -> bool {
        if !self.belongs(&o) {
            return false;
        }
        if self.gone.get(&o.id).is_some_and(|at| *at >= o.updated_at) {
            return false;
        }
        if let Some(have) = self.orders.get(&o.id)
            && (have.updated_at > o.updated_at
                || (have.updated_at == o.updated_at
                    // An auto-accepted order is PLACED and PREPARING in one
                    // transaction: at one time, the later step wins.
                    && (have == &o || have.status.step() > o.status.step())))
        {
            return false;
        }
        if OrderStatus::KITCHEN.contains(&o.status) {
            self.orders.insert(o.id.clone(), o);
        } else {
            self.orders.remove(&o.id);
            self.gone.insert(o.id.clone(), o.updated_at);
        }
        true
    }

    pub fn on_data(&mut self, ev: KitchenEvent) {
        match ev {
            KitchenEvent::Connecting { attempt } => match &mut self.conn {
                Conn::Stale { attempt: a, .. } | Conn::Connecting { attempt: a } => *a = attempt,
                Conn::Live => self.conn = Conn::Connecting { attempt },
            },
            KitchenEvent::Snapshot(orders) => {
                // What is not in a fresh snapshot left the lanes meanwhile.
                self.orders.clear();
                for o in orders {
                    self.apply(o);
                }
                self.conn = Conn::Live;
            }
            KitchenEvent::Changed(o) => {
                self.apply(o);
            }
            KitchenEvent::Cancelled { order_id } => {
                if self.orders.remove(&order_id).is_some() || !self.gone.contains_key(&order_id) {
                    // Cancelled is terminal: no copy may bring it back.
                    self.gone.insert(order_id, DateTime::<Utc>::MAX_UTC);
                }
            }
            KitchenEvent::Lost { error } => match &mut self.conn {
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

    pub fn on_msg(&mut self, msg: KitchenMsg) {
        match msg {
            KitchenMsg::Data(ev) => self.on_data(ev),
            KitchenMsg::Menu(prep) => self.set_menu(prep),
            KitchenMsg::ActionDone {
                order_id,
                what,
                result,
            } => {
                let short = short_id(&order_id).to_owned();
                match result {
                    Ok(o) => {
                        let ready = match (o.status, o.ready_by) {
                            (OrderStatus::Preparing, Some(t)) => format!(
                                ", ready by {}",
                                t.with_timezone(&self.options.tz).format("%H:%M")
                            ),
                            _ => String::new(),
                        };
                        self.set_status(format!("{short} {what}: {}{ready}", o.status), false);
                        self.apply(o);
                    }
                    Err(e) => self.set_status(format!("{short}: {e}"), true),
                }
            }
        }
    }

    pub fn set_status(&mut self, text: impl Into<String>, error: bool) {
        self.status = Some(StatusLine {
            text: text.into(),
            error,
        });
    }

    // ---- keys ----------------------------------------------------------

    /// Puts the cursor on an order (tests).
    pub fn select(&mut self, order_id: &str) -> bool {
        let Some(o) = self.orders.get(order_id) else {
            return false;
        };
        let Some(lane) = OrderStatus::KITCHEN.iter().position(|s| *s == o.status) else {
            return false;
        };
        self.lane = lane;
        self.selected = Some(order_id.to_owned());
        true
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Option<KitchenCommand> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            self.quit = true;
            return Some(KitchenCommand::Quit);
        }
        match &self.mode {
            KitchenMode::Normal if self.help => {
                self.help = false;
                if key.code == KeyCode::Char('q') {
                    self.quit = true;
                    return Some(KitchenCommand::Quit);
                }
                None
            }
            KitchenMode::Normal => self.normal_key(key.code),
            KitchenMode::Accept { .. } | KitchenMode::Reject { .. } => self.prompt_key(key.code),
        }
    }

    fn normal_key(&mut self, code: KeyCode) -> Option<KitchenCommand> {
        let read_only = self.options.read_only;
        match code {
            KeyCode::Char('q') => {
                self.quit = true;
                return Some(KitchenCommand::Quit);
            }
            KeyCode::Esc => self.status = None,
            KeyCode::Left | KeyCode::Char('h') => self.move_lane(-1),
            KeyCode::Right | KeyCode::Char('l') => self.move_lane(1),
            KeyCode::Up | KeyCode::Char('k') => self.move_row(-1),
            KeyCode::Down | KeyCode::Char('j') => self.move_row(1),
            KeyCode::Char('?') => self.help = true,
            KeyCode::Char('R') => {
                self.set_status("resyncing…", false);
                return Some(KitchenCommand::Resync);
            }
            KeyCode::Char('a') if !read_only => self.start_accept(),
            KeyCode::Char('x') if !read_only => self.start_reject(),
            KeyCode::Char('r') if !read_only => return self.ready(),
            _ => {}
        }
        None
    }

    fn move_lane(&mut self, delta: isize) {
        let lanes = OrderStatus::KITCHEN.len() as isize;
        self.lane = (self.lane as isize + delta).clamp(0, lanes - 1) as usize;
        self.selected = self.lane_orders(self.lane).first().map(|o| o.id.clone());
    }

    fn move_row(&mut self, delta: isize) {
        let lane = self.lane_orders(self.lane);
        if lane.is_empty() {
            return;
        }
        let at = self
            .selected
            .as_deref()
            .and_then(|id| lane.iter().position(|o| o.id == id))
            .unwrap_or(0) as isize;
        let to = (at + delta).clamp(0, lane.len() as isize - 1) as usize;
        self.selected = Some(lane[to].id.clone());
    }

    /// The row of the cursor within its lane.
    pub fn selected_row(&self) -> Option<usize> {
        let sel = self.selected()?;
        self.lane_orders(self.lane)
            .iter()
            .position(|o| o.id == sel.id)
    }

    fn refuse(&mut self, o_id: &str, status: OrderStatus, what: &str) {
        let msg = format!("{} is {status}: {what}", short_id(o_id));
        self.set_status(msg, true);
    }

    /// `a`: accept a PLACED order, or give a PREPARING one a new time.
    fn start_accept(&mut self) {
        let Some(o) = self.selected() else { return };
        if !matches!(o.status, OrderStatus::Placed | OrderStatus::Preparing) {
            let (id, st) = (o.id.clone(), o.status);
            self.refuse(&id, st, "nothing to accept");
            return;
        }
        let input = match (o.status, self.countdown(o)) {
            // A new time for an accepted order starts from what is left.
            (OrderStatus::Preparing, Some(left)) if left > TimeDelta::zero() => {
                (left.num_seconds().div_euclid(60) + 1).to_string()
            }
            _ => self.default_prep(o).to_string(),
        };
        self.mode = KitchenMode::Accept {
            order_id: o.id.clone(),
            input,
        };
    }

    /// `x`: reject a PLACED order, with a reason.
    fn start_reject(&mut self) {
        let Some(o) = self.selected() else { return };
        if o.status != OrderStatus::Placed {
            let (id, st) = (o.id.clone(), o.status);
            self.refuse(&id, st, "only a PLACED order can be rejected");
            return;
        }
        self.mode = KitchenMode::Reject {
            order_id: o.id.clone(),
            input: String::new(),
        };
    }

    /// `r`: a PREPARING order is ready for pick-up.
    fn ready(&mut self) -> Option<KitchenCommand> {
        let o = self.selected()?;
        if o.status != OrderStatus::Preparing {
            let (id, st) = (o.id.clone(), o.status);
            self.refuse(&id, st, "only a PREPARING order can be made ready");
            return None;
        }
        let order_id = o.id.clone();
        self.set_status(
            format!("{} → READY_FOR_PICKUP…", short_id(&order_id)),
            false,
        );
        Some(KitchenCommand::Ready { order_id })
    }

    fn prompt_key(&mut self, code: KeyCode) -> Option<KitchenCommand> {
        let (KitchenMode::Accept { input, .. } | KitchenMode::Reject { input, .. }) =
            &mut self.mode
        else {
            return None;
        };
        match code {
            KeyCode::Esc => {
                self.mode = KitchenMode::Normal;
                self.status = None;
            }
            KeyCode::Backspace => {
                input.pop();
                self.status = None;
            }
            KeyCode::Char(c) => {
                input.push(c);
                // An error about what was typed goes once it is being fixed.
                self.status = None;
            }
            KeyCode::Enter => return self.submit(),
            _ => {}
        }
        None
    }

    fn submit(&mut self) -> Option<KitchenCommand> {
        match std::mem::replace(&mut self.mode, KitchenMode::Normal) {
            KitchenMode::Accept { order_id, input } => match parse_prep(&input) {
                Ok(prep_minutes) => {
                    self.set_status(
                        format!("{} → PREPARING, {prep_minutes} min…", short_id(&order_id)),
                        false,
                    );
                    Some(KitchenCommand::Accept {
                        order_id,
                        prep_minutes,
                    })
                }
                Err(e) => {
                    self.set_status(e, true);
                    // Keep the prompt open with what was typed, to fix it.
                    self.mode = KitchenMode::Accept { order_id, input };
                    None
                }
            },
            KitchenMode::Reject { order_id, input } => {
                let reason = input.trim().to_owned();
                if reason.is_empty() {
                    self.set_status("say why: the customer sees the reason", true);
                    self.mode = KitchenMode::Reject { order_id, input };
                    return None;
                }
                self.set_status(format!("{} → REJECTED…", short_id(&order_id)), false);
                Some(KitchenCommand::Reject { order_id, reason })
            }
            KitchenMode::Normal => None,
        }
    }
}

/// The accept prompt's input: whole minutes, 1 to 240 (`15`, `15m`).
pub fn parse_prep(input: &str) -> Result<u32, String> {
    let s = input.trim();
    let digits = s.strip_suffix('m').unwrap_or(s).trim();
    match digits.parse::<u32>() {
        Ok(m) if (1..=240).contains(&m) => Ok(m),
        _ => Err(format!(
            "`{s}` is not a prep time: whole minutes from 1 to 240"
        )),
    }
}

#[cfg(test)]
pub(crate) mod tests;
