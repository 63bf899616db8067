//! The page rule every list shares: the default and largest page size, and
//! the one cursor format.
//!
//! The gateway checks a page before it calls a service and the services check
//! it again (gRPC is a public contract too), so both read the rule from here.

use serde_json::Value;

/// Default page size for every list.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page a client may ask for.
pub const MAX_LIMIT: u32 = 1000;

/// Marks the cursor's format so that a later change can still read (or
/// cleanly refuse) older cursors.
const CURSOR_VERSION: u64 = 1;

/// A refused page request. The message leaves out the field's name, which
/// each boundary spells its own way (`limit`, `page.limit`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    #[error("must be at least 1")]
    ZeroLimit,
    #[error("must be at most {MAX_LIMIT}, got {0}")]
    LimitTooLarge(u32),
    #[error("is not a cursor from a previous page")]
    ForeignCursor,
    #[error("has an unknown version {0}")]
    CursorVersion(u64),
}

impl PageError {
    /// The request field at fault: `limit` or `cursor`.
    pub fn field(&self) -> &'static str {
        match self {
            Self::ZeroLimit | Self::LimitTooLarge(_) => "limit",
            Self::ForeignCursor | Self::CursorVersion(_) => "cursor",
        }
    }
}

/// The page size for a request where an absent limit means the default (a
/// REST query or a GraphQL argument). Above the maximum is refused rather
/// than cut, so a client never mistakes a short page for the end.
pub fn limit(requested: Option<u32>) -> Result<u32, PageError> {
    match requested {
        None => Ok(DEFAULT_LIMIT),
        Some(0) => Err(PageError::ZeroLimit),
        Some(n) if n > MAX_LIMIT => Err(PageError::LimitTooLarge(n)),
        Some(n) => Ok(n),
    }
}

/// The page size of a gRPC `PageRequest`: proto3 cannot tell 0 from unset,
/// so 0 means the default there.
pub fn wire_limit(requested: u32) -> Result<u32, PageError> {
    limit(Some(requested).filter(|n| *n != 0))
}

/// The cursor after a row whose sort key is `keys`: hex of a small JSON array
/// (the format version, then the keys), opaque to clients and safe in URLs.
pub fn encode_cursor(keys: &[&str]) -> String {
    let mut array = Vec::with_capacity(keys.len() + 1);
    array.push(Value::from(CURSOR_VERSION));
    array.extend(keys.iter().map(|k| Value::from(*k)));
    hex::encode(Value::Array(array).to_string())
}

/// The sort key a cursor from [`encode_cursor`] carries; `None` for an empty
/// cursor (the first page). A cursor of another list (another key length) is
/// refused like any forged one.
pub fn decode_cursor<const N: usize>(cursor: &str) -> Result<Option<[String; N]>, PageError> {
    if cursor.is_empty() {
        return Ok(None);
    }
    let bytes = hex::decode(cursor).map_err(|_| PageError::ForeignCursor)?;
    let Ok(Value::Array(array)) = serde_json::from_slice::<Value>(&bytes) else {
        return Err(PageError::ForeignCursor);
    };
    let mut values = array.into_iter();
    match values.next().as_ref().and_then(Value::as_u64) {
        Some(CURSOR_VERSION) => {}
        Some(other) => return Err(PageError::CursorVersion(other)),
        None => return Err(PageError::ForeignCursor),
    }
    let keys: Vec<String> = values
        .map(|v| match v {
            Value::String(s) => Ok(s),
            _ => Err(PageError::ForeignCursor),
        })
        .collect::<Result<_, _>>()?;
    keys.try_into()
        .map(Some)
        .map_err(|_| PageError::ForeignCursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absent_limit_means_the_default_and_zero_or_above_the_maximum_is_refused() {
        assert_eq!(limit(None), Ok(DEFAULT_LIMIT));
        assert_eq!(limit(Some(1)), Ok(1));
        assert_eq!(limit(Some(1000)), Ok(1000));
        assert_eq!(limit(Some(0)), Err(PageError::ZeroLimit));
        assert_eq!(limit(Some(1001)), Err(PageError::LimitTooLarge(1001)));
    }

    #[test]
    fn limit_zero_means_the_default_and_above_the_maximum_is_refused() {
        assert_eq!(wire_limit(0), Ok(50));
        assert_eq!(wire_limit(1), Ok(1));
        assert_eq!(wire_limit(1000), Ok(1000));
        assert!(wire_limit(1001).is_err());
    }

    #[test]
    fn a_cursor_round_trips_through_its_encoding() {
        let encoded = encode_cursor(&["pizza", "Quattro \"Formaggi\" ñ", "quattro-formaggi"]);
        assert!(encoded.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(
            decode_cursor::<3>(&encoded),
            Ok(Some([
                "pizza".to_owned(),
                "Quattro \"Formaggi\" ñ".to_owned(),
                "quattro-formaggi".to_owned()
            ]))
        );
    }

    #[test]
    fn an_empty_cursor_is_the_first_page() {
        assert_eq!(decode_cursor::<1>(""), Ok(None));
    }

    #[test]
    fn garbage_cursors_and_other_lists_cursors_are_refused() {
        assert_eq!(decode_cursor::<1>("not-hex"), Err(PageError::ForeignCursor));
        assert_eq!(
            decode_cursor::<1>(&hex::encode("[1,2]")),
            Err(PageError::ForeignCursor)
        );
        assert_eq!(
            decode_cursor::<3>(&hex::encode(r#"[9,"a","b","c"]"#)),
            Err(PageError::CursorVersion(9))
        );
        // A raw id (what order and delivery lists once returned) is no cursor.
        assert_eq!(
            decode_cursor::<1>("0190f3b2-7c1e-7d2a-9f00-1234abcd5678"),
            Err(PageError::ForeignCursor)
        );
        assert_eq!(
            decode_cursor::<1>(&encode_cursor(&["a", "b", "c"])),
            Err(PageError::ForeignCursor)
        );
    }

    #[test]
    fn refusals_name_the_field_at_fault() {
        assert_eq!(PageError::LimitTooLarge(5000).field(), "limit");
        assert_eq!(PageError::ForeignCursor.field(), "cursor");
        assert_eq!(
            PageError::LimitTooLarge(5000).to_string(),
            "must be at most 1000, got 5000"
        );
    }
}

/// Properties of the page rule: what any client may send is read or refused
/// with a `PageError`, never a panic.
#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn a_cursor_round_trips_whatever_its_keys_hold(keys in proptest::array::uniform3(any::<String>())) {
            let cursor = encode_cursor(&[&keys[0], &keys[1], &keys[2]]);
            // "opaque to clients and safe in URLs"
            prop_assert!(cursor.bytes().all(|b| b.is_ascii_hexdigit()));
            prop_assert_eq!(decode_cursor::<3>(&cursor), Ok(Some(keys)));
        }

        /// "A cursor of another list (another key length) is refused like
        /// any forged one."
        #[test]
        fn another_lists_cursor_is_refused(keys in proptest::collection::vec(any::<String>(), 0..6)) {
            prop_assume!(keys.len() != 1);
            let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
            prop_assert_eq!(decode_cursor::<1>(&encode_cursor(&refs)), Err(PageError::ForeignCursor));
        }

        /// Forged cursors: arbitrary text, hex of arbitrary bytes, and hex
        /// of JSON that is almost a cursor. Each is refused with an error
        /// naming the `cursor` field, or (by chance) read as a cursor that
        /// encodes back to itself.
        #[test]
        fn any_forged_cursor_is_refused_cleanly(cursor in prop_oneof![
            any::<String>(),
            any::<Vec<u8>>().prop_map(hex::encode),
            "\\[(-?[0-9]{1,20}|\"[a-z]{0,3}\"|null|\\[\\]|\\{\\})(,(\"[a-z]{0,3}\"|[0-9]|true)){0,3}\\]".prop_map(hex::encode),
        ]) {
            match decode_cursor::<1>(&cursor) {
                Ok(None) => prop_assert!(cursor.is_empty()),
                Ok(Some([key])) => prop_assert_eq!(
                    decode_cursor::<1>(&encode_cursor(&[&key])), Ok(Some([key]))
                ),
                Err(e) => prop_assert_eq!(e.field(), "cursor"),
            }
        }

        #[test]
        fn a_limit_is_taken_exactly_when_it_is_1_to_the_maximum(n in prop_oneof![0..1100u32, any::<u32>()]) {
            match limit(Some(n)) {
                Ok(taken) => prop_assert!((1..=MAX_LIMIT).contains(&n) && taken == n),
                Err(e) => {
                    prop_assert!(n == 0 || n > MAX_LIMIT);
                    prop_assert_eq!(e.field(), "limit");
                }
            }
            // On the wire 0 is "unset", the default; the rest is the same rule.
            let wire = wire_limit(n);
            if n == 0 { prop_assert_eq!(wire, Ok(DEFAULT_LIMIT)) } else { prop_assert_eq!(wire, limit(Some(n))) }
        }
    }
}
