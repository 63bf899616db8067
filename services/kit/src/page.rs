//! Keyset pagination, newest first, for the lists ordered by one time-ordered
//! id (UUIDv7): orders and deliveries.
//!
//! A keyset (rather than an offset) keeps pages stable while rows arrive
//! between calls: nothing is skipped or shown twice. The page rule itself
//! (sizes, the cursor's format) is food-api's [`food_api::page`].

use food_api::page::{PageError, decode_cursor, encode_cursor, wire_limit};
use food_proto::common::v1::PageRequest;
use sqlx::{Row, any::AnyRow};

use crate::{Db, db::Params};

/// One requested page: its size and the key after which it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keyset {
    /// The key of the last row of the previous page; `None` for the first.
    after: Option<String>,
    limit: u32,
}

/// One page of rows and the cursor of the next, if there is one.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl Keyset {
    /// A gRPC page request, checked by the one page rule.
    pub fn parse(page: Option<PageRequest>) -> Result<Self, PageError> {
        let page = page.unwrap_or_default();
        Ok(Self {
            limit: wire_limit(page.limit)?,
            after: decode_cursor::<1>(&page.cursor)?.map(|[key]| key),
        })
    }

    /// The first page of `limit` rows (at least one).
    pub fn first(limit: u32) -> Self {
        Self {
            after: None,
            limit: limit.max(1),
        }
    }

    /// Reads one page of `select` (a `SELECT … FROM …` without `WHERE`),
    /// newest first by the text column `key`, keeping the rows whose
    /// `column = value` for each filter with a value. One row more than the
    /// page is read to learn whether another page follows.
    pub async fn newest_first<T>(
        &self,
        db: &Db,
        select: &str,
        key: &str,
        filters: &[(&str, Option<&str>)],
        from_row: impl Fn(&AnyRow) -> sqlx::Result<T>,
    ) -> sqlx::Result<Page<T>> {
        let mut sql = format!("{select} WHERE 1 = 1");
        let mut params = Params::new(db.backend());
        for (column, _) in filters.iter().filter(|(_, v)| v.is_some()) {
            sql.push_str(&format!(" AND {column} = {}", params.one()));
        }
        if self.after.is_some() {
            sql.push_str(&format!(" AND {key} < {}", params.one()));
        }
        sql.push_str(&format!(" ORDER BY {key} DESC LIMIT {}", params.one()));
        let mut q = sqlx::query(&sql);
        for value in filters.iter().filter_map(|(_, v)| *v) {
            q = q.bind(value.to_owned());
        }
        if let Some(after) = &self.after {
            q = q.bind(after.clone());
        }
        q = q.bind(i64::from(self.limit) + 1);
        let rows = q.fetch_all(db.reader()).await?;
        let next_cursor = match rows.get(self.limit as usize) {
            // The row past the page only says that one follows; the cursor
            // is the key of the page's last row.
            Some(_) => Some(encode_cursor(&[
                &rows[self.limit as usize - 1].try_get::<String, _>(key)?
            ])),
            None => None,
        };
        let items = rows
            .iter()
            .take(self.limit as usize)
            .map(from_row)
            .collect::<sqlx::Result<_>>()?;
        Ok(Page { items, next_cursor })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Migrations, Step};

    const THINGS: &[Step] = &[Step {
        version: 100,
        description: "things",
        sql: "CREATE TABLE things (id TEXT PRIMARY KEY, kind TEXT NOT NULL)",
    }];

    async fn db_with_things(dir: &tempfile::TempDir, n: usize) -> Db {
        let url = format!("sqlite://{}/things.db", dir.path().display());
        let migrations = Migrations {
            sqlite: THINGS,
            postgres: &[],
        };
        let db = Db::connect(&url, &migrations).await.unwrap();
        for i in 0..n {
            sqlx::query("INSERT INTO things (id, kind) VALUES ($1, $2)")
                .bind(format!("id-{i:02}"))
                .bind(if i % 2 == 0 { "even" } else { "odd" })
                .execute(db.writer())
                .await
                .unwrap();
        }
        db
    }

    async fn all_pages(db: &Db, kind: Option<&str>, limit: u32) -> Vec<Vec<String>> {
        let mut pages = Vec::new();
        let mut cursor = String::new();
        loop {
            let page = Keyset::parse(Some(PageRequest {
                limit,
                cursor: cursor.clone(),
            }))
            .unwrap()
            .newest_first(db, "SELECT id FROM things", "id", &[("kind", kind)], |r| {
                r.try_get::<String, _>("id")
            })
            .await
            .unwrap();
            pages.push(page.items);
            match page.next_cursor {
                Some(next) => cursor = next,
                None => return pages,
            }
        }
    }

    #[tokio::test]
    async fn pages_walk_every_row_newest_first_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = db_with_things(&dir, 5).await;

        let pages = all_pages(&db, None, 2).await;

        assert_eq!(
            pages,
            [
                vec!["id-04", "id-03"],
                vec!["id-02", "id-01"],
                vec!["id-00"]
            ]
        );
    }

    #[tokio::test]
    async fn filters_apply_on_every_page_and_a_full_last_page_has_no_next() {
        let dir = tempfile::tempdir().unwrap();
        let db = db_with_things(&dir, 8).await;

        let pages = all_pages(&db, Some("odd"), 2).await;

        assert_eq!(pages, [vec!["id-07", "id-05"], vec!["id-03", "id-01"]]);
    }

    #[test]
    fn a_page_request_is_read_by_the_one_page_rule() {
        assert_eq!(Keyset::parse(None), Ok(Keyset::first(50)));
        let too_big = PageRequest {
            limit: 1001,
            cursor: String::new(),
        };
        assert_eq!(
            Keyset::parse(Some(too_big)),
            Err(PageError::LimitTooLarge(1001))
        );
        let raw_id = PageRequest {
            limit: 10,
            cursor: "id-03".into(),
        };
        assert_eq!(Keyset::parse(Some(raw_id)), Err(PageError::ForeignCursor));
        let menu_cursor = PageRequest {
            limit: 10,
            cursor: encode_cursor(&["pizza", "Margherita", "margherita"]),
        };
        assert_eq!(
            Keyset::parse(Some(menu_cursor)),
            Err(PageError::ForeignCursor)
        );
    }
}
