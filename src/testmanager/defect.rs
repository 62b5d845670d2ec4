//! Test Manager's defect record, as write-back reads and updates it.
//!
//! Owns the port types ([`DefectUpdate`], [`TmDefect`]), where the defect
//! lives and how its update is spelled ([`DefectApi`]: path template and body
//! field names, configuration because the REST shape is inferred, see
//! the README's "Keeping Test Manager current"), and what counts as "no defect" on a test case log
//! ([`defect_id`]). No I/O: the client sends what this builds.

use serde::{Deserialize, Deserializer};
use url::Url;
use uuid::Uuid;

use super::connection::endpoint;
use super::error::TestManagerError;
use super::model::{id_as_string, FailureDetails};

/// Default path of one defect under the Test Manager base URL.
pub const DEFAULT_DEFECT_PATH: &str = "api/v2/{projectId}/defects/{defectId}";
/// Default body field for the status.
pub const DEFAULT_STATUS_FIELD: &str = "status";
/// Default body field for the priority.
pub const DEFAULT_PRIORITY_FIELD: &str = "priority";

/// New values for a defect. Absolute values, not changes: writing the same
/// update twice leaves the same defect. A `None` field is left as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DefectUpdate {
    /// The status text to show (Test Manager accepts free text).
    pub status: Option<String>,
    /// The priority text to show (Test Manager accepts free text).
    pub priority: Option<String>,
}

/// A Test Manager defect as `GET defects/{id}` answers it. Every field but the
/// id may be missing or `null`; texts may come as strings or numbers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TmDefect {
    /// The defect id.
    #[serde(deserialize_with = "id_as_string")]
    pub id: String,
    /// Status text.
    #[serde(default, deserialize_with = "lenient_text")]
    pub status: Option<String>,
    /// Priority text.
    #[serde(default, deserialize_with = "lenient_text")]
    pub priority: Option<String>,
    /// The tracker link (the Jira issue's URL).
    #[serde(default, deserialize_with = "lenient_text")]
    pub link: Option<String>,
    /// The tracker link's text (the Jira key).
    #[serde(default, deserialize_with = "lenient_text")]
    pub link_label: Option<String>,
    /// `None`, `InProgress`, `Success` or `Failed` (or the enum's number).
    #[serde(default, deserialize_with = "lenient_text")]
    pub sync_status: Option<String>,
}

/// A string or a number as text; `null`, empty strings and other shapes as `None`.
fn lenient_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

/// Where a defect lives and how its update is spelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefectApi {
    /// Path under the base URL; `{projectId}` and `{defectId}` are replaced
    /// (each percent-encoded), e.g. [`DEFAULT_DEFECT_PATH`].
    pub path: String,
    /// Body field carrying [`DefectUpdate::status`].
    pub status_field: String,
    /// Body field carrying [`DefectUpdate::priority`].
    pub priority_field: String,
}

impl Default for DefectApi {
    fn default() -> Self {
        Self {
            path: DEFAULT_DEFECT_PATH.into(),
            status_field: DEFAULT_STATUS_FIELD.into(),
            priority_field: DEFAULT_PRIORITY_FIELD.into(),
        }
    }
}

impl DefectApi {
    /// The defect's URL under `base`.
    ///
    /// # Errors
    /// [`TestManagerError::Config`] when the path template has no `{defectId}`
    /// or names a placeholder other than `{projectId}` and `{defectId}`.
    pub fn url(
        &self,
        base: &Url,
        project_id: Uuid,
        defect_id: &str,
    ) -> Result<Url, TestManagerError> {
        let misconfigured = |why: &str| TestManagerError::Config {
            detail: format!("testmanager.defect_path `{}` {why}", self.path),
        };
        if !self.path.contains("{defectId}") {
            return Err(misconfigured("must contain {defectId}"));
        }
        // Checked on the template, not the result: a defect id may contain braces.
        let unknown = self
            .path
            .replace("{projectId}", "")
            .replace("{defectId}", "");
        if unknown.contains('{') || unknown.contains('}') {
            return Err(misconfigured(
                "names a placeholder other than {projectId} and {defectId}",
            ));
        }
        let project = project_id.to_string();
        let segments: Vec<String> = self
            .path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.replace("{projectId}", &project)
                    .replace("{defectId}", defect_id)
            })
            .collect();
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        endpoint(base, &segments)
    }

    /// The PATCH body: only the fields `update` sets, under the configured names.
    pub fn body(&self, update: &DefectUpdate) -> serde_json::Value {
        let mut body = serde_json::Map::new();
        if let Some(status) = &update.status {
            body.insert(self.status_field.clone(), status.clone().into());
        }
        if let Some(priority) = &update.priority {
            body.insert(self.priority_field.clone(), priority.clone().into());
        }
        serde_json::Value::Object(body)
    }
}

/// A log's `defectId` as a defect id: `None` when empty, blank or the
/// all-zero GUID (how Test Manager says "no defect"), else the trimmed id.
pub fn defect_id(raw: Option<&str>) -> Option<String> {
    let id = raw?.trim();
    if id.is_empty() || Uuid::parse_str(id).is_ok_and(|u| u.is_nil()) {
        return None;
    }
    Some(id.to_owned())
}

impl FailureDetails {
    /// The Test Manager defect already on the failed log, normalised by
    /// [`defect_id`]: what write-back updates.
    pub fn defect_id(&self) -> Option<String> {
        defect_id(self.log.defect_id.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn project() -> Uuid {
        Uuid::parse_str("aaaaaaaa-0000-0000-0000-000000000001").unwrap()
    }

    #[test]
    fn default_path_keeps_the_base_path_and_encodes_ids() {
        let base = Url::parse("https://h/org/ten/testmanager_").unwrap();
        assert_eq!(
            DefectApi::default().url(&base, project(), "d/1 ?").unwrap().as_str(),
            "https://h/org/ten/testmanager_/api/v2/aaaaaaaa-0000-0000-0000-000000000001/defects/d%2F1%20%3F"
        );
        let custom = DefectApi {
            path: "/api/v3/defects/{defectId}/".into(),
            ..DefectApi::default()
        };
        assert_eq!(
            custom.url(&base, project(), "{x}").unwrap().as_str(),
            "https://h/org/ten/testmanager_/api/v3/defects/%7Bx%7D"
        );
    }

    #[test]
    fn templates_without_the_defect_or_with_unknown_placeholders_are_refused() {
        let base = Url::parse("https://tm.local/").unwrap();
        for path in [
            "api/v2/{projectId}/defects",
            "api/{version}/defects/{defectId}",
        ] {
            let api = DefectApi {
                path: path.into(),
                ..DefectApi::default()
            };
            let error = api.url(&base, project(), "d").unwrap_err();
            assert!(
                matches!(&error, TestManagerError::Config { detail } if detail.contains("testmanager.defect_path")),
                "{error}"
            );
        }
    }

    #[test]
    fn body_has_only_the_fields_set_under_their_names() {
        let api = DefectApi {
            status_field: "state".into(),
            priority_field: "severity".into(),
            ..DefectApi::default()
        };
        let both = DefectUpdate {
            status: Some("Done".into()),
            priority: Some("High".into()),
        };
        assert_eq!(
            api.body(&both),
            json!({"state": "Done", "severity": "High"})
        );
        let status_only = DefectUpdate {
            status: Some("Deleted in Jira".into()),
            priority: None,
        };
        assert_eq!(
            DefectApi::default().body(&status_only),
            json!({"status": "Deleted in Jira"})
        );
    }

    #[test]
    fn no_defect_is_empty_blank_or_all_zero() {
        assert_eq!(defect_id(None), None);
        assert_eq!(defect_id(Some("")), None);
        assert_eq!(defect_id(Some("  ")), None);
        assert_eq!(
            defect_id(Some("00000000-0000-0000-0000-000000000000")),
            None
        );
        assert_eq!(
            defect_id(Some(" 0a1b2c3d-0000-0000-0000-000000000009 ")).as_deref(),
            Some("0a1b2c3d-0000-0000-0000-000000000009")
        );
        assert_eq!(defect_id(Some("42")).as_deref(), Some("42"));
    }

    #[test]
    fn defect_reads_leniently() {
        let defect: TmDefect = serde_json::from_value(json!({
            "id": "0a1b2c3d-0000-0000-0000-000000000009", "name": "Checkout fails",
            "status": "To Do", "priority": null, "link": "https://jira/browse/SHOP-1",
            "linkLabel": "SHOP-1", "syncStatus": 2, "somethingNew": true
        }))
        .unwrap();
        assert_eq!(defect.status.as_deref(), Some("To Do"));
        assert_eq!(defect.priority, None);
        assert_eq!(defect.link_label.as_deref(), Some("SHOP-1"));
        assert_eq!(defect.sync_status.as_deref(), Some("2"));
        let bare: TmDefect = serde_json::from_value(json!({"id": 7})).unwrap();
        assert_eq!(bare.id, "7");
        assert_eq!(bare.link, None);
    }
}
