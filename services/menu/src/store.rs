//! The `restaurants` and `items` tables: reads, keyset-paginated listings,
//! the import (restaurants, then items, all or nothing) and the seeding
//! inserts. SQL is written once for SQLite and PostgreSQL.

use std::collections::HashSet;

use food_kit::{
    Db,
    db::{Migrations, Params, Step, now_micros},
};
use food_proto::menu::v1 as pm;
use sqlx::{Any, any::AnyArguments, query::QueryAs};

use crate::{
    domain::{BatchError, ValidImport, ValidItem, ValidRestaurant},
    error::MenuError,
    page::{Cursor, RestaurantCursor},
};

/// The menu's schema; versions start at 100, below are the kit's.
pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &[
        Step {
            version: 100,
            description: "menu items",
            sql: include_str!("../migrations/sqlite/0100_items.sql"),
        },
        Step {
            version: 101,
            description: "restaurants",
            sql: include_str!("../migrations/sqlite/0101_restaurants.sql"),
        },
        Step {
            version: 102,
            description: "kitchen acceptance",
            sql: include_str!("../migrations/sqlite/0102_kitchen.sql"),
        },
    ],
    postgres: &[
        Step {
            version: 100,
            description: "menu items",
            sql: include_str!("../migrations/postgres/0100_items.sql"),
        },
        Step {
            version: 101,
            description: "restaurants",
            sql: include_str!("../migrations/postgres/0101_restaurants.sql"),
        },
        Step {
            version: 102,
            description: "kitchen acceptance",
            sql: include_str!("../migrations/postgres/0102_kitchen.sql"),
        },
    ],
};

const COLUMNS: &str = "id, restaurant_id, name, description, category, category_key, price_cents, currency, available, prep_minutes, tags";
const RESTAURANT_COLUMNS: &str =
    "id, name, cuisine, address, open, tags, auto_accept, acceptance_timeout_s";

/// What `ListItems` filters on, already normalised.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    /// Exact restaurant id.
    pub restaurant_id: Option<String>,
    /// Lower-cased category, compared exactly.
    pub category_key: Option<String>,
    pub available_only: bool,
    /// Lower-cased text searched for as a substring.
    pub query: Option<String>,
}

/// What `ListRestaurants` filters on, already normalised.
#[derive(Clone, Debug, Default)]
pub struct RestaurantFilter {
    /// Lower-cased cuisine, compared exactly.
    pub cuisine_key: Option<String>,
    pub open_only: bool,
    /// Lower-cased text searched for as a substring.
    pub query: Option<String>,
}

/// How many rows an import or a seed inserted and how many it replaced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Upserted {
    pub created: u32,
    pub updated: u32,
}

/// What an import wrote, restaurants and items counted apart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Imported {
    pub restaurants: Upserted,
    pub items: Upserted,
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    id: String,
    restaurant_id: String,
    name: String,
    description: String,
    category: String,
    category_key: String,
    price_cents: i64,
    currency: String,
    available: i64,
    prep_minutes: i64,
    tags: String,
}

impl ItemRow {
    fn cursor(&self) -> Cursor {
        Cursor {
            category_key: self.category_key.clone(),
            name: self.name.clone(),
            id: self.id.clone(),
        }
    }

    fn into_item(self) -> pm::Item {
        let tags = read_tags(&self.tags, "item", &self.id);
        pm::Item {
            id: self.id,
            restaurant_id: self.restaurant_id,
            name: self.name,
            description: self.description,
            category: self.category,
            price_cents: self.price_cents,
            currency: self.currency,
            available: self.available != 0,
            prep_minutes: u32::try_from(self.prep_minutes).unwrap_or_default(),
            tags,
        }
    }
}

#[derive(sqlx::FromRow)]
struct RestaurantRow {
    id: String,
    name: String,
    cuisine: String,
    address: String,
    open: i64,
    tags: String,
    auto_accept: i64,
    acceptance_timeout_s: i64,
}

impl RestaurantRow {
    fn cursor(&self) -> RestaurantCursor {
        RestaurantCursor {
            name: self.name.clone(),
            id: self.id.clone(),
        }
    }

    fn into_restaurant(self) -> pm::Restaurant {
        let tags = read_tags(&self.tags, "restaurant", &self.id);
        pm::Restaurant {
            id: self.id,
            name: self.name,
            cuisine: self.cuisine,
            address: self.address,
            open: self.open != 0,
            tags,
            auto_accept: self.auto_accept != 0,
            acceptance_timeout_s: u32::try_from(self.acceptance_timeout_s).unwrap_or(u32::MAX),
        }
    }
}

fn read_tags(column: &str, kind: &str, id: &str) -> Vec<String> {
    serde_json::from_str(column).unwrap_or_else(|e| {
        // Only this service writes the column; a bad value is a bug, not a reason to fail reads.
        tracing::warn!(kind, id, error = %e, "unreadable tags column");
        Vec::new()
    })
}

fn write_tags(tags: &[String]) -> String {
    serde_json::to_string(tags).expect("strings always serialize")
}

/// One page of items and where the next one starts.
#[derive(Debug)]
pub struct Page {
    pub items: Vec<pm::Item>,
    pub next: Option<Cursor>,
}

/// One page of restaurants and where the next one starts.
#[derive(Debug)]
pub struct RestaurantPage {
    pub restaurants: Vec<pm::Restaurant>,
    pub next: Option<RestaurantCursor>,
}

enum Bind {
    Text(String),
    Int(i64),
}

/// Access to the menu's tables.
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Whether the menu holds neither items nor restaurants: a fresh install.
    pub async fn is_empty(&self) -> sqlx::Result<bool> {
        let rows = sqlx::query_scalar::<Any, i64>(
            "SELECT (SELECT COUNT(*) FROM items) + (SELECT COUNT(*) FROM restaurants)",
        )
        .fetch_one(self.db.reader())
        .await?;
        Ok(rows == 0)
    }

    pub async fn get(&self, id: &str) -> sqlx::Result<Option<pm::Item>> {
        let sql = format!("SELECT {COLUMNS} FROM items WHERE id = $1");
        let row = sqlx::query_as::<Any, ItemRow>(&sql)
            .bind(id.to_owned())
            .fetch_optional(self.db.reader())
            .await?;
        Ok(row.map(ItemRow::into_item))
    }

    /// The items among `ids` that exist, in no particular order.
    pub async fn get_many(&self, ids: &[String]) -> sqlx::Result<Vec<pm::Item>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM items WHERE id IN ({})",
            Params::new(self.db.backend()).list(ids.len())
        );
        let mut query = sqlx::query_as::<Any, ItemRow>(&sql);
        for id in ids {
            query = query.bind(id.clone());
        }
        let rows = query.fetch_all(self.db.reader()).await?;
        Ok(rows.into_iter().map(ItemRow::into_item).collect())
    }

    /// Up to `limit` items after `after`, ordered by (category, name, id).
    pub async fn list(
        &self,
        filter: &ListFilter,
        after: Option<&Cursor>,
        limit: u32,
    ) -> sqlx::Result<Page> {
        let mut sql = format!("SELECT {COLUMNS} FROM items WHERE 1 = 1");
        let mut binds = Vec::new();
        let mut params = Params::new(self.db.backend());
        let mut param = |binds: &mut Vec<Bind>, bind: Bind| -> String {
            binds.push(bind);
            params.one()
        };
        if let Some(restaurant_id) = &filter.restaurant_id {
            let p = param(&mut binds, Bind::Text(restaurant_id.clone()));
            sql.push_str(&format!(" AND restaurant_id = {p}"));
        }
        if let Some(category) = &filter.category_key {
            let p = param(&mut binds, Bind::Text(category.clone()));
            sql.push_str(&format!(" AND category_key = {p}"));
        }
        if filter.available_only {
            sql.push_str(" AND available = 1");
        }
        if let Some(query) = &filter.query {
            let p = param(&mut binds, Bind::Text(format!("%{}%", escape_like(query))));
            sql.push_str(&format!(" AND search_text LIKE {p} ESCAPE '\\'"));
        }
        if let Some(after) = after {
            let c = param(&mut binds, Bind::Text(after.category_key.clone()));
            let n = param(&mut binds, Bind::Text(after.name.clone()));
            let i = param(&mut binds, Bind::Text(after.id.clone()));
            sql.push_str(&format!(" AND (category_key, name, id) > ({c}, {n}, {i})"));
        }
        // One row more than asked tells whether another page follows.
        let p = param(&mut binds, Bind::Int(i64::from(limit) + 1));
        sql.push_str(&format!(" ORDER BY category_key, name, id LIMIT {p}"));

        let rows = bind_all(sqlx::query_as::<Any, ItemRow>(&sql), binds)
            .fetch_all(self.db.reader())
            .await?;
        let (rows, next) = split_page(rows, limit, ItemRow::cursor);
        Ok(Page {
            items: rows.into_iter().map(ItemRow::into_item).collect(),
            next,
        })
    }

    pub async fn get_restaurant(&self, id: &str) -> sqlx::Result<Option<pm::Restaurant>> {
        let sql = format!("SELECT {RESTAURANT_COLUMNS} FROM restaurants WHERE id = $1");
        let row = sqlx::query_as::<Any, RestaurantRow>(&sql)
            .bind(id.to_owned())
            .fetch_optional(self.db.reader())
            .await?;
        Ok(row.map(RestaurantRow::into_restaurant))
    }

    /// The restaurants among `ids` that exist, in no particular order, in one query.
    pub async fn get_restaurants(&self, ids: &[&str]) -> sqlx::Result<Vec<pm::Restaurant>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {RESTAURANT_COLUMNS} FROM restaurants WHERE id IN ({})",
            Params::new(self.db.backend()).list(ids.len())
        );
        let mut query = sqlx::query_as::<Any, RestaurantRow>(&sql);
        for id in ids {
            query = query.bind((*id).to_owned());
        }
        let rows = query.fetch_all(self.db.reader()).await?;
        Ok(rows
            .into_iter()
            .map(RestaurantRow::into_restaurant)
            .collect())
    }

    /// Up to `limit` restaurants after `after`, ordered by (name, id).
    pub async fn list_restaurants(
        &self,
        filter: &RestaurantFilter,
        after: Option<&RestaurantCursor>,
        limit: u32,
    ) -> sqlx::Result<RestaurantPage> {
        let mut sql = format!("SELECT {RESTAURANT_COLUMNS} FROM restaurants WHERE 1 = 1");
        let mut binds = Vec::new();
        let mut params = Params::new(self.db.backend());
        let mut param = |binds: &mut Vec<Bind>, bind: Bind| -> String {
            binds.push(bind);
            params.one()
        };
        if let Some(cuisine) = &filter.cuisine_key {
            let p = param(&mut binds, Bind::Text(cuisine.clone()));
            sql.push_str(&format!(" AND cuisine_key = {p}"));
        }
        if filter.open_only {
            sql.push_str(" AND open = 1");
        }
        if let Some(query) = &filter.query {
            let p = param(&mut binds, Bind::Text(format!("%{}%", escape_like(query))));
            sql.push_str(&format!(" AND search_text LIKE {p} ESCAPE '\\'"));
        }
        if let Some(after) = after {
            let n = param(&mut binds, Bind::Text(after.name.clone()));
            let i = param(&mut binds, Bind::Text(after.id.clone()));
            sql.push_str(&format!(" AND (name, id) > ({n}, {i})"));
        }
        let p = param(&mut binds, Bind::Int(i64::from(limit) + 1));
        sql.push_str(&format!(" ORDER BY name, id LIMIT {p}"));

        let rows = bind_all(sqlx::query_as::<Any, RestaurantRow>(&sql), binds)
            .fetch_all(self.db.reader())
            .await?;
        let (rows, next) = split_page(rows, limit, RestaurantRow::cursor);
        Ok(RestaurantPage {
            restaurants: rows
                .into_iter()
                .map(RestaurantRow::into_restaurant)
                .collect(),
            next,
        })
    }

    /// Opens or pauses a restaurant; `None` when there is no such restaurant.
    pub async fn set_open(&self, id: &str, open: bool) -> sqlx::Result<Option<pm::Restaurant>> {
        // RETURNING on the writer: the answer is the row as written, not a later read.
        let sql = format!(
            "UPDATE restaurants SET open = $1, updated_at = $2 WHERE id = $3 \
             RETURNING {RESTAURANT_COLUMNS}"
        );
        let row = sqlx::query_as::<Any, RestaurantRow>(&sql)
            .bind(i64::from(open))
            .bind(now_micros())
            .bind(id.to_owned())
            .fetch_optional(self.db.writer())
            .await?;
        Ok(row.map(RestaurantRow::into_restaurant))
    }

    /// Upserts the restaurants, then the items, in one transaction: an import
    /// is all or nothing. An item whose restaurant is neither stored nor in
    /// the import refuses the whole import, before anything is written.
    pub async fn import(&self, import: &ValidImport) -> Result<Imported, MenuError> {
        let now = now_micros();
        let mut tx = self.db.begin().await?;
        let brought: HashSet<&str> = import.restaurants.iter().map(|r| r.id.as_str()).collect();
        let elsewhere: Vec<&str> = import
            .items
            .iter()
            .map(|i| i.restaurant_id.as_str())
            .filter(|id| !brought.contains(id))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let stored: HashSet<String> = if elsewhere.is_empty() {
            HashSet::new()
        } else {
            let sql = format!(
                "SELECT id FROM restaurants WHERE id IN ({})",
                Params::new(self.db.backend()).list(elsewhere.len())
            );
            let mut query = sqlx::query_scalar::<Any, String>(&sql);
            for id in &elsewhere {
                query = query.bind((*id).to_owned());
            }
            query.fetch_all(&mut *tx).await?.into_iter().collect()
        };
        if let Some((index, item)) = import.items.iter().enumerate().find(|(_, i)| {
            let id = i.restaurant_id.as_str();
            !brought.contains(id) && !stored.contains(id)
        }) {
            return Err(BatchError::UnknownRestaurant {
                index,
                restaurant_id: item.restaurant_id.to_string(),
            }
            .into());
        }

        let mut counts = Imported::default();
        for restaurant in &import.restaurants {
            let created = upsert_restaurant(&mut tx, restaurant, now, true).await?;
            count(&mut counts.restaurants, created);
        }
        for item in &import.items {
            let created = upsert_item(&mut tx, item, now, true).await?;
            count(&mut counts.items, created);
        }
        tx.commit().await?;
        Ok(counts)
    }

    /// Inserts the restaurants and items whose ids are free, leaving every
    /// existing row as it is (ops' imports and edits win over the seed).
    pub async fn insert_missing(&self, import: &ValidImport) -> sqlx::Result<Imported> {
        let now = now_micros();
        let mut tx = self.db.begin().await?;
        let mut counts = Imported::default();
        for restaurant in &import.restaurants {
            if upsert_restaurant(&mut tx, restaurant, now, false).await? {
                counts.restaurants.created += 1;
            }
        }
        for item in &import.items {
            if upsert_item(&mut tx, item, now, false).await? {
                counts.items.created += 1;
            }
        }
        tx.commit().await?;
        Ok(counts)
    }
}

fn count(counts: &mut Upserted, created: bool) {
    if created {
        counts.created += 1;
    } else {
        counts.updated += 1;
    }
}

/// Writes one restaurant; with `replace` false an existing row is left
/// alone. Returns whether the row was created.
async fn upsert_restaurant(
    tx: &mut food_kit::db::Tx,
    r: &ValidRestaurant,
    now: i64,
    replace: bool,
) -> sqlx::Result<bool> {
    let exists = sqlx::query_scalar::<Any, String>("SELECT id FROM restaurants WHERE id = $1")
        .bind(r.id.as_str().to_owned())
        .fetch_optional(&mut **tx)
        .await?
        .is_some();
    if exists && !replace {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO restaurants (id, name, cuisine, cuisine_key, address, open, tags, \
         search_text, created_at, updated_at, auto_accept, acceptance_timeout_s) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, cuisine = excluded.cuisine, \
         cuisine_key = excluded.cuisine_key, address = excluded.address, open = excluded.open, \
         tags = excluded.tags, search_text = excluded.search_text, \
         updated_at = excluded.updated_at, auto_accept = excluded.auto_accept, \
         acceptance_timeout_s = excluded.acceptance_timeout_s",
    )
    .bind(r.id.as_str().to_owned())
    .bind(r.name.clone())
    .bind(r.cuisine.clone())
    .bind(r.cuisine_key())
    .bind(r.address.clone())
    .bind(i64::from(r.open))
    .bind(write_tags(&r.tags))
    .bind(r.search_text())
    .bind(now)
    .bind(i64::from(r.auto_accept))
    .bind(i64::from(r.acceptance_timeout_s))
    .execute(&mut **tx)
    .await?;
    Ok(!exists)
}

/// Writes one item; with `replace` false an existing row is left alone.
/// Returns whether the row was created.
async fn upsert_item(
    tx: &mut food_kit::db::Tx,
    item: &ValidItem,
    now: i64,
    replace: bool,
) -> sqlx::Result<bool> {
    let exists = sqlx::query_scalar::<Any, String>("SELECT id FROM items WHERE id = $1")
        .bind(item.id.as_str().to_owned())
        .fetch_optional(&mut **tx)
        .await?
        .is_some();
    if exists && !replace {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO items (id, restaurant_id, name, description, category, category_key, \
         price_cents, currency, available, prep_minutes, tags, search_text, created_at, \
         updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) \
         ON CONFLICT (id) DO UPDATE SET restaurant_id = excluded.restaurant_id, \
         name = excluded.name, description = excluded.description, \
         category = excluded.category, category_key = excluded.category_key, \
         price_cents = excluded.price_cents, currency = excluded.currency, \
         available = excluded.available, prep_minutes = excluded.prep_minutes, \
         tags = excluded.tags, search_text = excluded.search_text, \
         updated_at = excluded.updated_at",
    )
    .bind(item.id.as_str().to_owned())
    .bind(item.restaurant_id.as_str().to_owned())
    .bind(item.name.clone())
    .bind(item.description.clone())
    .bind(item.category.clone())
    .bind(item.category_key())
    .bind(item.price_cents)
    .bind(item.currency.clone())
    .bind(i64::from(item.available))
    .bind(i64::from(item.prep_minutes))
    .bind(write_tags(&item.tags))
    .bind(item.search_text())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(!exists)
}

fn bind_all<'q, O>(
    mut query: QueryAs<'q, Any, O, AnyArguments<'q>>,
    binds: Vec<Bind>,
) -> QueryAs<'q, Any, O, AnyArguments<'q>> {
    for bind in binds {
        query = match bind {
            Bind::Text(s) => query.bind(s),
            Bind::Int(n) => query.bind(n),
        };
    }
    query
}

/// The distinct restaurant ids of `items`, for one lookup of their restaurants.
pub fn restaurant_ids(items: &[pm::Item]) -> Vec<&str> {
    let ids: HashSet<&str> = items.iter().map(|i| i.restaurant_id.as_str()).collect();
    ids.into_iter().collect()
}

/// Makes `%`, `_` and `\` in a search match themselves.
fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A page's rows and the cursor of the next page: the lists read one row
/// more than `limit` to learn whether another page follows, and the cursor
/// is the key of the page's last row.
fn split_page<R, C>(mut rows: Vec<R>, limit: u32, cursor: impl Fn(&R) -> C) -> (Vec<R>, Option<C>) {
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next = if more { rows.last().map(cursor) } else { None };
    (rows, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_in_a_search_are_escaped() {
        assert_eq!(escape_like("50%_off\\"), "50\\%\\_off\\\\");
        assert_eq!(escape_like("pad thai"), "pad thai");
    }
}
