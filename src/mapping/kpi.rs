//! `KpiSpec`: a mapping file's validated `[kpis]` table — which Jira issues
//! the Test Manager dashboard counts, and how.
//!
//! Only checked values are kept here; turning them into JQL is the KPI use
//! case's job (`crate::kpis::queries`), so that the quoting rules live in one
//! place.

use super::error::MappingError;
use super::schema::{RawCountMode, RawKpis};

/// Priorities counted as critical when the mapping names none.
pub const DEFAULT_CRITICAL_PRIORITIES: [&str; 1] = ["Highest"];

/// Priorities counted as moderate when the mapping names none.
pub const DEFAULT_MODERATE_PRIORITIES: [&str; 2] = ["High", "Medium"];

/// How Jira Cloud counts. Data Center always answers exact totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum CountMode {
    /// One `search/approximate-count` call per count: cheap, an estimate.
    #[default]
    Approximate,
    /// Page through `search/jql` with ids only: exact, one call per 5000 issues.
    Exact,
}

/// A validated `[kpis]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KpiSpec {
    /// JQL written in the mapping selecting every counted defect, trimmed and
    /// non-empty; `None`: the mapped project and issue type.
    pub scope_jql: Option<String>,
    /// Count only issues carrying the bridge's marker label.
    pub only_bridge_issues: bool,
    /// Priority names or ids counted as critical (non-empty, each trimmed and non-empty).
    pub critical_priorities: Vec<String>,
    /// Priority names or ids counted as moderate (non-empty, each trimmed and non-empty).
    pub moderate_priorities: Vec<String>,
    /// How Jira Cloud counts.
    pub count_mode: CountMode,
}

impl Default for KpiSpec {
    fn default() -> Self {
        Self {
            scope_jql: None,
            only_bridge_issues: false,
            critical_priorities: DEFAULT_CRITICAL_PRIORITIES.map(String::from).to_vec(),
            moderate_priorities: DEFAULT_MODERATE_PRIORITIES.map(String::from).to_vec(),
            count_mode: CountMode::Approximate,
        }
    }
}

impl KpiSpec {
    /// Checks `raw` (from `file`): a given scope must be non-empty and carry
    /// no `ORDER BY` (it is combined with more clauses); priority lists must
    /// be non-empty with no blank entry.
    pub fn parse(file: &str, raw: RawKpis) -> Result<Self, MappingError> {
        let invalid = |key: &str, message: String| MappingError::Invalid {
            file: file.to_owned(),
            key: key.to_owned(),
            message,
        };
        let defaults = Self::default();
        let scope_jql = match raw.scope_jql {
            None => None,
            Some(jql) => {
                let jql = jql.trim().to_owned();
                if jql.is_empty() {
                    return Err(invalid(
                        "kpis.scope_jql",
                        "is empty; remove it to count the mapped project and issue type".into(),
                    ));
                }
                if has_order_by(&jql) {
                    return Err(invalid(
                        "kpis.scope_jql",
                        "may not contain ORDER BY: the bridge adds clauses to it".into(),
                    ));
                }
                Some(jql)
            }
        };
        let list = |key: &str, values: Option<Vec<String>>, default: Vec<String>| {
            let Some(values) = values else {
                return Ok(default);
            };
            let values: Vec<String> = values.iter().map(|v| v.trim().to_owned()).collect();
            if values.is_empty() || values.iter().any(String::is_empty) {
                return Err(invalid(
                    key,
                    "must list at least one priority name or id, with no blank entry".into(),
                ));
            }
            Ok(values)
        };
        Ok(Self {
            scope_jql,
            only_bridge_issues: raw.only_bridge_issues,
            critical_priorities: list(
                "kpis.critical_priorities",
                raw.critical_priorities,
                defaults.critical_priorities,
            )?,
            moderate_priorities: list(
                "kpis.moderate_priorities",
                raw.moderate_priorities,
                defaults.moderate_priorities,
            )?,
            count_mode: match raw.count_mode {
                None | Some(RawCountMode::Approximate) => CountMode::Approximate,
                Some(RawCountMode::Exact) => CountMode::Exact,
            },
        })
    }
}

/// `ORDER BY` outside string literals: a crude but sufficient scan, since a
/// false positive only asks the author to drop the clause.
fn has_order_by(jql: &str) -> bool {
    let words: Vec<String> = jql
        .split_whitespace()
        .map(|w| w.to_ascii_lowercase())
        .collect();
    words.windows(2).any(|w| w[0] == "order" && w[1] == "by")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_when_the_table_is_absent() {
        let spec = KpiSpec::parse("f.toml", RawKpis::default()).unwrap();
        assert_eq!(spec, KpiSpec::default());
        assert_eq!(spec.critical_priorities, ["Highest"]);
        assert_eq!(spec.moderate_priorities, ["High", "Medium"]);
    }

    #[test]
    fn blank_values_and_order_by_are_refused_with_the_key() {
        let raw = RawKpis {
            critical_priorities: Some(vec!["Highest".into(), " ".into()]),
            ..Default::default()
        };
        let err = KpiSpec::parse("f.toml", raw).unwrap_err().to_string();
        assert!(err.contains("kpis.critical_priorities"), "{err}");
        let raw = RawKpis {
            scope_jql: Some("project = SHOP order  BY created".into()),
            ..Default::default()
        };
        let err = KpiSpec::parse("f.toml", raw).unwrap_err().to_string();
        assert!(err.contains("kpis.scope_jql"), "{err}");
        let raw = RawKpis {
            moderate_priorities: Some(vec![]),
            ..Default::default()
        };
        assert!(KpiSpec::parse("f.toml", raw).is_err());
    }
}
