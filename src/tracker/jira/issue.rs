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
    pub status: Option<Named>,
    /// Priority.
    pub priority: Option<Named>,
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
        IssueRef {
            id: self.id,
            key: self.key,
            browse_url,
            summary: self.fields.summary,
            status: self.fields.status.and_then(|s| s.name),
            priority: self.fields.priority.and_then(|p| p.name),
        }
    }
}
