//! The write-back part of `check`: may the bridge read and write Test
//! Manager's defects, will Jira's webhooks be accepted, and does Jira accept
//! the reconcile poller's query.

use super::report::{CheckReport, Finding};
use crate::config::Settings;
use crate::ledger::{self, Stores};
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
    let stores = existing_ledger(settings).await;
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
        let known = match &stores {
            Some(stores) => known_defect(stores, &mapping.route).await,
            None => None,
        };
        let tm = &adapters.testmanager;
        match known {
            Some(defect_id) => match tm.defect(mapping.project_id, &defect_id).await {
                Ok(Some(_)) => report.verified.push(format!(
                    "Test Manager lets the bridge read defect {defect_id} of project {} at testmanager.defect_path",
                    mapping.project_id
                )),
                Ok(None) => report.problems.push(Finding {
                    place: "[testmanager]".into(),
                    message: format!("defect {defect_id}, recorded in the ledger, is not found at testmanager.defect_path: the path is wrong, or the defect was deleted in Test Manager"),
                }),
                Err(e) => report.problems.push(Finding {
                    place: mapping.source.display().to_string(),
                    message: format!("cannot read Test Manager's defects for write-back: {e}"),
                }),
            },
            None => match tm.defect(mapping.project_id, NO_DEFECT).await {
                Ok(_) => report.notes.push(format!(
                    "no Test Manager defect of project {} is recorded yet, so reading one could not be proven; Test Manager answered an unknown defect id at testmanager.defect_path without refusing",
                    mapping.project_id
                )),
                Err(e) => report.problems.push(Finding {
                    place: mapping.source.display().to_string(),
                    message: format!("cannot read Test Manager's defects for write-back: {e}"),
                }),
            },
        }
    }
    if let Some(stores) = stores {
        stores.results.close().await;
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

/// The ledger, when it already exists: `check` creates nothing, so a SQLite
/// file that is not there yet is not opened.
async fn existing_ledger(settings: &Settings) -> Option<Stores> {
    let url = &settings.store.url;
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        if !std::path::Path::new(path).exists() {
            return None;
        }
    }
    ledger::connect(url, 1).await.ok()
}

/// A Test Manager defect the ledger knows for mapping `route`, if any.
async fn known_defect(stores: &Stores, route: &str) -> Option<String> {
    let keys = stores.writeback.issue_keys(route).await.ok()?;
    for issue_key in keys.iter().take(20) {
        let targets = stores.writeback.targets(issue_key).await.ok()?;
        if let Some(id) = targets.into_iter().find_map(|t| t.defect_id) {
            return Some(id);
        }
    }
    None
}
