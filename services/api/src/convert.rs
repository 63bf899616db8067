//! Conversions between the protobuf messages and the JSON shapes.

use chrono::{DateTime, TimeZone, Utc};
use food_proto::{delivery::v1 as pd, menu::v1 as pm, order::v1 as po};
use prost_types::Timestamp;

use crate::{
    model::{
        Courier, DEFAULT_ACCEPTANCE_TIMEOUT_S, Delivery, HistoryEntry, Item, Order, OrderLine,
        Restaurant,
    },
    status::{DeliveryStatus, OrderStatus, UnknownStatus},
};

pub fn to_timestamp(t: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

pub fn from_timestamp(t: Option<&Timestamp>) -> DateTime<Utc> {
    t.and_then(|t| Utc.timestamp_opt(t.seconds, t.nanos.max(0) as u32).single())
        .unwrap_or_default()
}

pub fn opt_from_timestamp(t: Option<&Timestamp>) -> Option<DateTime<Utc>> {
    t.and_then(|t| Utc.timestamp_opt(t.seconds, t.nanos.max(0) as u32).single())
}

impl From<DeliveryStatus> for pd::DeliveryStatus {
    fn from(s: DeliveryStatus) -> Self {
        match s {
            DeliveryStatus::Pending => Self::Pending,
            DeliveryStatus::Assigned => Self::Assigned,
            DeliveryStatus::PickedUp => Self::PickedUp,
            DeliveryStatus::InTransit => Self::InTransit,
            DeliveryStatus::Delivered => Self::Delivered,
            DeliveryStatus::Cancelled => Self::Cancelled,
            DeliveryStatus::Failed => Self::Failed,
        }
    }
}

impl TryFrom<pd::DeliveryStatus> for DeliveryStatus {
    type Error = UnknownStatus;

    fn try_from(s: pd::DeliveryStatus) -> Result<Self, Self::Error> {
        Ok(match s {
            pd::DeliveryStatus::Pending => Self::Pending,
            pd::DeliveryStatus::Assigned => Self::Assigned,
            pd::DeliveryStatus::PickedUp => Self::PickedUp,
            pd::DeliveryStatus::InTransit => Self::InTransit,
            pd::DeliveryStatus::Delivered => Self::Delivered,
            pd::DeliveryStatus::Cancelled => Self::Cancelled,
            pd::DeliveryStatus::Failed => Self::Failed,
            pd::DeliveryStatus::Unspecified => {
                return Err(UnknownStatus("UNSPECIFIED".into()));
            }
        })
    }
}

/// Reads a wire enum value; unknown or unspecified values are an error.
pub fn delivery_status(v: i32) -> Result<DeliveryStatus, UnknownStatus> {
    pd::DeliveryStatus::try_from(v)
        .map_err(|_| UnknownStatus(v.to_string()))?
        .try_into()
}

impl From<OrderStatus> for po::OrderStatus {
    fn from(s: OrderStatus) -> Self {
        match s {
            OrderStatus::Placed => Self::Placed,
            OrderStatus::Preparing => Self::Preparing,
            OrderStatus::ReadyForPickup => Self::ReadyForPickup,
            OrderStatus::OutForDelivery => Self::OutForDelivery,
            OrderStatus::Delivered => Self::Delivered,
            OrderStatus::Rejected => Self::Rejected,
            OrderStatus::Cancelled => Self::Cancelled,
            OrderStatus::Failed => Self::Failed,
        }
    }
}

pub fn order_status(v: i32) -> Result<OrderStatus, UnknownStatus> {
    Ok(
        match po::OrderStatus::try_from(v).map_err(|_| UnknownStatus(v.to_string()))? {
            po::OrderStatus::Placed => OrderStatus::Placed,
            po::OrderStatus::Preparing => OrderStatus::Preparing,
            po::OrderStatus::ReadyForPickup => OrderStatus::ReadyForPickup,
            po::OrderStatus::OutForDelivery => OrderStatus::OutForDelivery,
            po::OrderStatus::Delivered => OrderStatus::Delivered,
            po::OrderStatus::Rejected => OrderStatus::Rejected,
            po::OrderStatus::Cancelled => OrderStatus::Cancelled,
            po::OrderStatus::Failed => OrderStatus::Failed,
            po::OrderStatus::Unspecified => {
                return Err(UnknownStatus("UNSPECIFIED".into()));
            }
        },
    )
}

impl From<pm::Restaurant> for Restaurant {
    fn from(r: pm::Restaurant) -> Self {
        Self {
            id: r.id,
            name: r.name,
            cuisine: r.cuisine,
            address: r.address,
            open: r.open,
            tags: r.tags,
            auto_accept: r.auto_accept,
            acceptance_timeout_s: match r.acceptance_timeout_s {
                0 => DEFAULT_ACCEPTANCE_TIMEOUT_S,
                s => s,
            },
        }
    }
}

impl From<Restaurant> for pm::Restaurant {
    fn from(r: Restaurant) -> Self {
        Self {
            id: r.id,
            name: r.name,
            cuisine: r.cuisine,
            address: r.address,
            open: r.open,
            tags: r.tags,
            auto_accept: r.auto_accept,
            acceptance_timeout_s: r.acceptance_timeout_s,
        }
    }
}

impl From<pm::Item> for Item {
    fn from(i: pm::Item) -> Self {
        Self {
            id: i.id,
            restaurant_id: i.restaurant_id,
            name: i.name,
            description: i.description,
            category: i.category,
            price_cents: i.price_cents,
            currency: i.currency,
            available: i.available,
            prep_minutes: i.prep_minutes,
            tags: i.tags,
        }
    }
}

impl From<Item> for pm::Item {
    fn from(i: Item) -> Self {
        Self {
            id: i.id,
            restaurant_id: i.restaurant_id,
            name: i.name,
            description: i.description,
            category: i.category,
            price_cents: i.price_cents,
            currency: i.currency,
            available: i.available,
            prep_minutes: i.prep_minutes,
            tags: i.tags,
        }
    }
}

/// An order from another service; an unknown status is an error, not a
/// guess (only a corrupt or newer peer sends one).
impl TryFrom<po::Order> for Order {
    type Error = UnknownStatus;

    fn try_from(o: po::Order) -> Result<Self, Self::Error> {
        Ok(Self {
            status: order_status(o.status)?,
            created_at: from_timestamp(o.created_at.as_ref()),
            updated_at: from_timestamp(o.updated_at.as_ref()),
            id: o.id,
            customer_id: o.customer_id,
            restaurant_id: o.restaurant_id,
            restaurant_name: o.restaurant_name,
            pickup_address: o.pickup_address,
            items: o
                .items
                .into_iter()
                .map(|l| OrderLine {
                    item_id: l.item_id,
                    name: l.name,
                    quantity: l.quantity,
                    unit_price_cents: l.unit_price_cents,
                    line_total_cents: l.line_total_cents,
                })
                .collect(),
            total_cents: o.total_cents,
            currency: o.currency,
            delivery_address: o.delivery_address,
            note: o.note,
            ready_by: opt_from_timestamp(o.ready_by.as_ref()),
            rejection_reason: o.rejection_reason,
        })
    }
}

impl From<Order> for po::Order {
    fn from(o: Order) -> Self {
        Self {
            id: o.id,
            customer_id: o.customer_id,
            restaurant_id: o.restaurant_id,
            restaurant_name: o.restaurant_name,
            pickup_address: o.pickup_address,
            status: po::OrderStatus::from(o.status) as i32,
            items: o
                .items
                .into_iter()
                .map(|l| po::OrderLine {
                    item_id: l.item_id,
                    name: l.name,
                    quantity: l.quantity,
                    unit_price_cents: l.unit_price_cents,
                    line_total_cents: l.line_total_cents,
                })
                .collect(),
            total_cents: o.total_cents,
            currency: o.currency,
            delivery_address: o.delivery_address,
            note: o.note,
            created_at: Some(to_timestamp(o.created_at)),
            updated_at: Some(to_timestamp(o.updated_at)),
            ready_by: o.ready_by.map(to_timestamp),
            rejection_reason: o.rejection_reason,
        }
    }
}

impl From<pd::Courier> for Courier {
    fn from(c: pd::Courier) -> Self {
        Self {
            id: c.id,
            name: c.name,
            on_shift: c.on_shift,
            active_deliveries: c.active_deliveries,
        }
    }
}

impl From<Courier> for pd::Courier {
    fn from(c: Courier) -> Self {
        Self {
            id: c.id,
            name: c.name,
            on_shift: c.on_shift,
            active_deliveries: c.active_deliveries,
        }
    }
}

/// A delivery from another service or an event; an unknown status (of the
/// delivery or of any history entry) is an error, not a guess.
impl TryFrom<pd::Delivery> for Delivery {
    type Error = UnknownStatus;

    fn try_from(d: pd::Delivery) -> Result<Self, Self::Error> {
        Ok(Self {
            status: delivery_status(d.status)?,
            eta: opt_from_timestamp(d.eta.as_ref()),
            created_at: from_timestamp(d.created_at.as_ref()),
            updated_at: from_timestamp(d.updated_at.as_ref()),
            history: d
                .history
                .into_iter()
                .map(|h| {
                    Ok(HistoryEntry {
                        status: delivery_status(h.status)?,
                        at: from_timestamp(h.at.as_ref()),
                        note: h.note,
                        courier: h.courier,
                    })
                })
                .collect::<Result<_, UnknownStatus>>()?,
            order_id: d.order_id,
            customer_id: d.customer_id,
            restaurant_id: d.restaurant_id,
            restaurant_name: d.restaurant_name,
            pickup_address: d.pickup_address,
            item_count: d.item_count,
            total_cents: d.total_cents,
            currency: d.currency,
            delivery_address: d.delivery_address,
            courier: d.courier,
            courier_name: d.courier_name,
            version: d.version,
        })
    }
}

impl From<Delivery> for pd::Delivery {
    fn from(d: Delivery) -> Self {
        Self {
            order_id: d.order_id,
            customer_id: d.customer_id,
            item_count: d.item_count,
            total_cents: d.total_cents,
            delivery_address: d.delivery_address,
            status: pd::DeliveryStatus::from(d.status) as i32,
            courier: d.courier,
            eta: d.eta.map(to_timestamp),
            version: d.version,
            created_at: Some(to_timestamp(d.created_at)),
            updated_at: Some(to_timestamp(d.updated_at)),
            history: d
                .history
                .into_iter()
                .map(|h| pd::HistoryEntry {
                    status: pd::DeliveryStatus::from(h.status) as i32,
                    at: Some(to_timestamp(h.at)),
                    note: h.note,
                    courier: h.courier,
                })
                .collect(),
            currency: d.currency,
            restaurant_id: d.restaurant_id,
            restaurant_name: d.restaurant_name,
            pickup_address: d.pickup_address,
            courier_name: d.courier_name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_delivery_status_round_trips_through_the_wire_enum() {
        for s in DeliveryStatus::ALL {
            let wire = pd::DeliveryStatus::from(s) as i32;
            assert_eq!(delivery_status(wire), Ok(s));
        }
        assert!(delivery_status(0).is_err());
        assert!(delivery_status(99).is_err());
    }

    #[test]
    fn every_order_status_round_trips_through_the_wire_enum() {
        for s in OrderStatus::ALL {
            assert_eq!(order_status(po::OrderStatus::from(s) as i32), Ok(s));
        }
    }

    #[test]
    fn a_message_with_an_unknown_status_is_an_error_not_a_default() {
        let order = po::Order {
            status: 99,
            ..Default::default()
        };
        assert_eq!(Order::try_from(order), Err(UnknownStatus("99".into())));
        let delivery = pd::Delivery {
            status: pd::DeliveryStatus::Unspecified as i32,
            ..Default::default()
        };
        assert_eq!(
            Delivery::try_from(delivery),
            Err(UnknownStatus("UNSPECIFIED".into()))
        );
        let history = pd::Delivery {
            status: pd::DeliveryStatus::Assigned as i32,
            history: vec![pd::HistoryEntry {
                status: 42,
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(Delivery::try_from(history), Err(UnknownStatus("42".into())));
    }

    #[test]
    fn a_message_round_trips_through_the_json_shape() {
        let delivery = pd::Delivery {
            order_id: "o".into(),
            status: pd::DeliveryStatus::PickedUp as i32,
            history: vec![pd::HistoryEntry {
                status: pd::DeliveryStatus::Pending as i32,
                at: Some(Timestamp::default()),
                ..Default::default()
            }],
            created_at: Some(Timestamp::default()),
            updated_at: Some(Timestamp::default()),
            ..Default::default()
        };
        let model = Delivery::try_from(delivery.clone()).unwrap();
        assert_eq!(model.status, DeliveryStatus::PickedUp);
        assert_eq!(pd::Delivery::from(model), delivery);
    }

    #[test]
    fn timestamps_keep_sub_second_precision() {
        let t = Utc.timestamp_opt(1_700_000_000, 123_456_789).unwrap();
        assert_eq!(from_timestamp(Some(&to_timestamp(t))), t);
    }
}
