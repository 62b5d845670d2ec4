//! `IssueDraft`: a rendered issue, ready for a tracker to send.
//!
//! Text is still Markdown here; the tracker adapter converts it to its own
//! rich-text format (ADF for Jira Cloud, wiki markup for Data Center) and
//! resolves custom field names to ids.

/// A Jira issue as rendered from a mapping, before flavour-specific encoding.
#[derive(Debug, Clone, PartialEq)]
pub struct IssueDraft {
    /// Jira project key.
    pub project_key: String,
    /// Issue type name or id.
    pub issue_type: String,
    /// One line, at most 255 characters.
    pub summary: String,
    /// Markdown.
    pub description_markdown: String,
    /// Priority name or id; `None` leaves Jira's default.
    pub priority: Option<String>,
    /// Labels, already free of blanks; always includes the result label.
    pub labels: Vec<String>,
    /// Component names.
    pub components: Vec<String>,
    /// Custom fields by Jira field name, in mapping order.
    pub custom_fields: Vec<(String, FieldValue)>,
    /// Reporter (accountId on Cloud, name on Data Center).
    pub reporter: Option<String>,
    /// Assignee (accountId on Cloud, name on Data Center).
    pub assignee: Option<String>,
}

/// A rendered custom field value; the adapter shapes it by the field's type.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// One value; Markdown for multi-line text fields.
    One(String),
    /// Several values.
    Many(Vec<String>),
}
