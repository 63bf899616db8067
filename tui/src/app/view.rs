//! What is visible: the lanes after filter and sort, the cursor within them,
//! and how old a card looks.
//!
//! A [`View`] is built from the cards and a [`Query`] (filter, sort, which
//! lanes) and then only read, so the board rebuilds it once per change
//! however many times a frame asks. The cursor is placed by order id, so it
//! stays on its card while others come and go.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use food_api::{Delivery, DeliveryStatus};

use super::{merge::Card, state::Options};

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

/// What the user asked to see.
#[derive(Clone, Debug, Default)]
pub(super) struct Query {
    pub(super) sort: Sort,
    /// Lower-case; empty means no filter.
    pub(super) filter: String,
    pub(super) show_terminal: bool,
}

impl Query {
    fn matches(&self, d: &Delivery) -> bool {
        self.filter.is_empty()
            || contains_ci(&d.order_id, &self.filter)
            || d.restaurant_name
                .as_deref()
                .is_some_and(|r| contains_ci(r, &self.filter))
            || d.restaurant_id
                .as_deref()
                .is_some_and(|r| contains_ci(r, &self.filter))
            || contains_ci(&d.customer_id, &self.filter)
            || d.courier
                .as_deref()
                .is_some_and(|c| contains_ci(c, &self.filter))
    }
}

/// The lanes as drawn; rebuilt only when deliveries, filter, sort or lanes change.
#[derive(Clone, Debug)]
pub struct View {
    pub lanes: Vec<Lane>,
    /// Cards per status (indexed like [`DeliveryStatus::ALL`]), before the filter.
    pub counts: [usize; 7],
}

impl View {
    pub(super) fn build<'a>(cards: impl IntoIterator<Item = &'a Card>, query: &Query) -> Self {
        let mut kinds: Vec<LaneKind> = DeliveryStatus::ACTIVE.map(LaneKind::Status).to_vec();
        if query.show_terminal {
            kinds.push(LaneKind::Terminal);
        }
        let mut lanes: Vec<(LaneKind, Vec<&Card>, usize)> =
            kinds.iter().map(|k| (*k, Vec::new(), 0)).collect();
        let mut counts = [0; 7];
        for card in cards {
            counts[status_index(card.delivery.status)] += 1;
            let Some(lane) = lanes.iter_mut().find(|l| l.0.holds(card.delivery.status)) else {
                continue;
            };
            lane.2 += 1;
            if query.matches(&card.delivery) {
                lane.1.push(card);
            }
        }
        let lanes = lanes
            .into_iter()
            .map(|(kind, mut cards, total)| {
                match query.sort {
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
        Self { lanes, counts }
    }

    /// Cards with this status, before the filter.
    pub fn count(&self, status: DeliveryStatus) -> usize {
        self.counts[status_index(status)]
    }

    /// The cursor as (lane, row); `row` is `None` in an empty lane.
    pub(super) fn selection(&self, cursor: &Cursor) -> (usize, Option<usize>) {
        if self.lanes.is_empty() {
            return (0, None);
        }
        let lane_ix = cursor.lane.min(self.lanes.len() - 1);
        let lane = &self.lanes[lane_ix];
        if lane.ids.is_empty() {
            return (lane_ix, None);
        }
        let row = cursor
            .id
            .as_ref()
            .and_then(|id| lane.ids.iter().position(|x| x == id))
            .unwrap_or_else(|| cursor.row.min(lane.ids.len() - 1));
        (lane_ix, Some(row))
    }

    /// The order id under the cursor.
    pub(super) fn selected(&self, cursor: &Cursor) -> Option<&Arc<str>> {
        let (lane, row) = self.selection(cursor);
        self.lanes.get(lane)?.ids.get(row?)
    }

    /// The cursor `delta` lanes over, on the same row or the lane's last.
    pub(super) fn lane_moved(&self, cursor: &Cursor, delta: isize) -> Cursor {
        let (lane, row) = self.selection(cursor);
        let lane = lane
            .saturating_add_signed(delta)
            .min(self.lanes.len().saturating_sub(1));
        let Some(ids) = self.lanes.get(lane).map(|l| &l.ids) else {
            return cursor.clone();
        };
        let row = row.unwrap_or(cursor.row).min(ids.len().saturating_sub(1));
        Cursor {
            lane,
            id: ids.get(row).cloned(),
            row,
        }
    }

    /// The cursor `delta` rows along its lane; `None` in an empty lane.
    pub(super) fn row_moved(&self, cursor: &Cursor, delta: isize) -> Option<Cursor> {
        let (lane, row) = self.selection(cursor);
        let row = row?;
        let ids = &self.lanes[lane].ids;
        let row = row.saturating_add_signed(delta).min(ids.len() - 1);
        Some(Cursor {
            lane,
            id: ids.get(row).cloned(),
            row,
        })
    }

    /// The cursor on an order, if it is shown.
    pub(super) fn cursor_on(&self, order_id: &str) -> Option<Cursor> {
        self.lanes.iter().enumerate().find_map(|(lane, l)| {
            let row = l.ids.iter().position(|x| &**x == order_id)?;
            Some(Cursor {
                lane,
                id: Some(l.ids[row].clone()),
                row,
            })
        })
    }
}

/// Where the cursor is: a lane, and a card in it by id so that it stays on
/// the same card while others come and go.
#[derive(Clone, Debug, Default)]
pub(super) struct Cursor {
    lane: usize,
    id: Option<Arc<str>>,
    /// Used when the card under the cursor left the lane.
    row: usize,
}

impl Cursor {
    /// Keeps the lane within the first `lanes`, as when a lane hides.
    pub(super) fn clamp_lane(&mut self, lanes: usize) {
        self.lane = self.lane.min(lanes.saturating_sub(1));
    }
}

/// How long a card has been in its status, relative to the thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ageing {
    Fresh,
    Warn,
    Alert,
}

impl Ageing {
    /// A finished delivery never needs attention, however old.
    pub(super) fn of(card: &Card, now: DateTime<Utc>, options: &Options) -> Self {
        if card.delivery.status.is_terminal() {
            return Self::Fresh;
        }
        let age = now - card.since;
        if age >= options.alert_after {
            Self::Alert
        } else if age >= options.warn_after {
            Self::Warn
        } else {
            Self::Fresh
        }
    }
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

#[cfg(test)]
mod tests {
    use food_api::short_id;

    use super::*;
    use crate::app::tests::delivery;

    fn cards(deliveries: impl IntoIterator<Item = Delivery>) -> Vec<Card> {
        deliveries
            .into_iter()
            .map(|d| Card {
                id: Arc::from(d.order_id.as_str()),
                since: d.updated_at,
                delivery: d,
            })
            .collect()
    }

    fn short_ids(lane: &Lane) -> Vec<&str> {
        lane.ids.iter().map(|id| short_id(id)).collect()
    }

    #[test]
    fn the_cursor_falls_back_to_its_row_when_its_card_leaves_the_lane() {
        let all =
            cards((1..=3).map(|n| delivery(n, DeliveryStatus::Pending, 1, 10 - i64::from(n))));
        let view = View::build(&all, &Query::default());
        let cursor = view.row_moved(&Cursor::default(), 1).unwrap();
        assert_eq!(short_id(view.selected(&cursor).unwrap()), "00000002");

        let without_2 = View::build(
            all.iter().filter(|c| !c.id.ends_with('2')),
            &Query::default(),
        );

        assert_eq!(without_2.selection(&cursor), (0, Some(1)));
        assert_eq!(short_id(without_2.selected(&cursor).unwrap()), "00000003");
    }

    #[test]
    fn the_terminal_lane_holds_cancelled_and_failed_only_when_asked_for() {
        let all = cards([
            delivery(1, DeliveryStatus::Cancelled, 2, 1),
            delivery(2, DeliveryStatus::Failed, 2, 2),
            delivery(3, DeliveryStatus::Delivered, 2, 3),
        ]);

        let hidden = View::build(&all, &Query::default());
        let shown = View::build(
            &all,
            &Query {
                show_terminal: true,
                ..Query::default()
            },
        );

        assert!(hidden.lanes.iter().all(|l| l.kind != LaneKind::Terminal));
        assert_eq!(hidden.count(DeliveryStatus::Cancelled), 1);
        let terminal = shown.lanes.last().unwrap();
        assert_eq!(terminal.kind, LaneKind::Terminal);
        assert_eq!(short_ids(terminal), ["00000002", "00000001"]);
    }

    #[test]
    fn a_non_ascii_filter_still_ignores_case() {
        assert!(contains_ci("Zoë ÅNGSTRÖM", "ångström"));
        assert!(contains_ci("courier-1", "rier"));
        assert!(!contains_ci("courier-1", "courier-12"));
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
