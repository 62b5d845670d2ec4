//! Start-up checks of the mappings against Jira's create metadata.

use crate::support::*;
use serde_json::{json, Value};
use tm_defect_bridge::config::JiraFlavour;
use tm_defect_bridge::startup::Application;

async fn start(
    flavour: JiraFlavour,
    mapping: &str,
    extra_fields: Vec<Value>,
) -> Result<Application, String> {
    let prepared = prepare_app(
        AppOptions::of(flavour)
            .mapping(mapping)
            .tweak(|settings, _| settings.jira.verify_on_start = true),
    )
    .await;
    prepared.jira.mount_createmeta(extra_fields).await;
    // The fakes live in `prepared` until the build is done.
    Application::build(prepared.settings)
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn a_correct_mapping_starts_on_both_flavours() {
    for flavour in [JiraFlavour::Cloud, JiraFlavour::DataCenter] {
        if let Err(e) = start(flavour, MAPPING, vec![]).await {
            panic!("{flavour:?}: {e}");
        }
    }
}

#[tokio::test]
async fn each_mistake_stops_start_up_naming_file_and_key() {
    let cases: Vec<(String, Vec<Value>, &[&str])> = vec![
        (
            MAPPING.replace("issue_type = \"Bug\"", "issue_type = \"Defect\""),
            vec![],
            &["jira.issue_type", "Defect", "Bug, Task"],
        ),
        (
            MAPPING.replace("default = \"Medium\"", "default = \"Urgent\""),
            vec![],
            &[
                "issue.priority",
                "Urgent",
                "Highest, High, Medium, Low, Lowest",
            ],
        ),
        (
            MAPPING.replace("components = [\"Checkout\"]", "components = [\"Payments\"]"),
            vec![],
            &["issue.components", "Payments"],
        ),
        (
            format!("{MAPPING}\n[kpis]\ncritical_priorities = [\"Blocker\"]\n"),
            vec![],
            &["kpis", "Blocker", "Highest, High"],
        ),
        (
            MAPPING.replace("\"Environment\" =", "\"Enviroment\" ="),
            vec![],
            &["issue.custom_fields.\"Enviroment\"", "not a field"],
        ),
        (
            MAPPING.to_owned(),
            vec![
                json!({"fieldId": "customfield_10060", "name": "Team", "required": true, "hasDefaultValue": false}),
            ],
            &["Team", "customfield_10060", "[issue.custom_fields]"],
        ),
    ];
    for (mapping, extra, expected) in cases {
        let err = start(JiraFlavour::Cloud, &mapping, extra)
            .await
            .err()
            .expect("start-up must fail");
        assert!(err.contains("shop.toml"), "{err}");
        for needle in expected {
            assert!(err.contains(needle), "`{needle}` missing in: {err}");
        }
    }
}

#[tokio::test]
async fn an_unknown_jira_project_stops_start_up() {
    let err = start(
        JiraFlavour::DataCenter,
        &MAPPING.replace("project = \"SHOP\"", "project = \"NOPE\""),
        vec![],
    )
    .await
    .err()
    .expect("start-up must fail");
    assert!(err.contains("jira.project"), "{err}");
    assert!(err.contains("NOPE"), "{err}");
}
