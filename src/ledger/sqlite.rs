//! The SQLite store: one pool on one database file (or a private in-memory database).
//!
//! Owns the connection settings (WAL, busy timeout, in-memory pooling), the encoding of
//! timestamps as integer Unix milliseconds, and the SQLite migrations. Every write is a single
//! autocommitted statement: SQLite takes the write lock at the start of such a statement and
//! retries through the busy handler, so concurrent claims from many tasks or processes wait
//! (up to `busy_timeout`) instead of failing with `SQLITE_BUSY`. A read-then-write transaction
//! would not get that retry in WAL mode, which is why none is used.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::claim::to_stored_precision;
use super::error::LedgerError;

static MIGRATOR: Migrator = sqlx::migrate!("src/ledger/migrations/sqlite");

/// How long a statement waits for another connection's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The ledger's ports ([`super::Ledger`], [`super::EvidenceQueue`],
/// [`super::WritebackLedger`]) on SQLite.
pub(crate) struct SqliteLedger {
    pool: SqlitePool,
}

impl SqliteLedger {
    /// Opens `url` (see [`super::connect`]) and runs the migrations.
    pub(crate) async fn connect(url: &str, max_connections: u32) -> Result<Self, LedgerError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| LedgerError::InvalidUrl(e.to_string()))?
            .busy_timeout(BUSY_TIMEOUT);
        let pool = if is_in_memory(url) {
            // sqlx names each `:memory:` URL uniquely with a shared cache, but the database
            // dies with its last connection: keep exactly one, forever. One connection also
            // avoids shared-cache table locks, which the busy timeout does not cover.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await?
        } else {
            // Blocking I/O on the runtime is acceptable here: it runs once, at startup.
            let file = options.get_filename();
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| LedgerError::Store(e.into()))?;
            }
            // WAL lets readers proceed during a write. `synchronous` is pinned to FULL rather
            // than WAL's usual NORMAL: a commit lost to a power cut could let a result be
            // claimed and created twice.
            let options = options
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full);
            SqlitePoolOptions::new()
                .max_connections(max_connections)
                .connect_with(options)
                .await?
        };
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }
}

/// Whether `url` names an in-memory database (`sqlite::memory:` or `mode=memory`).
fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// Claims and queue leases are taken, renewed and judged by the caller's clock: one process
/// owns the store, so there is no other clock to disagree with.
async fn local_clock(
    _pool: &SqlitePool,
    local: DateTime<Utc>,
) -> Result<DateTime<Utc>, LedgerError> {
    Ok(local)
}

/// A `ledger_entries` timestamp as stored: integer Unix milliseconds.
fn millis(t: DateTime<Utc>) -> i64 {
    to_stored_precision(t).timestamp_millis()
}

/// Reads back a timestamp stored by [`millis`] in `column`.
fn read_millis(ms: i64, column: &str) -> Result<DateTime<Utc>, LedgerError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| LedgerError::Corrupt(format!("{column} out of range: {ms}")))
}

super::store::sql_store! {
    store: SqliteLedger,
    time: millis,
    read_time: read_millis,
    clock: local_clock,
    claim_evidence: crate::ledger::evidence_sql::sql::CLAIM_SQLITE,
}

super::writeback_store::sql_writeback! {
    store: SqliteLedger,
    time: millis,
    read_time: read_millis,
    clock: local_clock,
    claim: crate::ledger::writeback_sql::sql::CLAIM_SQLITE,
}
