//! A database pool per service: a SQLite file (WAL, synchronous=FULL) by
//! default, PostgreSQL for `postgres://` URLs, with embedded migrations.
//!
//! Queries use sqlx's `Any` driver with `$1` placeholders, which both
//! backends accept, so one code path serves both. SQLite gets a separate
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
                let writer = sqlite_pool(&url, 1).await?;
                // WAL is a property of the file; set it once before readers open.
                sqlx::query("PRAGMA journal_mode=WAL")
                    .execute(&writer)
                    .await
                    .with_context(|| format!("enabling WAL on {redacted}"))?;
                let reader = sqlite_pool(&url, 4).await?;
                (reader, writer)
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(5))
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

async fn sqlite_pool(url: &str, max: u32) -> anyhow::Result<AnyPool> {
    // Validate the URL with the SQLite driver's own parser for a clear error.
    sqlx::sqlite::SqliteConnectOptions::from_str(url)
        .with_context(|| format!("bad SQLite URL `{url}`"))?;
    AnyPoolOptions::new()
        .max_connections(max)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute(
                    "PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON;",
                )
                .await?;
                Ok(())
            })
        })
        .connect(url)
        .await
        .with_context(|| format!("opening {url}"))
}

/// `($1, $2), ($3, $4)` for `rows` rows of `columns` values: the VALUES of
/// one multi-row INSERT, in the `$n` form SQLite and PostgreSQL both read.
pub fn values_placeholders(rows: usize, columns: usize) -> String {
    let mut out = String::with_capacity(rows * columns * 5);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..columns {
            if c > 0 {
                out.push_str(", ");
            }
            out.push('$');
            out.push_str(&(r * columns + c + 1).to_string());
        }
        out.push(')');
    }
    out
}

/// Rows per multi-row INSERT: far below SQLite's 32,766 bound variables and
/// PostgreSQL's 65,535 parameters for any of our tables.
pub const ROWS_PER_INSERT: usize = 1000;

/// Current time as microseconds since the Unix epoch, the storage format for times.
pub fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

pub fn micros_to_datetime(us: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_micros(us).unwrap_or_default()
}
