//! Write-back end to end: Jira's status, priority, resolution and deletions
//! reach Test Manager's defect through signed webhooks and the reconcile
//! poller, on both Jira flavours, written once, newest state last. Every
//! assertion is on what the fake Test Manager received.

use crate::support::*;
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::Value;
use std::time::Duration;
use tm_defect_bridge::config::{JiraFlavour, Settings};
use tm_defect_bridge::ledger;

const BOTH: [JiraFlavour; 2] = [JiraFlavour::Cloud, JiraFlavour::DataCenter];
/// Long enough that only a test's own webhooks (and the poll at start) write.
const NO_POLLING: u64 = 3_600;

fn with_writeback(settings: &mut Settings, reconcile_secs: u64) {
    settings.writeback.webhook_secret = Some(SecretString::from(JIRA_WEBHOOK_SECRET));
    settings.writeback.reconcile_interval_secs = reconcile_secs;
    settings.writeback.reconcile_overlap_secs = 60;
}

async fn app(flavour: JiraFlavour, reconcile_secs: u64) -> TestApp {
    spawn_app(AppOptions::of(flavour).tweak(move |s, _| with_writeback(s, reconcile_secs))).await
}

/// A failed result with Test Manager defect `defect` (if any), created as a Jira issue.
async fn issue_with_defect(app: &TestApp, defect: Option<&str>) -> (SeededResult, String) {
    let mut seeded = SeededResult::new(None);
    if let Some(id) = defect {
        seeded = seeded.with_defect(id);
        app.tm.mount_defect(PROJECT_ID, id);
    }
    app.tm.seed(&seeded, "Failed").await;
    let response = app.create_defect(&seeded.body()).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let key = app.jira.issues().last().unwrap().key.clone();
    (seeded, key)
}

/// Write-back's reads of `key` (the fields it asks for), not Create Defect's or evidence's.
async fn state_reads(app: &TestApp, key: &str) -> usize {
    app.jira
        .received("GET", &format!("/issue/{key}"))
        .await
        .iter()
        .filter(|r| r.url.query().is_some_and(|q| q.contains("resolution")))
        .count()
}

fn webhook_url(app: &TestApp) -> String {
    format!("{}/jira/webhook", app.address)
}

async fn send(app: &TestApp, webhook: JiraWebhook) -> StatusCode {
    webhook.delivery().send(&webhook_url(app)).await
}

fn signed(webhook: JiraWebhook) -> JiraWebhook {
    webhook.signed_with(JIRA_WEBHOOK_SECRET)
}

/// Waits (up to `within`) until Test Manager accepted `count` defect writes; returns them.
async fn writes(app: &TestApp, count: usize, within: Duration) -> Vec<(String, Value)> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let writes = app.tm.defect_writes();
        if writes.len() >= count || tokio::time::Instant::now() > deadline {
            return writes;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What Test Manager accepted once things had `settle` to happen.
async fn writes_after(app: &TestApp, settle: Duration) -> Vec<(String, Value)> {
    tokio::time::sleep(settle).await;
    app.tm.defect_writes()
}

#[tokio::test]
async fn a_signed_webhook_writes_jiras_status_and_priority_to_the_defect() {
    for flavour in BOTH {
        let app = app(flavour, NO_POLLING).await;
        let (_, key) = issue_with_defect(&app, Some("d-1")).await;
        app.jira.set_status(&key, "In Progress", "indeterminate");
        app.jira.set_priority(&key, "Highest");

        let status = send(&app, signed(JiraWebhook::updated(&app.jira, &key))).await;
        assert_eq!(status, 200, "{flavour:?}");
        let writes = writes(&app, 1, Duration::from_secs(10)).await;
        assert_eq!(writes.len(), 1, "{flavour:?}: {writes:?}");
        assert_eq!(writes[0].0, "d-1");
        assert_eq!(
            writes[0].1,
            serde_json::json!({"status": "In Progress", "priority": "Highest"}),
            "{flavour:?}"
        );
        assert_eq!(app.tm.defect("d-1").unwrap()["status"], "In Progress");
    }
}

#[tokio::test]
async fn a_wrong_or_missing_signature_is_refused_and_writes_nothing() {
    for flavour in BOTH {
        let app = app(flavour, NO_POLLING).await;
        let (_, key) = issue_with_defect(&app, Some("d-1")).await;
        app.jira.set_status(&key, "Done", "done");

        let forged =
            JiraWebhook::updated(&app.jira, &key).signature(&format!("sha256={}", "0".repeat(64)));
        assert_eq!(send(&app, forged).await, 401, "{flavour:?}");
        let other_secret = JiraWebhook::updated(&app.jira, &key).signed_with("not-the-secret");
        assert_eq!(send(&app, other_secret).await, 401, "{flavour:?}");
        let unsigned = JiraWebhook::updated(&app.jira, &key).unsigned();
        assert_eq!(send(&app, unsigned).await, 401, "{flavour:?}");

        assert!(writes_after(&app, Duration::from_millis(800))
            .await
            .is_empty());
        assert_eq!(
            state_reads(&app, &key).await,
            0,
            "nothing was read for a refused delivery"
        );
    }
}

#[tokio::test]
async fn a_duplicated_delivery_writes_once() {
    let app = app(JiraFlavour::Cloud, NO_POLLING).await;
    let (_, key) = issue_with_defect(&app, Some("d-1")).await;
    app.jira.set_status(&key, "In Progress", "indeterminate");
    let delivery = signed(JiraWebhook::updated(&app.jira, &key)).delivery();

    let statuses = delivery.send_with_retries(&webhook_url(&app), 3).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let writes = writes_after(&app, Duration::from_secs(2)).await;
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(
        state_reads(&app, &key).await,
        1,
        "the duplicates were dropped before reading Jira"
    );
}

#[tokio::test]
async fn out_of_order_deliveries_end_on_the_newest_state() {
    for flavour in BOTH {
        let app = app(flavour, NO_POLLING).await;
        let (_, key) = issue_with_defect(&app, Some("d-1")).await;
        app.jira.set_status(&key, "In Progress", "indeterminate");
        let older = signed(JiraWebhook::updated(&app.jira, &key)).delivery();
        app.jira.set_status(&key, "Done", "done");
        let newer = signed(JiraWebhook::updated(&app.jira, &key)).delivery();

        let url = webhook_url(&app);
        let statuses = send_in_order(&url, &[&newer, &older]).await;
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
        let writes = writes_after(&app, Duration::from_secs(2)).await;
        assert!(!writes.is_empty(), "{flavour:?}");
        assert!(
            writes.iter().all(|(_, body)| body["status"] == "Done"),
            "{flavour:?}: an older state was written: {writes:?}"
        );
        assert_eq!(app.tm.defect("d-1").unwrap()["status"], "Done");
    }
}

#[tokio::test]
async fn dropped_webhooks_are_caught_up_by_the_poller() {
    for flavour in BOTH {
        let app = app(flavour, 1).await;
        let (_, key) = issue_with_defect(&app, Some("d-1")).await;
        app.jira.set_status(&key, "In Review", "indeterminate");

        let writes = writes(&app, 1, Duration::from_secs(8)).await;
        assert_eq!(writes.len(), 1, "{flavour:?}: {writes:?}");
        assert_eq!(writes[0].1["status"], "In Review");
        let polls = app.jira.search_jql().await;
        assert!(
            polls
                .iter()
                .any(|jql| jql.contains("updated >= -") && jql.contains("ORDER BY updated ASC")),
            "{flavour:?}: {polls:?}"
        );
    }
}

#[tokio::test]
async fn the_poller_pages_through_more_than_one_page() {
    for flavour in BOTH {
        let app = spawn_app(AppOptions::of(flavour).tweak(|s, _| {
            with_writeback(s, 1);
            s.writeback.page_size = 2;
        }))
        .await;
        let mut keys = Vec::new();
        for n in 0..5 {
            let (_, key) = issue_with_defect(&app, Some(&format!("d-{n}"))).await;
            keys.push(key);
        }
        for key in &keys {
            app.jira.set_status(key, "Done", "done");
        }
        let writes = writes(&app, 5, Duration::from_secs(10)).await;
        let mut defects: Vec<_> = writes.iter().map(|(id, _)| id.clone()).collect();
        defects.sort();
        defects.dedup();
        assert_eq!(defects.len(), 5, "{flavour:?}: {writes:?}");
        let pages = app.jira.searches().await;
        let paged = pages.iter().any(|body| match flavour {
            JiraFlavour::Cloud => body.get("nextPageToken").is_some(),
            JiraFlavour::DataCenter => body["startAt"].as_u64().unwrap_or(0) >= 2,
        });
        assert!(
            paged,
            "{flavour:?}: no second page was asked for: {pages:?}"
        );
    }
}

#[tokio::test]
async fn test_manager_503_and_429_are_retried_and_written_once() {
    for status in [503, 429] {
        let app = app(JiraFlavour::Cloud, NO_POLLING).await;
        let (_, key) = issue_with_defect(&app, Some("d-1")).await;
        app.jira.set_status(&key, "Done", "done");
        app.tm.fail_defect_patches(status, 4);

        assert_eq!(
            send(&app, signed(JiraWebhook::updated(&app.jira, &key))).await,
            200
        );
        let writes = writes(&app, 1, Duration::from_secs(20)).await;
        assert_eq!(writes.len(), 1, "{status}: {writes:?}");
        assert_eq!(writes[0].1["status"], "Done");
        let attempts = app.tm.defect_patches().await;
        assert!(
            attempts.len() >= 5,
            "{status}: the refusals were retried: {attempts:?}"
        );
        assert_eq!(
            writes_after(&app, Duration::from_secs(1)).await.len(),
            1,
            "{status}: written once"
        );
    }
}

#[tokio::test]
async fn a_deleted_issue_is_written_as_configured() {
    for flavour in BOTH {
        let mapping = format!("{MAPPING}\n[writeback]\ndeleted_status = \"Gone from Jira\"\ndeleted_priority = \"Low\"\n");
        let app = spawn_app(
            AppOptions::of(flavour)
                .mapping(mapping)
                .tweak(|s, _| with_writeback(s, NO_POLLING)),
        )
        .await;
        let (_, key) = issue_with_defect(&app, Some("d-1")).await;
        let gone = app.jira.delete_issue(&key);

        assert_eq!(
            send(&app, signed(JiraWebhook::deleted(&app.jira, &gone))).await,
            200
        );
        let writes = writes(&app, 1, Duration::from_secs(10)).await;
        assert_eq!(writes.len(), 1, "{flavour:?}: {writes:?}");
        assert_eq!(
            writes[0].1,
            serde_json::json!({"status": "Gone from Jira", "priority": "Low"})
        );
    }
}

#[tokio::test]
async fn a_log_without_a_test_manager_defect_writes_nothing_and_settles() {
    let app = app(JiraFlavour::DataCenter, NO_POLLING).await;
    let (seeded, key) = issue_with_defect(&app, None).await;
    app.jira.set_status(&key, "Done", "done");

    assert_eq!(
        send(&app, signed(JiraWebhook::updated(&app.jira, &key))).await,
        200
    );
    assert!(writes_after(&app, Duration::from_secs(2)).await.is_empty());
    assert!(
        app.tm.defect_patches().await.is_empty(),
        "no PATCH without a defect"
    );
    let stores = ledger::connect(&app.store, 1).await.unwrap();
    assert_eq!(
        stores.writeback.depth().await.unwrap(),
        0,
        "nothing left to retry"
    );
    let targets = stores.writeback.targets(&key).await.unwrap();
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0].key.test_case_id, seeded.test_case_id);
    assert!(
        targets[0]
            .skipped
            .as_deref()
            .is_some_and(|r| r.contains("no Test Manager defect")),
        "{targets:?}"
    );
    let reads = state_reads(&app, &key).await;
    assert_eq!(reads, 1, "read once, for the one delivery");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(state_reads(&app, &key).await, reads, "no retry loop");
}

#[tokio::test]
async fn two_replicas_on_postgresql_write_each_change_once() {
    let Some(store) = postgres_store().await else {
        eprintln!("skipping: DATABASE_URL not set");
        return;
    };
    let first = spawn_app(
        AppOptions::cloud()
            .store(&store)
            .tweak(|s, _| with_writeback(s, 1)),
    )
    .await;
    let mut second_settings = first.settings_beside(MAPPING, store.clone());
    with_writeback(&mut second_settings, 1);
    let second = start_bridge(second_settings).await;
    let (_, key) = issue_with_defect(&first, Some("d-1")).await;

    // A webhook to each replica (Jira's retry reaching the other one) and both pollers running.
    first.jira.set_status(&key, "In Progress", "indeterminate");
    let delivery = signed(JiraWebhook::updated(&first.jira, &key)).delivery();
    assert_eq!(delivery.send(&webhook_url(&first)).await, 200);
    assert_eq!(
        delivery
            .redelivery()
            .send(&format!("{second}/jira/webhook"))
            .await,
        200
    );
    let writes = writes_after(&first, Duration::from_secs(4)).await;
    assert_eq!(writes.len(), 1, "{writes:?}");

    // No webhook at all: the two pollers share the project, one writes.
    first.jira.set_status(&key, "Done", "done");
    let writes = writes_after(&first, Duration::from_secs(5)).await;
    assert_eq!(writes.len(), 2, "{writes:?}");
    assert_eq!(writes[1].1["status"], "Done");
}

#[tokio::test]
async fn a_state_older_than_the_one_written_is_never_written() {
    for flavour in BOTH {
        let app = app(flavour, NO_POLLING).await;
        let (_, key) = issue_with_defect(&app, Some("d-1")).await;
        app.jira.set_status(&key, "Done", "done");
        assert_eq!(
            send(&app, signed(JiraWebhook::updated(&app.jira, &key))).await,
            200
        );
        assert_eq!(writes(&app, 1, Duration::from_secs(10)).await.len(), 1);

        // Jira now answers a state older than the one written (a lagging read).
        app.jira.set_status(&key, "In Progress", "indeterminate");
        app.jira.backdate(&key, chrono::Duration::hours(1));
        assert_eq!(
            send(&app, signed(JiraWebhook::updated(&app.jira, &key))).await,
            200
        );
        let writes = writes_after(&app, Duration::from_secs(2)).await;
        assert_eq!(
            state_reads(&app, &key).await,
            2,
            "{flavour:?}: the second delivery was read"
        );
        assert_eq!(writes.len(), 1, "{flavour:?}: {writes:?}");
        assert_eq!(app.tm.defect("d-1").unwrap()["status"], "Done");
    }
}

#[tokio::test]
async fn the_previous_secret_and_a_path_secret_are_accepted() {
    let app = spawn_app(AppOptions::data_center().tweak(|s, _| {
        with_writeback(s, NO_POLLING);
        s.writeback.webhook_secret = Some(SecretString::from("the-new-secret"));
        s.writeback.webhook_secret_previous = Some(SecretString::from(JIRA_WEBHOOK_SECRET));
        s.writeback.webhook_path_secret = Some(SecretString::from("path-secret-9"));
    }))
    .await;
    let (_, key) = issue_with_defect(&app, Some("d-1")).await;

    app.jira.set_status(&key, "In Progress", "indeterminate");
    let previous = signed(JiraWebhook::updated(&app.jira, &key));
    assert_eq!(
        send(&app, previous).await,
        200,
        "the previous secret, while rotating"
    );
    assert_eq!(writes(&app, 1, Duration::from_secs(10)).await.len(), 1);

    app.jira.set_status(&key, "Done", "done");
    let unsigned = JiraWebhook::updated(&app.jira, &key).unsigned().delivery();
    let wrong_path = unsigned
        .send(&format!("{}/jira/webhook/not-it", app.address))
        .await;
    assert_eq!(wrong_path, 401);
    let right_path = unsigned
        .redelivery()
        .send(&format!("{}/jira/webhook/path-secret-9", app.address))
        .await;
    assert_eq!(right_path, 200);
    let writes = writes(&app, 2, Duration::from_secs(10)).await;
    assert_eq!(writes.len(), 2, "{writes:?}");
    assert_eq!(writes[1].1["status"], "Done");
}

#[tokio::test]
async fn the_sweep_finds_an_issue_deleted_without_a_webhook() {
    for flavour in BOTH {
        let app = spawn_app(AppOptions::of(flavour).tweak(|s, _| {
            with_writeback(s, 1);
            s.writeback.sweep_interval_secs = 1;
        }))
        .await;
        let (_, key) = issue_with_defect(&app, Some("d-1")).await;
        app.jira.delete_issue(&key);

        let writes = writes(&app, 1, Duration::from_secs(10)).await;
        assert_eq!(writes.len(), 1, "{flavour:?}: {writes:?}");
        assert_eq!(
            writes[0].1,
            serde_json::json!({"status": "Deleted in Jira"})
        );
        let sweeps = app.jira.search_jql().await;
        assert!(
            sweeps.iter().any(|jql| !jql.contains("updated >=")),
            "{flavour:?}: the sweep searched every bridge issue: {sweeps:?}"
        );
    }
}
