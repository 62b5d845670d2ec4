//! The store both SQL databases share, written once: [`sql_store!`] implements
//! [`Ledger`](super::Ledger), [`EvidenceQueue`](super::EvidenceQueue) and the claim
//! primitives for a store type with a `pool` field.
//!
//! A macro rather than a generic over `sqlx::Database`: a generic impl would need an
//! `Encode`/`Decode` bound per bound type, repeated on every impl, and sqlx has no common
//! trait for a statement's row count. All statements are shared; a store names only its
//! dialect:
//!
//! - `row`: its row type;
//! - `time`/`read_time`: how a `ledger_entries` timestamp is bound and read back (integer
//!   milliseconds on SQLite, `TIMESTAMPTZ` on PostgreSQL);
//! - `claim_evidence`: the evidence claim statement (a full path), whose row locking differs.

/// Implements the ledger's ports for `$store` (see the module docs for the dialect slots).
macro_rules! sql_store {
    (
        store: $store:ty,
        row: $row:ty,
        time: $time:path,
        read_time: $read_time:path,
        claim_evidence: $claim:expr $(,)?
    ) => {
        // An anonymous const: its imports shadow the store's own instead of clashing.
        const _: () = {
            use std::time::Duration;

            use chrono::{DateTime, Utc};
            use sqlx::Row;
            use uuid::Uuid;

            use $crate::ledger::claim::{claim_with, ClaimStore};
            use $crate::ledger::entry_sql::{sql as entry_sql, StoredRow};
            use $crate::ledger::error::{held, LedgerError};
            use $crate::ledger::evidence::{EvidenceQueue, EvidenceRow, EvidenceState, NewEvidence};
            use $crate::ledger::evidence_sql::{size_to_db, sql as evidence_sql, RawEvidence};
            use $crate::ledger::lease::{stale_before, to_millis};
            use $crate::ledger::results::{ClaimOutcome, IssueRecord, Ledger, LedgerEntry};
            use $crate::result_key::ResultKey;

            /// Decodes a `ledger_entries` row.
            fn decode_entry(
                row: &$row,
            ) -> Result<LedgerEntry, LedgerError> {
                StoredRow {
                    result_key: row.try_get("result_key")?,
                    execution_id: row.try_get("execution_id")?,
                    test_case_id: row.try_get("test_case_id")?,
                    variation_id: row.try_get("variation_id")?,
                    project: row.try_get("project")?,
                    state: row.try_get("state")?,
                    owner: row.try_get("owner")?,
                    attempts: row.try_get("attempts")?,
                    claimed_at: $read_time(row, "claimed_at")?,
                    updated_at: $read_time(row, "updated_at")?,
                    issue_key: row.try_get("issue_key")?,
                    issue_id: row.try_get("issue_id")?,
                    browse_url: row.try_get("browse_url")?,
                    summary: row.try_get("summary")?,
                    status: row.try_get("status")?,
                    priority: row.try_get("priority")?,
                    remote_link_done: row.try_get("remote_link_done")?,
                    last_error: row.try_get("last_error")?,
                }
                .try_into()
            }

            #[async_trait::async_trait]
            impl ClaimStore for $store {
                async fn insert_claim(
                    &self,
                    key: &ResultKey,
                    project: &str,
                    owner: &str,
                    now: DateTime<Utc>,
                ) -> Result<bool, LedgerError> {
                    let done = sqlx::query(entry_sql::INSERT_CLAIM)
                        .bind(key.canonical())
                        .bind(key.test_execution_id.to_string())
                        .bind(key.test_case_id.to_string())
                        .bind(key.variation_id.as_deref())
                        .bind(project)
                        .bind(owner)
                        .bind($time(now))
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn fetch(
                    &self,
                    key: &ResultKey,
                ) -> Result<Option<LedgerEntry>, LedgerError> {
                    let row = sqlx::query(entry_sql::GET)
                        .bind(key.canonical())
                        .fetch_optional(&self.pool)
                        .await?;
                    row.as_ref().map(decode_entry).transpose()
                }

                async fn take_over(
                    &self,
                    old: &LedgerEntry,
                    owner: &str,
                    now: DateTime<Utc>,
                ) -> Result<bool, LedgerError> {
                    let done = sqlx::query(entry_sql::TAKE_OVER)
                        .bind(old.key.canonical())
                        .bind(owner)
                        .bind($time(now))
                        .bind(old.state.as_str())
                        .bind(&old.owner)
                        .bind($time(old.claimed_at))
                        .bind(i64::from(old.attempts))
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected() == 1)
                }
            }

            #[async_trait::async_trait]
            impl Ledger for $store {
                async fn claim(
                    &self,
                    key: &ResultKey,
                    project: &str,
                    owner: &str,
                    now: DateTime<Utc>,
                    stale_after: Duration,
                ) -> Result<ClaimOutcome, LedgerError> {
                    claim_with(self, key, project, owner, now, stale_after)
                        .await
                }

                async fn record_issue(
                    &self,
                    key: &ResultKey,
                    owner: &str,
                    issue: &IssueRecord,
                    now: DateTime<Utc>,
                ) -> Result<(), LedgerError> {
                    let done = sqlx::query(entry_sql::RECORD_ISSUE)
                        .bind(key.canonical())
                        .bind(owner)
                        .bind(&issue.issue_key)
                        .bind(&issue.issue_id)
                        .bind(&issue.browse_url)
                        .bind(&issue.summary)
                        .bind(issue.status.as_deref())
                        .bind(issue.priority.as_deref())
                        .bind($time(now))
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
                    let done = sqlx::query(entry_sql::MARK_UNCERTAIN)
                        .bind(key.canonical())
                        .bind(owner)
                        .bind(reason)
                        .bind($time(now))
                        .execute(&self.pool)
                        .await?;
                    held(done.rows_affected())
                }

                async fn release(
                    &self,
                    key: &ResultKey,
                    owner: &str,
                ) -> Result<(), LedgerError> {
                    let done = sqlx::query(entry_sql::RELEASE)
                        .bind(key.canonical())
                        .bind(owner)
                        .execute(&self.pool)
                        .await?;
                    held(done.rows_affected())
                }

                async fn mark_linked(
                    &self,
                    key: &ResultKey,
                ) -> Result<(), LedgerError> {
                    let done = sqlx::query(entry_sql::MARK_LINKED)
                        .bind(key.canonical())
                        .execute(&self.pool)
                        .await?;
                    if done.rows_affected() == 0 {
                        tracing::warn!(key = %key, "mark_linked: no created ledger entry for this result");
                    }
                    Ok(())
                }

                async fn get(
                    &self,
                    key: &ResultKey,
                ) -> Result<Option<LedgerEntry>, LedgerError> {
                    ClaimStore::fetch(self, key).await
                }

                async fn latest_issue_for_test_case(
                    &self,
                    project: &str,
                    test_case_id: Uuid,
                ) -> Result<Option<LedgerEntry>, LedgerError> {
                    let row = sqlx::query(entry_sql::LATEST_FOR_TEST_CASE)
                        .bind(project)
                        .bind(test_case_id.to_string())
                        .fetch_optional(&self.pool)
                        .await?;
                    row.as_ref().map(decode_entry).transpose()
                }

                async fn recent(
                    &self,
                    limit: u32,
                ) -> Result<Vec<LedgerEntry>, LedgerError> {
                    let rows = sqlx::query(entry_sql::RECENT)
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter().map(decode_entry).collect()
                }

                async fn count_by_state(
                    &self,
                ) -> Result<Vec<(String, u64)>, LedgerError> {
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
            }

            #[async_trait::async_trait]
            impl EvidenceQueue for $store {
                async fn enqueue(
                    &self,
                    items: &[NewEvidence],
                    now: DateTime<Utc>,
                ) -> Result<u64, LedgerError> {
                    let mut inserted = 0;
                    for (seq, item) in items.iter().enumerate() {
                        let done = sqlx::query(evidence_sql::ENQUEUE)
                            .bind(Uuid::new_v4().to_string())
                            .bind(&item.issue_key)
                            .bind(&item.route)
                            .bind(&item.log_id)
                            .bind(item.kind.as_str())
                            .bind(&item.source_id)
                            .bind(&item.file_name)
                            .bind(size_to_db(item.size_bytes))
                            .bind(item.state.as_str())
                            .bind(item.note.as_deref())
                            .bind(seq as i64)
                            .bind(to_millis(now))
                            .execute(&self.pool)
                            .await?;
                        inserted += done.rows_affected();
                    }
                    Ok(inserted)
                }

                async fn claim(
                    &self,
                    owner: &str,
                    now: DateTime<Utc>,
                    stale_after: Duration,
                ) -> Result<Option<EvidenceRow>, LedgerError> {
                    let row: Option<RawEvidence> =
                        sqlx::query_as($claim)
                            .bind(owner)
                            .bind(to_millis(now))
                            .bind(stale_before(now, stale_after))
                            .fetch_optional(&self.pool)
                            .await?;
                    row.map(TryInto::try_into).transpose()
                }

                async fn settle(
                    &self,
                    id: &str,
                    owner: &str,
                    state: EvidenceState,
                    size: Option<u64>,
                    note: Option<&str>,
                ) -> Result<(), LedgerError> {
                    let done = sqlx::query(evidence_sql::SETTLE)
                        .bind(id)
                        .bind(owner)
                        .bind(state.as_str())
                        .bind(size_to_db(size))
                        .bind(note)
                        .execute(&self.pool)
                        .await?;
                    held(done.rows_affected())
                }

                async fn retry(
                    &self,
                    id: &str,
                    owner: &str,
                    error: &str,
                    not_before: DateTime<Utc>,
                    counts: bool,
                ) -> Result<(), LedgerError> {
                    let done = sqlx::query(evidence_sql::RETRY)
                        .bind(id)
                        .bind(owner)
                        .bind(error)
                        .bind(to_millis(not_before))
                        .bind(i64::from(counts))
                        .execute(&self.pool)
                        .await?;
                    held(done.rows_affected())
                }

                async fn renew(
                    &self,
                    id: &str,
                    owner: &str,
                    now: DateTime<Utc>,
                ) -> Result<(), LedgerError> {
                    let done = sqlx::query(evidence_sql::RENEW)
                        .bind(id)
                        .bind(owner)
                        .bind(to_millis(now))
                        .execute(&self.pool)
                        .await?;
                    held(done.rows_affected())
                }

                async fn for_issue(
                    &self,
                    issue_key: &str,
                ) -> Result<Vec<EvidenceRow>, LedgerError> {
                    let rows: Vec<RawEvidence> =
                        sqlx::query_as(evidence_sql::FOR_ISSUE)
                            .bind(issue_key)
                            .fetch_all(&self.pool)
                            .await?;
                    rows.into_iter().map(TryInto::try_into).collect()
                }
            }
        };
    };
}
pub(crate) use sql_store;
