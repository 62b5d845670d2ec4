//! Keeping a write-back job's lease while it is worked on, so no other worker
//! or replica takes the issue over mid-write (a Test Manager call may retry
//! for longer than a lease).

use crate::ledger::{LedgerError, WritebackJob, WritebackLedger};
use chrono::Utc;
use std::time::Duration;

/// Renews `owner`'s lease on `job` every third of `lease`. Returns only when
/// the lease is lost — taken over, or not renewable for two thirds of `lease`
/// (the ledger away) — so the caller must stop writing: another worker may
/// take the issue from then on.
pub async fn keep(ledger: &dyn WritebackLedger, job: &WritebackJob, owner: &str, lease: Duration) {
    let every = (lease / 3).max(Duration::from_millis(100));
    let mut last_renewed = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(every).await;
        match ledger.renew(job, owner, Utc::now()).await {
            Ok(()) => last_renewed = tokio::time::Instant::now(),
            Err(LedgerError::ClaimLost) => return,
            Err(e) => {
                tracing::warn!(issue = %job.issue_key, error = %e, "cannot renew the write-back lease");
                if last_renewed.elapsed() >= lease * 2 / 3 {
                    return;
                }
            }
        }
    }
}
