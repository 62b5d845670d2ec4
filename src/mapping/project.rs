//! `ProjectMapping`: one validated mapping file with its templates compiled.
//!
//! Built once from a [`RawMapping`]; rendering a [`Failure`] into an
//! [`IssueDraft`] can then only fail on data-dependent template errors.

use super::draft::{FieldValue, IssueDraft};
use super::failure::Failure;
use super::kpi::KpiSpec;
use super::schema::{RawFieldValue, RawMapping, RawRepeatPolicy};
use super::text::{one_line, sanitize_label, truncate_chars};
use super::MappingError;
use minijinja::{Environment, UndefinedBehavior};
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// Jira's limit on the summary, in characters.
pub const SUMMARY_MAX_CHARS: usize = 255;

/// Summary used when the mapping gives none.
pub const DEFAULT_SUMMARY: &str = "{{ test_case.key }} failed: {{ test_case.name }}";

/// Description used when the mapping gives none.
pub const DEFAULT_DESCRIPTION: &str = include_str!("default_description.md");

/// Comment used for a repeat failure when the mapping gives none.
pub const DEFAULT_COMMENT: &str = "**Failed again** in test execution **{{ execution.name }}**{% if variation_id %} (variation `{{ variation_id }}`){% endif %}.\n\n{{ description }}";

/// What a new failure of a test case that already has an issue does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepeatPolicy {
    /// Always create a new issue per result.
    New,
    /// Comment on the test case's issue while it is open; create a new one once it is done.
    Comment,
    /// Comment on the test case's issue, reopening it first through this transition if it is done.
    Reopen {
        /// Transition name or id.
        transition: String,
    },
}

/// Work a template may do before it is stopped, so a runaway loop cannot hang a request.
const TEMPLATE_FUEL: u64 = 200_000;

/// One Test Manager project's validated mapping.
#[derive(Debug)]
pub struct ProjectMapping {
    /// File it was loaded from.
    pub source: PathBuf,
    /// Test Manager project GUID.
    pub project_id: Uuid,
    /// Test Manager project prefix, upper case.
    pub prefix: Option<String>,
    /// Route segment, lower case.
    pub route: String,
    /// Display name.
    pub name: Option<String>,
    /// Jira project key.
    pub jira_project: String,
    /// Jira issue type.
    pub issue_type: String,
    /// Fixed component names.
    pub components: Vec<String>,
    /// Every priority the mapping can produce (default and rules), for verification.
    pub priorities: Vec<String>,
    /// Custom field names, in mapping order.
    pub custom_field_names: Vec<String>,
    /// Reporter, if set.
    pub reporter: Option<String>,
    /// Assignee, if set.
    pub assignee: Option<String>,
    /// What a repeat failure of the same test case does.
    pub repeat: RepeatPolicy,
    /// What the dashboard's defect tile counts.
    pub kpis: KpiSpec,
    /// Which evidence goes on the issue; `None` (no `[evidence]` table): none.
    pub evidence: Option<super::EvidencePolicy>,
    /// How Jira's status and priority are written back to Test Manager (`[writeback]`).
    pub writeback: super::WritebackRules,
    templates: Environment<'static>,
    label_count: usize,
    priority_default: Option<String>,
    priority_rules: Vec<String>,
    custom_fields: Vec<(String, FieldShape)>,
}

#[derive(Debug, Clone)]
enum FieldShape {
    One,
    Many(usize),
}

impl ProjectMapping {
    /// Validates `raw` (loaded from `source`) and compiles its templates.
    ///
    /// Every template is rendered once against [`Failure::sample`] so that a
    /// misspelt placeholder stops start-up instead of a Create Defect.
    pub fn compile(source: &Path, raw: RawMapping) -> Result<Self, MappingError> {
        let file = source.display().to_string();
        let invalid = |key: &str, message: String| MappingError::Invalid {
            file: file.clone(),
            key: key.to_owned(),
            message,
        };
        let project_id = Uuid::parse_str(raw.project.id.trim()).map_err(|_| {
            invalid(
                "project.id",
                format!("`{}` is not a Test Manager project GUID", raw.project.id),
            )
        })?;
        let prefix = raw
            .project
            .prefix
            .map(|p| p.trim().to_uppercase())
            .filter(|p| !p.is_empty());
        if let Some(p) = &prefix {
            if !p
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(invalid(
                    "project.prefix",
                    format!("`{p}` may hold only letters, digits, `-` and `_`"),
                ));
            }
        }
        let route = raw
            .project
            .route
            .map(|r| r.trim().to_lowercase())
            .or_else(|| prefix.as_ref().map(|p| p.to_lowercase()))
            .unwrap_or_else(|| project_id.to_string());
        if route.is_empty()
            || !route
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(invalid(
                "project.route",
                format!("`{route}` must be non-empty and hold only letters, digits, `-` and `_`"),
            ));
        }
        let jira_project = non_empty(raw.jira.project, || {
            invalid("jira.project", "is empty".into())
        })?;
        let issue_type = non_empty(raw.jira.issue_type, || {
            invalid("jira.issue_type", "is empty".into())
        })?;
        let kpis = KpiSpec::parse(&file, raw.kpis)?;
        let evidence = raw
            .evidence
            .map(|e| super::EvidencePolicy::compile(&file, e))
            .transpose()?;
        let writeback = super::WritebackRules::compile(&file, raw.writeback)?;

        let mut templates = Environment::new();
        templates.set_undefined_behavior(UndefinedBehavior::Strict);
        templates.set_fuel(Some(TEMPLATE_FUEL));
        // Templates produce Markdown and plain text, never HTML.
        templates.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        let mut add = |name: String, key: &str, source: String| {
            templates
                .add_template_owned(name, source)
                .map_err(|e| invalid(key, format!("template error: {e}")))
        };
        add(
            "summary".into(),
            "issue.summary",
            raw.issue.summary.unwrap_or_else(|| DEFAULT_SUMMARY.into()),
        )?;
        add(
            "description".into(),
            "issue.description",
            raw.issue
                .description
                .unwrap_or_else(|| DEFAULT_DESCRIPTION.into()),
        )?;
        let label_count = raw.issue.labels.len();
        for (i, label) in raw.issue.labels.into_iter().enumerate() {
            add(format!("label.{i}"), &format!("issue.labels[{i}]"), label)?;
        }
        let mut priorities: Vec<String> = raw.issue.priority.default.iter().cloned().collect();
        let mut priority_rules = Vec::new();
        for (i, rule) in raw.issue.priority.rules.into_iter().enumerate() {
            let key = format!("issue.priority.rules[{i}].when");
            add(
                format!("priority.{i}"),
                &key,
                format!("{{% if {} %}}1{{% endif %}}", rule.when),
            )?;
            priorities.push(rule.priority.clone());
            priority_rules.push(rule.priority);
        }
        let mut custom_fields = Vec::new();
        for (name, value) in raw.issue.custom_fields {
            let key = format!("issue.custom_fields.\"{name}\"");
            let shape = match value {
                RawFieldValue::Text(t) => {
                    add(format!("field.{name}"), &key, t)?;
                    FieldShape::One
                }
                RawFieldValue::Number(n) => {
                    add(format!("field.{name}"), &key, n.to_string())?;
                    FieldShape::One
                }
                RawFieldValue::Flag(b) => {
                    add(format!("field.{name}"), &key, b.to_string())?;
                    FieldShape::One
                }
                RawFieldValue::List(items) => {
                    let n = items.len();
                    for (i, item) in items.into_iter().enumerate() {
                        add(format!("field.{name}.{i}"), &key, item)?;
                    }
                    FieldShape::Many(n)
                }
            };
            custom_fields.push((name, shape));
        }
        add(
            "repeat.comment".into(),
            "repeat.comment",
            raw.repeat.comment.unwrap_or_else(|| DEFAULT_COMMENT.into()),
        )?;
        let repeat = match raw.repeat.policy.unwrap_or(RawRepeatPolicy::Comment) {
            RawRepeatPolicy::New => RepeatPolicy::New,
            RawRepeatPolicy::Comment => RepeatPolicy::Comment,
            RawRepeatPolicy::Reopen => RepeatPolicy::Reopen {
                transition: raw
                    .repeat
                    .reopen_transition
                    .map(|t| t.trim().to_owned())
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| {
                        invalid(
                            "repeat.reopen_transition",
                            "is required when repeat.policy = \"reopen\" (e.g. \"Reopen\" or the transition id)".into(),
                        )
                    })?,
            },
        };
        let custom_field_names = custom_fields.iter().map(|(n, _)| n.clone()).collect();
        let mapping = Self {
            source: source.to_path_buf(),
            project_id,
            prefix,
            route,
            name: raw.project.name,
            jira_project,
            issue_type,
            components: raw.issue.components,
            priorities,
            custom_field_names,
            reporter: raw.jira.reporter,
            assignee: raw.jira.assignee,
            repeat,
            kpis,
            evidence,
            writeback,
            templates,
            label_count,
            priority_default: raw.issue.priority.default,
            priority_rules,
            custom_fields,
        };
        mapping.render(&Failure::sample())?;
        mapping.render_comment(&Failure::sample(), "")?;
        Ok(mapping)
    }

    /// Renders the issue for `failure`. The result label is not added here: the
    /// use case owns it so that no mapping can leave it out.
    pub fn render(&self, failure: &Failure) -> Result<IssueDraft, MappingError> {
        let summary = one_line(&self.render_one("summary", "issue.summary", failure)?);
        let summary = truncate_chars(&summary, SUMMARY_MAX_CHARS);
        let description_markdown = self.render_one("description", "issue.description", failure)?;
        let mut labels = Vec::with_capacity(self.label_count + 1);
        for i in 0..self.label_count {
            let label =
                sanitize_label(&self.render_one(&format!("label.{i}"), "issue.labels", failure)?);
            if !label.is_empty() && !labels.contains(&label) {
                labels.push(label);
            }
        }
        let mut priority = self.priority_default.clone();
        for (i, value) in self.priority_rules.iter().enumerate() {
            let holds =
                self.render_one(&format!("priority.{i}"), "issue.priority.rules", failure)?;
            if holds == "1" {
                priority = Some(value.clone());
                break;
            }
        }
        let mut custom_fields = Vec::with_capacity(self.custom_fields.len());
        for (name, shape) in &self.custom_fields {
            let key = "issue.custom_fields";
            let value = match shape {
                FieldShape::One => {
                    FieldValue::One(self.render_one(&format!("field.{name}"), key, failure)?)
                }
                FieldShape::Many(n) => {
                    let mut items = Vec::with_capacity(*n);
                    for i in 0..*n {
                        let item = self.render_one(&format!("field.{name}.{i}"), key, failure)?;
                        if !item.trim().is_empty() {
                            items.push(item.trim().to_owned());
                        }
                    }
                    FieldValue::Many(items)
                }
            };
            custom_fields.push((name.clone(), value));
        }
        Ok(IssueDraft {
            project_key: self.jira_project.clone(),
            issue_type: self.issue_type.clone(),
            summary,
            description_markdown,
            priority,
            labels,
            components: self.components.clone(),
            custom_fields,
            reporter: self.reporter.clone(),
            assignee: self.assignee.clone(),
        })
    }

    /// Renders the comment added to an existing issue for a repeat failure;
    /// the template sees the failure plus `description` (the rendered description).
    pub fn render_comment(
        &self,
        failure: &Failure,
        description: &str,
    ) -> Result<String, MappingError> {
        let context = minijinja::context! { description => description, ..minijinja::Value::from_serialize(failure) };
        self.templates
            .get_template("repeat.comment")
            .and_then(|t| t.render(context))
            .map_err(|e| MappingError::Render {
                file: self.source.display().to_string(),
                key: "repeat.comment".into(),
                message: describe(&e),
            })
    }

    fn render_one(&self, name: &str, key: &str, failure: &Failure) -> Result<String, MappingError> {
        let render = || -> Result<String, minijinja::Error> {
            self.templates.get_template(name)?.render(failure)
        };
        render().map_err(|e| MappingError::Render {
            file: self.source.display().to_string(),
            key: key.to_owned(),
            message: describe(&e),
        })
    }
}

fn non_empty(value: String, err: impl FnOnce() -> MappingError) -> Result<String, MappingError> {
    let value = value.trim().to_owned();
    if value.is_empty() {
        Err(err())
    } else {
        Ok(value)
    }
}

fn describe(error: &minijinja::Error) -> String {
    let mut message = error.to_string();
    if let Some(detail) = error.detail() {
        if !message.contains(detail) {
            message.push_str(": ");
            message.push_str(detail);
        }
    }
    message
}
