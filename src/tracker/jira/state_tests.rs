//! Tests of the write-back reads (`issue_state`, `search_states`, `search_keys`)
//! against a fake Jira of either flavour.
//!
//! The fake behaves as Atlassian's documentation describes the real ones: Cloud pages
//! `search/jql` by an opaque `nextPageToken`, says `isLast` and sends no
//! `total`, refuses tokens it did not issue, and answers only ids when only
//! ids are asked for; Data Center pages `search` by `startAt`, caps the page
//! size it applies and answers `total`; both check credentials and answer a
//! missing issue with 404 and Jira's error body. Tests assert what it received.

use super::*;
use crate::outbound::RetryPolicy;
use crate::tracker::{DefectTracker, PageCursor, StatusCategory};
use chrono::{TimeZone, Utc};
use secrecy::SecretString;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const EMAIL: &str = "bot@example.com";
const TOKEN: &str = "jira-token";
/// `EMAIL:TOKEN` in base64, as Basic auth sends it.
const BASIC: &str = "Ym90QGV4YW1wbGUuY29tOmppcmEtdG9rZW4=";
/// The page size the fake Data Center applies at most (its `jira.search.views.default.max`).
const DC_CAP: usize = 3;

fn updated(n: usize) -> String {
    let at =
        Utc.with_ymd_and_hms(2026, 12, 6, 5, 0, 0).unwrap() + chrono::Duration::minutes(n as i64);
    at.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

/// Issue `n` as Jira answers it with the fields asked for (`fields: ["id"]` gets the
/// id alone on Cloud, id and key on Data Center).
fn issue(n: usize, flavour: JiraFlavour, fields: &[Value]) -> Value {
    let id = format!("{}", 10_000 + n);
    if fields == [json!("id")] {
        return match flavour {
            JiraFlavour::Cloud => json!({"id": id}),
            JiraFlavour::DataCenter => json!({"id": id, "key": format!("SHOP-{n}"), "self": "x"}),
        };
    }
    let category = ["new", "indeterminate", "done"][(n + 2) % 3];
    json!({
        "id": id, "key": format!("SHOP-{n}"), "self": format!("https://jira/rest/api/2/issue/{id}"),
        "fields": {
            "status": {"name": format!("Status {n}"), "statusCategory": {"key": category}},
            "priority": {"name": "High"},
            "resolution": if category == "done" { json!({"name": "Fixed"}) } else { Value::Null },
            "updated": updated(n),
            "labels": ["tm-bridge"]
        }
    })
}

fn authorised(flavour: JiraFlavour, request: &Request) -> bool {
    let header = request
        .headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    match flavour {
        JiraFlavour::Cloud => header == format!("Basic {BASIC}"),
        JiraFlavour::DataCenter => header == format!("Bearer {TOKEN}"),
    }
}

fn unauthorised() -> ResponseTemplate {
    // Jira's edge answers 401 with an empty body.
    ResponseTemplate::new(401)
}

fn jira_error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"errorMessages": [message], "errors": {}}))
}

struct Fake {
    server: MockServer,
    flavour: JiraFlavour,
}

impl Fake {
    /// A Jira of `flavour` whose search selects issues `1..=count`.
    async fn start(flavour: JiraFlavour, count: usize) -> Self {
        let server = MockServer::start().await;
        let search = match flavour {
            JiraFlavour::Cloud => "/rest/api/3/search/jql",
            JiraFlavour::DataCenter => "/rest/api/2/search",
        };
        Mock::given(method("POST"))
            .and(path(search))
            .respond_with(move |request: &Request| {
                if !authorised(flavour, request) {
                    return unauthorised();
                }
                let body: Value = serde_json::from_slice(&request.body).unwrap();
                let fields = body["fields"].as_array().cloned().unwrap_or_default();
                let asked = body["maxResults"].as_u64().unwrap_or(50) as usize;
                match flavour {
                    JiraFlavour::Cloud => {
                        let start = match body.get("nextPageToken") {
                            None => 0,
                            Some(token) => match token
                                .as_str()
                                .and_then(|t| t.strip_prefix("opaque-"))
                                .and_then(|t| t.parse::<usize>().ok())
                            {
                                Some(start) => start,
                                None => {
                                    return jira_error(
                                        400,
                                        "The provided next page token is invalid or expired.",
                                    )
                                }
                            },
                        };
                        let end = (start + asked).min(count);
                        let issues: Vec<Value> = (start + 1..=end)
                            .map(|n| issue(n, flavour, &fields))
                            .collect();
                        let mut page = json!({"issues": issues, "isLast": end >= count});
                        if end < count {
                            page["nextPageToken"] = json!(format!("opaque-{end}"));
                        }
                        ResponseTemplate::new(200).set_body_json(page)
                    }
                    JiraFlavour::DataCenter => {
                        let start = body["startAt"].as_u64().unwrap_or(0) as usize;
                        let size = asked.min(DC_CAP);
                        let end = (start + size).min(count);
                        let issues: Vec<Value> = (start + 1..=end)
                            .map(|n| issue(n, flavour, &fields))
                            .collect();
                        ResponseTemplate::new(200).set_body_json(json!({
                            "expand": "schema,names", "startAt": start, "maxResults": size,
                            "total": count, "issues": issues
                        }))
                    }
                }
            })
            .mount(&server)
            .await;
        Self { server, flavour }
    }

    fn tracker(&self, policy: RetryPolicy) -> JiraTracker {
        let connection = JiraConnection::new(
            self.flavour,
            url::Url::parse(&self.server.uri()).unwrap(),
            None,
            Some(EMAIL.into()),
            SecretString::from(TOKEN),
        );
        JiraTracker::new(connection, reqwest::Client::new(), Duration::from_secs(60))
            .unwrap()
            .with_outbound(Arc::new(Upstream::new("Jira", policy, 4)))
    }

    fn issue_path(&self, key: &str) -> String {
        let version = match self.flavour {
            JiraFlavour::Cloud => 3,
            JiraFlavour::DataCenter => 2,
        };
        format!("/rest/api/{version}/issue/{key}")
    }

    /// Bodies of the searches the fake received, in order.
    async fn searches(&self) -> Vec<Value> {
        self.server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.url.path().contains("/search"))
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect()
    }
}

fn retrying() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        total_budget: Duration::from_secs(5),
    }
}

#[tokio::test]
async fn cloud_states_page_by_the_token_the_fake_issued() {
    let fake = Fake::start(JiraFlavour::Cloud, 5).await;
    let tracker = fake.tracker(RetryPolicy::once());
    let mut cursor = None;
    let mut keys = Vec::new();
    let mut pages = 0;
    loop {
        let page = tracker
            .search_states("project = \"SHOP\"", cursor, 2)
            .await
            .unwrap();
        pages += 1;
        keys.extend(page.issues.iter().map(|i| i.key.clone()));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(keys, ["SHOP-1", "SHOP-2", "SHOP-3", "SHOP-4", "SHOP-5"]);
    let sent = fake.searches().await;
    assert_eq!(sent.len(), 3);
    assert!(sent[0].get("nextPageToken").is_none());
    assert_eq!(sent[1]["nextPageToken"], "opaque-2");
    assert_eq!(sent[2]["nextPageToken"], "opaque-4");
    for body in &sent {
        assert_eq!(body["jql"], "project = \"SHOP\"");
        assert_eq!(body["maxResults"], 2);
        assert_eq!(
            body["fields"],
            json!(["status", "priority", "resolution", "updated", "labels"])
        );
        assert!(body.get("startAt").is_none(), "{body}");
    }
}

#[tokio::test]
async fn cloud_states_carry_every_field() {
    let fake = Fake::start(JiraFlavour::Cloud, 3).await;
    let page = fake
        .tracker(RetryPolicy::once())
        .search_states("x", None, 50)
        .await
        .unwrap();
    assert!(page.next.is_none());
    let done = &page.issues[2];
    assert_eq!(done.id, "10003");
    assert_eq!(done.status, "Status 3");
    assert_eq!(done.status_category, StatusCategory::Done);
    assert_eq!(done.resolution.as_deref(), Some("Fixed"));
    assert_eq!(done.priority.as_deref(), Some("High"));
    assert_eq!(done.labels, ["tm-bridge"]);
    assert_eq!(
        done.updated,
        Utc.with_ymd_and_hms(2026, 12, 6, 5, 3, 0).unwrap()
    );
    assert_eq!(page.issues[0].resolution, None);
}

#[tokio::test]
async fn cloud_keys_ask_for_ids_in_large_pages() {
    let fake = Fake::start(JiraFlavour::Cloud, 7).await;
    let tracker = fake.tracker(RetryPolicy::once());
    let first = tracker.search_keys("x", None, 4).await.unwrap();
    let ids: Vec<&str> = first.issues.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["10001", "10002", "10003", "10004"]);
    assert!(first.issues.iter().all(|i| i.key.is_none()));
    let second = tracker.search_keys("x", first.next, 4).await.unwrap();
    assert_eq!(second.issues.len(), 3);
    assert!(second.next.is_none());
    // Sizes beyond Cloud's caps are clamped: 5000 for ids, 100 with fields.
    tracker.search_keys("x", None, 20_000).await.unwrap();
    tracker.search_states("x", None, 1000).await.unwrap();
    let sent = fake.searches().await;
    assert_eq!(sent[0]["fields"], json!(["id"]));
    assert_eq!(sent[1]["nextPageToken"], "opaque-4");
    assert_eq!(sent[2]["maxResults"], 5000);
    assert_eq!(sent[3]["maxResults"], 100);
}

#[tokio::test]
async fn data_center_pages_by_start_at_until_the_total() {
    let fake = Fake::start(JiraFlavour::DataCenter, 7).await;
    let tracker = fake.tracker(RetryPolicy::once());
    let mut cursor = None;
    let mut keys = Vec::new();
    loop {
        // Asks for 5; the fake applies at most 3 per page, as an admin cap would.
        let page = tracker.search_states("x", cursor, 5).await.unwrap();
        keys.extend(page.issues.into_iter().map(|i| i.key));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(keys.len(), 7);
    assert_eq!(keys.last().map(String::as_str), Some("SHOP-7"));
    let starts: Vec<u64> = fake
        .searches()
        .await
        .iter()
        .map(|b| b["startAt"].as_u64().unwrap())
        .collect();
    assert_eq!(starts, [0, 3, 6]);

    let keys = tracker
        .search_keys("x", Some(PageCursor::StartAt(6)), 5000)
        .await
        .unwrap();
    assert_eq!(keys.issues.len(), 1);
    assert_eq!(keys.issues[0].key.as_deref(), Some("SHOP-7"));
    assert!(keys.next.is_none());
    let last = fake.searches().await.pop().unwrap();
    assert_eq!(last["maxResults"], 1000);
    assert_eq!(last["fields"], json!(["id"]));
}

#[tokio::test]
async fn a_missing_issue_is_none() {
    let fake = Fake::start(JiraFlavour::Cloud, 0).await;
    Mock::given(method("GET"))
        .and(path(fake.issue_path("SHOP-9")))
        .respond_with(jira_error(
            404,
            "Issue does not exist or you do not have permission to see it.",
        ))
        .mount(&fake.server)
        .await;
    let tracker = fake.tracker(retrying());
    assert_eq!(tracker.issue_state("SHOP-9").await.unwrap(), None);
    // A 404 is an answer, not a failure: asked once.
    assert_eq!(fake.server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn issue_state_reads_the_fields_it_needs() {
    let fake = Fake::start(JiraFlavour::DataCenter, 0).await;
    let flavour = fake.flavour;
    Mock::given(method("GET"))
        .and(path(fake.issue_path("SHOP-2")))
        .respond_with(move |request: &Request| {
            if !authorised(flavour, request) {
                return unauthorised();
            }
            ResponseTemplate::new(200).set_body_json(issue(2, flavour, &[]))
        })
        .mount(&fake.server)
        .await;
    let state = fake
        .tracker(RetryPolicy::once())
        .issue_state("SHOP-2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.key, "SHOP-2");
    assert_eq!(state.status_category, StatusCategory::Indeterminate);
    assert_eq!(
        state.updated,
        Utc.with_ymd_and_hms(2026, 12, 6, 5, 2, 0).unwrap()
    );
    let request = &fake.server.received_requests().await.unwrap()[0];
    let fields: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
    assert_eq!(
        fields,
        [(
            "fields".to_owned(),
            "status,priority,resolution,updated,labels".to_owned()
        )]
    );
}

#[tokio::test]
async fn rate_limited_read_waits_for_retry_after_then_succeeds() {
    let fake = Fake::start(JiraFlavour::Cloud, 0).await;
    let flavour = fake.flavour;
    Mock::given(method("GET"))
        .and(path(fake.issue_path("SHOP-1")))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&fake.server)
        .await;
    Mock::given(method("GET"))
        .and(path(fake.issue_path("SHOP-1")))
        .respond_with(move |_: &Request| {
            ResponseTemplate::new(200).set_body_json(issue(1, flavour, &[]))
        })
        .with_priority(2)
        .mount(&fake.server)
        .await;
    let started = Instant::now();
    let state = fake
        .tracker(retrying())
        .issue_state("SHOP-1")
        .await
        .unwrap();
    assert_eq!(state.map(|s| s.key).as_deref(), Some("SHOP-1"));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After is a floor"
    );
    assert_eq!(fake.server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn rate_limiting_that_lasts_is_reported_as_such() {
    let fake = Fake::start(JiraFlavour::DataCenter, 0).await;
    Mock::given(method("POST"))
        .and(path("/rest/api/2/search"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .with_priority(1)
        .mount(&fake.server)
        .await;
    let error = fake
        .tracker(retrying())
        .search_keys("x", None, 10)
        .await
        .unwrap_err();
    assert!(error.is_transient());
    assert!(matches!(error, TrackerError::RateLimited { .. }), "{error}");
    assert_eq!(fake.searches().await.len(), 3);
}

#[tokio::test]
async fn a_token_jira_no_longer_accepts_is_refused_not_retried() {
    let fake = Fake::start(JiraFlavour::Cloud, 5).await;
    let error = fake
        .tracker(retrying())
        .search_states("x", Some(PageCursor::Token("stale".into())), 2)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, TrackerError::Rejected { status: 400, detail, .. } if detail.contains("token")),
        "{error}"
    );
    assert_eq!(fake.searches().await.len(), 1);
}
