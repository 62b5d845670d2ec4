//! Create Defect end to end, for Jira Cloud and Jira Data Center.

use crate::support::*;
use serde_json::{json, Value};
use tm_defect_bridge::result_key::ResultKey;

fn label_of(seeded: &SeededResult) -> String {
    ResultKey::new(
        seeded.execution_id,
        seeded.test_case_id,
        seeded.variation_id.clone(),
    )
    .label()
}

fn header(request: &wiremock::Request, name: &str) -> String {
    request
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn cloud_failure_becomes_one_complete_issue() {
    let app = spawn_app(AppOptions::cloud()).await;
    let seeded = SeededResult::new(Some("row-2"));
    app.tm.seed(&seeded, "Failed").await;

    let response = app.create_defect(&seeded.body()).await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        answer,
        json!({
            "name": "[SHOP:42] Checkout with an expired card failed in Nightly regression",
            "status": "To Do",
            "priority": "High",
            "link": format!("{}/browse/SHOP-1", app.jira.server.uri()),
            "linkLabel": "SHOP-1",
        })
    );

    let creates = app.jira.creates().await;
    assert_eq!(creates.len(), 1);
    let create = &creates[0];
    assert_eq!(create.url.path(), "/rest/api/3/issue");
    // Basic e-mail:token on Cloud.
    assert_eq!(
        header(create, "authorization"),
        format!("Basic {}", base64(&format!("bot@example.com:{JIRA_TOKEN}")))
    );
    let body: Value = serde_json::from_slice(&create.body).unwrap();
    assert_matches_cloud_schema("IssueUpdateDetails", &body);
    let fields = &body["fields"];
    assert_eq!(fields["project"], json!({"key": "SHOP"}));
    assert_eq!(fields["issuetype"], json!({"name": "Bug"}));
    assert_eq!(
        fields["summary"],
        "[SHOP:42] Checkout with an expired card failed in Nightly regression"
    );
    assert_eq!(
        fields["priority"],
        json!({"name": "High"}),
        "the rule over test_case.labels applies"
    );
    assert_eq!(fields["components"], json!([{"name": "Checkout"}]));
    assert_eq!(
        fields["labels"],
        json!([
            label_of(&seeded),
            "tm-defect-bridge",
            "test-manager",
            "Nightly-regression"
        ])
    );
    assert_eq!(
        fields["customfield_10050"],
        json!({"value": "WIN-TEST-01"}),
        "custom field resolved by name"
    );
    // The description is ADF, with the failed assertion as plain text.
    assert_eq!(fields["description"]["type"], "doc");
    assert_eq!(fields["description"]["version"], 1);
    let description = fields["description"].to_string();
    assert!(
        description.contains("Expected 'Card declined' but found 'Thank you'"),
        "{description}"
    );
    assert!(
        !description.contains("Page loaded"),
        "passed assertions are not listed as failures"
    );

    let links = app
        .jira
        .received("POST", "/rest/api/3/issue/SHOP-1/remotelink")
        .await;
    assert_eq!(links.len(), 1);
    let link: Value = serde_json::from_slice(&links[0].body).unwrap();
    assert_matches_cloud_schema("RemoteIssueLinkRequest", &link);
    let canonical = ResultKey::new(
        seeded.execution_id,
        seeded.test_case_id,
        seeded.variation_id.clone(),
    )
    .canonical();
    assert_eq!(link["globalId"], format!("tm-defect-bridge:{canonical}"));
    assert_eq!(link["object"]["url"], seeded.body()["linkToTestCaseLog"]);
}

#[tokio::test]
async fn data_center_failure_becomes_one_issue_in_wiki_markup() {
    let (app, seeded) = app_with_a_failure(AppOptions::data_center()).await;

    let response = app.create_defect(&seeded.body()).await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["linkLabel"], "SHOP-1");

    let creates = app.jira.creates().await;
    assert_eq!(creates.len(), 1);
    assert_eq!(creates[0].url.path(), "/rest/api/2/issue");
    assert_eq!(
        header(&creates[0], "authorization"),
        format!("Bearer {JIRA_TOKEN}")
    );
    let body: Value = serde_json::from_slice(&creates[0].body).unwrap();
    let description = body["fields"]["description"]
        .as_str()
        .expect("wiki markup is a string");
    assert!(
        description.contains("*SHOP:42"),
        "bold becomes *…*: {description}"
    );
    assert!(
        description.contains("h2. Failed assertions"),
        "{description}"
    );
    assert!(body["fields"]["labels"]
        .as_array()
        .unwrap()
        .contains(&json!(label_of(&seeded))));
    assert_eq!(
        app.jira
            .received("POST", "/rest/api/2/issue/SHOP-1/remotelink")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn a_repeated_request_answers_the_same_issue_and_creates_nothing() {
    let (app, seeded) = app_with_a_failure(AppOptions::cloud()).await;

    let first: Value = app
        .create_defect(&seeded.body())
        .await
        .json()
        .await
        .unwrap();
    let second = app.create_defect(&seeded.body()).await;
    assert_eq!(second.status(), 200);
    let second: Value = second.json().await.unwrap();
    assert_eq!(first["linkLabel"], second["linkLabel"]);
    assert_eq!(first["link"], second["link"]);
    assert_eq!(app.jira.creates().await.len(), 1);
    assert_eq!(app.jira.issues().len(), 1);
}

#[tokio::test]
async fn variations_of_one_test_case_are_separate_issues() {
    let app = spawn_app(AppOptions::cloud()).await;
    let first = SeededResult::new(Some("row-1"));
    let mut second = first.clone();
    second.variation_id = Some("row-2".into());
    second.log_id = uuid::Uuid::new_v4();
    app.tm.seed(&first, "Failed").await;

    let a: Value = app.create_defect(&first.body()).await.json().await.unwrap();
    // row-2's log is not in the execution: Test Manager has no such result.
    let missing = app.create_defect(&second.body()).await;
    assert_eq!(missing.status(), 404);
    assert_eq!(a["linkLabel"], "SHOP-1");
    assert_eq!(app.jira.creates().await.len(), 1);
}

#[tokio::test]
async fn jira_base_url_with_a_context_path_works() {
    let (app, seeded) = app_with_a_failure(AppOptions::data_center().jira_context("/jira")).await;
    let response = app.create_defect(&seeded.body()).await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        answer["link"],
        format!("{}/jira/browse/SHOP-1", app.jira.server.uri())
    );
    assert_eq!(
        app.jira
            .received("POST", "/jira/rest/api/2/issue")
            .await
            .len(),
        1
    );
    assert_eq!(
        app.jira
            .received("GET", "/jira/rest/api/2/field")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn the_secret_may_come_in_a_header() {
    let (app, seeded) = app_with_a_failure(AppOptions::cloud()).await;
    let response = app
        .client
        .post(format!("{}/hooks/shop", app.address))
        .header("X-Bridge-Secret", SECRET)
        .json(&seeded.body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(app.jira.creates().await.len(), 1);
}
