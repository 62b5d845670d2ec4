//! The results port: which Test Manager result ([`ResultKey`]) maps to which Jira issue,
//! and which creations are in flight. The state machine is drawn in [`crate::ledger`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::error::LedgerError;
use crate::result_key::ResultKey;

/// The results port: which result maps to which issue, and which creations are in flight.
///
/// Implementations are cheap to share (`Arc<dyn Ledger>`) and every method is
/// safe to call concurrently from many tasks, processes and replicas.
/// Methods taking `now` store it (truncated to milliseconds) rather than
/// reading a clock, so callers and tests control time — except [`Ledger::claim`] on
/// PostgreSQL, which takes the database's clock so replicas' clocks never decide ownership.
#[async_trait::async_trait]
pub trait Ledger: Send + Sync + 'static {
    /// Atomically claims `key` for creation by `owner` (an id unique per process and request).
    ///
    /// - no entry: inserts state Claimed(owner, now), attempts 1 → [`ClaimOutcome::Claimed`] `{ previous: None }`;
    /// - entry Created → [`ClaimOutcome::Done`] with the entry;
    /// - entry Claimed by anyone (including `owner`), `claimed_at` within `stale_after` of `now`
    ///   → [`ClaimOutcome::Busy`] with the entry;
    /// - entry Claimed longer ago than `stale_after`, or entry Uncertain (a previous create may
    ///   have happened): takes it over atomically (owner = `owner`, claimed_at = `now`,
    ///   attempts + 1, state Claimed; issue fields and `last_error` are kept)
    ///   → `Claimed { previous: Some(old_entry) }`.
    ///
    /// "now" is the database's clock on PostgreSQL (the `now` argument is ignored there, so
    /// replicas' clocks never decide who owns a claim) and the `now` argument on SQLite.
    ///
    /// Of several concurrent takeovers of the same entry exactly one wins; the others get `Busy`.
    /// `project` is only used when inserting; a takeover keeps the stored project.
    /// Returns [`LedgerError::ClaimLost`] only in the pathological case where the entry kept
    /// appearing and disappearing under this call for several rounds.
    async fn claim(
        &self,
        key: &ResultKey,
        project: &str,
        owner: &str,
        now: DateTime<Utc>,
        stale_after: Duration,
    ) -> Result<ClaimOutcome, LedgerError>;

    /// Records the created or adopted issue for a claim held by `owner`; state → Created,
    /// `updated_at` → `now`.
    ///
    /// Returns [`LedgerError::ClaimLost`] (and changes nothing) if the entry is missing or not
    /// in state Claimed with this `owner`.
    async fn record_issue(
        &self,
        key: &ResultKey,
        owner: &str,
        issue: &IssueRecord,
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError>;

    /// The create call's outcome is unknown (timeout or 5xx after sending): state → Uncertain,
    /// owner and `claimed_at` kept, `reason` stored as `last_error`, `updated_at` → `now`.
    ///
    /// Only applies to an entry Claimed by `owner`; otherwise returns
    /// [`LedgerError::ClaimLost`] and changes nothing.
    async fn mark_uncertain(
        &self,
        key: &ResultKey,
        owner: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError>;

    /// Nothing was created (definite failure): deletes the entry if it is Claimed by `owner`,
    /// so a later request starts clean.
    ///
    /// Returns [`LedgerError::ClaimLost`] and deletes nothing if the entry is missing, held by
    /// someone else, or no longer Claimed (an Uncertain entry is never released: something
    /// may exist in Jira).
    async fn release(&self, key: &ResultKey, owner: &str) -> Result<(), LedgerError>;

    /// Notes that the remote link back to Test Manager exists on the entry's issue.
    ///
    /// Applies only to a Created entry; for any other entry (or none) it does nothing and
    /// returns `Ok`, since the link is a best-effort follow-up to recording the issue.
    /// `updated_at` is left unchanged: linking is not a new fact about which issue holds
    /// the result, so it must not reorder [`Ledger::latest_issue_for_test_case`].
    async fn mark_linked(&self, key: &ResultKey) -> Result<(), LedgerError>;

    /// The entry for `key`, if any.
    async fn get(&self, key: &ResultKey) -> Result<Option<LedgerEntry>, LedgerError>;

    /// The most recently updated Created entry for the same (`project`, `test_case_id`), any
    /// execution or variation — used to add a repeat failure to an existing issue.
    /// Ties on `updated_at` are broken by the canonical key, so the answer is deterministic.
    async fn latest_issue_for_test_case(
        &self,
        project: &str,
        test_case_id: Uuid,
    ) -> Result<Option<LedgerEntry>, LedgerError>;

    /// Up to `limit` entries in any state, most recently updated first (ties by canonical key).
    async fn recent(&self, limit: u32) -> Result<Vec<LedgerEntry>, LedgerError>;

    /// A cheap round trip proving the store answers.
    async fn ping(&self) -> Result<(), LedgerError>;
    /// Number of entries in each state (`claimed`, `uncertain`, `created`), for metrics.
    async fn count_by_state(&self) -> Result<Vec<(String, u64)>, LedgerError>;

    /// Closes the pool cleanly, waiting for checked-out connections to be returned.
    /// Calls made after `close` fail with [`LedgerError::Store`], on this port and on the
    /// [`EvidenceQueue`](super::EvidenceQueue) that shares the store.
    async fn close(&self);
}

/// The answer to [`Ledger::claim`].
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimOutcome {
    /// The caller now holds the claim and must create (or adopt) the issue, then call
    /// [`Ledger::record_issue`], [`Ledger::mark_uncertain`] or [`Ledger::release`].
    ///
    /// `previous` is the entry that was taken over, if any. When it was
    /// [`EntryState::Uncertain`] or a stale claim, an issue may already exist in Jira and the
    /// caller must search for it (by [`ResultKey::label`]) before creating another.
    Claimed {
        /// The stale or uncertain entry that this claim replaced.
        previous: Option<LedgerEntry>,
    },
    /// The result already has an issue; nothing to create.
    Done(LedgerEntry),
    /// Another owner holds a fresh claim; the caller must not create anything now.
    Busy(LedgerEntry),
}

/// Where an entry is in its life. Stored as lowercase text (`claimed`, `uncertain`, `created`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryState {
    /// An owner is creating the issue.
    Claimed,
    /// The create call's outcome is unknown: an issue may exist.
    Uncertain,
    /// The issue exists and is recorded in the entry.
    Created,
}

super::stored_text::stored_text!(EntryState, "entry state" {
    Claimed => "claimed",
    Uncertain => "uncertain",
    Created => "created",
});

impl std::fmt::Display for EntryState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The Jira issue that holds a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueRecord {
    /// The issue key, e.g. `SHOP-12`.
    pub issue_key: String,
    /// Jira's numeric issue id, as text.
    pub issue_id: String,
    /// The human browse URL of the issue.
    pub browse_url: String,
    /// The issue summary at the time it was recorded.
    pub summary: String,
    /// The issue status name at the time it was recorded, if known.
    pub status: Option<String>,
    /// The issue priority name at the time it was recorded, if known.
    pub priority: Option<String>,
}

/// One ledger row: the state of one Test Manager result.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerEntry {
    /// The result this entry is about.
    pub key: ResultKey,
    /// The Jira project the issue is (to be) created in.
    pub project: String,
    /// Where the entry is in its life.
    pub state: EntryState,
    /// The id of the request that last claimed the entry.
    pub owner: String,
    /// How many claims the entry has had: 1 for the first, +1 per takeover.
    pub attempts: u32,
    /// When the current owner claimed the entry (millisecond precision).
    pub claimed_at: DateTime<Utc>,
    /// When the entry last changed state (millisecond precision).
    pub updated_at: DateTime<Utc>,
    /// The issue, once recorded (always `Some` in state [`EntryState::Created`]).
    pub issue: Option<IssueRecord>,
    /// Whether the remote link back to Test Manager exists on the issue.
    pub remote_link_done: bool,
    /// The last reason given to [`Ledger::mark_uncertain`]; kept across later claims as history.
    pub last_error: Option<String>,
}
