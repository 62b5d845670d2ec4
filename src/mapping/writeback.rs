//! The `[writeback]` table of a mapping: whether the project's Jira changes are written
//! back to Test Manager, and how Jira's status, resolution and priority become the
//! defect's status and priority there.
//!
//! Test Manager's defect status and priority are free text, so by default Jira's names
//! are written as they are. Tables translate them; Jira names are matched without regard
//! to case, because Jira itself treats them so and mapping authors copy them from
//! screens that capitalise differently.

use super::schema::RawWriteback;
use super::MappingError;
use std::collections::BTreeMap;

/// Status written for a deleted Jira issue when the mapping sets none.
pub const DEFAULT_DELETED_STATUS: &str = "Deleted in Jira";

/// Jira's status category keys, the only keys `status_by_category` accepts.
pub const STATUS_CATEGORY_KEYS: [&str; 3] = ["new", "indeterminate", "done"];

/// What Test Manager's defect is set to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TmValues {
    /// The defect's status text.
    pub status: String,
    /// The defect's priority text; `None`: leave Test Manager's priority as it is (the
    /// Jira issue has none, or the issue was deleted and `deleted_priority` is not set).
    pub priority: Option<String>,
}

/// A mapping's write-back rules, checked; tables keyed by the folded Jira name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WritebackRules {
    enabled: bool,
    status_by_resolution: BTreeMap<String, String>,
    status_by_name: BTreeMap<String, String>,
    status_by_category: BTreeMap<String, String>,
    priorities: BTreeMap<String, String>,
    deleted_status: String,
    deleted_priority: Option<String>,
}

impl Default for WritebackRules {
    /// On, Jira's names as they are, a deleted issue becomes [`DEFAULT_DELETED_STATUS`].
    fn default() -> Self {
        Self {
            enabled: true,
            status_by_resolution: BTreeMap::new(),
            status_by_name: BTreeMap::new(),
            status_by_category: BTreeMap::new(),
            priorities: BTreeMap::new(),
            deleted_status: DEFAULT_DELETED_STATUS.to_owned(),
            deleted_priority: None,
        }
    }
}

impl WritebackRules {
    /// Checks `raw` (from `file`): no blank names or values, no two names that differ
    /// only in case, and category keys among [`STATUS_CATEGORY_KEYS`].
    pub fn compile(file: &str, raw: RawWriteback) -> Result<Self, MappingError> {
        let invalid = |key: String, message: String| MappingError::Invalid {
            file: file.to_owned(),
            key,
            message,
        };
        let table = |name: &str, entries: BTreeMap<String, String>| {
            let mut folded = BTreeMap::new();
            for (jira, tm) in entries {
                let key = format!("writeback.{name}.\"{jira}\"");
                let tm = tm.trim();
                if jira.trim().is_empty() {
                    return Err(invalid(key, "names no Jira value".into()));
                }
                if tm.is_empty() {
                    return Err(invalid(key, "is blank; give the Test Manager text".into()));
                }
                if folded.insert(fold(&jira), tm.to_owned()).is_some() {
                    return Err(invalid(
                        key,
                        "differs only in case from another entry (Jira names are matched ignoring case)".into(),
                    ));
                }
            }
            Ok(folded)
        };
        if let Some(bad) = raw
            .status_by_category
            .keys()
            .find(|k| !STATUS_CATEGORY_KEYS.contains(&fold(k).as_str()))
        {
            return Err(invalid(
                format!("writeback.status_by_category.\"{bad}\""),
                "is not a Jira status category key; use `new`, `indeterminate` or `done`".into(),
            ));
        }
        let status_by_category = table("status_by_category", raw.status_by_category)?;
        let text = |key: &str, value: Option<String>| match value {
            Some(v) if v.trim().is_empty() => Err(invalid(
                format!("writeback.{key}"),
                "is blank; leave it out for the default".into(),
            )),
            other => Ok(other.map(|v| v.trim().to_owned())),
        };
        Ok(Self {
            enabled: raw.enabled.unwrap_or(true),
            status_by_resolution: table("status_by_resolution", raw.status_by_resolution)?,
            status_by_name: table("status_by_name", raw.status_by_name)?,
            status_by_category,
            priorities: table("priorities", raw.priorities)?,
            deleted_status: text("deleted_status", raw.deleted_status)?
                .unwrap_or_else(|| DEFAULT_DELETED_STATUS.to_owned()),
            deleted_priority: text("deleted_priority", raw.deleted_priority)?,
        })
    }

    /// Whether this project's Jira changes are written back at all.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The Test Manager values for a Jira issue with this `status` name, status
    /// `category` (its key `new` / `indeterminate` / `done`; the English names `To Do`,
    /// `In Progress`, `Done` are understood too), `resolution` and `priority` names.
    ///
    /// Status: the resolution table when the issue is resolved and its resolution is
    /// mapped, else the status name table, else the category table, else Jira's status
    /// name as it is. Priority: the priority table, else Jira's name as it is; no Jira
    /// priority leaves Test Manager's as it is.
    pub fn values_for(
        &self,
        status: &str,
        category: &str,
        resolution: Option<&str>,
        priority: Option<&str>,
    ) -> TmValues {
        let status = resolution
            .filter(|r| !r.trim().is_empty())
            .and_then(|r| self.status_by_resolution.get(&fold(r)))
            .or_else(|| self.status_by_name.get(&fold(status)))
            .or_else(|| self.status_by_category.get(category_key(category)))
            .cloned()
            .unwrap_or_else(|| status.to_owned());
        let priority = priority.map(|p| {
            self.priorities
                .get(&fold(p))
                .cloned()
                .unwrap_or_else(|| p.to_owned())
        });
        TmValues { status, priority }
    }

    /// The Test Manager values for a deleted Jira issue: `deleted_status`, and
    /// `deleted_priority` if set (else the priority is left as it is).
    pub fn deleted(&self) -> TmValues {
        TmValues {
            status: self.deleted_status.clone(),
            priority: self.deleted_priority.clone(),
        }
    }
}

/// A Jira name as matched: trimmed, lower case.
fn fold(name: &str) -> String {
    name.trim().to_lowercase()
}

/// The status category key for a key or one of Jira's English category names.
fn category_key(category: &str) -> &'static str {
    match fold(category).as_str() {
        "new" | "to do" => "new",
        "indeterminate" | "in progress" => "indeterminate",
        "done" => "done",
        // Jira's `undefined` category, or anything unknown: matches no entry.
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn from_toml(text: &str) -> Result<WritebackRules, MappingError> {
        let raw: RawWriteback = toml::from_str(text).expect("valid [writeback] TOML");
        WritebackRules::compile("mappings/shop.toml", raw)
    }

    fn rules() -> WritebackRules {
        from_toml(
            r#"
            status_by_resolution = { "Won't Fix" = "Rejected", "Duplicate" = "Rejected" }
            status_by_name = { "In Review" = "Fix in review", "Done" = "Fixed" }
            status_by_category = { new = "Open", indeterminate = "In progress", done = "Closed" }
            priorities = { Highest = "Critical", "Medium" = "Normal" }
            deleted_status = "Gone"
            deleted_priority = "Low"
            "#,
        )
        .unwrap()
    }

    #[test]
    fn defaults_write_jira_names_as_they_are() {
        let rules = from_toml("").unwrap();
        assert_eq!(rules, WritebackRules::default());
        assert!(rules.is_enabled());
        assert_eq!(
            rules.values_for("In Review", "indeterminate", None, Some("High")),
            TmValues {
                status: "In Review".into(),
                priority: Some("High".into())
            }
        );
        assert_eq!(
            rules.values_for("Done", "done", Some("Won't Fix"), None),
            TmValues {
                status: "Done".into(),
                priority: None
            }
        );
        assert_eq!(
            rules.deleted(),
            TmValues {
                status: DEFAULT_DELETED_STATUS.into(),
                priority: None
            }
        );
        assert!(!from_toml("enabled = false").unwrap().is_enabled());
    }

    #[test]
    fn the_example_mapping_documents_the_defaults() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings/example.toml");
        let mapping = crate::mapping::registry::load_file(&path).unwrap();
        assert_eq!(mapping.writeback, WritebackRules::default());
    }

    #[test]
    fn the_example_tables_load() {
        let rules = from_toml(
            r#"
            status_by_resolution = { "Won't Do" = "Rejected", "Duplicate" = "Rejected" }
            status_by_name = { "In Review" = "Fix in review" }
            priorities = { "Highest" = "Critical", "Lowest" = "Low" }
            [status_by_category]
            new = "Open"
            indeterminate = "In progress"
            done = "Closed"
            "#,
        )
        .unwrap();
        assert_eq!(
            rules.values_for("Done", "done", Some("Won't Do"), Some("Lowest")),
            TmValues {
                status: "Rejected".into(),
                priority: Some("Low".into())
            }
        );
    }

    #[test]
    fn status_precedence_is_resolution_then_name_then_category_then_jira() {
        let rules = rules();
        let status = |s, c, r| rules.values_for(s, c, r, None).status;
        // Resolution mapped: it wins over a mapped status name and category.
        assert_eq!(status("Done", "done", Some("Won't Fix")), "Rejected");
        // Resolution not mapped: the status name table.
        assert_eq!(status("Done", "done", Some("Fixed")), "Fixed");
        assert_eq!(status("In Review", "indeterminate", None), "Fix in review");
        // Status name not mapped: the category table.
        assert_eq!(status("Closed", "done", Some("Done")), "Closed");
        assert_eq!(status("Backlog", "new", None), "Open");
        assert_eq!(status("Testing", "indeterminate", Some("")), "In progress");
        // Nothing mapped: Jira's status name as it is.
        let bare = from_toml(r#"status_by_name = { "Done" = "Fixed" }"#).unwrap();
        assert_eq!(
            bare.values_for("Awaiting QA", "indeterminate", None, None)
                .status,
            "Awaiting QA"
        );
        assert_eq!(
            status("Mystery", "undefined", None),
            "Mystery",
            "an unknown category matches no entry"
        );
    }

    #[test]
    fn category_names_are_understood_as_keys() {
        let rules = rules();
        let status = |c| rules.values_for("Backlog", c, None, None).status;
        assert_eq!(status("To Do"), "Open");
        assert_eq!(status("In Progress"), "In progress");
        assert_eq!(status("Done"), "Closed");
        assert_eq!(status(" NEW "), "Open");
    }

    #[test]
    fn jira_names_match_ignoring_case() {
        let rules = rules();
        assert_eq!(
            rules.values_for(
                "in review",
                "INDETERMINATE",
                Some("won't fix"),
                Some("HIGHEST")
            ),
            TmValues {
                status: "Rejected".into(),
                priority: Some("Critical".into())
            }
        );
        assert_eq!(
            rules
                .values_for("DONE", "done", None, Some(" medium "))
                .status,
            "Fixed"
        );
        assert_eq!(
            rules
                .values_for("DONE", "done", None, Some(" medium "))
                .priority,
            Some("Normal".into())
        );
        // Keys written in any case match too.
        let upper = from_toml(r#"status_by_category = { DONE = "Closed" }"#).unwrap();
        assert_eq!(
            upper.values_for("Resolved", "done", None, None).status,
            "Closed"
        );
    }

    #[test]
    fn priorities_fall_back_to_jira_names_and_none_stays_none() {
        let rules = rules();
        assert_eq!(
            rules.values_for("Open", "new", None, Some("Low")).priority,
            Some("Low".into())
        );
        assert_eq!(rules.values_for("Open", "new", None, None).priority, None);
    }

    #[test]
    fn deleted_issues_get_the_configured_values() {
        assert_eq!(
            rules().deleted(),
            TmValues {
                status: "Gone".into(),
                priority: Some("Low".into())
            }
        );
    }

    #[test]
    fn a_bad_category_key_names_the_file_and_key() {
        let err = from_toml(r#"status_by_category = { "To Do" = "Open" }"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("mappings/shop.toml"), "{err}");
        assert!(
            err.contains("writeback.status_by_category.\"To Do\""),
            "{err}"
        );
        assert!(err.contains("`new`, `indeterminate` or `done`"), "{err}");
    }

    #[test]
    fn blank_and_ambiguous_entries_are_refused() {
        for (text, key) in [
            (
                r#"status_by_name = { "Done" = " " }"#,
                "writeback.status_by_name.\"Done\"",
            ),
            (
                r#"priorities = { " " = "High" }"#,
                "writeback.priorities.\" \"",
            ),
            (
                r#"status_by_name = { "Done" = "A", "DONE" = "B" }"#,
                "writeback.status_by_name.",
            ),
            (r#"deleted_status = """#, "writeback.deleted_status"),
            (r#"deleted_priority = "  ""#, "writeback.deleted_priority"),
        ] {
            let err = from_toml(text).unwrap_err();
            assert!(matches!(err, MappingError::Invalid { .. }), "{text}");
            let shown = err.to_string();
            assert!(shown.contains(key), "{text}: {shown}");
            assert!(shown.starts_with("mappings/shop.toml"), "{shown}");
        }
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<RawWriteback>("status_by_names = {}").is_err());
    }

    proptest! {
        #[test]
        fn any_casing_of_a_mapped_name_maps_alike(
            name in "[A-Za-z][A-Za-z ']{0,20}",
            upper in proptest::collection::vec(any::<bool>(), 21),
        ) {
            let mut raw = RawWriteback::default();
            raw.status_by_name.insert(name.clone(), "Mapped".into());
            raw.priorities.insert(name.clone(), "P".into());
            let rules = WritebackRules::compile("m.toml", raw).unwrap();
            let cased: String = name
                .chars()
                .zip(upper.iter().cycle())
                .map(|(c, u)| if *u { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
                .collect();
            let values = rules.values_for(&cased, "new", None, Some(&cased));
            prop_assert_eq!(values.status, "Mapped");
            prop_assert_eq!(values.priority, Some("P".to_owned()));
        }

        #[test]
        fn unmapped_names_pass_through_unchanged(status in "\\PC{0,30}", priority in proptest::option::of("\\PC{0,30}")) {
            let rules = WritebackRules::default();
            let values = rules.values_for(&status, "done", None, priority.as_deref());
            prop_assert_eq!(values.status, status);
            prop_assert_eq!(values.priority, priority);
        }
    }
}
