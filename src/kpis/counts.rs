//! The counts behind the dashboard tile, as loaded from Jira.

/// The five counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KpiCounts {
    /// Every defect in scope.
    pub total: u64,
    /// In scope, not done.
    pub open: u64,
    /// In scope, done.
    pub closed: u64,
    /// Open with a critical priority.
    pub critical: u64,
    /// Open with a moderate priority.
    pub moderate: u64,
}

/// Counts that loaded, with the link to the critical ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KpiSnapshot {
    /// The counts.
    pub counts: KpiCounts,
    /// Jira's issue search for the critical set.
    pub critical_link: String,
}
