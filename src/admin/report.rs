//! What `check` reports: what it verified, notes, and problems.

use std::fmt;

/// One problem `check` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Where: a file, or a section of the configuration.
    pub place: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

/// What `check` found, and what it verified.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Problems; empty means the configuration is good.
    pub problems: Vec<Finding>,
    /// What was verified, for the operator.
    pub verified: Vec<String>,
    /// What is not a problem but works differently than it could (e.g. no Jira webhook).
    pub notes: Vec<String>,
}
