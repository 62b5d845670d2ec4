//! The write-back part of `check`: may the bridge read and write Test
//! Manager's defects, will Jira's webhooks be accepted, and does Jira accept
//! the reconcile poller's query.

use super::report::{CheckReport, Finding};
use crate::config::Settings;
use crate::mapping::Projects;
use crate::result_key::BRIDGE_LABEL;
use crate::startup::adapters::Adapters;
use crate::testmanager::TestManager;
use crate::tracker::{jql, DefectTracker};
use crate::writeback::WebhookSecrets;
use std::collections::BTreeSet;

/// A defect id no Test Manager defect has: reading it proves read access (404)
/// without depending on any defect existing.
const NO_DEFECT: &str = "00000000-0000-0000-0000-000000000000";

/// Adds write-back's findings to `report`.
pub async fn check(
    settings: &Settings,
    adapters: &Adapters,
    projects: &Projects,
    report: &mut CheckReport,
) {
    let scope = &settings.testmanager.scope;
    if !scope.split_whitespace().any(|s| s == "TM.Defects.Write") {
        report.problems.push(Finding {
            place: "[testmanager]".into(),
            message: format!("scope `{scope}` lacks TM.Defects.Write: write-back cannot update Test Manager's defects; add it to testmanager.scope and grant it to the External Application (or set writeback.enabled = false)"),
        });
    }
    let mut seen_projects = BTreeSet::new();
    let mut jira_projects = BTreeSet::new();
    for mapping in projects.all() {
        if !mapping.writeback.is_enabled() {
            continue;
        }
        jira_projects.insert(mapping.jira_project.clone());
        if !seen_projects.insert(mapping.project_id) {
            continue;
        }
        match adapters
            .testmanager
            .defect(mapping.project_id, NO_DEFECT)
            .await
        {
            Ok(_) => report.verified.push(format!(
                "Test Manager lets the bridge read the defects of project {}",
                mapping.project_id
            )),
            Err(e) => report.problems.push(Finding {
                place: mapping.source.display().to_string(),
                message: format!("cannot read Test Manager's defects for write-back: {e}"),
            }),
        }
    }
    for project in &jira_projects {
        let query = jql::changed_since(project, BRIDGE_LABEL, 1);
        match adapters.tracker.search_keys(&query, None, 1).await {
            Ok(_) => report.verified.push(format!(
                "Jira accepts the write-back poller's query for project {project}"
            )),
            Err(e) => report.problems.push(Finding {
                place: "[writeback]".into(),
                message: format!("Jira refuses the poller's query `{query}`: {e}"),
            }),
        }
    }
    if WebhookSecrets::from_settings(&settings.writeback).is_configured() {
        report
            .verified
            .push("a Jira webhook secret is set for write-back".into());
    } else {
        report.notes.push(format!(
            "no Jira webhook secret is set (BRIDGE_WRITEBACK__WEBHOOK_SECRET): Test Manager's defects follow Jira every {} s through the reconcile poller, not within seconds",
            settings.writeback.reconcile_interval_secs
        ));
    }
}
