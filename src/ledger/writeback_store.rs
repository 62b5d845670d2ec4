//! The [`WritebackLedger`](super::WritebackLedger) port, written once for both stores:
//! [`sql_writeback!`] implements it for a store type with a `pool` field, next to what
//! [`super::store`]'s `sql_store!` implements. Each store invokes it with its dialect:
//!
//! - `time`/`read_time`: how a `ledger_entries` timestamp is bound and read back (the
//!   write-back columns of an entry keep the entry's time type);
//! - `clock`: the time the queue's leases are taken, held, renewed and judged stale at, as
//!   in `sql_store!` (the database's on PostgreSQL, the caller's on SQLite);
//! - `claim`: the queue's claim statement, whose row locking differs.

/// Implements [`WritebackLedger`](super::WritebackLedger) for `$store`; the contracts are
/// documented on the trait.
macro_rules! sql_writeback {
    (
        store: $store:ty,
        time: $time:path,
        read_time: $read_time:path,
        clock: $clock:path,
        claim: $claim:expr $(,)?
    ) => {
        // An anonymous const: its imports shadow the store's own instead of clashing.
        const _: () = {
            use std::time::Duration;

            use chrono::{DateTime, Utc};

            use $crate::ledger::error::{held, LedgerError};
            use $crate::ledger::lease::{lease_fetch, lease_until, stale_before, to_millis};
            use $crate::ledger::store::execute;
            use $crate::ledger::writeback::{
                WritebackJob, WritebackLedger, WritebackTarget, WrittenState,
            };
            use $crate::ledger::writeback_sql::{optional_millis, sql, RawJob, TargetRow};
            use $crate::result_key::ResultKey;

            #[async_trait::async_trait]
            impl WritebackLedger for $store {
                async fn seen_delivery(&self, delivery_id: &str) -> Result<bool, LedgerError> {
                    let count: i64 = sqlx::query_scalar(sql::SEEN_DELIVERY)
                        .bind(delivery_id)
                        .fetch_one(&self.pool)
                        .await?;
                    Ok(count > 0)
                }

                async fn first_delivery(
                    &self, delivery_id: &str, now: DateTime<Utc>,
                ) -> Result<bool, LedgerError> {
                    Ok(execute!(&self.pool, sql::FIRST_DELIVERY; delivery_id, to_millis(now)) == 1)
                }

                async fn forget_deliveries(&self, before: DateTime<Utc>) -> Result<u64, LedgerError> {
                    Ok(execute!(&self.pool, sql::FORGET_DELIVERIES; to_millis(before)))
                }

                async fn enqueue(
                    &self, issue_key: &str, seen_updated: Option<DateTime<Utc>>, now: DateTime<Utc>,
                ) -> Result<(), LedgerError> {
                    execute!(&self.pool, sql::ENQUEUE;
                        issue_key, seen_updated.map(to_millis), to_millis(now));
                    Ok(())
                }

                async fn claim(
                    &self, owner: &str, now: DateTime<Utc>, stale_after: Duration,
                ) -> Result<Option<WritebackJob>, LedgerError> {
                    let now = $clock(&self.pool, now).await?;
                    lease_fetch!(&self.pool, $claim, RawJob; owner, now, stale_after)
                }

                async fn hold(
                    &self, issue_key: &str, owner: &str, now: DateTime<Utc>, stale_after: Duration,
                ) -> Result<Option<WritebackJob>, LedgerError> {
                    let now = $clock(&self.pool, now).await?;
                    let row: Option<RawJob> = sqlx::query_as(sql::HOLD)
                        .bind(issue_key)
                        .bind(owner)
                        .bind(to_millis(now))
                        .bind(stale_before(now, stale_after))
                        .fetch_optional(&self.pool)
                        .await?;
                    row.map(TryInto::try_into).transpose()
                }

                async fn renew(
                    &self, job: &WritebackJob, owner: &str, now: DateTime<Utc>,
                ) -> Result<(), LedgerError> {
                    let now = $clock(&self.pool, now).await?;
                    held(execute!(&self.pool, sql::RENEW; &job.issue_key, owner, to_millis(now)))
                }

                async fn settle(
                    &self, job: &WritebackJob, owner: &str, now: DateTime<Utc>,
                ) -> Result<(), LedgerError> {
                    if execute!(&self.pool, sql::SETTLE_DONE; &job.issue_key, owner) == 1 {
                        return Ok(());
                    }
                    held(execute!(&self.pool, sql::SETTLE_RERUN;
                        &job.issue_key, owner, to_millis(now)))
                }

                async fn retry(
                    &self, job: &WritebackJob, owner: &str, not_before: DateTime<Utc>, error: &str,
                ) -> Result<(), LedgerError> {
                    held(execute!(&self.pool, sql::RETRY;
                        &job.issue_key, owner, to_millis(not_before), error))
                }

                async fn depth(&self) -> Result<u64, LedgerError> {
                    let (n,): (i64,) = sqlx::query_as(sql::DEPTH).fetch_one(&self.pool).await?;
                    Ok(n.max(0) as u64)
                }

                async fn targets(&self, issue_key: &str) -> Result<Vec<WritebackTarget>, LedgerError> {
                    let rows: Vec<TargetRow<_>> = sqlx::query_as(sql::TARGETS)
                        .bind(issue_key)
                        .fetch_all(&self.pool)
                        .await?;
                    rows.into_iter().map(|row| row.decode($read_time)).collect()
                }

                async fn issue_keys(&self, route: &str) -> Result<Vec<String>, LedgerError> {
                    let mut keys: Vec<String> = sqlx::query_scalar(sql::ISSUE_KEYS)
                        .bind(route)
                        .fetch_all(&self.pool)
                        .await?;
                    keys.sort_unstable();
                    Ok(keys)
                }

                async fn record_defect_id(
                    &self, key: &ResultKey, defect_id: &str,
                ) -> Result<(), LedgerError> {
                    if execute!(&self.pool, sql::RECORD_DEFECT_ID; key.canonical(), defect_id) == 0 {
                        tracing::warn!(key = %key, "record_defect_id: no ledger entry for this result");
                    }
                    Ok(())
                }

                async fn record_written(
                    &self, key: &ResultKey, written: &WrittenState,
                ) -> Result<bool, LedgerError> {
                    let recorded = execute!(&self.pool, sql::RECORD_WRITTEN;
                        key.canonical(), &written.status, written.priority.as_deref(),
                        $time(written.jira_updated), $time(written.written_at));
                    Ok(recorded == 1)
                }

                async fn record_skipped(
                    &self, key: &ResultKey, reason: &str, jira_updated: DateTime<Utc>,
                ) -> Result<(), LedgerError> {
                    if execute!(&self.pool, sql::RECORD_SKIPPED;
                        key.canonical(), reason, $time(jira_updated)) == 0 {
                        tracing::warn!(key = %key, "record_skipped: no ledger entry for this result");
                    }
                    Ok(())
                }

                async fn lease_poller(
                    &self, jira_project: &str, owner: &str, now: DateTime<Utc>, lease: Duration,
                ) -> Result<bool, LedgerError> {
                    let now = $clock(&self.pool, now).await?;
                    let leased = execute!(&self.pool, sql::LEASE_POLLER;
                        jira_project, owner, to_millis(now), lease_until(now, lease));
                    Ok(leased == 1)
                }

                async fn watermark(
                    &self, jira_project: &str,
                ) -> Result<Option<DateTime<Utc>>, LedgerError> {
                    let stored: Option<Option<i64>> = sqlx::query_scalar(sql::WATERMARK)
                        .bind(jira_project)
                        .fetch_optional(&self.pool)
                        .await?;
                    optional_millis(stored.flatten(), "watermark")
                }

                async fn advance_watermark(
                    &self, jira_project: &str, owner: &str, watermark: DateTime<Utc>,
                ) -> Result<(), LedgerError> {
                    held(execute!(&self.pool, sql::ADVANCE_WATERMARK;
                        jira_project, owner, to_millis(watermark)))
                }
            }
        };
    };
}
pub(crate) use sql_writeback;
