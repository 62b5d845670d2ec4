//! The webhook journal: the last answers this process gave Test Manager,
//! newest first — Create Defect's issues and problems, and the webhook calls
//! refused before any use case saw them.
//!
//! The ledger keeps which result holds which issue, but a Create Defect that
//! failed leaves nothing there (its claim is released so the next press starts
//! clean) — and the failure's problem detail is exactly what an operator needs.
//! A call refused at the edge (wrong secret, unknown path, unreadable body,
//! overload) leaves nothing anywhere, and it is the failure an operator meets
//! first when registering the WebHooks connection. So the HTTP edge writes each
//! answer here as it sends it.
//!
//! The journal lives in memory, bounded: it covers this replica since it
//! started, which is what the operator's page says. Refusals have their own
//! ring, so a flood of them (a dashboard refreshing with a wrong secret, a
//! scanner) cannot push the Create Defect answers out.

use crate::result_key::ResultKey;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::Mutex;
use uuid::Uuid;

/// How many Create Defect answers the journal keeps, and how many refusals besides.
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

/// One answered webhook call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalEntry {
    /// When it was answered.
    pub at: DateTime<Utc>,
    /// The webhook route it came in on (`/hooks/{route}/…`; empty when the path named none).
    pub route: String,
    /// The method and path as requested, the path secret replaced by
    /// `[redacted]` and no query: e.g. `POST /hooks/shop/[redacted]/defects`.
    /// The one place a caller's path is kept, so the only shape it may have.
    pub request: RedactedRequest,
    /// The result it was about; `None` when the call was refused before its body was parsed.
    pub result: Option<ResultRef>,
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

/// A request line whose path went through the HTTP edge's secret redaction.
///
/// Only the edge can build one ([`RedactedRequest::new`] is its promise that the
/// path holds no secret); the journal and the page only carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct RedactedRequest(String);

impl RedactedRequest {
    /// `method` and `redacted_path`, which the caller has already stripped of
    /// any secret and query.
    pub fn new(method: &str, redacted_path: &str) -> Self {
        Self(format!("{method} {redacted_path}"))
    }

    /// The request line.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The last [`JOURNAL_CAPACITY`] Create Defect answers and as many refusals;
/// safe to share between request handlers.
#[derive(Debug, Default)]
pub struct Journal {
    answers: Ring,
    refusals: Ring,
}

impl Journal {
    /// Adds a Create Defect answer (an issue or the use case's problem).
    pub fn record(&self, entry: JournalEntry) {
        self.answers.push(entry);
    }

    /// Adds a webhook call refused before any use case saw it (always a problem).
    pub fn record_refusal(&self, entry: JournalEntry) {
        self.refusals.push(entry);
    }

    /// The Create Defect answers kept, newest first.
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.answers.newest_first()
    }

    /// Every problem kept — Create Defect's and the refusals — newest first.
    pub fn problems(&self) -> Vec<JournalEntry> {
        let mut problems: Vec<JournalEntry> = self
            .answers
            .newest_first()
            .into_iter()
            .filter(JournalEntry::failed)
            .chain(self.refusals.newest_first())
            .collect();
        // Stable: entries of one ring keep their order when their times tie.
        problems.sort_by_key(|entry| std::cmp::Reverse(entry.at));
        problems
    }
}

/// Entries newest first, at most [`JOURNAL_CAPACITY`].
#[derive(Debug, Default)]
struct Ring(Mutex<VecDeque<JournalEntry>>);

impl Ring {
    fn push(&self, entry: JournalEntry) {
        let mut entries = self.0.lock().unwrap_or_else(|p| p.into_inner());
        entries.push_front(entry);
        entries.truncate(JOURNAL_CAPACITY);
    }

    fn newest_first(&self) -> Vec<JournalEntry> {
        let entries = self.0.lock().unwrap_or_else(|p| p.into_inner());
        entries.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Problem `n`, answered `n` seconds after a fixed start (no tie between two times).
    fn problem(n: usize, result: Option<ResultRef>) -> JournalEntry {
        let start = DateTime::parse_from_rfc3339("2026-01-05T08:00:00Z").unwrap();
        JournalEntry {
            at: start.to_utc() + chrono::Duration::seconds(n as i64),
            route: "shop".into(),
            request: RedactedRequest::new("POST", "/hooks/shop/[redacted]/defects"),
            result,
            answer: Answer::Problem {
                status: 502,
                title: "Jira refused the request".into(),
                detail: format!("attempt {n}"),
            },
        }
    }

    fn some_result() -> Option<ResultRef> {
        Some(ResultRef::from(&ResultKey::new(
            Uuid::new_v4(),
            Uuid::new_v4(),
            None,
        )))
    }

    fn detail(entry: &JournalEntry) -> String {
        match &entry.answer {
            Answer::Problem { detail, .. } => detail.clone(),
            Answer::Issue { .. } => unreachable!(),
        }
    }

    #[test]
    fn keeps_the_newest_answers_first_and_forgets_beyond_the_capacity() {
        let journal = Journal::default();
        for n in 0..JOURNAL_CAPACITY + 5 {
            journal.record(problem(n, some_result()));
        }
        let kept = journal.entries();
        assert_eq!(kept.len(), JOURNAL_CAPACITY);
        assert_eq!(
            detail(&kept[0]),
            format!("attempt {}", JOURNAL_CAPACITY + 4)
        );
        assert_eq!(detail(kept.last().unwrap()), "attempt 5");
        assert!(kept[0].failed());
    }

    #[test]
    fn a_flood_of_refusals_keeps_the_answers_and_stays_bounded() {
        let journal = Journal::default();
        let issue = JournalEntry {
            answer: Answer::Issue {
                outcome: "created".into(),
                issue_key: "SHOP-1".into(),
                browse_url: "https://jira.example/browse/SHOP-1".into(),
                summary: "Checkout fails".into(),
            },
            ..problem(0, some_result())
        };
        journal.record(issue.clone());
        journal.record(problem(1, some_result()));
        for n in 0..3 * JOURNAL_CAPACITY {
            journal.record_refusal(JournalEntry {
                route: String::new(),
                request: RedactedRequest::new("GET", "/hooks/shop/[redacted]"),
                ..problem(100 + n, None)
            });
        }

        let answers = journal.entries();
        assert_eq!(answers.len(), 2, "refusals are not Create Defect answers");
        assert_eq!(answers[1], issue);
        let problems = journal.problems();
        assert_eq!(
            problems.len(),
            JOURNAL_CAPACITY + 1,
            "the failed answer and the newest refusals, no issue"
        );
        assert_eq!(
            detail(&problems[0]),
            format!("attempt {}", 100 + 3 * JOURNAL_CAPACITY - 1),
            "newest first"
        );
        assert_eq!(detail(problems.last().unwrap()), "attempt 1");
        assert!(problems.iter().all(JournalEntry::failed));
        assert_eq!(
            problems.iter().filter(|p| p.result.is_none()).count(),
            JOURNAL_CAPACITY
        );
    }
}
