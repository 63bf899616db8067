//! SQL for deliveries. Every change goes through [`change`], which writes the
//! row, a history entry and the DeliveryStatusChanged outbox row in the
//! caller's transaction.

use std::{collections::HashSet, sync::LazyLock};

use chrono::{DateTime, Utc};
use food_api::page::{PageError, decode_cursor, encode_cursor, wire_limit};
use food_api::{Delivery, DeliveryStatus, HistoryEntry};
use food_events::{Payload, new_envelope, topics::Topics};
use food_kit::{
    Db, Tx,
    db::{
        Backend, Params, ROWS_PER_INSERT, micros_to_datetime, now_micros, parse_column,
        statement_runs,
    },
    outbox::{OutboxMessage, enqueue, enqueue_all},
    page::Page,
};
use food_proto::common::v1::PageRequest;
use food_proto::{delivery::v1 as pd, events::v1::DeliveryStatusChanged};
use sqlx::{Row, any::AnyRow};

const COLUMNS: &str = "order_id, customer_id, item_count, total_cents, currency, delivery_address, \
                       status, courier, eta, version, created_at, updated_at, \
                       restaurant_id, restaurant_name, pickup_address";

/// [`COLUMNS`] of `deliveries d`, and the courier's name from `couriers c`
/// (joined on the delivery's courier).
static D_COLUMNS: LazyLock<String> = LazyLock::new(|| {
    let mut cols: Vec<String> = COLUMNS.split(", ").map(|c| format!("d.{c}")).collect();
    cols.push("c.name AS courier_name".to_owned());
    cols.join(", ")
});

/// A delivery row (with `courier_name`, see [`D_COLUMNS`]); the restaurant
/// columns are NULL on deliveries made before restaurants existed, read as
/// `None`.
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
        courier_name: row.try_get("courier_name")?,
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
             LEFT JOIN couriers c ON c.id = d.courier \
             LEFT JOIN delivery_history h ON h.order_id = d.order_id \
             WHERE d.order_id = $1 ORDER BY h.version",
            *D_COLUMNS
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

/// What [`list`] keeps: the rows matching every filter given.
#[derive(Clone, Copy, Debug, Default)]
pub struct Filter<'a> {
    pub status: Option<DeliveryStatus>,
    pub customer_id: Option<&'a str>,
    pub restaurant_id: Option<&'a str>,
    /// Exactly this courier's deliveries.
    pub courier_id: Option<&'a str>,
    /// A courier's view: its own deliveries and the unassigned ones.
    pub visible_to_courier: Option<&'a str>,
    /// The last 8 characters of the order id ([`food_api::short_id`]).
    pub short_id: Option<&'a str>,
}

/// One requested page of [`list`]: its size and the order id after which it
/// starts, read by food-api's one page rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    after: Option<String>,
    limit: u32,
}

impl Span {
    pub fn parse(page: Option<PageRequest>) -> Result<Self, PageError> {
        let page = page.unwrap_or_default();
        Ok(Self {
            limit: wire_limit(page.limit)?,
            after: decode_cursor::<1>(&page.cursor)?.map(|[key]| key),
        })
    }

    /// The first page of `limit` rows (at least one).
    #[cfg(test)]
    pub fn first(limit: u32) -> Self {
        Self {
            after: None,
            limit: limit.max(1),
        }
    }
}

/// Newest first (order ids are UUIDv7), one page of `span`, with each
/// delivery's courier name and history. One row more than the page is read
/// to learn whether another page follows.
pub async fn list(db: &Db, filter: &Filter<'_>, span: &Span) -> sqlx::Result<Page<Delivery>> {
    let mut sql = format!(
        "SELECT {} FROM deliveries d LEFT JOIN couriers c ON c.id = d.courier WHERE 1 = 1",
        *D_COLUMNS
    );
    let mut params = Params::new(db.backend());
    let mut binds: Vec<String> = Vec::new();
    let equal = [
        // Read through deliveries_by_short_id (a handful of rows) when
        // given; the scope filters then apply to those rows.
        ("d.short_id", filter.short_id),
        ("d.status", filter.status.map(DeliveryStatus::as_str)),
        ("d.customer_id", filter.customer_id),
        ("d.restaurant_id", filter.restaurant_id),
        ("d.courier", filter.courier_id),
    ];
    for (column, value) in equal {
        if let Some(value) = value {
            sql.push_str(&format!(" AND {column} = {}", params.one()));
            binds.push(value.to_owned());
        }
    }
    if let Some(courier) = filter.visible_to_courier {
        sql.push_str(&format!(
            " AND (d.courier = {} OR d.courier IS NULL)",
            params.one()
        ));
        binds.push(courier.to_owned());
    }
    if let Some(after) = &span.after {
        sql.push_str(&format!(" AND d.order_id < {}", params.one()));
        binds.push(after.clone());
    }
    sql.push_str(&format!(" ORDER BY d.order_id DESC LIMIT {}", params.one()));
    let mut q = sqlx::query(&sql);
    for value in binds {
        q = q.bind(value);
    }
    let rows = q
        .bind(i64::from(span.limit) + 1)
        .fetch_all(db.reader())
        .await?;
    let limit = span.limit as usize;
    let next_cursor = match rows.get(limit) {
        // The row past the page only says that one follows; the cursor is
        // the key of the page's last row.
        Some(_) => Some(encode_cursor(&[
            &rows[limit - 1].try_get::<String, _>("order_id")?
        ])),
        None => None,
    };
    let mut items = rows
        .iter()
        .take(limit)
        .map(from_row)
        .collect::<sqlx::Result<Vec<_>>>()?;
    attach_history(db.reader(), db.backend(), &mut items).await?;
    Ok(Page { items, next_cursor })
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
            "INSERT INTO deliveries ({COLUMNS}, short_id) VALUES {} \
             ON CONFLICT (order_id) DO NOTHING RETURNING order_id",
            Params::on(tx).rows(new.len(), 16)
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
                .bind(d.pickup_address.as_deref())
                .bind(food_api::short_id(&d.order_id));
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
    let courier_name = if courier == current.courier {
        current.courier_name.clone()
    } else {
        match courier.as_deref() {
            Some(id) => name_of(tx, id).await?,
            None => None,
        }
    };
    // The courier this change took a delivery from may now be idle.
    if let Some(previous) = current.courier.as_deref()
        && current.status.is_active()
        && (!change.to.is_active() || courier.as_deref() != Some(previous))
    {
        mark_idle_if_free(tx, previous, now).await?;
    }
    let at = micros_to_datetime(now);
    let mut delivery = current.clone();
    delivery.courier_name = courier_name;
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

/// Statuses in which a delivery counts towards its courier's load, as SQL.
const ACTIVE_SQL: &str = "('ASSIGNED', 'PICKED_UP', 'IN_TRANSIT')";

/// A courier as stored, with its load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CourierRow {
    pub id: String,
    pub name: String,
    pub on_shift: bool,
    /// Microseconds: when its load last fell to 0 or its shift began; the
    /// dispatch tie-break (longest idle first).
    pub idle_since: Option<i64>,
    /// Its ASSIGNED, PICKED_UP and IN_TRANSIT deliveries.
    pub active: u32,
}

impl From<CourierRow> for food_api::Courier {
    fn from(c: CourierRow) -> Self {
        Self {
            id: c.id,
            name: c.name,
            on_shift: c.on_shift,
            active_deliveries: c.active,
        }
    }
}

static COURIER_SELECT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT c.id, c.name, c.on_shift, c.idle_since, \
         (SELECT COUNT(*) FROM deliveries d WHERE d.courier = c.id AND d.status IN {ACTIVE_SQL}) \
         AS active FROM couriers c"
    )
});

fn courier_from_row(row: &AnyRow) -> sqlx::Result<CourierRow> {
    let on_shift: i64 = row.try_get("on_shift")?;
    let active: i64 = row.try_get("active")?;
    Ok(CourierRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        on_shift: on_shift != 0,
        idle_since: row.try_get("idle_since")?,
        active: active as u32,
    })
}

/// The couriers, by id; only those on (or off) shift when `on_shift` says.
pub async fn couriers<'e, E>(exec: E, on_shift: Option<bool>) -> sqlx::Result<Vec<CourierRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let sql = match on_shift {
        Some(on) => format!(
            "{} WHERE c.on_shift = {} ORDER BY c.id",
            *COURIER_SELECT,
            i64::from(on)
        ),
        None => format!("{} ORDER BY c.id", *COURIER_SELECT),
    };
    sqlx::query(&sql)
        .fetch_all(exec)
        .await?
        .iter()
        .map(courier_from_row)
        .collect()
}

pub async fn courier<'e, E>(exec: E, id: &str) -> sqlx::Result<Option<CourierRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    static SQL: LazyLock<String> = LazyLock::new(|| format!("{} WHERE c.id = $1", *COURIER_SELECT));
    sqlx::query(SQL.as_str())
        .bind(id)
        .fetch_optional(exec)
        .await?
        .as_ref()
        .map(courier_from_row)
        .transpose()
}

async fn name_of(tx: &mut Tx, id: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT name FROM couriers WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

/// Creates courier `id` (off shift) or renames it.
pub async fn put_courier(tx: &mut Tx, id: &str, name: &str) -> sqlx::Result<CourierRow> {
    let now = now_micros();
    sqlx::query(
        "INSERT INTO couriers (id, name, on_shift, idle_since, created_at, updated_at) \
         VALUES ($1, $2, 0, NULL, $3, $3) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at",
    )
    .bind(id)
    .bind(name)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    courier(&mut **tx, id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)
}

/// Puts courier `id` on or off shift; `None` when there is no such courier.
/// Going on shift starts its idle time when it carries nothing (a courier
/// already on shift keeps its own); going off keeps its active deliveries.
pub async fn set_shift(tx: &mut Tx, id: &str, on_shift: bool) -> sqlx::Result<Option<CourierRow>> {
    let Some(before) = courier(&mut **tx, id).await? else {
        return Ok(None);
    };
    if before.on_shift == on_shift {
        return Ok(Some(before));
    }
    let now = now_micros();
    let idle_since = if on_shift && before.active == 0 {
        Some(now)
    } else {
        before.idle_since
    };
    sqlx::query(
        "UPDATE couriers SET on_shift = $1, idle_since = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(i64::from(on_shift))
    .bind(idle_since)
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(Some(CourierRow {
        on_shift,
        idle_since,
        ..before
    }))
}

/// Starts `id`'s idle time now if it carries nothing any more.
async fn mark_idle_if_free(tx: &mut Tx, id: &str, now: i64) -> sqlx::Result<()> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "UPDATE couriers SET idle_since = $1 WHERE id = $2 AND NOT EXISTS \
             (SELECT 1 FROM deliveries d WHERE d.courier = $2 AND d.status IN {ACTIVE_SQL})"
        )
    });
    sqlx::query(SQL.as_str())
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Whether the kitchen accepted the delivery's order.
pub async fn is_accepted(tx: &mut Tx, order_id: &str) -> sqlx::Result<bool> {
    let accepted: Option<i64> =
        sqlx::query_scalar("SELECT order_accepted FROM deliveries WHERE order_id = $1")
            .bind(order_id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(accepted == Some(1))
}

/// Records that the kitchen accepted the order; `false` when there is no
/// such delivery or it was already recorded.
pub async fn mark_accepted(tx: &mut Tx, order_id: &str) -> sqlx::Result<bool> {
    let n = sqlx::query(
        "UPDATE deliveries SET order_accepted = 1 WHERE order_id = $1 AND order_accepted = 0",
    )
    .bind(order_id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Serialises the transactions that may assign couriers (dispatch, a
/// courier's claim, a shift starting, a delivery ending), so that each
/// counts loads no other replica is changing: on PostgreSQL a
/// transaction-scoped advisory lock, taken before anything is read; on
/// SQLite the single writer connection already runs one transaction at a
/// time. Call it first in the transaction.
///
/// Every transaction that writes the outbox takes it too, so that outbox
/// rows commit in id order across replicas: the kit's relay marks rows
/// sent by id range on PostgreSQL (`id <= acked`), which would mark a
/// lower id committed after a higher one was read as sent without
/// publishing it.
pub async fn lock_dispatch(tx: &mut Tx) -> sqlx::Result<()> {
    /// Any fixed number; the service's only advisory lock ("DLVR").
    const DISPATCH_LOCK: i64 = 0x444c_5652;
    if Backend::of(tx) == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(DISPATCH_LOCK)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The note of an automatic assignment.
pub const DISPATCHED_NOTE: &str = "dispatched";

/// Assigns waiting deliveries (PENDING, unassigned, order accepted), oldest
/// first, each to the on-shift courier with the fewest active deliveries
/// below `cap`, ties to the one idle longest, then by id. Returns what it
/// assigned. The caller holds [`lock_dispatch`].
pub async fn dispatch_waiting(
    tx: &mut Tx,
    topics: &Topics,
    trace_id: &str,
    cap: u32,
) -> sqlx::Result<Vec<Delivery>> {
    let mut free: Vec<CourierRow> = couriers(&mut **tx, Some(true))
        .await?
        .into_iter()
        .filter(|c| c.active < cap)
        .collect();
    let slots: u32 = free.iter().map(|c| cap - c.active).sum();
    if slots == 0 {
        return Ok(Vec::new());
    }
    let waiting: Vec<String> = sqlx::query_scalar(
        "SELECT order_id FROM deliveries \
         WHERE status = 'PENDING' AND courier IS NULL AND order_accepted = 1 \
         ORDER BY created_at, order_id LIMIT $1",
    )
    .bind(i64::from(slots))
    .fetch_all(&mut **tx)
    .await?;
    let mut assigned = Vec::with_capacity(waiting.len());
    for order_id in waiting {
        let Some(best) = free
            .iter_mut()
            .filter(|c| c.active < cap)
            .min_by_key(|c| (c.active, c.idle_since.unwrap_or(i64::MAX), c.id.clone()))
        else {
            break;
        };
        let Some(current) = get_in_tx(tx, &order_id).await? else {
            continue;
        };
        let delivery = change(
            tx,
            topics,
            trace_id,
            &current,
            Change {
                to: DeliveryStatus::Assigned,
                courier: Some(&best.id),
                eta: None,
                note: Some(DISPATCHED_NOTE),
            },
        )
        .await?;
        best.active += 1;
        tracing::info!(order_id = %delivery.order_id, courier = %best.id, load = best.active, "delivery dispatched");
        assigned.push(delivery);
    }
    Ok(assigned)
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
        let all = list(&db, &Filter::default(), &Span::first(100))
            .await
            .unwrap()
            .items;
        let by_restaurant = list(
            &db,
            &Filter {
                restaurant_id: Some("trattoria-da-luca"),
                ..Filter::default()
            },
            &Span::first(100),
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
            // The migration back-filled the short id of deliveries stored before it.
            let by_short = Filter {
                short_id: Some(food_api::short_id(&d.order_id)),
                ..Filter::default()
            };
            let found = list(&db, &by_short, &Span::first(10)).await.unwrap().items;
            assert_eq!(found.as_slice(), std::slice::from_ref(d));
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

    #[tokio::test]
    async fn a_short_id_is_looked_up_through_its_index_in_every_scope() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/delivery.db", dir.path().display());
        let db = Db::connect(&url, &crate::MIGRATIONS).await.unwrap();
        let scopes = [
            ("ops", "", vec!["e920546f"]),
            (
                "a customer",
                " AND d.customer_id = $2",
                vec!["e920546f", "ada"],
            ),
            (
                "a restaurant",
                " AND d.restaurant_id = $2",
                vec!["e920546f", "maison-tandoor"],
            ),
            (
                "a courier",
                " AND (d.courier = $2 OR d.courier IS NULL)",
                vec!["e920546f", "courier-1"],
            ),
        ];

        for (who, scope, binds) in scopes {
            // The statement [`list`] builds.
            let sql = format!(
                "EXPLAIN QUERY PLAN SELECT {} FROM deliveries d LEFT JOIN couriers c \
                 ON c.id = d.courier WHERE 1 = 1 AND d.short_id = $1{scope} \
                 ORDER BY d.order_id DESC LIMIT 11",
                *D_COLUMNS
            );
            let mut q = sqlx::query(&sql);
            for b in &binds {
                q = q.bind(b.to_string());
            }
            let plan: Vec<String> = q
                .fetch_all(db.reader())
                .await
                .unwrap()
                .iter()
                .map(|r| r.try_get::<String, _>("detail").unwrap())
                .collect();
            let plan = plan.join("\n");

            assert!(
                plan.contains("SEARCH d USING INDEX deliveries_by_short_id (short_id=?)"),
                "{who}: {plan}"
            );
            assert!(!plan.contains("SCAN"), "{who}: {plan}");
        }
        db.close().await;
    }
}
