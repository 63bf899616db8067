//! JSON shapes served by the gateway (docs/design.md, "Gateway API"): snake_case fields,
//! upper-case statuses, RFC 3339 UTC times, money in integer cents.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::status::{DeliveryStatus, OrderStatus};

/// A kitchen customers order from (docs/design.md, "Gateway API").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restaurant {
    /// A readable slug (`trattoria-da-luca`), typed on the command line.
    pub id: String,
    pub name: String,
    pub cuisine: String,
    /// Where couriers pick orders up.
    pub address: String,
    /// A paused restaurant (`false`) refuses new orders.
    #[serde(default = "default_true")]
    pub open: bool,
    #[serde(default)]
    pub tags: Vec<String>,
    /// The kitchen accepts each order at once, ready by now + the order's
    /// longest prep time; `false`: someone accepts or rejects by hand.
    #[serde(default = "default_true")]
    pub auto_accept: bool,
    /// How long a kitchen that accepts by hand has to answer before the
    /// order is rejected with reason `timeout`.
    #[serde(default = "default_acceptance_timeout_s")]
    pub acceptance_timeout_s: u32,
}

/// A manual-accept kitchen's time to answer, unless its restaurant says otherwise.
pub const DEFAULT_ACCEPTANCE_TIMEOUT_S: u32 = 300;

fn default_acceptance_timeout_s() -> u32 {
    DEFAULT_ACCEPTANCE_TIMEOUT_S
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub id: String,
    /// Required on import; item ids are unique across restaurants.
    #[serde(default)]
    pub restaurant_id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub category: String,
    pub price_cents: i64,
    #[serde(default = "default_currency")]
    pub currency: String,
    #[serde(default = "default_true")]
    pub available: bool,
    #[serde(default)]
    pub prep_minutes: u32,
    #[serde(default)]
    pub tags: Vec<String>,
}

pub fn default_currency() -> String {
    "EUR".to_owned()
}

fn default_true() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub item_id: String,
    pub name: String,
    pub quantity: u32,
    pub unit_price_cents: i64,
    pub line_total_cents: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: String,
    pub customer_id: String,
    /// `None` only on orders placed before restaurants existed.
    #[serde(default)]
    pub restaurant_id: Option<String>,
    #[serde(default)]
    pub restaurant_name: Option<String>,
    /// The restaurant's address, where the courier picks the order up.
    #[serde(default)]
    pub pickup_address: Option<String>,
    pub status: OrderStatus,
    /// When the kitchen expects the food ready; set when it accepts.
    #[serde(default)]
    pub ready_by: Option<DateTime<Utc>>,
    /// Why the kitchen refused the order (`timeout` when nobody answered).
    #[serde(default)]
    pub rejection_reason: Option<String>,
    pub items: Vec<OrderLine>,
    pub total_cents: i64,
    pub currency: String,
    pub delivery_address: String,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub status: DeliveryStatus,
    pub at: DateTime<Utc>,
    pub note: Option<String>,
    pub courier: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub order_id: String,
    pub customer_id: String,
    /// Copied from the order; `None` only on deliveries made before
    /// restaurants existed.
    #[serde(default)]
    pub restaurant_id: Option<String>,
    #[serde(default)]
    pub restaurant_name: Option<String>,
    #[serde(default)]
    pub pickup_address: Option<String>,
    pub item_count: u32,
    pub total_cents: i64,
    /// So that a board can show money (docs/design.md, "Gateway API").
    #[serde(default = "default_currency")]
    pub currency: String,
    pub delivery_address: String,
    pub status: DeliveryStatus,
    /// The courier's id.
    pub courier: Option<String>,
    #[serde(default)]
    pub courier_name: Option<String>,
    pub eta: Option<DateTime<Utc>>,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub history: Vec<HistoryEntry>,
}

/// One line of `POST /orders`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderItemInput {
    pub item_id: String,
    pub quantity: u32,
}

/// Body of `POST /orders`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateOrder {
    pub items: Vec<OrderItemInput>,
    pub delivery_address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Only ops keys may order on behalf of a customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// Used when no `Idempotency-Key` header is sent (bulk NDJSON lines carry it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// Body of `PUT /delivery/status/:orderId`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateDelivery {
    pub status: Option<DeliveryStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub courier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

/// A courier (docs/design.md, "Statuses, the kitchen and the couriers").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Courier {
    pub id: String,
    pub name: String,
    pub on_shift: bool,
    /// Its ASSIGNED, PICKED_UP and IN_TRANSIT deliveries.
    pub active_deliveries: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourierList {
    pub couriers: Vec<Courier>,
    pub next_cursor: Option<String>,
}

/// Body of `POST /orders/:id/accept`: one of `ready_by` and `prep_minutes`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptOrder {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_by: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prep_minutes: Option<u32>,
}

/// Body of `POST /orders/:id/reject`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectOrder {
    pub reason: String,
}

/// Body of `PUT /couriers/:id/shift`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CourierShift {
    pub on_shift: bool,
}

/// Body of `PUT /couriers/:id`: create or rename a courier.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutCourier {
    pub name: String,
}

/// Body of `PATCH /restaurants/:id`: `{"open": false}` pauses a kitchen.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateRestaurant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open: Option<bool>,
}

/// Body of `POST /menu/items`: restaurants (upserted first) and items.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuImport {
    #[serde(default)]
    pub restaurants: Vec<Restaurant>,
    #[serde(default)]
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestaurantList {
    pub restaurants: Vec<Restaurant>,
    pub next_cursor: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemList {
    pub items: Vec<Item>,
    pub next_cursor: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderList {
    pub orders: Vec<Order>,
    pub next_cursor: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryList {
    pub deliveries: Vec<Delivery>,
    pub next_cursor: Option<String>,
}

/// Result of `foodctl menu import` / `POST /menu/items`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportResult {
    pub created: u32,
    pub updated: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_order_accepts_the_minimal_documented_body() {
        let body: CreateOrder = serde_json::from_str(
            r#"{"items":[{"item_id":"margherita","quantity":2}],"delivery_address":"1 Main St"}"#,
        )
        .unwrap();
        assert_eq!(body.items[0].quantity, 2);
        assert_eq!(body.note, None);
    }

    #[test]
    fn delivery_serialises_statuses_upper_case_and_times_rfc3339() {
        let at = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        let d = Delivery {
            order_id: "o".into(),
            customer_id: "c".into(),
            restaurant_id: None,
            restaurant_name: None,
            pickup_address: None,
            item_count: 1,
            total_cents: 100,
            currency: "EUR".into(),
            delivery_address: "a".into(),
            status: DeliveryStatus::PickedUp,
            courier: None,
            courier_name: None,
            eta: None,
            version: 3,
            created_at: at,
            updated_at: at,
            history: vec![],
        };
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(v["status"], "PICKED_UP");
        assert_eq!(v["created_at"], "2026-01-02T03:04:05Z");
        assert_eq!(v["courier"], serde_json::Value::Null);
    }
}
