//! The evidence queue port: which files go on which issue, and how far each got.
//!
//! One row per (issue, kind, source): enqueued at most once (unique key), leased to one
//! worker at a time, settled as `done`, `skipped` or `failed`. A row left in `uploading`
//! longer than the stale timeout (its worker died) is claimed again; the worker then first
//! checks Jira for the file. The lease itself is the shape in [`super::lease`].
//!
//! ```text
//!   pending --claim--> uploading --settle--> done | skipped | failed
//!      ^                  |  (stale: claimable again)
//!      +----retry---------+
//! ```

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::error::LedgerError;

/// The port through which evidence is queued for, and claimed by, the upload worker.
///
/// Implementations are cheap to share (`Arc<dyn EvidenceQueue>`) and every method is safe
/// to call concurrently from many tasks, processes and replicas. Methods taking `now`
/// store it rather than reading a clock, so callers and tests control time — except
/// [`EvidenceQueue::claim`] and [`EvidenceQueue::renew`] on PostgreSQL, which take the
/// database's clock (their `now` is ignored there) so that replicas' clocks never decide who
/// holds a lease. A `not_before` a caller computes from its own clock stays its own, and is
/// compared with the database's clock there. The queue
/// shares its store (and pool) with the [`super::Ledger`] it was opened with.
#[async_trait::async_trait]
pub trait EvidenceQueue: Send + Sync + 'static {
    /// Enqueues evidence rows; a row whose (issue, kind, source) is already queued is left
    /// as it is. Returns how many rows were new.
    async fn enqueue(&self, items: &[NewEvidence], now: DateTime<Utc>) -> Result<u64, LedgerError>;

    /// Claims one row for `owner`: the oldest due `pending` row, or an `uploading` row whose
    /// claim was last claimed or renewed longer than `stale_after` ago (its worker died; the
    /// upload may have happened). A `summary` row is claimable only once every other row of
    /// its issue is settled.
    /// State → `uploading`, attempts + 1. Of concurrent claimers exactly one gets a row.
    async fn claim(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        stale_after: Duration,
    ) -> Result<Option<EvidenceRow>, LedgerError>;

    /// Settles a row `owner` holds as `done`, `skipped` or `failed`, with the size sent
    /// (kept when `None`) and a note (why skipped or failed). [`LedgerError::ClaimLost`] if
    /// `owner` no longer holds it.
    async fn settle(
        &self,
        id: &str,
        owner: &str,
        state: EvidenceState,
        size: Option<u64>,
        note: Option<&str>,
    ) -> Result<(), LedgerError>;

    /// Puts a row `owner` holds back to `pending`, due at `not_before`, noting `error`;
    /// `counts` adds one to its `failures` (a failure of the file's own, not an outage).
    async fn retry(
        &self,
        id: &str,
        owner: &str,
        error: &str,
        not_before: DateTime<Utc>,
        counts: bool,
    ) -> Result<(), LedgerError>;

    /// Renews `owner`'s claim on a row it is still working on, so that it does not go
    /// stale; [`LedgerError::ClaimLost`] if `owner` no longer holds it.
    async fn renew(&self, id: &str, owner: &str, now: DateTime<Utc>) -> Result<(), LedgerError>;

    /// Every evidence row of `issue_key`, in enqueue order.
    async fn for_issue(&self, issue_key: &str) -> Result<Vec<EvidenceRow>, LedgerError>;

    /// Number of rows in each state (states without rows are left out).
    async fn count_by_state(&self) -> Result<Vec<(EvidenceState, u64)>, LedgerError>;

    /// Up to `limit` rows still queued (`pending`), in a worker's hands (`uploading`) or
    /// given up on (`failed`), most recently enqueued first.
    async fn outstanding(&self, limit: u32) -> Result<Vec<EvidenceRow>, LedgerError>;
}

/// What an evidence row stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EvidenceKind {
    /// The screenshot of a failed assertion (`source_id` = assertion id).
    Screenshot,
    /// The robot log of the run (`source_id` = log id).
    RobotLog,
    /// A file attached to the test case log (`source_id` = attachment id).
    Attachment,
    /// A step: list the log's attachments and enqueue one row each (`source_id` = log id).
    AttachmentIndex,
    /// A step: once every other row of the issue is settled, comment what was attached and skipped.
    Summary,
}

super::stored_text::stored_text!(EvidenceKind, "evidence kind" {
    Screenshot => "screenshot",
    RobotLog => "robot_log",
    Attachment => "attachment",
    AttachmentIndex => "attachment_index",
    Summary => "summary",
});

impl EvidenceKind {
    /// Whether the row is a file that goes to Jira (rather than a step).
    pub fn is_file(self) -> bool {
        matches!(self, Self::Screenshot | Self::RobotLog | Self::Attachment)
    }
}

/// Where an evidence row is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EvidenceState {
    /// Waiting for a worker.
    Pending,
    /// A worker holds it (or held it and died: see the stale timeout).
    Uploading,
    /// On the issue (or the step is done).
    Done,
    /// Deliberately not attached (size limit, Jira's 413, gone from Test Manager); `last_error` says why.
    Skipped,
    /// Kept failing; `last_error` holds the last reason.
    Failed,
}

super::stored_text::stored_text!(EvidenceState, "evidence state" {
    Pending => "pending",
    Uploading => "uploading",
    Done => "done",
    Skipped => "skipped",
    Failed => "failed",
});

/// What an evidence row is about: which item of which Test Manager log goes on which issue,
/// under which name. A row to enqueue and a queue row both carry one.
#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceItem {
    /// The Jira issue the file goes on.
    pub issue_key: String,
    /// The mapping route (which project's rules and Test Manager project apply).
    pub route: String,
    /// The Test Manager log the evidence belongs to.
    pub log_id: String,
    /// What it is.
    pub kind: EvidenceKind,
    /// Its id in Test Manager (unique per issue and kind).
    pub source_id: String,
    /// The file name it gets on the issue.
    pub file_name: String,
}

/// A row to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvidence {
    /// What the row is about.
    pub item: EvidenceItem,
    /// Its size, when Test Manager said.
    pub size_bytes: Option<u64>,
    /// `Pending`, or `Skipped` when decided at enqueue time (then `note` says why).
    pub state: EvidenceState,
    /// Why it was skipped.
    pub note: Option<String>,
}

/// One queue row.
#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceRow {
    /// Row id.
    pub id: String,
    /// What the row is about, as enqueued.
    pub item: EvidenceItem,
    /// Size, when known (after an upload: the bytes sent).
    pub size_bytes: Option<u64>,
    /// State.
    pub state: EvidenceState,
    /// The worker that last claimed it.
    pub owner: Option<String>,
    /// Claims so far (1 on the first claim).
    pub attempts: u32,
    /// Claims taken from another worker that had stopped renewing (died mid-upload).
    pub takeovers: u32,
    /// Tries that failed for the file's own reason (not an outage).
    pub failures: u32,
    /// Why it was skipped, or the last failure.
    pub last_error: Option<String>,
    /// Enqueue order within one enqueue call.
    pub seq: i64,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
}
