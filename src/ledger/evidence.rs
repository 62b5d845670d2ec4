//! The evidence queue: which files go on which issue, and how far each got.
//!
//! One row per (issue, kind, source): enqueued at most once (unique key), claimed by one
//! worker at a time (a single conditional `UPDATE … RETURNING`; on PostgreSQL the candidate
//! is picked `FOR UPDATE SKIP LOCKED` so replicas never claim the same row), settled as
//! `done`, `skipped` or `failed`. A row left in `uploading` longer than the stale timeout
//! (its worker died) is claimed again; the worker then first checks Jira for the file.
//!
//! ```text
//!   pending --claim--> uploading --settle--> done | skipped | failed
//!      ^                  |  (stale: claimable again)
//!      +----retry---------+
//! ```
//!
//! Timestamps are integer Unix milliseconds on both stores, so all SQL here is shared; the
//! stores differ only in the claim's row locking.

use std::str::FromStr;

use chrono::{DateTime, Utc};

use super::LedgerError;

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

impl EvidenceKind {
    /// The stored text form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Screenshot => "screenshot",
            Self::RobotLog => "robot_log",
            Self::Attachment => "attachment",
            Self::AttachmentIndex => "attachment_index",
            Self::Summary => "summary",
        }
    }

    /// Whether the row is a file that goes to Jira (rather than a step).
    pub fn is_file(self) -> bool {
        matches!(self, Self::Screenshot | Self::RobotLog | Self::Attachment)
    }
}

impl FromStr for EvidenceKind {
    type Err = LedgerError;
    fn from_str(s: &str) -> Result<Self, LedgerError> {
        Ok(match s {
            "screenshot" => Self::Screenshot,
            "robot_log" => Self::RobotLog,
            "attachment" => Self::Attachment,
            "attachment_index" => Self::AttachmentIndex,
            "summary" => Self::Summary,
            other => {
                return Err(LedgerError::Corrupt(format!(
                    "unknown evidence kind {other:?}"
                )))
            }
        })
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

impl EvidenceState {
    /// The stored text form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Uploading => "uploading",
            Self::Done => "done",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
        }
    }
}

impl FromStr for EvidenceState {
    type Err = LedgerError;
    fn from_str(s: &str) -> Result<Self, LedgerError> {
        Ok(match s {
            "pending" => Self::Pending,
            "uploading" => Self::Uploading,
            "done" => Self::Done,
            "skipped" => Self::Skipped,
            "failed" => Self::Failed,
            other => {
                return Err(LedgerError::Corrupt(format!(
                    "unknown evidence state {other:?}"
                )))
            }
        })
    }
}

/// A row to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvidence {
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
    /// See [`NewEvidence`].
    pub issue_key: String,
    /// See [`NewEvidence`].
    pub route: String,
    /// See [`NewEvidence`].
    pub log_id: String,
    /// See [`NewEvidence`].
    pub kind: EvidenceKind,
    /// See [`NewEvidence`].
    pub source_id: String,
    /// See [`NewEvidence`].
    pub file_name: String,
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

fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn to_millis(t: DateTime<Utc>) -> i64 {
    millis(t)
}

pub(crate) fn size_to_db(size: Option<u64>) -> Option<i64> {
    size.map(|s| i64::try_from(s).unwrap_or(i64::MAX))
}

/// The raw columns, decoded by each store.
pub(crate) struct RawEvidence {
    pub(crate) id: String,
    pub(crate) issue_key: String,
    pub(crate) route: String,
    pub(crate) log_id: String,
    pub(crate) kind: String,
    pub(crate) source_id: String,
    pub(crate) file_name: String,
    pub(crate) size_bytes: Option<i64>,
    pub(crate) state: String,
    pub(crate) owner: Option<String>,
    pub(crate) attempts: i64,
    pub(crate) takeovers: i64,
    pub(crate) failures: i64,
    pub(crate) last_error: Option<String>,
    pub(crate) seq: i64,
    pub(crate) created_at: i64,
}

impl TryFrom<RawEvidence> for EvidenceRow {
    type Error = LedgerError;
    fn try_from(r: RawEvidence) -> Result<Self, LedgerError> {
        Ok(EvidenceRow {
            kind: r.kind.parse()?,
            state: r.state.parse()?,
            size_bytes: r.size_bytes.and_then(|s| u64::try_from(s).ok()),
            attempts: u32::try_from(r.attempts).unwrap_or(u32::MAX),
            takeovers: u32::try_from(r.takeovers).unwrap_or(u32::MAX),
            failures: u32::try_from(r.failures).unwrap_or(u32::MAX),
            created_at: DateTime::from_timestamp_millis(r.created_at).ok_or_else(|| {
                LedgerError::Corrupt(format!(
                    "evidence created_at out of range: {}",
                    r.created_at
                ))
            })?,
            id: r.id,
            issue_key: r.issue_key,
            route: r.route,
            log_id: r.log_id,
            source_id: r.source_id,
            file_name: r.file_name,
            owner: r.owner,
            last_error: r.last_error,
            seq: r.seq,
        })
    }
}

/// SQL shared by both stores.
pub(crate) mod sql {
    macro_rules! evidence_columns {
        () => {
            "id, issue_key, route, log_id, kind, source_id, file_name, size_bytes, state, owner, \
             attempts, takeovers, failures, last_error, seq, created_at"
        };
    }

    /// $1 id … $9 state, $10 note, $11 seq, $12 now.
    pub(crate) const ENQUEUE: &str = "INSERT INTO evidence_items \
         (id, issue_key, route, log_id, kind, source_id, file_name, size_bytes, state, \
          last_error, seq, created_at, not_before, attempts) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, 0) \
         ON CONFLICT (issue_key, kind, source_id) DO NOTHING";

    /// Which rows a worker may claim: due pending rows, and uploading rows whose claim is
    /// older than the stale limit; a summary only once the issue's other rows are settled.
    /// $2 now, $3 stale-before.
    macro_rules! claimable {
        ($alias:literal) => {
            concat!(
                "((",
                $alias,
                ".state = 'pending' AND ",
                $alias,
                ".not_before <= $2) OR (",
                $alias,
                ".state = 'uploading' AND ",
                $alias,
                ".claimed_at < $3))"
            )
        };
    }

    macro_rules! claim_sql {
        ($lock:literal) => {
            concat!(
                "UPDATE evidence_items SET state = 'uploading', owner = $1, claimed_at = $2, \
                 attempts = attempts + 1, \
                 takeovers = takeovers + \
                   CASE WHEN state = 'uploading' AND owner <> $1 THEN 1 ELSE 0 END \
                 WHERE id = (SELECT e.id FROM evidence_items e WHERE ",
                claimable!("e"),
                " AND (e.kind <> 'summary' OR NOT EXISTS (SELECT 1 FROM evidence_items o \
                   WHERE o.issue_key = e.issue_key AND o.kind <> 'summary' \
                   AND o.state IN ('pending', 'uploading'))) \
                 ORDER BY e.created_at, e.seq LIMIT 1",
                $lock,
                ") AND ",
                claimable!("evidence_items"),
                " RETURNING ",
                evidence_columns!()
            )
        };
    }

    /// $1 owner, $2 now, $3 stale-before. SQLite: the statement holds the write lock.
    pub(crate) const CLAIM_SQLITE: &str = claim_sql!("");
    /// $1 owner, $2 now, $3 stale-before. PostgreSQL: replicas skip each other's candidates.
    pub(crate) const CLAIM_POSTGRES: &str = claim_sql!(" FOR UPDATE OF e SKIP LOCKED");

    /// $1 id, $2 owner, $3 state, $4 size, $5 note. Only the current owner settles.
    pub(crate) const SETTLE: &str = "UPDATE evidence_items \
         SET state = $3, size_bytes = COALESCE($4, size_bytes), last_error = $5 \
         WHERE id = $1 AND owner = $2 AND state = 'uploading'";

    /// $1 id, $2 owner, $3 error, $4 not_before, $5 failures to add (0 or 1).
    pub(crate) const RETRY: &str = "UPDATE evidence_items \
         SET state = 'pending', last_error = $3, not_before = $4, failures = failures + $5 \
         WHERE id = $1 AND owner = $2 AND state = 'uploading'";

    /// $1 id, $2 owner, $3 now. The holder's heartbeat: keeps the claim from going stale.
    pub(crate) const RENEW: &str = "UPDATE evidence_items SET claimed_at = $3 \
         WHERE id = $1 AND owner = $2 AND state = 'uploading'";

    /// $1 issue key.
    pub(crate) const FOR_ISSUE: &str = concat!(
        "SELECT ",
        evidence_columns!(),
        " FROM evidence_items WHERE issue_key = $1 ORDER BY created_at, seq"
    );
}

/// Implements the queue's store methods as inherent `ev_*` methods on a store with a
/// `pool` field; the `Ledger` impls delegate to them.
macro_rules! evidence_store {
    ($store:ty, $row:ty, $claim:expr) => {
        impl $store {
            async fn ev_enqueue(
                &self,
                items: &[$crate::ledger::evidence::NewEvidence],
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, LedgerError> {
                use $crate::ledger::evidence::{size_to_db, sql, to_millis};
                let mut inserted = 0;
                for (seq, item) in items.iter().enumerate() {
                    let done = sqlx::query(sql::ENQUEUE)
                        .bind(uuid::Uuid::new_v4().to_string())
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

            async fn ev_claim(
                &self,
                owner: &str,
                now: chrono::DateTime<chrono::Utc>,
                stale_after: std::time::Duration,
            ) -> Result<Option<$crate::ledger::evidence::EvidenceRow>, LedgerError> {
                use $crate::ledger::evidence::to_millis;
                let stale = chrono::Duration::from_std(stale_after)
                    .unwrap_or_else(|_| chrono::Duration::days(3650));
                let row = sqlx::query($claim)
                    .bind(owner)
                    .bind(to_millis(now))
                    .bind(to_millis(now - stale))
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(decode_evidence).transpose()
            }

            async fn ev_settle(
                &self,
                id: &str,
                owner: &str,
                state: $crate::ledger::evidence::EvidenceState,
                size: Option<u64>,
                note: Option<&str>,
            ) -> Result<(), LedgerError> {
                use $crate::ledger::evidence::{size_to_db, sql};
                let done = sqlx::query(sql::SETTLE)
                    .bind(id)
                    .bind(owner)
                    .bind(state.as_str())
                    .bind(size_to_db(size))
                    .bind(note)
                    .execute(&self.pool)
                    .await?;
                held(done.rows_affected())
            }

            async fn ev_retry(
                &self,
                id: &str,
                owner: &str,
                error: &str,
                not_before: chrono::DateTime<chrono::Utc>,
                counts: bool,
            ) -> Result<(), LedgerError> {
                use $crate::ledger::evidence::{sql, to_millis};
                let done = sqlx::query(sql::RETRY)
                    .bind(id)
                    .bind(owner)
                    .bind(error)
                    .bind(to_millis(not_before))
                    .bind(i64::from(counts))
                    .execute(&self.pool)
                    .await?;
                held(done.rows_affected())
            }

            async fn ev_renew(
                &self,
                id: &str,
                owner: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), LedgerError> {
                use $crate::ledger::evidence::{sql, to_millis};
                let done = sqlx::query(sql::RENEW)
                    .bind(id)
                    .bind(owner)
                    .bind(to_millis(now))
                    .execute(&self.pool)
                    .await?;
                held(done.rows_affected())
            }

            async fn ev_for_issue(
                &self,
                issue_key: &str,
            ) -> Result<Vec<$crate::ledger::evidence::EvidenceRow>, LedgerError> {
                let rows = sqlx::query($crate::ledger::evidence::sql::FOR_ISSUE)
                    .bind(issue_key)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(decode_evidence).collect()
            }
        }

        fn decode_evidence(
            row: &$row,
        ) -> Result<$crate::ledger::evidence::EvidenceRow, LedgerError> {
            use sqlx::Row;
            $crate::ledger::evidence::RawEvidence {
                id: row.try_get("id")?,
                issue_key: row.try_get("issue_key")?,
                route: row.try_get("route")?,
                log_id: row.try_get("log_id")?,
                kind: row.try_get("kind")?,
                source_id: row.try_get("source_id")?,
                file_name: row.try_get("file_name")?,
                size_bytes: row.try_get("size_bytes")?,
                state: row.try_get("state")?,
                owner: row.try_get("owner")?,
                attempts: row.try_get("attempts")?,
                takeovers: row.try_get("takeovers")?,
                failures: row.try_get("failures")?,
                last_error: row.try_get("last_error")?,
                seq: row.try_get("seq")?,
                created_at: row.try_get("created_at")?,
            }
            .try_into()
        }
    };
}
pub(crate) use evidence_store;
