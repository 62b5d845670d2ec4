//! Why writing Jira's state back to Test Manager failed.

use crate::ledger::LedgerError;
use crate::testmanager::TestManagerError;
use crate::tracker::TrackerError;

/// A failed write-back step.
#[derive(Debug, thiserror::Error)]
pub enum WritebackError {
    /// The ledger could not be read or written.
    #[error("the ledger: {0}")]
    Ledger(#[from] LedgerError),
    /// Jira could not be read.
    #[error("Jira: {0}")]
    Tracker(#[from] TrackerError),
    /// Test Manager could not be read or written.
    #[error("Test Manager: {0}")]
    TestManager(#[from] TestManagerError),
}

impl WritebackError {
    /// True when the same step may succeed later (an unavailable ledger, an
    /// upstream outage, 429, 5xx); the work then waits in the queue.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Ledger(_) => true,
            Self::Tracker(e) => e.is_transient(),
            Self::TestManager(e) => e.is_transient(),
        }
    }
}
