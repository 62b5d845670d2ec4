//! Exactly one Jira issue per failed result: concurrency, unconfirmed creates,
//! crashed instances, search lag, several replicas, repeat failures. The suite
//! runs against SQLite always and against PostgreSQL when `DATABASE_URL` is set.

use crate::helpers::*;
use futures::future::join_all;
use serde_json::Value;
use std::time::Duration;
use tm_defect_bridge::config::JiraFlavour;
use tm_defect_bridge::ledger;
use tm_defect_bridge::result_key::ResultKey;

fn key_of(seeded: &SeededResult) -> ResultKey {
    ResultKey::new(
        seeded.execution_id,
        seeded.test_case_id,
        seeded.variation_id.clone(),
    )
}

async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

#[tokio::test]
async fn fifty_concurrent_identical_requests_create_one_issue() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores(&dir).await {
        let app = spawn_app_on(AppOptions::default(), Some(store.clone())).await;
        let seeded = SeededResult::new(None);
        app.tm.seed(&seeded, "Failed").await;
        let body = seeded.body();
        let answers =
            join_all((0..50).map(|_| async { answer(app.create_defect(&body).await).await })).await;
        assert_eq!(app.jira.creates().await.len(), 1, "{store}");
        for (status, payload) in &answers {
            assert_eq!(*status, 200, "{store}: {payload}");
            assert_eq!(payload["linkLabel"], "SHOP-1", "{store}");
        }
    }
}

#[tokio::test]
async fn two_instances_sharing_postgres_create_one_issue_per_key() {
    let Some(store) = postgres_store().await else {
        return;
    };
    let jira = FakeJira::start_at(JiraFlavour::Cloud, "").await;
    let tm = FakeTestManager::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("shop.toml"),
        MAPPING.replace("[project]", "[repeat]\npolicy = \"new\"\n\n[project]"),
    )
    .unwrap();
    let mut addresses = Vec::new();
    for _ in 0..2 {
        let settings = settings(
            &jira,
            &tm,
            dir.path().to_path_buf(),
            JiraFlavour::Cloud,
            store.clone(),
        );
        addresses.push(start_bridge(settings).await);
    }
    let results: Vec<SeededResult> = (0..10).map(|_| SeededResult::new(None)).collect();
    for seeded in &results {
        tm.seed(seeded, "Failed").await;
    }
    let client = reqwest::Client::new();
    let calls = results.iter().flat_map(|seeded| {
        let addresses = &addresses;
        let client = &client;
        (0..8).map(move |i| async move {
            let response = client
                .post(format!("{}/hooks/shop/{SECRET}", addresses[i % 2]))
                .json(&seeded.body())
                .send()
                .await
                .unwrap();
            (key_of(seeded).canonical(), answer(response).await)
        })
    });
    let answers = join_all(calls).await;
    assert_eq!(
        jira.issues().len(),
        results.len(),
        "one issue per key across both replicas"
    );
    let mut by_key = std::collections::HashMap::new();
    for (key, (status, payload)) in answers {
        assert_eq!(status, 200, "{payload}");
        let issue = payload["linkLabel"].as_str().unwrap().to_owned();
        assert_eq!(
            by_key.entry(key).or_insert_with(|| issue.clone()),
            &issue,
            "every answer for a key names the same issue"
        );
    }
}

#[tokio::test]
async fn a_create_answered_with_500_is_adopted_not_repeated() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores(&dir).await {
        let app = spawn_app_on(AppOptions::default(), Some(store.clone())).await;
        let seeded = SeededResult::new(None);
        app.tm.seed(&seeded, "Failed").await;
        // Jira creates the issue, then answers 500; its search misses the issue for 1.5 s.
        app.jira.behave(|b| {
            b.fail_after_create = 1;
            b.search_lag = Duration::from_millis(1500);
        });
        let (status, first) = answer(app.create_defect(&seeded.body()).await).await;
        assert_eq!(status, 503, "{store}: {first}");
        let (status, second) = answer(app.create_defect(&seeded.body()).await).await;
        assert_eq!(status, 200, "{store}: {second}");
        assert_eq!(second["linkLabel"], "SHOP-1");
        assert_eq!(
            app.jira.creates().await.len(),
            1,
            "{store}: no second create"
        );
        assert_eq!(app.jira.issues().len(), 1);
        assert!(
            app.jira
                .received("POST", "/rest/api/3/search/jql")
                .await
                .len()
                >= 2,
            "the search was repeated while it lagged"
        );
        // The adopted issue got its link back.
        assert_eq!(
            app.jira
                .received("POST", "/rest/api/3/issue/SHOP-1/remotelink")
                .await
                .len(),
            1
        );
    }
}

#[tokio::test]
async fn a_create_that_timed_out_is_adopted_not_repeated() {
    let jira = FakeJira::start_at(JiraFlavour::DataCenter, "").await;
    let tm = FakeTestManager::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shop.toml"), MAPPING).unwrap();
    let mut settings = settings(
        &jira,
        &tm,
        dir.path().to_path_buf(),
        JiraFlavour::DataCenter,
        sqlite_store(&dir),
    );
    settings.jira.timeout_ms = 800;
    let address = start_bridge(settings).await;
    let seeded = SeededResult::new(None);
    tm.seed(&seeded, "Failed").await;
    jira.behave(|b| {
        b.slow_creates = 1;
        b.slow_create_delay = Duration::from_millis(2000);
    });
    let client = reqwest::Client::new();
    let url = format!("{address}/hooks/shop/{SECRET}");
    let (status, _) = answer(client.post(&url).json(&seeded.body()).send().await.unwrap()).await;
    assert_eq!(status, 503);
    let (status, payload) =
        answer(client.post(&url).json(&seeded.body()).send().await.unwrap()).await;
    assert_eq!(status, 200, "{payload}");
    assert_eq!(payload["linkLabel"], "SHOP-1");
    assert_eq!(jira.issues().len(), 1);
    assert_eq!(jira.creates().await.len(), 1);
}

#[tokio::test]
async fn a_crashed_instances_claim_is_adopted_by_label() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores(&dir).await {
        let app = spawn_app_on(AppOptions::default(), Some(store.clone())).await;
        let seeded = SeededResult::new(None);
        app.tm.seed(&seeded, "Failed").await;
        let key = key_of(&seeded);
        // A replica claimed the result ten minutes ago, created the issue, and died before recording it.
        let ledger = ledger::connect(&store, 1).await.unwrap().results;
        let long_ago = chrono::Utc::now() - chrono::Duration::minutes(10);
        ledger
            .claim(
                &key,
                "shop",
                "crashed-replica/1",
                long_ago,
                Duration::from_secs(120),
            )
            .await
            .unwrap();
        let orphan = app.jira.seed_issue(vec![key.label()]);
        let (status, payload) = answer(app.create_defect(&seeded.body()).await).await;
        assert_eq!(status, 200, "{store}: {payload}");
        assert_eq!(payload["linkLabel"], orphan.as_str());
        assert!(
            app.jira.creates().await.is_empty(),
            "{store}: adopted, not created"
        );
        let entry = ledger.get(&key).await.unwrap().unwrap();
        assert_eq!(entry.issue.unwrap().issue_key, orphan);
        ledger.close().await;
    }
}

#[tokio::test]
async fn an_uncertain_claim_is_adopted_even_while_search_lags() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores(&dir).await {
        let app = spawn_app_on(AppOptions::default(), Some(store.clone())).await;
        let seeded = SeededResult::new(None);
        app.tm.seed(&seeded, "Failed").await;
        let key = key_of(&seeded);
        let ledger = ledger::connect(&store, 1).await.unwrap().results;
        let now = chrono::Utc::now();
        ledger
            .claim(
                &key,
                "shop",
                "other-replica/1",
                now,
                Duration::from_secs(120),
            )
            .await
            .unwrap();
        ledger
            .mark_uncertain(&key, "other-replica/1", "HTTP 504", now)
            .await
            .unwrap();
        app.jira
            .behave(|b| b.search_lag = Duration::from_millis(1500));
        let orphan = app.jira.seed_issue(vec![key.label()]);
        let (status, payload) = answer(app.create_defect(&seeded.body()).await).await;
        assert_eq!(status, 200, "{store}: {payload}");
        assert_eq!(payload["linkLabel"], orphan.as_str());
        assert!(
            app.jira.creates().await.is_empty(),
            "{store}: the lagging search was not believed"
        );
        ledger.close().await;
    }
}

#[tokio::test]
async fn a_stale_claim_with_no_issue_in_jira_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores(&dir).await {
        let app = spawn_app_on(AppOptions::default(), Some(store.clone())).await;
        let seeded = SeededResult::new(None);
        app.tm.seed(&seeded, "Failed").await;
        let ledger = ledger::connect(&store, 1).await.unwrap().results;
        let long_ago = chrono::Utc::now() - chrono::Duration::minutes(10);
        ledger
            .claim(
                &key_of(&seeded),
                "shop",
                "crashed-replica/1",
                long_ago,
                Duration::from_secs(120),
            )
            .await
            .unwrap();
        let (status, payload) = answer(app.create_defect(&seeded.body()).await).await;
        assert_eq!(status, 200, "{store}: {payload}");
        assert_eq!(app.jira.creates().await.len(), 1);
        ledger.close().await;
    }
}

#[tokio::test]
async fn a_fresh_claim_held_elsewhere_makes_the_request_wait_then_503() {
    let jira = FakeJira::start_at(JiraFlavour::Cloud, "").await;
    let tm = FakeTestManager::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shop.toml"), MAPPING).unwrap();
    let store = sqlite_store(&dir);
    let mut settings = settings(
        &jira,
        &tm,
        dir.path().to_path_buf(),
        JiraFlavour::Cloud,
        store.clone(),
    );
    settings.defects.wait_for_winner_secs = 1;
    let address = start_bridge(settings).await;
    let seeded = SeededResult::new(None);
    tm.seed(&seeded, "Failed").await;
    let ledger = ledger::connect(&store, 1).await.unwrap().results;
    ledger
        .claim(
            &key_of(&seeded),
            "shop",
            "busy-replica/1",
            chrono::Utc::now(),
            Duration::from_secs(120),
        )
        .await
        .unwrap();
    let response = reqwest::Client::new()
        .post(format!("{address}/hooks/shop/{SECRET}"))
        .json(&seeded.body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.headers().get("retry-after").is_some());
    assert!(jira.creates().await.is_empty());
    ledger.close().await;
}

/// Two failures of the same test case in different executions.
async fn two_executions(app: &TestApp) -> (SeededResult, SeededResult) {
    let first = SeededResult::new(None);
    let mut second = SeededResult::new(None);
    second.test_case_id = first.test_case_id;
    app.tm.seed(&first, "Failed").await;
    app.tm.seed(&second, "Failed").await;
    (first, second)
}

fn with_repeat(policy: &str) -> AppOptions {
    AppOptions {
        mapping: MAPPING.replace("[project]", &format!("[repeat]\n{policy}\n\n[project]")),
        ..Default::default()
    }
}

#[tokio::test]
async fn repeat_policy_comment_adds_to_the_open_issue() {
    let app = spawn_app_with(with_repeat("policy = \"comment\"")).await;
    let (first, second) = two_executions(&app).await;
    let (_, a) = answer(app.create_defect(&first.body()).await).await;
    let (status, b) = answer(app.create_defect(&second.body()).await).await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(a["linkLabel"], "SHOP-1");
    assert_eq!(
        b["linkLabel"], "SHOP-1",
        "the open issue holds the repeat failure"
    );
    assert_eq!(app.jira.creates().await.len(), 1);
    let issue = &app.jira.issues()[0];
    assert_eq!(issue.comments.len(), 1);
    assert!(
        issue.comments[0].to_string().contains("Failed again"),
        "{}",
        issue.comments[0]
    );
    assert!(
        issue.labels.contains(&key_of(&second).label()),
        "the repeat's label is on the issue"
    );
    // Repeating the second request answers the same issue without another comment.
    let (_, again) = answer(app.create_defect(&second.body()).await).await;
    assert_eq!(again["linkLabel"], "SHOP-1");
    assert_eq!(app.jira.issues()[0].comments.len(), 1);
    // Once the issue is done, a new failure gets a new issue.
    app.jira.resolve("SHOP-1");
    let third = SeededResult {
        test_case_id: first.test_case_id,
        ..SeededResult::new(None)
    };
    app.tm.seed(&third, "Failed").await;
    let (_, c) = answer(app.create_defect(&third.body()).await).await;
    assert_eq!(c["linkLabel"], "SHOP-2");
}

#[tokio::test]
async fn repeat_policy_reopen_reopens_a_done_issue() {
    let app = spawn_app_with(with_repeat(
        "policy = \"reopen\"\nreopen_transition = \"Reopen\"",
    ))
    .await;
    let (first, second) = two_executions(&app).await;
    answer(app.create_defect(&first.body()).await).await;
    app.jira.resolve("SHOP-1");
    let (status, b) = answer(app.create_defect(&second.body()).await).await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["linkLabel"], "SHOP-1");
    assert_eq!(b["status"], "To Do", "reopened");
    let transitions = app
        .jira
        .received("POST", "/rest/api/3/issue/SHOP-1/transitions")
        .await;
    assert_eq!(transitions.len(), 1);
    let body: Value = serde_json::from_slice(&transitions[0].body).unwrap();
    assert_eq!(body["transition"]["id"], "31");
    assert_eq!(app.jira.issues()[0].comments.len(), 1);
    assert_eq!(app.jira.creates().await.len(), 1);
}

#[tokio::test]
async fn repeat_policy_new_always_creates() {
    let app = spawn_app_with(with_repeat("policy = \"new\"")).await;
    let (first, second) = two_executions(&app).await;
    let (_, a) = answer(app.create_defect(&first.body()).await).await;
    let (_, b) = answer(app.create_defect(&second.body()).await).await;
    assert_eq!(a["linkLabel"], "SHOP-1");
    assert_eq!(b["linkLabel"], "SHOP-2");
    assert!(app.jira.issues().iter().all(|i| i.comments.is_empty()));
}

#[tokio::test]
async fn reopen_without_a_transition_is_a_mapping_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.toml");
    std::fs::write(
        &path,
        MAPPING.replace("[project]", "[repeat]\npolicy = \"reopen\"\n\n[project]"),
    )
    .unwrap();
    let err = tm_defect_bridge::mapping::registry::load_file(&path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("repeat.reopen_transition"), "{err}");
}
