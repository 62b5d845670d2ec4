//! Fake Jira of either flavour. Issues are stateful (keys SHOP-1, SHOP-2, …; status,
//! priority, resolution and an `updated` stamp from the fake's [`JiraClock`]) and
//! searchable by JQL, like the real thing. Each group of endpoints is mounted by its
//! own file; tests change issues as a Jira user would ([`workflow`]), change the fake's
//! faults with [`FakeJira::behave`] and read back what it received.

mod attachments;
mod clock;
mod comments;
mod counts;
mod createmeta;
mod fields;
mod issue_fields;
mod issues;
mod jql;
mod myself;
mod received;
mod search;
mod transitions;
mod workflow;

pub use clock::{jira_time, JiraClock};
pub use counts::{seeded_issues, CountBehaviour};
pub use issue_fields::ChangeItem;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tm_defect_bridge::config::JiraFlavour;
use url::Url;
use wiremock::{MockServer, Request, ResponseTemplate};

/// The issues a fake Jira holds, shared with its responders.
pub type Issues = Arc<Mutex<Vec<FakeIssue>>>;

/// An issue the fake Jira holds.
#[derive(Debug, Clone)]
pub struct FakeIssue {
    pub key: String,
    pub labels: Vec<String>,
    pub body: Value,
    /// When it was created: Cloud's search misses it until `Behaviour::search_lag` has passed.
    pub created: std::time::Instant,
    /// Status name, e.g. `To Do`.
    pub status: String,
    /// Status category key: `new`, `indeterminate` or `done`.
    pub status_category: String,
    /// Priority name.
    pub priority: String,
    /// Resolution name; `None` while unresolved.
    pub resolution: Option<String>,
    /// Last change, from the fake's clock; strictly increases with every change.
    pub updated: DateTime<Utc>,
    /// The field changes of the latest change (a webhook's `changelog.items`);
    /// empty when it changed no tracked field (a comment, an upload).
    pub last_changes: Vec<ChangeItem>,
    /// The clock `updated` is read from.
    pub clock: Arc<JiraClock>,
    /// Comment bodies received.
    pub comments: Vec<Value>,
    /// Field edits (`PUT issue` with `fields`) received.
    pub description_updates: u32,
    /// Attachments received: file name and bytes.
    pub attachments: Vec<(String, Vec<u8>)>,
}

impl FakeIssue {
    /// An open issue just created, with no comments, edits or attachments.
    fn new(key: String, labels: Vec<String>, body: Value, clock: Arc<JiraClock>) -> Self {
        let priority = body["fields"]["priority"]["name"]
            .as_str()
            .unwrap_or("Medium")
            .to_owned();
        Self {
            key,
            labels,
            body,
            created: std::time::Instant::now(),
            status: "To Do".into(),
            status_category: "new".into(),
            priority,
            resolution: None,
            updated: clock.stamp(),
            last_changes: Vec::new(),
            clock,
            comments: Vec::new(),
            description_updates: 0,
            attachments: Vec::new(),
        }
    }
}

/// Faults and quirks the fake Jira shows, changeable while a test runs.
#[derive(Debug, Default)]
pub struct Behaviour {
    /// The search misses issues younger than this (Cloud's eventual consistency).
    pub search_lag: std::time::Duration,
    /// The next N creates are performed and then answered with a 500 HTML page.
    pub fail_after_create: u32,
    /// The next N creates are performed and then answered only after this delay.
    pub slow_creates: u32,
    /// Delay of a slow create's answer.
    pub slow_create_delay: std::time::Duration,
    /// The next N creates are held for `create_hold` before the issue is made and
    /// answered; the issue is made even if the caller went away meanwhile.
    pub held_creates: u32,
    /// How long a held create takes.
    pub create_hold: std::time::Duration,
    /// Uploads are received and stored, then answered only after this delay.
    pub slow_upload_delay: std::time::Duration,
    /// Files larger than this many bytes are refused with 413 (Jira's attachment limit).
    pub attachment_limit: Option<usize>,
    /// The next N uploads are answered with this status and not stored: 503 comes as
    /// a proxy's HTML page, anything else as Jira's JSON error body.
    pub failing_uploads: Option<(u16, u32)>,
    /// The next N comments are stored and then answered with a 502 (a lost answer).
    pub fail_after_comment: u32,
    /// The next N comments are refused with a proxy's 503 page and not stored.
    pub refuse_comments: u32,
    /// Most comments one page returns, whatever `maxResults` asks (Jira caps pages too);
    /// 0 means Jira's documented default of 100.
    pub comment_page_limit: usize,
    /// The next N `GET issue/{key}` are refused with this status: 503 comes as a
    /// proxy's HTML page, 429 with `Retry-After: 1` and no body, anything else as
    /// Jira's JSON error body. Set with [`FakeJira::fail_issue_reads`].
    pub failing_issue_reads: Option<(u16, u32)>,
}

/// Fake Jira of either flavour.
pub struct FakeJira {
    pub server: MockServer,
    pub issues: Issues,
    pub behaviour: Arc<Mutex<Behaviour>>,
    /// Path prefix the fake serves under (a context path like `/jira`).
    pub context: String,
    /// Which Jira it plays: REST API 3 and `search/jql` on Cloud, 2 and `search` on Data Center.
    pub flavour: JiraFlavour,
    /// What `updated` stamps and relative JQL dates are read from.
    pub clock: Arc<JiraClock>,
}

impl FakeJira {
    /// A fake serving under a context path, e.g. `/jira` (`""` for none).
    pub async fn start_at(flavour: JiraFlavour, context: &str) -> Self {
        let jira = Self {
            server: MockServer::start().await,
            issues: Issues::default(),
            behaviour: Arc::default(),
            context: context.to_owned(),
            flavour,
            clock: Arc::default(),
        };
        jira.mount_issues().await;
        jira.mount_comments().await;
        jira.mount_attachments().await;
        jira.mount_transitions().await;
        jira.mount_search().await;
        jira.mount_myself().await;
        jira.mount_fields().await;
        jira
    }

    /// The REST API version the flavour speaks.
    fn api_version(&self) -> &'static str {
        match self.flavour {
            JiraFlavour::Cloud => "3",
            JiraFlavour::DataCenter => "2",
        }
    }

    /// The REST API's root path, e.g. `/jira/rest/api/2`.
    fn rest(&self) -> String {
        format!("{}/rest/api/{}", self.context, self.api_version())
    }

    /// Where the bridge finds this Jira (with the context path).
    pub fn base_url(&self) -> Url {
        Url::parse(&format!("{}{}", self.server.uri(), self.context)).unwrap()
    }

    /// The issues it holds now.
    pub fn issues(&self) -> Vec<FakeIssue> {
        self.issues.lock().unwrap().clone()
    }

    /// A comment someone else wrote on `key` (Markdown text as the body).
    pub fn comment_as_user(&self, key: &str, text: &str) {
        let mut issues = self.issues.lock().unwrap();
        let issue = issues
            .iter_mut()
            .find(|i| i.key == key)
            .expect("issue exists");
        issue.comments.push(json!(text));
    }

    /// Changes the fake's faults and quirks.
    pub fn behave(&self, f: impl FnOnce(&mut Behaviour)) {
        f(&mut self.behaviour.lock().unwrap());
    }

    /// Puts an issue into Jira directly (as if an earlier, crashed attempt created it).
    /// Keys count up from SHOP-9000 and are never reused, even after a deletion.
    pub fn seed_issue(&self, labels: Vec<String>) -> String {
        let mut issues = self.issues.lock().unwrap();
        let next = issues
            .iter()
            .filter_map(|i| i.key.strip_prefix("SHOP-")?.parse::<u32>().ok())
            .filter(|n| *n >= 9000)
            .max()
            .map_or(9000, |n| n + 1);
        let key = format!("SHOP-{next}");
        issues.push(FakeIssue::new(
            key.clone(),
            labels,
            json!({"fields": {"summary": "created by an attempt that crashed", "priority": {"name": "High"}}}),
            self.clock.clone(),
        ));
        key
    }

    /// Requests received whose method and path end match.
    pub async fn received(&self, verb: &str, path_suffix: &str) -> Vec<Request> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.method.as_str() == verb && r.url.path().ends_with(path_suffix))
            .collect()
    }

    /// Every request except the readiness probe's `GET …/myself`.
    pub async fn calls_except_probes(&self) -> Vec<Request> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| !r.url.path().ends_with("/myself"))
            .collect()
    }

    /// The next remote link is refused like Jira's rate limit: 429 with `Retry-After: 1`.
    pub async fn rate_limit_next_remote_link(&self) {
        wiremock::Mock::given(wiremock::matchers::method("POST"))
            .and(wiremock::matchers::path_regex("/remotelink$"))
            .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
            .with_priority(1)
            .up_to_n_times(1)
            .mount(&self.server)
            .await;
    }

    /// Requests that create issues.
    pub async fn creates(&self) -> Vec<Request> {
        self.received("POST", "/issue").await
    }
}

/// Finds the issue named in the path (`…/issue/{key}[/…]`) and applies `f`, or answers 404 like Jira.
fn with_issue(
    issues: &Issues,
    request: &Request,
    f: impl FnOnce(&mut FakeIssue, &Request) -> ResponseTemplate,
) -> ResponseTemplate {
    let segments: Vec<&str> = request.url.path().split('/').collect();
    let key = segments
        .iter()
        .position(|s| *s == "issue")
        .and_then(|i| segments.get(i + 1))
        .copied()
        .unwrap_or_default();
    let mut issues = issues.lock().unwrap();
    match issues.iter_mut().find(|i| i.key == key) {
        None => ResponseTemplate::new(404).set_body_json(
            json!({"errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}}),
        ),
        Some(issue) => f(issue, request),
    }
}
