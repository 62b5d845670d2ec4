//! The operator's view of the bridge: one model, served as JSON
//! (`/operator.json`) and rendered as the HTML page (`/`), so both always
//! show the same data.
//!
//! Wall-clock times are UTC; ages measured on this process's monotonic clock
//! are in whole seconds.

use super::checks::{CheckRun, FileCheck};
use super::journal::{JournalEntry, ResultRef};
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// Everything the operator's page shows.
#[derive(Debug, Clone, Serialize)]
pub struct StatusView {
    /// When the view was gathered.
    pub generated_at: DateTime<Utc>,
    /// Whether every dependency answered its probe recently (what `/readyz` says).
    pub ready: bool,
    /// The ledger, Jira and Test Manager, as the readiness probes last saw them.
    pub dependencies: Vec<DependencyRow>,
    /// The latest check of the mappings directory.
    pub last_check: Option<CheckRun>,
    /// The mappings in force.
    pub mappings: Vec<MappingRow>,
    /// Files the latest checks found fault with that are not in force (e.g. a
    /// new file a refused reload could not load).
    pub refused_files: Vec<RefusedFile>,
    /// Webhook calls answered with a problem, and results whose create Jira never confirmed.
    pub failures: Failures,
    /// The last Create Defect answers of this process, newest first.
    pub answers: Vec<JournalEntry>,
    /// The ledger's results, most recently changed first, and its counts.
    pub results: Results,
    /// The evidence queue.
    pub evidence: EvidenceQueueView,
    /// Parts of the view that could not be read, and why (e.g. the ledger is down).
    pub unavailable: Vec<String>,
}

/// One dependency's readiness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DependencyRow {
    /// `ledger`, `jira` or `testmanager`.
    pub name: String,
    /// Answered within the readiness bound.
    pub ready: bool,
    /// Seconds since it last answered well (`None`: not since start-up).
    pub last_ok_secs_ago: Option<u64>,
    /// Why the last probe failed, if it did.
    pub last_error: Option<String>,
}

/// One mapping in force.
#[derive(Debug, Clone, Serialize)]
pub struct MappingRow {
    /// The webhook route (`/hooks/{route}/…`).
    pub route: String,
    /// The mapping file.
    pub file: String,
    /// The mapping's display name, if it has one.
    pub name: Option<String>,
    /// The Test Manager project.
    pub test_manager_project: Uuid,
    /// The Test Manager project prefix, if known.
    pub prefix: Option<String>,
    /// The Jira project issues are created in.
    pub jira_project: String,
    /// The issue type created.
    pub issue_type: String,
    /// The defect KPI counts cached for the dashboard.
    pub kpi_cache: KpiCacheView,
    /// The latest servable check of the file (`None`: none recorded).
    pub check: Option<FileCheck>,
}

/// The KPI cache of one project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KpiCacheView {
    /// Seconds since the counts last loaded from Jira (`None`: not since start-up).
    pub age_secs: Option<u64>,
    /// Whether the dashboard is answered from the cache without asking Jira.
    pub fresh: bool,
    /// Whether Jira is left alone for now after a failed count.
    pub backing_off: bool,
}

/// A mapping file not in force, with its latest check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefusedFile {
    /// The file.
    pub file: String,
    /// Its latest check.
    pub check: FileCheck,
}

/// What went wrong lately.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Failures {
    /// Webhook calls answered with a problem (this process), newest first: those
    /// refused at the edge (wrong secret, unknown path, unreadable body, overload;
    /// no `result`) and the Create Defects that failed.
    pub answers: Vec<JournalEntry>,
    /// Results whose create Jira did not confirm: the next Create Defect looks for the issue first.
    pub unconfirmed: Vec<ResultRow>,
}

/// The ledger's results.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Results {
    /// Entries per state (`claimed`, `uncertain`, `created`).
    pub counts: Vec<StateCount>,
    /// The most recently changed entries.
    pub recent: Vec<ResultRow>,
}

/// How many rows are in one state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateCount {
    /// The state.
    pub state: String,
    /// Rows in it.
    pub count: u64,
}

/// One result in the ledger.
#[derive(Debug, Clone, Serialize)]
pub struct ResultRow {
    /// When the entry last changed state.
    pub updated_at: DateTime<Utc>,
    /// The webhook route it came in on.
    pub route: String,
    /// The result.
    pub result: ResultRef,
    /// `claimed` (being created), `uncertain` (create unconfirmed) or `created`.
    pub state: String,
    /// Claims so far.
    pub attempts: u32,
    /// The issue holding it, once recorded.
    pub issue: Option<IssueView>,
    /// Whether the issue links back to Test Manager.
    pub linked_back: bool,
    /// Why the last create was unconfirmed, if one was.
    pub last_error: Option<String>,
}

/// A Jira issue as the ledger recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssueView {
    /// The key, e.g. `SHOP-12`.
    pub key: String,
    /// Where people open it.
    pub browse_url: String,
    /// Its summary when recorded.
    pub summary: String,
    /// Its status when last seen, if known.
    pub status: Option<String>,
}

/// The evidence queue.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EvidenceQueueView {
    /// Rows per state (`pending`, `uploading`, `done`, `skipped`, `failed`).
    pub counts: Vec<StateCount>,
    /// The newest rows still queued, uploading, or failed.
    pub outstanding: Vec<EvidenceRowView>,
}

/// One evidence row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceRowView {
    /// When it was queued.
    pub queued_at: DateTime<Utc>,
    /// The issue it goes on.
    pub issue_key: String,
    /// The webhook route whose mapping applies.
    pub route: String,
    /// `screenshot`, `robot_log`, `attachment`, `attachment_index` or `summary`.
    pub kind: String,
    /// The file name it gets on the issue.
    pub file_name: String,
    /// `pending`, `uploading` or `failed`.
    pub state: String,
    /// Claims so far.
    pub attempts: u32,
    /// Why it failed last, if it did.
    pub last_error: Option<String>,
}
