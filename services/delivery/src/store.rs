//! SQL for deliveries. Every change goes through [`change`], which writes the
//! row, a history entry and the DeliveryStatusChanged outbox row in the
//! caller's transaction.

use std::{collections::HashSet, sync::LazyLock};

use chrono::{DateTime, Utc};
use food_api::{Delivery, DeliveryStatus, HistoryEntry};
use food_events::{Payload, new_envelope, topics::Topics};
use food_kit::{
    Db, Tx,
    db::{
        Backend, Params, ROWS_PER_INSERT, micros_to_datetime, now_micros, parse_column,
        statement_runs,
    },
    outbox::{OutboxMessage, enqueue, enqueue_all},
    page::{Keyset, Page},
};
use food_proto::{delivery::v1 as pd, events::v1::DeliveryStatusChanged};
use sqlx::{Row, any::AnyRow};

const COLUMNS: &str = "order_id, customer_id, item_count, total_cents, currency, delivery_address, \
                       status, courier, eta, version, created_at, updated_at, \
                       restaurant_id, restaurant_name, pickup_address";

/// A delivery row; the restaurant columns are NULL on deliveries made before
/// restaurants existed, read as `None`.
fn from_row(row: &AnyRow) -> sqlx::Result<Delivery> {
    let item_count: i64 = row.try_get("item_count")?;
    let version: i64 = row.try_get("version")?;
    let eta: Option<i64> = row.try_get("eta")?;
    Ok(Delivery {
        order_id: row.try_get("order_id")?,
        customer_id: row.try_get("customer_id")?,
        restaurant_id: row.try_get("restaurant_id")?,
        restaurant_name: row.try_get("restaurant_name")?,
        pickup_address: row.try_get("pickup_address")?,
        // TODO(couriers): the courier's name.
        courier_name: None,
        item_count: item_count as u32,
        total_cents: row.try_get("total_cents")?,
        currency: row.try_get("currency")?,
        delivery_address: row.try_get("delivery_address")?,
        status: parse_column(row, "status")?,
        courier: row.try_get("courier")?,
        eta: eta.map(micros_to_datetime),
        version: version as u64,
        created_at: micros_to_datetime(row.try_get("created_at")?),
        updated_at: micros_to_datetime(row.try_get("updated_at")?),
        history: Vec::new(),
    })
}

async fn attach_history<'e, E>(
    exec: E,
    backend: Backend,
    deliveries: &mut [Delivery],
) -> sqlx::Result<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    if deliveries.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "SELECT order_id, {HISTORY_COLUMNS} FROM delivery_history h \
         WHERE order_id IN ({}) ORDER BY order_id, version",
        Params::new(backend).list(deliveries.len())
    );
    let mut q = sqlx::query(&sql);
    for d in deliveries.iter() {
        q = q.bind(d.order_id.clone());
    }
    for row in q.fetch_all(exec).await? {
        let order_id: String = row.try_get("order_id")?;
        if let Some(d) = deliveries.iter_mut().find(|d| d.order_id == order_id) {
            d.history.push(history_from_row(&row)?);
        }
    }
    Ok(())
}

/// A history entry's columns of `delivery_history h`, named apart from the
/// delivery's own.
const HISTORY_COLUMNS: &str =
    "h.status AS h_status, h.at AS h_at, h.note AS h_note, h.courier AS h_courier";

fn history_from_row(row: &AnyRow) -> sqlx::Result<HistoryEntry> {
    Ok(HistoryEntry {
        status: parse_column(row, "h_status")?,
        at: micros_to_datetime(row.try_get("h_at")?),
        note: row.try_get("h_note")?,
        courier: row.try_get("h_courier")?,
    })
}

/// One delivery with its history, in one statement: a row per history
/// entry, each repeating the delivery's columns.
async fn one<'e, E>(exec: E, order_id: &str) -> sqlx::Result<Option<Delivery>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {}, {HISTORY_COLUMNS} FROM deliveries d \
             LEFT JOIN delivery_history h ON h.order_id = d.order_id \
             WHERE d.order_id = $1 ORDER BY h.version",
            COLUMNS
                .split(", ")
                .map(|c| format!("d.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    let rows = sqlx::query(SQL.as_str())
        .bind(order_id)
        .fetch_all(exec)
        .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let mut delivery = from_row(first)?;
    for row in &rows {
        if row.try_get::<Option<String>, _>("h_status")?.is_some() {
            delivery.history.push(history_from_row(row)?);
        }
    }
    Ok(Some(delivery))
}

pub async fn get(db: &Db, order_id: &str) -> sqlx::Result<Option<Delivery>> {
    one(db.reader(), order_id).await
}

pub async fn get_in_tx(tx: &mut Tx, order_id: &str) -> sqlx::Result<Option<Delivery>> {
    one(&mut **tx, order_id).await
}

/// Newest first (order ids are UUIDv7), one page of `page`.
pub async fn list(
    db: &Db,
    status: Option<DeliveryStatus>,
    customer_id: Option<&str>,
    restaurant_id: Option<&str>,
    page: &Keyset,
) -> sqlx::Result<Page<Delivery>> {
    static SELECT: LazyLock<String> = LazyLock::new(|| format!("SELECT {COLUMNS} FROM deliveries"));
    let filters = [
        ("status", status.map(DeliveryStatus::as_str)),
        ("customer_id", customer_id),
        ("restaurant_id", restaurant_id),
    ];
    let mut page = page
        .newest_first(db, &SELECT, "order_id", &filters, from_row)
        .await?;
    attach_history(db.reader(), db.backend(), &mut page.items).await?;
    Ok(page)
}

/// Inserts a new PENDING delivery (version 1) for each order that has none,
/// with its first history entry and its DeliveryStatusChanged event, in
/// three multi-row statements per run of orders ([`statement_runs`]). Returns,
/// for each of `orders` in turn, the delivery when it was created; an order
/// that already has one (or appears earlier in `orders`) gets `None`.
pub async fn create_many(
    tx: &mut Tx,
    topics: &Topics,
    orders: &[(&str, &food_proto::order::v1::Order)],
) -> sqlx::Result<Vec<Option<Delivery>>> {
    let now = now_micros();
    let at = micros_to_datetime(now);
    let mut out = Vec::with_capacity(orders.len());
    for chunk in statement_runs(orders, ROWS_PER_INSERT) {
        // What a read of each new row returns, built instead of read back.
        let new: Vec<(&str, Delivery)> = chunk
            .iter()
            .map(|(trace_id, order)| (*trace_id, pending(order, at)))
            .collect();
        let sql = format!(
            "INSERT INTO deliveries ({COLUMNS}) VALUES {} ON CONFLICT (order_id) DO NOTHING RETURNING order_id",
            Params::on(tx).rows(new.len(), 15)
        );
        let mut q = sqlx::query(&sql);
        for (_, d) in &new {
            q = q
                .bind(&d.order_id)
                .bind(&d.customer_id)
                .bind(i64::from(d.item_count))
                .bind(d.total_cents)
                .bind(&d.currency)
                .bind(&d.delivery_address)
                .bind(d.status.as_str())
                .bind(None::<&str>)
                .bind(None::<i64>)
                .bind(d.version as i64)
                .bind(now)
                .bind(now)
                .bind(d.restaurant_id.as_deref())
                .bind(d.restaurant_name.as_deref())
                .bind(d.pickup_address.as_deref());
        }
        let mut inserted: HashSet<String> = q
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|row| row.try_get("order_id"))
            .collect::<sqlx::Result<_>>()?;
        let created: Vec<(&str, Delivery)> = new
            .into_iter()
            .filter(|(_, d)| inserted.remove(&d.order_id))
            .collect();
        let history: Vec<HistoryRow<'_>> = created
            .iter()
            .map(|(_, d)| HistoryRow {
                order_id: &d.order_id,
                version: d.version as i64,
                status: d.status,
                at: now,
                note: Some(CREATED_NOTE),
                courier: None,
            })
            .collect();
        insert_history(tx, &history).await?;
        let events: Vec<OutboxMessage> = created
            .iter()
            .map(|(trace_id, d)| event(topics, trace_id, d, DeliveryStatus::Pending))
            .collect();
        enqueue_all(tx, &events).await?;
        let mut created = created.into_iter().peekable();
        for (_, order) in chunk {
            out.push(
                created
                    .next_if(|(_, d)| d.order_id == order.id)
                    .map(|(_, d)| d),
            );
        }
    }
    Ok(out)
}

/// The note of a delivery's first history entry.
const CREATED_NOTE: &str = "order placed";

/// A new delivery of `order`: PENDING, version 1, its one history entry at `at`.
fn pending(order: &food_proto::order::v1::Order, at: DateTime<Utc>) -> Delivery {
    Delivery {
        order_id: order.id.clone(),
        customer_id: order.customer_id.clone(),
        restaurant_id: order.restaurant_id.clone(),
        restaurant_name: order.restaurant_name.clone(),
        pickup_address: order.pickup_address.clone(),
        courier_name: None,
        item_count: order.items.iter().map(|l| l.quantity).sum(),
        total_cents: order.total_cents,
        currency: order.currency.clone(),
        delivery_address: order.delivery_address.clone(),
        status: DeliveryStatus::Pending,
        courier: None,
        eta: None,
        version: 1,
        created_at: at,
        updated_at: at,
        history: vec![HistoryEntry {
            status: DeliveryStatus::Pending,
            at,
            note: Some(CREATED_NOTE.to_owned()),
            courier: None,
        }],
    }
}

/// A validated change to apply.
#[derive(Debug)]
pub struct Change<'a> {
    pub to: DeliveryStatus,
    pub courier: Option<&'a str>,
    pub eta: Option<DateTime<Utc>>,
    pub note: Option<&'a str>,
}

/// Applies `change` to `current` (already checked against the state
/// machine), bumping the version; returns the updated delivery. `current`
/// is the delivery as read in this transaction, with its history
/// ([`get_in_tx`]): the result is built from it and what was written, not
/// read back, like [`create_many`]'s.
pub async fn change(
    tx: &mut Tx,
    topics: &Topics,
    trace_id: &str,
    current: &Delivery,
    change: Change<'_>,
) -> sqlx::Result<Delivery> {
    let now = now_micros();
    let version = current.version as i64 + 1;
    let courier = change
        .courier
        .map(str::to_owned)
        .or_else(|| current.courier.clone());
    let eta = change.eta.or(current.eta).map(|t| t.timestamp_micros());
    let updated = sqlx::query(
        "UPDATE deliveries SET status = $1, courier = $2, eta = $3, version = $4, updated_at = $5 \
         WHERE order_id = $6 AND version = $7",
    )
    .bind(change.to.as_str())
    .bind(courier.as_deref())
    .bind(eta)
    .bind(version)
    .bind(now)
    .bind(&current.order_id)
    .bind(current.version as i64)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if updated != 1 {
        // Another replica changed it first; the caller's transaction is void.
        return Err(sqlx::Error::RowNotFound);
    }
    insert_history(
        tx,
        &[HistoryRow {
            order_id: &current.order_id,
            version,
            status: change.to,
            at: now,
            note: change.note,
            courier: courier.as_deref(),
        }],
    )
    .await?;
    let at = micros_to_datetime(now);
    let mut delivery = current.clone();
    delivery.status = change.to;
    delivery.eta = eta.map(micros_to_datetime);
    delivery.version = version as u64;
    delivery.updated_at = at;
    delivery.history.push(HistoryEntry {
        status: change.to,
        at,
        note: change.note.map(str::to_owned),
        courier: courier.clone(),
    });
    delivery.courier = courier;
    announce(tx, topics, trace_id, &delivery, current.status).await?;
    Ok(delivery)
}

/// One row of `delivery_history`.
struct HistoryRow<'a> {
    order_id: &'a str,
    version: i64,
    status: DeliveryStatus,
    /// Microseconds since the epoch.
    at: i64,
    note: Option<&'a str>,
    courier: Option<&'a str>,
}

/// Inserts `rows` in few statements (see [`statement_runs`]).
async fn insert_history(tx: &mut Tx, rows: &[HistoryRow<'_>]) -> sqlx::Result<()> {
    for run in statement_runs(rows, ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO delivery_history (order_id, version, status, at, note, courier) VALUES {}",
            Params::on(tx).rows(run.len(), 6)
        );
        let mut q = sqlx::query(&sql);
        for r in run {
            q = q
                .bind(r.order_id)
                .bind(r.version)
                .bind(r.status.as_str())
                .bind(r.at)
                .bind(r.note)
                .bind(r.courier);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

async fn announce(
    tx: &mut Tx,
    topics: &Topics,
    trace_id: &str,
    delivery: &Delivery,
    previous: DeliveryStatus,
) -> sqlx::Result<()> {
    enqueue(tx, &event(topics, trace_id, delivery, previous)).await
}

/// The DeliveryStatusChanged outbox row announcing `delivery`.
fn event(
    topics: &Topics,
    trace_id: &str,
    delivery: &Delivery,
    previous: DeliveryStatus,
) -> OutboxMessage {
    let env = new_envelope(
        trace_id,
        Payload::DeliveryStatusChanged(DeliveryStatusChanged {
            delivery: Some(delivery.clone().into()),
            previous: pd::DeliveryStatus::from(previous) as i32,
        }),
    );
    OutboxMessage::event(&topics.deliveries, &delivery.order_id, &env)
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    /// A data dir written by release 0.1.0, before restaurants
    /// (services/stack/tests/fixtures/data-dir-0.1.0/README.md).
    fn fixture(file: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../stack/tests/fixtures/data-dir-0.1.0")
            .join(file)
    }

    #[tokio::test]
    async fn deliveries_from_before_restaurants_read_with_no_restaurant_after_the_migrations() {
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("delivery.db");
        std::fs::copy(fixture("delivery.db"), &copy).expect("the 0.1.0 fixture's delivery.db");
        let url = format!("sqlite://{}", copy.display());

        let db = Db::connect(&url, &crate::MIGRATIONS).await.unwrap();
        let all = list(&db, None, None, None, &Keyset::first(100))
            .await
            .unwrap()
            .items;
        let by_restaurant = list(
            &db,
            None,
            None,
            Some("trattoria-da-luca"),
            &Keyset::first(100),
        )
        .await
        .unwrap()
        .items;

        let seen: Vec<(DeliveryStatus, u64, Option<&str>, usize)> = all
            .iter()
            .map(|d| (d.status, d.version, d.courier.as_deref(), d.history.len()))
            .collect();
        assert_eq!(
            seen,
            [
                (DeliveryStatus::PickedUp, 3, Some("sam"), 3),
                (DeliveryStatus::Cancelled, 2, None, 2),
                (DeliveryStatus::Pending, 1, None, 1),
            ],
            "the three deliveries, newest first, with their history"
        );
        for d in &all {
            assert_eq!(d.customer_id, "cust-ada");
            assert_eq!(
                (&d.restaurant_id, &d.restaurant_name, &d.pickup_address),
                (&None, &None, &None),
                "{}",
                d.order_id
            );
            assert_eq!(get(&db, &d.order_id).await.unwrap().as_ref(), Some(d));
        }
        assert!(by_restaurant.is_empty(), "{by_restaurant:?}");

        // An old delivery still moves, and its event says it has no restaurant.
        let topics = Topics::with_prefix("");
        let mut tx = db.begin().await.unwrap();
        let pending = get_in_tx(&mut tx, &all[2].order_id).await.unwrap().unwrap();
        let moved = change(
            &mut tx,
            &topics,
            "trace",
            &pending,
            Change {
                to: DeliveryStatus::Assigned,
                courier: Some("sam"),
                eta: None,
                note: None,
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(moved.restaurant_id, None);
        assert_eq!(get(&db, &moved.order_id).await.unwrap(), Some(moved));
        db.close().await;
    }
}
