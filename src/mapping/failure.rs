//! The `Failure` model: everything a mapping template can refer to.
//!
//! The Create Defect use case assembles one `Failure` from Test Manager's data;
//! templates (summary, description, labels, custom fields, priority rules) see
//! it as their only context. Field names here are part of the documented
//! mapping-file contract (see `mappings/example.toml`): rename nothing lightly.

use serde::Serialize;

/// One failed Test Manager result, as templates see it.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// The Test Manager project the result belongs to.
    pub project: FailureProject,
    /// Short stable id of the result (16 hex digits); also in `label`.
    pub result_id: String,
    /// The Jira label the bridge puts on the issue to find it again.
    pub label: String,
    /// The test case that failed.
    pub test_case: FailureTestCase,
    /// The test execution it failed in.
    pub execution: FailureExecution,
    /// The data variation, when the test case is data-driven.
    pub variation_id: Option<String>,
    /// The test case log of the failed run.
    pub log: FailureLog,
    /// Assertions that did not succeed, in Test Manager's order.
    pub failed_assertions: Vec<FailureAssertion>,
    /// Number of assertions of the run, passed and failed.
    pub assertion_count: usize,
    /// Test Manager's ready-made Markdown of the assertions, when it has one.
    pub assertions_markdown: Option<String>,
    /// Test Manager's robot log summary, passed through as JSON (`none` when absent).
    pub robot_log: Option<serde_json::Value>,
    /// The link to the test case log that Test Manager sent with the request.
    pub link: Option<String>,
}

/// The Test Manager project.
#[derive(Debug, Clone, Serialize)]
pub struct FailureProject {
    /// Project GUID.
    pub id: String,
    /// Project prefix such as `SHOP`, when the mapping names it.
    pub prefix: Option<String>,
    /// Display name from the mapping, when given.
    pub name: Option<String>,
}

/// The test case.
#[derive(Debug, Clone, Serialize)]
pub struct FailureTestCase {
    /// Test case GUID.
    pub id: String,
    /// Key such as `SHOP:42` (falls back to the GUID when Test Manager sends none).
    pub key: String,
    /// Test case name.
    pub name: String,
    /// Test case description, when it has one.
    pub description: Option<String>,
    /// Test Manager labels of the test case.
    pub labels: Vec<String>,
}

/// The test execution.
#[derive(Debug, Clone, Serialize)]
pub struct FailureExecution {
    /// Execution GUID.
    pub id: String,
    /// Execution name.
    pub name: String,
    /// Execution type (e.g. `Automated`, `Manual`, `Mixed`), when known.
    pub kind: Option<String>,
}

/// The test case log of the failed run.
#[derive(Debug, Clone, Serialize)]
pub struct FailureLog {
    /// Log GUID.
    pub id: String,
    /// Result as Test Manager reports it (`Failed`).
    pub result: String,
    /// Start of the run (ISO 8601), when known.
    pub started: Option<String>,
    /// End of the run (ISO 8601), when known.
    pub ended: Option<String>,
    /// Who ran it.
    pub executed_by: Option<String>,
    /// Robot that ran it.
    pub robot_name: Option<String>,
    /// Machine it ran on.
    pub host_machine_name: Option<String>,
    /// Runtime type reported by Orchestrator.
    pub runtime_type: Option<String>,
    /// Free-text info of the log.
    pub info: Option<String>,
    /// Test Manager's own link to the log, when it sends one.
    pub detail_link: Option<String>,
    /// Input arguments of the run (JSON).
    pub input_arguments: Option<serde_json::Value>,
    /// Output arguments of the run (JSON).
    pub output_arguments: Option<serde_json::Value>,
}

/// One failed assertion.
#[derive(Debug, Clone, Serialize)]
pub struct FailureAssertion {
    /// Assertion message.
    pub message: String,
    /// Assertion payload (often the compared values), when present.
    pub payload: Option<String>,
    /// Screenshot file name, when the assertion has one.
    pub screenshot: Option<String>,
}

impl Failure {
    /// A realistic failure used to check templates at start-up and by `check`.
    pub fn sample() -> Self {
        Self {
            project: FailureProject {
                id: "00000000-0000-0000-0000-000000000001".into(),
                prefix: Some("SHOP".into()),
                name: Some("Shop".into()),
            },
            result_id: "0123456789abcdef".into(),
            label: "tm-result-0123456789abcdef".into(),
            test_case: FailureTestCase {
                id: "00000000-0000-0000-0000-000000000002".into(),
                key: "SHOP:42".into(),
                name: "Checkout with an expired card".into(),
                description: Some("The shop refuses expired cards.".into()),
                labels: vec!["checkout".into()],
            },
            execution: FailureExecution {
                id: "00000000-0000-0000-0000-000000000003".into(),
                name: "Nightly regression".into(),
                kind: Some("Automated".into()),
            },
            variation_id: Some("row-2".into()),
            log: FailureLog {
                id: "00000000-0000-0000-0000-000000000004".into(),
                result: "Failed".into(),
                started: Some("2026-11-27T02:00:00Z".into()),
                ended: Some("2026-11-27T02:01:10Z".into()),
                executed_by: Some("robot@example.com".into()),
                robot_name: Some("robot-7".into()),
                host_machine_name: Some("WIN-TEST-01".into()),
                runtime_type: Some("Unattended".into()),
                info: None,
                detail_link: None,
                input_arguments: Some(serde_json::json!({"card": "expired"})),
                output_arguments: None,
            },
            failed_assertions: vec![FailureAssertion {
                message: "Expected 'Card declined' but found 'Thank you'".into(),
                payload: Some("{\"expected\":\"Card declined\"}".into()),
                screenshot: Some("assert-1.png".into()),
            }],
            assertion_count: 3,
            assertions_markdown: Some(
                "| Assertion | Result |\n|---|---|\n| Card declined | Failed |".into(),
            ),
            robot_log: Some(serde_json::json!({"errors": 1, "warnings": 2})),
            link: Some(
                "https://cloud.uipath.com/org/tenant/testmanager_/SHOP/testcaselog/1".into(),
            ),
        }
    }
}
