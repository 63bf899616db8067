//! [`Doc`]: a JSON document kept in the gateway's field order.
//!
//! `serde_json::Value` sorts object keys (the workspace does not enable its
//! `preserve_order` feature, and enabling it would change every crate's
//! maps), so `-o json` would reorder what the API sent. `serde_yaml::Value`
//! keeps insertion order, reads JSON through serde, and writes back both
//! JSON and YAML, so it carries responses from the wire to the output.

use serde::de::DeserializeOwned;
use serde_yaml::Value;

/// A JSON document in its original field order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Doc(pub Value);

impl Doc {
    pub fn parse(raw: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(raw).map(Self)
    }

    /// A document foodctl built itself (its key order is its own).
    pub fn from_json(v: &serde_json::Value) -> Self {
        Self(serde_json::from_value(v.clone()).unwrap_or(Value::Null))
    }

    /// Decodes a typed shape from the document.
    pub fn typed<T: DeserializeOwned>(&self) -> Result<T, serde_yaml::Error> {
        serde_yaml::from_value(self.0.clone())
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    /// The array under `key` of a list object.
    pub fn list(&self, key: &str) -> Option<&Vec<Value>> {
        self.get(key).and_then(Value::as_sequence)
    }

    /// Appends `more` to the array under `key` and sets `next_cursor`.
    pub fn extend_list(&mut self, key: &str, more: Vec<Value>, next_cursor: Option<String>) {
        if let Some(map) = self.0.as_mapping_mut() {
            if let Some(list) = map.get_mut(key).and_then(Value::as_sequence_mut) {
                list.extend(more);
            }
            map.insert(
                Value::String("next_cursor".into()),
                next_cursor.map_or(Value::Null, Value::String),
            );
        }
    }

    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(&self.0)
    }

    pub fn to_json_pretty(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(&self.0)
    }

    pub fn to_yaml(&self) -> Result<String, serde_yaml::Error> {
        serde_yaml::to_string(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_order_survives_json_and_yaml() {
        let raw =
            br#"{"orders":[{"id":"b","customer_id":"c","total_cents":1250}],"next_cursor":null}"#;
        let doc = Doc::parse(raw).unwrap();
        assert_eq!(doc.to_json().unwrap().as_bytes(), raw);
        assert!(
            doc.to_yaml().unwrap().starts_with("orders:"),
            "{}",
            doc.to_yaml().unwrap()
        );
    }

    #[test]
    fn pages_are_merged_into_one_list_object() {
        let mut doc = Doc::parse(br#"{"items":[1],"next_cursor":"c1"}"#).unwrap();
        let more = Doc::parse(br#"{"items":[2,3],"next_cursor":null}"#).unwrap();
        doc.extend_list("items", more.list("items").unwrap().clone(), None);
        assert_eq!(
            doc.to_json().unwrap(),
            r#"{"items":[1,2,3],"next_cursor":null}"#
        );
    }

    #[test]
    fn typed_shapes_decode_from_a_document() {
        let doc = Doc::parse(br#"{"created":2,"updated":1}"#).unwrap();
        let r: food_api::ImportResult = doc.typed().unwrap();
        assert_eq!((r.created, r.updated), (2, 1));
    }
}
