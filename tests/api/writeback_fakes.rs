//! The fakes write-back is tested against behave like Jira and Test Manager: issue
//! changes move `updated` and show in the poller's relative-minutes search, searches page
//! on both flavours, deleted issues are Jira's 404, webhook deliveries are signed and
//! redelivered like Jira's, and Test Manager's defects record and refuse PATCHes as asked.

use crate::support::*;
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tm_defect_bridge::config::JiraFlavour;
use tm_defect_bridge::tracker::jql::{bridge_issues, changed_since};
use tm_defect_bridge::writeback::delivery::signature_header;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const LABEL: &str = "tm-defect-bridge";
const BOTH: [JiraFlavour; 2] = [JiraFlavour::Cloud, JiraFlavour::DataCenter];
const STATE_FIELDS: &str = "status,priority,resolution,updated,labels";

async fn jira_with(flavour: JiraFlavour, issues: usize) -> (FakeJira, Vec<String>) {
    let jira = FakeJira::start_at(flavour, "/jira").await;
    let keys = (0..issues)
        .map(|_| jira.seed_issue(vec![LABEL.to_owned()]))
        .collect();
    (jira, keys)
}

fn rest(jira: &FakeJira) -> String {
    let version = match jira.flavour {
        JiraFlavour::Cloud => 3,
        JiraFlavour::DataCenter => 2,
    };
    format!("{}/rest/api/{version}", jira.base_url())
}

async fn read_issue(jira: &FakeJira, key: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}/issue/{key}", rest(jira)))
        .query(&[("fields", STATE_FIELDS)])
        .send()
        .await
        .unwrap()
}

/// One page of `jql` as the bridge asks for it; `cursor` is Cloud's token or Data
/// Center's `startAt`.
async fn search(jira: &FakeJira, jql: &str, fields: &[&str], size: u32, cursor: Value) -> Value {
    let (path, mut body) = match jira.flavour {
        JiraFlavour::Cloud => (
            "search/jql",
            json!({"jql": jql, "fields": fields, "maxResults": size}),
        ),
        JiraFlavour::DataCenter => (
            "search",
            json!({"jql": jql, "fields": fields, "maxResults": size, "startAt": 0}),
        ),
    };
    match (jira.flavour, cursor) {
        (_, Value::Null) => {}
        (JiraFlavour::Cloud, token) => body["nextPageToken"] = token,
        (JiraFlavour::DataCenter, start) => body["startAt"] = start,
    }
    let answer = reqwest::Client::new()
        .post(format!("{}/{path}", rest(jira)))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    answer.json().await.unwrap()
}

/// Every page's issue keys (or ids), following the flavour's cursor.
async fn all_pages(jira: &FakeJira, jql: &str, fields: &[&str], size: u32) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let page = search(jira, jql, fields, size, cursor).await;
        let issues = page["issues"].as_array().unwrap();
        let name = if fields == ["id"] { "id" } else { "key" };
        pages.push(
            issues
                .iter()
                .map(|i| i[name].as_str().unwrap().to_owned())
                .collect(),
        );
        match jira.flavour {
            JiraFlavour::Cloud => {
                assert!(page.get("total").is_none(), "Cloud's search has no total");
                if page["isLast"] == true {
                    assert!(page.get("nextPageToken").is_none());
                    return pages;
                }
                cursor = page["nextPageToken"].clone();
            }
            JiraFlavour::DataCenter => {
                let next = page["startAt"].as_u64().unwrap() + issues.len() as u64;
                if next >= page["total"].as_u64().unwrap() {
                    return pages;
                }
                cursor = json!(next);
            }
        }
    }
}

#[tokio::test]
async fn a_status_change_moves_updated_and_shows_in_the_relative_minutes_search() {
    for flavour in BOTH {
        let (jira, keys) = jira_with(flavour, 3).await;
        for key in &keys {
            jira.backdate(key, Duration::minutes(30));
        }
        let before = jira.issue_updated(&keys[1]);
        jira.set_status(&keys[1], "In Review", "indeterminate");
        let after = jira.issue_updated(&keys[1]);
        assert!(after > before, "{flavour:?}");
        assert!(
            (after - jira.now()).abs() < Duration::seconds(1),
            "stamped now"
        );
        let issue: Value = read_issue(&jira, &keys[1]).await.json().await.unwrap();
        assert_eq!(issue["fields"]["status"]["name"], "In Review");
        assert_eq!(
            issue["fields"]["status"]["statusCategory"]["key"],
            "indeterminate"
        );
        assert_eq!(issue["fields"]["updated"], jira_time(after));
        assert_eq!(issue["fields"]["resolution"], Value::Null);
        assert!(
            issue["fields"].get("summary").is_none(),
            "only the fields asked for"
        );

        let jql = changed_since("SHOP", LABEL, 17);
        assert_eq!(
            all_pages(&jira, &jql, &["status"], 50).await,
            [[keys[1].clone()]]
        );
        let an_hour = changed_since("SHOP", LABEL, 60);
        assert_eq!(
            all_pages(&jira, &an_hour, &["status"], 50).await[0].len(),
            3
        );
        // Another project or label is not the bridge's.
        let other = changed_since("OPS", LABEL, 60);
        assert!(all_pages(&jira, &other, &["status"], 50).await[0].is_empty());
        assert_eq!(jira.issue_reads_of(&keys[1]).await, 1);
        assert_eq!(jira.search_jql().await, [jql, an_hour, other]);
    }
}

#[tokio::test]
async fn every_change_is_stamped_strictly_later_and_the_clock_can_run_ahead() {
    let (jira, keys) = jira_with(JiraFlavour::Cloud, 1).await;
    let key = &keys[0];
    let mut stamps = vec![jira.issue_updated(key)];
    jira.set_priority(key, "Highest");
    stamps.push(jira.issue_updated(key));
    jira.set_resolution(key, Some("Won't Fix"));
    stamps.push(jira.issue_updated(key));
    jira.resolve(key);
    stamps.push(jira.issue_updated(key));
    assert!(stamps
        .windows(2)
        .all(|w| w[1] - w[0] >= Duration::milliseconds(1)));
    let issue = jira.issue(key).unwrap();
    assert_eq!(
        (issue.priority.as_str(), issue.status.as_str()),
        ("Highest", "Done")
    );
    assert_eq!(issue.resolution.as_deref(), Some("Done"));

    jira.skew_clock(Duration::minutes(10));
    jira.set_status(key, "Reopened", "new");
    assert!(jira.issue_updated(key) - chrono::Utc::now() > Duration::minutes(9));
    assert_eq!(
        all_pages(&jira, &changed_since("SHOP", LABEL, 1), &["status"], 50).await,
        [[key.clone()]]
    );
}

#[tokio::test]
async fn searches_page_in_the_poller_order_on_both_flavours() {
    for flavour in BOTH {
        let (jira, keys) = jira_with(flavour, 5).await;
        // Change them newest-key-first, so `updated` order differs from key order.
        for key in keys.iter().rev() {
            jira.set_priority(key, "High");
        }
        let jql = changed_since("SHOP", LABEL, 17);
        let pages = all_pages(&jira, &jql, &["status", "updated"], 2).await;
        let expected: Vec<String> = keys.iter().rev().cloned().collect();
        assert_eq!(pages.len(), 3, "{flavour:?}: {pages:?}");
        assert_eq!(pages.concat(), expected, "{flavour:?}");

        let sweep = all_pages(&jira, &bridge_issues("SHOP", LABEL), &["id"], 2).await;
        let ids: Vec<String> = keys.iter().map(|k| jira.issue(k).unwrap().id()).collect();
        assert_eq!(sweep.concat(), ids, "{flavour:?}: key order, ids only");
        assert_eq!(jira.searches().await.len(), 6);
    }
}

#[tokio::test]
async fn a_bad_page_token_or_jql_is_jiras_400() {
    let (jira, _) = jira_with(JiraFlavour::Cloud, 1).await;
    for body in [
        json!({"jql": changed_since("SHOP", LABEL, 5), "nextPageToken": "forged"}),
        json!({"jql": "project = SHOP OR labels = x"}),
    ] {
        let answer = reqwest::Client::new()
            .post(format!("{}/search/jql", rest(&jira)))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 400);
        let error: Value = answer.json().await.unwrap();
        assert_eq!(error["errors"], json!({}));
        assert_eq!(error["errorMessages"].as_array().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn a_deleted_issue_is_jiras_404_and_leaves_the_search() {
    for flavour in BOTH {
        let (jira, keys) = jira_with(flavour, 2).await;
        let gone = jira.delete_issue(&keys[0]);
        assert_eq!(gone.key, keys[0]);
        let answer = read_issue(&jira, &keys[0]).await;
        assert_eq!(answer.status(), 404);
        assert_eq!(
            answer.json::<Value>().await.unwrap(),
            json!({"errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}})
        );
        assert!(jira.issue(&keys[0]).is_none());
        let left = all_pages(&jira, &bridge_issues("SHOP", LABEL), &["status"], 50).await;
        assert_eq!(left, [[keys[1].clone()]]);
        assert_ne!(jira.seed_issue(vec![]), keys[0], "keys are not reused");
    }
}

#[tokio::test]
async fn issue_reads_can_fail_and_then_recover() {
    let (jira, keys) = jira_with(JiraFlavour::DataCenter, 1).await;
    jira.fail_issue_reads(503, 1);
    let unavailable = read_issue(&jira, &keys[0]).await;
    assert_eq!(unavailable.status(), 503);
    jira.fail_issue_reads(429, 1);
    let limited = read_issue(&jira, &keys[0]).await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "1");
    assert_eq!(read_issue(&jira, &keys[0]).await.status(), 200);
    assert_eq!(jira.issue_reads().await, 3);
}

/// A server standing in for the bridge's webhook route, recording what it received.
async fn receiver() -> (MockServer, String) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(202))
        .mount(&server)
        .await;
    let url = format!("{}/hooks/jira", server.uri());
    (server, url)
}

fn header(request: &wiremock::Request, name: &str) -> Option<String> {
    request
        .headers
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn webhooks_are_signed_like_jiras_and_redelivered_with_the_same_identifier() {
    for flavour in BOTH {
        let (jira, keys) = jira_with(flavour, 2).await;
        let (server, url) = receiver().await;
        jira.set_status(&keys[0], "Done", "done");
        let first = JiraWebhook::updated(&jira, &keys[0]).delivery();
        let statuses = first.send_with_retries(&url, 1).await;
        assert_eq!(statuses, [StatusCode::ACCEPTED, StatusCode::ACCEPTED]);

        let received = server.received_requests().await.unwrap();
        let (original, retry) = (&received[0], &received[1]);
        assert_eq!(original.body, retry.body);
        assert_eq!(
            header(original, "x-hub-signature"),
            Some(signature_header(JIRA_WEBHOOK_SECRET, &original.body))
        );
        let id = header(original, "x-atlassian-webhook-identifier");
        assert!(id.is_some());
        assert_eq!(header(retry, "x-atlassian-webhook-identifier"), id);
        assert_eq!(
            header(original, "x-atlassian-webhook-retry").as_deref(),
            Some("0")
        );
        assert_eq!(
            header(retry, "x-atlassian-webhook-retry").as_deref(),
            Some("1")
        );

        let payload: Value = serde_json::from_slice(&original.body).unwrap();
        assert_eq!(payload["webhookEvent"], "jira:issue_updated");
        assert_eq!(payload["issue"]["key"], keys[0]);
        let fields = &payload["issue"]["fields"];
        assert_eq!(fields["status"]["name"], "Done");
        assert_eq!(fields["updated"], jira_time(jira.issue_updated(&keys[0])));
        assert_eq!(fields["labels"], json!([LABEL]));
        let item = &payload["changelog"]["items"][0];
        assert_eq!(
            (&item["field"], &item["fromString"], &item["toString"]),
            (&json!("status"), &json!("To Do"), &json!("Done"))
        );
        match flavour {
            JiraFlavour::Cloud => assert!(payload["user"]["accountId"].is_string()),
            JiraFlavour::DataCenter => assert!(payload["user"]["name"].is_string()),
        }
    }
}

#[tokio::test]
async fn webhooks_can_be_forged_unsigned_reordered_or_about_deletions() {
    let (jira, keys) = jira_with(JiraFlavour::Cloud, 1).await;
    let (server, url) = receiver().await;
    jira.set_priority(&keys[0], "High");
    let older = JiraWebhook::updated(&jira, &keys[0]).delivery();
    jira.set_priority(&keys[0], "Highest");
    let newer = JiraWebhook::updated(&jira, &keys[0])
        .changelog(vec![])
        .signed_with("another-secret")
        .delivery();
    let forged = JiraWebhook::updated(&jira, &keys[0])
        .signature("sha256=00")
        .delivery();
    let unsigned = JiraWebhook::updated(&jira, &keys[0])
        .unsigned()
        .delivery()
        .without_identifier();
    let gone = jira.delete_issue(&keys[0]);
    let deleted = JiraWebhook::deleted(&jira, &gone).delivery();
    let statuses = send_in_order(&url, &[&newer, &older, &forged, &unsigned, &deleted]).await;
    assert!(statuses.iter().all(|s| *s == StatusCode::ACCEPTED));

    let received = server.received_requests().await.unwrap();
    let bodies: Vec<Value> = received
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(bodies[0]["issue"]["fields"]["priority"]["name"], "Highest");
    assert!(bodies[0].get("changelog").is_none());
    assert_eq!(
        header(&received[0], "x-hub-signature"),
        Some(signature_header("another-secret", &received[0].body))
    );
    assert_eq!(bodies[1]["changelog"]["items"][0]["toString"], "High");
    assert_eq!(
        header(&received[2], "x-hub-signature").as_deref(),
        Some("sha256=00")
    );
    assert_eq!(header(&received[3], "x-hub-signature"), None);
    assert_eq!(header(&received[3], "x-atlassian-webhook-identifier"), None);
    assert_eq!(bodies[4]["webhookEvent"], "jira:issue_deleted");
    assert_eq!(bodies[4]["issue"]["key"], keys[0]);
}

async fn patch_defect(tm: &FakeTestManager, defect: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .patch(format!(
            "{}/api/v2/{PROJECT_ID}/defects/{defect}",
            tm.base_url()
        ))
        .bearer_auth("tm-access-token")
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn get_defect(tm: &FakeTestManager, defect: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!(
            "{}/api/v2/{PROJECT_ID}/defects/{defect}",
            tm.base_url()
        ))
        .bearer_auth("tm-access-token")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn defect_patches_are_recorded_and_change_the_defect() {
    let tm = FakeTestManager::start().await;
    tm.mount_defect(PROJECT_ID, "d-1");
    let answer = patch_defect(&tm, "d-1", json!({"status": "Done", "priority": "High"})).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.json::<Value>().await.unwrap()["status"], "Done");
    let defect: Value = get_defect(&tm, "d-1").await.json().await.unwrap();
    assert_eq!(
        (&defect["status"], &defect["priority"]),
        (&json!("Done"), &json!("High"))
    );
    assert_eq!(defect["syncStatus"], "None");
    assert_eq!(get_defect(&tm, "unknown").await.status(), 404);
    assert_eq!(
        patch_defect(&tm, "unknown", json!({"status": "Done"}))
            .await
            .status(),
        404
    );
    tm.answer_defect_patches_without_content();
    assert_eq!(
        patch_defect(&tm, "d-1", json!({"status": "To Do"}))
            .await
            .status(),
        204
    );
    assert_eq!(tm.defect("d-1").unwrap()["status"], "To Do");
    assert_eq!(
        tm.defect_patches().await,
        [
            (
                "d-1".to_owned(),
                json!({"status": "Done", "priority": "High"})
            ),
            ("unknown".to_owned(), json!({"status": "Done"})),
            ("d-1".to_owned(), json!({"status": "To Do"})),
        ]
    );
    assert_eq!(tm.defect_writes().len(), 2);
}

#[tokio::test]
async fn defect_patches_can_be_refused_and_then_succeed() {
    let tm = FakeTestManager::start().await;
    tm.mount_defect(PROJECT_ID, "d-1");
    tm.mount_defect(PROJECT_ID, "d-2");
    tm.fail_defect_patches(503, 1);
    let body = json!({"status": "Done", "priority": "High"});
    assert_eq!(patch_defect(&tm, "d-1", body.clone()).await.status(), 503);
    assert_eq!(
        tm.defect("d-1").unwrap()["status"],
        "New",
        "a refused PATCH changes nothing"
    );
    assert_eq!(patch_defect(&tm, "d-1", body.clone()).await.status(), 200);
    tm.fail_defect_patches(429, 1);
    let limited = patch_defect(&tm, "d-1", body.clone()).await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "1");
    tm.forbid_defect("d-2");
    let forbidden = patch_defect(&tm, "d-2", body.clone()).await;
    assert_eq!(forbidden.status(), 403);
    assert!(forbidden.bytes().await.unwrap().is_empty());
    assert_eq!(tm.defect_patches().await.len(), 4);
    assert_eq!(tm.defect_writes(), [("d-1".to_owned(), body)]);
}

#[tokio::test]
async fn logs_carry_the_defect_id_a_test_seeds() {
    let tm = FakeTestManager::start().await;
    let cases = [
        SeededResult::new(None).with_defect("0a1b2c3d-0000-0000-0000-000000000009"),
        SeededResult::new(None).with_defect(NO_DEFECT),
        SeededResult::new(None),
    ];
    for seeded in &cases {
        tm.seed(seeded, "Failed").await;
    }
    let base = tm.base_url();
    let read = |suffix: String| {
        let url = format!("{base}/api/v2/{PROJECT_ID}/{suffix}");
        async move {
            reqwest::get(url)
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    for seeded in &cases {
        let expected = json!(seeded.defect_id);
        let listed = format!(
            "testcaselogs/testexecution/{}/paged?onlyFailed=true",
            seeded.execution_id
        );
        assert_eq!(read(listed).await["data"][0]["defectId"], expected);
        let one = format!("testcaselogs/{}", seeded.log_id);
        assert_eq!(read(one).await["defectId"], expected);
    }
}
