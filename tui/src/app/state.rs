//! The board's plain vocabulary: its options, what the keyboard is doing
//! (mode and overlay), the status line, and the messages that come in
//! ([`Msg`]) and the work that goes out ([`Command`]).

use chrono::{FixedOffset, TimeDelta};
use food_api::{Courier, Delivery, DeliveryStatus, Order, UpdateDelivery};

use super::merge::DataEvent;

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
    /// `GET /couriers`, for the side panel.
    Couriers(Vec<Courier>),
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
    /// Shown in the header of a board scoped to one restaurant: its name.
    pub restaurant: Option<String>,
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
            restaurant: None,
            tz: FixedOffset::east_opt(0).expect("UTC is a valid offset"),
        }
    }
}
