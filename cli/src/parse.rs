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
        // `now + d` panics past chrono's last year; refuse instead.
        return chrono::Duration::from_std(d)
            .ok()
            .and_then(|d| now.checked_add_signed(d))
            .ok_or_else(|| format!("`{s}` is too far away"));
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

/// What `order create --wait-for` waits for: a delivery status (watched on
/// the delivery) or an order status (the order's own, which the delivery no
/// longer tells: READY_FOR_PICKUP, REJECTED...). A name that is both
/// (DELIVERED, CANCELLED, FAILED) is read as the delivery's.
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
            format!("`{s}` is neither a delivery status nor an order status (e.g. ASSIGNED, PREPARING, READY_FOR_PICKUP, DELIVERED)")
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

/// The outcome of comparing a status with a wait target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitState {
    /// The target or a later step of the happy path was reached.
    Reached,
    /// Still on the way.
    Waiting,
    /// A terminal status off the target's path: it will never be reached.
    Unreachable,
}

impl WaitState {
    fn of(reached: bool, terminal: bool) -> Self {
        if reached {
            Self::Reached
        } else if terminal {
            Self::Unreachable
        } else {
            Self::Waiting
        }
    }
}

impl WaitTarget {
    /// A delivery target against the delivery's status. Reached also when a
    /// change skipped past the target between two looks. `None` for an
    /// order target: only the order tells its own status.
    pub fn check_delivery(self, current: DeliveryStatus) -> Option<WaitState> {
        match self {
            Self::Delivery(t) => Some(WaitState::of(current.has_reached(t), current.is_terminal())),
            Self::Order(_) => None,
        }
    }

    /// An order target against the order's status; `None` for a delivery
    /// target.
    pub fn check_order(self, current: OrderStatus) -> Option<WaitState> {
        match self {
            Self::Order(t) => Some(WaitState::of(current.has_reached(t), current.is_terminal())),
            Self::Delivery(_) => None,
        }
    }
}

/// `order accept --prep`: `15m`, `1h`, `90s` (rounded up to whole minutes)
/// or a bare number of minutes.
pub fn parse_prep_minutes(s: &str) -> Result<u32, String> {
    let d = food_client::parse_duration_with_unit(s, std::time::Duration::from_secs(60))?;
    let minutes = d.as_secs().div_ceil(60);
    if minutes == 0 {
        return Err(format!("`{s}`: a prep time is at least a minute"));
    }
    u32::try_from(minutes).map_err(|_| format!("`{s}` is too long"))
}

/// `order accept --ready-by`: RFC 3339, or `HH:MM` (`HH:MM:SS`) today in
/// the local time zone `tz`, against `now`.
pub fn parse_ready_by_at<Tz: chrono::TimeZone>(
    s: &str,
    now: DateTime<Utc>,
    tz: &Tz,
) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let time = chrono::NaiveTime::parse_from_str(s, "%H:%M")
        .or_else(|_| chrono::NaiveTime::parse_from_str(s, "%H:%M:%S"))
        .map_err(|_| {
            format!("`{s}` is neither RFC 3339 (2026-01-02T12:30:00Z) nor HH:MM (e.g. 12:30)")
        })?;
    let today = now.with_timezone(tz).date_naive();
    tz.from_local_datetime(&today.and_time(time))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| format!("`{s}` does not exist today in the local time zone"))
}

/// [`parse_ready_by_at`] against the clock in local time, for clap.
pub fn parse_ready_by(s: &str) -> Result<DateTime<Utc>, String> {
    parse_ready_by_at(s, Utc::now(), &chrono::Local)
}

/// `courier list --on-shift` and the shift commands' `on`/`off`.
pub fn parse_courier_id(s: &str) -> Result<String, String> {
    let id = s.trim();
    if id.is_empty() {
        Err("the courier id is empty (e.g. courier-1)".into())
    } else {
        Ok(id.to_owned())
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
    fn a_delivery_wait_target_is_reached_at_or_after_its_step() {
        use DeliveryStatus::*;
        let assigned = WaitTarget::Delivery(Assigned);
        assert_eq!(assigned.check_delivery(Pending), Some(WaitState::Waiting));
        assert_eq!(assigned.check_delivery(Assigned), Some(WaitState::Reached));
        assert_eq!(assigned.check_delivery(InTransit), Some(WaitState::Reached));
        assert_eq!(
            assigned.check_delivery(Cancelled),
            Some(WaitState::Unreachable)
        );
        assert_eq!(assigned.check_order(OrderStatus::Preparing), None);
        let cancelled: WaitTarget = "CANCELLED".parse().unwrap();
        assert_eq!(cancelled, WaitTarget::Delivery(Cancelled));
        assert_eq!(
            cancelled.check_delivery(Cancelled),
            Some(WaitState::Reached)
        );
        assert_eq!(
            cancelled.check_delivery(Delivered),
            Some(WaitState::Unreachable)
        );
        assert!("LOST".parse::<WaitTarget>().is_err());
    }

    #[test]
    fn an_order_wait_target_compares_order_statuses_only() {
        use OrderStatus::*;
        let ready: WaitTarget = "ready-for-pickup".parse().unwrap();
        assert_eq!(ready, WaitTarget::Order(ReadyForPickup));
        // The delivery cannot tell READY_FOR_PICKUP from PREPARING.
        assert_eq!(ready.check_delivery(DeliveryStatus::Assigned), None);
        assert_eq!(ready.check_order(Preparing), Some(WaitState::Waiting));
        assert_eq!(ready.check_order(ReadyForPickup), Some(WaitState::Reached));
        assert_eq!(ready.check_order(OutForDelivery), Some(WaitState::Reached));
        assert_eq!(ready.check_order(Rejected), Some(WaitState::Unreachable));
        let preparing: WaitTarget = "PREPARING".parse().unwrap();
        assert_eq!(preparing.check_order(Placed), Some(WaitState::Waiting));
        assert_eq!(preparing.check_order(Delivered), Some(WaitState::Reached));
        assert_eq!(
            preparing.check_order(Cancelled),
            Some(WaitState::Unreachable)
        );
        let rejected: WaitTarget = "REJECTED".parse().unwrap();
        assert_eq!(rejected.check_order(Rejected), Some(WaitState::Reached));
        assert_eq!(rejected.check_order(Preparing), Some(WaitState::Waiting));
    }

    #[test]
    fn a_prep_time_is_whole_minutes() {
        assert_eq!(parse_prep_minutes("15m"), Ok(15));
        assert_eq!(parse_prep_minutes("20"), Ok(20), "bare numbers are minutes");
        assert_eq!(parse_prep_minutes("1h"), Ok(60));
        assert_eq!(parse_prep_minutes("90s"), Ok(2), "rounded up");
        assert!(
            parse_prep_minutes("0m")
                .unwrap_err()
                .contains("at least a minute")
        );
        assert!(parse_prep_minutes("soon").is_err());
    }

    #[test]
    fn a_ready_by_time_is_rfc_3339_or_a_clock_time_today() {
        let now = DateTime::parse_from_rfc3339("2026-01-02T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let paris = chrono::FixedOffset::east_opt(3600).unwrap();
        assert_eq!(
            parse_ready_by_at("2026-01-02T12:30:00Z", now, &paris)
                .unwrap()
                .to_rfc3339(),
            "2026-01-02T12:30:00+00:00"
        );
        assert_eq!(
            parse_ready_by_at("13:45", now, &paris)
                .unwrap()
                .to_rfc3339(),
            "2026-01-02T12:45:00+00:00",
            "local 13:45 in UTC+1"
        );
        assert_eq!(
            parse_ready_by_at("13:45:30", now, &Utc)
                .unwrap()
                .to_rfc3339(),
            "2026-01-02T13:45:30+00:00"
        );
        assert!(
            parse_ready_by_at("25:00", now, &Utc)
                .unwrap_err()
                .contains("HH:MM")
        );
        assert!(parse_ready_by_at("+15m", now, &Utc).is_err());
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

/// Properties of the flag parsers: what a person types is read as meant or
/// refused with a reason, never a panic.
#[cfg(test)]
mod props {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap()
    }

    proptest! {
        /// `ID[:QTY]`: the quantity after the last colon, 1 without one;
        /// zero and anything that is not a count are refused.
        #[test]
        fn an_item_spec_reads_back_its_id_and_quantity(
            id in "[a-z0-9:_-]{0,20}[a-z0-9_-]", qty in prop_oneof![Just(0u32), 1..=50u32, any::<u32>()]
        ) {
            let read = parse_item_spec(&format!("{id}:{qty}"));
            if qty == 0 {
                prop_assert!(read.is_err());
            } else {
                let read = read.unwrap();
                prop_assert_eq!((read.item_id.as_str(), read.quantity), (id.as_str(), qty));
            }
            if !id.contains(':') {
                prop_assert_eq!(parse_item_spec(&id).map(|i| i.quantity), Ok(1));
            }
        }

        #[test]
        fn any_item_spec_is_read_or_refused_without_a_panic(spec in any::<String>()) {
            if let Ok(item) = parse_item_spec(&spec) {
                prop_assert!(!item.item_id.is_empty() && item.quantity >= 1);
            }
        }

        /// `+DURATION` is that long after now; one past the last time a
        /// clock can hold is refused as too far away.
        #[test]
        fn a_relative_eta_is_now_plus_the_duration_or_refused(
            // Up to 10^16 s: past chrono's last date (about 8.2 × 10^12 s
            // from now) but within a chrono duration (about 9.2 × 10^15 s).
            secs in prop_oneof![0..1_000_000u64, 0..10_000_000_000_000_000u64, any::<u64>()]
        ) {
            match parse_eta_at(&format!("+{secs}s"), now()) {
                Ok(at) => prop_assert_eq!((at - now()).num_seconds(), secs as i64),
                Err(e) => {
                    prop_assert!(e.contains("too far away"), "{e}");
                    prop_assert!(secs > 1_000_000_000_000, "{secs}s refused");
                }
            }
        }

        #[test]
        fn any_eta_or_prep_time_is_read_or_refused_without_a_panic(text in any::<String>()) {
            let _ = parse_eta_at(&text, now());
            let _ = parse_eta_at(&format!("+{text}"), now());
            if let Ok(minutes) = parse_prep_minutes(&text) {
                prop_assert!(minutes >= 1);
            }
        }
    }

    #[test]
    fn an_eta_past_the_last_representable_time_is_refused_not_a_panic() {
        // 10^9 days fits a chrono duration but not a date: `now + d`
        // panicked.
        assert!(parse_eta_at("+1000000000d", now()).is_err_and(|e| e.contains("too far away")));
    }
}
