//! SQL for orders, and the committer that batches concurrent order writes.
//!
//! SQLite commits are bounded by one fsync each; batching the orders that
//! arrive together into one transaction keeps every order durable before
//! its reply while paying one fsync per batch instead of per order.

use std::{collections::HashSet, sync::LazyLock};

use food_api::{Order, OrderLine, OrderStatus};
use food_events::{Payload, new_envelope, topics::Topics};
use food_kit::{
    Db, Tx,
    db::{
        Backend, Params, ROWS_PER_INSERT, micros_to_datetime, now_micros, parse_column,
        statement_runs,
    },
    outbox::{OutboxMessage, Waker, enqueue_all},
    page::{Keyset, Page},
};
use food_proto::{
    events::v1::{OrderPlaced, OrderStatusChanged},
    order::v1 as pb,
};
use sqlx::{Row, any::AnyRow};
use tokio::sync::{mpsc, oneshot};

use crate::pricing::Kitchen;

/// A priced order ready to store.
#[derive(Debug)]
pub struct NewOrder {
    /// As placed (PLACED): what the reply and OrderPlaced show.
    pub order: Order,
    /// How its kitchen takes it: an auto-accept one is stored PREPARING.
    pub kitchen: Kitchen,
    pub idempotency_key: Option<String>,
    pub request_hash: String,
    pub trace_id: String,
}

/// What storing a [`NewOrder`] did.
#[derive(Debug)]
pub enum Stored {
    Created(Order),
    /// Another request with the same idempotency key won the race.
    KeyTaken,
}

type Job = (NewOrder, oneshot::Sender<Result<Stored, String>>);

/// Queues new orders for the committer task.
#[derive(Clone, Debug)]
pub struct Committer {
    tx: mpsc::Sender<Job>,
}

/// Most orders per transaction.
const BATCH: usize = 128;

impl Committer {
    pub fn start(db: Db, topics: Topics, waker: Waker) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::channel::<Job>(4096);
        let task = tokio::spawn(async move {
            let mut batch: Vec<Job> = Vec::with_capacity(BATCH);
            while let Some(first) = rx.recv().await {
                batch.push(first);
                while batch.len() < BATCH {
                    match rx.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                metrics::histogram!("order_commit_batch_size").record(batch.len() as f64);
                let jobs = std::mem::take(&mut batch);
                let started = std::time::Instant::now();
                let written = write_batch(&db, &topics, jobs.iter().map(|(o, _)| o)).await;
                metrics::histogram!("order_commit_seconds").record(started.elapsed().as_secs_f64());
                match written {
                    Ok(results) => {
                        waker.wake();
                        for ((_, reply), r) in jobs.into_iter().zip(results) {
                            let _ = reply.send(Ok(r));
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "committing a batch of orders failed");
                        for (_, reply) in jobs {
                            let _ = reply.send(Err(e.to_string()));
                        }
                    }
                }
            }
        });
        (Self { tx }, task)
    }

    /// Stores `order` (with its OrderPlaced outbox row); resolves once committed.
    pub async fn store(&self, order: NewOrder) -> Result<Stored, String> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send((order, reply))
            .await
            .map_err(|_| "the order committer has stopped".to_owned())?;
        rx.await
            .map_err(|_| "the order committer has stopped".to_owned())?
    }
}

/// Writes `orders` in one transaction with a few multi-row statements (each
/// statement is a round trip to the database's worker, so one per row would
/// cost more than the commit). An order whose idempotency key is already
/// taken, by a stored order or an earlier one in the batch, is left out.
async fn write_batch<'a>(
    db: &Db,
    topics: &Topics,
    orders: impl Iterator<Item = &'a NewOrder>,
) -> sqlx::Result<Vec<Stored>> {
    let orders: Vec<&NewOrder> = orders.collect();
    let mut tx = db.begin().await?;
    let mut inserted = HashSet::new();
    for chunk in statement_runs(&orders, ROWS_PER_INSERT / 10) {
        inserted.extend(insert_orders(&mut tx, chunk).await?);
    }
    let created: Vec<&NewOrder> = orders
        .iter()
        .copied()
        .filter(|n| inserted.contains(&n.order.id))
        .collect();
    let lines: Vec<(&str, usize, &OrderLine)> = created
        .iter()
        .flat_map(|n| {
            n.order
                .items
                .iter()
                .enumerate()
                .map(|(i, l)| (n.order.id.as_str(), i, l))
        })
        .collect();
    for chunk in statement_runs(&lines, ROWS_PER_INSERT) {
        insert_lines(&mut tx, chunk).await?;
    }
    let mut events = Vec::with_capacity(created.len());
    for n in &created {
        let placed = new_envelope(
            &n.trace_id,
            Payload::OrderPlaced(OrderPlaced {
                order: Some(n.order.clone().into()),
            }),
        );
        events.push(OutboxMessage::event(&topics.orders, &n.order.id, &placed));
        // Accepted in the same transaction: the PLACED -> PREPARING event
        // follows OrderPlaced on the order's partition.
        if let Some(accepted) = n.as_stored()
            && accepted.status != OrderStatus::Placed
        {
            let changed = status_changed(&n.trace_id, OrderStatus::Placed, accepted);
            events.push(OutboxMessage::event(&topics.orders, &n.order.id, &changed));
        }
    }
    enqueue_all(&mut tx, &events).await?;
    tx.commit().await?;
    Ok(orders
        .iter()
        .map(|n| {
            if inserted.contains(&n.order.id) {
                Stored::Created(n.order.clone())
            } else {
                Stored::KeyTaken
            }
        })
        .collect())
}

impl NewOrder {
    /// The order as stored, when that differs from the order as placed (an
    /// auto-accept kitchen's, PREPARING with its `ready_by`).
    fn as_stored(&self) -> Option<Order> {
        match self.kitchen {
            Kitchen::AutoAccept { ready_by } => Some(Order {
                status: OrderStatus::Preparing,
                ready_by: Some(ready_by),
                ..self.order.clone()
            }),
            Kitchen::ByHand { .. } => None,
        }
    }

    fn accept_deadline(&self) -> Option<i64> {
        match self.kitchen {
            Kitchen::ByHand { deadline } => Some(deadline.timestamp_micros()),
            Kitchen::AutoAccept { .. } => None,
        }
    }
}

/// OrderStatusChanged from `previous` to `order`'s status, with the whole
/// order after the change.
pub fn status_changed(
    trace_id: &str,
    previous: OrderStatus,
    order: Order,
) -> food_events::Envelope {
    new_envelope(
        trace_id,
        Payload::OrderStatusChanged(OrderStatusChanged {
            order_id: order.id.clone(),
            previous: pb::OrderStatus::from(previous) as i32,
            status: pb::OrderStatus::from(order.status) as i32,
            order: Some(order.into()),
        }),
    )
}

/// Inserts the orders whose idempotency key is free; returns their ids.
async fn insert_orders(tx: &mut Tx, orders: &[&NewOrder]) -> sqlx::Result<Vec<String>> {
    let sql = format!(
        "INSERT INTO orders (id, customer_id, status, total_cents, currency, delivery_address, note, \
         idempotency_key, request_hash, delivery_version, created_at, updated_at, \
         restaurant_id, restaurant_name, pickup_address, ready_by, accept_deadline, short_id) VALUES {} \
         ON CONFLICT (customer_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING \
         RETURNING id",
        Params::on(tx).rows(orders.len(), 18)
    );
    let mut q = sqlx::query(&sql);
    for new in orders {
        let o = &new.order;
        let (status, ready_by) = match new.kitchen {
            Kitchen::AutoAccept { ready_by } => {
                (OrderStatus::Preparing, Some(ready_by.timestamp_micros()))
            }
            Kitchen::ByHand { .. } => (o.status, None),
        };
        q = q
            .bind(&o.id)
            .bind(&o.customer_id)
            .bind(status.as_str())
            .bind(o.total_cents)
            .bind(&o.currency)
            .bind(&o.delivery_address)
            .bind(o.note.as_deref())
            .bind(new.idempotency_key.as_deref())
            .bind(&new.request_hash)
            .bind(0_i64)
            .bind(o.created_at.timestamp_micros())
            .bind(o.created_at.timestamp_micros())
            .bind(o.restaurant_id.as_deref())
            .bind(o.restaurant_name.as_deref())
            .bind(o.pickup_address.as_deref())
            .bind(ready_by)
            .bind(new.accept_deadline())
            .bind(food_api::short_id(&o.id));
    }
    q.fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|row| row.try_get("id"))
        .collect()
}

async fn insert_lines(tx: &mut Tx, lines: &[(&str, usize, &OrderLine)]) -> sqlx::Result<()> {
    let sql = format!(
        "INSERT INTO order_lines (order_id, line_no, item_id, name, quantity, unit_price_cents, line_total_cents) \
         VALUES {}",
        Params::on(tx).rows(lines.len(), 7)
    );
    let mut q = sqlx::query(&sql);
    for (order_id, i, l) in lines {
        q = q
            .bind(*order_id)
            .bind(*i as i64)
            .bind(&l.item_id)
            .bind(&l.name)
            .bind(i64::from(l.quantity))
            .bind(l.unit_price_cents)
            .bind(l.line_total_cents);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

const ORDER_COLUMNS: &str = "id, customer_id, restaurant_id, restaurant_name, pickup_address, \
                             status, total_cents, currency, delivery_address, note, created_at, updated_at, \
                             ready_by, rejection_reason";

/// An order row; the restaurant columns are NULL on orders placed before
/// restaurants existed, read as `None`.
fn order_from_row(row: &AnyRow) -> sqlx::Result<Order> {
    Ok(Order {
        id: row.try_get("id")?,
        customer_id: row.try_get("customer_id")?,
        restaurant_id: row.try_get("restaurant_id")?,
        restaurant_name: row.try_get("restaurant_name")?,
        pickup_address: row.try_get("pickup_address")?,
        status: parse_column(row, "status")?,
        ready_by: row
            .try_get::<Option<i64>, _>("ready_by")?
            .map(micros_to_datetime),
        rejection_reason: row.try_get("rejection_reason")?,
        items: Vec::new(),
        total_cents: row.try_get("total_cents")?,
        currency: row.try_get("currency")?,
        delivery_address: row.try_get("delivery_address")?,
        note: row.try_get("note")?,
        created_at: micros_to_datetime(row.try_get("created_at")?),
        updated_at: micros_to_datetime(row.try_get("updated_at")?),
    })
}

/// Loads the lines of `orders` in one query.
async fn attach_lines<'e, E>(exec: E, backend: Backend, orders: &mut [Order]) -> sqlx::Result<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    if orders.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "SELECT order_id, item_id, name, quantity, unit_price_cents, line_total_cents FROM order_lines \
         WHERE order_id IN ({}) ORDER BY order_id, line_no",
        Params::new(backend).list(orders.len())
    );
    let mut q = sqlx::query(&sql);
    for o in orders.iter() {
        q = q.bind(o.id.clone());
    }
    let rows = q.fetch_all(exec).await?;
    for row in rows {
        let order_id: String = row.try_get("order_id")?;
        if let Some(o) = orders.iter_mut().find(|o| o.id == order_id) {
            let quantity: i64 = row.try_get("quantity")?;
            o.items.push(OrderLine {
                item_id: row.try_get("item_id")?,
                name: row.try_get("name")?,
                quantity: quantity as u32,
                unit_price_cents: row.try_get("unit_price_cents")?,
                line_total_cents: row.try_get("line_total_cents")?,
            });
        }
    }
    Ok(())
}

pub async fn get_order(db: &Db, id: &str) -> sqlx::Result<Option<Order>> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1");
    let Some(row) = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(db.reader())
        .await?
    else {
        return Ok(None);
    };
    let mut orders = vec![order_from_row(&row)?];
    attach_lines(db.reader(), db.backend(), &mut orders).await?;
    Ok(orders.pop())
}

/// The order created earlier with this idempotency key, and its request hash.
pub async fn find_by_key(
    db: &Db,
    customer_id: &str,
    key: &str,
) -> sqlx::Result<Option<(Order, String)>> {
    let sql = format!(
        "SELECT {ORDER_COLUMNS}, request_hash FROM orders WHERE customer_id = $1 AND idempotency_key = $2"
    );
    let Some(row) = sqlx::query(&sql)
        .bind(customer_id)
        .bind(key)
        .fetch_optional(db.writer())
        .await?
    else {
        return Ok(None);
    };
    let hash: Option<String> = row.try_get("request_hash")?;
    let mut orders = vec![order_from_row(&row)?];
    attach_lines(db.writer(), db.backend(), &mut orders).await?;
    Ok(orders.pop().map(|o| (o, hash.unwrap_or_default())))
}

/// What [`list_orders`] keeps; `None` keeps everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct OrderFilter<'a> {
    pub customer_id: Option<&'a str>,
    pub restaurant_id: Option<&'a str>,
    pub status: Option<OrderStatus>,
    /// The last 8 characters of the id ([`food_api::short_id`]).
    pub short_id: Option<&'a str>,
}

/// Newest first (order ids are UUIDv7), one page of `page`.
pub async fn list_orders(
    db: &Db,
    filter: &OrderFilter<'_>,
    page: &Keyset,
) -> sqlx::Result<Page<Order>> {
    static SELECT: LazyLock<String> =
        LazyLock::new(|| format!("SELECT {ORDER_COLUMNS} FROM orders"));
    let filters = [
        // Read through orders_by_short_id (a handful of rows) when given;
        // the scope filters then apply to those rows.
        ("short_id", filter.short_id),
        ("customer_id", filter.customer_id),
        ("restaurant_id", filter.restaurant_id),
        ("status", filter.status.map(OrderStatus::as_str)),
    ];
    let mut page = page
        .newest_first(db, &SELECT, "id", &filters, order_from_row)
        .await?;
    attach_lines(db.reader(), db.backend(), &mut page.items).await?;
    Ok(page)
}

/// What a state change needs to know of an order, read inside its transaction.
#[derive(Debug)]
pub struct Current {
    pub status: OrderStatus,
    /// The newest delivery version applied.
    pub delivery_version: i64,
    pub customer_id: String,
    /// `None` on orders placed before restaurants existed.
    pub restaurant_id: Option<String>,
    /// Micros; set once the kitchen accepted.
    pub ready_by: Option<i64>,
}

const CURRENT_COLUMNS: &str = "id, status, delivery_version, customer_id, restaurant_id, ready_by";

fn current_from_row(r: &AnyRow) -> sqlx::Result<Current> {
    Ok(Current {
        status: parse_column(r, "status")?,
        delivery_version: r.try_get("delivery_version")?,
        customer_id: r.try_get("customer_id")?,
        restaurant_id: r.try_get("restaurant_id")?,
        ready_by: r.try_get("ready_by")?,
    })
}

/// Reads what a state change needs of the order inside `tx`.
pub async fn current_in_tx(tx: &mut Tx, id: &str) -> sqlx::Result<Option<Current>> {
    let sql = format!("SELECT {CURRENT_COLUMNS} FROM orders WHERE id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(&mut **tx).await?;
    row.as_ref().map(current_from_row).transpose()
}

/// A status change, applied only if the order is still at `from`.
#[derive(Debug)]
pub struct Move<'a> {
    pub from: OrderStatus,
    pub to: OrderStatus,
    /// A new `ready_by` (micros); `None` keeps the stored one.
    pub ready_by: Option<i64>,
    /// Set on a rejection; `None` keeps the stored one.
    pub rejection_reason: Option<&'a str>,
    /// The delivery version that made the move; `None` keeps the stored one.
    pub delivery_version: Option<i64>,
}

impl<'a> Move<'a> {
    pub fn new(from: OrderStatus, to: OrderStatus) -> Self {
        Self {
            from,
            to,
            ready_by: None,
            rejection_reason: None,
            delivery_version: None,
        }
    }
}

/// Applies `m` to order `id` with a conditional update (`... AND status =
/// from`): a racing kitchen call, delivery event or replica that moved the
/// order first makes this one change nothing. Whether it applied. Any move
/// takes the order out of the acceptance sweep.
pub async fn apply_move(tx: &mut Tx, id: &str, m: &Move<'_>) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE orders SET status = $1, updated_at = $2, accept_deadline = NULL, \
         ready_by = COALESCE($3, ready_by), rejection_reason = COALESCE($4, rejection_reason), \
         delivery_version = COALESCE($5, delivery_version) \
         WHERE id = $6 AND status = $7",
    )
    .bind(m.to.as_str())
    .bind(now_micros())
    .bind(m.ready_by)
    .bind(m.rejection_reason)
    .bind(m.delivery_version)
    .bind(id)
    .bind(m.from.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The reason an order gets when its kitchen did not answer in time.
pub const TIMEOUT_REASON: &str = "timeout";

/// Most orders one sweep rejects; the next sweep takes the rest.
pub const SWEEP_BATCH: i64 = 256;

/// Rejects (reason `timeout`) the orders still PLACED whose acceptance
/// deadline is at or before `now`, in one statement; returns their ids.
/// The outer `status = 'PLACED'` is checked again on each row a concurrent
/// sweep (another replica) holds, so each order is rejected once.
pub async fn reject_overdue(tx: &mut Tx, now: i64) -> sqlx::Result<Vec<String>> {
    // The literal status lets the planner use the partial index.
    let sql = format!(
        "UPDATE orders SET status = 'REJECTED', rejection_reason = $1, accept_deadline = NULL, \
         updated_at = $2 \
         WHERE status = 'PLACED' AND accept_deadline <= $3 AND id IN ( \
           SELECT id FROM orders WHERE status = 'PLACED' AND accept_deadline IS NOT NULL \
           AND accept_deadline <= $4 ORDER BY accept_deadline LIMIT {SWEEP_BATCH}) \
         RETURNING id"
    );
    sqlx::query(&sql)
        .bind(TIMEOUT_REASON)
        .bind(now_micros())
        .bind(now)
        .bind(now)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect()
}

/// The whole orders of `ids` (lines included) as `tx` sees them, by id.
pub async fn orders_in_tx(
    tx: &mut Tx,
    ids: &[&str],
) -> sqlx::Result<std::collections::HashMap<String, Order>> {
    let mut out = std::collections::HashMap::with_capacity(ids.len());
    for chunk in statement_runs(ids, ROWS_PER_INSERT) {
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE id IN ({})",
            Params::on(tx).list(chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        let mut orders = q
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(order_from_row)
            .collect::<sqlx::Result<Vec<_>>>()?;
        let backend = Backend::of(tx);
        attach_lines(&mut **tx, backend, &mut orders).await?;
        out.extend(orders.into_iter().map(|o| (o.id.clone(), o)));
    }
    Ok(out)
}

/// Moves the applied delivery version of many orders, a statement per run
/// of rows ([`statement_runs`]).
pub async fn set_delivery_versions(tx: &mut Tx, versions: &[(&str, i64)]) -> sqlx::Result<()> {
    for chunk in statement_runs(versions, ROWS_PER_INSERT / 2) {
        let mut params = Params::on(tx);
        let cases: String = (0..chunk.len())
            .map(|_| format!(" WHEN {} THEN {}", params.one(), params.one()))
            .collect();
        let sql = format!(
            "UPDATE orders SET delivery_version = CASE id{cases} ELSE delivery_version END \
             WHERE id IN ({})",
            params.list(chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for (id, v) in chunk {
            q = q.bind(*id).bind(*v);
        }
        for (id, _) in chunk {
            q = q.bind(*id);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// The current state of each of `ids` that exists, by id, read inside `tx`.
pub async fn current_many(
    tx: &mut Tx,
    ids: &[&str],
) -> sqlx::Result<std::collections::HashMap<String, Current>> {
    let mut out = std::collections::HashMap::with_capacity(ids.len());
    for chunk in statement_runs(ids, ROWS_PER_INSERT) {
        let sql = format!(
            "SELECT {CURRENT_COLUMNS} FROM orders WHERE id IN ({})",
            Params::on(tx).list(chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        for r in q.fetch_all(&mut **tx).await? {
            out.insert(r.try_get("id")?, current_from_row(&r)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use food_kit::page::Keyset;

    use super::*;

    /// A data dir written by release 0.1.0, before restaurants
    /// (services/stack/tests/fixtures/data-dir-0.1.0/README.md).
    fn fixture(file: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../stack/tests/fixtures/data-dir-0.1.0")
            .join(file)
    }

    #[tokio::test]
    async fn orders_from_before_restaurants_read_with_no_restaurant_after_the_migrations() {
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("order.db");
        std::fs::copy(fixture("order.db"), &copy).expect("the 0.1.0 fixture's order.db");
        let url = format!("sqlite://{}", copy.display());

        let db = Db::connect(&url, &crate::MIGRATIONS).await.unwrap();
        let all = list_orders(&db, &OrderFilter::default(), &Keyset::first(100))
            .await
            .unwrap()
            .items;
        let luca = OrderFilter {
            restaurant_id: Some("trattoria-da-luca"),
            ..OrderFilter::default()
        };
        let by_restaurant = list_orders(&db, &luca, &Keyset::first(100))
            .await
            .unwrap()
            .items;

        let seen: Vec<(OrderStatus, i64, usize)> = all
            .iter()
            .map(|o| (o.status, o.total_cents, o.items.len()))
            .collect();
        assert_eq!(
            seen,
            [
                (OrderStatus::OutForDelivery, 3470, 2),
                (OrderStatus::Cancelled, 2420, 2),
                (OrderStatus::Placed, 1370, 2),
            ],
            "the three orders, newest first, with their lines"
        );
        for o in &all {
            assert_eq!(o.customer_id, "cust-ada");
            assert_eq!(
                (&o.restaurant_id, &o.restaurant_name, &o.pickup_address),
                (&None, &None, &None),
                "{}",
                o.id
            );
            assert_eq!(get_order(&db, &o.id).await.unwrap().as_ref(), Some(o));
            // The migration back-filled the short id of orders stored before it.
            let by_short = OrderFilter {
                short_id: Some(food_api::short_id(&o.id)),
                ..OrderFilter::default()
            };
            let found = list_orders(&db, &by_short, &Keyset::first(10))
                .await
                .unwrap()
                .items;
            assert_eq!(found.as_slice(), std::slice::from_ref(o));
        }
        assert!(by_restaurant.is_empty(), "{by_restaurant:?}");
        db.close().await;

        // Opened again (a restart): the migrations are not run twice.
        let db = Db::connect(&url, &crate::MIGRATIONS).await.unwrap();
        assert_eq!(
            list_orders(&db, &OrderFilter::default(), &Keyset::first(100))
                .await
                .unwrap()
                .items,
            all
        );
        db.close().await;
    }

    /// The query plan of `sql` (SQLite's EXPLAIN QUERY PLAN), one line per step.
    async fn plan(db: &Db, sql: &str, binds: &[&str]) -> String {
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        let mut q = sqlx::query(&explain);
        for b in binds {
            q = q.bind(b.to_string());
        }
        q.fetch_all(db.reader())
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get::<String, _>("detail").unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[tokio::test]
    async fn a_short_id_is_looked_up_through_its_index_in_every_scope() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/order.db", dir.path().display());
        let db = Db::connect(&url, &crate::MIGRATIONS).await.unwrap();
        let scopes = [
            ("ops", "", vec!["e920546f"]),
            (
                "a customer",
                " AND customer_id = $2",
                vec!["e920546f", "ada"],
            ),
            (
                "a restaurant",
                " AND restaurant_id = $2",
                vec!["e920546f", "maison-tandoor"],
            ),
            (
                "a customer, by status",
                " AND customer_id = $2 AND status = $3",
                vec!["e920546f", "ada", "PLACED"],
            ),
        ];

        for (who, scope, binds) in scopes {
            // The statement list_orders builds ([`Keyset::newest_first`]).
            let sql = format!(
                "SELECT {ORDER_COLUMNS} FROM orders WHERE 1 = 1 AND short_id = $1{scope} \
                 ORDER BY id DESC LIMIT 11"
            );
            let plan = plan(&db, &sql, &binds).await;

            assert!(
                plan.contains("USING INDEX orders_by_short_id (short_id=?)"),
                "{who}: {plan}"
            );
            assert!(!plan.contains("SCAN"), "{who}: {plan}");
        }
        db.close().await;
    }
}
