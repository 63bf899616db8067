//! The transactional outbox.
//!
//! A service writes its state change and the event announcing it in ONE
//! transaction ([`enqueue`]); after the commit it wakes the [`Relay`], which
//! publishes unsent rows in id order with an idempotent producer (acks=all)
//! and marks them sent. The relay is woken by the commit, not by a polling
//! interval (a slow poll remains as a safety net for rows written by a
//! process that died before waking it).
//!
//! Guarantees: an event is published only if its transaction committed; it
//! is published at least once (a crash between the broker's ack and the
//! mark re-sends it, and consumers drop the duplicate by event id); one
//! key's events keep their order, because rows are sent in id order, the
//! producer never times a message out (`message.timeout.ms=0`) and
//! idempotence keeps order across its retries. A broker outage delays
//! events, it does not drop them.
//!
//! On SQLite, marks are deferred: the relay remembers in memory how far the
//! broker has acknowledged and writes that mark at most every
//! [`MARK_EVERY`] (and when it stops), so that under load it does not take
//! the database's one writer, with an fsync, after every commit of the
//! service it serves. That needs rows to commit in id order, which SQLite's
//! single writer guarantees. A crash loses at most the last [`MARK_EVERY`]
//! of marks; those rows are sent again and consumers drop them by event id,
//! as after any crash. On PostgreSQL, where concurrent transactions may
//! commit a lower id after a higher one, every round reads all unsent rows
//! and marks exactly the ids the broker acknowledged, at once: a row that
//! committed below the highest acknowledged id after the round read is
//! still unsent, and the next round publishes it. A round there is one
//! batch: a transaction's ids may sit around another's, and a batch read
//! after the previous one's last id would split it, sending an order's
//! OrderStatusChanged before its OrderPlaced.

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use anyhow::Context;
use food_events::{CONTENT_TYPE, Envelope, EventType};
use prost::Message;
use rdkafka::{
    message::{Header, OwnedHeaders},
    producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer},
};
use sqlx::Row;
use tokio::sync::Notify;

use crate::{
    Shutdown,
    db::{Backend, Db, Params, ROWS_PER_INSERT, Tx, now_micros, statement_runs},
};

/// One event to publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxMessage {
    /// Unique; consumers deduplicate on it.
    pub event_id: String,
    pub topic: String,
    /// The Kafka key; one key's events keep their order.
    pub key: String,
    pub payload: Vec<u8>,
    pub headers: Vec<(String, String)>,
}

impl OutboxMessage {
    /// The row that publishes `env` on `topic` keyed by `key` (an order id),
    /// with the `event-type` and `content-type` headers of the event contract.
    pub fn event(topic: &str, key: &str, env: &Envelope) -> Self {
        let event_type = env
            .payload
            .as_ref()
            .map(|p| EventType::of(p).as_str())
            .unwrap_or("Unknown");
        Self {
            event_id: env.event_id.clone(),
            topic: topic.to_owned(),
            key: key.to_owned(),
            payload: env.encode_to_vec(),
            headers: vec![
                ("event-type".into(), event_type.into()),
                ("content-type".into(), CONTENT_TYPE.into()),
            ],
        }
    }
}

/// Writes `msg` inside the caller's transaction; it is published only if the
/// transaction commits.
pub async fn enqueue(tx: &mut Tx, msg: &OutboxMessage) -> sqlx::Result<()> {
    enqueue_all(tx, std::slice::from_ref(msg)).await
}

/// [`enqueue`] for many messages, in their order, in few statements.
pub async fn enqueue_all(tx: &mut Tx, msgs: &[OutboxMessage]) -> sqlx::Result<()> {
    let now = now_micros();
    for chunk in statement_runs(msgs, ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO outbox (event_id, topic, msg_key, payload, headers, created_at) VALUES {}",
            Params::on(tx).rows(chunk.len(), 6)
        );
        let mut q = sqlx::query(&sql);
        for msg in chunk {
            let headers = serde_json::to_string(&msg.headers).unwrap_or_else(|_| "[]".into());
            q = q
                .bind(&msg.event_id)
                .bind(&msg.topic)
                .bind(&msg.key)
                .bind(&msg.payload)
                .bind(headers)
                .bind(now);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Wakes the relay after a commit. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Waker {
    notify: Arc<Notify>,
}

impl Waker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Call after committing a transaction that enqueued events.
    pub fn wake(&self) {
        self.notify.notify_one();
    }
}

/// Publishes outbox rows.
pub struct Relay {
    db: Db,
    producer: FutureProducer,
    waker: Waker,
    /// Rows per round; bounded so that marks stay small transactions.
    batch: i64,
    /// Used in metric labels and logs.
    name: String,
    /// The broker has acknowledged every row up to this id.
    acked: AtomicI64,
    /// Rows up to this id are marked sent in the database.
    marked: AtomicI64,
    /// On PostgreSQL: the acknowledged ids not yet marked sent (marks name
    /// each id, see the module documentation).
    acked_ids: std::sync::Mutex<Vec<i64>>,
}

/// Longest time an acknowledged row stays unmarked.
pub const MARK_EVERY: Duration = Duration::from_millis(250);

/// How long the relay sleeps when nothing woke it; a safety net only.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// Batches per [`Relay::relay_once`] call on SQLite, so that marks and
/// wake-ups interleave (one on PostgreSQL, see there).
const ROUNDS: usize = 8;
/// How often the backlog gauge is refreshed.
const BACKLOG_EVERY: Duration = Duration::from_secs(5);
/// How often the PostgreSQL publisher checks that the session holding its
/// lock lives.
const LEADER_CHECK_EVERY: Duration = Duration::from_secs(2);
/// Sent rows are kept this long for inspection, then deleted.
const KEEP_SENT: Duration = Duration::from_secs(3600);

impl Relay {
    /// A relay whose producer sends each event at once.
    pub fn new(name: &str, db: Db, brokers: &str, waker: Waker) -> anyhow::Result<Self> {
        Self::with_linger(name, db, brokers, waker, Duration::ZERO)
    }

    /// A relay whose producer waits up to `linger` to gather events into one
    /// produce request: fewer, larger requests under load (and less broker
    /// CPU per event), at the cost of that wait for an event sent alone.
    pub fn with_linger(
        name: &str,
        db: Db,
        brokers: &str,
        waker: Waker,
        linger: Duration,
    ) -> anyhow::Result<Self> {
        let producer: FutureProducer = crate::kafka::producer_config(brokers)
            .set("linger.ms", (linger.as_secs_f64() * 1000.0).to_string())
            .create()
            .context("creating the outbox producer")?;
        Ok(Self {
            db,
            producer,
            waker,
            batch: 5000,
            name: name.to_owned(),
            acked: AtomicI64::new(0),
            marked: AtomicI64::new(0),
            acked_ids: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Publishes unsent rows in id order (up to [`ROUNDS`] batches); the
    /// acknowledged ones are marked sent by [`Relay::mark`]. Returns how many
    /// were published.
    ///
    /// On SQLite two batches are in flight at once: while the broker
    /// acknowledges one, the next is read (after the last id of the one
    /// before) and handed to the producer. Marks still happen in id order,
    /// each after its batch is fully acknowledged.
    ///
    /// On PostgreSQL a round is one batch. Ids are taken when rows are
    /// inserted, not when they commit, and concurrent transactions (two
    /// replicas, or a consumer beside the order committer) interleave
    /// them: one transaction may hold ids 1 and 4 while another commits 2
    /// and 3 first. A second batch read after id 3 would then send 4
    /// without 1, an OrderStatusChanged before its order's OrderPlaced.
    /// Each round instead reads every unsent row from the start, so a
    /// transaction's rows go out together and in id order.
    pub async fn relay_once(&self) -> anyhow::Result<usize> {
        let rounds = if self.deferred_marks() { ROUNDS } else { 1 };
        let mut after = if self.deferred_marks() {
            self.acked.load(Ordering::Acquire)
        } else {
            0
        };
        let mut in_flight: std::collections::VecDeque<Vec<(i64, DeliveryFuture)>> =
            std::collections::VecDeque::new();
        let mut sent = 0;
        for _ in 0..rounds {
            let batch = self.send_batch(after).await?;
            let Some(&(last, _)) = batch.last() else {
                break;
            };
            after = last;
            in_flight.push_back(batch);
            if in_flight.len() >= 2 {
                sent += self
                    .settle(in_flight.pop_front().unwrap_or_default())
                    .await?;
            }
        }
        while let Some(batch) = in_flight.pop_front() {
            sent += self.settle(batch).await?;
        }
        Ok(sent)
    }

    /// Reads the next unsent rows after id `after` and hands them to the
    /// producer in id order.
    async fn send_batch(&self, after: i64) -> anyhow::Result<Vec<(i64, DeliveryFuture)>> {
        let rows = sqlx::query(
            "SELECT id, topic, msg_key, payload, headers FROM outbox \
             WHERE sent_at IS NULL AND id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(self.batch)
        .fetch_all(self.db.reader())
        .await?;
        let mut pending = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.try_get("id")?;
            let topic: String = row.try_get("topic")?;
            let key: String = row.try_get("msg_key")?;
            let payload: Vec<u8> = row.try_get("payload")?;
            let headers_json: String = row.try_get("headers")?;
            let pairs: Vec<(String, String)> =
                serde_json::from_str(&headers_json).unwrap_or_default();
            let mut headers = OwnedHeaders::new_with_capacity(pairs.len());
            for (k, v) in &pairs {
                headers = headers.insert(Header {
                    key: k,
                    value: Some(v.as_bytes()),
                });
            }
            let mut record = FutureRecord::to(&topic)
                .key(&key)
                .payload(&payload)
                .headers(headers);
            // Enqueue in id order; on a full local queue, wait and retry the same record.
            let fut = loop {
                match self.producer.send_result(record) {
                    Ok(f) => break f,
                    Err((e, r)) => {
                        tracing::debug!(error = %e, "producer queue full, waiting");
                        record = r;
                        self.producer.poll(Duration::from_millis(10));
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
            };
            pending.push((id, fut));
        }
        Ok(pending)
    }

    /// Waits for a batch's acknowledgements in order and remembers the
    /// acknowledged prefix.
    async fn settle(&self, batch: Vec<(i64, DeliveryFuture)>) -> anyhow::Result<usize> {
        let mut acked_up_to = None;
        let mut acked_ids = Vec::new();
        let mut failure = None;
        let mut sent = 0;
        for (id, fut) in batch {
            match fut.await {
                Ok(Ok(_)) => {
                    acked_up_to = Some(id);
                    acked_ids.push(id);
                    sent += 1;
                }
                Ok(Err((e, _))) => {
                    failure = Some(anyhow::anyhow!("publishing outbox row {id}: {e}"));
                    break;
                }
                Err(_) => {
                    failure = Some(anyhow::anyhow!("the producer dropped outbox row {id}"));
                    break;
                }
            }
        }
        if !self.deferred_marks() {
            self.unmarked().extend(acked_ids);
        }
        if let Some(last) = acked_up_to {
            self.acked.fetch_max(last, Ordering::AcqRel);
            metrics::counter!("outbox_published_total", "relay" => self.name.clone())
                .increment(sent as u64);
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(sent),
        }
    }

    /// Whether marks may wait (see the module documentation).
    fn deferred_marks(&self) -> bool {
        matches!(self.db.backend(), Backend::Sqlite)
    }

    fn unmarked(&self) -> std::sync::MutexGuard<'_, Vec<i64>> {
        self.acked_ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether acknowledged rows wait for their mark.
    fn marks_pending(&self) -> bool {
        if self.deferred_marks() {
            self.acked.load(Ordering::Acquire) > self.marked.load(Ordering::Acquire)
        } else {
            !self.unmarked().is_empty()
        }
    }

    /// Marks the acknowledged rows sent in the database; returns false when
    /// there was nothing to mark.
    pub async fn mark(&self) -> anyhow::Result<bool> {
        if !self.deferred_marks() {
            return self.mark_ids().await;
        }
        let acked = self.acked.load(Ordering::Acquire);
        if acked <= self.marked.load(Ordering::Acquire) {
            return Ok(false);
        }
        sqlx::query("UPDATE outbox SET sent_at = $1 WHERE sent_at IS NULL AND id <= $2")
            .bind(now_micros())
            .bind(acked)
            .execute(self.db.writer())
            .await?;
        self.marked.fetch_max(acked, Ordering::AcqRel);
        Ok(true)
    }

    /// Marks exactly the acknowledged ids (PostgreSQL). Ids whose mark
    /// fails are kept for the next try.
    async fn mark_ids(&self) -> anyhow::Result<bool> {
        let ids = std::mem::take(&mut *self.unmarked());
        if ids.is_empty() {
            return Ok(false);
        }
        let now = now_micros();
        for (i, run) in statement_runs(&ids, ROWS_PER_INSERT).enumerate() {
            let mut params = Params::new(self.db.backend());
            let at = params.one();
            let sql = format!(
                "UPDATE outbox SET sent_at = {at} WHERE id IN ({})",
                params.list(run.len())
            );
            let mut q = sqlx::query(&sql).bind(now);
            for id in run {
                q = q.bind(*id);
            }
            if let Err(e) = q.execute(self.db.writer()).await {
                let done: usize = statement_runs(&ids, ROWS_PER_INSERT)
                    .take(i)
                    .map(<[i64]>::len)
                    .sum();
                self.unmarked().extend_from_slice(&ids[done..]);
                return Err(e.into());
            }
        }
        Ok(true)
    }

    /// Unsent rows, for the backlog gauge and tests.
    pub async fn backlog(&self) -> anyhow::Result<i64> {
        // On PostgreSQL an unsent row may sit below the acknowledged ones.
        let after = if self.deferred_marks() {
            self.acked.load(Ordering::Acquire)
        } else {
            0
        };
        let row = sqlx::query("SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL AND id > $1")
            .bind(after)
            .fetch_one(self.db.reader())
            .await?;
        Ok(row.try_get("n")?)
    }

    /// Runs until `shutdown`, then makes a last attempt to flush (bounded).
    pub async fn run(self, shutdown: Shutdown) {
        // With several replicas on one PostgreSQL database, one relay at a
        // time publishes, so rows keep their order.
        let mut leader = match self.db.backend() {
            Backend::Postgres => match self.lead(&shutdown).await {
                Some(conn) => Some(conn),
                None => return,
            },
            Backend::Sqlite => None,
        };
        let mut last_leader_check = tokio::time::Instant::now();
        let mut backoff = Duration::from_millis(50);
        let mut last_cleanup = tokio::time::Instant::now();
        let mut last_backlog = tokio::time::Instant::now() - BACKLOG_EVERY;
        let mut last_mark = tokio::time::Instant::now();
        loop {
            if shutdown.is_triggered() {
                break;
            }
            // The lock lives as long as its session: a session the server
            // dropped (this replica was cut off from it) no longer holds it,
            // and another replica may publish by now.
            if let Some(conn) = leader.as_mut()
                && last_leader_check.elapsed() >= LEADER_CHECK_EVERY
            {
                last_leader_check = tokio::time::Instant::now();
                if let Err(e) = sqlx::query("SELECT 1").execute(&mut **conn).await {
                    tracing::warn!(relay = %self.name, error = %e, "lost the session holding the publisher's lock; waiting to lead again");
                    if let Some(lost) = leader.take() {
                        drop(lost.detach());
                    }
                    match self.lead(&shutdown).await {
                        Some(conn) => leader = Some(conn),
                        None => break,
                    }
                }
            }
            let round = tokio::select! {
                r = self.relay_once() => r,
                _ = shutdown.cancelled() => break,
            };
            if round.is_ok()
                && self.marks_pending()
                && (!self.deferred_marks() || last_mark.elapsed() >= MARK_EVERY)
            {
                last_mark = tokio::time::Instant::now();
                if let Err(e) = self.mark().await {
                    tracing::warn!(relay = %self.name, error = %format!("{e:#}"), "marking outbox rows sent failed; retrying later");
                }
            }
            match round {
                Ok(n) if n > 0 => {
                    backoff = Duration::from_millis(50);
                    continue;
                }
                Ok(_) => {
                    backoff = Duration::from_millis(50);
                    // The gauge costs a COUNT(*); once per BACKLOG_EVERY, not per commit.
                    if last_backlog.elapsed() > BACKLOG_EVERY
                        && let Ok(n) = self.backlog().await
                    {
                        last_backlog = tokio::time::Instant::now();
                        metrics::gauge!("outbox_backlog", "relay" => self.name.clone())
                            .set(n as f64);
                    }
                    if last_cleanup.elapsed() > Duration::from_secs(60) {
                        last_cleanup = tokio::time::Instant::now();
                        let cutoff = now_micros() - KEEP_SENT.as_micros() as i64;
                        let _ = sqlx::query(
                            "DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < $1",
                        )
                        .bind(cutoff)
                        .execute(self.db.writer())
                        .await;
                    }
                    // Wake for new rows, or when the pending marks are due.
                    let wait = if self.marks_pending() {
                        MARK_EVERY.saturating_sub(last_mark.elapsed())
                    } else {
                        IDLE_POLL
                    };
                    tokio::select! {
                        _ = self.waker.notify.notified() => {}
                        _ = tokio::time::sleep(wait) => {}
                        _ = shutdown.cancelled() => break,
                    }
                }
                Err(e) => {
                    tracing::warn!(relay = %self.name, error = %format!("{e:#}"), retry_in = ?backoff, "outbox relay round failed");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.cancelled() => break,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
        // Drain: publish what was committed before shutdown, if the broker is there.
        let _ = tokio::time::timeout(Duration::from_secs(3), async {
            while let Ok(n) = self.relay_once().await {
                if n == 0 {
                    break;
                }
            }
            if let Err(e) = self.mark().await {
                tracing::warn!(relay = %self.name, error = %format!("{e:#}"), "marking outbox rows sent at shutdown failed; they will be sent again");
            }
        })
        .await;
        let _ = self.producer.flush(Duration::from_secs(1));
    }

    /// Waits for the PostgreSQL advisory lock that makes this relay the
    /// publisher; returns the connection holding it.
    async fn lead(&self, shutdown: &Shutdown) -> Option<sqlx::pool::PoolConnection<sqlx::Any>> {
        loop {
            if let Ok(mut conn) = self.db.writer().acquire().await {
                // Keyed by schema: each service's outbox has its own publisher,
                // also when several services share one database.
                let got: Result<bool, _> = sqlx::query(
                    "SELECT pg_try_advisory_lock(hashtext(current_database() || '.' || current_schema() || '.outbox')) AS ok",
                )
                    .fetch_one(&mut *conn)
                    .await
                    .and_then(|r| r.try_get::<bool, _>("ok"));
                if let Ok(true) = got {
                    return Some(conn);
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                _ = shutdown.cancelled() => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use food_events::{Payload, decode, new_envelope};
    use food_proto::events::v1::OrderCancelled;

    use super::*;

    #[test]
    fn an_event_row_carries_its_key_headers_and_envelope() {
        let env = new_envelope(
            "trace-1",
            Payload::OrderCancelled(OrderCancelled {
                order_id: "o1".into(),
                customer_id: "c1".into(),
                reason: None,
            }),
        );
        let msg = OutboxMessage::event("food.orders.v1", "o1", &env);
        assert_eq!(msg.key, "o1");
        assert_eq!(
            msg.headers,
            [
                ("event-type".to_owned(), "OrderCancelled".to_owned()),
                ("content-type".to_owned(), CONTENT_TYPE.to_owned()),
            ]
        );
        let back = decode(&msg.payload).unwrap();
        assert_eq!(back, env);
        assert_eq!(back.trace_id, "trace-1");
    }
}
