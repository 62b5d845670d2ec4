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

/// A mapping edited while the service starts — after its mappings were read,
/// before the watcher first looked — is reloaded: the watcher starts from the
/// files as they were read, not as it first finds them.
#[tokio::test]
async fn a_mapping_edited_during_start_up_is_reloaded() {
    let prepared = prepare_app(AppOptions::cloud().tweak(|settings, _| {
        settings.mappings.watch_secs = 1;
    }))
    .await;
    let PreparedApp {
        jira: _jira,
        tm,
        settings,
        dir: _dir,
    } = prepared;
    let mapping = settings.mappings.dir.join("shop.toml");
    let app = tm_defect_bridge::startup::Application::build(settings)
        .await
        .expect("app builds");
    // This test's runtime has one thread: the watcher spawned by `build` has not run yet.
    std::fs::write(&mapping, MAPPING.replace("failed in", "broke in")).unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());

    let mut names = Vec::new();
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let seeded = SeededResult::new(None);
        tm.seed(&seeded, "Failed").await;
        let answer = create_defect_on(&address, &seeded.body()).await;
        assert_eq!(answer.status(), 200);
        let payload: Value = answer.json().await.unwrap();
        names.push(payload["name"].as_str().unwrap_or_default().to_owned());
        if names.last().is_some_and(|n| n.contains("broke in")) {
            return;
        }
    }
    panic!("the edit was never reloaded; summaries: {names:?}");
}
