//! The shapes of Test Manager's API answers, as far as the bridge reads them.
//!
//! Owns the serde types and [`FailureDetails`], the bundle handed to the rest
//! of the bridge. All types read camelCase JSON, ignore fields they do not
//! know, and accept `null` wherever the API may leave a value out, because
//! Test Manager adds fields between versions and the swagger does not say
//! which ones are always present.

use serde::{Deserialize, Deserializer};
use uuid::Uuid;

/// Reads `null` as the type's default (empty string, `false`, empty list).
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// One result of one test case in one test execution (a "test case log").
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestCaseLog {
    /// The log's id; the key for assertions and robot logs.
    pub id: Uuid,
    /// The test case this result belongs to.
    pub test_case_id: Uuid,
    /// The test execution this result belongs to.
    pub test_execution_id: Uuid,
    /// The data variation, `None` (or empty) for a test case without one.
    #[serde(default)]
    pub variation_id: Option<String>,
    /// `Passed`, `Failed`, `None`, … — the authority on whether the run failed.
    #[serde(default, deserialize_with = "null_as_default")]
    pub result: String,
    /// Whether the run recorded an error. Not a failure indicator: a failed
    /// run can report `false`.
    #[serde(default)]
    pub has_error: Option<bool>,
    /// When the run started, as Test Manager formats it (ISO 8601).
    #[serde(default)]
    pub execution_start: Option<String>,
    /// When the run ended, as Test Manager formats it (ISO 8601).
    #[serde(default)]
    pub execution_end: Option<String>,
    /// Who ran the test.
    #[serde(default)]
    pub executed_by: Option<String>,
    /// The robot that ran the test.
    #[serde(default)]
    pub robot_name: Option<String>,
    /// The machine the robot ran on.
    #[serde(default)]
    pub host_machine_name: Option<String>,
    /// The robot runtime (e.g. `Unattended`).
    #[serde(default)]
    pub runtime_type: Option<String>,
    /// Arguments the test was started with, passed through as-is.
    #[serde(default)]
    pub input_arguments: Option<serde_json::Value>,
    /// Arguments the test returned, passed through as-is.
    #[serde(default)]
    pub output_arguments: Option<serde_json::Value>,
    /// Free-text information recorded with the result.
    #[serde(default)]
    pub info: Option<String>,
    /// A link to the run's details (e.g. in Orchestrator).
    #[serde(default)]
    pub detail_link: Option<String>,
    /// Which run of the test case this is when it ran several times in one
    /// execution. Its type is not documented (number or string), so it is
    /// kept as JSON.
    #[serde(default)]
    pub run_id: Option<serde_json::Value>,
    /// The Test Manager defect already linked to this result, if any.
    #[serde(default)]
    pub defect_id: Option<String>,
    /// A summary of the test case, when the API embeds one.
    #[serde(default)]
    pub test_case: Option<LogTestCase>,
}

/// The test case summary embedded in a [`TestCaseLog`].
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogTestCase {
    /// The test case key, e.g. `SHOP:42`.
    #[serde(default)]
    pub obj_key: Option<String>,
    /// The test case name.
    #[serde(default)]
    pub name: Option<String>,
}

/// A test case (`GET testcases/{id}`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestCase {
    /// The test case id.
    pub id: Uuid,
    /// The human key, e.g. `SHOP:42`.
    #[serde(default)]
    pub obj_key: Option<String>,
    /// The test case name (empty if Test Manager sent none).
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// The description (may be HTML or Markdown, as entered in Test Manager).
    #[serde(default)]
    pub description: Option<String>,
    /// Label names. Test Manager versions differ on whether labels are
    /// strings or objects with a `name`; both are read into names, and
    /// entries without a name are skipped.
    #[serde(default, deserialize_with = "label_names")]
    pub labels: Vec<String>,
}

fn label_names<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Label {
        Name(String),
        Object {
            #[serde(default)]
            name: Option<String>,
            #[serde(default)]
            title: Option<String>,
        },
        Other(serde::de::IgnoredAny),
    }
    let labels = Option::<Vec<Label>>::deserialize(deserializer)?.unwrap_or_default();
    Ok(labels
        .into_iter()
        .filter_map(|label| match label {
            Label::Name(name) => Some(name),
            Label::Object { name, title } => name.or(title),
            Label::Other(_) => None,
        })
        .filter(|name| !name.trim().is_empty())
        .collect())
}

/// A test execution (`GET testexecutions/{id}`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "RawTestExecution")]
pub struct TestExecution {
    /// The test execution id.
    pub id: Uuid,
    /// Its name (empty if Test Manager sent none).
    pub name: String,
    /// How it was run (e.g. `Automated`, `Manual`, `Mixed`), from
    /// `executionType` or, failing that, `type`.
    pub execution_type: Option<String>,
}

// Separate fields rather than a serde alias: with an alias, a body carrying
// both `executionType` and `type` would be rejected as a duplicate field.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTestExecution {
    id: Uuid,
    #[serde(default, deserialize_with = "null_as_default")]
    name: String,
    #[serde(default)]
    execution_type: Option<serde_json::Value>,
    #[serde(default, rename = "type")]
    kind: Option<serde_json::Value>,
}

impl From<RawTestExecution> for TestExecution {
    fn from(raw: RawTestExecution) -> Self {
        Self {
            id: raw.id,
            name: raw.name,
            execution_type: scalar_text(raw.execution_type).or_else(|| scalar_text(raw.kind)),
        }
    }
}

/// A string or number as text; enums may be serialised either way.
fn scalar_text(value: Option<serde_json::Value>) -> Option<String> {
    match value? {
        serde_json::Value::String(s) if !s.is_empty() => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// One assertion recorded by a test run (`GET testcaselogs/{id}/assertions`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Assertion {
    /// The assertion id; the key for its screenshot.
    pub id: Uuid,
    /// The log the assertion belongs to.
    #[serde(default)]
    pub test_case_log_id: Option<Uuid>,
    /// The assertion's message.
    #[serde(default)]
    pub message: Option<String>,
    /// Extra data recorded with the assertion.
    #[serde(default)]
    pub payload: Option<String>,
    /// Whether a screenshot was taken.
    #[serde(default, deserialize_with = "null_as_default")]
    pub has_screenshot: bool,
    /// Whether the assertion held; failed assertions are the interesting ones.
    #[serde(default, deserialize_with = "null_as_default")]
    pub succeeded: bool,
    /// The screenshot's file name, if any.
    #[serde(default)]
    pub screenshot_file_name: Option<String>,
    /// The screenshot's size in bytes, if any.
    #[serde(default)]
    pub screenshot_file_size: Option<i64>,
}

/// A Test Manager project.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "RawProject")]
pub struct Project {
    /// The project id, used in every `api/v2/{projectId}` path.
    pub id: Uuid,
    /// The project name.
    pub name: Option<String>,
    /// The project prefix (e.g. `SHOP`), from `projectPrefix` or `prefix`.
    pub project_prefix: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProject {
    id: Uuid,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    project_prefix: Option<String>,
    #[serde(default)]
    prefix: Option<String>,
}

impl From<RawProject> for Project {
    fn from(raw: RawProject) -> Self {
        Self {
            id: raw.id,
            name: raw.name,
            project_prefix: raw.project_prefix.or(raw.prefix),
        }
    }
}

/// Test Manager's paged envelope: `{data: [...], paging: {...}}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
pub struct Paged<T> {
    /// The items of this page.
    #[serde(default = "Vec::new", deserialize_with = "null_as_default")]
    pub data: Vec<T>,
    /// Where this page sits; some answers omit it.
    #[serde(default)]
    pub paging: Option<Paging>,
}

/// The `paging` part of [`Paged`]. Every field is optional because none is
/// documented as always present; whether `page` counts from 0 or 1 is not
/// documented either, so the client does not rely on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Paging {
    /// Items across all pages.
    #[serde(default)]
    pub total: Option<u64>,
    /// This page's number.
    #[serde(default)]
    pub page: Option<u64>,
    /// Number of pages.
    #[serde(default)]
    pub pages: Option<u64>,
    /// Items per page.
    #[serde(default)]
    pub page_size: Option<u64>,
    /// Items in this page.
    #[serde(default)]
    pub returned: Option<u64>,
}

/// Everything the bridge needs about one failed result, as fetched by
/// [`super::TestManager::fetch_failure`].
#[derive(Debug, Clone, PartialEq)]
pub struct FailureDetails {
    /// The latest failed run of the result.
    pub log: TestCaseLog,
    /// The test case that failed.
    pub test_case: TestCase,
    /// The execution it failed in.
    pub execution: TestExecution,
    /// All assertions of the run, passed and failed; the renderer picks.
    pub assertions: Vec<Assertion>,
    /// Test Manager's ready-made Markdown of the assertions, if it has one.
    pub assertions_markdown: Option<String>,
    /// The `robotlogs/info` answer, passed through: its shape is undocumented.
    pub robot_log: Option<serde_json::Value>,
}

/// An id Test Manager may send as a string or a number.
pub(crate) fn id_as_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected an id, found {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID: &str = "11111111-1111-1111-1111-111111111111";

    #[test]
    fn log_tolerates_nulls_and_unknown_fields() {
        let log: TestCaseLog = serde_json::from_value(json!({
            "id": ID, "testCaseId": ID, "testExecutionId": ID,
            "variationId": null, "result": null, "hasError": null,
            "runId": 3, "testCase": {"objKey": "SHOP:1", "name": null, "extra": 1},
            "somethingNew": {"deep": true}
        }))
        .unwrap();
        assert_eq!(log.result, "");
        assert_eq!(log.run_id, Some(json!(3)));
        assert_eq!(log.test_case.unwrap().obj_key.as_deref(), Some("SHOP:1"));
    }

    #[test]
    fn labels_as_strings_objects_or_null() {
        let case: TestCase = serde_json::from_value(json!({
            "id": ID, "name": "Checkout", "objKey": "SHOP:42",
            "labels": ["smoke", {"name": "payments", "id": 4}, {"title": "ui"}, {"id": 5}, 7]
        }))
        .unwrap();
        assert_eq!(case.labels, ["smoke", "payments", "ui"]);
        let case: TestCase =
            serde_json::from_value(json!({"id": ID, "name": null, "labels": null})).unwrap();
        assert!(case.labels.is_empty());
        assert_eq!(case.name, "");
    }

    #[test]
    fn execution_type_from_either_field() {
        let exec: TestExecution =
            serde_json::from_value(json!({"id": ID, "name": "Nightly", "type": "Automated"}))
                .unwrap();
        assert_eq!(exec.execution_type.as_deref(), Some("Automated"));
        let exec: TestExecution = serde_json::from_value(
            json!({"id": ID, "name": "N", "executionType": "Manual", "type": 2}),
        )
        .unwrap();
        assert_eq!(exec.execution_type.as_deref(), Some("Manual"));
    }

    #[test]
    fn project_prefix_from_either_field_and_assertion_defaults() {
        let p: Project = serde_json::from_value(json!({"id": ID, "prefix": "SHOP"})).unwrap();
        assert_eq!(p.project_prefix.as_deref(), Some("SHOP"));
        let a: Assertion =
            serde_json::from_value(json!({"id": ID, "hasScreenshot": null})).unwrap();
        assert!(!a.has_screenshot && !a.succeeded);
        let page: Paged<Assertion> = serde_json::from_value(json!({"data": null})).unwrap();
        assert!(page.data.is_empty() && page.paging.is_none());
    }
}
