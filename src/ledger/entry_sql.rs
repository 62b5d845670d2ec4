//! How a [`LedgerEntry`] is stored: the `ledger_entries` SQL both stores run, and the
//! validation of a row read back.

use uuid::Uuid;

use chrono::{DateTime, Utc};

use super::error::LedgerError;
use super::results::{EntryState, IssueRecord, LedgerEntry};
use crate::result_key::ResultKey;

/// A `ledger_entries` row as a store reads it, its timestamps still in the store's
/// encoding `T`, before validation into a [`LedgerEntry`].
#[derive(sqlx::FromRow)]
pub(crate) struct StoredRow<T> {
    #[sqlx(flatten)]
    key: KeyColumns,
    project: String,
    state: String,
    owner: String,
    attempts: i64,
    claimed_at: T,
    updated_at: T,
    issue_key: Option<String>,
    issue_id: Option<String>,
    browse_url: Option<String>,
    summary: Option<String>,
    status: Option<String>,
    priority: Option<String>,
    remote_link_done: bool,
    last_error: Option<String>,
}

impl<T> StoredRow<T> {
    /// Validates the row into a [`LedgerEntry`], reading its timestamps with `read_time`
    /// (which is given the column name for its error).
    pub(crate) fn decode(
        self,
        read_time: impl Fn(T, &str) -> Result<DateTime<Utc>, LedgerError>,
    ) -> Result<LedgerEntry, LedgerError> {
        let claimed_at = read_time(self.claimed_at, "claimed_at")?;
        let updated_at = read_time(self.updated_at, "updated_at")?;
        let key = self.key.decode()?;
        let corrupt =
            |what: String| LedgerError::Corrupt(format!("{}: {what}", self.key.result_key));
        let state: EntryState = self.state.parse()?;
        let attempts = u32::try_from(self.attempts)
            .map_err(|_| corrupt(format!("attempts out of range: {}", self.attempts)))?;
        let issue = match (self.issue_key, self.issue_id, self.browse_url, self.summary) {
            (Some(issue_key), Some(issue_id), Some(browse_url), Some(summary)) => {
                Some(IssueRecord {
                    issue_key,
                    issue_id,
                    browse_url,
                    summary,
                    status: self.status,
                    priority: self.priority,
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
            project: self.project,
            state,
            owner: self.owner,
            attempts,
            claimed_at,
            updated_at,
            issue,
            remote_link_done: self.remote_link_done,
            last_error: self.last_error,
        })
    }
}

/// The key columns of a `ledger_entries` row, as every read of entries selects them.
#[derive(sqlx::FromRow)]
pub(crate) struct KeyColumns {
    pub(crate) result_key: String,
    execution_id: String,
    test_case_id: String,
    variation_id: Option<String>,
}

impl KeyColumns {
    /// Validates the columns into the result's [`ResultKey`].
    pub(crate) fn decode(&self) -> Result<ResultKey, LedgerError> {
        let corrupt = |what: String| LedgerError::Corrupt(format!("{}: {what}", self.result_key));
        let execution_id = Uuid::parse_str(&self.execution_id)
            .map_err(|e| corrupt(format!("execution_id: {e}")))?;
        let test_case_id = Uuid::parse_str(&self.test_case_id)
            .map_err(|e| corrupt(format!("test_case_id: {e}")))?;
        let key = ResultKey::new(execution_id, test_case_id, self.variation_id.clone());
        // The primary key is what claims contend on; if it disagrees with the columns,
        // lookups by key would silently miss this row.
        if key.canonical() != self.result_key {
            return Err(corrupt(format!("key columns give {:?}", key.canonical())));
        }
        Ok(key)
    }
}

/// SQL shared by both stores. `$n` placeholders work on SQLite too, and both stores accept
/// `TRUE`/`FALSE`; only the bound timestamp types differ (millis vs TIMESTAMPTZ).
pub(crate) mod sql {
    /// PostgreSQL's clock for claims (see [`crate::ledger::claim::ClaimStore::clock`]): the
    /// wall clock now, not the transaction start, at the millisecond precision claims keep.
    pub(crate) const DATABASE_CLOCK: &str = "SELECT date_trunc('milliseconds', clock_timestamp())";

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
