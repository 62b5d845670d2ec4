//! The ledger: the service's durable record of which Test Manager result
//! ([`ResultKey`]) maps to which Jira issue, and which creations are in flight.
//!
//! It is what makes "exactly one issue per failed result" hold across retries,
//! concurrent requests and several replicas of the service: before creating an
//! issue a request must [`Ledger::claim`] the result, and only the claim holder
//! may record the outcome.
//!
//! Each entry moves through this state machine:
//!
//! ```text
//!   (none) --claim--> Claimed --record_issue--> Created   (final; claim answers Done)
//!                       |  ^
//!                       |  +--- claim takeover (stale Claimed, or any Uncertain)
//!                       |
//!                       +--mark_uncertain--> Uncertain  (a create may have happened:
//!                       |                               the next claimer must look in Jira first)
//!                       +--release--> (none)            (nothing was created)
//! ```
//!
//! Files:
//! - `mod.rs` (this file): the [`Ledger`] port, its value types and errors,
//!   [`connect`], the SQL text shared by both stores and the claim algorithm
//!   (insert-or-read, then compare-and-swap takeover), which is store-agnostic.
//! - `sqlite.rs`: the SQLite store (single pool, WAL, integer-millisecond timestamps).
//! - `postgres.rs`: the PostgreSQL store (TIMESTAMPTZ), safe for several replicas
//!   sharing one database.
//! - `migrations/{sqlite,postgres}/`: the schema, embedded and run by [`connect`].
//! - `tests.rs`: one behavioural suite run against both stores.
//!
//! Timestamps are stored with millisecond precision on both stores (the `now`
//! passed in is truncated), so an entry reads back identically whichever store
//! holds it.

pub mod evidence;
mod postgres;
mod sqlite;
#[cfg(test)]
mod tests;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use uuid::Uuid;

use crate::result_key::ResultKey;
pub use evidence::{EvidenceKind, EvidenceRow, EvidenceState, NewEvidence};

/// The port through which the service reads and writes the ledger.
///
/// Implementations are cheap to share (`Arc<dyn Ledger>`) and every method is
/// safe to call concurrently from many tasks, processes and replicas.
/// Methods taking `now` store it (truncated to milliseconds) rather than
/// reading a clock, so callers and tests control time.
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
    /// Calls made after `close` fail with [`LedgerError::Store`].
    async fn close(&self);

    /// Enqueues evidence rows; a row whose (issue, kind, source) is already queued is left
    /// as it is. Returns how many rows were new.
    async fn enqueue_evidence(
        &self,
        items: &[NewEvidence],
        now: DateTime<Utc>,
    ) -> Result<u64, LedgerError>;

    /// Claims one row for `owner`: the oldest due `pending` row, or an `uploading` row whose
    /// claim was last claimed or renewed longer than `stale_after` ago (its worker died; the
    /// upload may have happened). A
    /// `summary` row is claimable only once every other row of its issue is settled.
    /// State → `uploading`, attempts + 1. Of concurrent claimers exactly one gets a row.
    async fn claim_evidence(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        stale_after: Duration,
    ) -> Result<Option<EvidenceRow>, LedgerError>;

    /// Settles a row `owner` holds as `done`, `skipped` or `failed`, with the size sent
    /// (kept when `None`) and a note (why skipped or failed). [`LedgerError::ClaimLost`] if
    /// `owner` no longer holds it.
    async fn settle_evidence(
        &self,
        id: &str,
        owner: &str,
        state: EvidenceState,
        size: Option<u64>,
        note: Option<&str>,
    ) -> Result<(), LedgerError>;

    /// Puts a row `owner` holds back to `pending`, due at `not_before`, noting `error`;
    /// `counts` adds one to its `failures` (a failure of the file's own, not an outage).
    async fn retry_evidence(
        &self,
        id: &str,
        owner: &str,
        error: &str,
        not_before: DateTime<Utc>,
        counts: bool,
    ) -> Result<(), LedgerError>;

    /// Renews `owner`'s claim on a row it is still working on, so that it does not go
    /// stale; [`LedgerError::ClaimLost`] if `owner` no longer holds it.
    async fn renew_evidence(
        &self,
        id: &str,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError>;

    /// Every evidence row of `issue_key`, in enqueue order.
    async fn evidence_for_issue(&self, issue_key: &str) -> Result<Vec<EvidenceRow>, LedgerError>;
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

impl EntryState {
    /// The stored text form.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryState::Claimed => "claimed",
            EntryState::Uncertain => "uncertain",
            EntryState::Created => "created",
        }
    }
}

impl std::fmt::Display for EntryState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EntryState {
    type Err = LedgerError;

    /// Parses the stored text form; anything else is [`LedgerError::Corrupt`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "claimed" => Ok(EntryState::Claimed),
            "uncertain" => Ok(EntryState::Uncertain),
            "created" => Ok(EntryState::Created),
            other => Err(LedgerError::Corrupt(format!(
                "unknown entry state {other:?}"
            ))),
        }
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

/// Why a ledger call failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The store is unreachable or a SQL statement failed.
    #[error("ledger store failed: {0}")]
    Store(#[source] sqlx::Error),
    /// Running the embedded migrations failed.
    #[error("ledger migration failed: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// The claim is no longer held by this owner (taken over, released or never held).
    #[error("ledger claim is no longer held by this owner")]
    ClaimLost,
    /// A stored row cannot be read back as an entry.
    #[error("corrupt ledger row: {0}")]
    Corrupt(String),
    /// The store URL is malformed or names an unsupported store.
    #[error("invalid ledger URL: {0}")]
    InvalidUrl(String),
}

impl From<sqlx::Error> for LedgerError {
    fn from(e: sqlx::Error) -> Self {
        LedgerError::Store(e)
    }
}

impl From<sqlx::migrate::MigrateError> for LedgerError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        LedgerError::Migrate(e)
    }
}

/// Opens the store named by `url` and runs the embedded migrations.
///
/// - `sqlite://path/to/file.db` (or `sqlite:path`): the file and its parent directories are
///   created if missing; WAL journal, `busy_timeout` 5 s, a pool of `max_connections`.
/// - `sqlite::memory:`: a private in-memory database for tests; the pool is held at one
///   connection that never expires, because the database lives only as long as a connection.
/// - `postgres://…` or `postgresql://…`: a pool of `max_connections`. A `search_path` given
///   as `?options=-csearch_path%3Dmy_schema` is honoured (the schema must exist); see
///   [`connect_postgres_in_schema`].
///
/// `max_connections` of 0 is treated as 1.
pub async fn connect(url: &str, max_connections: u32) -> Result<Arc<dyn Ledger>, LedgerError> {
    let max_connections = max_connections.max(1);
    if url.starts_with("sqlite:") {
        Ok(Arc::new(
            sqlite::SqliteLedger::connect(url, max_connections).await?,
        ))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(
            postgres::PgLedger::connect(url, max_connections, None).await?,
        ))
    } else {
        // Only the scheme is echoed: the rest of a URL may carry a password.
        let scheme = url.split_once(':').map_or("(none)", |(s, _)| s);
        Err(LedgerError::InvalidUrl(format!(
            "unsupported scheme {scheme:?}; expected sqlite:, postgres:// or postgresql://"
        )))
    }
}

/// Opens a PostgreSQL ledger whose tables live in `schema`, creating the schema if missing.
///
/// Every pooled connection gets `search_path = schema`, so several independent ledgers (test
/// runs, or deployments sharing a database) can coexist. `schema` must be a plain identifier
/// (ASCII letters, digits and `_`, not starting with a digit), else
/// [`LedgerError::InvalidUrl`]. Two pools opened on the same schema share one ledger.
pub async fn connect_postgres_in_schema(
    url: &str,
    schema: &str,
    max_connections: u32,
) -> Result<Arc<dyn Ledger>, LedgerError> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(LedgerError::InvalidUrl(
            "expected a postgres:// or postgresql:// URL".to_owned(),
        ));
    }
    Ok(Arc::new(
        postgres::PgLedger::connect(url, max_connections.max(1), Some(schema)).await?,
    ))
}

/// How many insert/read/swap rounds [`claim_with`] tries before giving up. Each extra
/// round needs another writer to have changed the row in between, so a handful suffices.
const CLAIM_ROUNDS: usize = 8;

/// The store-specific primitives the claim algorithm is built from. Each is one
/// autocommitted statement, atomic on its own; [`claim_with`] composes them.
#[async_trait::async_trait]
pub(crate) trait ClaimStore: Send + Sync {
    /// Inserts a fresh Claimed entry unless one exists; true if this call inserted it.
    async fn insert_claim(
        &self,
        key: &ResultKey,
        project: &str,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, LedgerError>;

    /// Reads the entry for `key`.
    async fn fetch(&self, key: &ResultKey) -> Result<Option<LedgerEntry>, LedgerError>;

    /// Replaces `old` by a claim of `owner` at `now` if the row still is exactly `old`
    /// (same state, owner, claimed_at and attempts); true if this call replaced it.
    async fn take_over(
        &self,
        old: &LedgerEntry,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, LedgerError>;
}

/// The claim algorithm shared by both stores.
///
/// No transaction spans the rounds: the insert is atomic through `ON CONFLICT DO NOTHING`,
/// and a takeover is a compare-and-swap on (state, owner, claimed_at, attempts), which only
/// one writer can win because the row lock serialises the conditional `UPDATE`s and the
/// losers then no longer match. Since an owner is unique per request, that tuple names one
/// claim generation exactly, so no ABA is possible.
pub(crate) async fn claim_with<S: ClaimStore + ?Sized>(
    store: &S,
    key: &ResultKey,
    project: &str,
    owner: &str,
    now: DateTime<Utc>,
    stale_after: Duration,
) -> Result<ClaimOutcome, LedgerError> {
    let now = to_stored_precision(now);
    let mut last_seen = None;
    for _ in 0..CLAIM_ROUNDS {
        if store.insert_claim(key, project, owner, now).await? {
            return Ok(ClaimOutcome::Claimed { previous: None });
        }
        // A release between our insert and this read: start over, the insert may now win.
        let Some(entry) = store.fetch(key).await? else {
            continue;
        };
        match entry.state {
            EntryState::Created => return Ok(ClaimOutcome::Done(entry)),
            EntryState::Claimed if !is_stale(&entry, now, stale_after) => {
                return Ok(ClaimOutcome::Busy(entry));
            }
            EntryState::Claimed | EntryState::Uncertain => {}
        }
        if store.take_over(&entry, owner, now).await? {
            tracing::info!(
                key = %key,
                previous_owner = %entry.owner,
                previous_state = %entry.state,
                attempts = entry.attempts.saturating_add(1),
                "ledger claim taken over"
            );
            return Ok(ClaimOutcome::Claimed {
                previous: Some(entry),
            });
        }
        // Lost the swap: the next read shows the winner's claim (Busy) or its result (Done).
        last_seen = Some(entry);
    }
    match last_seen {
        Some(entry) => Ok(ClaimOutcome::Busy(entry)),
        None => Err(LedgerError::ClaimLost),
    }
}

/// Whether a Claimed entry has been held longer than `stale_after` at `now`.
fn is_stale(entry: &LedgerEntry, now: DateTime<Utc>, stale_after: Duration) -> bool {
    // A stale_after too large for chrono means "never stale"; a claimed_at in the future
    // (clock skew between replicas) gives a negative age, which counts as fresh.
    match chrono::Duration::from_std(stale_after) {
        Ok(limit) => now.signed_duration_since(entry.claimed_at) > limit,
        Err(_) => false,
    }
}

/// Maps the row count of an owner-guarded write (one row at most) to its result.
pub(crate) fn held(rows_affected: u64) -> Result<(), LedgerError> {
    if rows_affected == 1 {
        Ok(())
    } else {
        Err(LedgerError::ClaimLost)
    }
}

/// Truncates to the millisecond precision both stores keep, so that a compare-and-swap on
/// `claimed_at` compares a value with itself and entries read back equal on both stores.
pub(crate) fn to_stored_precision(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(3)
}

/// A row as both stores return it, before validation into a [`LedgerEntry`].
pub(crate) struct StoredRow {
    pub(crate) result_key: String,
    pub(crate) execution_id: String,
    pub(crate) test_case_id: String,
    pub(crate) variation_id: Option<String>,
    pub(crate) project: String,
    pub(crate) state: String,
    pub(crate) owner: String,
    pub(crate) attempts: i64,
    pub(crate) claimed_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    pub(crate) issue_key: Option<String>,
    pub(crate) issue_id: Option<String>,
    pub(crate) browse_url: Option<String>,
    pub(crate) summary: Option<String>,
    pub(crate) status: Option<String>,
    pub(crate) priority: Option<String>,
    pub(crate) remote_link_done: bool,
    pub(crate) last_error: Option<String>,
}

impl TryFrom<StoredRow> for LedgerEntry {
    type Error = LedgerError;

    fn try_from(row: StoredRow) -> Result<Self, LedgerError> {
        let corrupt = |what: String| LedgerError::Corrupt(format!("{}: {what}", row.result_key));
        let execution_id = Uuid::parse_str(&row.execution_id)
            .map_err(|e| corrupt(format!("execution_id: {e}")))?;
        let test_case_id = Uuid::parse_str(&row.test_case_id)
            .map_err(|e| corrupt(format!("test_case_id: {e}")))?;
        let key = ResultKey::new(execution_id, test_case_id, row.variation_id.clone());
        // The primary key is what claims contend on; if it disagrees with the columns,
        // lookups by key would silently miss this row.
        if key.canonical() != row.result_key {
            return Err(corrupt(format!("key columns give {:?}", key.canonical())));
        }
        let state: EntryState = row.state.parse()?;
        let attempts = u32::try_from(row.attempts)
            .map_err(|_| corrupt(format!("attempts out of range: {}", row.attempts)))?;
        let issue = match (row.issue_key, row.issue_id, row.browse_url, row.summary) {
            (Some(issue_key), Some(issue_id), Some(browse_url), Some(summary)) => {
                Some(IssueRecord {
                    issue_key,
                    issue_id,
                    browse_url,
                    summary,
                    status: row.status,
                    priority: row.priority,
                })
            }
            (None, None, None, None) => None,
            _ => return Err(corrupt("issue columns partly set".to_owned())),
        };
        if state == EntryState::Created && issue.is_none() {
            return Err(corrupt("created without an issue".to_owned()));
        }
        Ok(LedgerEntry {
            key,
            project: row.project,
            state,
            owner: row.owner,
            attempts,
            claimed_at: row.claimed_at,
            updated_at: row.updated_at,
            issue,
            remote_link_done: row.remote_link_done,
            last_error: row.last_error,
        })
    }
}

/// SQL shared by both stores. `$n` placeholders work on SQLite too, and both stores accept
/// `TRUE`/`FALSE`; only the bound timestamp types differ (millis vs TIMESTAMPTZ).
pub(crate) mod sql {
    /// Columns in the order [`super::StoredRow`] is read; a macro so `concat!` can use it.
    macro_rules! columns {
        () => {
            "result_key, execution_id, test_case_id, variation_id, project, state, owner, \
             attempts, claimed_at, updated_at, issue_key, issue_id, browse_url, summary, \
             status, priority, remote_link_done, last_error"
        };
    }

    /// $1 key, $2 execution, $3 test case, $4 variation, $5 project, $6 owner, $7 now.
    pub(crate) const INSERT_CLAIM: &str = "INSERT INTO ledger_entries \
         (result_key, execution_id, test_case_id, variation_id, project, state, owner, \
          attempts, claimed_at, updated_at, remote_link_done) \
         VALUES ($1, $2, $3, $4, $5, 'claimed', $6, 1, $7, $7, FALSE) \
         ON CONFLICT (result_key) DO NOTHING";

    /// $1 key, $2 new owner, $3 now, $4 old state, $5 old owner, $6 old claimed_at, $7 old attempts.
    pub(crate) const TAKE_OVER: &str = "UPDATE ledger_entries \
         SET state = 'claimed', owner = $2, claimed_at = $3, updated_at = $3, \
             attempts = attempts + 1 \
         WHERE result_key = $1 AND state = $4 AND state IN ('claimed', 'uncertain') \
           AND owner = $5 AND claimed_at = $6 AND attempts = $7";

    /// $1 key, $2 owner, $3 issue_key, $4 issue_id, $5 browse_url, $6 summary, $7 status,
    /// $8 priority, $9 now.
    pub(crate) const RECORD_ISSUE: &str = "UPDATE ledger_entries \
         SET state = 'created', issue_key = $3, issue_id = $4, browse_url = $5, summary = $6, \
             status = $7, priority = $8, updated_at = $9 \
         WHERE result_key = $1 AND state = 'claimed' AND owner = $2";

    /// $1 key, $2 owner, $3 reason, $4 now.
    pub(crate) const MARK_UNCERTAIN: &str = "UPDATE ledger_entries \
         SET state = 'uncertain', last_error = $3, updated_at = $4 \
         WHERE result_key = $1 AND state = 'claimed' AND owner = $2";

    /// $1 key, $2 owner.
    pub(crate) const RELEASE: &str = "DELETE FROM ledger_entries \
         WHERE result_key = $1 AND state = 'claimed' AND owner = $2";

    /// $1 key.
    pub(crate) const MARK_LINKED: &str = "UPDATE ledger_entries SET remote_link_done = TRUE \
         WHERE result_key = $1 AND state = 'created'";

    /// $1 key.
    pub(crate) const GET: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM ledger_entries WHERE result_key = $1"
    );

    /// $1 project, $2 test case id.
    pub(crate) const LATEST_FOR_TEST_CASE: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM ledger_entries WHERE project = $1 AND test_case_id = $2 AND state = 'created' \
         ORDER BY updated_at DESC, result_key ASC LIMIT 1"
    );

    /// $1 limit.
    pub(crate) const RECENT: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM ledger_entries ORDER BY updated_at DESC, result_key ASC LIMIT $1"
    );
}
