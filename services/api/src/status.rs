//! Delivery and order statuses, and the delivery state machine.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// Where a delivery is. The happy path is
/// `PENDING -> ASSIGNED -> PICKED_UP -> IN_TRANSIT -> DELIVERED`; any
/// non-terminal status may also go to `CANCELLED` or `FAILED`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

    /// Whether a delivery may still be cancelled with its order: before
    /// pick-up.
    pub fn is_cancellable(self) -> bool {
        matches!(self, Self::Pending | Self::Assigned)
    }

    /// Whether a courier is busy with a delivery in this status: it counts
    /// towards the courier's `active_deliveries` and its cap.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Assigned | Self::PickedUp | Self::InTransit)
    }
}

/// Where an order is (docs/design.md, "Statuses"). The happy path is
/// `PLACED -> PREPARING -> READY_FOR_PICKUP -> OUT_FOR_DELIVERY ->
/// DELIVERED`; the kitchen may reject a PLACED order; the customer or ops
/// cancel a PLACED or PREPARING one; a failed delivery fails it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Placed,
    Preparing,
    ReadyForPickup,
    OutForDelivery,
    Delivered,
    Rejected,
    Cancelled,
    Failed,
}

/// A refused order status change; nothing was changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot move an order from {from} to {to}")]
pub struct OrderTransitionError {
    pub from: OrderStatus,
    pub to: OrderStatus,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 8] = [
        Self::Placed,
        Self::Preparing,
        Self::ReadyForPickup,
        Self::OutForDelivery,
        Self::Delivered,
        Self::Rejected,
        Self::Cancelled,
        Self::Failed,
    ];

    /// The lanes of the kitchen's board, in order.
    pub const KITCHEN: [OrderStatus; 3] = [Self::Placed, Self::Preparing, Self::ReadyForPickup];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Placed => "PLACED",
            Self::Preparing => "PREPARING",
            Self::ReadyForPickup => "READY_FOR_PICKUP",
            Self::OutForDelivery => "OUT_FOR_DELIVERY",
            Self::Delivered => "DELIVERED",
            Self::Rejected => "REJECTED",
            Self::Cancelled => "CANCELLED",
            Self::Failed => "FAILED",
        }
    }

    /// The happy path an order follows, in order.
    pub const HAPPY_PATH: [OrderStatus; 5] = [
        Self::Placed,
        Self::Preparing,
        Self::ReadyForPickup,
        Self::OutForDelivery,
        Self::Delivered,
    ];

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Delivered | Self::Rejected | Self::Cancelled | Self::Failed
        )
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

    /// Whether the kitchen has said yes: a courier may pick it up.
    pub fn is_accepted(self) -> bool {
        matches!(self, Self::Preparing | Self::ReadyForPickup)
    }

    /// The order state machine: the one place that decides whether
    /// `self -> to` is allowed. PREPARING -> PREPARING (a new `ready_by`) is
    /// allowed; the caller decides whether anything changed.
    pub fn transition(self, to: Self) -> Result<Self, OrderTransitionError> {
        use OrderStatus::*;
        let allowed = match (self, to) {
            (Placed, Preparing | Rejected | Cancelled) => true,
            (Preparing, Preparing | ReadyForPickup | Cancelled) => true,
            (Preparing | ReadyForPickup, OutForDelivery) => true,
            (OutForDelivery, Delivered) => true,
            (from, Failed) => !from.is_terminal(),
            _ => false,
        };
        if allowed {
            Ok(to)
        } else {
            Err(OrderTransitionError { from: self, to })
        }
    }

    pub fn can_transition_to(self, to: Self) -> bool {
        self.transition(to).is_ok()
    }

    /// The move a delivery change makes on an order now at `self`, if any
    /// (docs/design.md, "Statuses"): a pick-up or transit takes an accepted
    /// order out for delivery, DELIVERED and FAILED follow the delivery, a
    /// cancelled delivery cancels the order (unless it already ended);
    /// PENDING and ASSIGNED never move an order.
    pub fn after_delivery(self, delivery: DeliveryStatus) -> Option<Self> {
        let to = match delivery {
            DeliveryStatus::Pending | DeliveryStatus::Assigned => return None,
            DeliveryStatus::PickedUp | DeliveryStatus::InTransit => Self::OutForDelivery,
            DeliveryStatus::Delivered => Self::Delivered,
            DeliveryStatus::Cancelled => Self::Cancelled,
            DeliveryStatus::Failed => Self::Failed,
        };
        if self == to || self.is_terminal() {
            return None;
        }
        match (self, to) {
            // A delivery cancelled by ops cancels an order past the point a
            // customer could, too: the food is not coming.
            (_, Self::Cancelled) => Some(to),
            // A delivered order was out for delivery, even if that event was
            // missed.
            (Self::Preparing | Self::ReadyForPickup, Self::Delivered) => Some(to),
            _ => self.can_transition_to(to).then_some(to),
        }
    }

    /// The order statuses consistent with a delivery status (the pairs of
    /// docs/design.md, "Statuses").
    pub fn matches_delivery(self, delivery: DeliveryStatus) -> bool {
        use DeliveryStatus as D;
        match self {
            Self::Placed | Self::Preparing | Self::ReadyForPickup => {
                matches!(delivery, D::Pending | D::Assigned)
            }
            Self::OutForDelivery => matches!(delivery, D::PickedUp | D::InTransit),
            Self::Rejected | Self::Cancelled => delivery == D::Cancelled,
            Self::Delivered => delivery == D::Delivered,
            Self::Failed => delivery == D::Failed,
        }
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
    fn delivery_changes_move_orders_as_the_design_says() {
        use OrderStatus as O;
        // PENDING and ASSIGNED never move an order.
        for o in O::ALL {
            assert_eq!(o.after_delivery(Pending), None, "{o}");
            assert_eq!(o.after_delivery(Assigned), None, "{o}");
        }
        // A pick-up takes an accepted order out, ready or not.
        assert_eq!(
            O::Preparing.after_delivery(PickedUp),
            Some(O::OutForDelivery)
        );
        assert_eq!(
            O::ReadyForPickup.after_delivery(PickedUp),
            Some(O::OutForDelivery)
        );
        assert_eq!(O::Placed.after_delivery(PickedUp), None);
        assert_eq!(O::OutForDelivery.after_delivery(InTransit), None);
        assert_eq!(
            O::OutForDelivery.after_delivery(Delivered),
            Some(O::Delivered)
        );
        assert_eq!(O::Preparing.after_delivery(Failed), Some(O::Failed));
        assert_eq!(
            O::OutForDelivery.after_delivery(Cancelled),
            Some(O::Cancelled)
        );
        // Terminal orders stay where they are: a rejection's cancelled
        // delivery leaves the order REJECTED.
        assert_eq!(O::Rejected.after_delivery(Cancelled), None);
        assert_eq!(O::Cancelled.after_delivery(Cancelled), None);
        assert_eq!(O::Delivered.after_delivery(Failed), None);
    }

    #[test]
    fn the_order_machine_allows_the_kitchen_and_the_customer_their_moves_only() {
        use OrderStatus::*;
        let path = OrderStatus::HAPPY_PATH;
        for pair in path.windows(2) {
            assert!(
                pair[0].can_transition_to(pair[1]),
                "{} -> {}",
                pair[0],
                pair[1]
            );
        }
        assert!(Placed.can_transition_to(Rejected));
        assert!(!Preparing.can_transition_to(Rejected));
        assert!(Preparing.can_transition_to(Preparing), "a new ready_by");
        assert!(!Placed.can_transition_to(ReadyForPickup));
        assert!(!ReadyForPickup.can_transition_to(Cancelled));
        assert!(!OutForDelivery.can_transition_to(Preparing));
        for from in [Delivered, Rejected, Cancelled, Failed] {
            for to in OrderStatus::ALL {
                assert!(!from.can_transition_to(to), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn each_order_status_has_its_consistent_delivery_statuses() {
        use OrderStatus as O;
        assert!(O::ReadyForPickup.matches_delivery(Assigned));
        assert!(!O::ReadyForPickup.matches_delivery(PickedUp));
        assert!(O::Rejected.matches_delivery(Cancelled));
        assert!(O::OutForDelivery.matches_delivery(InTransit));
        assert!(!O::Delivered.matches_delivery(Failed));
    }

    #[test]
    fn the_happy_path_steps_are_in_order_and_terminal_side_exits_are_off_it() {
        assert_eq!(Pending.step(), Some(0));
        assert_eq!(Delivered.step(), Some(4));
        assert_eq!(Cancelled.step(), None);
        assert_eq!(OrderStatus::Placed.step(), Some(0));
        assert_eq!(OrderStatus::Delivered.step(), Some(4));
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

/// Properties of the two state machines, stated as docs/design.md section 5
/// says them and checked over random walks of arbitrary requests.
#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    fn delivery_status() -> impl Strategy<Value = DeliveryStatus> {
        proptest::sample::select(DeliveryStatus::ALL.to_vec())
    }

    fn order_status() -> impl Strategy<Value = OrderStatus> {
        proptest::sample::select(OrderStatus::ALL.to_vec())
    }

    /// A status name, spelt as a person might: any case, `-` or ` ` for
    /// `_`, with blanks around it.
    fn spelt(name: &'static str) -> impl Strategy<Value = String> {
        (
            proptest::collection::vec((any::<bool>(), 0..3u8), name.len()),
            "[ \t]{0,2}",
            "[ \t]{0,2}",
        )
            .prop_map(move |(shapes, before, after)| {
                let body: String = name
                    .chars()
                    .zip(shapes)
                    .map(|(c, (lower, sep))| match (c, sep) {
                        ('_', 1) => '-',
                        ('_', 2) => ' ',
                        (c, _) if lower => c.to_ascii_lowercase(),
                        (c, _) => c,
                    })
                    .collect();
                format!("{before}{body}{after}")
            })
    }

    /// Text that is no status name under any spelling: arbitrary text, and
    /// names with one character added, dropped or changed (the near misses
    /// a typo makes).
    fn not_a_status() -> impl Strategy<Value = String> {
        let names: Vec<&str> = DeliveryStatus::ALL
            .iter()
            .map(|s| s.as_str())
            .chain(OrderStatus::ALL.iter().map(|s| s.as_str()))
            .collect();
        let near_miss = (
            proptest::sample::select(names),
            any::<prop::sample::Index>(),
            "[A-Z0-9#é]",
        )
            .prop_map(|(name, at, c)| {
                let mut s = name.to_owned();
                let i = at.index(s.len());
                match i % 3 {
                    0 => s.insert_str(i, &c),
                    1 => s.replace_range(i..=i, &c),
                    _ => {
                        s.remove(i);
                    }
                }
                s
            });
        prop_oneof![near_miss, any::<String>()].prop_filter("a real status name", |s| {
            let n = normalise(s);
            !DeliveryStatus::ALL.iter().any(|st| st.as_str() == n)
                && !OrderStatus::ALL.iter().any(|st| st.as_str() == n)
        })
    }

    /// docs/design.md 5: "PENDING -> ASSIGNED -> PICKED_UP -> IN_TRANSIT ->
    /// DELIVERED, and from any non-terminal status to CANCELLED or FAILED.
    /// Any other transition is refused." (The reassignment ASSIGNED ->
    /// ASSIGNED is delivery-service's, with a courier; see its walk.)
    fn design_allows_delivery(from: DeliveryStatus, to: DeliveryStatus) -> bool {
        use DeliveryStatus::*;
        let happy = [Pending, Assigned, PickedUp, InTransit, Delivered];
        let next = happy.windows(2).any(|w| w == [from, to]);
        let ended = matches!(from, Delivered | Cancelled | Failed);
        !ended && (next || matches!(to, Cancelled | Failed))
    }

    /// docs/design.md 5, the order: the happy path `PLACED -> PREPARING ->
    /// READY_FOR_PICKUP -> OUT_FOR_DELIVERY -> DELIVERED`; "PLACED ->
    /// REJECTED"; "CANCELLED ... while PLACED or PREPARING"; "FAILED when
    /// the delivery fails" (a delivery fails from any non-terminal status);
    /// "Accepting a PREPARING order again changes its ready_by"; "a pick-up
    /// of a PREPARING order means the food left the kitchen, ready or not".
    /// "REJECTED, CANCELLED, DELIVERED and FAILED are terminal."
    fn design_allows_order(from: OrderStatus, to: OrderStatus) -> bool {
        use OrderStatus::*;
        let happy = OrderStatus::HAPPY_PATH.windows(2).any(|w| w == [from, to]);
        let ended = matches!(from, Rejected | Cancelled | Delivered | Failed);
        !ended
            && (happy
                || matches!(
                    (from, to),
                    (Placed, Rejected)
                        | (Placed | Preparing, Cancelled)
                        | (Preparing, Preparing)
                        | (Preparing, OutForDelivery)
                        | (_, Failed)
                ))
    }

    proptest! {
        #[test]
        fn every_status_reads_back_from_its_name_however_it_is_spelt(
            (status, spelling) in delivery_status().prop_flat_map(|s| (Just(s), spelt(s.as_str())))
        ) {
            prop_assert_eq!(status.to_string().parse::<DeliveryStatus>(), Ok(status));
            prop_assert_eq!(spelling.parse::<DeliveryStatus>(), Ok(status));
            let json = serde_json::to_string(&status).unwrap();
            prop_assert_eq!(serde_json::from_str::<DeliveryStatus>(&json).unwrap(), status);
        }

        #[test]
        fn every_order_status_reads_back_from_its_name_however_it_is_spelt(
            (status, spelling) in order_status().prop_flat_map(|s| (Just(s), spelt(s.as_str())))
        ) {
            prop_assert_eq!(status.to_string().parse::<OrderStatus>(), Ok(status));
            prop_assert_eq!(spelling.parse::<OrderStatus>(), Ok(status));
            let json = serde_json::to_string(&status).unwrap();
            prop_assert_eq!(serde_json::from_str::<OrderStatus>(&json).unwrap(), status);
        }

        #[test]
        fn any_other_text_is_refused_as_an_unknown_status_naming_it(text in not_a_status()) {
            prop_assert_eq!(text.parse::<DeliveryStatus>(), Err(UnknownStatus(text.clone())));
            prop_assert_eq!(text.parse::<OrderStatus>(), Err(UnknownStatus(text.clone())));
            let json = serde_json::to_string(&text).unwrap();
            prop_assert!(serde_json::from_str::<DeliveryStatus>(&json).is_err());
            prop_assert!(serde_json::from_str::<OrderStatus>(&json).is_err());
        }

        #[test]
        fn any_wire_value_reads_as_its_status_or_is_refused(v in prop_oneof![-2..10i32, any::<i32>()]) {
            use food_proto::{delivery::v1 as pd, order::v1 as po};
            match crate::convert::delivery_status(v) {
                Ok(s) => prop_assert_eq!(pd::DeliveryStatus::from(s) as i32, v),
                Err(_) => prop_assert!(DeliveryStatus::ALL.iter().all(|s| pd::DeliveryStatus::from(*s) as i32 != v)),
            }
            match crate::convert::order_status(v) {
                Ok(s) => prop_assert_eq!(po::OrderStatus::from(s) as i32, v),
                Err(_) => prop_assert!(OrderStatus::ALL.iter().all(|s| po::OrderStatus::from(*s) as i32 != v)),
            }
        }

        /// A random walk of arbitrary requests: each is allowed exactly
        /// when the design allows it, a refusal names the request and
        /// leaves the status where it was, and a terminal status stays.
        #[test]
        fn a_delivery_only_ever_makes_the_moves_the_design_allows(
            requests in proptest::collection::vec(delivery_status(), 1..40)
        ) {
            let mut at = DeliveryStatus::Pending;
            for to in requests {
                let before = at;
                match at.transition(to) {
                    Ok(next) => {
                        prop_assert!(design_allows_delivery(before, to), "{before} -> {to} allowed");
                        prop_assert_eq!(next, to);
                        // Forward along the happy path or off it to an end.
                        prop_assert!(to.is_terminal() || to.step() > before.step());
                        at = next;
                    }
                    Err(e) => {
                        prop_assert!(!design_allows_delivery(before, to), "{before} -> {to} refused");
                        prop_assert_eq!(e, TransitionError { from: before, to });
                    }
                }
                if before.is_terminal() {
                    prop_assert_eq!(at, before, "a terminal status stays");
                }
            }
        }

        #[test]
        fn an_order_only_ever_makes_the_moves_the_design_allows(
            requests in proptest::collection::vec(order_status(), 1..40)
        ) {
            let mut at = OrderStatus::Placed;
            for to in requests {
                let before = at;
                match at.transition(to) {
                    Ok(next) => {
                        prop_assert!(design_allows_order(before, to), "{before} -> {to} allowed");
                        prop_assert_eq!(next, to);
                        at = next;
                    }
                    Err(e) => {
                        prop_assert!(!design_allows_order(before, to), "{before} -> {to} refused");
                        prop_assert_eq!(e, OrderTransitionError { from: before, to });
                    }
                }
                if before.is_terminal() {
                    prop_assert_eq!(at, before, "a terminal status stays");
                }
            }
        }

        /// The order and its delivery driven together, as the services
        /// drive them: the kitchen's and the customer's moves on the order,
        /// couriers' and ops' moves on the delivery, each delivery change
        /// followed by the order (`after_delivery`), a pick-up of an order
        /// not accepted refused (409 `not_accepted`), and a REJECTED or
        /// CANCELLED order cancelling its delivery (the compensation).
        /// After every step the pair is one of the design's consistent
        /// pairs ("The consistent pairs (order <-> delivery) are ...").
        #[test]
        fn an_order_and_its_delivery_driven_together_stay_a_consistent_pair(
            moves in proptest::collection::vec(prop_oneof![
                order_status().prop_map(Move::Order),
                delivery_status().prop_map(Move::Delivery),
            ], 1..40)
        ) {
            let mut order = OrderStatus::Placed;
            let mut delivery = DeliveryStatus::Pending;
            for m in moves {
                match m {
                    // Only the kitchen's and the customer's own moves; the
                    // rest of the order follows its delivery.
                    Move::Order(to @ (OrderStatus::Preparing | OrderStatus::ReadyForPickup
                        | OrderStatus::Rejected | OrderStatus::Cancelled)) => {
                        if let Ok(next) = order.transition(to) {
                            order = next;
                            if matches!(to, OrderStatus::Rejected | OrderStatus::Cancelled) {
                                delivery = delivery.transition(DeliveryStatus::Cancelled)
                                    .map_err(|e| TestCaseError::fail(format!("compensation refused: {e}")))?;
                            }
                        }
                    }
                    Move::Order(_) => {}
                    Move::Delivery(DeliveryStatus::PickedUp) if !order.is_accepted() => {}
                    Move::Delivery(to) => {
                        if let Ok(next) = delivery.transition(to) {
                            delivery = next;
                            if let Some(o) = order.after_delivery(next) {
                                order = o;
                            }
                        }
                    }
                }
                prop_assert!(order.matches_delivery(delivery), "{order} with {delivery}");
            }
        }
    }

    /// One request in [`an_order_and_its_delivery_driven_together_stay_a_consistent_pair`].
    #[derive(Clone, Copy, Debug)]
    enum Move {
        Order(OrderStatus),
        Delivery(DeliveryStatus),
    }
}
