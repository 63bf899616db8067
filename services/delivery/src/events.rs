//! Follows orders: OrderPlaced creates the delivery (PENDING) exactly once
//! per order; OrderStatusChanged to PREPARING or READY_FOR_PICKUP records
//! that the kitchen accepted the order and dispatches a courier; REJECTED,
//! CANCELLED (or OrderCancelled) cancel the delivery while it has not been
//! picked up (the compensation).

use food_api::{DeliveryStatus, OrderStatus, convert::order_status};
use food_events::{Envelope, Payload, topics::Topics};
use food_kit::{Handler, Outcome, Tx, outbox::Waker};
use food_proto::{
    events::v1::{OrderCancelled, OrderPlaced, OrderStatusChanged},
    order::v1::Order,
};

use crate::store::{self, Change};

/// The note of a delivery cancelled with its order.
pub const CANCELLED_NOTE: &str = "cancelled";

/// The food.orders.v1 consumer.
pub struct OrderEvents {
    topics: Topics,
    waker: Waker,
    /// `max_active_per_courier`: automatic dispatch gives no courier more.
    cap: u32,
}

impl OrderEvents {
    pub fn new(topics: Topics, waker: Waker, cap: u32) -> Self {
        Self { topics, waker, cap }
    }

    /// Creates the deliveries of `placed` (a delivery per order, keyed on
    /// the order id, so that a re-published OrderPlaced with a new event id
    /// still creates one) and sets each one's outcome in `out`.
    async fn create(
        &self,
        tx: &mut Tx,
        placed: &mut Vec<(usize, &str, &Order)>,
        out: &mut [Outcome],
    ) -> anyhow::Result<()> {
        if placed.is_empty() {
            return Ok(());
        }
        let orders: Vec<(&str, &Order)> = placed.iter().map(|(_, t, o)| (*t, *o)).collect();
        for (created, (i, trace_id, _)) in store::create_many(tx, &self.topics, &orders)
            .await?
            .into_iter()
            .zip(placed.drain(..))
        {
            out[i] = match created {
                Some(d) => {
                    tracing::info!(order_id = %d.order_id, trace_id, "delivery created");
                    Outcome::Applied
                }
                None => Outcome::Ignored,
            };
        }
        Ok(())
    }

    /// Creates the pending deliveries, then records the pending
    /// acceptances (each after its order's delivery exists) and dispatches
    /// once for all of them.
    async fn flush(
        &self,
        tx: &mut Tx,
        placed: &mut Vec<(usize, &str, &Order)>,
        accepted: &mut Vec<(usize, &str, &str)>,
        out: &mut [Outcome],
    ) -> anyhow::Result<()> {
        self.create(tx, placed, out).await?;
        let mut dispatch_trace = None;
        for (i, trace_id, order_id) in accepted.drain(..) {
            if store::mark_accepted(tx, order_id).await? {
                tracing::info!(order_id, "order accepted by the kitchen");
                out[i] = Outcome::Applied;
                dispatch_trace = Some(trace_id);
            }
        }
        if let Some(trace_id) = dispatch_trace {
            store::dispatch_waiting(tx, &self.topics, trace_id, self.cap).await?;
        }
        Ok(())
    }

    /// Cancels the order's delivery while it has not been picked up, with
    /// `note`; a delivery already cancelled (by whichever of OrderCancelled
    /// and OrderStatusChanged came first) is left as is. A courier freed by
    /// the cancel takes the waiting deliveries.
    async fn cancel(
        &self,
        tx: &mut Tx,
        trace_id: &str,
        order_id: &str,
        note: &str,
    ) -> anyhow::Result<Outcome> {
        let Some(current) = store::get_in_tx(tx, order_id).await? else {
            return Ok(Outcome::Ignored);
        };
        if current.status == DeliveryStatus::Cancelled {
            return Ok(Outcome::Ignored);
        }
        if !current.status.is_cancellable() {
            tracing::warn!(order_id, status = %current.status, note, "order ended after pick-up; delivery left as is");
            return Ok(Outcome::Ignored);
        }
        store::change(
            tx,
            &self.topics,
            trace_id,
            &current,
            Change {
                to: DeliveryStatus::Cancelled,
                courier: None,
                eta: None,
                note: Some(note),
            },
        )
        .await?;
        tracing::info!(order_id, note, "delivery cancelled with its order");
        if current.courier.is_some() {
            store::dispatch_waiting(tx, &self.topics, trace_id, self.cap).await?;
        }
        Ok(Outcome::Applied)
    }

    async fn status_changed(
        &self,
        tx: &mut Tx,
        trace_id: &str,
        c: &OrderStatusChanged,
    ) -> anyhow::Result<Outcome> {
        let Ok(status) = order_status(c.status) else {
            tracing::warn!(order_id = %c.order_id, status = c.status, "unknown order status; ignored");
            return Ok(Outcome::Ignored);
        };
        match status {
            // Gathered by `apply_all` and recorded in `flush`.
            OrderStatus::Preparing | OrderStatus::ReadyForPickup => Ok(Outcome::Ignored),
            OrderStatus::Rejected => {
                let reason = c
                    .order
                    .as_ref()
                    .and_then(|o| o.rejection_reason.as_deref())
                    .map(str::trim)
                    .filter(|r| !r.is_empty());
                let note = match reason {
                    Some(r) => format!("rejected: {r}"),
                    None => "rejected".to_owned(),
                };
                self.cancel(tx, trace_id, &c.order_id, &note).await
            }
            OrderStatus::Cancelled => self.cancel(tx, trace_id, &c.order_id, CANCELLED_NOTE).await,
            _ => Ok(Outcome::Ignored),
        }
    }
}

impl Handler for OrderEvents {
    fn name(&self) -> &str {
        "delivery-service.orders"
    }

    async fn apply(&self, tx: &mut Tx, env: &Envelope) -> anyhow::Result<Outcome> {
        let mut out = self.apply_all(tx, &[env]).await?;
        Ok(out.pop().unwrap_or(Outcome::Ignored))
    }

    /// In event order: each run of OrderPlaced events creates its
    /// deliveries in a few multi-row statements, and the acceptances among
    /// them are recorded after the creates with one dispatch; any other
    /// event is applied on its own, after the orders placed before it. The batch
    /// takes the dispatch lock before it reads anything: it may assign
    /// couriers, and its outbox rows must commit in id order.
    async fn apply_all(&self, tx: &mut Tx, envs: &[&Envelope]) -> anyhow::Result<Vec<Outcome>> {
        store::lock_dispatch(tx).await?;
        let mut out = vec![Outcome::Ignored; envs.len()];
        let mut placed: Vec<(usize, &str, &Order)> = Vec::new();
        // Acceptances wait with the placed orders, so that an auto-accepted
        // order's OrderPlaced and OrderStatusChanged, which arrive together,
        // do not cut the run of deliveries created in one statement.
        let mut accepted: Vec<(usize, &str, &str)> = Vec::new();
        for (i, env) in envs.iter().enumerate() {
            let trace = env.trace_id.as_str();
            match &env.payload {
                Some(Payload::OrderPlaced(OrderPlaced {
                    order: Some(order), ..
                })) => placed.push((i, trace, order)),
                Some(Payload::OrderStatusChanged(c))
                    if order_status(c.status).is_ok_and(|s| {
                        matches!(s, OrderStatus::Preparing | OrderStatus::ReadyForPickup)
                    }) =>
                {
                    accepted.push((i, trace, c.order_id.as_str()));
                }
                Some(Payload::OrderCancelled(OrderCancelled { order_id, .. })) => {
                    self.flush(tx, &mut placed, &mut accepted, &mut out).await?;
                    out[i] = self.cancel(tx, trace, order_id, CANCELLED_NOTE).await?;
                }
                Some(Payload::OrderStatusChanged(c)) => {
                    self.flush(tx, &mut placed, &mut accepted, &mut out).await?;
                    out[i] = self.status_changed(tx, trace, c).await?;
                }
                _ => {}
            }
        }
        self.flush(tx, &mut placed, &mut accepted, &mut out).await?;
        Ok(out)
    }

    fn committed(&self) {
        self.waker.wake();
    }
}

#[cfg(test)]
mod tests {
    use food_api::DeliveryStatus;
    use food_events::{Envelope, Payload, envelope::decode, new_envelope, topics::Topics};
    use food_kit::{Db, Handled, consumer::handle_batch, outbox::Waker};
    use food_proto::{
        delivery::v1 as pd,
        events::v1::{OrderCancelled, OrderPlaced, OrderStatusChanged},
        order::v1::{Order, OrderLine, OrderStatus},
    };
    use sqlx::Row;

    use super::OrderEvents;
    use crate::store;

    fn placed(order_id: &str) -> Envelope {
        new_envelope(
            "trace",
            Payload::OrderPlaced(OrderPlaced {
                order: Some(Order {
                    id: order_id.to_owned(),
                    customer_id: "rita".to_owned(),
                    restaurant_id: Some("trattoria-da-luca".to_owned()),
                    restaurant_name: Some("Trattoria da Luca".to_owned()),
                    pickup_address: Some("3 Rue Mercière, Lyon".to_owned()),
                    items: vec![
                        OrderLine {
                            item_id: "margherita".to_owned(),
                            quantity: 2,
                            ..Default::default()
                        },
                        OrderLine {
                            item_id: "tiramisu".to_owned(),
                            quantity: 1,
                            ..Default::default()
                        },
                    ],
                    total_cents: 2_450,
                    currency: "EUR".to_owned(),
                    delivery_address: "1 Main St".to_owned(),
                    ..Default::default()
                }),
            }),
        )
    }

    fn cancelled(order_id: &str) -> Envelope {
        new_envelope(
            "trace",
            Payload::OrderCancelled(OrderCancelled {
                order_id: order_id.to_owned(),
                customer_id: "rita".to_owned(),
                reason: None,
            }),
        )
    }

    /// The outbox's events in order: (order id, previous, delivery as announced).
    async fn announced(db: &Db) -> Vec<(String, i32, pd::Delivery)> {
        sqlx::query("SELECT msg_key, payload FROM outbox ORDER BY id")
            .fetch_all(db.reader())
            .await
            .unwrap()
            .iter()
            .map(|row| {
                let env = decode(&row.get::<Vec<u8>, _>("payload")).unwrap();
                let Some(Payload::DeliveryStatusChanged(c)) = env.payload else {
                    panic!("not a DeliveryStatusChanged: {env:?}");
                };
                (row.get("msg_key"), c.previous, c.delivery.unwrap())
            })
            .collect()
    }

    /// One batch: two orders placed, one of them placed again under a new
    /// event id, then cancelled, a third placed after the cancel, and the
    /// first event delivered twice.
    async fn a_batch_of_order_events(db: Db) {
        let handler = OrderEvents::new(Topics::with_prefix(""), Waker::new(), 2);
        let a = placed("a");
        let envs = [
            a.clone(),
            placed("b"),
            placed("a"),
            cancelled("b"),
            placed("c"),
            a,
        ];

        let handled = handle_batch(&db, &handler, &envs).await.unwrap();

        use Handled::*;
        assert_eq!(
            handled,
            [Applied, Applied, Ignored, Applied, Applied, Duplicate]
        );
        let a = store::get(&db, "a").await.unwrap().unwrap();
        assert_eq!(
            (a.status, a.version, a.item_count, a.total_cents),
            (DeliveryStatus::Pending, 1, 3, 2_450)
        );
        assert_eq!(a.history.len(), 1, "{a:?}");
        assert_eq!(a.history[0].note.as_deref(), Some("order placed"));
        assert_eq!(
            (
                a.restaurant_id.as_deref(),
                a.restaurant_name.as_deref(),
                a.pickup_address.as_deref()
            ),
            (
                Some("trattoria-da-luca"),
                Some("Trattoria da Luca"),
                Some("3 Rue Mercière, Lyon")
            ),
            "copied from the order"
        );
        let b = store::get(&db, "b").await.unwrap().unwrap();
        assert_eq!((b.status, b.version), (DeliveryStatus::Cancelled, 2));
        assert_eq!(b.history.len(), 2, "{b:?}");

        let events = announced(&db).await;
        let keys: Vec<(&str, i32, i32)> = events
            .iter()
            .map(|(k, prev, d)| (k.as_str(), *prev, d.status))
            .collect();
        let (pending, cancelled) = (
            pd::DeliveryStatus::Pending as i32,
            pd::DeliveryStatus::Cancelled as i32,
        );
        assert_eq!(
            keys,
            [
                ("a", pending, pending),
                ("b", pending, pending),
                ("b", pending, cancelled),
                ("c", pending, pending)
            ]
        );
        // A new delivery is announced as a read of it returns it.
        assert_eq!(events[0].2, pd::Delivery::from(a));
        let c = store::get(&db, "c").await.unwrap().unwrap();
        assert_eq!(events[3].2, pd::Delivery::from(c));

        // A change (the cancel) is announced as a read of it returns it.
        assert_eq!(events[2].2, pd::Delivery::from(b));

        // Placed again in a later batch: nothing changes.
        let again = handle_batch(&db, &handler, &[placed("a"), placed("c")])
            .await
            .unwrap();
        assert_eq!(again, [Ignored, Ignored]);
        assert_eq!(announced(&db).await.len(), 4);

        // Status changes return and announce the delivery as a read of it
        // returns it: with a courier, an ETA and a note, then a change that
        // keeps the courier and the ETA.
        let eta = chrono::DateTime::from_timestamp_micros(1_900_000_000_123_456).unwrap();
        let changes = [
            store::Change {
                to: DeliveryStatus::Assigned,
                courier: Some("courier-1"),
                eta: Some(eta),
                note: Some("on the way to the kitchen"),
            },
            store::Change {
                to: DeliveryStatus::PickedUp,
                courier: None,
                eta: None,
                note: None,
            },
        ];
        for change in changes {
            let mut tx = db.begin().await.unwrap();
            let current = store::get_in_tx(&mut tx, "a").await.unwrap().unwrap();
            let returned = store::change(&mut tx, &handler.topics, "trace", &current, change)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            let read = store::get(&db, "a").await.unwrap().unwrap();
            assert_eq!(returned, read);
            let (_, _, last) = announced(&db).await.pop().unwrap();
            assert_eq!(last, pd::Delivery::from(read));
        }
        let a = store::get(&db, "a").await.unwrap().unwrap();
        assert_eq!(
            (
                a.status,
                a.version,
                a.courier.as_deref(),
                a.eta,
                a.history.len()
            ),
            (DeliveryStatus::PickedUp, 3, Some("courier-1"), Some(eta), 3)
        );
        assert_eq!(
            a.history[1].note.as_deref(),
            Some("on the way to the kitchen")
        );
        db.close().await;
    }

    fn moved(order_id: &str, status: OrderStatus, reason: Option<&str>) -> Envelope {
        let Some(Payload::OrderPlaced(OrderPlaced { order: Some(order) })) =
            placed(order_id).payload
        else {
            unreachable!()
        };
        new_envelope(
            "trace",
            Payload::OrderStatusChanged(OrderStatusChanged {
                order_id: order_id.to_owned(),
                previous: OrderStatus::Placed as i32,
                status: status as i32,
                order: Some(Order {
                    status: status as i32,
                    rejection_reason: reason.map(str::to_owned),
                    ..order
                }),
            }),
        )
    }

    /// One batch with a courier on shift and a cap of 1: the first accepted
    /// order is dispatched, the second waits, a rejection and a cancel
    /// compensate, and the cancel frees the courier for the waiting one,
    /// all in the batch's transaction; the same events again, under their
    /// ids or new ones, change nothing.
    async fn acceptance_dispatches_and_rejection_compensates(db: Db) {
        let handler = OrderEvents::new(Topics::with_prefix(""), Waker::new(), 1);
        let mut tx = db.begin().await.unwrap();
        store::lock_dispatch(&mut tx).await.unwrap();
        store::set_shift(&mut tx, "courier-1", true).await.unwrap();
        tx.commit().await.unwrap();
        let batch = || {
            [
                placed("a"),
                placed("b"),
                placed("c"),
                moved("a", OrderStatus::Preparing, None),
                moved("b", OrderStatus::Preparing, None),
                moved("c", OrderStatus::Rejected, Some("too busy")),
                moved("a", OrderStatus::Cancelled, None),
            ]
        };
        let envs = batch();

        let handled = handle_batch(&db, &handler, &envs).await.unwrap();

        assert!(
            handled.iter().all(|h| *h == Handled::Applied),
            "{handled:?}"
        );
        let get = |id: &'static str| {
            let db = db.clone();
            async move { store::get(&db, id).await.unwrap().unwrap() }
        };
        let (a, b, c) = (get("a").await, get("b").await, get("c").await);
        let seen = |d: &food_api::Delivery| {
            (
                d.status,
                d.version,
                d.courier.clone(),
                d.history.last().unwrap().note.clone(),
            )
        };
        let some = |s: &str| Some(s.to_owned());
        assert_eq!(
            seen(&a),
            (
                DeliveryStatus::Cancelled,
                3,
                some("courier-1"),
                some("cancelled")
            )
        );
        assert_eq!(
            seen(&b),
            (
                DeliveryStatus::Assigned,
                2,
                some("courier-1"),
                some("dispatched")
            )
        );
        assert_eq!(b.courier_name.as_deref(), Some("Camille Martin"));
        assert_eq!(
            seen(&c),
            (
                DeliveryStatus::Cancelled,
                2,
                None,
                some("rejected: too busy")
            )
        );
        let events = announced(&db).await.len();
        assert_eq!(events, 3 + 2 + 1 + 1);
        let (_, _, last) = announced(&db).await.pop().unwrap();
        assert_eq!(last, pd::Delivery::from(b.clone()), "announced as read");

        // Redelivered, then published again with new event ids.
        let again = handle_batch(&db, &handler, &envs).await.unwrap();
        assert!(again.iter().all(|h| *h == Handled::Duplicate), "{again:?}");
        let fresh = handle_batch(&db, &handler, &batch()).await.unwrap();
        assert!(fresh.iter().all(|h| *h == Handled::Ignored), "{fresh:?}");
        assert_eq!((get("a").await, get("b").await, get("c").await), (a, b, c));
        assert_eq!(announced(&db).await.len(), events);
        db.close().await;
    }

    #[tokio::test]
    async fn sqlite_acceptance_dispatches_and_rejection_compensates_once() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/delivery.db", dir.path().display());
        acceptance_dispatches_and_rejection_compensates(
            Db::connect(&url, &crate::MIGRATIONS).await.unwrap(),
        )
        .await;
    }

    #[tokio::test]
    async fn postgres_acceptance_dispatches_and_rejection_compensates_once() {
        let Some(url) = food_kit::testing::postgres_schema("delivery").await else {
            return;
        };
        acceptance_dispatches_and_rejection_compensates(
            Db::connect(&url, &crate::MIGRATIONS).await.unwrap(),
        )
        .await;
    }

    #[tokio::test]
    async fn sqlite_a_batch_creates_each_delivery_once_and_cancels_after_the_placements_before_it()
    {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/delivery.db", dir.path().display());
        a_batch_of_order_events(Db::connect(&url, &crate::MIGRATIONS).await.unwrap()).await;
    }

    #[tokio::test]
    async fn postgres_a_batch_creates_each_delivery_once_and_cancels_after_the_placements_before_it()
     {
        let Some(url) = food_kit::testing::postgres_schema("delivery").await else {
            return;
        };
        a_batch_of_order_events(Db::connect(&url, &crate::MIGRATIONS).await.unwrap()).await;
    }
}
