//! Jira's field list: custom field names → ids and value shapes.
//!
//! Mapping files name custom fields as people see them ("Environment"); Jira
//! wants `customfield_10042` and a value shaped by the field's type. The list
//! is read with gouqi (a plain GET whose happy path gouqi handles soundly) and
//! cached with moka for `field_cache_secs`.

use super::markdown;
use crate::config::JiraFlavour;
use crate::mapping::FieldValue;
use crate::tracker::TrackerError;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// One Jira field, as `GET /rest/api/{2|3}/field` lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct Field {
    /// `summary`, `customfield_10042`, …
    pub id: String,
    /// Display name.
    pub name: String,
    /// Whether it is a custom field.
    #[serde(default)]
    pub custom: bool,
    /// Value type, when Jira says.
    pub schema: Option<FieldSchema>,
}

/// A field's value type.
#[derive(Debug, Clone, Deserialize)]
pub struct FieldSchema {
    /// `string`, `number`, `option`, `array`, `user`, `date`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// Item type of arrays.
    pub items: Option<String>,
    /// Custom field type key, e.g. `com.atlassian.jira.plugin.system.customfieldtypes:textarea`.
    pub custom: Option<String>,
}

/// The field list, indexed for lookups by name or id.
#[derive(Debug, Default)]
pub struct FieldCatalog {
    fields: Vec<Field>,
}

impl FieldCatalog {
    /// Wraps a field list.
    pub fn new(fields: Vec<Field>) -> Self {
        Self { fields }
    }

    /// The field called `name` (case-insensitive), or with id `name`.
    /// Several fields may share a name; custom fields win, then the first.
    pub fn find(&self, name: &str) -> Option<&Field> {
        let wanted = name.trim();
        self.fields.iter().find(|f| f.id == wanted).or_else(|| {
            let mut matches = self
                .fields
                .iter()
                .filter(|f| f.name.eq_ignore_ascii_case(wanted));
            let first = matches.next()?;
            Some(if first.custom {
                first
            } else {
                matches.find(|f| f.custom).unwrap_or(first)
            })
        })
    }

    /// Names close to `name`, to suggest when it is not found.
    pub fn suggestions(&self, name: &str) -> Vec<String> {
        let lower = name.to_lowercase();
        self.fields
            .iter()
            .filter(|f| f.custom)
            .filter(|f| {
                let n = f.name.to_lowercase();
                n.contains(&lower) || lower.contains(&n)
            })
            .take(5)
            .map(|f| f.name.clone())
            .collect()
    }
}

/// Shapes a rendered value for `field` as Jira's create API expects it.
pub fn shape_value(
    field: &Field,
    value: &FieldValue,
    flavour: JiraFlavour,
) -> Result<Value, String> {
    let Some(schema) = &field.schema else {
        return Ok(text_value(value));
    };
    let is_textarea = schema
        .custom
        .as_deref()
        .is_some_and(|c| c.ends_with(":textarea"));
    let one = |v: &FieldValue| -> String {
        match v {
            FieldValue::One(s) => s.trim().to_owned(),
            FieldValue::Many(items) => items.join(", "),
        }
    };
    let many = |v: &FieldValue| -> Vec<String> {
        match v {
            FieldValue::One(s) if s.trim().is_empty() => Vec::new(),
            FieldValue::One(s) => vec![s.trim().to_owned()],
            FieldValue::Many(items) => items.clone(),
        }
    };
    let user = |name: String| match flavour {
        JiraFlavour::Cloud => json!({ "accountId": name }),
        JiraFlavour::DataCenter => json!({ "name": name }),
    };
    Ok(match schema.kind.as_str() {
        "string" if is_textarea => {
            let markdown_text = match value {
                FieldValue::One(s) => s.clone(),
                FieldValue::Many(items) => items.join("\n"),
            };
            match flavour {
                JiraFlavour::Cloud => markdown::to_adf(&markdown_text),
                JiraFlavour::DataCenter => Value::String(markdown::to_wiki(&markdown_text)),
            }
        }
        "number" => {
            let text = one(value);
            let n: f64 = text
                .parse()
                .map_err(|_| format!("is a number field but the mapping rendered `{text}`"))?;
            json!(n)
        }
        "option" | "option-with-child" => json!({ "value": one(value) }),
        "user" => user(one(value)),
        "priority" | "version" | "component" => json!({ "name": one(value) }),
        "array" => {
            let items = many(value);
            match schema.items.as_deref() {
                Some("option") => {
                    Value::Array(items.into_iter().map(|v| json!({ "value": v })).collect())
                }
                Some("user") => Value::Array(items.into_iter().map(user).collect()),
                Some("version") | Some("component") => {
                    Value::Array(items.into_iter().map(|v| json!({ "name": v })).collect())
                }
                _ => json!(items),
            }
        }
        _ => Value::String(one(value)),
    })
}

fn text_value(value: &FieldValue) -> Value {
    match value {
        FieldValue::One(s) => Value::String(s.clone()),
        FieldValue::Many(items) => json!(items),
    }
}

/// Reads the field list through gouqi. gouqi's defects (lost status codes on
/// 5xx/429, no retries) are tolerable here: a failure only delays a create.
pub async fn load_fields(
    gouqi: &gouqi::r#async::Jira,
    api_version: &str,
) -> Result<Arc<FieldCatalog>, TrackerError> {
    let fields: Vec<Field> = gouqi
        .get_versioned("api", Some(api_version), "/field")
        .await
        .map_err(|e| from_gouqi("list fields", e))?;
    Ok(Arc::new(FieldCatalog::new(fields)))
}

/// Maps a gouqi error to the tracker taxonomy without echoing URLs or credentials.
pub fn from_gouqi(call: &'static str, error: gouqi::Error) -> TrackerError {
    match error {
        gouqi::Error::Unauthorized => TrackerError::Auth { call, status: 401 },
        gouqi::Error::NotFound => TrackerError::Rejected {
            call,
            status: 404,
            detail: "not found".into(),
        },
        gouqi::Error::Fault { code, errors } => {
            let mut parts = errors.error_messages.clone();
            parts.extend(errors.errors.iter().map(|(k, v)| format!("{k}: {v}")));
            match code.as_u16() {
                401 | 403 => TrackerError::Auth { call, status: code.as_u16() },
                429 => TrackerError::RateLimited { call, retry_after_secs: None },
                status => TrackerError::Rejected {
                    call,
                    status,
                    detail: parts.join("; "),
                },
            }
        }
        gouqi::Error::Http(e) if e.is_timeout() => TrackerError::Timeout { call },
        gouqi::Error::Http(e) if e.is_connect() => TrackerError::Unavailable {
            call,
            detail: "connection failed".into(),
        },
        gouqi::Error::Serde(_) => TrackerError::Unavailable {
            call,
            detail: "Jira answered with something that is not the expected JSON (often a 5xx or 429 page)".into(),
        },
        _ => TrackerError::Unavailable {
            call,
            detail: "request failed".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(id: &str, name: &str, kind: &str, items: Option<&str>, custom: Option<&str>) -> Field {
        Field {
            id: id.into(),
            name: name.into(),
            custom: id.starts_with("customfield_"),
            schema: Some(FieldSchema {
                kind: kind.into(),
                items: items.map(Into::into),
                custom: custom.map(Into::into),
            }),
        }
    }

    #[test]
    fn values_are_shaped_by_field_type() {
        let one = |s: &str| FieldValue::One(s.into());
        let select = field("customfield_1", "Env", "option", None, Some("x:select"));
        assert_eq!(
            shape_value(&select, &one("QA"), JiraFlavour::Cloud).unwrap(),
            json!({"value": "QA"})
        );
        let multi = field(
            "customfield_2",
            "Browsers",
            "array",
            Some("option"),
            Some("x:multiselect"),
        );
        assert_eq!(
            shape_value(
                &multi,
                &FieldValue::Many(vec!["a".into(), "b".into()]),
                JiraFlavour::Cloud
            )
            .unwrap(),
            json!([{"value": "a"}, {"value": "b"}])
        );
        let number = field("customfield_3", "Points", "number", None, None);
        assert_eq!(
            shape_value(&number, &one("3"), JiraFlavour::Cloud).unwrap(),
            json!(3.0)
        );
        assert!(shape_value(&number, &one("three"), JiraFlavour::Cloud).is_err());
        let user = field("customfield_4", "Tester", "user", None, None);
        assert_eq!(
            shape_value(&user, &one("bob"), JiraFlavour::DataCenter).unwrap(),
            json!({"name": "bob"})
        );
        assert_eq!(
            shape_value(&user, &one("5b10"), JiraFlavour::Cloud).unwrap(),
            json!({"accountId": "5b10"})
        );
        let area = field(
            "customfield_5",
            "Steps",
            "string",
            None,
            Some("com.atlassian.jira.plugin.system.customfieldtypes:textarea"),
        );
        assert_eq!(
            shape_value(&area, &one("**x**"), JiraFlavour::DataCenter).unwrap(),
            json!("*x*")
        );
        assert_eq!(
            shape_value(&area, &one("x"), JiraFlavour::Cloud).unwrap()["type"],
            "doc"
        );
    }

    #[test]
    fn lookup_by_name_prefers_custom_fields() {
        let catalog = FieldCatalog::new(vec![
            field("environment", "Environment", "string", None, None),
            field("customfield_9", "Environment", "option", None, None),
        ]);
        assert_eq!(catalog.find("environment").unwrap().id, "environment");
        assert_eq!(catalog.find("ENVIRONMENT ").unwrap().id, "customfield_9");
        assert!(catalog.find("Nope").is_none());
    }
}
