//! The cursors of `ListItems` and `ListRestaurants`: the sort key of the last
//! row returned, in the one cursor format of [`food_api::page`] (which also
//! holds the page sizes).
//!
//! A keyset cursor (rather than an offset) keeps pages stable while items
//! are imported between calls: nothing is skipped or shown twice.

use food_api::page::{PageError, decode_cursor, encode_cursor};

/// The position after which the next page starts, in listing order
/// (`category_key`, `name`, `id`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub category_key: String,
    pub name: String,
    pub id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        encode_cursor(&[&self.category_key, &self.name, &self.id])
    }

    /// `None` for an empty cursor (the first page).
    pub fn decode(s: &str) -> Result<Option<Self>, PageError> {
        Ok(decode_cursor(s)?.map(|[category_key, name, id]| Self {
            category_key,
            name,
            id,
        }))
    }
}

/// The position after which the next page of restaurants starts, in listing
/// order (`name`, `id`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestaurantCursor {
    pub name: String,
    pub id: String,
}

impl RestaurantCursor {
    pub fn encode(&self) -> String {
        encode_cursor(&[&self.name, &self.id])
    }

    /// `None` for an empty cursor (the first page).
    pub fn decode(s: &str) -> Result<Option<Self>, PageError> {
        Ok(decode_cursor(s)?.map(|[name, id]| Self { name, id }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restaurant_cursor_round_trips_and_is_not_an_item_cursor() {
        let cursor = RestaurantCursor {
            name: "Taquería El Sol".into(),
            id: "taqueria-el-sol".into(),
        };
        assert_eq!(
            RestaurantCursor::decode(&cursor.encode()).unwrap(),
            Some(cursor.clone())
        );
        assert!(Cursor::decode(&cursor.encode()).is_err());
    }

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
}
