//! How write-back's state is stored: the SQL both stores run for the
//! [`WritebackLedger`](super::WritebackLedger) port, and the validation of the rows read back.
//!
//! - the `writeback_queue` (a leased queue, see [`super::lease`]), `jira_deliveries` and
//!   `writeback_pollers` keep integer Unix milliseconds on both stores, so their SQL is
//!   shared outright; only the queue's claim differs in row locking;
//! - the write-back columns of `ledger_entries` keep the entry's time type (milliseconds on
//!   SQLite, `TIMESTAMPTZ` on PostgreSQL), so their rows are read generically like
//!   [`super::entry_sql::StoredRow`].

use chrono::{DateTime, Utc};

use super::entry_sql::KeyColumns;
use super::error::LedgerError;
use super::writeback::{WritebackJob, WritebackTarget, WrittenState};

/// A queue timestamp read back from integer milliseconds.
fn from_millis(ms: i64, column: &str) -> Result<DateTime<Utc>, LedgerError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| LedgerError::Corrupt(format!("writeback {column} out of range: {ms}")))
}

/// Reads an optional millisecond timestamp (a poller's watermark).
pub(crate) fn optional_millis(
    ms: Option<i64>,
    column: &str,
) -> Result<Option<DateTime<Utc>>, LedgerError> {
    ms.map(|ms| from_millis(ms, column)).transpose()
}

/// The columns a claim or hold of `writeback_queue` returns.
#[derive(sqlx::FromRow)]
pub(crate) struct RawJob {
    id: String,
    seen_updated: Option<i64>,
    attempts: i64,
}

impl TryFrom<RawJob> for WritebackJob {
    type Error = LedgerError;
    fn try_from(r: RawJob) -> Result<Self, LedgerError> {
        Ok(WritebackJob {
            seen_updated: optional_millis(r.seen_updated, "seen_updated")?,
            attempts: u32::try_from(r.attempts).unwrap_or(u32::MAX),
            issue_key: r.id,
        })
    }
}

/// A created `ledger_entries` row as [`WritebackLedger::targets`](super::WritebackLedger::targets)
/// reads it, its timestamps still in the store's encoding `T`.
#[derive(sqlx::FromRow)]
pub(crate) struct TargetRow<T> {
    #[sqlx(flatten)]
    key: KeyColumns,
    project: String,
    issue_key: String,
    defect_id: Option<String>,
    written_status: Option<String>,
    written_priority: Option<String>,
    written_jira_updated: Option<T>,
    written_at: Option<T>,
    writeback_skipped: Option<String>,
    writeback_skipped_for: Option<T>,
}

impl<T> TargetRow<T> {
    /// Validates the row into a [`WritebackTarget`], reading its timestamps with `read_time`.
    pub(crate) fn decode(
        self,
        read_time: impl Fn(T, &str) -> Result<DateTime<Utc>, LedgerError>,
    ) -> Result<WritebackTarget, LedgerError> {
        let key = self.key.decode()?;
        // record_written sets all three at once; anything else is damage.
        let written = match (
            self.written_status,
            self.written_jira_updated,
            self.written_at,
        ) {
            (Some(status), Some(jira_updated), Some(written_at)) => Some(WrittenState {
                status,
                priority: self.written_priority,
                jira_updated: read_time(jira_updated, "written_jira_updated")?,
                written_at: read_time(written_at, "written_at")?,
            }),
            (None, None, None) => None,
            _ => {
                return Err(LedgerError::Corrupt(format!(
                    "{}: written columns partly set",
                    self.key.result_key
                )))
            }
        };
        Ok(WritebackTarget {
            key,
            route: self.project,
            issue_key: self.issue_key,
            defect_id: self.defect_id,
            written,
            skipped: self.writeback_skipped,
            skipped_for: self
                .writeback_skipped_for
                .map(|t| read_time(t, "writeback_skipped_for"))
                .transpose()?,
        })
    }
}

/// SQL shared by both stores.
pub(crate) mod sql {
    use crate::ledger::lease::{lease_claim, lease_held_by, lease_renew};

    /// $1 delivery id, $2 now.
    pub(crate) const FIRST_DELIVERY: &str = "INSERT INTO jira_deliveries (id, seen_at) \
         VALUES ($1, $2) ON CONFLICT (id) DO NOTHING";

    /// $1 before.
    /// How many deliveries have id `$1` (0 or 1).
    pub(crate) const SEEN_DELIVERY: &str = "SELECT COUNT(*) FROM jira_deliveries WHERE id = $1";
    pub(crate) const FORGET_DELIVERIES: &str = "DELETE FROM jira_deliveries WHERE seen_at < $1";

    /// $1 issue key, $2 seen updated, $3 now. One statement, so concurrent enqueues of one
    /// issue (and an enqueue racing a claim or settle) serialise on its row: a new row is
    /// pending and due now; an existing one keeps its state and due time, takes the newer
    /// `seen_updated` (NULL meaning "not said"), and is marked to run again if held.
    pub(crate) const ENQUEUE: &str = "INSERT INTO writeback_queue \
         (id, state, not_before, seen_updated) VALUES ($1, 'pending', $3, $2) \
         ON CONFLICT (id) DO UPDATE SET \
           seen_updated = COALESCE(CASE WHEN excluded.seen_updated > writeback_queue.seen_updated \
             THEN excluded.seen_updated ELSE writeback_queue.seen_updated END, \
             excluded.seen_updated), \
           rerun = CASE WHEN writeback_queue.state = 'working' THEN TRUE \
             ELSE writeback_queue.rerun END";

    /// The columns a claim or hold returns, as [`super::RawJob`] reads them.
    macro_rules! job_columns {
        () => {
            "id, seen_updated, attempts"
        };
    }

    /// The lease claim of `writeback_queue` on `$dialect`: the longest-due row first. The
    /// claimer reads Jira after claiming, so an earlier re-run mark is spent.
    macro_rules! claim {
        ($dialect:ident) => {
            concat!(
                lease_claim!(
                    $dialect,
                    table: "writeback_queue",
                    held: "working",
                    also_set: "rerun = FALSE, ",
                    filter: "",
                    order: "e.not_before, e.id"
                ),
                job_columns!()
            )
        };
    }

    /// $1 owner, $2 now, $3 stale-before. SQLite: the statement holds the write lock.
    pub(crate) const CLAIM_SQLITE: &str = claim!(sqlite);
    /// $1 owner, $2 now, $3 stale-before. PostgreSQL: replicas skip each other's candidates.
    pub(crate) const CLAIM_POSTGRES: &str = claim!(postgres);

    /// $1 issue key, $2 owner, $3 now, $4 stale-before. One statement, so of concurrent
    /// holders (and claimers) of one issue exactly one gets it: a new row is inserted held;
    /// an existing one is taken when pending (due or not) or its lease is stale, as a claim
    /// takes it; a live lease matches no row, so nothing changes and nothing is returned.
    /// On PostgreSQL a concurrent insert or update of the row is waited for and the `WHERE`
    /// is checked against the committed row.
    pub(crate) const HOLD: &str = concat!(
        "INSERT INTO writeback_queue (id, state, owner, claimed_at, not_before, attempts) \
         VALUES ($1, 'working', $2, $3, $3, 1) \
         ON CONFLICT (id) DO UPDATE SET \
           state = 'working', owner = excluded.owner, claimed_at = excluded.claimed_at, \
           attempts = writeback_queue.attempts + 1, \
           takeovers = writeback_queue.takeovers + CASE WHEN writeback_queue.state = 'working' \
             AND writeback_queue.owner <> excluded.owner THEN 1 ELSE 0 END, \
           rerun = FALSE \
         WHERE writeback_queue.state = 'pending' \
           OR (writeback_queue.state = 'working' AND writeback_queue.claimed_at < $4) \
         RETURNING ",
        job_columns!()
    );

    /// $1 id, $2 owner, $3 now. The holder's heartbeat: keeps the lease from going stale.
    pub(crate) const RENEW: &str = lease_renew!(table: "writeback_queue", held: "working");

    /// $1 id, $2 owner. The first half of a settle: removes the row unless it was enqueued
    /// again while held. The re-run mark only goes from false to true while the row is held,
    /// so when this removes nothing, [`SETTLE_RERUN`] decides.
    pub(crate) const SETTLE_DONE: &str = concat!(
        "DELETE FROM writeback_queue WHERE NOT rerun AND ",
        lease_held_by!("working")
    );

    /// $1 id, $2 owner, $3 now. The second half: back to pending, due now.
    pub(crate) const SETTLE_RERUN: &str = concat!(
        "UPDATE writeback_queue SET state = 'pending', rerun = FALSE, not_before = $3, \
         last_error = NULL WHERE rerun AND ",
        lease_held_by!("working")
    );

    /// $1 id, $2 owner, $3 not_before, $4 error. A retry reads Jira again anyway, so a
    /// re-run mark is spent.
    pub(crate) const RETRY: &str = concat!(
        "UPDATE writeback_queue SET state = 'pending', rerun = FALSE, not_before = $3, \
         last_error = $4 WHERE ",
        lease_held_by!("working")
    );

    /// Pending and held rows alike.
    pub(crate) const DEPTH: &str = "SELECT COUNT(*) FROM writeback_queue";

    /// $1 issue key.
    pub(crate) const TARGETS: &str = "SELECT result_key, execution_id, test_case_id, \
         variation_id, project, issue_key, defect_id, written_status, written_priority, \
         written_jira_updated, written_at, writeback_skipped, writeback_skipped_for \
         FROM ledger_entries WHERE issue_key = $1 AND state = 'created' ORDER BY result_key";

    /// $1 route. Unordered: the caller sorts, so that both stores give byte order whatever
    /// PostgreSQL's collation.
    pub(crate) const ISSUE_KEYS: &str = "SELECT DISTINCT issue_key FROM ledger_entries \
         WHERE project = $1 AND state = 'created'";

    /// $1 key, $2 defect id.
    pub(crate) const RECORD_DEFECT_ID: &str =
        "UPDATE ledger_entries SET defect_id = $2 WHERE result_key = $1";

    /// $1 key, $2 status, $3 priority, $4 jira updated, $5 written at. Newest wins as one
    /// compare-and-set: a state older than the stored one matches no row.
    pub(crate) const RECORD_WRITTEN: &str = "UPDATE ledger_entries \
         SET written_status = $2, written_priority = $3, written_jira_updated = $4, \
             written_at = $5, writeback_skipped = NULL, writeback_skipped_for = NULL \
         WHERE result_key = $1 \
           AND (written_jira_updated IS NULL OR written_jira_updated <= $4)";

    /// $1 key, $2 reason, $3 the Jira `updated` of the state skipped.
    pub(crate) const RECORD_SKIPPED: &str = "UPDATE ledger_entries \
         SET writeback_skipped = $2, writeback_skipped_for = $3 WHERE result_key = $1";

    /// $1 project, $2 owner, $3 now, $4 lease until. One statement: inserts the lease, or
    /// takes it over when it is `$2`'s own or has run out; otherwise changes nothing (no
    /// row counted). The watermark stays whoever holds the lease.
    pub(crate) const LEASE_POLLER: &str = "INSERT INTO writeback_pollers \
         (jira_project, owner, lease_until) VALUES ($1, $2, $4) \
         ON CONFLICT (jira_project) DO UPDATE \
           SET owner = excluded.owner, lease_until = excluded.lease_until \
           WHERE writeback_pollers.owner = excluded.owner OR writeback_pollers.lease_until <= $3";

    /// $1 project.
    pub(crate) const WATERMARK: &str =
        "SELECT watermark FROM writeback_pollers WHERE jira_project = $1";

    /// $1 project, $2 owner, $3 watermark. Guarded by the owner only (no clock is passed):
    /// a lease that ran out but was not taken by another replica is still the holder's.
    pub(crate) const ADVANCE_WATERMARK: &str = "UPDATE writeback_pollers SET watermark = $3 \
         WHERE jira_project = $1 AND owner = $2";
}
