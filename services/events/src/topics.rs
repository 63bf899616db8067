//! Topic names (docs/design.md). Both are keyed by order id.

/// OrderPlaced, OrderCancelled, OrderStatusChanged.
pub const ORDERS: &str = "food.orders.v1";
/// DeliveryStatusChanged, carrying the whole delivery.
pub const DELIVERIES: &str = "food.deliveries.v1";

/// The topic names under a prefix (empty in production; unique per test).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Topics {
    pub orders: String,
    pub deliveries: String,
}

impl Topics {
    pub fn with_prefix(prefix: &str) -> Self {
        Self {
            orders: format!("{prefix}{ORDERS}"),
            deliveries: format!("{prefix}{DELIVERIES}"),
        }
    }

    pub fn all(&self) -> Vec<String> {
        vec![self.orders.clone(), self.deliveries.clone()]
    }
}
