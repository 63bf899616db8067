//! Delivery and order statuses, and the delivery state machine.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// Where a delivery is. The happy path is
/// `PENDING -> ASSIGNED -> PICKED_UP -> IN_TRANSIT -> DELIVERED`; any
/// non-terminal status may also go to `CANCELLED` or `FAILED`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryStatus {
    Pending,
    Assigned,
    PickedUp,
    InTransit,
    Delivered,
    Cancelled,
    Failed,
}

/// A refused status change; nothing was changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot move a delivery from {from} to {to}")]
pub struct TransitionError {
    pub from: DeliveryStatus,
    pub to: DeliveryStatus,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 7] = [
        Self::Pending,
        Self::Assigned,
        Self::PickedUp,
        Self::InTransit,
        Self::Delivered,
        Self::Cancelled,
        Self::Failed,
    ];

    /// The statuses of an active delivery, in the order a board shows them.
    pub const ACTIVE: [DeliveryStatus; 5] = [
        Self::Pending,
        Self::Assigned,
        Self::PickedUp,
        Self::InTransit,
        Self::Delivered,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Assigned => "ASSIGNED",
            Self::PickedUp => "PICKED_UP",
            Self::InTransit => "IN_TRANSIT",
            Self::Delivered => "DELIVERED",
            Self::Cancelled => "CANCELLED",
            Self::Failed => "FAILED",
        }
    }

    /// Terminal statuses accept no further change.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Delivered | Self::Cancelled | Self::Failed)
    }

    /// The next step on the happy path, if any.
    pub fn next(self) -> Option<Self> {
        match self {
            Self::Pending => Some(Self::Assigned),
            Self::Assigned => Some(Self::PickedUp),
            Self::PickedUp => Some(Self::InTransit),
            Self::InTransit => Some(Self::Delivered),
            Self::Delivered | Self::Cancelled | Self::Failed => None,
        }
    }

    /// The state machine: the one place that decides whether `self -> to` is allowed.
    pub fn transition(self, to: Self) -> Result<Self, TransitionError> {
        let allowed = !self.is_terminal()
            && (self.next() == Some(to) || matches!(to, Self::Cancelled | Self::Failed));
        if allowed {
            Ok(to)
        } else {
            Err(TransitionError { from: self, to })
        }
    }

    pub fn can_transition_to(self, to: Self) -> bool {
        self.transition(to).is_ok()
    }

    /// Where this status is on the happy path (0 for PENDING), if it is on it.
    pub fn step(self) -> Option<usize> {
        Self::ACTIVE.iter().position(|s| *s == self)
    }

    /// Whether a delivery now at `self` has got to `target`: it is there, or
    /// at a later step of the happy path (a change may skip past a status
    /// between two looks).
    pub fn has_reached(self, target: Self) -> bool {
        self == target || matches!((self.step(), target.step()), (Some(c), Some(t)) if c >= t)
    }

    /// Whether the delivery of a cancelled order is cancelled with it: the
    /// order's rule ([`OrderStatus::is_cancellable`]), so the two never drift.
    pub fn is_cancellable(self) -> bool {
        self.order_status().is_cancellable()
    }

    /// The order status a delivery status implies (docs/design.md).
    pub fn order_status(self) -> OrderStatus {
        match self {
            Self::Pending => OrderStatus::Placed,
            Self::Assigned => OrderStatus::Preparing,
            Self::PickedUp | Self::InTransit => OrderStatus::OutForDelivery,
            Self::Delivered => OrderStatus::Delivered,
            Self::Cancelled => OrderStatus::Cancelled,
            Self::Failed => OrderStatus::Failed,
        }
    }
}

/// Where an order is, derived from its delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Placed,
    Preparing,
    OutForDelivery,
    Delivered,
    Cancelled,
    Failed,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 6] = [
        Self::Placed,
        Self::Preparing,
        Self::OutForDelivery,
        Self::Delivered,
        Self::Cancelled,
        Self::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Placed => "PLACED",
            Self::Preparing => "PREPARING",
            Self::OutForDelivery => "OUT_FOR_DELIVERY",
            Self::Delivered => "DELIVERED",
            Self::Cancelled => "CANCELLED",
            Self::Failed => "FAILED",
        }
    }

    /// The happy path an order follows, in order.
    pub const HAPPY_PATH: [OrderStatus; 4] = [
        Self::Placed,
        Self::Preparing,
        Self::OutForDelivery,
        Self::Delivered,
    ];

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Delivered | Self::Cancelled | Self::Failed)
    }

    /// Where this status is on the happy path (0 for PLACED), if it is on it.
    pub fn step(self) -> Option<usize> {
        Self::HAPPY_PATH.iter().position(|s| *s == self)
    }

    /// Whether an order now at `self` has got to `target`: it is there, or at
    /// a later step of the happy path.
    pub fn has_reached(self, target: Self) -> bool {
        self == target || matches!((self.step(), target.step()), (Some(c), Some(t)) if c >= t)
    }

    /// An order may be cancelled only before its food is picked up.
    pub fn is_cancellable(self) -> bool {
        matches!(self, Self::Placed | Self::Preparing)
    }
}

/// An unknown status name. Read from a request it is the caller's mistake;
/// read from storage or from another service it is corruption, never a
/// status to guess.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown status `{0}`")]
pub struct UnknownStatus(pub String);

fn normalise(s: &str) -> String {
    s.trim().to_ascii_uppercase().replace(['-', ' '], "_")
}

impl FromStr for DeliveryStatus {
    type Err = UnknownStatus;

    /// Accepts the upper-case names and friendlier spellings (`picked-up`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let n = normalise(s);
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == n)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

impl FromStr for OrderStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let n = normalise(s);
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == n)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

impl fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::DeliveryStatus::*;
    use super::*;

    #[test]
    fn the_happy_path_is_allowed_step_by_step() {
        let path = [Pending, Assigned, PickedUp, InTransit, Delivered];
        for pair in path.windows(2) {
            assert_eq!(pair[0].transition(pair[1]), Ok(pair[1]));
        }
    }

    #[test]
    fn skipping_a_step_or_going_back_is_refused() {
        assert!(Pending.transition(PickedUp).is_err());
        assert!(Pending.transition(Delivered).is_err());
        assert!(InTransit.transition(Assigned).is_err());
        assert!(Assigned.transition(Assigned).is_err());
    }

    #[test]
    fn any_non_terminal_status_can_be_cancelled_or_failed() {
        for from in [Pending, Assigned, PickedUp, InTransit] {
            assert!(from.can_transition_to(Cancelled), "{from} -> CANCELLED");
            assert!(from.can_transition_to(Failed), "{from} -> FAILED");
        }
    }

    #[test]
    fn terminal_statuses_accept_nothing() {
        for from in [Delivered, Cancelled, Failed] {
            for to in DeliveryStatus::ALL {
                assert_eq!(from.transition(to), Err(TransitionError { from, to }));
            }
        }
    }

    #[test]
    fn delivery_statuses_map_to_order_statuses() {
        assert_eq!(Pending.order_status(), OrderStatus::Placed);
        assert_eq!(Assigned.order_status(), OrderStatus::Preparing);
        assert_eq!(PickedUp.order_status(), OrderStatus::OutForDelivery);
        assert_eq!(InTransit.order_status(), OrderStatus::OutForDelivery);
        assert_eq!(Delivered.order_status(), OrderStatus::Delivered);
        assert_eq!(Cancelled.order_status(), OrderStatus::Cancelled);
        assert_eq!(Failed.order_status(), OrderStatus::Failed);
    }

    #[test]
    fn the_happy_path_steps_are_in_order_and_terminal_side_exits_are_off_it() {
        assert_eq!(Pending.step(), Some(0));
        assert_eq!(Delivered.step(), Some(4));
        assert_eq!(Cancelled.step(), None);
        assert_eq!(OrderStatus::Placed.step(), Some(0));
        assert_eq!(OrderStatus::Delivered.step(), Some(3));
        assert_eq!(OrderStatus::Failed.step(), None);
    }

    #[test]
    fn a_later_step_has_reached_an_earlier_one_but_a_side_exit_has_not() {
        assert!(InTransit.has_reached(Assigned));
        assert!(Assigned.has_reached(Assigned));
        assert!(!Assigned.has_reached(InTransit));
        assert!(!Cancelled.has_reached(Assigned));
        assert!(Cancelled.has_reached(Cancelled));
        assert!(OrderStatus::Delivered.has_reached(OrderStatus::Preparing));
        assert!(!OrderStatus::Failed.has_reached(OrderStatus::Placed));
        assert!(!OrderStatus::Placed.has_reached(OrderStatus::Cancelled));
    }

    #[test]
    fn only_orders_and_deliveries_not_yet_picked_up_are_cancellable() {
        let cancellable: Vec<_> = OrderStatus::ALL
            .into_iter()
            .filter(|s| s.is_cancellable())
            .collect();
        assert_eq!(cancellable, [OrderStatus::Placed, OrderStatus::Preparing]);
        let cancellable: Vec<_> = DeliveryStatus::ALL
            .into_iter()
            .filter(|s| s.is_cancellable())
            .collect();
        assert_eq!(cancellable, [Pending, Assigned]);
    }

    #[test]
    fn statuses_parse_loosely_and_print_in_upper_case() {
        assert_eq!("picked-up".parse::<DeliveryStatus>(), Ok(PickedUp));
        assert_eq!("IN_TRANSIT".parse::<DeliveryStatus>(), Ok(InTransit));
        assert_eq!(
            "out for delivery".parse::<OrderStatus>(),
            Ok(OrderStatus::OutForDelivery)
        );
        assert!("LOST".parse::<DeliveryStatus>().is_err());
        assert_eq!(PickedUp.to_string(), "PICKED_UP");
        assert_eq!(serde_json::to_string(&PickedUp).unwrap(), "\"PICKED_UP\"");
    }
}
