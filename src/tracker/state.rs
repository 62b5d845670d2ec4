//! What the write-back reads from the tracker: an issue's current state, and
//! pages of issues found by a search.
//!
//! Owns the port types of [`super::DefectTracker::issue_state`],
//! [`super::DefectTracker::search_states`] and [`super::DefectTracker::search_keys`].
//! They carry only what writing Jira's state back to Test Manager needs and
//! what ordering writes needs (`updated`), nothing Jira-flavour specific
//! except the opaque paging cursor.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Jira's status category: the workflow-independent meaning of a status.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StatusCategory {
    /// `new`: not started (e.g. "To Do", "Open").
    New,
    /// `indeterminate`: in progress.
    Indeterminate,
    /// `done`: finished, whatever the resolution.
    Done,
    /// Any other key Jira sends (its "No Category" is `undefined`), or none; kept as sent.
    Undefined(String),
}

impl StatusCategory {
    /// The category for Jira's `statusCategory.key`; unknown keys become [`Self::Undefined`].
    pub fn from_key(key: &str) -> Self {
        match key.trim().to_ascii_lowercase().as_str() {
            "new" => Self::New,
            "indeterminate" => Self::Indeterminate,
            "done" => Self::Done,
            _ => Self::Undefined(key.to_owned()),
        }
    }

    /// Jira's key: `new`, `indeterminate`, `done`, or the unknown key as sent.
    pub fn key(&self) -> &str {
        match self {
            Self::New => "new",
            Self::Indeterminate => "indeterminate",
            Self::Done => "done",
            Self::Undefined(key) => key,
        }
    }
}

/// An issue's state as the tracker holds it now: what write-back copies to
/// Test Manager and the `updated` time that orders writes (newest wins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueState {
    /// Numeric id, e.g. `10042`; stable when the issue moves to another project.
    pub id: String,
    /// Key, e.g. `SHOP-12`.
    pub key: String,
    /// Status name, e.g. `In Progress`.
    pub status: String,
    /// The status's category.
    pub status_category: StatusCategory,
    /// Resolution name (`Fixed`, `Won't Fix`, …); `None` while unresolved.
    pub resolution: Option<String>,
    /// Priority name; `None` when the issue has none (priority field hidden).
    pub priority: Option<String>,
    /// When the issue last changed, to the second or better; orders writes.
    pub updated: DateTime<Utc>,
    /// The issue's labels.
    pub labels: Vec<String>,
}

/// Where the next page of a search starts. Produced by the tracker and
/// handed back unchanged; serialisable so a long sweep can keep its place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageCursor {
    /// Jira Cloud's `nextPageToken` (valid for 7 days).
    Token(String),
    /// Jira Data Center's `startAt`: issues to skip.
    StartAt(u64),
}

/// One page of [`IssueState`]s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatePage {
    /// Issues on this page, in the query's order.
    pub issues: Vec<IssueState>,
    /// The next page, `None` on the last one.
    pub next: Option<PageCursor>,
}

/// An issue found by [`super::DefectTracker::search_keys`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueId {
    /// Numeric id: always present, and stable across project moves, so compare by it.
    pub id: String,
    /// Key, when the tracker sends it: Data Center always does; Jira Cloud's
    /// search returns ids only when only ids are asked for.
    pub key: Option<String>,
}

/// One page of [`IssueId`]s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPage {
    /// Issues on this page, in the query's order.
    pub issues: Vec<IssueId>,
    /// The next page, `None` on the last one.
    pub next: Option<PageCursor>,
}

/// Jira's timestamp (`2026-12-06T05:55:22.000+0000`: offset without a colon),
/// or RFC 3339 (`…+00:00`, `…Z`), as UTC.
pub fn parse_jira_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(text))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_round_trip_and_keep_unknown_keys() {
        for key in ["new", "indeterminate", "done"] {
            assert_eq!(StatusCategory::from_key(key).key(), key);
        }
        assert_eq!(StatusCategory::from_key("Done"), StatusCategory::Done);
        assert_eq!(
            StatusCategory::from_key("undefined"),
            StatusCategory::Undefined("undefined".into())
        );
    }

    #[test]
    fn cursors_serialise_for_keeping() {
        let token = PageCursor::Token("abc".into());
        let text = serde_json::to_string(&token).unwrap();
        assert_eq!(text, r#"{"token":"abc"}"#);
        assert_eq!(serde_json::from_str::<PageCursor>(&text).unwrap(), token);
        assert_eq!(
            serde_json::to_string(&PageCursor::StartAt(100)).unwrap(),
            r#"{"start_at":100}"#
        );
    }
}
