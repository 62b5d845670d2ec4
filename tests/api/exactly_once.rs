//! Exactly one Jira issue per failed result: concurrency, unconfirmed creates,
//! crashed instances, search lag, several replicas, repeat failures. The suite
//! runs against SQLite always and against PostgreSQL when `DATABASE_URL` is set.

use crate::support::*;
use futures::future::join_all;
use serde_json::Value;
use std::time::Duration;
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

/// Another replica's claim on `seeded`'s key in the ledger at `store`, made at `at`;
/// returns the ledger (close it at the end).
async fn claimed_elsewhere(
    store: &str,
    seeded: &SeededResult,
    owner: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> std::sync::Arc<dyn ledger::Ledger> {
    let ledger = ledger::connect(store, 1).await.unwrap().results;
    let key = key_of(seeded);
    ledger
        .claim(&key, "shop", owner, at, Duration::from_secs(120))
        .await
        .unwrap();
    if store.starts_with("postgres") {
        // PostgreSQL dates a claim by its own clock, whatever `at` the replica passed: back-date
        // the row by SQL, as a replica that claimed at `at` would have left it.
        let back = (chrono::Utc::now() - at).num_milliseconds().max(0);
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(store)
            .await
            .unwrap();
        sqlx::query(
            "UPDATE ledger_entries SET claimed_at = claimed_at - $1 * interval '1 millisecond', \
             updated_at = updated_at - $1 * interval '1 millisecond' WHERE result_key = $2",
        )
        .bind(back as f64)
        .bind(key.canonical())
        .execute(&mut conn)
        .await
        .unwrap();
    }
    ledger
}

/// Ten minutes ago: a claim this old is stale.
fn long_ago() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() - chrono::Duration::minutes(10)
}

/// The SHOP mapping with `[repeat]` holding `policy`.
fn with_repeat(policy: &str) -> String {
    MAPPING.replace("[project]", &format!("[repeat]\n{policy}\n\n[project]"))
}

#[tokio::test]
async fn fifty_concurrent_identical_requests_create_one_issue() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores(&dir).await {
        let (app, seeded) = app_with_a_failure(AppOptions::cloud().store(&store)).await;
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
    let mapping = with_repeat("policy = \"new\"");
    let app = spawn_app(AppOptions::cloud().mapping(&mapping).store(&store)).await;
    let second = start_bridge(app.settings_beside(&mapping, store)).await;
    let addresses = [app.address.clone(), second];
    let results: Vec<SeededResult> = (0..10).map(|_| SeededResult::new(None)).collect();
    for seeded in &results {
        app.tm.seed(seeded, "Failed").await;
    }
    let calls = results.iter().flat_map(|seeded| {
        let addresses = &addresses;
        let client = &app.client;
        (0..8).map(move |i| async move {
            let response = client
                .post(hook_url(&addresses[i % 2], ""))
                .json(&seeded.body())
                .send()
                .await
                .unwrap();
            (key_of(seeded).canonical(), answer(response).await)
        })
    });
    let answers = join_all(calls).await;
    assert_eq!(
        app.jira.issues().len(),
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
        let (app, seeded) = app_with_a_failure(AppOptions::cloud().store(&store)).await;
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
    let (app, seeded) = app_with_a_failure(
        AppOptions::data_center().tweak(|settings, _| settings.jira.timeout_ms = 800),
    )
    .await;
    app.jira.behave(|b| {
        b.slow_creates = 1;
        b.slow_create_delay = Duration::from_millis(2000);
    });
    let press = || {
        app.client
            .post(app.hook_url(""))
            .json(&seeded.body())
            .send()
    };
    let (status, _) = answer(press().await.unwrap()).await;
    assert_eq!(status, 503);
    let (status, payload) = answer(press().await.unwrap()).await;
    assert_eq!(status, 200, "{payload}");
    assert_eq!(payload["linkLabel"], "SHOP-1");
    assert_eq!(app.jira.issues().len(), 1);
    assert_eq!(app.jira.creates().await.len(), 1);
}

#[tokio::test]
async fn a_crashed_instances_claim_is_adopted_by_label() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores(&dir).await {
        let (app, seeded) = app_with_a_failure(AppOptions::cloud().store(&store)).await;
        let key = key_of(&seeded);
        // A replica claimed the result ten minutes ago, created the issue, and died before recording it.
        let ledger = claimed_elsewhere(&store, &seeded, "crashed-replica/1", long_ago()).await;
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
        let (app, seeded) = app_with_a_failure(AppOptions::cloud().store(&store)).await;
        let key = key_of(&seeded);
        let now = chrono::Utc::now();
        let ledger = claimed_elsewhere(&store, &seeded, "other-replica/1", now).await;
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
        let (app, seeded) = app_with_a_failure(AppOptions::cloud().store(&store)).await;
        let ledger = claimed_elsewhere(&store, &seeded, "crashed-replica/1", long_ago()).await;
        let (status, payload) = answer(app.create_defect(&seeded.body()).await).await;
        assert_eq!(status, 200, "{store}: {payload}");
        assert_eq!(app.jira.creates().await.len(), 1);
        ledger.close().await;
    }
}

#[tokio::test]
async fn a_fresh_claim_held_elsewhere_makes_the_request_wait_then_503() {
    let (app, seeded) = app_with_a_failure(
        AppOptions::cloud().tweak(|settings, _| settings.defects.wait_for_winner_secs = 1),
    )
    .await;
    let ledger = claimed_elsewhere(&app.store, &seeded, "busy-replica/1", chrono::Utc::now()).await;
    let response = app
        .client
        .post(app.hook_url(""))
        .json(&seeded.body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.headers().get("retry-after").is_some());
    assert!(app.jira.creates().await.is_empty());
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

#[tokio::test]
async fn repeat_policy_comment_adds_to_the_open_issue() {
    let app = spawn_app(AppOptions::cloud().mapping(with_repeat("policy = \"comment\""))).await;
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
    let app = spawn_app(AppOptions::cloud().mapping(with_repeat(
        "policy = \"reopen\"\nreopen_transition = \"Reopen\"",
    )))
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
    let app = spawn_app(AppOptions::cloud().mapping(with_repeat("policy = \"new\""))).await;
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
    std::fs::write(&path, with_repeat("policy = \"reopen\"")).unwrap();
    let err = tm_defect_bridge::mapping::registry::load_file(&path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("repeat.reopen_transition"), "{err}");
}
