//! The `items` table: reads, keyset-paginated listing and the upsert used by
//! imports and seeding. SQL is written once for SQLite and PostgreSQL.

use food_kit::{
    Db,
    db::{Migrations, Params, Step, now_micros},
};
use food_proto::menu::v1 as pm;
use sqlx::{Any, query::QueryAs};

use crate::{domain::ValidItem, page::Cursor};

/// The menu's schema; versions start at 100, below are the kit's.
pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &[Step {
        version: 100,
        description: "menu items",
        sql: include_str!("../migrations/sqlite/0100_items.sql"),
    }],
    postgres: &[Step {
        version: 100,
        description: "menu items",
        sql: include_str!("../migrations/postgres/0100_items.sql"),
    }],
};

const COLUMNS: &str = "id, name, description, category, category_key, price_cents, currency, available, prep_minutes, tags";

/// What `ListItems` filters on, already normalised.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    /// Lower-cased category, compared exactly.
    pub category_key: Option<String>,
    pub available_only: bool,
    /// Lower-cased text searched for as a substring.
    pub query: Option<String>,
}

/// How many rows an import inserted and how many it replaced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Upserted {
    pub created: u32,
    pub updated: u32,
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    id: String,
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
        let tags = serde_json::from_str(&self.tags).unwrap_or_else(|e| {
            // Only this service writes the column; a bad value is a bug, not a reason to fail reads.
            tracing::warn!(item_id = %self.id, error = %e, "unreadable tags column");
            Vec::new()
        });
        pm::Item {
            id: self.id,
            name: self.name,
            restaurant_id: String::new(),
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

/// One page of items and where the next one starts.
#[derive(Debug)]
pub struct Page {
    pub items: Vec<pm::Item>,
    pub next: Option<Cursor>,
}

enum Bind {
    Text(String),
    Int(i64),
}

/// Access to the menu's table.
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn count(&self) -> sqlx::Result<i64> {
        sqlx::query_scalar::<Any, i64>("SELECT COUNT(*) FROM items")
            .fetch_one(self.db.reader())
            .await
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

        let mut rows = bind_all(sqlx::query_as::<Any, ItemRow>(&sql), binds)
            .fetch_all(self.db.reader())
            .await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next = if more {
            rows.last().map(ItemRow::cursor)
        } else {
            None
        };
        Ok(Page {
            items: rows.into_iter().map(ItemRow::into_item).collect(),
            next,
        })
    }

    /// Inserts or replaces every item in one transaction: an import is all or nothing.
    pub async fn upsert(&self, items: &[ValidItem]) -> sqlx::Result<Upserted> {
        let now = now_micros();
        let mut counts = Upserted::default();
        let mut tx = self.db.begin().await?;
        for item in items {
            let exists = sqlx::query_scalar::<Any, String>("SELECT id FROM items WHERE id = $1")
                .bind(item.id.as_str().to_owned())
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            let tags = serde_json::to_string(&item.tags).expect("strings always serialize");
            sqlx::query(
                "INSERT INTO items (id, name, description, category, category_key, price_cents, \
                 currency, available, prep_minutes, tags, search_text, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) \
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
                 description = excluded.description, category = excluded.category, \
                 category_key = excluded.category_key, price_cents = excluded.price_cents, \
                 currency = excluded.currency, available = excluded.available, \
                 prep_minutes = excluded.prep_minutes, tags = excluded.tags, \
                 search_text = excluded.search_text, updated_at = excluded.updated_at",
            )
            .bind(item.id.as_str().to_owned())
            .bind(item.name.clone())
            .bind(item.description.clone())
            .bind(item.category.clone())
            .bind(item.category_key())
            .bind(item.price_cents)
            .bind(item.currency.clone())
            .bind(i64::from(item.available))
            .bind(i64::from(item.prep_minutes))
            .bind(tags)
            .bind(item.search_text())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if exists {
                counts.updated += 1;
            } else {
                counts.created += 1;
            }
        }
        tx.commit().await?;
        Ok(counts)
    }
}

fn bind_all<'q>(
    mut query: QueryAs<'q, Any, ItemRow, sqlx::any::AnyArguments<'q>>,
    binds: Vec<Bind>,
) -> QueryAs<'q, Any, ItemRow, sqlx::any::AnyArguments<'q>> {
    for bind in binds {
        query = match bind {
            Bind::Text(s) => query.bind(s),
            Bind::Int(n) => query.bind(n),
        };
    }
    query
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_in_a_search_are_escaped() {
        assert_eq!(escape_like("50%_off\\"), "50\\%\\_off\\\\");
        assert_eq!(escape_like("pad thai"), "pad thai");
    }
}
