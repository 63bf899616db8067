//! Checks on a CreateOrder request, before anything is priced or stored,
//! and on the kitchen's calls. Each failure names its field so that clients
//! can point at it.

use chrono::{DateTime, Duration, Utc};
use food_api::ErrorCode;
use food_proto::order::v1::{AcceptOrderRequest, CreateOrderRequest};
use sha2::{Digest, Sha256};
use tonic::Status;

pub const MAX_LINES: usize = 100;
pub const MAX_QUANTITY: u32 = 50;
pub const MAX_ADDRESS: usize = 500;
pub const MAX_NOTE: usize = 500;
pub const MAX_KEY: usize = 200;
/// The longest prep time a kitchen may announce, in minutes.
pub const MAX_PREP_MINUTES: u32 = 240;
/// How far ahead a kitchen may set `ready_by`.
pub const MAX_READY_AHEAD: Duration = Duration::hours(24);
pub const MAX_REASON: usize = 200;

fn invalid(field: &str, message: String) -> Status {
    food_kit::grpc::error(
        ErrorCode::InvalidArgument,
        message,
        &[("field", field.to_owned())],
    )
}

/// The characters of a short id: an id's last 8 ([`food_api::short_id`]).
pub const SHORT_ID_CHARS: usize = 8;

/// A list filter on the id's short form: absent or empty keeps every id;
/// anything but 8 characters can match nothing the index holds, so it is
/// refused rather than answered with an empty list.
pub fn id_suffix<'a>(value: Option<&'a str>, field: &str) -> Result<Option<&'a str>, Status> {
    match value.filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) if v.chars().count() == SHORT_ID_CHARS => Ok(Some(v)),
        Some(v) => Err(invalid(
            field,
            format!(
                "{field} is an id's last {SHORT_ID_CHARS} characters, got {} ({v:?})",
                v.chars().count()
            ),
        )),
    }
}

/// A request that passed every check, with trimmed text.
#[derive(Debug)]
pub struct Valid {
    pub customer_id: String,
    pub lines: Vec<(String, u32)>,
    pub address: String,
    pub note: Option<String>,
    pub idempotency_key: Option<String>,
}

pub fn create_order(req: &CreateOrderRequest) -> Result<Valid, Status> {
    let customer_id = req.customer_id.trim();
    if customer_id.is_empty() || customer_id.len() > 128 {
        return Err(invalid(
            "customer_id",
            "customer_id must be 1 to 128 characters".into(),
        ));
    }
    if req.items.is_empty() {
        return Err(invalid("items", "an order needs at least one item".into()));
    }
    if req.items.len() > MAX_LINES {
        return Err(invalid(
            "items",
            format!(
                "an order has at most {MAX_LINES} lines, got {}",
                req.items.len()
            ),
        ));
    }
    let mut lines = Vec::with_capacity(req.items.len());
    for (i, line) in req.items.iter().enumerate() {
        let item_id = line.item_id.trim();
        if item_id.is_empty() {
            return Err(invalid(
                &format!("items[{i}].item_id"),
                format!("items[{i}]: item_id is empty"),
            ));
        }
        if !(1..=MAX_QUANTITY).contains(&line.quantity) {
            return Err(invalid(
                &format!("items[{i}].quantity"),
                format!(
                    "items[{i}]: quantity must be between 1 and {MAX_QUANTITY}, got {}",
                    line.quantity
                ),
            ));
        }
        lines.push((item_id.to_owned(), line.quantity));
    }
    let address = req.delivery_address.trim();
    food_kit::grpc::printable(address, "delivery_address")?;
    if address.is_empty() {
        return Err(invalid(
            "delivery_address",
            "delivery_address is empty".into(),
        ));
    }
    if address.chars().count() > MAX_ADDRESS {
        return Err(invalid(
            "delivery_address",
            format!("delivery_address is longer than {MAX_ADDRESS} characters"),
        ));
    }
    let note = req.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if let Some(note) = note {
        food_kit::grpc::printable(note, "note")?;
    }
    if note.is_some_and(|n| n.chars().count() > MAX_NOTE) {
        return Err(invalid(
            "note",
            format!("note is longer than {MAX_NOTE} characters"),
        ));
    }
    let key = req
        .idempotency_key
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty());
    if key.is_some_and(|k| k.len() > MAX_KEY) {
        return Err(invalid(
            "idempotency_key",
            format!("idempotency_key is longer than {MAX_KEY} bytes"),
        ));
    }
    Ok(Valid {
        customer_id: customer_id.to_owned(),
        lines,
        address: address.to_owned(),
        note: note.map(str::to_owned),
        idempotency_key: key.map(str::to_owned),
    })
}

/// The `ready_by` an AcceptOrder asks for, from exactly one of `ready_by`
/// (in the future, within a day) and `prep_minutes` (1 to 240) counted from
/// `now`; to the microsecond, as stored.
pub fn ready_by(req: &AcceptOrderRequest, now: DateTime<Utc>) -> Result<DateTime<Utc>, Status> {
    let at = match (&req.ready_by, req.prep_minutes) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "prep_minutes",
                "give either ready_by or prep_minutes, not both".into(),
            ));
        }
        (None, None) => {
            return Err(invalid(
                "ready_by",
                "accepting an order needs ready_by or prep_minutes".into(),
            ));
        }
        (None, Some(minutes)) => {
            if !(1..=MAX_PREP_MINUTES).contains(&minutes) {
                return Err(invalid(
                    "prep_minutes",
                    format!("prep_minutes must be between 1 and {MAX_PREP_MINUTES}, got {minutes}"),
                ));
            }
            now + Duration::minutes(i64::from(minutes))
        }
        (Some(t), None) => {
            let Some(at) = food_api::convert::opt_from_timestamp(Some(t)) else {
                return Err(invalid("ready_by", "ready_by is not a valid time".into()));
            };
            if at <= now {
                return Err(invalid(
                    "ready_by",
                    format!("ready_by must be in the future, got {}", at.to_rfc3339()),
                ));
            }
            if at > now + MAX_READY_AHEAD {
                return Err(invalid(
                    "ready_by",
                    format!("ready_by must be within 24 hours, got {}", at.to_rfc3339()),
                ));
            }
            at
        }
    };
    Ok(food_kit::db::micros_to_datetime(at.timestamp_micros()))
}

/// A rejection's reason: required, trimmed, at most 200 characters.
pub fn reason(reason: &str) -> Result<String, Status> {
    let reason = reason.trim();
    food_kit::grpc::printable(reason, "reason")?;
    if reason.is_empty() {
        return Err(invalid(
            "reason",
            "rejecting an order needs a reason".into(),
        ));
    }
    if reason.chars().count() > MAX_REASON {
        return Err(invalid(
            "reason",
            format!("reason is longer than {MAX_REASON} characters"),
        ));
    }
    Ok(reason.to_owned())
}

impl Valid {
    /// Identifies the request's content, to tell a retry (same hash) from a
    /// different request reusing an idempotency key.
    pub fn request_hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.customer_id.as_bytes());
        for (id, q) in &self.lines {
            h.update(b"\0");
            h.update(id.as_bytes());
            h.update(q.to_le_bytes());
        }
        h.update(b"\0");
        h.update(self.address.as_bytes());
        h.update(b"\0");
        h.update(self.note.as_deref().unwrap_or("").as_bytes());
        hex::encode(h.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use food_proto::order::v1::LineRequest;

    fn req() -> CreateOrderRequest {
        CreateOrderRequest {
            customer_id: "c1".into(),
            items: vec![LineRequest {
                item_id: "margherita".into(),
                quantity: 2,
            }],
            delivery_address: " 1 Main St ".into(),
            note: None,
            idempotency_key: None,
        }
    }

    fn field_of(s: &Status) -> String {
        food_kit::grpc::error_code(s)
            .1
            .get("field")
            .cloned()
            .unwrap_or_default()
    }

    #[test]
    fn a_good_request_is_trimmed_and_kept() {
        let v = create_order(&req()).unwrap();
        assert_eq!(v.address, "1 Main St");
        assert_eq!(v.lines, vec![("margherita".to_owned(), 2)]);
    }

    #[test]
    fn quantities_outside_one_to_fifty_name_the_line() {
        for q in [0, 51] {
            let mut r = req();
            r.items[0].quantity = q;
            let e = create_order(&r).unwrap_err();
            assert_eq!(e.code(), tonic::Code::InvalidArgument);
            assert_eq!(field_of(&e), "items[0].quantity");
        }
    }

    #[test]
    fn empty_orders_too_many_lines_and_bad_addresses_are_refused() {
        let mut r = req();
        r.items.clear();
        assert_eq!(field_of(&create_order(&r).unwrap_err()), "items");
        let mut r = req();
        r.items = vec![r.items[0].clone(); 101];
        assert_eq!(field_of(&create_order(&r).unwrap_err()), "items");
        let mut r = req();
        r.delivery_address = "   ".into();
        assert_eq!(field_of(&create_order(&r).unwrap_err()), "delivery_address");
        let mut r = req();
        r.delivery_address = "x".repeat(501);
        assert_eq!(field_of(&create_order(&r).unwrap_err()), "delivery_address");
        r.delivery_address = "1 Main\0St".into();
        assert_eq!(field_of(&create_order(&r).unwrap_err()), "delivery_address");
        r.delivery_address = "1 Main St\nFlat 2".into();
        r.note = Some("ring \u{1b}[2J twice".into());
        assert_eq!(field_of(&create_order(&r).unwrap_err()), "note");
    }

    fn accept(ready_by: Option<DateTime<Utc>>, prep_minutes: Option<u32>) -> AcceptOrderRequest {
        AcceptOrderRequest {
            id: "o1".into(),
            ready_by: ready_by.map(food_api::convert::to_timestamp),
            prep_minutes,
            restaurant_id: None,
        }
    }

    #[test]
    fn accepting_takes_exactly_one_of_ready_by_and_prep_minutes() {
        let now = Utc::now();
        let later = now + Duration::minutes(20);

        let by_prep = ready_by(&accept(None, Some(15)), now).unwrap();
        let by_time = ready_by(&accept(Some(later), None), now).unwrap();
        let both = ready_by(&accept(Some(later), Some(15)), now).unwrap_err();
        let neither = ready_by(&accept(None, None), now).unwrap_err();

        assert_eq!(
            by_prep.timestamp_micros(),
            (now + Duration::minutes(15)).timestamp_micros()
        );
        assert_eq!(by_time.timestamp_micros(), later.timestamp_micros());
        assert_eq!(both.code(), tonic::Code::InvalidArgument);
        assert_eq!(field_of(&both), "prep_minutes");
        assert_eq!(field_of(&neither), "ready_by");
    }

    #[test]
    fn prep_minutes_outside_one_to_240_and_ready_by_outside_the_next_day_are_refused() {
        let now = Utc::now();
        for minutes in [0, 241] {
            let e = ready_by(&accept(None, Some(minutes)), now).unwrap_err();
            assert_eq!(field_of(&e), "prep_minutes", "{minutes}");
        }
        for at in [
            now - Duration::minutes(1),
            now,
            now + Duration::hours(24) + Duration::seconds(1),
        ] {
            let e = ready_by(&accept(Some(at), None), now).unwrap_err();
            assert_eq!(field_of(&e), "ready_by", "{at}");
        }
        let mut bad = accept(None, None);
        bad.ready_by = Some(prost_types::Timestamp {
            seconds: i64::MAX,
            nanos: 0,
        });
        assert_eq!(field_of(&ready_by(&bad, now).unwrap_err()), "ready_by");
    }

    #[test]
    fn a_reason_is_required_trimmed_and_at_most_200_characters() {
        assert_eq!(reason("  out of naan ").unwrap(), "out of naan");
        assert_eq!(
            reason("é".repeat(200).as_str()).unwrap().chars().count(),
            200
        );
        for bad in ["", "   ", "x".repeat(201).as_str()] {
            let e = reason(bad).unwrap_err();
            assert_eq!(e.code(), tonic::Code::InvalidArgument);
            assert_eq!(field_of(&e), "reason");
        }
    }

    #[test]
    fn the_request_hash_changes_with_content_only() {
        let a = create_order(&req()).unwrap().request_hash();
        let b = create_order(&req()).unwrap().request_hash();
        assert_eq!(a, b);
        let mut r = req();
        r.items[0].quantity = 3;
        assert_ne!(a, create_order(&r).unwrap().request_hash());
    }

    #[test]
    fn an_id_suffix_filter_is_eight_characters_or_nothing() {
        assert_eq!(id_suffix(None, "id_suffix").unwrap(), None);
        assert_eq!(id_suffix(Some(""), "id_suffix").unwrap(), None);
        assert_eq!(
            id_suffix(Some("e920546f"), "id_suffix").unwrap(),
            Some("e920546f")
        );
        for wrong in ["e92054", "0190f3b2-7c1e-7d2a-9f00-1234abcd5678"] {
            let e = id_suffix(Some(wrong), "id_suffix").unwrap_err();
            assert_eq!(e.code(), tonic::Code::InvalidArgument, "{wrong}");
            assert!(e.message().contains("last 8 characters"), "{e:?}");
        }
    }

    mod props {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            /// A line's quantity is 1 to 50 (the contract's bounds); any
            /// other is refused naming the line's field, never a panic.
            #[test]
            fn a_quantity_is_taken_exactly_when_it_is_1_to_50(
                quantity in prop_oneof![0..60u32, any::<u32>()]
            ) {
                let mut r = req();
                r.items[0].quantity = quantity;
                match create_order(&r) {
                    Ok(valid) => {
                        prop_assert!((1..=MAX_QUANTITY).contains(&quantity));
                        prop_assert_eq!(valid.lines[0].1, quantity);
                    }
                    Err(e) => {
                        prop_assert!(!(1..=MAX_QUANTITY).contains(&quantity));
                        let (code, details) = food_kit::grpc::error_code(&e);
                        prop_assert_eq!(code, ErrorCode::InvalidArgument);
                        prop_assert_eq!(details["field"].as_str(), "items[0].quantity");
                    }
                }
            }
        }
    }
}
