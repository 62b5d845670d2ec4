//! Why a Create Defect did not produce an issue.

use crate::ledger::LedgerError;
use crate::mapping::MappingError;
use crate::testmanager::TestManagerError;
use crate::tracker::TrackerError;
use std::time::Duration;

/// The Create Defect use case's errors. `http` turns each into problem+json.
#[derive(Debug, thiserror::Error)]
pub enum DefectError {
    /// No mapping file serves this route.
    #[error("no mapping file serves project `{route}`; add one under the mappings directory or fix the WebHooks URL in Test Manager")]
    UnknownProject {
        /// The route segment received.
        route: String,
    },
    /// Test Manager could not provide the failure.
    #[error(transparent)]
    TestManager(#[from] TestManagerError),
    /// The mapping could not render this failure.
    #[error(transparent)]
    Mapping(#[from] MappingError),
    /// Jira refused or failed, and nothing was created.
    #[error(transparent)]
    Tracker(#[from] TrackerError),
    /// Jira may have created the issue but did not confirm it; a later request adopts it.
    #[error("Jira did not confirm the new issue ({detail}); press Create Defect again in a minute — the bridge will find the issue instead of creating a second one")]
    Unconfirmed {
        /// What happened.
        detail: String,
    },
    /// Another request is creating the issue for this result right now.
    #[error("another request is creating the issue for this result; retry in {} s", retry_after.as_secs())]
    Busy {
        /// When to retry.
        retry_after: Duration,
    },
    /// The ledger could not be read or written.
    #[error("the bridge's ledger is unavailable: {0}")]
    Ledger(#[from] LedgerError),
}
