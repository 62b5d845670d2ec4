//! Jira's issue JSON as the bridge reads it back (create answers, searches, GET issue).

use crate::tracker::IssueRef;
use serde::Deserialize;

/// `{"id","key","self"}` — the answer to a create.
#[derive(Debug, Deserialize)]
pub struct CreatedIssue {
    /// Numeric id.
    pub id: String,
    /// Issue key.
    pub key: String,
}

/// An issue with the few fields the bridge asks for.
#[derive(Debug, Deserialize)]
pub struct IssueJson {
    /// Numeric id.
    pub id: String,
    /// Issue key.
    pub key: String,
    /// Requested fields.
    #[serde(default)]
    pub fields: IssueFields,
}

/// `fields` of [`IssueJson`].
#[derive(Debug, Default, Deserialize)]
pub struct IssueFields {
    /// Summary.
    pub summary: Option<String>,
    /// Status.
    pub status: Option<Status>,
    /// Priority.
    pub priority: Option<Named>,
}

/// A status with its category.
#[derive(Debug, Deserialize)]
pub struct Status {
    /// Display name.
    pub name: Option<String>,
    /// Category (`new`, `indeterminate`, `done`).
    #[serde(rename = "statusCategory")]
    pub category: Option<StatusCategory>,
}

/// `statusCategory`.
#[derive(Debug, Deserialize)]
pub struct StatusCategory {
    /// `new`, `indeterminate` or `done`.
    pub key: Option<String>,
}

/// An available transition.
#[derive(Debug, Deserialize)]
pub struct Transition {
    /// Id to send.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
}

/// `GET issue/{key}/transitions`.
#[derive(Debug, Deserialize)]
pub struct Transitions {
    /// Transitions available now.
    #[serde(default)]
    pub transitions: Vec<Transition>,
}

/// Anything with a `name`.
#[derive(Debug, Deserialize)]
pub struct Named {
    /// Display name.
    pub name: Option<String>,
}

/// A page of search results (both flavours; Cloud has no `total`).
#[derive(Debug, Deserialize)]
pub struct SearchPage {
    /// Issues on this page.
    #[serde(default)]
    pub issues: Vec<IssueJson>,
}

impl IssueJson {
    /// Converts to the port's type, given the browse URL.
    pub fn into_ref(self, browse_url: String) -> IssueRef {
        let (status, status_category) = match self.fields.status {
            Some(s) => (s.name, s.category.and_then(|c| c.key)),
            None => (None, None),
        };
        IssueRef {
            id: self.id,
            key: self.key,
            browse_url,
            summary: self.fields.summary,
            status,
            status_category,
            priority: self.fields.priority.and_then(|p| p.name),
        }
    }
}
