//! Bad input answers 4xx problem+json and creates nothing; upstream failures
//! answer 5xx naming the upstream call and leave nothing half-recorded.

use crate::support::*;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

async fn problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    body
}

#[tokio::test]
async fn each_bad_input_gets_a_problem_and_creates_nothing() {
    let app = spawn_app(AppOptions::cloud()).await;
    let url = format!("{}/hooks/shop/{SECRET}", app.address);
    let send_raw = |body: &'static str, content_type: &'static str| {
        app.client
            .post(url.clone())
            .header("content-type", content_type)
            .body(body)
            .send()
    };

    let p = problem(
        send_raw("{not json", "application/json").await.unwrap(),
        400,
    )
    .await;
    assert!(p["detail"]
        .as_str()
        .unwrap()
        .contains("CreateDefectFromTestCaseLogRequest"));

    let p = problem(
        app.create_defect(&json!({"testCaseId": uuid::Uuid::new_v4()}))
            .await,
        400,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("testExecutionId"));

    let p = problem(
        app.create_defect(&json!({"testExecutionId": "42", "testCaseId": uuid::Uuid::new_v4()}))
            .await,
        400,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("GUID"));

    problem(
        send_raw("testExecutionId=1", "application/x-www-form-urlencoded")
            .await
            .unwrap(),
        415,
    )
    .await;

    let huge = "x".repeat(200_000);
    let response = app
        .client
        .post(url.clone())
        .json(&json!({"testExecutionId": uuid::Uuid::new_v4(), "testCaseId": uuid::Uuid::new_v4(), "variationId": huge}))
        .send()
        .await
        .unwrap();
    problem(response, 413).await;

    let seeded = SeededResult::new(None);
    let unknown = app
        .client
        .post(format!("{}/hooks/nope/{SECRET}", app.address))
        .json(&seeded.body())
        .send()
        .await
        .unwrap();
    // Unknown routes have no secret: refused before anything else is revealed.
    problem(unknown, 401).await;

    // A test case log that does not exist.
    Mock::given(method("GET"))
        .and(path(format!(
            "{TM_PREFIX}/api/v2/{PROJECT_ID}/testcaselogs/testexecution/{}/paged",
            seeded.execution_id
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [], "paging": {"total": 0, "page": 1, "pages": 0, "pageSize": 100, "returned": 0}})))
        .mount(&app.tm.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "{TM_PREFIX}/api/v2/{PROJECT_ID}/testcases/{}",
            seeded.test_case_id
        )))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": seeded.test_case_id, "name": "x"})),
        )
        .mount(&app.tm.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "{TM_PREFIX}/api/v2/{PROJECT_ID}/testexecutions/{}",
            seeded.execution_id
        )))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": seeded.execution_id, "name": "x"})),
        )
        .mount(&app.tm.server)
        .await;
    problem(app.create_defect(&seeded.body()).await, 404).await;

    // A result that passed.
    let passed = SeededResult::new(None);
    app.tm.seed(&passed, "Passed").await;
    let p = problem(app.create_defect(&passed.body()).await, 422).await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("pass"),
        "{p}"
    );

    assert!(
        app.jira.creates().await.is_empty(),
        "no bad input may reach Jira"
    );
}

#[tokio::test]
async fn a_wrong_or_missing_secret_is_refused() {
    let (app, seeded) = app_with_a_failure(AppOptions::cloud()).await;
    for url in [
        format!("{}/hooks/shop/wrong-secret", app.address),
        format!("{}/hooks/shop", app.address),
        format!("{}/hooks/shop/defects", app.address),
    ] {
        let response = app
            .client
            .post(url)
            .json(&seeded.body())
            .send()
            .await
            .unwrap();
        let p = problem(response, 401).await;
        assert!(!p.to_string().contains(SECRET));
    }
    assert!(app.jira.creates().await.is_empty());
    assert!(
        // (The readiness probe may have asked for a token; no test data was read.)
        !app.tm
            .server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .any(|r| r.url.path().contains("/api/v2/")),
        "nothing was fetched for a refused call"
    );
}

#[tokio::test]
async fn unknown_paths_are_404_problems() {
    let app = spawn_app(AppOptions::cloud()).await;
    let response = app
        .client
        .get(format!("{}/somewhere/else", app.address))
        .send()
        .await
        .unwrap();
    problem(response, 404).await;
    let response = app
        .client
        .post(format!("{}/hooks/shop/{SECRET}/something", app.address))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    problem(response, 404).await;
}

#[tokio::test]
async fn jira_refusing_the_issue_is_a_502_and_a_retry_can_succeed() {
    let (app, seeded) = app_with_a_failure(AppOptions::cloud()).await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"errorMessages": [], "errors": {"components": "Component name 'Checkout' is not valid"}})))
        .with_priority(1)
        .up_to_n_times(1)
        .mount(&app.jira.server)
        .await;
    let p = problem(app.create_defect(&seeded.body()).await, 502).await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("Component name 'Checkout' is not valid"),
        "{p}"
    );
    assert_eq!(p["upstream"], "Jira: create issue");

    // Nothing was half-recorded: once Jira accepts, the retry creates the issue.
    let response = app.create_defect(&seeded.body()).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    assert_eq!(app.jira.issues().len(), 1);
}

#[tokio::test]
async fn jira_5xx_on_create_is_not_retried_blindly() {
    let (app, seeded) = app_with_a_failure(AppOptions::cloud()).await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue"))
        .respond_with(
            ResponseTemplate::new(502).set_body_string("<html><body>Bad gateway</body></html>"),
        )
        .with_priority(1)
        .up_to_n_times(1)
        .mount(&app.jira.server)
        .await;
    let p = problem(app.create_defect(&seeded.body()).await, 503).await;
    assert_eq!(p["upstream"], "Jira: create issue");
    assert_eq!(
        app.jira.creates().await.len(),
        1,
        "exactly one create attempt"
    );

    // The next request looks for the issue by label first; none exists, so it creates one.
    let response = app.create_defect(&seeded.body()).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    // It searched (repeatedly, while Cloud's search may lag) before creating.
    assert!(!app
        .jira
        .received("POST", "/rest/api/3/search/jql")
        .await
        .is_empty());
    assert_eq!(
        app.jira.creates().await.len(),
        2,
        "the failed attempt and the real one"
    );
    assert_eq!(app.jira.issues().len(), 1);
}

#[tokio::test]
async fn test_manager_failing_is_a_502_naming_the_call() {
    let app = spawn_app(AppOptions::cloud()).await;
    let seeded = SeededResult::new(None);
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500).set_body_string("<html>Server Error</html>"))
        .mount(&app.tm.server)
        .await;
    let p = problem(app.create_defect(&seeded.body()).await, 502).await;
    assert!(
        p["upstream"].as_str().unwrap().starts_with("Test Manager"),
        "{p}"
    );
    assert!(app.jira.creates().await.is_empty());
}
