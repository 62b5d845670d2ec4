//! The five JQL queries behind a project's defect counts, built from its mapping.
//!
//! Only mapping values enter JQL, and every value is a quoted literal (the
//! project key, the issue type, each priority, the marker label). A scope JQL
//! written in the mapping is the one piece taken as JQL; it is wrapped in
//! parentheses so an `OR` inside it cannot escape the clauses added after it.

use crate::mapping::{CountMode, ProjectMapping};
use crate::result_key::BRIDGE_LABEL;
use crate::tracker::jql::{quote, quote_list};

/// The JQL of each count, and how to count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KpiQueries {
    /// Every counted defect.
    pub total: String,
    /// Scope and not in the Done status category.
    pub open: String,
    /// Scope and in the Done status category.
    pub closed: String,
    /// Open, with a critical priority.
    pub critical: String,
    /// Open, with a moderate priority.
    pub moderate: String,
    /// How Jira Cloud counts.
    pub mode: CountMode,
}

impl KpiQueries {
    /// Builds the queries of `mapping`'s `[kpis]` table.
    ///
    /// Priorities are quoted whether they are names or all-digit ids: Jira
    /// resolves a quoted value against priority names and ids alike, and
    /// quoting keeps a name such as `High" OR project = X` one value.
    pub fn build(mapping: &ProjectMapping) -> Self {
        let spec = &mapping.kpis;
        let mut scope = match &spec.scope_jql {
            Some(jql) => format!("({jql})"),
            None => format!(
                "project = {} AND issuetype = {}",
                quote(&mapping.jira_project),
                quote(&mapping.issue_type)
            ),
        };
        if spec.only_bridge_issues {
            scope.push_str(&format!(" AND labels = {}", quote(BRIDGE_LABEL)));
        }
        let open = format!("{scope} AND statusCategory != Done");
        Self {
            closed: format!("{scope} AND statusCategory = Done"),
            critical: format!(
                "{open} AND priority in {}",
                quote_list(&spec.critical_priorities)
            ),
            moderate: format!(
                "{open} AND priority in {}",
                quote_list(&spec.moderate_priorities)
            ),
            open,
            total: scope,
            mode: spec.count_mode,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::schema::RawMapping;
    use std::path::Path;

    /// The SHOP mapping of the integration tests, with `extra` appended.
    const SHOP: &str = include_str!("../../tests/fixtures/shop.toml");

    fn mapping(extra: &str) -> ProjectMapping {
        let text = format!("{SHOP}\n{extra}\n");
        let raw: RawMapping = toml::from_str(&text).unwrap();
        ProjectMapping::compile(Path::new("shop.toml"), raw).unwrap()
    }

    #[test]
    fn defaults_count_the_mapped_project_and_issue_type() {
        let q = KpiQueries::build(&mapping(""));
        assert_eq!(q.total, r#"project = "SHOP" AND issuetype = "Bug""#);
        assert_eq!(
            q.open,
            r#"project = "SHOP" AND issuetype = "Bug" AND statusCategory != Done"#
        );
        assert_eq!(
            q.closed,
            r#"project = "SHOP" AND issuetype = "Bug" AND statusCategory = Done"#
        );
        assert_eq!(
            q.critical,
            r#"project = "SHOP" AND issuetype = "Bug" AND statusCategory != Done AND priority in ("Highest")"#
        );
        assert_eq!(
            q.moderate,
            r#"project = "SHOP" AND issuetype = "Bug" AND statusCategory != Done AND priority in ("High", "Medium")"#
        );
        assert_eq!(q.mode, CountMode::Approximate);
    }

    #[test]
    fn custom_scope_is_parenthesised_and_ids_are_quoted() {
        let q = KpiQueries::build(&mapping(
            r#"
[kpis]
scope_jql = "project = SHOP OR project = WEB"
only_bridge_issues = true
critical_priorities = ["1", "2"]
moderate_priorities = ["3"]
count_mode = "exact"
"#,
        ));
        assert_eq!(
            q.total,
            r#"(project = SHOP OR project = WEB) AND labels = "tm-defect-bridge""#
        );
        assert_eq!(
            q.critical,
            r#"(project = SHOP OR project = WEB) AND labels = "tm-defect-bridge" AND statusCategory != Done AND priority in ("1", "2")"#
        );
        assert_eq!(q.mode, CountMode::Exact);
    }

    #[test]
    fn hostile_mapping_values_stay_single_literals() {
        let q = KpiQueries::build(&mapping(
            r#"
[kpis]
critical_priorities = ['High" OR project = SECRET OR priority = "x', "back\\slash"]
"#,
        ));
        assert!(
            q.critical.ends_with(
                r#"priority in ("High\" OR project = SECRET OR priority = \"x", "back\\slash")"#
            ),
            "{}",
            q.critical
        );
        let raw: RawMapping = toml::from_str(
            r#"
[project]
id = "6c1f0b4e-3f7a-4b8e-9a51-2f0c8d7e1a42"
[jira]
project = 'SHOP" OR project = "HR'
issue_type = "Bug"
"#,
        )
        .unwrap();
        let m = ProjectMapping::compile(Path::new("x.toml"), raw).unwrap();
        assert_eq!(
            KpiQueries::build(&m).total,
            r#"project = "SHOP\" OR project = \"HR" AND issuetype = "Bug""#
        );
    }
}
