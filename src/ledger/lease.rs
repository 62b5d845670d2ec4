//! The shape every durable work queue in the ledger shares (the evidence queue and the
//! write-back queue): a row is *leased* to one worker at a time.
//!
//! ```text
//!   pending --claim--> <held> --settle--> (the queue's final states)
//!      ^                 |  (lease not renewed within the stale limit: claimable again)
//!      +----retry--------+
//! ```
//!
//! A leased table has at least the columns `id` (text primary key), `state`, `owner`,
//! `claimed_at` and `not_before` (integer Unix milliseconds), `attempts` and `takeovers`.
//! A claim is one conditional `UPDATE … RETURNING`, so of concurrent claimers exactly one
//! gets a row: SQLite holds the write lock for the statement, and on PostgreSQL the
//! candidate is picked `FOR UPDATE … SKIP LOCKED`, so replicas never wait on or claim the
//! same row. Every later write of the holder (renew, retry, settle) is guarded by
//! [`lease_held_by!`], so a worker whose lease was taken over changes nothing and gets
//! [`super::LedgerError::ClaimLost`].
//!
//! Whose clock: the `now` bound to a claim, hold or renew (the lease's `claimed_at`, and the
//! base of [`stale_before`]) is the store's clock slot's, so on PostgreSQL the database's,
//! read once per call; a claim's due check (`not_before <= now`) compares it with due times
//! the callers computed from their own clocks.
//!
//! The statements are built with `concat!` so that each stays one `&'static str`; a queue
//! names its table, its held state and its own candidate filter and order.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// The `WHERE` condition of a write only the lease holder may make: `$1` id, `$2` owner,
/// and the row still in the queue's held state `$held`.
macro_rules! lease_held_by {
    ($held:literal) => {
        concat!("id = $1 AND owner = $2 AND state = '", $held, "'")
    };
}

/// The rows of `$alias` a worker may lease: due `pending` rows (`not_before <= $2`, now),
/// and rows held by a worker that stopped renewing (`claimed_at < $3`, the stale limit).
macro_rules! lease_claimable {
    ($alias:literal, $held:literal) => {
        concat!(
            "((",
            $alias,
            ".state = 'pending' AND ",
            $alias,
            ".not_before <= $2) OR (",
            $alias,
            ".state = '",
            $held,
            "' AND ",
            $alias,
            ".claimed_at < $3))"
        )
    };
}

/// How a dialect locks the claim's candidate row (alias `e`): SQLite's statement already
/// holds the write lock; PostgreSQL replicas skip each other's candidates.
macro_rules! lease_lock {
    (sqlite) => {
        ""
    };
    (postgres) => {
        " FOR UPDATE OF e SKIP LOCKED"
    };
}

/// The claim statement of a leased `$table` on `$dialect` (`sqlite` or `postgres`), up to
/// and including `RETURNING ` (the caller appends its columns).
///
/// `$1` owner, `$2` now, `$3` the stale limit. Leases the first claimable row (alias `e`)
/// that also matches `$filter` (an `AND …` condition, or `""`), in `$order`: state →
/// `$held`, owner → `$1`, `claimed_at` → now, attempts + 1, and takeovers + 1 when the
/// lease is taken from another owner that stopped renewing it; `also_set` (`"col = …, "`,
/// optional) resets a queue's own columns on every claim.
macro_rules! lease_claim {
    ($dialect:ident, table: $table:literal, held: $held:literal, $(also_set: $also:literal,)?
     filter: $filter:literal, order: $order:literal) => {
        concat!(
            "UPDATE ",
            $table,
            " SET ",
            $($also,)?
            "state = '",
            $held,
            "', owner = $1, claimed_at = $2, \
             attempts = attempts + 1, \
             takeovers = takeovers + \
               CASE WHEN state = '",
            $held,
            "' AND owner <> $1 THEN 1 ELSE 0 END \
             WHERE id = (SELECT e.id FROM ",
            $table,
            " e WHERE ",
            $crate::ledger::lease::lease_claimable!("e", $held),
            $filter,
            " ORDER BY ",
            $order,
            " LIMIT 1",
            $crate::ledger::lease::lease_lock!($dialect),
            ") AND ",
            $crate::ledger::lease::lease_claimable!($table, $held),
            " RETURNING "
        )
    };
}

/// The renew statement (the holder's heartbeat): `$1` id, `$2` owner, `$3` now.
macro_rules! lease_renew {
    (table: $table:literal, held: $held:literal) => {
        concat!(
            "UPDATE ",
            $table,
            " SET claimed_at = $3 WHERE ",
            $crate::ledger::lease::lease_held_by!($held)
        )
    };
}

/// Runs the claim statement `$claim` (built by [`lease_claim!`]) on `$pool` for `$owner` at
/// `$now`, and evaluates to the leased row, if any, read as `$raw` and converted with
/// `TryInto`; a failure returns from the enclosing function.
macro_rules! lease_fetch {
    ($pool:expr, $claim:expr, $raw:ty; $owner:expr, $now:expr, $stale_after:expr) => {{
        let row: Option<$raw> = sqlx::query_as($claim)
            .bind($owner)
            .bind($crate::ledger::lease::to_millis($now))
            .bind($crate::ledger::lease::stale_before($now, $stale_after))
            .fetch_optional($pool)
            .await?;
        row.map(TryInto::try_into).transpose()
    }};
}

pub(crate) use {
    lease_claim, lease_claimable, lease_fetch, lease_held_by, lease_lock, lease_renew,
};

/// A queue timestamp: integer Unix milliseconds, the same on both stores.
pub(crate) fn to_millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// The `claimed_at` before which a lease counts as abandoned at `now`.
pub(crate) fn stale_before(now: DateTime<Utc>, stale_after: Duration) -> i64 {
    to_millis(now - span(stale_after))
}

/// When a lease of `length` taken at `now` runs out.
pub(crate) fn lease_until(now: DateTime<Utc>, length: Duration) -> i64 {
    to_millis(now + span(length))
}

/// `d` as a chrono span; one too large for chrono means about ten years, i.e. never in
/// practice.
fn span(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or_else(|_| chrono::Duration::days(3650))
}
