//! The Create Defect journal: the last answers this process gave Test Manager,
//! issues and problems alike, newest first.
//!
//! The ledger keeps which result holds which issue, but a Create Defect that
//! failed leaves nothing there (its claim is released so the next press starts
//! clean) — and the failure's problem detail is exactly what an operator needs.
//! So the HTTP edge writes each answer here as it sends it. The journal lives in
//! memory, bounded: it covers this replica since it started, which is what the
//! operator's page says.

use crate::result_key::ResultKey;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::Mutex;
use uuid::Uuid;

/// How many answers the journal keeps.
pub const JOURNAL_CAPACITY: usize = 100;

/// The result a request was about, as Test Manager named it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResultRef {
    /// The test execution.
    pub test_execution_id: Uuid,
    /// The test case.
    pub test_case_id: Uuid,
    /// The data variation, if any.
    pub variation_id: Option<String>,
}

impl From<&ResultKey> for ResultRef {
    fn from(key: &ResultKey) -> Self {
        Self {
            test_execution_id: key.test_execution_id,
            test_case_id: key.test_case_id,
            variation_id: key.variation_id.clone(),
        }
    }
}

/// What Test Manager was answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Answer {
    /// A defect payload naming the issue.
    Issue {
        /// How the issue came about: `created`, `existing`, `adopted`, `commented`, `reopened`.
        outcome: String,
        /// The issue key, e.g. `SHOP-12`.
        issue_key: String,
        /// Where people open the issue.
        browse_url: String,
        /// The issue's summary.
        summary: String,
    },
    /// A problem+json answer.
    Problem {
        /// Its HTTP status.
        status: u16,
        /// Its title.
        title: String,
        /// Its detail: what happened and what to do.
        detail: String,
    },
}

/// One answered Create Defect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalEntry {
    /// When it was answered.
    pub at: DateTime<Utc>,
    /// The webhook route it came in on.
    pub route: String,
    /// The result it was about.
    pub result: ResultRef,
    /// The answer (its fields beside the others in JSON, tagged `answer`).
    #[serde(flatten)]
    pub answer: Answer,
}

impl JournalEntry {
    /// Whether Test Manager got a problem instead of an issue.
    pub fn failed(&self) -> bool {
        matches!(self.answer, Answer::Problem { .. })
    }
}

/// The last [`JOURNAL_CAPACITY`] answers; safe to share between request handlers.
#[derive(Debug, Default)]
pub struct Journal {
    entries: Mutex<VecDeque<JournalEntry>>,
}

impl Journal {
    /// Adds an answer, forgetting the oldest beyond [`JOURNAL_CAPACITY`].
    pub fn record(&self, entry: JournalEntry) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.push_front(entry);
        entries.truncate(JOURNAL_CAPACITY);
    }

    /// The answers kept, newest first.
    pub fn entries(&self) -> Vec<JournalEntry> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: usize) -> JournalEntry {
        JournalEntry {
            at: Utc::now(),
            route: "shop".into(),
            result: ResultRef::from(&ResultKey::new(Uuid::new_v4(), Uuid::new_v4(), None)),
            answer: Answer::Problem {
                status: 502,
                title: "Jira refused the request".into(),
                detail: format!("attempt {n}"),
            },
        }
    }

    #[test]
    fn keeps_the_newest_answers_first_and_forgets_beyond_the_capacity() {
        let journal = Journal::default();
        for n in 0..JOURNAL_CAPACITY + 5 {
            journal.record(entry(n));
        }
        let kept = journal.entries();
        assert_eq!(kept.len(), JOURNAL_CAPACITY);
        let detail = |e: &JournalEntry| match &e.answer {
            Answer::Problem { detail, .. } => detail.clone(),
            Answer::Issue { .. } => unreachable!(),
        };
        assert_eq!(
            detail(&kept[0]),
            format!("attempt {}", JOURNAL_CAPACITY + 4)
        );
        assert_eq!(detail(kept.last().unwrap()), "attempt 5");
        assert!(kept[0].failed());
    }
}
