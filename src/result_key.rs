//! The identity of one Test Manager result: the key everything else hangs on.
//!
//! A Create Defect request names a result by (test execution, test case,
//! variation). The ledger stores it, the Jira issue carries a label derived
//! from it, and the label is how a lost ledger entry is found again in Jira.

use sha2::{Digest, Sha256};
use std::fmt;
use uuid::Uuid;

/// One Test Manager test case result: `(testExecutionId, testCaseId, variationId)`.
///
/// `variation_id` is `None` when the test case has no data variation; an empty
/// string from Test Manager is treated the same as `None`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResultKey {
    /// The test execution the result belongs to.
    pub test_execution_id: Uuid,
    /// The test case that failed.
    pub test_case_id: Uuid,
    /// The data variation, if the test case is data-driven.
    pub variation_id: Option<String>,
}

/// Prefix of the Jira label that marks an issue as holding one result.
pub const RESULT_LABEL_PREFIX: &str = "tm-result-";

/// The Jira label on every issue the bridge creates, so that a mapping's
/// defect counts can be limited to them (`kpis.only_bridge_issues`).
pub const BRIDGE_LABEL: &str = "tm-defect-bridge";

impl ResultKey {
    /// Builds a key, normalising an empty or blank variation to `None`.
    pub fn new(test_execution_id: Uuid, test_case_id: Uuid, variation_id: Option<String>) -> Self {
        let variation_id = variation_id
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        Self {
            test_execution_id,
            test_case_id,
            variation_id,
        }
    }

    /// A canonical text form, unique per key: `exec/case/variation` (variation empty when absent).
    ///
    /// Stable across versions: it is stored in the ledger and hashed into labels.
    pub fn canonical(&self) -> String {
        format!(
            "{}/{}/{}",
            self.test_execution_id.as_hyphenated(),
            self.test_case_id.as_hyphenated(),
            self.variation_id.as_deref().unwrap_or("")
        )
    }

    /// A short stable id of the result: the first 16 hex digits of SHA-256 of [`Self::canonical`].
    pub fn short_id(&self) -> String {
        let digest = Sha256::digest(self.canonical().as_bytes());
        hex::encode(&digest[..8])
    }

    /// The Jira label that marks the issue holding this result, e.g. `tm-result-1a2b3c4d5e6f7a8b`.
    pub fn label(&self) -> String {
        format!("{RESULT_LABEL_PREFIX}{}", self.short_id())
    }
}

impl fmt::Display for ResultKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(variation: Option<&str>) -> ResultKey {
        ResultKey::new(
            Uuid::parse_str("11111111-1111-1111-1111-111111111111").unwrap(),
            Uuid::parse_str("22222222-2222-2222-2222-222222222222").unwrap(),
            variation.map(str::to_owned),
        )
    }

    #[test]
    fn blank_variation_is_no_variation() {
        assert_eq!(key(Some("  ")), key(None));
        assert_eq!(key(Some("")).label(), key(None).label());
    }

    #[test]
    fn label_is_stable_and_distinguishes_variations() {
        // Pinned: labels already written to Jira must keep matching after upgrades.
        assert_eq!(
            key(None).label(),
            format!("tm-result-{}", key(None).short_id())
        );
        assert_eq!(key(None).short_id().len(), 16);
        assert_ne!(key(None).label(), key(Some("row-1")).label());
        assert_eq!(key(Some("row-1")).label(), key(Some(" row-1 ")).label());
    }
}
