//! The PostgreSQL store: a pool on a database that several replicas may share.
//!
//! Owns the connection settings (pool size, optional schema via `search_path`), the
//! PostgreSQL migrations and the row decoding (timestamps are TIMESTAMPTZ). Claims stay
//! correct across pools because each step is one autocommitted statement: concurrent
//! `INSERT … ON CONFLICT DO NOTHING` on one key wait for the first inserter and then do
//! nothing, and a conditional `UPDATE` that waited on the row lock re-checks its `WHERE`
//! against the committed winner (READ COMMITTED re-evaluation) and so matches no row.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::query::Query;
use sqlx::{ConnectOptions, Connection, PgPool, Postgres, Row};
use uuid::Uuid;

use super::evidence::{EvidenceRow, EvidenceState, NewEvidence};
use super::{
    claim_with, held, sql, to_stored_precision, ClaimOutcome, ClaimStore, IssueRecord, Ledger,
    LedgerEntry, LedgerError, StoredRow,
};
use crate::result_key::ResultKey;

static MIGRATOR: Migrator = sqlx::migrate!("src/ledger/migrations/postgres");

/// SQLSTATEs meaning "someone else created this schema at the same moment".
const DUPLICATE_SCHEMA: &str = "42P06";
const UNIQUE_VIOLATION: &str = "23505";

/// A [`Ledger`] on PostgreSQL.
pub(crate) struct PgLedger {
    pool: PgPool,
}

impl PgLedger {
    /// Opens `url` with a pool of `max_connections`, optionally confined to `schema` (created
    /// if missing), and runs the migrations.
    pub(crate) async fn connect(
        url: &str,
        max_connections: u32,
        schema: Option<&str>,
    ) -> Result<Self, LedgerError> {
        let mut options =
            PgConnectOptions::from_str(url).map_err(|e| LedgerError::InvalidUrl(e.to_string()))?;
        if let Some(schema) = schema {
            check_identifier(schema)?;
            create_schema(&options, schema).await?;
            // A startup parameter rather than `SET` in after_connect: it costs no round trip
            // and survives anything that resets session state.
            options = options.options([("search_path", schema)]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    async fn fetch_entry<'q>(
        &self,
        query: Query<'q, Postgres, PgArguments>,
    ) -> Result<Option<LedgerEntry>, LedgerError> {
        let row = query.fetch_optional(&self.pool).await?;
        row.as_ref().map(decode).transpose()
    }
}

/// Only plain identifiers are accepted, so the name can be spliced into DDL and a
/// `search_path` option without quoting rules to get wrong.
fn check_identifier(schema: &str) -> Result<(), LedgerError> {
    let mut chars = schema.chars();
    let valid = schema.len() <= 63
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(LedgerError::InvalidUrl(format!(
            "schema {schema:?} is not a plain identifier"
        )))
    }
}

async fn create_schema(options: &PgConnectOptions, schema: &str) -> Result<(), LedgerError> {
    let mut conn = options.connect().await?;
    // Lower-cased because PostgreSQL folds the unquoted name in search_path the same way.
    let ddl = format!(
        "CREATE SCHEMA IF NOT EXISTS {}",
        schema.to_ascii_lowercase()
    );
    let created = sqlx::query(&ddl).execute(&mut conn).await;
    conn.close().await?;
    match created {
        Ok(_) => Ok(()),
        // IF NOT EXISTS is not race-free: two replicas starting together can both miss the
        // schema and one then trips over the other's catalog row. The schema exists either way.
        Err(sqlx::Error::Database(e))
            if e.code()
                .is_some_and(|c| c == DUPLICATE_SCHEMA || c == UNIQUE_VIOLATION) =>
        {
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

fn decode(row: &PgRow) -> Result<LedgerEntry, LedgerError> {
    let stored = StoredRow {
        result_key: row.try_get("result_key")?,
        execution_id: row.try_get("execution_id")?,
        test_case_id: row.try_get("test_case_id")?,
        variation_id: row.try_get("variation_id")?,
        project: row.try_get("project")?,
        state: row.try_get("state")?,
        owner: row.try_get("owner")?,
        attempts: row.try_get("attempts")?,
        claimed_at: row.try_get("claimed_at")?,
        updated_at: row.try_get("updated_at")?,
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
impl ClaimStore for PgLedger {
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
            .bind(to_stored_precision(now))
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
            .bind(to_stored_precision(now))
            .bind(old.state.as_str())
            .bind(&old.owner)
            .bind(old.claimed_at)
            .bind(i64::from(old.attempts))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait::async_trait]
impl Ledger for PgLedger {
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
            .bind(to_stored_precision(now))
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
            .bind(to_stored_precision(now))
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

super::evidence::evidence_store!(PgLedger, PgRow, super::evidence::sql::CLAIM_POSTGRES);
