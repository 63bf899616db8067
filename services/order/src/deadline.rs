//! The acceptance deadline: an order of a kitchen that accepts by hand and
//! is still PLACED at its `accept_deadline` is rejected with reason
//! `timeout`.
//!
//! The deadline is a column, not a timer in this process: a restart finds
//! it again, and every replica sweeps the same rows. Each sweep rejects the
//! overdue orders with one conditional UPDATE and stores their
//! OrderStatusChanged events in the same transaction, so that with two
//! replicas on one database each order is rejected, and announced, once.

use std::time::Duration;

use food_api::OrderStatus;
use food_events::topics::Topics;
use food_kit::{
    Db, Shutdown,
    db::now_micros,
    outbox::{OutboxMessage, Waker, enqueue_all},
};

use crate::store;

/// Rejects overdue orders every `interval` until shutdown.
pub struct Sweeper {
    db: Db,
    topics: Topics,
    waker: Waker,
    interval: Duration,
}

impl Sweeper {
    pub fn new(db: Db, topics: Topics, waker: Waker, interval: Duration) -> Self {
        Self {
            db,
            topics,
            waker,
            interval,
        }
    }

    /// One sweep: rejects the orders whose deadline has passed; how many.
    pub async fn sweep_once(&self) -> anyhow::Result<usize> {
        let mut tx = self.db.begin().await?;
        let ids = store::reject_overdue(&mut tx, now_micros()).await?;
        if ids.is_empty() {
            tx.rollback().await?;
            return Ok(0);
        }
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let orders = store::orders_in_tx(&mut tx, &refs).await?;
        let trace_id = uuid::Uuid::now_v7().simple().to_string();
        let events: Vec<OutboxMessage> = refs
            .iter()
            .filter_map(|id| orders.get(*id))
            .map(|order| {
                let env = store::status_changed(&trace_id, OrderStatus::Placed, order.clone());
                OutboxMessage::event(&self.topics.orders, &order.id, &env)
            })
            .collect();
        enqueue_all(&mut tx, &events).await?;
        tx.commit().await?;
        self.waker.wake();
        for id in &ids {
            tracing::info!(order_id = %id, "the kitchen did not answer in time: order rejected");
        }
        metrics::counter!("order_acceptance_timeouts_total").increment(ids.len() as u64);
        Ok(ids.len())
    }

    /// Sweeps every `interval` until `shutdown`; a failed sweep is logged
    /// and tried again at the next tick.
    pub async fn run(self, shutdown: Shutdown) {
        let mut every = tokio::time::interval(self.interval);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every.tick() => {}
                _ = shutdown.cancelled() => break,
            }
            // A full batch leaves more overdue orders: sweep again at once.
            loop {
                match self.sweep_once().await {
                    Ok(n) if n as i64 >= store::SWEEP_BATCH => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %format!("{e:#}"), "the acceptance deadline sweep failed");
                        break;
                    }
                }
            }
        }
    }
}
