//! Checking a mapping against Jira's create metadata.
//!
//! Uses `GET issue/createmeta/{project}/issuetypes[/{id}]` (the paged form;
//! the old single createmeta was removed in Data Center 9). Cloud answers
//! `issueTypes`/`fields`, Data Center `values`: both are accepted.

use super::fields::FieldCatalog;
use crate::tracker::{TargetProblem, TargetSpec};
use serde::Deserialize;

/// One page of issue types (either flavour).
#[derive(Debug, Deserialize)]
pub struct IssueTypePage {
    /// Cloud's list.
    #[serde(default, rename = "issueTypes")]
    pub issue_types: Vec<MetaIssueType>,
    /// Data Center's list.
    #[serde(default)]
    pub values: Vec<MetaIssueType>,
}

/// An issue type the project offers.
#[derive(Debug, Clone, Deserialize)]
pub struct MetaIssueType {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
}

/// One page of a type's create fields (either flavour).
#[derive(Debug, Deserialize)]
pub struct FieldPage {
    /// Cloud's list.
    #[serde(default)]
    pub fields: Vec<MetaField>,
    /// Data Center's list.
    #[serde(default)]
    pub values: Vec<MetaField>,
    /// Total across pages, when given.
    pub total: Option<u64>,
}

/// A field on the create screen.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetaField {
    /// Field id.
    pub field_id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Whether Jira requires it.
    #[serde(default)]
    pub required: bool,
    /// Whether Jira fills it when absent.
    #[serde(default)]
    pub has_default_value: bool,
    /// Allowed values (priorities, components, options), when listed.
    #[serde(default)]
    pub allowed_values: Vec<serde_json::Value>,
}

impl IssueTypePage {
    /// The issue types of either flavour's answer.
    pub fn into_types(self) -> Vec<MetaIssueType> {
        if self.issue_types.is_empty() {
            self.values
        } else {
            self.issue_types
        }
    }
}

impl FieldPage {
    /// The fields of either flavour's answer.
    pub fn into_fields(self) -> Vec<MetaField> {
        if self.fields.is_empty() {
            self.values
        } else {
            self.fields
        }
    }
}

/// Fields the bridge always sets or Jira fills by itself.
const SET_BY_BRIDGE: [&str; 6] = [
    "project",
    "issuetype",
    "summary",
    "description",
    "labels",
    "reporter",
];

/// Compares `spec` with the type's create fields; returns every problem.
pub fn check_fields(
    spec: &TargetSpec,
    fields: &[MetaField],
    catalog: &FieldCatalog,
) -> Vec<TargetProblem> {
    let mut problems = Vec::new();
    let on_screen = |id: &str| fields.iter().find(|f| f.field_id == id);
    let allowed_names = |field: &MetaField| -> Vec<(String, String)> {
        field
            .allowed_values
            .iter()
            .filter_map(|v| {
                let name = v
                    .get("name")
                    .or_else(|| v.get("value"))?
                    .as_str()?
                    .to_owned();
                let id = v
                    .get("id")
                    .and_then(|i| i.as_str())
                    .unwrap_or_default()
                    .to_owned();
                Some((name, id))
            })
            .collect()
    };
    let check_values = |key: &str,
                        field_id: &str,
                        wanted: &[String],
                        what: &str,
                        problems: &mut Vec<TargetProblem>| {
        if wanted.is_empty() {
            return;
        }
        let Some(field) = on_screen(field_id) else {
            problems.push(TargetProblem {
                key: key.into(),
                message: format!(
                    "sets {what}, but `{field_id}` is not on the create screen of {} / {}; remove it or ask the Jira admin to add the field",
                    spec.project_key, spec.issue_type
                ),
            });
            return;
        };
        let allowed = allowed_names(field);
        if allowed.is_empty() {
            return;
        }
        for value in wanted {
            let known = allowed
                .iter()
                .any(|(name, id)| name.eq_ignore_ascii_case(value) || id == value);
            if !known {
                let names: Vec<&str> = allowed.iter().map(|(n, _)| n.as_str()).collect();
                problems.push(TargetProblem {
                    key: key.into(),
                    message: format!(
                        "{what} `{value}` does not exist in Jira; choose one of: {}",
                        names.join(", ")
                    ),
                });
            }
        }
    };
    check_values(
        "issue.priority",
        "priority",
        &spec.priorities,
        "priority",
        &mut problems,
    );
    if let Some(priority) = on_screen("priority") {
        let allowed = allowed_names(priority);
        for value in &spec.kpi_priorities {
            let known = allowed.is_empty()
                || allowed
                    .iter()
                    .any(|(name, id)| name.eq_ignore_ascii_case(value) || id == value);
            if !known {
                let names: Vec<&str> = allowed.iter().map(|(n, _)| n.as_str()).collect();
                problems.push(TargetProblem {
                    key: "kpis".into(),
                    message: format!(
                        "priority `{value}` (critical_priorities / moderate_priorities) does not exist in Jira, so every KPI count would fail; choose from: {}",
                        names.join(", ")
                    ),
                });
            }
        }
    }
    check_values(
        "issue.components",
        "components",
        &spec.components,
        "component",
        &mut problems,
    );

    let mut mapped_ids: Vec<String> = Vec::new();
    for name in &spec.custom_fields {
        match catalog.find(name) {
            None => {
                let suggestions = catalog.suggestions(name);
                let hint = if suggestions.is_empty() {
                    String::new()
                } else {
                    format!("; did you mean: {}", suggestions.join(", "))
                };
                problems.push(TargetProblem {
                    key: format!("issue.custom_fields.\"{name}\""),
                    message: format!("is not a field of this Jira{hint}"),
                });
            }
            Some(field) => {
                if on_screen(&field.id).is_none() {
                    problems.push(TargetProblem {
                        key: format!("issue.custom_fields.\"{name}\""),
                        message: format!(
                            "({}) is not on the create screen of {} / {}; ask the Jira admin to add it, or remove it",
                            field.id, spec.project_key, spec.issue_type
                        ),
                    });
                }
                mapped_ids.push(field.id.clone());
            }
        }
    }
    for field in fields {
        let set = SET_BY_BRIDGE.contains(&field.field_id.as_str())
            || mapped_ids.contains(&field.field_id)
            || (field.field_id == "priority" && !spec.priorities.is_empty())
            || (field.field_id == "components" && !spec.components.is_empty());
        if field.required && !field.has_default_value && !set {
            problems.push(TargetProblem {
                key: "issue.custom_fields".into(),
                message: format!(
                    "Jira requires field `{}` ({}) for {} / {}; map it under [issue.custom_fields]",
                    field.name, field.field_id, spec.project_key, spec.issue_type
                ),
            });
        }
    }
    problems
}
