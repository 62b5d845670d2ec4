//! The ledger: the service's durable state, behind three ports on one store.
//!
//! - [`Ledger`] (the results): which Test Manager result ([`ResultKey`]) maps to which Jira
//!   issue, and which creations are in flight.
//! - [`EvidenceQueue`]: the files still to put on issues, leased to one upload worker at a
//!   time.
//! - [`WritebackLedger`]: what keeps Test Manager's defects in step with Jira (each result's
//!   defect and last written state, the queue of issues to write again, the Jira deliveries
//!   seen, the reconcile pollers' watermarks).
//!
//! [`connect`] opens a store and hands out its ports as [`Stores`].
//!
//! The results are what make "exactly one issue per failed result" hold across retries,
//! concurrent requests and several replicas of the service: before creating an issue a
//! request must [`Ledger::claim`] the result, and only the claim holder may record the
//! outcome.
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
//! - `mod.rs` (this file): [`Stores`] and [`connect`].
//! - `results.rs`: the [`Ledger`] port and its value types.
//! - `evidence.rs`: the [`EvidenceQueue`] port and its value types.
//! - `writeback.rs`: the [`WritebackLedger`] port and its value types.
//! - `error.rs`: [`LedgerError`], shared by all ports.
//! - `claim.rs`: the claim algorithm (insert-or-read, then compare-and-swap takeover), which
//!   is store-agnostic.
//! - `lease.rs`: the leased-queue shape (claim with a lease, renew, and the holder's guard
//!   on retry and settle; `SKIP LOCKED` on PostgreSQL), written once for every durable queue.
//! - `entry_sql.rs`, `evidence_sql.rs`, `writeback_sql.rs`: the SQL both stores run, and the
//!   validation of the rows they read back.
//! - `store.rs`, `writeback_store.rs`: the implementation of the ports (the latter of
//!   [`WritebackLedger`]), written once for both stores.
//! - `stored_text.rs`: the text form of the enums the stores keep as text.
//! - `sqlite.rs`: the SQLite store (single pool, WAL, integer-millisecond timestamps).
//! - `postgres.rs`: the PostgreSQL store (TIMESTAMPTZ), safe for several replicas
//!   sharing one database.
//! - `migrations/{sqlite,postgres}/`: the schema, embedded and run by [`connect`].
//! - `tests.rs`: one behavioural suite run against both stores; `writeback_tests.rs` adds
//!   the [`WritebackLedger`] cases to it.
//!
//! Timestamps are stored with millisecond precision on both stores (the `now`
//! passed in is truncated), so an entry reads back identically whichever store
//! holds it.
//!
//! Whose clock decides a claim: on PostgreSQL, where replicas with their own wall clocks
//! share the store, every claim of a result is dated and judged stale by the database's
//! clock (`clock_timestamp()`), and the `now` passed to [`Ledger::claim`] is ignored, so a
//! replica whose clock is minutes off can neither take over a live claim nor make its own
//! look stale. The leased queues (evidence and write-back) follow the same rule: on
//! PostgreSQL their claim, hold and renew read the database's clock once per call and use it
//! instead of the `now` passed in, both to date the lease and to compute the stale limit, so
//! no replica takes over a live lease or renews its own into looking stale. On SQLite, one
//! process's store, the `now` passed in decides. The other timestamps are still the
//! caller's: `updated_at` of record_issue and mark_uncertain, the queues' due times
//! (`not_before` of a retry, "due now" of an enqueue or a re-queueing settle, compared with
//! the database's clock on PostgreSQL, so a skewed replica only makes a row due early or
//! late). The write-back pollers' lease is taken and judged with the database's clock too.

mod claim;
mod entry_sql;
mod error;
mod evidence;
mod evidence_sql;
mod lease;
mod postgres;
mod results;
mod sqlite;
mod store;
mod stored_text;
#[cfg(test)]
mod tests;
mod writeback;
mod writeback_sql;
mod writeback_store;
#[cfg(test)]
mod writeback_tests;

use std::sync::Arc;

#[cfg(doc)]
use crate::result_key::ResultKey;
pub use error::LedgerError;
pub use evidence::{
    EvidenceItem, EvidenceKind, EvidenceQueue, EvidenceRow, EvidenceState, NewEvidence,
};
pub use results::{ClaimOutcome, EntryState, IssueRecord, Ledger, LedgerEntry};
pub use writeback::{WritebackJob, WritebackLedger, WritebackTarget, WrittenState};

/// The ports of one opened store. They share its pool: closing one closes all.
#[derive(Clone)]
pub struct Stores {
    /// Which result maps to which issue.
    pub results: Arc<dyn Ledger>,
    /// The evidence waiting to be uploaded to issues.
    pub evidence: Arc<dyn EvidenceQueue>,
    /// Write-back's state: defects, last written states, its queue, deliveries, pollers.
    pub writeback: Arc<dyn WritebackLedger>,
}

impl Stores {
    /// Hands out the ports of `store`.
    fn of<S: Ledger + EvidenceQueue + WritebackLedger>(store: S) -> Self {
        let store = Arc::new(store);
        Self {
            results: store.clone(),
            evidence: store.clone(),
            writeback: store,
        }
    }
}

/// Opens the store named by `url`, runs the embedded migrations and hands out its ports.
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
pub async fn connect(url: &str, max_connections: u32) -> Result<Stores, LedgerError> {
    let max_connections = max_connections.max(1);
    if url.starts_with("sqlite:") {
        Ok(Stores::of(
            sqlite::SqliteLedger::connect(url, max_connections).await?,
        ))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Stores::of(
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
) -> Result<Stores, LedgerError> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(LedgerError::InvalidUrl(
            "expected a postgres:// or postgresql:// URL".to_owned(),
        ));
    }
    Ok(Stores::of(
        postgres::PgLedger::connect(url, max_connections.max(1), Some(schema)).await?,
    ))
}
