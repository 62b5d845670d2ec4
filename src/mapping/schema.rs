//! The mapping file as written: raw TOML types, rejected on unknown keys.
//!
//! Nothing here is validated beyond its TOML shape; [`super::project`] turns a
//! `RawMapping` into a checked, compiled `ProjectMapping` once, at load time.

use serde::Deserialize;
use std::collections::BTreeMap;

/// One `mappings/*.toml` file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMapping {
    /// Which Test Manager project this file serves.
    pub project: RawProject,
    /// Where issues go in Jira.
    pub jira: RawJira,
    /// How the issue is rendered.
    #[serde(default)]
    pub issue: RawIssue,
    /// What the Test Manager dashboard's defect tile counts.
    #[serde(default)]
    pub kpis: RawKpis,
    /// What a new failure of a test case that already has an issue does.
    #[serde(default)]
    pub repeat: RawRepeat,
    /// Which evidence goes on the issue as attachments; absent: none.
    pub evidence: Option<RawEvidence>,
    /// How Jira's status and priority are written back to Test Manager; absent: on, as is.
    #[serde(default)]
    pub writeback: RawWriteback,
}

/// `[writeback]`: every key optional; see [`super::writeback::WritebackRules`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWriteback {
    /// Write this project's Jira changes back to Test Manager; default true.
    pub enabled: Option<bool>,
    /// Jira resolution name -> Test Manager status text.
    #[serde(default)]
    pub status_by_resolution: BTreeMap<String, String>,
    /// Jira status name -> Test Manager status text.
    #[serde(default)]
    pub status_by_name: BTreeMap<String, String>,
    /// Jira status category key (`new`, `indeterminate`, `done`) -> Test Manager status text.
    #[serde(default)]
    pub status_by_category: BTreeMap<String, String>,
    /// Jira priority name -> Test Manager priority text.
    #[serde(default)]
    pub priorities: BTreeMap<String, String>,
    /// Status written when the Jira issue is deleted; default `Deleted in Jira`.
    pub deleted_status: Option<String>,
    /// Priority written when the Jira issue is deleted; default: left unchanged.
    pub deleted_priority: Option<String>,
}

/// `[evidence]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEvidence {
    /// Kinds to attach: `screenshots`, `robot_log`, `attachments`; default: all three.
    pub kinds: Option<Vec<String>>,
    /// Largest file attached, in bytes; default 50 MiB.
    pub max_file_bytes: Option<u64>,
    /// Most bytes attached to one issue in total; default 200 MiB.
    pub max_total_bytes: Option<u64>,
    /// Text put in front of every file name, e.g. `tm-`; default none.
    pub file_prefix: Option<String>,
}

/// `[repeat]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRepeat {
    /// `new`, `comment` (default) or `reopen`.
    pub policy: Option<RawRepeatPolicy>,
    /// Transition (name or id) that reopens a done issue; required for `reopen`.
    pub reopen_transition: Option<String>,
    /// Comment template (Markdown); default: a short header plus the description.
    pub comment: Option<String>,
}

/// `repeat.policy`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawRepeatPolicy {
    /// Always a new issue per result.
    New,
    /// Comment on the test case's open issue, else create.
    Comment,
    /// Comment on the test case's issue, reopening it if done.
    Reopen,
}

/// `[project]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProject {
    /// Test Manager project GUID.
    pub id: String,
    /// Test Manager project prefix, e.g. `SHOP`.
    pub prefix: Option<String>,
    /// URL segment of the webhook (`/hooks/{route}`); default: prefix in lower case, else the GUID.
    pub route: Option<String>,
    /// Display name.
    pub name: Option<String>,
}

/// `[jira]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawJira {
    /// Jira project key, e.g. `SHOP`.
    pub project: String,
    /// Issue type name or id, e.g. `Bug`.
    pub issue_type: String,
    /// Reporter: accountId on Cloud, user name on Data Center.
    pub reporter: Option<String>,
    /// Assignee: accountId on Cloud, user name on Data Center.
    pub assignee: Option<String>,
}

/// `[issue]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIssue {
    /// Summary template (one line; cut to 255 characters).
    pub summary: Option<String>,
    /// Description template (Markdown).
    pub description: Option<String>,
    /// Label templates; blanks become `-`, empty results are dropped.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Component names.
    #[serde(default)]
    pub components: Vec<String>,
    /// Priority: fixed, or by rules over the failure.
    #[serde(default)]
    pub priority: RawPriority,
    /// Custom fields by their Jira name.
    #[serde(default)]
    pub custom_fields: BTreeMap<String, RawFieldValue>,
}

/// `[issue.priority]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPriority {
    /// Priority name (or id) when no rule matches; absent: Jira's default.
    pub default: Option<String>,
    /// Rules tried in order; the first whose `when` holds sets the priority.
    #[serde(default)]
    pub rules: Vec<RawPriorityRule>,
}

/// `[[issue.priority.rules]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPriorityRule {
    /// A minijinja expression over the failure, e.g. `"smoke" in test_case.labels`.
    pub when: String,
    /// Priority name (or id) to use.
    pub priority: String,
}

/// A custom field value: a template, a list of templates, or a literal number/flag.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawFieldValue {
    /// One value (text, option, user, number as text…).
    Text(String),
    /// Several values (multi-select, labels, checkboxes…).
    List(Vec<String>),
    /// A number.
    Number(f64),
    /// A flag, sent as the text `true`/`false`.
    Flag(bool),
}

/// `[kpis]`: the Jira issues the dashboard's defect counts are taken over.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKpis {
    /// JQL selecting every defect counted; default: the mapped project and issue type.
    pub scope_jql: Option<String>,
    /// Count only issues the bridge created (those carrying its marker label).
    #[serde(default)]
    pub only_bridge_issues: bool,
    /// Priority names or ids counted as critical; default `["Highest"]`.
    pub critical_priorities: Option<Vec<String>>,
    /// Priority names or ids counted as moderate; default `["High", "Medium"]`.
    pub moderate_priorities: Option<Vec<String>>,
    /// `approximate` (default) or `exact`; Jira Cloud only (Data Center counts are always exact).
    pub count_mode: Option<RawCountMode>,
}

/// `kpis.count_mode`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawCountMode {
    /// Jira Cloud's `search/approximate-count`: one cheap call per count, an estimate.
    Approximate,
    /// Page through `search/jql` with ids only: exact, one call per 5000 issues.
    Exact,
}
