//! Running it like a product: request ids, readiness, the OpenAPI document and
//! the HTTP preview (the metrics' counts are in `tests/metrics.rs`, mapping reload
//! on SIGHUP in `tests/signals.rs`).

use crate::support::*;
use serde_json::Value;
use std::time::Duration;

#[tokio::test]
async fn every_answer_carries_a_request_id() {
    let app = spawn_app(AppOptions::cloud()).await;
    let mut ids = std::collections::HashSet::new();
    for path in ["/healthz", "/nowhere", "/hooks/shop/wrong"] {
        let response = app
            .client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        let id = response
            .headers()
            .get("x-request-id")
            .expect("x-request-id header")
            .to_str()
            .unwrap()
            .to_owned();
        assert!(!id.is_empty());
        ids.insert(id);
    }
    assert_eq!(ids.len(), 3, "one id per request");
}

#[tokio::test]
async fn readiness_reflects_the_background_probes() {
    let app = spawn_app(AppOptions::cloud()).await;
    // The first probe runs at start-up; give it a moment.
    let mut body = Value::Null;
    for _ in 0..50 {
        let response = app
            .client
            .get(format!("{}/readyz", app.address))
            .send()
            .await
            .unwrap();
        let status = response.status();
        body = response.json().await.unwrap();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(body["status"], "ready", "{body}");
    for dependency in ["ledger", "jira", "testmanager"] {
        assert_eq!(body["dependencies"][dependency]["ready"], true, "{body}");
    }
    let probes = app.jira.received("GET", "/rest/api/3/myself").await.len();
    for _ in 0..20 {
        app.client
            .get(format!("{}/readyz", app.address))
            .send()
            .await
            .unwrap();
    }
    assert_eq!(
        app.jira.received("GET", "/rest/api/3/myself").await.len(),
        probes,
        "readyz does not call Jira"
    );
}

#[tokio::test]
async fn readiness_fails_when_jira_refuses() {
    let app = spawn_app(AppOptions::cloud().tweak(|settings, _| {
        settings.jira.token = Some(secrecy::SecretString::from("not-the-token"));
    }))
    .await;
    let address = &app.address;
    // Wait for the first probe to have failed (it records why).
    let mut body = Value::Null;
    for _ in 0..100 {
        let response = reqwest::get(format!("{address}/readyz")).await.unwrap();
        assert_eq!(response.status(), 503);
        body = response.json().await.unwrap();
        if body["dependencies"]["jira"]["last_error"].is_string()
            && body["dependencies"]["ledger"]["ready"] == true
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(body["dependencies"]["jira"]["ready"], false, "{body}");
    assert_eq!(body["dependencies"]["ledger"]["ready"], true, "{body}");
    assert!(
        body["dependencies"]["jira"]["last_error"]
            .as_str()
            .unwrap()
            .contains("401"),
        "{body}"
    );
    assert!(!body.to_string().contains("not-the-token"));
}

#[tokio::test]
async fn the_openapi_document_describes_the_routes_and_errors() {
    let app = spawn_app(AppOptions::cloud()).await;
    let doc: Value = app
        .client
        .get(format!("{}/openapi.json", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/hooks/{route}/{secret}",
        "/hooks/{route}/{secret}/api/kpis/project/{projectId}/defectstatus",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(paths.contains_key(path), "{path} missing");
    }
    let create = &doc["paths"]["/hooks/{route}/{secret}"]["post"];
    assert!(
        create["responses"]["422"]["content"]["application/problem+json"].is_object(),
        "{create}"
    );
    let schemas = &doc["components"]["schemas"];
    for name in [
        "RawCreateDefectRequest",
        "DefectPayload",
        "KpiConnectorDefectsDto",
        "Problem",
    ] {
        assert!(schemas[name].is_object(), "{name} missing");
    }
    assert!(schemas["KpiConnectorDefectsDto"]["properties"]["criticalDefectsLink"].is_object());
}

#[tokio::test]
async fn the_http_preview_needs_the_secret_and_creates_nothing() {
    let (app, seeded) = app_with_a_failure(AppOptions::data_center()).await;
    let refused = app
        .client
        .post(format!("{}/hooks/shop/preview", app.address))
        .json(&seeded.body())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let response = app
        .client
        .post(format!("{}/hooks/shop/{SECRET}/preview", app.address))
        .json(&seeded.body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let preview: Value = response.json().await.unwrap();
    assert!(
        preview["url"]
            .as_str()
            .unwrap()
            .ends_with("/rest/api/2/issue"),
        "{preview}"
    );
    assert_eq!(preview["body"]["fields"]["project"]["key"], "SHOP");
    assert!(preview["description_markdown"]
        .as_str()
        .unwrap()
        .contains("Card declined"));
    assert!(app.jira.creates().await.is_empty());
    assert!(app.jira.received("POST", "/remotelink").await.is_empty());
}
