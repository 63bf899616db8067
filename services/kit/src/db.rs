//! A database pool per service: a SQLite file (WAL, synchronous=FULL) by
//! default, PostgreSQL for `postgres://` URLs, with embedded migrations.
//!
//! Queries use sqlx's `Any` driver with `$1` placeholders, which both
//! backends accept, so one code path serves both; statements built at run
//! time with many values write theirs with [`Params`]. SQLite gets a separate
//! single-connection writer pool: writers queue in-process instead of
//! fighting over SQLite's write lock (and `SQLITE_BUSY`).

use std::{borrow::Cow, path::Path, str::FromStr, time::Duration};

use anyhow::Context;
use sqlx::{
    Any, AnyPool, Executor,
    any::AnyPoolOptions,
    migrate::{Migration, MigrationType, Migrator},
};

/// A transaction on the writer pool.
pub type Tx = sqlx::Transaction<'static, Any>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// One migration step, embedded with `include_str!`.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    pub version: i64,
    pub description: &'static str,
    pub sql: &'static str,
}

/// A service's migrations for each backend.
#[derive(Clone, Copy, Debug)]
pub struct Migrations {
    pub sqlite: &'static [Step],
    pub postgres: &'static [Step],
}

impl Migrations {
    /// The same steps on both backends, for SQL that both accept.
    pub const fn portable(steps: &'static [Step]) -> Self {
        Self {
            sqlite: steps,
            postgres: steps,
        }
    }
}

/// `server` (a `postgres://` URL) with `database` as its database: one
/// server, one database per service (docs/operations.md).
pub fn postgres_database_url(server: &str, database: &str) -> anyhow::Result<String> {
    let mut url = url::Url::parse(server)
        .with_context(|| format!("not a URL: {}", crate::settings::redact_url(server)))?;
    anyhow::ensure!(
        matches!(url.scheme(), "postgres" | "postgresql"),
        "a PostgreSQL server URL starts with postgres://, got {}",
        crate::settings::redact_url(server)
    );
    url.set_path(&format!("/{database}"));
    Ok(url.to_string())
}

/// The database a `postgres://` URL names, if it names one.
pub fn postgres_url_database(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    let name = url.path().trim_matches('/');
    (!name.is_empty()).then(|| name.to_owned())
}

/// Creates `database` on the server of `server_url` unless it exists, so a
/// fresh server needs nothing done by hand. The connection goes to the
/// server's `postgres` database.
pub async fn create_postgres_database(server_url: &str, database: &str) -> anyhow::Result<()> {
    use sqlx::Connection;
    anyhow::ensure!(
        !database.is_empty()
            && database
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "database names are letters, digits and `_`, got `{database}`"
    );
    // The maintenance database: the URL's own may be the one to create.
    let mut admin = url::Url::parse(server_url)?;
    admin.set_path("/postgres");
    let redacted = crate::settings::redact_url(admin.as_str());
    let mut conn = sqlx::PgConnection::connect(admin.as_str())
        .await
        .with_context(|| format!("connecting to {redacted}"))?;
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(database)
        .fetch_optional(&mut conn)
        .await
        .with_context(|| format!("looking up database {database} on {redacted}"))?;
    if exists.is_none() {
        // Another process may create it at the same moment: that is success.
        if let Err(e) = sqlx::query(&format!("CREATE DATABASE {database}"))
            .execute(&mut conn)
            .await
        {
            let raced = e
                .as_database_error()
                .and_then(|d| d.code())
                .is_some_and(|c| c == "42P04" || c == "23505");
            if !raced {
                return Err(e)
                    .with_context(|| format!("creating database {database} on {redacted}"));
            }
        }
    }
    conn.close().await.ok();
    Ok(())
}

/// The service's database.
#[derive(Clone, Debug)]
pub struct Db {
    reader: AnyPool,
    writer: AnyPool,
    backend: Backend,
}

impl Db {
    /// Connects, creating the SQLite file and its directory if missing, and
    /// runs the migrations (the kit's own tables first).
    pub async fn connect(url: &str, migrations: &Migrations) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            anyhow::bail!("database_url must start with sqlite:// or postgres://, got `{url}`");
        };
        let redacted = crate::settings::redact_url(url);
        let (reader, writer) = match backend {
            Backend::Sqlite => {
                let url = sqlite_url(url)?;
                let cache = sqlite_cache_kib()?;
                let writer = sqlite_pool(&url, 1, true, cache).await?;
                // WAL is a property of the file; set it once before readers open.
                sqlx::query("PRAGMA journal_mode=WAL")
                    .execute(&writer)
                    .await
                    .with_context(|| format!("enabling WAL on {redacted}"))?;
                let reader = sqlite_pool(&url, 4, false, cache).await?;
                (reader, writer)
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(5))
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(POSTGRES_SESSION).await?;
                            Ok(())
                        })
                    })
                    .connect(url)
                    .await
                    .with_context(|| format!("connecting to {redacted}"))?;
                (pool.clone(), pool)
            }
        };
        let db = Self {
            reader,
            writer,
            backend,
        };
        let steps = match backend {
            Backend::Sqlite => migrations.sqlite,
            Backend::Postgres => migrations.postgres,
        };
        let kit_steps = match backend {
            Backend::Sqlite => KIT_SQLITE,
            Backend::Postgres => KIT_POSTGRES,
        };
        let all: Vec<Migration> = kit_steps
            .iter()
            .chain(steps.iter())
            .map(|s| {
                Migration::new(
                    s.version,
                    Cow::Borrowed(s.description),
                    MigrationType::Simple,
                    Cow::Borrowed(s.sql),
                    false,
                )
            })
            .collect();
        let migrator = Migrator {
            migrations: Cow::Owned(all),
            ..Migrator::DEFAULT
        };
        migrator
            .run(&db.writer)
            .await
            .with_context(|| format!("migrating {redacted}"))?;
        Ok(db)
    }

    /// For reads; may lag nothing (same database), just not block writers.
    pub fn reader(&self) -> &AnyPool {
        &self.reader
    }

    /// For writes outside a transaction.
    pub fn writer(&self) -> &AnyPool {
        &self.writer
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> sqlx::Result<Tx> {
        self.writer.begin().await
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> sqlx::Result<()> {
        self.reader.execute("SELECT 1").await.map(|_| ())
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

/// Kit tables live in versions below 100; services number theirs from 100.
const KIT_SQLITE: &[Step] = &[Step {
    version: 1,
    description: "kit outbox and processed events",
    sql: include_str!("../migrations/sqlite/0001_kit.sql"),
}];
const KIT_POSTGRES: &[Step] = &[Step {
    version: 1,
    description: "kit outbox and processed events",
    sql: include_str!("../migrations/postgres/0001_kit.sql"),
}];

fn sqlite_url(url: &str) -> anyhow::Result<String> {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path != ":memory:"
        && let Some(dir) = Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the data dir {}", dir.display()))?;
    }
    let query = if query.contains("mode=") {
        query.to_owned()
    } else if query.is_empty() {
        "mode=rwc".to_owned()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok(format!("sqlite://{path}?{query}"))
}

/// Set on every PostgreSQL session, so that a replica cut off from the
/// network cannot hold its locks until TCP gives up, which takes hours by
/// default: the server ends a session idle inside a transaction after 10 s
/// (ours last milliseconds), holding delivery-service's dispatch lock or
/// row locks; and it drops a silent client's session (the outbox
/// publisher's lock) within about 11 s: keepalive probes after 5 s idle,
/// every 2 s, 3 lost, or 10 s of data it sent going unacknowledged. The
/// replica's pool opens new connections once it is reachable again.
const POSTGRES_SESSION: &str = "SET idle_in_transaction_session_timeout = '10s'; \
     SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; \
     SET tcp_keepalives_count = 3; SET tcp_user_timeout = 10000;";

/// Names the size of each SQLite connection's page cache, in KiB.
pub const SQLITE_CACHE_KIB_VAR: &str = "FOOD_SQLITE_CACHE_KIB";

/// Each SQLite connection's page cache from `FOOD_SQLITE_CACHE_KIB`, or
/// `None` for SQLite's own default (2 MiB). A service holds up to five
/// connections, and a cache grows as pages are read until it is full, which
/// takes minutes under load: a smaller cache bounds a process's memory
/// sooner (the reliability soak sets one so that its warm-up fills them).
/// The operating system's page cache still holds the file.
fn sqlite_cache_kib() -> anyhow::Result<Option<u32>> {
    match std::env::var(SQLITE_CACHE_KIB_VAR) {
        Ok(v) => parse_cache_kib(&v).map(Some),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {SQLITE_CACHE_KIB_VAR}")),
    }
}

fn parse_cache_kib(value: &str) -> anyhow::Result<u32> {
    value
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|kib| *kib > 0)
        .with_context(|| {
            format!(
                "{SQLITE_CACHE_KIB_VAR}={value:?} is not a size in KiB (a whole number above 0)"
            )
        })
}

/// A pool of SQLite connections; `writer` checks each connection given
/// back (see [`out_of_transaction`]); `cache_kib` sizes each connection's
/// page cache (SQLite's default when `None`).
async fn sqlite_pool(
    url: &str,
    max: u32,
    writer: bool,
    cache_kib: Option<u32>,
) -> anyhow::Result<AnyPool> {
    let mut pragmas =
        "PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON;".to_owned();
    if let Some(kib) = cache_kib {
        // A negative cache_size is a size in KiB rather than in pages.
        pragmas.push_str(&format!(" PRAGMA cache_size=-{kib};"));
    }
    // Validate the URL with the SQLite driver's own parser for a clear error.
    sqlx::sqlite::SqliteConnectOptions::from_str(url)
        .with_context(|| format!("bad SQLite URL `{url}`"))?;
    AnyPoolOptions::new()
        .max_connections(max)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        // A pool pings each connection before lending it, to catch one a
        // network dropped. A SQLite connection is a file handle in this
        // process and cannot be dropped that way; the ping was a round trip
        // to the connection's worker thread on every acquire.
        .test_before_acquire(false)
        .after_release(move |conn, _| {
            Box::pin(async move {
                if !writer {
                    return Ok(true);
                }
                Ok(out_of_transaction(conn).await)
            })
        })
        .after_connect(move |conn, _| {
            let pragmas = pragmas.clone();
            Box::pin(async move {
                conn.execute(pragmas.as_str()).await?;
                Ok(())
            })
        })
        .connect(url)
        .await
        .with_context(|| format!("opening {url}"))
}

/// Whether a writer connection given back to the pool is out of every
/// transaction; one that is not is closed (SQLite rolls back what it
/// held) and the pool opens a fresh one. On a full disk (SQLITE_FULL)
/// SQLite may end a transaction by itself and the driver's count of open
/// transactions went wrong: the connection was left inside a transaction
/// nothing would commit, every later write went into a savepoint of it,
/// was answered 201 and was lost at the next restart, and reads (other
/// connections) never saw it (tests/reliability/disk_full.rs). A `BEGIN`
/// refused means a transaction is still open.
async fn out_of_transaction(conn: &mut sqlx::AnyConnection) -> bool {
    match conn.execute("BEGIN").await {
        Ok(_) => conn.execute("ROLLBACK").await.is_ok(),
        Err(e) => {
            tracing::error!(error = %e, "a writer connection was left in a transaction: closing it");
            false
        }
    }
}

impl Backend {
    /// The backend a connection (or a transaction on one) talks to.
    pub fn of(conn: &sqlx::AnyConnection) -> Self {
        if conn.backend_name() == <sqlx::Postgres as sqlx::Database>::NAME {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// Bind placeholders for SQL built at run time, written in the order their
/// values are bound: `$1, $2, ...` on PostgreSQL, anonymous `?` on SQLite.
///
/// SQLite finds a numbered parameter (`$7`) by a scan of the statement's
/// parameter names, once per bound value, so a statement with n numbered
/// parameters costs n^2 on every execution (a 32-row INSERT of 12 columns
/// binds 384); anonymous ones are bound by position. Fixed statements with a
/// few parameters keep `$n`, which both backends read.
#[derive(Debug)]
pub struct Params {
    backend: Backend,
    bound: usize,
}

impl Params {
    pub fn new(backend: Backend) -> Self {
        Self { backend, bound: 0 }
    }

    /// Placeholders for the statement about to run on `conn`.
    pub fn on(conn: &sqlx::AnyConnection) -> Self {
        Self::new(Backend::of(conn))
    }

    /// The next placeholder.
    pub fn one(&mut self) -> String {
        let mut out = String::new();
        self.push(&mut out);
        out
    }

    /// `count` placeholders separated by commas, as for `IN (...)`.
    pub fn list(&mut self, count: usize) -> String {
        let mut out = String::with_capacity(count * 5);
        self.push_list(&mut out, count);
        out
    }

    /// `(.., ..), (.., ..)` for `rows` rows of `columns` values: the VALUES
    /// of one multi-row INSERT, bound row by row.
    pub fn rows(&mut self, rows: usize, columns: usize) -> String {
        let mut out = String::with_capacity(rows * (columns * 5 + 4));
        for r in 0..rows {
            if r > 0 {
                out.push_str(", ");
            }
            out.push('(');
            self.push_list(&mut out, columns);
            out.push(')');
        }
        out
    }

    fn push_list(&mut self, out: &mut String, count: usize) {
        for i in 0..count {
            if i > 0 {
                out.push_str(", ");
            }
            self.push(out);
        }
    }

    fn push(&mut self, out: &mut String) {
        self.bound += 1;
        match self.backend {
            Backend::Sqlite => out.push('?'),
            Backend::Postgres => {
                out.push('$');
                out.push_str(&self.bound.to_string());
            }
        }
    }
}

/// Rows per multi-row INSERT: far below SQLite's 32,766 bound variables and
/// PostgreSQL's 65,535 parameters for any of our tables.
pub const ROWS_PER_INSERT: usize = 1000;

/// `items` in runs for multi-row statements, in order: each run's length is
/// a power of two, at most `max` (rounded down to one), largest first; 300
/// rows make runs of 256, 32, 8 and 4.
///
/// A multi-row statement's text depends on its row count, and a connection
/// keeps its prepared statements by text (sqlx keeps 100). With runs of any
/// length, nearly every batch of a busy consumer prepared a new and large
/// statement, and pushed fixed statements out of the cache; with powers of
/// two a statement has at most ten shapes, which stay prepared.
pub fn statement_runs<T>(items: &[T], max: usize) -> impl Iterator<Item = &[T]> {
    let cap = 1usize << max.max(1).ilog2();
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (run, tail) = rest.split_at(cap.min(1usize << rest.len().ilog2()));
        rest = tail;
        Some(run)
    })
}

/// Current time as microseconds since the Unix epoch, the storage format for times.
pub fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

pub fn micros_to_datetime(us: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_micros(us).unwrap_or_default()
}

/// Reads a text column into a domain type (a status, say). A stored value
/// that does not parse is corruption: the read fails with
/// [`sqlx::Error::ColumnDecode`] naming the column and the value, and is
/// never replaced by a default that would hide it.
pub fn parse_column<T>(row: &sqlx::any::AnyRow, column: &str) -> sqlx::Result<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    use sqlx::Row;
    let text: String = row.try_get(column)?;
    text.parse().map_err(|e| sqlx::Error::ColumnDecode {
        index: format!("{column:?}"),
        source: Box::new(e),
    })
}

/// Whether a failed read met a stored value it cannot decode: corruption,
/// which retrying will not cure, unlike an unreachable database.
pub fn is_corrupt(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cache_size_is_a_whole_number_of_kib_above_zero() {
        assert_eq!(parse_cache_kib("256").unwrap(), 256);
        assert_eq!(parse_cache_kib(" 4096 ").unwrap(), 4096);
        for bad in ["", "0", "-128", "2MiB", "1.5", "99999999999"] {
            let e = parse_cache_kib(bad).unwrap_err().to_string();
            assert!(e.contains("FOOD_SQLITE_CACHE_KIB"), "{bad}: {e}");
        }
    }

    #[tokio::test]
    async fn every_connection_of_a_pool_gets_the_cache_size() {
        let dir = tempfile::tempdir().unwrap();
        let url = sqlite_url(&format!("sqlite://{}/cache.db", dir.path().display())).unwrap();
        let pool = sqlite_pool(&url, 2, false, Some(256)).await.unwrap();
        // Two connections held at once: the pool opened both.
        let mut a = pool.acquire().await.unwrap();
        let mut b = pool.acquire().await.unwrap();
        for conn in [&mut a, &mut b] {
            let (size,): (i64,) = sqlx::query_as("PRAGMA cache_size")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            assert_eq!(size, -256);
        }
        let default = sqlite_pool(&url, 1, false, None).await.unwrap();
        let (size,): (i64,) = sqlx::query_as("PRAGMA cache_size")
            .fetch_one(&default)
            .await
            .unwrap();
        assert_eq!(size, -2000, "SQLite's default, about 2 MiB");
    }

    #[tokio::test]
    async fn a_corrupt_stored_status_fails_the_read_naming_the_value() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/corrupt.db", dir.path().display());
        let db = Db::connect(
            &url,
            &Migrations {
                sqlite: &[],
                postgres: &[],
            },
        )
        .await
        .unwrap();
        let row = sqlx::query("SELECT 'LOST' AS status, 'PICKED_UP' AS good")
            .fetch_one(db.reader())
            .await
            .unwrap();

        let good: food_api::DeliveryStatus = parse_column(&row, "good").unwrap();
        let corrupt = parse_column::<food_api::DeliveryStatus>(&row, "status").unwrap_err();

        assert_eq!(good, food_api::DeliveryStatus::PickedUp);
        assert!(is_corrupt(&corrupt), "{corrupt:?}");
        assert!(corrupt.to_string().contains("LOST"), "{corrupt}");
    }

    #[test]
    fn a_service_database_url_keeps_the_server_and_credentials() {
        assert_eq!(
            postgres_database_url("postgres://food:pw@db:5432", "orders").unwrap(),
            "postgres://food:pw@db:5432/orders"
        );
        assert_eq!(
            postgres_database_url("postgres://db/food?sslmode=disable", "menu").unwrap(),
            "postgres://db/menu?sslmode=disable"
        );
        assert!(postgres_database_url("sqlite://x.db", "menu").is_err());
        assert_eq!(
            postgres_url_database("postgres://db:5432/food").as_deref(),
            Some("food")
        );
        assert_eq!(postgres_url_database("postgres://db:5432/"), None);
    }

    #[test]
    fn statement_runs_are_powers_of_two_up_to_the_bound_and_keep_every_item_in_order() {
        let lengths = |n: usize, max: usize| -> Vec<usize> {
            let items: Vec<usize> = (0..n).collect();
            let runs: Vec<&[usize]> = statement_runs(&items, max).collect();
            assert_eq!(runs.concat(), items, "{n} items in runs of at most {max}");
            runs.iter().map(|r| r.len()).collect()
        };
        assert_eq!(lengths(0, 1000), Vec::<usize>::new());
        assert_eq!(lengths(1, 1000), [1]);
        assert_eq!(lengths(300, 1000), [256, 32, 8, 4]);
        assert_eq!(lengths(1500, 1000), [512, 512, 256, 128, 64, 16, 8, 4]);
        assert_eq!(lengths(100, 100), [64, 32, 4]);
        assert_eq!(lengths(3, 0), [1, 1, 1]);
    }

    #[test]
    fn placeholders_are_anonymous_on_sqlite_and_numbered_in_bind_order_on_postgres() {
        let mut p = Params::new(Backend::Postgres);
        assert_eq!(p.one(), "$1");
        assert_eq!(p.rows(2, 2), "($2, $3), ($4, $5)");
        assert_eq!(p.list(2), "$6, $7");

        let mut s = Params::new(Backend::Sqlite);
        assert_eq!(s.one(), "?");
        assert_eq!(s.rows(2, 2), "(?, ?), (?, ?)");
        assert_eq!(s.list(2), "?, ?");
    }
}
