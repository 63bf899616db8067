//! The idempotent consumer.
//!
//! Each event is applied in one transaction that also records its event id
//! in `processed_events`; a redelivered event finds its id there and changes
//! nothing. The record's offset is stored only after that commit (and
//! librdkafka commits stored offsets), so a crash replays, never skips.
//! [`handle`] is the single step that the run loop and the tests both call.

use std::{future::Future, time::Duration};

use food_events::{Envelope, decode};
use rdkafka::{
    Message,
    consumer::{CommitMode, Consumer, StreamConsumer},
};
use sqlx::Row;

use crate::{
    Db, Shutdown, Tx,
    db::{Params, ROWS_PER_INSERT, now_micros},
};

/// What a handler did with an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The state changed.
    Applied,
    /// Not for this consumer, or nothing to do; still recorded as processed.
    Ignored,
}

/// What [`handle`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Handled {
    Applied,
    Ignored,
    /// Seen before; nothing changed.
    Duplicate,
}

/// A consumer's domain logic. `apply` runs inside the transaction that also
/// records the event id; an `Err` rolls both back and the event is retried.
pub trait Handler: Send + Sync + 'static {
    /// Names the consumer in `processed_events`.
    fn name(&self) -> &str;

    fn apply<'a>(
        &'a self,
        tx: &'a mut Tx,
        env: &'a Envelope,
    ) -> impl Future<Output = anyhow::Result<Outcome>> + Send + 'a;

    /// Applies a batch in order, inside one transaction; one outcome per
    /// event. The default runs [`Handler::apply`] for each; a handler may
    /// read and write the whole batch in a few statements instead.
    fn apply_all<'a>(
        &'a self,
        tx: &'a mut Tx,
        envs: &'a [&'a Envelope],
    ) -> impl Future<Output = anyhow::Result<Vec<Outcome>>> + Send + 'a {
        async move {
            let mut out = Vec::with_capacity(envs.len());
            for env in envs {
                out.push(self.apply(tx, env).await?);
            }
            Ok(out)
        }
    }

    /// Called after a commit that applied an event (to wake an outbox relay, say).
    fn committed(&self) {}
}

/// Applies `env` once: records its id and runs the handler in one transaction.
pub async fn handle<H: Handler>(db: &Db, handler: &H, env: &Envelope) -> anyhow::Result<Handled> {
    let mut tx = db.begin().await?;
    let fresh = sqlx::query(
        "INSERT INTO processed_events (consumer, event_id, processed_at) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(handler.name())
    .bind(&env.event_id)
    .bind(now_micros())
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !fresh {
        tx.rollback().await?;
        return Ok(Handled::Duplicate);
    }
    let outcome = handler.apply(&mut tx, env).await?;
    tx.commit().await?;
    match outcome {
        Outcome::Applied => {
            handler.committed();
            Ok(Handled::Applied)
        }
        Outcome::Ignored => Ok(Handled::Ignored),
    }
}

/// Most events applied in one transaction.
pub const MAX_BATCH: usize = 1024;

/// Applies `envs` in one transaction (one commit for the lot), each still
/// recorded by id so that duplicates, within the batch or from earlier, are
/// skipped. If any event fails, the batch is rolled back and applied one
/// event per transaction, so that the error belongs to one event.
pub async fn handle_batch<H: Handler>(
    db: &Db,
    handler: &H,
    envs: &[Envelope],
) -> anyhow::Result<Vec<Handled>> {
    if envs.len() <= 1 {
        let mut out = Vec::new();
        for env in envs {
            out.push(handle(db, handler, env).await?);
        }
        return Ok(out);
    }
    let mut tx = db.begin().await?;
    // A statement per run of rows records every event id; those it did not
    // insert were seen before (or earlier in this batch).
    let mut fresh = std::collections::HashSet::new();
    let at = now_micros();
    for chunk in crate::db::statement_runs(envs, ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO processed_events (consumer, event_id, processed_at) VALUES {} \
             ON CONFLICT DO NOTHING RETURNING event_id",
            Params::on(&tx).rows(chunk.len(), 3)
        );
        let mut q = sqlx::query(&sql);
        for env in chunk {
            q = q.bind(handler.name()).bind(&env.event_id).bind(at);
        }
        for row in q.fetch_all(&mut *tx).await? {
            fresh.insert(row.try_get::<String, _>("event_id")?);
        }
    }
    // `remove`: a second copy of an event in the batch is a duplicate.
    let fresh_at: Vec<usize> = (0..envs.len())
        .filter(|&i| fresh.remove(&envs[i].event_id))
        .collect();
    let fresh: Vec<&Envelope> = fresh_at.iter().map(|&i| &envs[i]).collect();
    let outcomes = match handler.apply_all(&mut tx, &fresh).await {
        Ok(o) if o.len() == fresh.len() => o,
        Ok(_) => anyhow::bail!(
            "{}: apply_all must give one outcome per event",
            handler.name()
        ),
        Err(e) => {
            tracing::debug!(error = %format!("{e:#}"), "batch failed; applying one by one");
            tx.rollback().await?;
            let mut out = Vec::with_capacity(envs.len());
            for env in envs {
                out.push(handle(db, handler, env).await?);
            }
            return Ok(out);
        }
    };
    let applied = outcomes.contains(&Outcome::Applied);
    let mut out = vec![Handled::Duplicate; envs.len()];
    for (i, outcome) in fresh_at.into_iter().zip(outcomes) {
        out[i] = match outcome {
            Outcome::Applied => Handled::Applied,
            Outcome::Ignored => Handled::Ignored,
        };
    }
    tx.commit().await?;
    if applied {
        handler.committed();
    }
    Ok(out)
}

/// Consumes until shutdown: takes what has arrived (up to [`MAX_BATCH`]
/// records), applies it with [`handle_batch`], retries with backoff while
/// that fails, and stores the offsets only after the commit. A batch starts
/// at least `batch_interval` after the previous one started when that one
/// held events of two keys or more: under load, what arrives meanwhile makes the
/// next batch larger instead of each arrival making a transaction of its
/// own. After a batch of one key's events the next starts at once, so an
/// order placed now and then is not held back; after a full batch too, so the
/// interval never caps the rate.
pub async fn run<H: Handler>(
    consumer: StreamConsumer,
    db: Db,
    handler: H,
    batch_interval: Duration,
    shutdown: Shutdown,
) {
    use futures::FutureExt;
    // Shared with the lag probe, which runs on a blocking thread.
    let consumer = std::sync::Arc::new(consumer);
    let name = handler.name().to_owned();
    let mut lag_every = tokio::time::interval(Duration::from_secs(5));
    // The running probe, if any: `close` waits for it, since it holds the
    // consumer, which must be closed before this returns.
    let mut probe: Option<tokio::task::JoinHandle<()>> = None;
    'consume: loop {
        let first = tokio::select! {
            m = consumer.recv() => m,
            _ = lag_every.tick() => {
                if probe.as_ref().is_none_or(|p| p.is_finished()) {
                    let (c, n) = (consumer.clone(), name.clone());
                    probe = Some(tokio::task::spawn_blocking(move || record_lag(&c, &n)));
                }
                continue;
            }
            _ = shutdown.cancelled() => break,
        };
        let first = match first {
            Ok(m) => m,
            // While the broker is away librdkafka queues an error event per
            // failed attempt, and they wait here behind one another: pausing
            // on each one held the first event after the broker's return
            // back by up to 15.6 s after a 20 s outage. librdkafka's own
            // reconnect backoff paces them, so they are taken at once.
            Err(e) => {
                tracing::warn!(consumer = %name, error = %e, "kafka consumer error");
                tokio::task::yield_now().await;
                continue;
            }
        };
        let batch_started = tokio::time::Instant::now();
        let mut msgs = vec![first];
        while msgs.len() < MAX_BATCH {
            match consumer.recv().now_or_never() {
                Some(Ok(m)) => msgs.push(m),
                _ => break,
            }
        }
        let mut envs = Vec::with_capacity(msgs.len());
        for m in &msgs {
            match m.payload().map(decode) {
                Some(Ok(env)) => envs.push(env),
                Some(Err(e)) => {
                    tracing::error!(consumer = %name, topic = m.topic(), offset = m.offset(), error = %e, "skipping an undecodable event");
                }
                None => {}
            }
        }
        let mut backoff = Duration::from_millis(50);
        loop {
            match handle_batch(&db, &handler, &envs).await {
                Ok(outcomes) => {
                    metrics::counter!("events_consumer_batches_total", "consumer" => name.clone())
                        .increment(1);
                    for (env, outcome) in envs.iter().zip(&outcomes) {
                        metrics::counter!("events_consumed_total", "consumer" => name.clone(), "outcome" => format!("{outcome:?}")).increment(1);
                        tracing::debug!(consumer = %name, event_id = %env.event_id, trace_id = %env.trace_id, ?outcome, "event handled");
                    }
                    break;
                }
                Err(e) => {
                    tracing::warn!(consumer = %name, events = envs.len(), error = %format!("{e:#}"), retry_in = ?backoff, "applying events failed");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        // Not stored: the events are replayed after restart.
                        _ = shutdown.cancelled() => break 'consume,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
        for m in &msgs {
            if let Err(e) = consumer.store_offset_from_message(m) {
                tracing::warn!(consumer = %name, error = %e, "storing an offset failed");
            }
        }
        // Wait only while events come faster than one order per batch. A
        // batch of one key's events (an order placed after a quiet spell,
        // with the status change that follows it at once) does not hold back
        // the next order; a full batch means more is waiting, and waiting
        // would only cap the rate.
        if msgs.len() >= MAX_BATCH || !several_keys(&msgs) {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(batch_started + batch_interval) => {}
            _ = shutdown.cancelled() => break,
        }
    }
    close(consumer, probe, &name).await;
}

/// Whether `msgs` carry more than one key (events of more than one order).
fn several_keys(msgs: &[rdkafka::message::BorrowedMessage<'_>]) -> bool {
    let first = msgs.first().and_then(|m| m.key());
    msgs.iter().any(|m| m.key() != first)
}

/// Commits stored offsets and leaves the group, without letting a broker
/// that is already gone hang the shutdown (a missed commit only replays
/// events, which the processed-events table turns into no-ops). A lag probe
/// still running holds the consumer too, so it is waited for first:
/// otherwise the consumer outlived this call, and a broker stopped next (as
/// `food-stack` does) left it logging errors about a broker that is gone.
async fn close(
    consumer: std::sync::Arc<StreamConsumer>,
    probe: Option<tokio::task::JoinHandle<()>>,
    name: &str,
) {
    let name = name.to_owned();
    let closing = async move {
        if let Some(probe) = probe {
            let _ = probe.await;
        }
        let _ = tokio::task::spawn_blocking(move || {
            if let Err(e) = consumer.commit_consumer_state(CommitMode::Sync) {
                tracing::debug!(consumer = %name, error = %e, "final offset commit");
            }
            consumer.unsubscribe();
            drop(consumer);
        })
        .await;
    };
    if tokio::time::timeout(Duration::from_secs(5), closing)
        .await
        .is_err()
    {
        tracing::warn!("the Kafka consumer did not close within 5 s; leaving it behind");
    }
}

/// `kafka_consumer_lag{consumer}`: records behind the high watermark, summed
/// over the assigned partitions.
fn record_lag(consumer: &StreamConsumer, name: &str) {
    let Ok(position) = consumer.position() else {
        return;
    };
    let mut lag = 0i64;
    for e in position.elements() {
        let Ok((_, high)) =
            consumer.fetch_watermarks(e.topic(), e.partition(), Duration::from_secs(1))
        else {
            continue;
        };
        if let rdkafka::Offset::Offset(at) = e.offset() {
            lag += (high - at).max(0);
        }
    }
    metrics::gauge!("kafka_consumer_lag", "consumer" => name.to_owned()).set(lag as f64);
}
