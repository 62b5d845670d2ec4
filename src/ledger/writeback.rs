//! The [`WritebackLedger`] port: what keeps Test Manager's defects in step
//! with Jira.
//!
//! - per result: the Test Manager defect it belongs to, and what the bridge
//!   last wrote to it (status, priority, and the Jira `updated` they came
//!   from), so that an older state never overwrites a newer one;
//! - a durable queue of issues whose state must be written again, one row per
//!   issue, leased to one worker at a time (the shape of [`super::lease`]);
//! - the Jira webhook deliveries already seen, to drop Jira's duplicates;
//! - per Jira project, the reconcile poller's watermark and which replica
//!   polls it now.
//!
//! ```text
//!   (none) --enqueue--> pending --claim (when due)--> working --settle--> (none)
//!     |                  |  ^                          ^  |  |  \--settle after a re-enqueue--> pending
//!     |                  |  +-----------retry----------|--+  +--renew: the holder's lease is fresh again
//!     |                  +----hold (due or not)------->|
//!     +-----------------------hold-------------------->+
//!
//!   working, lease stale (not renewed within stale_after) --claim / hold--> working (new holder)
//! ```

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::error::LedgerError;
use crate::result_key::ResultKey;

/// What the bridge last wrote to one result's Test Manager defect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenState {
    /// The status text written.
    pub status: String,
    /// The priority text written; `None` when the priority was left as it was.
    pub priority: Option<String>,
    /// Jira's `updated` of the issue state the values came from (for a deleted
    /// issue: when the deletion was seen). Millisecond precision.
    pub jira_updated: DateTime<Utc>,
    /// When the write was made.
    pub written_at: DateTime<Utc>,
}

/// One result whose Test Manager defect follows a Jira issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WritebackTarget {
    /// The result.
    pub key: ResultKey,
    /// The route of the mapping that created the issue (the entry's `project`).
    pub route: String,
    /// The issue the result is recorded against.
    pub issue_key: String,
    /// The Test Manager defect of the result's test case log, once known.
    pub defect_id: Option<String>,
    /// What was last written to that defect.
    pub written: Option<WrittenState>,
    /// Why the last attempt wrote nothing (e.g. the log has no Test Manager defect).
    pub skipped: Option<String>,
    /// Jira's `updated` of the issue state that attempt was for (millisecond precision);
    /// `None` with `skipped`, and for skips recorded before it was kept.
    pub skipped_for: Option<DateTime<Utc>>,
}

/// A queued issue, leased to the worker that claimed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WritebackJob {
    /// The issue whose state is to be written.
    pub issue_key: String,
    /// The newest Jira `updated` a hint or a poll reported for it, if any.
    pub seen_updated: Option<DateTime<Utc>>,
    /// Claims so far, this one included.
    pub attempts: u32,
}

/// The port through which write-back reads and writes its state.
///
/// Every method is safe to call concurrently from many tasks, processes and
/// replicas. Methods taking `now` store it rather than reading a clock — except
/// [`WritebackLedger::claim`], [`WritebackLedger::hold`], [`WritebackLedger::renew`] and
/// [`WritebackLedger::lease_poller`] on PostgreSQL, which take the database's clock (their `now` is ignored there) so that
/// replicas' clocks never decide who holds a lease. Due times stay the caller's: the
/// `not_before` of a retry, and the "due now" of an enqueue or a settle that re-queues, are
/// the caller's clock, compared with the database's on PostgreSQL (a replica minutes off
/// only makes a row due minutes early or late).
#[async_trait::async_trait]
pub trait WritebackLedger: Send + Sync + 'static {
    /// Whether Jira delivery `delivery_id` was recorded by [`Self::first_delivery`]
    /// (and not forgotten since). Reads only.
    async fn seen_delivery(&self, delivery_id: &str) -> Result<bool, LedgerError>;

    /// Records Jira delivery `delivery_id` (`X-Atlassian-Webhook-Identifier`);
    /// `true` the first time, `false` when it was seen before (a retry or duplicate).
    async fn first_delivery(
        &self,
        delivery_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, LedgerError>;

    /// Forgets deliveries seen before `before`; returns how many.
    async fn forget_deliveries(&self, before: DateTime<Utc>) -> Result<u64, LedgerError>;

    /// Queues `issue_key` to be written again (one row per issue).
    ///
    /// - no row: inserts it pending, due now;
    /// - pending: keeps it, `seen_updated` becomes the newer of the two;
    /// - held by a worker: marks it to run again, so that its settle puts it
    ///   back to pending instead of removing it (the change may have come
    ///   after the worker read Jira).
    async fn enqueue(
        &self,
        issue_key: &str,
        seen_updated: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError>;

    /// Leases the next due issue to `owner`: a pending row due at `now`, or a
    /// row whose worker claimed it longer than `stale_after` ago. Of
    /// concurrent claimers exactly one gets a given row; PostgreSQL replicas
    /// skip each other's rows.
    async fn claim(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        stale_after: Duration,
    ) -> Result<Option<WritebackJob>, LedgerError>;

    /// Leases `issue_key` to `owner` outside the queue order, so that the caller
    /// (the reconcile poller, writing what its search found) is the only writer
    /// of that issue while it holds it. One statement:
    ///
    /// - no row: inserts it held by `owner` (attempts 1);
    /// - pending, whatever its `not_before`, or held by a worker whose lease is
    ///   stale (claimed longer than `stale_after` ago): takes it (attempts + 1,
    ///   takeovers + 1 when taken from another owner; the re-run mark is spent,
    ///   as the holder reads Jira after this);
    /// - held under a live lease (by anyone, `owner` included): `None`, nothing
    ///   changed.
    ///
    /// ```text
    ///   (none) ----hold----> working (owner)
    ///   pending ---hold----> working (owner)        due or not
    ///   working, stale --hold--> working (owner)    the old holder gets ClaimLost
    ///   working, live ---hold--> None               unchanged
    /// ```
    ///
    /// The job returned is settled, retried and renewed like a claimed one;
    /// of concurrent holders of one issue exactly one gets it.
    async fn hold(
        &self,
        issue_key: &str,
        owner: &str,
        now: DateTime<Utc>,
        stale_after: Duration,
    ) -> Result<Option<WritebackJob>, LedgerError>;

    /// The holder's heartbeat: the lease of `job` counts from `now` again, so
    /// that a long write is not taken over as stale.
    /// [`LedgerError::ClaimLost`] when `owner` no longer holds it (taken over,
    /// or settled).
    async fn renew(
        &self,
        job: &WritebackJob,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError>;

    /// The job is done: removes the row, or puts it back to pending (due now)
    /// when it was enqueued again while held.
    /// [`LedgerError::ClaimLost`] when `owner` no longer holds it.
    async fn settle(
        &self,
        job: &WritebackJob,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError>;

    /// The job failed for now: back to pending, due at `not_before`, with `error` kept.
    /// [`LedgerError::ClaimLost`] when `owner` no longer holds it.
    async fn retry(
        &self,
        job: &WritebackJob,
        owner: &str,
        not_before: DateTime<Utc>,
        error: &str,
    ) -> Result<(), LedgerError>;

    /// How many issues are queued (pending or held).
    async fn depth(&self) -> Result<u64, LedgerError>;

    /// The created entries recorded against `issue_key`.
    async fn targets(&self, issue_key: &str) -> Result<Vec<WritebackTarget>, LedgerError>;

    /// The distinct issue keys of the created entries of mapping `route`, in key order.
    async fn issue_keys(&self, route: &str) -> Result<Vec<String>, LedgerError>;

    /// Keeps the Test Manager defect of `key`'s test case log.
    async fn record_defect_id(&self, key: &ResultKey, defect_id: &str) -> Result<(), LedgerError>;

    /// Records what was written to `key`'s defect, unless a newer state is
    /// already recorded (stored `jira_updated` later than `written.jira_updated`).
    /// Returns whether it was recorded. Clears `skipped` and `skipped_for`.
    async fn record_written(
        &self,
        key: &ResultKey,
        written: &WrittenState,
    ) -> Result<bool, LedgerError>;

    /// Records why write-back wrote nothing for `key` (shown by `ledger`), and
    /// `jira_updated`, Jira's `updated` of the issue state that was skipped
    /// (read back as `skipped_for`).
    async fn record_skipped(
        &self,
        key: &ResultKey,
        reason: &str,
        jira_updated: DateTime<Utc>,
    ) -> Result<(), LedgerError>;

    /// Leases the reconcile poller of `jira_project` to `owner` until `now + lease`,
    /// when no other owner holds an unexpired lease; returns whether `owner` holds it.
    async fn lease_poller(
        &self,
        jira_project: &str,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<bool, LedgerError>;

    /// The poller watermark of `jira_project`: when its last complete poll started.
    async fn watermark(&self, jira_project: &str) -> Result<Option<DateTime<Utc>>, LedgerError>;

    /// Sets the watermark of `jira_project`, if `owner` holds its poller lease
    /// ([`LedgerError::ClaimLost`] otherwise).
    async fn advance_watermark(
        &self,
        jira_project: &str,
        owner: &str,
        watermark: DateTime<Utc>,
    ) -> Result<(), LedgerError>;
}
