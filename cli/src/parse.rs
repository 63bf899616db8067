//! Values parsed at the edge: item specs, ETAs, wait targets and
//! derived idempotency keys. Each parser is a plain function clap calls.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use food_api::{DeliveryStatus, OrderItemInput, OrderStatus};
use food_client::parse_duration;
use sha2::{Digest, Sha256};

/// `ID` or `ID:QTY` for `order create --item`; the quantity defaults to 1.
/// The service enforces 1..=50; zero is refused here since it is never meant.
pub fn parse_item_spec(s: &str) -> Result<OrderItemInput, String> {
    let (id, qty) = match s.rsplit_once(':') {
        Some((id, q)) => {
            let qty: u32 = q.trim().parse().map_err(|_| {
                format!("`{q}` is not a quantity (expected ID[:QTY], e.g. margherita:2)")
            })?;
            (id.trim(), qty)
        }
        None => (s.trim(), 1),
    };
    if id.is_empty() {
        return Err("the item id is empty (expected ID[:QTY])".into());
    }
    if qty == 0 {
        return Err("the quantity must be at least 1".into());
    }
    Ok(OrderItemInput {
        item_id: id.to_owned(),
        quantity: qty,
    })
}

/// An ETA: RFC 3339 (`2026-01-02T12:30:00Z`) or relative to `now` (`+15m`).
pub fn parse_eta_at(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Some(rel) = s.strip_prefix('+') {
        let d = parse_duration(rel)?;
        let d = chrono::Duration::from_std(d).map_err(|_| format!("`{s}` is too far away"))?;
        return Ok(now + d);
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("`{s}` is neither RFC 3339 nor +DURATION (e.g. +15m): {e}"))
}

/// [`parse_eta_at`] against the clock, for clap.
pub fn parse_eta(s: &str) -> Result<DateTime<Utc>, String> {
    parse_eta_at(s, Utc::now())
}

pub fn parse_delivery_status(s: &str) -> Result<DeliveryStatus, String> {
    s.parse().map_err(|e: food_api::status::UnknownStatus| {
        format!(
            "{e} (one of {})",
            names(DeliveryStatus::ALL.map(DeliveryStatus::as_str))
        )
    })
}

pub fn parse_order_status(s: &str) -> Result<OrderStatus, String> {
    s.parse().map_err(|e: food_api::status::UnknownStatus| {
        format!(
            "{e} (one of {})",
            names(OrderStatus::ALL.map(OrderStatus::as_str))
        )
    })
}

fn names<const N: usize>(all: [&str; N]) -> String {
    all.join(", ")
}

/// What `order create --wait-for` waits for: a delivery status or the order
/// status it implies (`PREPARING` is reached when the delivery is `ASSIGNED`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitTarget {
    Delivery(DeliveryStatus),
    Order(OrderStatus),
}

impl FromStr for WaitTarget {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(d) = s.parse::<DeliveryStatus>() {
            return Ok(Self::Delivery(d));
        }
        s.parse::<OrderStatus>().map(Self::Order).map_err(|_| {
            format!("`{s}` is neither a delivery status nor an order status (e.g. ASSIGNED, PREPARING, DELIVERED)")
        })
    }
}

impl std::fmt::Display for WaitTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Delivery(d) => d.fmt(f),
            Self::Order(o) => o.fmt(f),
        }
    }
}

/// The outcome of comparing a delivery's status with a wait target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitState {
    /// The target or a later step of the happy path was reached.
    Reached,
    /// Still on the way.
    Waiting,
    /// A terminal status off the target's path: it will never be reached.
    Unreachable,
}

impl WaitTarget {
    /// Reached also when a change skipped past the target between two looks.
    pub fn check(self, current: DeliveryStatus) -> WaitState {
        let reached = match self {
            Self::Delivery(t) => current.has_reached(t),
            // TODO(clients): the order's own status, which the delivery no
            // longer tells.
            Self::Order(t) => OrderStatus::ALL
                .into_iter()
                .find(|o| o.matches_delivery(current))
                .is_some_and(|o| o.has_reached(t)),
        };
        if reached {
            WaitState::Reached
        } else if current.is_terminal() {
            WaitState::Unreachable
        } else {
            WaitState::Waiting
        }
    }
}

/// The idempotency key of one bulk input line without its own: the same line
/// at the same place gives the same key, so re-running a file (after an
/// interruption, say) creates nothing twice, while two equal lines at two
/// places are two orders.
pub fn derive_idempotency_key(line_no: usize, line: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"foodctl-bulk-v1\n");
    h.update(line_no.to_string().as_bytes());
    h.update(b"\n");
    h.update(line.trim_end_matches(['\r', '\n']).as_bytes());
    let digest = h.finalize();
    format!("foodctl-{}", &hex::encode(digest)[..32])
}

/// A fresh key for a single create; retries reuse it.
pub fn new_idempotency_key() -> String {
    format!("foodctl-{}", uuid::Uuid::now_v7().simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_spec_without_quantity_orders_one() {
        let i = parse_item_spec("margherita").unwrap();
        assert_eq!((i.item_id.as_str(), i.quantity), ("margherita", 1));
    }

    #[test]
    fn an_item_spec_with_quantity_orders_that_many() {
        let i = parse_item_spec("pad-thai:3").unwrap();
        assert_eq!((i.item_id.as_str(), i.quantity), ("pad-thai", 3));
    }

    #[test]
    fn an_item_id_may_contain_colons_before_the_quantity() {
        let i = parse_item_spec("urn:item:7:2").unwrap();
        assert_eq!((i.item_id.as_str(), i.quantity), ("urn:item:7", 2));
    }

    #[test]
    fn bad_item_specs_are_refused_with_a_reason() {
        assert!(parse_item_spec("").unwrap_err().contains("empty"));
        assert!(parse_item_spec(":2").unwrap_err().contains("empty"));
        assert!(parse_item_spec("x:0").unwrap_err().contains("at least 1"));
        assert!(
            parse_item_spec("x:two")
                .unwrap_err()
                .contains("not a quantity")
        );
        assert!(parse_item_spec("x:-1").is_err());
    }

    #[test]
    fn an_eta_is_absolute_or_relative_to_now() {
        let now = DateTime::parse_from_rfc3339("2026-01-02T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_eta_at("+15m", now).unwrap().to_rfc3339(),
            "2026-01-02T12:15:00+00:00"
        );
        assert_eq!(
            parse_eta_at("2026-01-02T13:30:00+01:00", now)
                .unwrap()
                .to_rfc3339(),
            "2026-01-02T12:30:00+00:00"
        );
        assert!(parse_eta_at("soon", now).is_err());
    }

    #[test]
    fn a_wait_target_is_reached_at_or_after_its_step() {
        use DeliveryStatus::*;
        let assigned = WaitTarget::Delivery(Assigned);
        assert_eq!(assigned.check(Pending), WaitState::Waiting);
        assert_eq!(assigned.check(Assigned), WaitState::Reached);
        assert_eq!(assigned.check(InTransit), WaitState::Reached);
        assert_eq!(assigned.check(Cancelled), WaitState::Unreachable);
        let out: WaitTarget = "out-for-delivery".parse().unwrap();
        assert_eq!(out, WaitTarget::Order(OrderStatus::OutForDelivery));
        assert_eq!(out.check(Assigned), WaitState::Waiting);
        assert_eq!(out.check(PickedUp), WaitState::Reached);
        let cancelled: WaitTarget = "CANCELLED".parse().unwrap();
        assert_eq!(cancelled.check(Cancelled), WaitState::Reached);
        assert_eq!(cancelled.check(Delivered), WaitState::Unreachable);
        assert!("LOST".parse::<WaitTarget>().is_err());
    }

    #[test]
    fn derived_idempotency_keys_are_stable_and_depend_on_line_and_content() {
        let a = derive_idempotency_key(1, r#"{"items":[]}"#);
        assert_eq!(a, derive_idempotency_key(1, "{\"items\":[]}\r\n"));
        assert_eq!(a, "foodctl-".to_owned() + &a[8..]);
        assert_eq!(a.len(), 8 + 32);
        // Pinned: a change here would make re-runs of old files create orders again.
        assert_eq!(
            derive_idempotency_key(7, "x"),
            format!(
                "foodctl-{}",
                &hex::encode(Sha256::digest(b"foodctl-bulk-v1\n7\nx"))[..32]
            )
        );
        assert_ne!(a, derive_idempotency_key(2, r#"{"items":[]}"#));
        assert_ne!(a, derive_idempotency_key(1, r#"{"items":[1]}"#));
    }
}
