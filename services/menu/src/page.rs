//! Cursor pagination for `ListItems`: the page size rules and the opaque
//! cursor, which is the sort key of the last item returned.
//!
//! A keyset cursor (rather than an offset) keeps pages stable while items
//! are imported between calls: nothing is skipped or shown twice.

use food_api::{DEFAULT_LIMIT, MAX_LIMIT};
use serde::{Deserialize, Serialize};

/// Marks the cursor's format so that a later change can still read (or
/// cleanly refuse) older cursors.
const CURSOR_VERSION: u8 = 1;

/// The position after which the next page starts, in listing order
/// (`category_key`, `name`, `id`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub category_key: String,
    pub name: String,
    pub id: String,
}

#[derive(Serialize, Deserialize)]
struct Encoded(u8, String, String, String);

impl Cursor {
    /// Hex of a small JSON array: opaque to clients, safe in URLs.
    pub fn encode(&self) -> String {
        let encoded = Encoded(
            CURSOR_VERSION,
            self.category_key.clone(),
            self.name.clone(),
            self.id.clone(),
        );
        hex::encode(serde_json::to_vec(&encoded).expect("strings always serialize"))
    }

    /// `None` for an empty cursor (the first page).
    pub fn decode(s: &str) -> Result<Option<Self>, String> {
        if s.is_empty() {
            return Ok(None);
        }
        let bytes =
            hex::decode(s).map_err(|_| "is not a cursor from a previous page".to_owned())?;
        let Encoded(version, category_key, name, id) = serde_json::from_slice(&bytes)
            .map_err(|_| "is not a cursor from a previous page".to_owned())?;
        if version != CURSOR_VERSION {
            return Err(format!("has an unknown version {version}"));
        }
        Ok(Some(Self {
            category_key,
            name,
            id,
        }))
    }
}

/// The page size: 0 means the default, above the maximum is refused rather
/// than silently cut, so a client never mistakes a short page for the end.
pub fn limit(requested: u32) -> Result<u32, String> {
    match requested {
        0 => Ok(DEFAULT_LIMIT),
        n if n > MAX_LIMIT => Err(format!("must be at most {MAX_LIMIT}, got {n}")),
        n => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_through_its_encoding() {
        let cursor = Cursor {
            category_key: "pizza".into(),
            name: "Quattro \"Formaggi\" ñ".into(),
            id: "quattro-formaggi".into(),
        };
        let encoded = cursor.encode();
        assert!(encoded.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(Cursor::decode(&encoded).unwrap(), Some(cursor));
    }

    #[test]
    fn an_empty_cursor_is_the_first_page() {
        assert_eq!(Cursor::decode("").unwrap(), None);
    }

    #[test]
    fn garbage_cursors_are_refused() {
        assert!(Cursor::decode("not-hex").is_err());
        assert!(Cursor::decode(&hex::encode("[1,2]")).is_err());
        assert!(Cursor::decode(&hex::encode(r#"[9,"a","b","c"]"#)).is_err());
    }

    #[test]
    fn limit_zero_means_the_default_and_above_the_maximum_is_refused() {
        assert_eq!(limit(0), Ok(50));
        assert_eq!(limit(1), Ok(1));
        assert_eq!(limit(1000), Ok(1000));
        assert!(limit(1001).is_err());
    }
}
