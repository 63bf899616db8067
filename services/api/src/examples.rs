//! Examples of the JSON shapes for the OpenAPI document: an order of two
//! margheritas and a diavola from the seed menu's Trattoria da Luca.

use serde_json::{Value, json};

pub fn restaurant() -> Value {
    json!({
        "id": "trattoria-da-luca",
        "name": "Trattoria da Luca",
        "cuisine": "italian",
        "address": "12 Rue Mercière, 69002 Lyon",
        "open": true,
        "tags": ["pizza", "pasta", "wood-fired"],
        "auto_accept": true,
        "acceptance_timeout_s": 300
    })
}

pub fn item() -> Value {
    json!({
        "id": "margherita",
        "restaurant_id": "trattoria-da-luca",
        "name": "Margherita",
        "description": "Tomato, fior di latte, basil",
        "category": "pizza",
        "price_cents": 1050,
        "currency": "EUR",
        "available": true,
        "prep_minutes": 12,
        "tags": ["vegetarian"]
    })
}

pub fn create_order() -> Value {
    json!({
        "items": [
            {"item_id": "margherita", "quantity": 2},
            {"item_id": "diavola", "quantity": 1}
        ],
        "delivery_address": "8 Quai Saint-Antoine, 69002 Lyon",
        "note": "ring twice"
    })
}

pub fn order() -> Value {
    json!({
        "id": "0193a1b2-7c1e-7d2a-9f00-1234abcd5678",
        "customer_id": "cust-ada",
        "restaurant_id": "trattoria-da-luca",
        "restaurant_name": "Trattoria da Luca",
        "pickup_address": "12 Rue Mercière, 69002 Lyon",
        "status": "PREPARING",
        "ready_by": "2026-12-02T12:30:00Z",
        "rejection_reason": null,
        "items": [
            {"item_id": "margherita", "name": "Margherita", "quantity": 2,
             "unit_price_cents": 1050, "line_total_cents": 2100},
            {"item_id": "diavola", "name": "Diavola", "quantity": 1,
             "unit_price_cents": 1290, "line_total_cents": 1290}
        ],
        "total_cents": 3390,
        "currency": "EUR",
        "delivery_address": "8 Quai Saint-Antoine, 69002 Lyon",
        "note": "ring twice",
        "created_at": "2026-12-02T12:17:41Z",
        "updated_at": "2026-12-02T12:18:02Z"
    })
}

pub fn delivery() -> Value {
    json!({
        "order_id": "0193a1b2-7c1e-7d2a-9f00-1234abcd5678",
        "customer_id": "cust-ada",
        "restaurant_id": "trattoria-da-luca",
        "restaurant_name": "Trattoria da Luca",
        "pickup_address": "12 Rue Mercière, 69002 Lyon",
        "item_count": 3,
        "total_cents": 3390,
        "currency": "EUR",
        "delivery_address": "8 Quai Saint-Antoine, 69002 Lyon",
        "status": "ASSIGNED",
        "courier": "courier-1",
        "courier_name": "Camille Martin",
        "eta": "2026-12-02T12:45:00Z",
        "version": 2,
        "created_at": "2026-12-02T12:17:41Z",
        "updated_at": "2026-12-02T12:19:10Z",
        "history": [
            {"status": "PENDING", "at": "2026-12-02T12:17:41Z", "note": null, "courier": null},
            {"status": "ASSIGNED", "at": "2026-12-02T12:19:10Z", "note": null, "courier": "courier-1"}
        ]
    })
}
