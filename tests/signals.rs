//! Mapping reload on SIGHUP, driven by sending this process SIGHUP.
//!
//! A SIGHUP reloads every bridge listening in the process, and under plain
//! `cargo test` all tests of one binary share a process: sent from the `api`
//! binary, it would reload the bridges of every test running beside it. So the
//! tests that send it live in this binary of their own and take turns (a bridge
//! stops listening when its test's runtime ends): each SIGHUP reaches only the
//! bridge of the test that sent it.

#[allow(dead_code, unused_imports)]
#[path = "api/support/mod.rs"]
mod support;

use serde_json::Value;
use support::*;

/// Held by each test for its whole run: no other test's bridge is listening.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Sends this process SIGHUP: the bridge reloads its mapping files.
fn hangup() {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Polls the operator's view (`/operator.json`) until `done` holds for it; returns that view.
async fn view_once(app: &TestApp, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..200 {
        let view: Value = app.get("/operator.json").await.json().await.unwrap();
        if done(&view) {
            return view;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the operator view never reached the expected state");
}

#[tokio::test]
async fn sighup_reloads_a_valid_mapping_and_keeps_the_old_one_on_errors() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let app = spawn_app(AppOptions::cloud()).await;
    let file = app.mapping_file();
    let create = |seeded: SeededResult| {
        let request = app.client.post(app.hook_url("")).json(&seeded.body());
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };

    // A broken file: once the reload has refused it, the old mapping is still in force.
    std::fs::write(&file, MAPPING.replace("[jira]", "[jira]\nnot_a_key = 1")).unwrap();
    hangup();
    view_once(&app, |view| view["last_check"]["served"] == false).await;
    let first = SeededResult::new(None);
    app.tm.seed(&first, "Failed").await;
    let answer = create(first).await;
    assert!(
        answer["name"].as_str().unwrap().starts_with("[SHOP:42]"),
        "{answer}"
    );

    // A valid change replaces it.
    let reloaded = MAPPING.replace(
        "summary = \"[{{ test_case.key }}]",
        "summary = \"RELOADED [{{ test_case.key }}]",
    );
    assert_ne!(reloaded, MAPPING);
    std::fs::write(&file, reloaded).unwrap();
    hangup();
    view_once(&app, |view| view["last_check"]["served"] == true).await;
    let second = SeededResult::new(None);
    app.tm.seed(&second, "Failed").await;
    // The preview shows the mapping in force without creating anything.
    let preview: Value = app
        .client
        .post(app.hook_url("/preview"))
        .json(&second.body())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let summary = preview["body"]["fields"]["summary"].as_str().unwrap();
    assert!(summary.starts_with("RELOADED "), "{preview}");
    assert_eq!(app.jira.creates().await.len(), 1, "only the first create");
    let answer = create(second).await;
    assert!(
        answer["name"].as_str().unwrap().starts_with("RELOADED "),
        "{answer}"
    );
    let creates = app.jira.creates().await;
    assert_eq!(creates.len(), 2);
    let sent: Value = serde_json::from_slice(&creates[1].body).unwrap();
    assert!(
        sent["fields"]["summary"]
            .as_str()
            .is_some_and(|s| s.starts_with("RELOADED ")),
        "Jira received the reloaded summary: {sent}"
    );
}

#[tokio::test]
async fn each_mapping_shows_its_last_check_and_a_refused_reload_says_why() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let app = spawn_app(AppOptions::cloud()).await;
    let file = app.mapping_file();
    std::fs::write(&file, MAPPING.replace("[jira]", "[jira]\nnot_a_key = 1")).unwrap();
    hangup();
    let refused = view_once(&app, |view| view["last_check"]["served"] == false).await;
    assert_eq!(refused["last_check"]["trigger"], "SIGHUP");
    let check = &refused["mappings"][0]["check"];
    assert_eq!(check["verdict"]["result"], "failed", "{refused:#}");
    let problem = check["verdict"]["problems"][0].as_str().unwrap();
    assert!(problem.contains("not_a_key"), "{problem}");
    assert_eq!(
        refused["mappings"][0]["route"], "shop",
        "the old mapping stays in force"
    );
    let page = app.get("/").await.text().await.unwrap();
    assert!(
        page.contains("refused; the previous mappings stay in force."),
        "{page}"
    );

    std::fs::write(&file, MAPPING).unwrap();
    hangup();
    let served = view_once(&app, |view| view["last_check"]["served"] == true).await;
    let check = &served["mappings"][0]["check"];
    assert_eq!(check["trigger"], "SIGHUP");
    assert_eq!(check["verdict"]["result"], "passed_without_jira");
}
