//! What the live feed has told the board: the deliveries merged by version,
//! the connection's state and the rate of live events.
//!
//! The snapshot and the live feed race (the feed starts before the snapshot
//! is read), so every delivery is merged by its version: the board ends at
//! the newest version of each, whatever order they arrive in.

use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
};

use chrono::{DateTime, Utc};
use food_api::Delivery;

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

/// What merging did with a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merge {
    Inserted,
    Updated,
    /// Same version as the board already has.
    Duplicate,
    /// Older than what the board already has; ignored.
    Outdated,
}

impl Merge {
    /// Whether the board holds something new, so that what is drawn must be rebuilt.
    pub fn changed(self) -> bool {
        matches!(self, Self::Inserted | Self::Updated)
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

/// The deliveries by order id, and the state of the feed that brings them.
#[derive(Debug)]
pub(super) struct Deliveries {
    cards: HashMap<Arc<str>, Card>,
    conn: Conn,
    rate: RateMeter,
    /// Live events applied since start, for the benchmarks and the header.
    events: u64,
}

impl Default for Deliveries {
    fn default() -> Self {
        Self {
            cards: HashMap::new(),
            conn: Conn::Connecting { attempt: 0 },
            rate: RateMeter::default(),
            events: 0,
        }
    }
}

impl Deliveries {
    pub(super) fn conn(&self) -> &Conn {
        &self.conn
    }

    pub(super) fn live_events(&self) -> u64 {
        self.events
    }

    pub(super) fn events_per_second(&self, now: DateTime<Utc>) -> f64 {
        self.rate.per_second(now)
    }

    pub(super) fn len(&self) -> usize {
        self.cards.len()
    }

    pub(super) fn get(&self, order_id: &str) -> Option<&Card> {
        self.cards.get(order_id)
    }

    pub(super) fn cards(&self) -> impl Iterator<Item = &Card> {
        self.cards.values()
    }

    /// Merges one delivery by version: an older version never overwrites a
    /// newer one and a duplicate changes nothing.
    pub(super) fn apply(&mut self, d: Delivery) -> Merge {
        match self.cards.get_mut(d.order_id.as_str()) {
            Some(card) if d.version < card.delivery.version => Merge::Outdated,
            Some(card) if d.version == card.delivery.version => Merge::Duplicate,
            Some(card) => {
                *card = Card::new(card.id.clone(), d);
                Merge::Updated
            }
            None => {
                let id: Arc<str> = Arc::from(d.order_id.as_str());
                self.cards.insert(id.clone(), Card::new(id, d));
                Merge::Inserted
            }
        }
    }

    /// Takes in one event of the feed, received at `now`; says whether any
    /// delivery changed.
    pub(super) fn on_data(&mut self, ev: DataEvent, now: DateTime<Utc>) -> bool {
        match ev {
            DataEvent::Connecting { attempt } => {
                match &mut self.conn {
                    Conn::Stale { attempt: a, .. } | Conn::Connecting { attempt: a } => {
                        *a = attempt;
                    }
                    Conn::Live => self.conn = Conn::Connecting { attempt },
                }
                false
            }
            DataEvent::Snapshot(deliveries) => {
                let mut changed = false;
                for d in deliveries {
                    changed |= self.apply(d).changed();
                }
                self.conn = Conn::Live;
                changed
            }
            DataEvent::Changed(d) => {
                self.events += 1;
                self.rate.record(now);
                self.apply(d).changed()
            }
            DataEvent::Lost { error } => {
                match &mut self.conn {
                    // Stale since the first loss, not since the latest failed retry.
                    Conn::Stale { error: e, .. } => *e = error,
                    _ => {
                        self.conn = Conn::Stale {
                            since: now,
                            attempt: 0,
                            error,
                        }
                    }
                }
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use food_api::DeliveryStatus;

    use super::*;
    use crate::app::tests::{delivery, t0};

    #[test]
    fn an_older_version_never_overwrites_a_newer_one() {
        let mut deliveries = Deliveries::default();
        let newer = delivery(1, DeliveryStatus::PickedUp, 3, 1);
        let older = delivery(1, DeliveryStatus::Assigned, 2, 2);

        assert_eq!(deliveries.apply(newer), Merge::Inserted);
        let merge = deliveries.apply(older);

        assert_eq!(merge, Merge::Outdated);
        let d = &deliveries
            .get(&delivery(1, DeliveryStatus::Pending, 1, 0).order_id)
            .unwrap()
            .delivery;
        assert_eq!((d.status, d.version), (DeliveryStatus::PickedUp, 3));
    }

    #[test]
    fn a_duplicate_changes_nothing() {
        let mut deliveries = Deliveries::default();
        let d = delivery(1, DeliveryStatus::Assigned, 2, 3);
        deliveries.apply(d.clone());
        let mut dup = d.clone();
        dup.courier = Some("someone else".into());

        let merge = deliveries.apply(dup);

        assert_eq!(merge, Merge::Duplicate);
        assert_eq!(deliveries.get(&d.order_id).map(|c| &c.delivery), Some(&d));
    }

    #[test]
    fn a_card_ages_from_its_entry_into_its_status_not_its_last_update() {
        let mut deliveries = Deliveries::default();
        let mut d = delivery(1, DeliveryStatus::Assigned, 2, 3);
        d.updated_at = t0();

        deliveries.apply(d.clone());

        let card = deliveries.get(&d.order_id).unwrap();
        assert_eq!(card.since, t0() - TimeDelta::minutes(3));
    }

    #[test]
    fn the_rate_counts_only_the_last_five_whole_seconds() {
        let mut rate = RateMeter::default();
        for _ in 0..5 {
            rate.record(t0());
        }

        assert!(
            rate.per_second(t0()).abs() < f64::EPSILON,
            "not the current second"
        );
        for s in [1, 5] {
            let r = rate.per_second(t0() + TimeDelta::seconds(s));
            assert!((r - 1.0).abs() < f64::EPSILON, "{s}s later: {r}");
        }
        assert!(rate.per_second(t0() + TimeDelta::seconds(6)).abs() < f64::EPSILON);
    }
}
