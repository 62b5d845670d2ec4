//! Start-up checks of the mappings against Jira's create metadata.

use crate::helpers::*;
use serde_json::{json, Value};
use tm_defect_bridge::config::JiraFlavour;
use tm_defect_bridge::startup::Application;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

pub async fn mount_createmeta(jira: &FakeJira, flavour: JiraFlavour, extra_fields: Vec<Value>) {
    let (api, types_key, fields_key) = match flavour {
        JiraFlavour::Cloud => ("3", "issueTypes", "fields"),
        JiraFlavour::DataCenter => ("2", "values", "values"),
    };
    Mock::given(method("GET"))
        .and(path(format!(
            "/rest/api/{api}/issue/createmeta/SHOP/issuetypes"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            types_key: [{"id": "10001", "name": "Bug"}, {"id": "10002", "name": "Task"}],
            "startAt": 0, "maxResults": 200, "total": 2
        })))
        .mount(&jira.server)
        .await;
    let mut fields = vec![
        json!({"fieldId": "summary", "name": "Summary", "required": true, "hasDefaultValue": false}),
        json!({"fieldId": "issuetype", "name": "Issue Type", "required": true, "hasDefaultValue": false}),
        json!({"fieldId": "project", "name": "Project", "required": true, "hasDefaultValue": false}),
        json!({"fieldId": "priority", "name": "Priority", "required": false, "hasDefaultValue": true,
               "allowedValues": [{"id": "1", "name": "Highest"}, {"id": "2", "name": "High"}, {"id": "3", "name": "Medium"}, {"id": "4", "name": "Low"}, {"id": "5", "name": "Lowest"}]}),
        json!({"fieldId": "components", "name": "Components", "required": false, "hasDefaultValue": false,
               "allowedValues": [{"id": "100", "name": "Checkout"}]}),
        json!({"fieldId": "customfield_10050", "name": "Environment", "required": false, "hasDefaultValue": false}),
    ];
    fields.extend(extra_fields);
    let total = fields.len();
    Mock::given(method("GET"))
        .and(path(format!(
            "/rest/api/{api}/issue/createmeta/SHOP/issuetypes/10001"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            fields_key: fields, "startAt": 0, "maxResults": 200, "total": total
        })))
        .mount(&jira.server)
        .await;
}

async fn start(
    flavour: JiraFlavour,
    mapping: &str,
    extra_fields: Vec<Value>,
) -> Result<Application, String> {
    let jira = FakeJira::start_at(flavour, "").await;
    let tm = FakeTestManager::start().await;
    mount_createmeta(&jira, flavour, extra_fields).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shop.toml"), mapping).unwrap();
    let store = format!("sqlite://{}", dir.path().join("ledger.db").display());
    let mut settings = settings(&jira, &tm, dir.path().to_path_buf(), flavour, store);
    settings.jira.verify_on_start = true;
    let result = Application::build(settings)
        .await
        .map_err(|e| e.to_string());
    // Keep the fakes alive until the build is done.
    drop((jira, tm, dir));
    result
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
