//! The issue tracker port, and its Jira adapter.
//!
//! Owns the `DefectTracker` trait the use cases call, the types crossing it,
//! and the tracker error taxonomy. Files to attach cross it as a
//! [`ByteStream`], which belongs to neither port. The error kinds matter: a create that
//! *may* have happened (`Ambiguous`) must never be retried blindly.

pub mod jira;
pub mod jql;
pub mod state;

pub use state::{
    parse_jira_time, IssueId, IssueState, KeyPage, PageCursor, StatePage, StatusCategory,
};

use crate::byte_stream::ByteStream;
use crate::mapping::{CountMode, IssueDraft};
use async_trait::async_trait;

/// An issue as the bridge knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueRef {
    /// Numeric id, e.g. `10042`.
    pub id: String,
    /// Key, e.g. `SHOP-12`.
    pub key: String,
    /// URL people open the issue at.
    pub browse_url: String,
    /// Summary, when known.
    pub summary: Option<String>,
    /// Status name, when known.
    pub status: Option<String>,
    /// Status category key (`new`, `indeterminate`, `done`), when known.
    pub status_category: Option<String>,
    /// Priority name, when known.
    pub priority: Option<String>,
}

impl IssueRef {
    /// True when Jira says the issue is done (status category `done`).
    pub fn is_done(&self) -> bool {
        self.status_category.as_deref() == Some("done")
    }
}

/// A link on the issue back to the Test Manager result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteLink {
    /// Deterministic id: the same result always upserts the same link.
    pub global_id: String,
    /// Target URL.
    pub url: String,
    /// Link text.
    pub title: String,
}

/// What a mapping asks of the tracker, checked against its metadata.
#[derive(Debug, Clone)]
pub struct TargetSpec {
    /// Mapping file, for messages.
    pub file: String,
    /// Project key.
    pub project_key: String,
    /// Issue type name or id.
    pub issue_type: String,
    /// Priority names or ids the mapping may set.
    pub priorities: Vec<String>,
    /// Priority names or ids the KPI counts name (`kpis.*_priorities`); checked
    /// only against the priorities Jira lists, never required on the screen.
    pub kpi_priorities: Vec<String>,
    /// Component names.
    pub components: Vec<String>,
    /// Custom field names.
    pub custom_fields: Vec<String>,
}

/// A problem found when checking a [`TargetSpec`]: the mapping key and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetProblem {
    /// Dotted mapping key, e.g. `jira.issue_type`.
    pub key: String,
    /// What Jira lacks and what it offers instead.
    pub message: String,
}

/// A file already on an issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedFile {
    /// File name.
    pub name: String,
    /// Size in bytes, when Jira said.
    pub size: Option<u64>,
}

/// How an upload ended, when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadOutcome {
    /// Jira answered 2xx: the file is on the issue (the answer's body is not needed).
    Attached,
    /// Jira refused the file as too large (413); not worth retrying.
    TooLarge(String),
}

/// Why a tracker call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TrackerError {
    /// Jira refused the request (4xx); nothing was created or changed.
    #[error("Jira refused {call} ({status}): {detail}")]
    Rejected {
        /// The call, e.g. `create issue`.
        call: &'static str,
        /// HTTP status.
        status: u16,
        /// Jira's error messages.
        detail: String,
    },
    /// Jira refused the credentials (401/403).
    #[error("Jira refused the credentials for {call} ({status}); check jira.email and the token, and the account's permissions")]
    Auth {
        /// The call.
        call: &'static str,
        /// HTTP status.
        status: u16,
    },
    /// Jira is rate limiting; the request was not processed.
    #[error("Jira is rate limiting {call}; retry after {retry_after_secs:?} s")]
    RateLimited {
        /// The call.
        call: &'static str,
        /// Seconds Jira asked to wait, when it said.
        retry_after_secs: Option<u64>,
    },
    /// Jira failed (5xx) on a call that changes nothing, or is not reachable.
    #[error("Jira failed on {call}: {detail}")]
    Unavailable {
        /// The call.
        call: &'static str,
        /// Status or transport error.
        detail: String,
    },
    /// Jira did not answer in time.
    #[error("Jira did not answer {call} in time")]
    Timeout {
        /// The call.
        call: &'static str,
    },
    /// A create may or may not have happened (timeout, 5xx or dropped
    /// connection after the request was sent).
    #[error("Jira's answer to {call} was lost ({detail}); the issue may exist")]
    Ambiguous {
        /// The call.
        call: &'static str,
        /// What happened.
        detail: String,
    },
    /// Jira answered something the bridge cannot read.
    #[error("Jira's answer to {call} could not be read: {detail}")]
    Decode {
        /// The call.
        call: &'static str,
        /// Parser message.
        detail: String,
    },
}

impl TrackerError {
    /// True when the same call may succeed later: Jira unreachable, failing (5xx), slow
    /// or rate limiting. Refusals, credentials and unreadable answers are not.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Unavailable { .. }
                | Self::Timeout { .. }
                | Self::Ambiguous { .. }
        )
    }

    /// The call that failed.
    pub fn call(&self) -> &'static str {
        match self {
            Self::Rejected { call, .. }
            | Self::Auth { call, .. }
            | Self::RateLimited { call, .. }
            | Self::Unavailable { call, .. }
            | Self::Timeout { call }
            | Self::Ambiguous { call, .. }
            | Self::Decode { call, .. } => call,
        }
    }
}

/// The issue tracker, as the use cases need it.
#[async_trait]
pub trait DefectTracker: Send + Sync + 'static {
    /// Creates the issue. Not idempotent: on `Ambiguous` the caller must look
    /// for the issue (by its result label) before trying again.
    async fn create_issue(&self, draft: &IssueDraft) -> Result<IssueRef, TrackerError>;

    /// The create request `draft` would become — target URL and exact body — sending nothing.
    async fn preview_create(
        &self,
        draft: &IssueDraft,
    ) -> Result<(String, serde_json::Value), TrackerError>;

    /// Adds or updates (by `global_id`) a remote link on `issue_key`. Idempotent.
    async fn upsert_remote_link(
        &self,
        issue_key: &str,
        link: &RemoteLink,
    ) -> Result<(), TrackerError>;

    /// Reads the issue's current status (and its category) and priority.
    async fn issue(&self, issue_key: &str) -> Result<IssueRef, TrackerError>;

    /// Appends `markdown` to the issue's description unless the description
    /// already contains `marker` (so a repeat appends nothing). Returns false
    /// when it was already there or would push the description over the limit.
    async fn append_to_description(
        &self,
        issue_key: &str,
        marker: &str,
        markdown: &str,
    ) -> Result<bool, TrackerError> {
        let _ = (issue_key, marker, markdown);
        Ok(false)
    }

    /// Adds a comment written in Markdown (converted to the tracker's rich text).
    /// Not idempotent: a lost answer may leave the comment in place.
    async fn add_comment(&self, issue_key: &str, markdown: &str) -> Result<(), TrackerError>;

    /// Adds `label` to the issue. Idempotent.
    async fn add_label(&self, issue_key: &str, label: &str) -> Result<(), TrackerError>;

    /// Moves the issue through the transition named (or with the id) `transition`.
    async fn transition(&self, issue_key: &str, transition: &str) -> Result<(), TrackerError>;

    /// Finds the issue carrying `label`, oldest first if several.
    async fn find_by_label(&self, label: &str) -> Result<Option<IssueRef>, TrackerError>;

    /// Checks a mapping's targets against the tracker's metadata.
    async fn verify_target(&self, spec: &TargetSpec) -> Result<Vec<TargetProblem>, TrackerError>;

    /// Proves the tracker answers and accepts the credentials.
    async fn probe(&self) -> Result<(), TrackerError>;

    /// Loads what creating an issue with custom fields will need (Jira's field
    /// list), so it can overlap with other work. Failures are left for the
    /// create to report.
    async fn warm_up(&self) {}

    /// Counts the issues `jql` selects. `jql` must be bounded and carry no
    /// `ORDER BY`. `mode` chooses between an estimate and an exact count where
    /// the tracker offers both; an exact count is never short: a page that
    /// fails fails the whole count.
    async fn count(&self, jql: &str, mode: CountMode) -> Result<u64, TrackerError>;

    /// The URL of the tracker's own issue search for `jql`, for people to open.
    fn search_url(&self, jql: &str) -> String;

    /// Streams `body` (`length` bytes when known) to the issue as the attachment
    /// `file_name`. Not idempotent and sent once: a lost answer may leave the file in place
    /// (check [`Self::attachments`] before trying again). `timeout` bounds the upload.
    async fn attach_file(
        &self,
        _issue_key: &str,
        _file_name: &str,
        _length: Option<u64>,
        _body: ByteStream,
        _timeout: std::time::Duration,
    ) -> Result<UploadOutcome, TrackerError> {
        Err(TrackerError::Rejected {
            call: "add an attachment",
            status: 501,
            detail: "this tracker takes no attachments".into(),
        })
    }

    /// The files attached to the issue.
    async fn attachments(&self, _issue_key: &str) -> Result<Vec<AttachedFile>, TrackerError> {
        Ok(Vec::new())
    }

    /// The issue's current status, priority, resolution, labels and `updated` time;
    /// `Ok(None)` when the issue is gone: deleted, or no longer visible to the bridge.
    async fn issue_state(&self, issue_key: &str) -> Result<Option<IssueState>, TrackerError>;

    /// One page of the issues `jql` selects, with their states, in the query's order.
    /// `cursor` is `None` for the first page, then the previous page's `next`.
    /// `page_size` is clamped to what the tracker serves per page (Jira Cloud: 100,
    /// Data Center: 1000); the tracker may answer fewer. `jql` must be bounded.
    async fn search_states(
        &self,
        jql: &str,
        cursor: Option<PageCursor>,
        page_size: u32,
    ) -> Result<StatePage, TrackerError>;

    /// Like [`Self::search_states`], but ids (and keys where the tracker sends them)
    /// only, so pages are larger (Jira Cloud: up to 5000, Data Center: 1000): for
    /// listing every bridge issue cheaply.
    async fn search_keys(
        &self,
        jql: &str,
        cursor: Option<PageCursor>,
        page_size: u32,
    ) -> Result<KeyPage, TrackerError>;

    /// Whether a comment on the issue contains `marker` (every page of comments is read).
    /// Lets a step whose comment may have been posted before its worker died look first.
    async fn has_comment_containing(
        &self,
        _issue_key: &str,
        _marker: &str,
    ) -> Result<bool, TrackerError> {
        Ok(false)
    }
}
