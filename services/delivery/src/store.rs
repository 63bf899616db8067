//! SQL for deliveries. Every change goes through [`change`], which writes the
//! row, a history entry and the DeliveryStatusChanged outbox row in the
//! caller's transaction.

use chrono::{DateTime, Utc};
use food_api::{Delivery, DeliveryStatus, HistoryEntry};
use food_events::{Payload, new_envelope, to_outbox, topics::Topics};
use food_kit::{
    Db, Tx,
    db::{micros_to_datetime, now_micros},
    outbox::enqueue,
};
use food_proto::{delivery::v1 as pd, events::v1::DeliveryStatusChanged};
use sqlx::{Row, any::AnyRow};

const COLUMNS: &str = "order_id, customer_id, item_count, total_cents, currency, delivery_address, \
                       status, courier, eta, version, created_at, updated_at";

fn from_row(row: &AnyRow) -> sqlx::Result<Delivery> {
    let status: String = row.try_get("status")?;
    let item_count: i64 = row.try_get("item_count")?;
    let version: i64 = row.try_get("version")?;
    let eta: Option<i64> = row.try_get("eta")?;
    Ok(Delivery {
        order_id: row.try_get("order_id")?,
        customer_id: row.try_get("customer_id")?,
        item_count: item_count as u32,
        total_cents: row.try_get("total_cents")?,
        currency: row.try_get("currency")?,
        delivery_address: row.try_get("delivery_address")?,
        status: status.parse().unwrap_or(DeliveryStatus::Pending),
        courier: row.try_get("courier")?,
        eta: eta.map(micros_to_datetime),
        version: version as u64,
        created_at: micros_to_datetime(row.try_get("created_at")?),
        updated_at: micros_to_datetime(row.try_get("updated_at")?),
        history: Vec::new(),
    })
}

async fn attach_history<'e, E>(exec: E, deliveries: &mut [Delivery]) -> sqlx::Result<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    if deliveries.is_empty() {
        return Ok(());
    }
    let placeholders: Vec<String> = (1..=deliveries.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT order_id, status, at, note, courier FROM delivery_history \
         WHERE order_id IN ({}) ORDER BY order_id, version",
        placeholders.join(", ")
    );
    let mut q = sqlx::query(&sql);
    for d in deliveries.iter() {
        q = q.bind(d.order_id.clone());
    }
    for row in q.fetch_all(exec).await? {
        let order_id: String = row.try_get("order_id")?;
        if let Some(d) = deliveries.iter_mut().find(|d| d.order_id == order_id) {
            let status: String = row.try_get("status")?;
            d.history.push(HistoryEntry {
                status: status.parse().unwrap_or(DeliveryStatus::Pending),
                at: micros_to_datetime(row.try_get("at")?),
                note: row.try_get("note")?,
                courier: row.try_get("courier")?,
            });
        }
    }
    Ok(())
}

pub async fn get(db: &Db, order_id: &str) -> sqlx::Result<Option<Delivery>> {
    let sql = format!("SELECT {COLUMNS} FROM deliveries WHERE order_id = $1");
    let Some(row) = sqlx::query(&sql)
        .bind(order_id)
        .fetch_optional(db.reader())
        .await?
    else {
        return Ok(None);
    };
    let mut v = vec![from_row(&row)?];
    attach_history(db.reader(), &mut v).await?;
    Ok(v.pop())
}

pub async fn get_in_tx(tx: &mut Tx, order_id: &str) -> sqlx::Result<Option<Delivery>> {
    let sql = format!("SELECT {COLUMNS} FROM deliveries WHERE order_id = $1");
    let Some(row) = sqlx::query(&sql)
        .bind(order_id)
        .fetch_optional(&mut **tx)
        .await?
    else {
        return Ok(None);
    };
    let mut v = vec![from_row(&row)?];
    attach_history(&mut **tx, &mut v).await?;
    Ok(v.pop())
}

/// Newest first (order ids are UUIDv7); `cursor` is the last id of the previous page.
pub async fn list(
    db: &Db,
    status: Option<DeliveryStatus>,
    customer_id: Option<&str>,
    cursor: Option<&str>,
    limit: u32,
) -> sqlx::Result<(Vec<Delivery>, Option<String>)> {
    let mut sql = format!("SELECT {COLUMNS} FROM deliveries WHERE 1 = 1");
    let mut n = 0;
    let mut next = || {
        n += 1;
        format!("${n}")
    };
    if status.is_some() {
        sql.push_str(&format!(" AND status = {}", next()));
    }
    if customer_id.is_some() {
        sql.push_str(&format!(" AND customer_id = {}", next()));
    }
    if cursor.is_some() {
        sql.push_str(&format!(" AND order_id < {}", next()));
    }
    sql.push_str(&format!(" ORDER BY order_id DESC LIMIT {}", next()));
    let mut q = sqlx::query(&sql);
    if let Some(s) = status {
        q = q.bind(s.as_str());
    }
    if let Some(c) = customer_id {
        q = q.bind(c.to_owned());
    }
    if let Some(c) = cursor {
        q = q.bind(c.to_owned());
    }
    q = q.bind(i64::from(limit) + 1);
    let rows = q.fetch_all(db.reader()).await?;
    let mut out = rows
        .iter()
        .map(from_row)
        .collect::<sqlx::Result<Vec<_>>>()?;
    let next_cursor = if out.len() > limit as usize {
        out.truncate(limit as usize);
        out.last().map(|d| d.order_id.clone())
    } else {
        None
    };
    attach_history(db.reader(), &mut out).await?;
    Ok((out, next_cursor))
}

/// Inserts a new PENDING delivery (version 1) unless the order has one.
/// Returns the delivery when it was created.
pub async fn create(
    tx: &mut Tx,
    topics: &Topics,
    trace_id: &str,
    order: &food_proto::order::v1::Order,
) -> sqlx::Result<Option<Delivery>> {
    let now = now_micros();
    let item_count: u32 = order.items.iter().map(|l| l.quantity).sum();
    let inserted = sqlx::query(
        "INSERT INTO deliveries (order_id, customer_id, item_count, total_cents, currency, delivery_address, \
         status, courier, eta, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, 1, $8, $8) ON CONFLICT (order_id) DO NOTHING",
    )
    .bind(&order.id)
    .bind(&order.customer_id)
    .bind(i64::from(item_count))
    .bind(order.total_cents)
    .bind(&order.currency)
    .bind(&order.delivery_address)
    .bind(DeliveryStatus::Pending.as_str())
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(None);
    }
    insert_history(
        tx,
        &order.id,
        1,
        DeliveryStatus::Pending,
        now,
        Some("order placed"),
        None,
    )
    .await?;
    let delivery = get_in_tx(tx, &order.id).await?.expect("just inserted");
    announce(tx, topics, trace_id, &delivery, DeliveryStatus::Pending).await?;
    Ok(Some(delivery))
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
/// machine), bumping the version; returns the updated delivery.
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
        &current.order_id,
        version,
        change.to,
        now,
        change.note,
        courier.as_deref(),
    )
    .await?;
    let delivery = get_in_tx(tx, &current.order_id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    announce(tx, topics, trace_id, &delivery, current.status).await?;
    Ok(delivery)
}

async fn insert_history(
    tx: &mut Tx,
    order_id: &str,
    version: i64,
    status: DeliveryStatus,
    at: i64,
    note: Option<&str>,
    courier: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO delivery_history (order_id, version, status, at, note, courier) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(order_id)
    .bind(version)
    .bind(status.as_str())
    .bind(at)
    .bind(note)
    .bind(courier)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn announce(
    tx: &mut Tx,
    topics: &Topics,
    trace_id: &str,
    delivery: &Delivery,
    previous: DeliveryStatus,
) -> sqlx::Result<()> {
    let env = new_envelope(
        trace_id,
        Payload::DeliveryStatusChanged(DeliveryStatusChanged {
            delivery: Some(delivery.clone().into()),
            previous: pd::DeliveryStatus::from(previous) as i32,
        }),
    );
    enqueue(tx, &to_outbox(&topics.deliveries, &delivery.order_id, &env)).await
}
