//! The store both SQL databases share, written once: [`sql_store!`] implements
//! [`Ledger`](super::Ledger), [`EvidenceQueue`](super::EvidenceQueue) and the claim
//! primitives for a store type with a `pool` field.
//!
//! A macro rather than a generic over `sqlx::Database`: a generic impl would need an
//! `Encode`/`Decode` bound per value type it binds, repeated on every impl, and sqlx has no
//! common trait for a statement's row count. All statements are shared; a store names only its
//! dialect:
//!
//! - `time`/`read_time`: how a `ledger_entries` timestamp is bound, and turned back from
//!   the column's type into a time (integer milliseconds on SQLite, `TIMESTAMPTZ` on
//!   PostgreSQL);
//! - `clock`: the time claims of results and leases of the evidence queue are taken, renewed
//!   and judged stale at (an `async fn(&pool, local) -> Result<DateTime<Utc>, LedgerError>`,
//!   see [`ClaimStore::clock`](super::claim::ClaimStore::clock)): the database's on
//!   PostgreSQL, the caller's on SQLite;
//! - `claim_evidence`: the evidence claim statement (a full path), whose row locking differs.

/// Runs `$sql` on `$pool` with each `$arg` bound in turn (`$1`, `$2`, …) and evaluates to
/// the number of rows it changed; a failure returns from the enclosing function.
macro_rules! execute {
    ($pool:expr, $sql:expr; $($arg:expr),* $(,)?) => {
        sqlx::query($sql)$(.bind($arg))*.execute($pool).await?.rows_affected()
    };
}
pub(crate) use execute;

/// Implements the ledger's ports for `$store` (see the module docs for the dialect slots).
///
/// The method signatures restate the traits', so they are kept short here; the contracts
/// are documented on [`Ledger`](super::Ledger) and [`EvidenceQueue`](super::EvidenceQueue).
macro_rules! sql_store {
    (
        store: $store:ty,
        time: $time:path,
        read_time: $read_time:path,
        clock: $clock:path,
        claim_evidence: $claim:expr $(,)?
    ) => {
        // An anonymous const: its imports shadow the store's own instead of clashing.
        const _: () = {
            use std::time::Duration;

            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            use $crate::ledger::claim::{claim_with, ClaimStore};
            use $crate::ledger::entry_sql::{sql as entry_sql, StoredRow};
            use $crate::ledger::error::{held, LedgerError};
            use $crate::ledger::evidence::{EvidenceQueue, EvidenceRow, EvidenceState, NewEvidence};
            use $crate::ledger::evidence_sql::{size_to_db, sql as evidence_sql, RawEvidence};
            use $crate::ledger::lease::{lease_fetch, to_millis};
            use $crate::ledger::results::{ClaimOutcome, IssueRecord, Ledger, LedgerEntry};
            use $crate::ledger::store::execute;
            use $crate::result_key::ResultKey;

            #[async_trait::async_trait]
            impl ClaimStore for $store {
                async fn clock(&self, local: DateTime<Utc>) -> Result<DateTime<Utc>, LedgerError> {
                    $clock(&self.pool, local).await
                }

                async fn insert_claim(
                    &self, key: &ResultKey, project: &str, owner: &str, now: DateTime<Utc>,
                ) -> Result<bool, LedgerError> {
                    let inserted = execute!(&self.pool, entry_sql::INSERT_CLAIM;
                        key.canonical(), key.test_execution_id.to_string(),
                        key.test_case_id.to_string(), key.variation_id.as_deref(), project,
                        owner, $time(now));
                    Ok(inserted == 1)
                }

                async fn fetch(&self, key: &ResultKey) -> Result<Option<LedgerEntry>, LedgerError> {
                    let row: Option<StoredRow<_>> = sqlx::query_as(entry_sql::GET)
                        .bind(key.canonical())
                        .fetch_optional(&self.pool)
                        .await?;
                    row.map(|row| row.decode($read_time)).transpose()
                }

                async fn take_over(
                    &self, old: &LedgerEntry, owner: &str, now: DateTime<Utc>,
                ) -> Result<bool, LedgerError> {
                    let swapped = execute!(&self.pool, entry_sql::TAKE_OVER;
                        old.key.canonical(), owner, $time(now), old.state.as_str(), &old.owner,
                        $time(old.claimed_at), i64::from(old.attempts));
                    Ok(swapped == 1)
                }
            }

            #[async_trait::async_trait]
            impl Ledger for $store {
                async fn claim(
                    &self, key: &ResultKey, project: &str, owner: &str, now: DateTime<Utc>,
                    stale_after: Duration,
                ) -> Result<ClaimOutcome, LedgerError> {
                    claim_with(self, key, project, owner, now, stale_after).await
                }

                async fn record_issue(
                    &self, key: &ResultKey, owner: &str, issue: &IssueRecord, now: DateTime<Utc>,
                ) -> Result<(), LedgerError> {
                    held(execute!(&self.pool, entry_sql::RECORD_ISSUE;
                        key.canonical(), owner, &issue.issue_key, &issue.issue_id,
                        &issue.browse_url, &issue.summary, issue.status.as_deref(),
                        issue.priority.as_deref(), $time(now)))
                }

                async fn mark_uncertain(
                    &self, key: &ResultKey, owner: &str, reason: &str, now: DateTime<Utc>,
                ) -> Result<(), LedgerError> {
                    held(execute!(&self.pool, entry_sql::MARK_UNCERTAIN;
                        key.canonical(), owner, reason, $time(now)))
                }

                async fn release(&self, key: &ResultKey, owner: &str) -> Result<(), LedgerError> {
                    held(execute!(&self.pool, entry_sql::RELEASE; key.canonical(), owner))
                }

                async fn mark_linked(&self, key: &ResultKey) -> Result<(), LedgerError> {
                    if execute!(&self.pool, entry_sql::MARK_LINKED; key.canonical()) == 0 {
                        tracing::warn!(key = %key, "mark_linked: no created ledger entry for this result");
                    }
                    Ok(())
                }

                async fn get(&self, key: &ResultKey) -> Result<Option<LedgerEntry>, LedgerError> {
                    ClaimStore::fetch(self, key).await
                }

                async fn latest_issue_for_test_case(
                    &self, project: &str, test_case_id: Uuid,
                ) -> Result<Option<LedgerEntry>, LedgerError> {
                    let row: Option<StoredRow<_>> = sqlx::query_as(entry_sql::LATEST_FOR_TEST_CASE)
                        .bind(project)
                        .bind(test_case_id.to_string())
                        .fetch_optional(&self.pool)
                        .await?;
                    row.map(|row| row.decode($read_time)).transpose()
                }

                async fn recent(&self, limit: u32) -> Result<Vec<LedgerEntry>, LedgerError> {
                    let rows: Vec<StoredRow<_>> = sqlx::query_as(entry_sql::RECENT)
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await?;
                    rows.into_iter().map(|row| row.decode($read_time)).collect()
                }

                async fn count_by_state(&self) -> Result<Vec<(String, u64)>, LedgerError> {
                    let rows: Vec<(String, i64)> =
                        sqlx::query_as("SELECT state, COUNT(*) FROM ledger_entries GROUP BY state")
                            .fetch_all(&self.pool)
                            .await?;
                    Ok(rows.into_iter().map(|(state, n)| (state, n.max(0) as u64)).collect())
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
                    &self, items: &[NewEvidence], now: DateTime<Utc>,
                ) -> Result<u64, LedgerError> {
                    let mut inserted = 0;
                    for (seq, new) in items.iter().enumerate() {
                        let item = &new.item;
                        inserted += execute!(&self.pool, evidence_sql::ENQUEUE;
                            Uuid::new_v4().to_string(), &item.issue_key, &item.route,
                            &item.log_id, item.kind.as_str(), &item.source_id, &item.file_name,
                            size_to_db(new.size_bytes), new.state.as_str(),
                            new.note.as_deref(), seq as i64, to_millis(now));
                    }
                    Ok(inserted)
                }

                async fn claim(
                    &self, owner: &str, now: DateTime<Utc>, stale_after: Duration,
                ) -> Result<Option<EvidenceRow>, LedgerError> {
                    let now = $clock(&self.pool, now).await?;
                    lease_fetch!(&self.pool, $claim, RawEvidence; owner, now, stale_after)
                }

                async fn settle(
                    &self, id: &str, owner: &str, state: EvidenceState, size: Option<u64>,
                    note: Option<&str>,
                ) -> Result<(), LedgerError> {
                    held(execute!(&self.pool, evidence_sql::SETTLE;
                        id, owner, state.as_str(), size_to_db(size), note))
                }

                async fn retry(
                    &self, id: &str, owner: &str, error: &str, not_before: DateTime<Utc>,
                    counts: bool,
                ) -> Result<(), LedgerError> {
                    held(execute!(&self.pool, evidence_sql::RETRY;
                        id, owner, error, to_millis(not_before), i64::from(counts)))
                }

                async fn renew(
                    &self, id: &str, owner: &str, now: DateTime<Utc>,
                ) -> Result<(), LedgerError> {
                    let now = $clock(&self.pool, now).await?;
                    held(execute!(&self.pool, evidence_sql::RENEW; id, owner, to_millis(now)))
                }

                async fn for_issue(&self, issue_key: &str) -> Result<Vec<EvidenceRow>, LedgerError> {
                    let rows: Vec<RawEvidence> = sqlx::query_as(evidence_sql::FOR_ISSUE)
                        .bind(issue_key)
                        .fetch_all(&self.pool)
                        .await?;
                    rows.into_iter().map(TryInto::try_into).collect()
                }

                async fn count_by_state(&self) -> Result<Vec<(EvidenceState, u64)>, LedgerError> {
                    let rows: Vec<(String, i64)> = sqlx::query_as(evidence_sql::COUNT_BY_STATE)
                        .fetch_all(&self.pool)
                        .await?;
                    rows.into_iter()
                        .map(|(state, n)| Ok((state.parse()?, n.max(0) as u64)))
                        .collect()
                }

                async fn outstanding(&self, limit: u32) -> Result<Vec<EvidenceRow>, LedgerError> {
                    let rows: Vec<RawEvidence> = sqlx::query_as(evidence_sql::OUTSTANDING)
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await?;
                    rows.into_iter().map(TryInto::try_into).collect()
                }
            }
        };
    };
}
pub(crate) use sql_store;
