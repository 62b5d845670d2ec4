//! The claim algorithm (insert-or-read, then compare-and-swap takeover), written once
//! over the [`ClaimStore`] primitives each store provides.

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};

use super::error::LedgerError;
use super::results::{ClaimOutcome, EntryState, LedgerEntry};
use crate::result_key::ResultKey;

/// How many insert/read/swap rounds [`claim_with`] tries before giving up. Each extra
/// round needs another writer to have changed the row in between, so a handful suffices.
const CLAIM_ROUNDS: usize = 8;

/// The store-specific primitives the claim algorithm is built from. Each is one
/// autocommitted statement, atomic on its own; [`claim_with`] composes them.
#[async_trait::async_trait]
pub(crate) trait ClaimStore: Send + Sync {
    /// The time claims are taken and judged stale at: the database's clock where replicas
    /// share the store (PostgreSQL), so that no replica's wall clock decides who owns a
    /// claim; `local`, the caller's clock, where one process owns it (SQLite).
    async fn clock(&self, local: DateTime<Utc>) -> Result<DateTime<Utc>, LedgerError>;

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
/// Every time it stores or compares is the store's [`ClaimStore::clock`], read once per
/// call: on PostgreSQL the database's, so a replica whose clock is off by minutes neither
/// takes over a live claim nor dates its own claim so that others find it stale. Reading it
/// before the entry only makes a claim look younger, never staler.
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
    let now = to_stored_precision(store.clock(now).await?);
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
    // (a SQLite caller's clock set back) gives a negative age, which counts as fresh.
    match chrono::Duration::from_std(stale_after) {
        Ok(limit) => now.signed_duration_since(entry.claimed_at) > limit,
        Err(_) => false,
    }
}

/// Truncates to the millisecond precision both stores keep, so that a compare-and-swap on
/// `claimed_at` compares a value with itself and entries read back equal on both stores.
pub(crate) fn to_stored_precision(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(3)
}
