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
use sqlx::query::Query;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, Sqlite, SqlitePool};
use uuid::Uuid;

use super::evidence::{EvidenceRow, EvidenceState, NewEvidence};
use super::{
    claim_with, held, sql, to_stored_precision, ClaimOutcome, ClaimStore, IssueRecord, Ledger,
    LedgerEntry, LedgerError, StoredRow,
};
use crate::result_key::ResultKey;

static MIGRATOR: Migrator = sqlx::migrate!("src/ledger/migrations/sqlite");

/// How long a statement waits for another connection's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A [`Ledger`] on SQLite.
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

    async fn fetch_entry<'q>(
        &self,
        query: Query<'q, Sqlite, SqliteArguments<'q>>,
    ) -> Result<Option<LedgerEntry>, LedgerError> {
        let row = query.fetch_optional(&self.pool).await?;
        row.as_ref().map(decode).transpose()
    }
}

/// Whether `url` names an in-memory database (`sqlite::memory:` or `mode=memory`).
fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

fn millis(t: DateTime<Utc>) -> i64 {
    to_stored_precision(t).timestamp_millis()
}

fn from_millis(ms: i64, column: &str) -> Result<DateTime<Utc>, LedgerError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| LedgerError::Corrupt(format!("{column} out of range: {ms}")))
}

fn decode(row: &SqliteRow) -> Result<LedgerEntry, LedgerError> {
    let stored = StoredRow {
        result_key: row.try_get("result_key")?,
        execution_id: row.try_get("execution_id")?,
        test_case_id: row.try_get("test_case_id")?,
        variation_id: row.try_get("variation_id")?,
        project: row.try_get("project")?,
        state: row.try_get("state")?,
        owner: row.try_get("owner")?,
        attempts: row.try_get("attempts")?,
        claimed_at: from_millis(row.try_get("claimed_at")?, "claimed_at")?,
        updated_at: from_millis(row.try_get("updated_at")?, "updated_at")?,
        issue_key: row.try_get("issue_key")?,
        issue_id: row.try_get("issue_id")?,
        browse_url: row.try_get("browse_url")?,
        summary: row.try_get("summary")?,
        status: row.try_get("status")?,
        priority: row.try_get("priority")?,
        remote_link_done: row.try_get("remote_link_done")?,
        last_error: row.try_get("last_error")?,
    };
    LedgerEntry::try_from(stored)
}

#[async_trait::async_trait]
impl ClaimStore for SqliteLedger {
    async fn insert_claim(
        &self,
        key: &ResultKey,
        project: &str,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, LedgerError> {
        let done = sqlx::query(sql::INSERT_CLAIM)
            .bind(key.canonical())
            .bind(key.test_execution_id.to_string())
            .bind(key.test_case_id.to_string())
            .bind(key.variation_id.as_deref())
            .bind(project)
            .bind(owner)
            .bind(millis(now))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn fetch(&self, key: &ResultKey) -> Result<Option<LedgerEntry>, LedgerError> {
        self.fetch_entry(sqlx::query(sql::GET).bind(key.canonical()))
            .await
    }

    async fn take_over(
        &self,
        old: &LedgerEntry,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, LedgerError> {
        let done = sqlx::query(sql::TAKE_OVER)
            .bind(old.key.canonical())
            .bind(owner)
            .bind(millis(now))
            .bind(old.state.as_str())
            .bind(&old.owner)
            .bind(millis(old.claimed_at))
            .bind(i64::from(old.attempts))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait::async_trait]
impl Ledger for SqliteLedger {
    async fn claim(
        &self,
        key: &ResultKey,
        project: &str,
        owner: &str,
        now: DateTime<Utc>,
        stale_after: Duration,
    ) -> Result<ClaimOutcome, LedgerError> {
        claim_with(self, key, project, owner, now, stale_after).await
    }

    async fn record_issue(
        &self,
        key: &ResultKey,
        owner: &str,
        issue: &IssueRecord,
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        let done = sqlx::query(sql::RECORD_ISSUE)
            .bind(key.canonical())
            .bind(owner)
            .bind(&issue.issue_key)
            .bind(&issue.issue_id)
            .bind(&issue.browse_url)
            .bind(&issue.summary)
            .bind(issue.status.as_deref())
            .bind(issue.priority.as_deref())
            .bind(millis(now))
            .execute(&self.pool)
            .await?;
        held(done.rows_affected())
    }

    async fn mark_uncertain(
        &self,
        key: &ResultKey,
        owner: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        let done = sqlx::query(sql::MARK_UNCERTAIN)
            .bind(key.canonical())
            .bind(owner)
            .bind(reason)
            .bind(millis(now))
            .execute(&self.pool)
            .await?;
        held(done.rows_affected())
    }

    async fn release(&self, key: &ResultKey, owner: &str) -> Result<(), LedgerError> {
        let done = sqlx::query(sql::RELEASE)
            .bind(key.canonical())
            .bind(owner)
            .execute(&self.pool)
            .await?;
        held(done.rows_affected())
    }

    async fn mark_linked(&self, key: &ResultKey) -> Result<(), LedgerError> {
        let done = sqlx::query(sql::MARK_LINKED)
            .bind(key.canonical())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            tracing::warn!(key = %key, "mark_linked: no created ledger entry for this result");
        }
        Ok(())
    }

    async fn get(&self, key: &ResultKey) -> Result<Option<LedgerEntry>, LedgerError> {
        self.fetch(key).await
    }

    async fn latest_issue_for_test_case(
        &self,
        project: &str,
        test_case_id: Uuid,
    ) -> Result<Option<LedgerEntry>, LedgerError> {
        self.fetch_entry(
            sqlx::query(sql::LATEST_FOR_TEST_CASE)
                .bind(project)
                .bind(test_case_id.to_string()),
        )
        .await
    }

    async fn recent(&self, limit: u32) -> Result<Vec<LedgerEntry>, LedgerError> {
        let rows = sqlx::query(sql::RECENT)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(decode).collect()
    }

    async fn count_by_state(&self) -> Result<Vec<(String, u64)>, LedgerError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM ledger_entries GROUP BY state")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(state, n)| (state, n.max(0) as u64))
            .collect())
    }

    async fn ping(&self) -> Result<(), LedgerError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn enqueue_evidence(
        &self,
        items: &[NewEvidence],
        now: DateTime<Utc>,
    ) -> Result<u64, LedgerError> {
        self.ev_enqueue(items, now).await
    }

    async fn claim_evidence(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        stale_after: Duration,
    ) -> Result<Option<EvidenceRow>, LedgerError> {
        self.ev_claim(owner, now, stale_after).await
    }

    async fn settle_evidence(
        &self,
        id: &str,
        owner: &str,
        state: EvidenceState,
        size: Option<u64>,
        note: Option<&str>,
    ) -> Result<(), LedgerError> {
        self.ev_settle(id, owner, state, size, note).await
    }

    async fn retry_evidence(
        &self,
        id: &str,
        owner: &str,
        error: &str,
        not_before: DateTime<Utc>,
        counts: bool,
    ) -> Result<(), LedgerError> {
        self.ev_retry(id, owner, error, not_before, counts).await
    }

    async fn renew_evidence(
        &self,
        id: &str,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        self.ev_renew(id, owner, now).await
    }

    async fn evidence_for_issue(&self, issue_key: &str) -> Result<Vec<EvidenceRow>, LedgerError> {
        self.ev_for_issue(issue_key).await
    }
}

super::evidence::evidence_store!(SqliteLedger, SqliteRow, super::evidence::sql::CLAIM_SQLITE);
