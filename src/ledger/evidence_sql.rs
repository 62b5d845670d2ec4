//! How an evidence row is stored: the `evidence_items` SQL both stores run (a leased queue,
//! see [`super::lease`]), and the validation of a row read back.
//!
//! Timestamps are integer Unix milliseconds on both stores, so all SQL here is shared; the
//! stores differ only in the claim's row locking.

use chrono::DateTime;

use super::error::LedgerError;
use super::evidence::{EvidenceItem, EvidenceRow};

/// A size as stored (`BIGINT`); sizes beyond `i64` saturate.
pub(crate) fn size_to_db(size: Option<u64>) -> Option<i64> {
    size.map(|s| i64::try_from(s).unwrap_or(i64::MAX))
}

/// The raw columns of an `evidence_items` row, as both stores read them.
#[derive(sqlx::FromRow)]
pub(crate) struct RawEvidence {
    id: String,
    issue_key: String,
    route: String,
    log_id: String,
    kind: String,
    source_id: String,
    file_name: String,
    size_bytes: Option<i64>,
    state: String,
    owner: Option<String>,
    attempts: i64,
    takeovers: i64,
    failures: i64,
    last_error: Option<String>,
    seq: i64,
    created_at: i64,
}

impl TryFrom<RawEvidence> for EvidenceRow {
    type Error = LedgerError;
    fn try_from(r: RawEvidence) -> Result<Self, LedgerError> {
        Ok(EvidenceRow {
            item: EvidenceItem {
                kind: r.kind.parse()?,
                issue_key: r.issue_key,
                route: r.route,
                log_id: r.log_id,
                source_id: r.source_id,
                file_name: r.file_name,
            },
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
            owner: r.owner,
            last_error: r.last_error,
            seq: r.seq,
        })
    }
}

/// SQL shared by both stores.
pub(crate) mod sql {
    use crate::ledger::lease::{lease_claim, lease_held_by, lease_renew};

    /// Columns in the order [`super::RawEvidence`] is read; a macro so `concat!` can use it.
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

    /// The lease claim of `evidence_items` on `$dialect`: the oldest claimable row, a
    /// summary only once the other rows of its issue are settled.
    macro_rules! claim {
        ($dialect:ident) => {
            concat!(
                lease_claim!(
                    $dialect,
                    table: "evidence_items",
                    held: "uploading",
                    filter: " AND (e.kind <> 'summary' OR NOT EXISTS (SELECT 1 FROM evidence_items o \
                       WHERE o.issue_key = e.issue_key AND o.kind <> 'summary' \
                       AND o.state IN ('pending', 'uploading')))",
                    order: "e.created_at, e.seq"
                ),
                evidence_columns!()
            )
        };
    }

    /// $1 owner, $2 now, $3 stale-before. SQLite: the statement holds the write lock.
    pub(crate) const CLAIM_SQLITE: &str = claim!(sqlite);
    /// $1 owner, $2 now, $3 stale-before. PostgreSQL: replicas skip each other's candidates.
    pub(crate) const CLAIM_POSTGRES: &str = claim!(postgres);

    /// $1 id, $2 owner, $3 state, $4 size, $5 note. Only the current owner settles.
    pub(crate) const SETTLE: &str = concat!(
        "UPDATE evidence_items \
         SET state = $3, size_bytes = COALESCE($4, size_bytes), last_error = $5 WHERE ",
        lease_held_by!("uploading")
    );

    /// $1 id, $2 owner, $3 error, $4 not_before, $5 failures to add (0 or 1).
    pub(crate) const RETRY: &str = concat!(
        "UPDATE evidence_items \
         SET state = 'pending', last_error = $3, not_before = $4, failures = failures + $5 \
         WHERE ",
        lease_held_by!("uploading")
    );

    /// $1 id, $2 owner, $3 now. The holder's heartbeat: keeps the claim from going stale.
    pub(crate) const RENEW: &str = lease_renew!(table: "evidence_items", held: "uploading");

    /// Rows per state.
    pub(crate) const COUNT_BY_STATE: &str =
        "SELECT state, COUNT(*) FROM evidence_items GROUP BY state";

    /// $1 limit.
    pub(crate) const OUTSTANDING: &str = concat!(
        "SELECT ",
        evidence_columns!(),
        " FROM evidence_items WHERE state IN ('pending', 'uploading', 'failed') \
         ORDER BY created_at DESC, seq DESC, id LIMIT $1"
    );

    /// $1 issue key.
    pub(crate) const FOR_ISSUE: &str = concat!(
        "SELECT ",
        evidence_columns!(),
        " FROM evidence_items WHERE issue_key = $1 ORDER BY created_at, seq"
    );
}
