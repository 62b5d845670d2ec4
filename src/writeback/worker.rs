//! The write-back worker: one per process, several per database are safe.
//!
//! Leases one queued issue at a time (the ledger gives a row to one worker
//! across replicas), re-reads it from Jira — a queued issue is only a hint,
//! what Jira says now is what gets written — and writes it to the defects of
//! its results. A transient failure (Jira or Test Manager down, 429, 5xx, the
//! ledger away) puts the issue back with a growing delay, so nothing is lost
//! and nothing is hammered; anything else is logged and dropped.

use super::error::WritebackError;
use super::keep_lease;
use super::writer::{DefectWriter, Seen};
use crate::ledger::{WritebackJob, WritebackLedger};
use crate::metrics;
use crate::tracker::DefectTracker;
use crate::worker_signal::Signal;
use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;

/// Longest wait before a failing issue is tried again.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(300);
/// How often the queue is looked at when nobody wakes the worker.
const POLL: Duration = Duration::from_secs(1);

/// The worker and its ports.
pub struct WritebackWorker {
    /// The queue.
    pub ledger: Arc<dyn WritebackLedger>,
    /// Where issues are re-read.
    pub tracker: Arc<dyn DefectTracker>,
    /// Writes a state to the defects.
    pub writer: Arc<DefectWriter>,
    /// How long a lease lasts before another worker may take the issue over.
    pub lease: Duration,
    /// Wakes (new rows) and stops the worker.
    pub signal: Arc<Signal>,
}

impl WritebackWorker {
    /// Runs the worker on its own task until [`Signal::stop`].
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.run())
    }

    async fn run(self) {
        let owner = format!("writeback-{}", uuid::Uuid::new_v4().simple());
        while !self.signal.is_stopped() {
            match self.ledger.claim(&owner, Utc::now(), self.lease).await {
                Ok(Some(job)) => {
                    tokio::select! {
                        () = self.process(&owner, &job) => {}
                        () = keep_lease::keep(self.ledger.as_ref(), &job, &owner, self.lease) => {
                            tracing::warn!(issue = %job.issue_key, "write-back abandoned: its lease could not be kept, so another worker may take the issue");
                        }
                        () = self.signal.stopping() => {
                            // Back to the queue for the next start; a write in flight is idempotent.
                            let _ = self.ledger.retry(&job, &owner, Utc::now(), "interrupted by shutdown").await;
                            return;
                        }
                    }
                    continue;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "cannot read the write-back queue"),
            }
            tokio::select! {
                () = self.signal.woken() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// Re-reads the job's issue and writes it; settles or re-queues the job.
    pub async fn process(&self, owner: &str, job: &WritebackJob) {
        let result = self.write_current(&job.issue_key).await;
        let settled = match result {
            Ok(()) => self.ledger.settle(job, owner, Utc::now()).await,
            Err(e) if e.is_transient() => {
                let delay = retry_delay(job.attempts);
                tracing::warn!(issue = %job.issue_key, attempt = job.attempts, retry_in_secs = delay.as_secs(), error = %e, "write-back failed for now; queued again");
                metrics::writeback_write("retried");
                let not_before = Utc::now()
                    + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::seconds(60));
                self.ledger
                    .retry(job, owner, not_before, &e.to_string())
                    .await
            }
            Err(e) => {
                tracing::error!(issue = %job.issue_key, error = %e, "write-back failed and will not be retried; the next change of the issue tries again");
                metrics::writeback_write("failed");
                self.ledger.settle(job, owner, Utc::now()).await
            }
        };
        if let Err(e) = settled {
            tracing::warn!(issue = %job.issue_key, error = %e, "cannot settle the write-back job; its lease expires and it runs again");
        }
    }

    async fn write_current(&self, issue_key: &str) -> Result<(), WritebackError> {
        let seen = match self.tracker.issue_state(issue_key).await? {
            Some(state) => Seen::Exists(state),
            None => Seen::Deleted { at: Utc::now() },
        };
        self.writer.apply(issue_key, &seen).await?;
        Ok(())
    }
}

/// The wait before attempt `attempts + 1`: 2 s doubling, at most five minutes.
pub fn retry_delay(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(16);
    Duration::from_secs(2u64 << doublings).min(MAX_RETRY_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_up_to_five_minutes() {
        assert_eq!(retry_delay(1), Duration::from_secs(2));
        assert_eq!(retry_delay(2), Duration::from_secs(4));
        assert_eq!(retry_delay(5), Duration::from_secs(32));
        assert_eq!(retry_delay(9), MAX_RETRY_DELAY);
        assert_eq!(retry_delay(u32::MAX), MAX_RETRY_DELAY);
    }
}
