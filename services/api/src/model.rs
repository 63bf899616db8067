//! JSON shapes served by the gateway (docs/design.md, "Gateway API"): snake_case fields,
//! upper-case statuses, RFC 3339 UTC times, money in integer cents.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::status::{DeliveryStatus, OrderStatus};

/// A kitchen customers order from (docs/design.md, "Gateway API").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!(crate::examples::restaurant())))]
pub struct Restaurant {
    /// A readable slug (`trattoria-da-luca`), typed on the command line.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 64, pattern = "^[a-z0-9_-]+$")
    )]
    pub id: String,
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 120, pattern = "\\S")
    )]
    pub name: String,
    /// Compared case-insensitively by the `cuisine` filter.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 64, pattern = "\\S")
    )]
    pub cuisine: String,
    /// Where couriers pick orders up.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = "\\S")
    )]
    pub address: String,
    /// A paused restaurant (`false`) refuses new orders.
    #[serde(default = "default_true")]
    #[cfg_attr(feature = "openapi", schema(default = true))]
    pub open: bool,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::openapi::Tag>, max_items = 20))]
    pub tags: Vec<String>,
    /// The kitchen accepts each order at once, ready by now + the order's
    /// longest prep time; `false`: someone accepts or rejects by hand.
    #[serde(default = "default_true")]
    #[cfg_attr(feature = "openapi", schema(default = true))]
    pub auto_accept: bool,
    /// How long a kitchen that accepts by hand has to answer before the
    /// order is rejected with reason `timeout`. At most a day; 0 on import
    /// means the default.
    #[serde(default = "default_acceptance_timeout_s")]
    #[cfg_attr(feature = "openapi", schema(default = 300, maximum = 86_400))]
    pub acceptance_timeout_s: u32,
}

/// A manual-accept kitchen's time to answer, unless its restaurant says otherwise.
pub const DEFAULT_ACCEPTANCE_TIMEOUT_S: u32 = 300;

fn default_acceptance_timeout_s() -> u32 {
    DEFAULT_ACCEPTANCE_TIMEOUT_S
}

/// A dish on a restaurant's menu.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!(crate::examples::item())))]
pub struct Item {
    /// A slug (`margherita`), unique across restaurants.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 64, pattern = "^[a-z0-9_-]+$")
    )]
    pub id: String,
    /// Required on import; item ids are unique across restaurants.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(
            required = true,
            min_length = 1,
            max_length = 64,
            pattern = "^[a-z0-9_-]+$"
        )
    )]
    pub restaurant_id: String,
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 120, pattern = "\\S")
    )]
    pub name: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub description: String,
    /// Compared case-insensitively by the `category` filter.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 64, pattern = "\\S")
    )]
    pub category: String,
    /// The price in cents of `currency`.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1_000_000))]
    pub price_cents: i64,
    /// ISO 4217, upper case.
    #[serde(default = "default_currency")]
    #[cfg_attr(feature = "openapi", schema(default = "EUR", pattern = "^[A-Z]{3}$"))]
    pub currency: String,
    /// `false`: on the menu but cannot be ordered now.
    #[serde(default = "default_true")]
    #[cfg_attr(feature = "openapi", schema(default = true))]
    pub available: bool,
    /// Minutes the kitchen needs; an order is ready by its longest.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(maximum = 240))]
    pub prep_minutes: u32,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::openapi::Tag>, max_items = 20))]
    pub tags: Vec<String>,
}

pub fn default_currency() -> String {
    "EUR".to_owned()
}

fn default_true() -> bool {
    true
}

/// One line of an order, priced when the order was placed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderLine {
    pub item_id: String,
    /// The item's name when the order was placed.
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 50))]
    pub quantity: u32,
    pub unit_price_cents: i64,
    /// `quantity` × `unit_price_cents`.
    pub line_total_cents: i64,
}

/// An order and where it is (`status`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!(crate::examples::order())))]
pub struct Order {
    pub id: String,
    pub customer_id: String,
    /// `None` only on orders placed before restaurants existed.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub restaurant_id: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub restaurant_name: Option<String>,
    /// The restaurant's address, where the courier picks the order up.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub pickup_address: Option<String>,
    pub status: OrderStatus,
    /// When the kitchen expects the food ready; set when it accepts.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true, value_type = Option<String>, format = DateTime))]
    pub ready_by: Option<DateTime<Utc>>,
    /// Why the kitchen refused the order (`timeout` when nobody answered).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub rejection_reason: Option<String>,
    pub items: Vec<OrderLine>,
    /// The sum of the lines' totals.
    pub total_cents: i64,
    pub currency: String,
    pub delivery_address: String,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub note: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: DateTime<Utc>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: DateTime<Utc>,
}

/// One status change of a delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryEntry {
    pub status: DeliveryStatus,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: DateTime<Utc>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub note: Option<String>,
    /// The courier's id at that point.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub courier: Option<String>,
}

/// The delivery of one order: status, courier, eta, version, history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!(crate::examples::delivery())))]
pub struct Delivery {
    pub order_id: String,
    pub customer_id: String,
    /// Copied from the order; `None` only on deliveries made before
    /// restaurants existed.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub restaurant_id: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub restaurant_name: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub pickup_address: Option<String>,
    pub item_count: u32,
    pub total_cents: i64,
    /// So that a board can show money (docs/design.md, "Gateway API").
    #[serde(default = "default_currency")]
    pub currency: String,
    pub delivery_address: String,
    pub status: DeliveryStatus,
    /// The courier's id.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub courier: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub courier_name: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required = true, value_type = Option<String>, format = DateTime))]
    pub eta: Option<DateTime<Utc>>,
    /// Goes up by one with each change; `ETag` and `If-Match` carry it.
    #[cfg_attr(feature = "openapi", schema(format = Int64))]
    pub version: u64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: DateTime<Utc>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: DateTime<Utc>,
    /// Oldest first.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub history: Vec<HistoryEntry>,
}

/// One line of `POST /orders`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderItemInput {
    /// An item id from the menu; an unknown one answers 404.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, pattern = "\\S", example = "margherita")
    )]
    pub item_id: String,
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 50, example = 2))]
    pub quantity: u32,
}

// Text people write (addresses, notes, reasons, names) may hold any
// character but controls other than tab, newline and CR (Unicode's Cc:
// U+0000-U+001F, U+007F-U+009F), which the services refuse
// (food_kit::grpc::printable); the schemas say so with a pattern, and a
// required text needs one character that is neither space nor control.

/// Body of `POST /orders`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!(crate::examples::create_order())))]
pub struct CreateOrder {
    /// Every item from one restaurant.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 100))]
    pub items: Vec<OrderItemInput>,
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 500,
            pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
        )
    )]
    pub delivery_address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 500,
            pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
        )
    )]
    pub note: Option<String>,
    /// The customer the order is for: required with an ops key; a customer
    /// key may only name itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 128))]
    pub customer_id: Option<String>,
    /// Used when no `Idempotency-Key` header is sent (bulk NDJSON lines carry
    /// it); printable ASCII.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 200, pattern = "^[ -~]*$"))]
    pub idempotency_key: Option<String>,
}

/// Body of `PUT /delivery/status/:orderId`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = UpdateStatus, example = json!({"status": "ASSIGNED", "courier": "courier-1", "eta": "2026-12-02T12:45:00Z", "note": "on my way"})))]
pub struct UpdateDelivery {
    /// Required.
    #[cfg_attr(feature = "openapi", schema(required = true, value_type = DeliveryStatus))]
    pub status: Option<DeliveryStatus>,
    /// A courier id: who carries it (ops); a courier may name only itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 200,
            pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
        )
    )]
    pub courier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub eta: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 200,
            pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
        )
    )]
    pub note: Option<String>,
    /// The version the change expects (as `If-Match`); a stale one answers
    /// 409 `version_conflict`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = Int64))]
    pub version: Option<u64>,
}

/// A courier (docs/design.md, "Statuses, the kitchen and the couriers").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"id": "courier-1", "name": "Camille Martin", "on_shift": true, "active_deliveries": 1})))]
pub struct Courier {
    pub id: String,
    pub name: String,
    pub on_shift: bool,
    /// Its ASSIGNED, PICKED_UP and IN_TRANSIT deliveries.
    pub active_deliveries: u32,
}

/// `GET /couriers`: every courier, by id, on one page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CourierList {
    pub couriers: Vec<Courier>,
    pub next_cursor: Option<String>,
}

/// Body of `POST /orders/:id/accept`: one of `ready_by` and `prep_minutes`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    // `min_properties = 1` is set by the gateway's document: utoipa 5.5
    // writes it as `maxProperties`.
    schema(max_properties = 1, example = json!({"prep_minutes": 15}))
)]
#[serde(deny_unknown_fields)]
pub struct AcceptOrder {
    /// When the food will be ready: in the future, within 24 hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub ready_by: Option<DateTime<Utc>>,
    /// Ready in this many minutes from now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = u32, minimum = 1, maximum = 240))]
    pub prep_minutes: Option<u32>,
}

/// Body of `POST /orders/:id/reject`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"reason": "out of naan"})))]
#[serde(deny_unknown_fields)]
pub struct RejectOrder {
    /// Kept with the order as `rejection_reason`.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 200,
            pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
        )
    )]
    pub reason: String,
}

/// Body of `PUT /couriers/:id/shift`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"on_shift": true})))]
#[serde(deny_unknown_fields)]
pub struct CourierShift {
    pub on_shift: bool,
}

/// Body of `PUT /couriers/:id`: create or rename a courier.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"name": "Camille Martin"})))]
#[serde(deny_unknown_fields)]
pub struct PutCourier {
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 80,
            pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
        )
    )]
    pub name: String,
}

/// Body of `PATCH /restaurants/:id`: `{"open": false}` pauses a kitchen.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"open": false})))]
#[serde(deny_unknown_fields)]
pub struct UpdateRestaurant {
    /// `false` pauses the kitchen, `true` resumes it. Required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(required = true, value_type = bool))]
    pub open: Option<bool>,
}

/// Body of `POST /menu/items`: restaurants (upserted first) and items.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Import, example = json!({"restaurants": [crate::examples::restaurant()], "items": [crate::examples::item()]})))]
pub struct MenuImport {
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 1000))]
    pub restaurants: Vec<Restaurant>,
    /// Each item's `restaurant_id` names a stored or imported restaurant.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 5000))]
    pub items: Vec<Item>,
}

/// A page of restaurants, by name; `next_cursor` fetches the next one (`null`: the last page).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RestaurantList {
    pub restaurants: Vec<Restaurant>,
    pub next_cursor: Option<String>,
}

/// A page of menu items; `next_cursor` fetches the next one (`null`: the last page).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ItemList {
    pub items: Vec<Item>,
    pub next_cursor: Option<String>,
}

/// A page of orders, newest first; `next_cursor` fetches the next one (`null`: the last page).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderList {
    pub orders: Vec<Order>,
    pub next_cursor: Option<String>,
}

/// A page of deliveries; `next_cursor` fetches the next one (`null`: the last page).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryList {
    pub deliveries: Vec<Delivery>,
    pub next_cursor: Option<String>,
}

/// Result of `foodctl menu import` / `POST /menu/items`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"created": 1, "updated": 0})))]
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
