//! The JSON bodies the bridge sends to Jira, per flavour.
//!
//! Pure functions: given a draft and the field catalog they build exactly the
//! request Jira receives, so tests (and `preview`) can see it without a Jira.

use super::fields::{shape_value, FieldCatalog};
use super::markdown;
use crate::config::JiraFlavour;
use crate::mapping::IssueDraft;
use crate::tracker::RemoteLink;
use serde_json::{json, Map, Value};

/// Jira's limit on the description, in characters.
pub const DESCRIPTION_MAX_CHARS: usize = 32_767;

/// A custom field the mapping names but Jira does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("custom field `{name}` {problem}")]
pub struct FieldProblem {
    /// Field name as the mapping writes it.
    pub name: String,
    /// What is wrong.
    pub problem: String,
}

/// `{"name": …}`, or `{"id": …}` when the value is all digits (Jira ids are numeric).
fn name_or_id(value: &str) -> Value {
    if !value.is_empty() && value.chars().all(|c| c.is_ascii_digit()) {
        json!({ "id": value })
    } else {
        json!({ "name": value })
    }
}

/// The rich-text value of `markdown` for this flavour, kept under Jira's limit.
pub fn rich_text(flavour: JiraFlavour, markdown_text: &str) -> Value {
    match flavour {
        JiraFlavour::Cloud => markdown::to_adf_limited(markdown_text, DESCRIPTION_MAX_CHARS),
        JiraFlavour::DataCenter => Value::String(markdown::to_wiki_limited(
            markdown_text,
            DESCRIPTION_MAX_CHARS,
        )),
    }
}

/// The body of `POST /rest/api/{3|2}/issue` for `draft`.
pub fn create_issue(
    flavour: JiraFlavour,
    draft: &IssueDraft,
    catalog: &FieldCatalog,
) -> Result<Value, FieldProblem> {
    let mut fields = Map::new();
    fields.insert("project".into(), json!({ "key": draft.project_key }));
    fields.insert(
        "issuetype".into(),
        if draft.issue_type.chars().all(|c| c.is_ascii_digit()) {
            json!({ "id": draft.issue_type })
        } else {
            json!({ "name": draft.issue_type })
        },
    );
    fields.insert("summary".into(), json!(draft.summary));
    fields.insert(
        "description".into(),
        rich_text(flavour, &draft.description_markdown),
    );
    fields.insert("labels".into(), json!(draft.labels));
    if let Some(priority) = &draft.priority {
        fields.insert("priority".into(), name_or_id(priority));
    }
    if !draft.components.is_empty() {
        let components: Vec<Value> = draft.components.iter().map(|c| name_or_id(c)).collect();
        fields.insert("components".into(), Value::Array(components));
    }
    let user = |who: &str| match flavour {
        JiraFlavour::Cloud => json!({ "accountId": who }),
        JiraFlavour::DataCenter => json!({ "name": who }),
    };
    if let Some(reporter) = &draft.reporter {
        fields.insert("reporter".into(), user(reporter));
    }
    if let Some(assignee) = &draft.assignee {
        fields.insert("assignee".into(), user(assignee));
    }
    for (name, value) in &draft.custom_fields {
        let field = catalog.find(name).ok_or_else(|| FieldProblem {
            name: name.clone(),
            problem: "is not a field of this Jira".into(),
        })?;
        let shaped = shape_value(field, value, flavour).map_err(|problem| FieldProblem {
            name: name.clone(),
            problem,
        })?;
        fields.insert(field.id.clone(), shaped);
    }
    Ok(json!({ "fields": fields }))
}

/// `existing` (the description as Jira holds it: ADF on Cloud, wiki markup or
/// null on Data Center) with `markdown` appended in the same format; `None`
/// when the result would exceed Jira's limit.
pub fn appended_description(
    flavour: JiraFlavour,
    existing: Value,
    markdown: &str,
) -> Option<Value> {
    let updated = match flavour {
        JiraFlavour::Cloud => {
            let mut doc = match existing {
                Value::Object(map) if map.get("type") == Some(&json!("doc")) => Value::Object(map),
                _ => json!({ "type": "doc", "version": 1, "content": [] }),
            };
            let addition = markdown::to_adf(markdown);
            let extra = addition["content"].as_array().cloned().unwrap_or_default();
            match doc.get_mut("content").and_then(Value::as_array_mut) {
                Some(content) => content.extend(extra),
                None => doc["content"] = Value::Array(extra),
            }
            doc
        }
        JiraFlavour::DataCenter => {
            let text = existing.as_str().unwrap_or_default().trim_end().to_owned();
            let separator = if text.is_empty() { "" } else { "\n\n" };
            Value::String(format!("{text}{separator}{}", markdown::to_wiki(markdown)))
        }
    };
    let size = match &updated {
        Value::String(s) => s.chars().count(),
        other => other.to_string().chars().count(),
    };
    (size <= DESCRIPTION_MAX_CHARS).then_some(updated)
}

/// The body of `POST /rest/api/{3|2}/issue/{key}/remotelink`.
pub fn remote_link(link: &RemoteLink) -> Value {
    json!({
        "globalId": link.global_id,
        "application": { "type": "com.uipath.testmanager", "name": "UiPath Test Manager" },
        "relationship": "failed test",
        "object": {
            "url": link.url,
            "title": link.title,
        }
    })
}

/// The body of a label search: Cloud `search/jql` or Data Center `search`.
pub fn label_search(flavour: JiraFlavour, jql: &str) -> Value {
    let fields = ["summary", "status", "priority"];
    match flavour {
        JiraFlavour::Cloud => json!({ "jql": jql, "fields": fields, "maxResults": 10 }),
        JiraFlavour::DataCenter => {
            json!({ "jql": jql, "fields": fields, "maxResults": 10, "startAt": 0 })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appending_keeps_the_existing_description() {
        let cloud = appended_description(
            JiraFlavour::Cloud,
            json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "old"}]}]}),
            "**Evidence** new",
        )
        .unwrap();
        let content = cloud["content"].as_array().unwrap();
        assert_eq!(content.len(), 2);
        assert_eq!(content[0]["content"][0]["text"], "old");
        assert!(content[1].to_string().contains("new"));
        let dc = appended_description(
            JiraFlavour::DataCenter,
            json!("old text"),
            "**Evidence** new",
        )
        .unwrap();
        assert_eq!(dc, json!("old text\n\n*Evidence* new"));
        assert_eq!(
            appended_description(JiraFlavour::DataCenter, Value::Null, "x").unwrap(),
            json!("x")
        );
        let huge = "y".repeat(DESCRIPTION_MAX_CHARS);
        assert!(appended_description(JiraFlavour::DataCenter, json!(huge), "more").is_none());
    }
}
