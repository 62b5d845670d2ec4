//! `spawn_app`, and fakes of Test Manager and Jira that behave like the real
//! services as REFERENCE.md describes them (status codes, error bodies, paging).

use secrecy::SecretString;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use tm_defect_bridge::config::{
    AuthSettings, DefectSettings, JiraFlavour, JiraSettings, KpiSettings, MappingsSettings,
    OutboundSettings, ServerSettings, Settings, StoreSettings, TestManagerSettings,
};
use tm_defect_bridge::startup::Application;
use url::Url;
use uuid::Uuid;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const PROJECT_ID: &str = "6c1f0b4e-3f7a-4b8e-9a51-2f0c8d7e1a42";
pub const SECRET: &str = "hook-secret-1234";
pub const JIRA_TOKEN: &str = "jira-token-abcdef";
pub const TM_SECRET: &str = "tm-client-secret-xyz";
pub const TM_PREFIX: &str = "/org/tenant/testmanager_";

/// A Test Manager result the fake knows.
#[derive(Clone)]
pub struct SeededResult {
    pub execution_id: Uuid,
    pub test_case_id: Uuid,
    pub variation_id: Option<String>,
    pub log_id: Uuid,
}

impl SeededResult {
    pub fn new(variation: Option<&str>) -> Self {
        Self {
            execution_id: Uuid::new_v4(),
            test_case_id: Uuid::new_v4(),
            variation_id: variation.map(Into::into),
            log_id: Uuid::new_v4(),
        }
    }

    pub fn body(&self) -> Value {
        json!({
            "testExecutionId": self.execution_id,
            "testCaseId": self.test_case_id,
            "variationId": self.variation_id,
            "linkToTestCaseLog": format!("https://tm.example.com/SHOP/testcaselog/{}", self.log_id),
        })
    }
}

/// Fake Test Manager: OAuth token endpoint plus the v2 REST endpoints.
pub struct FakeTestManager {
    pub server: MockServer,
}

impl FakeTestManager {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/org/identity_/connect/token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": "tm-access-token", "expires_in": 3600, "token_type": "Bearer"
            })))
            .mount(&server)
            .await;
        Self { server }
    }

    pub fn base_url(&self) -> Url {
        Url::parse(&format!("{}{TM_PREFIX}", self.server.uri())).unwrap()
    }

    fn api(suffix: &str) -> String {
        format!("{TM_PREFIX}/api/v2/{PROJECT_ID}/{suffix}")
    }

    /// Seeds a result whose latest run has `result` ("Failed" or "Passed").
    pub async fn seed(&self, seeded: &SeededResult, result: &str) {
        self.seed_with(
            seeded,
            result,
            "Checkout with an expired card",
            "Expected 'Card declined' but found 'Thank you'",
        )
        .await;
    }

    /// Seeds a result whose test case is called `name` and whose failed assertion says `message`.
    pub async fn seed_with(&self, seeded: &SeededResult, result: &str, name: &str, message: &str) {
        let log = json!({
            "id": seeded.log_id, "testCaseId": seeded.test_case_id, "testExecutionId": seeded.execution_id,
            "variationId": seeded.variation_id, "result": result, "hasError": false,
            "executionStart": "2026-11-27T02:00:00Z", "executionEnd": "2026-11-27T02:01:00Z",
            "robotName": "robot-7", "hostMachineName": "WIN-TEST-01", "executedBy": "robot@example.com",
            "testCase": {"objKey": "SHOP:42", "name": "Checkout with an expired card"}
        });
        let paged = |only_failed: bool| {
            let data = if only_failed && result != "Failed" {
                vec![]
            } else {
                vec![log.clone()]
            };
            let n = data.len();
            json!({"data": data, "paging": {"total": n, "page": 1, "pages": 1, "pageSize": 100, "returned": n}})
        };
        let exec_path = Self::api(&format!(
            "testcaselogs/testexecution/{}/paged",
            seeded.execution_id
        ));
        Mock::given(method("GET"))
            .and(path(exec_path.clone()))
            .and(wiremock::matchers::query_param("onlyFailed", "true"))
            .respond_with(ResponseTemplate::new(200).set_body_json(paged(true)))
            .with_priority(1)
            .mount(&self.server)
            .await;
        Mock::given(method("GET"))
            .and(path(exec_path))
            .respond_with(ResponseTemplate::new(200).set_body_json(paged(false)))
            .with_priority(2)
            .mount(&self.server)
            .await;
        self.get(
            &format!("testcases/{}", seeded.test_case_id),
            json!({"id": seeded.test_case_id, "objKey": "SHOP:42", "name": name, "description": "Cards past their date are refused.", "labels": ["checkout"]}),
        )
        .await;
        self.get(
            &format!("testexecutions/{}", seeded.execution_id),
            json!({"id": seeded.execution_id, "name": "Nightly regression", "executionType": "Automated"}),
        )
        .await;
        self.get(
            &format!("testcaselogs/{}/assertions", seeded.log_id),
            json!([
                {"id": Uuid::new_v4(), "testCaseLogId": seeded.log_id, "message": message, "payload": "expected=Card declined", "hasScreenshot": true, "succeeded": false, "screenshotFileName": "assert-1.png", "screenshotFileSize": 1234},
                {"id": Uuid::new_v4(), "testCaseLogId": seeded.log_id, "message": "Page loaded", "hasScreenshot": false, "succeeded": true}
            ]),
        )
        .await;
        self.get(
            &format!("testcaselogs/{}/assertions/markdown", seeded.log_id),
            json!("| Assertion | Result |\n|---|---|\n| Card declined | Failed |"),
        )
        .await;
        self.get(
            &format!("testcaselogs/{}/robotlogs/info", seeded.log_id),
            json!({"errors": 1, "warnings": 0}),
        )
        .await;
    }

    /// Serves evidence of `seeded`'s log: every failed assertion's screenshot, the robot log
    /// and the listed attachments `(id, file name, bytes)`.
    pub async fn seed_evidence(
        &self,
        seeded: &SeededResult,
        screenshot: &[u8],
        robot_log: &[u8],
        attachments: &[(&str, &str, Vec<u8>)],
    ) {
        Mock::given(method("GET"))
            .and(path_regex(format!(
                "^{}$",
                Self::api(&format!(
                    "testcaselogartifacts/{}/assertions/[^/]+/downloadscreenshot",
                    seeded.log_id
                ))
            )))
            .respond_with(ResponseTemplate::new(200).set_body_raw(screenshot.to_vec(), "image/png"))
            .mount(&self.server)
            .await;
        Mock::given(method("GET"))
            .and(path(Self::api(&format!(
                "testcaselogs/{}/logs",
                seeded.log_id
            ))))
            .respond_with(ResponseTemplate::new(200).set_body_raw(
                robot_log.to_vec(),
                if robot_log.starts_with(b"[") || robot_log.starts_with(b"{") {
                    "application/json; charset=utf-8"
                } else {
                    "text/plain"
                },
            ))
            .mount(&self.server)
            .await;
        let listed: Vec<Value> = attachments
            .iter()
            .map(|(id, name, bytes)| json!({"id": id, "fileName": name, "size": bytes.len()}))
            .collect();
        self.get(
            &format!("attachments/testCaseLog/{}/all", seeded.log_id),
            json!(listed),
        )
        .await;
        for (id, _, bytes) in attachments {
            Mock::given(method("GET"))
                .and(path(Self::api(&format!("attachments/{id}/download"))))
                .respond_with(
                    ResponseTemplate::new(200)
                        .set_body_raw(bytes.clone(), "application/octet-stream"),
                )
                .mount(&self.server)
                .await;
        }
    }

    async fn get(&self, suffix: &str, body: Value) {
        Mock::given(method("GET"))
            .and(path(Self::api(suffix)))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&self.server)
            .await;
    }
}

/// An issue the fake Jira holds.
#[derive(Debug, Clone)]
pub struct FakeIssue {
    pub key: String,
    pub labels: Vec<String>,
    pub body: Value,
    /// When it was created: Cloud's search misses it until `Behaviour::search_lag` has passed.
    pub created: std::time::Instant,
    /// Status category `done`?
    pub done: bool,
    /// Comment bodies received.
    pub comments: Vec<Value>,
    /// Field edits (`PUT issue` with `fields`) received.
    pub description_updates: u32,
    /// Attachments received: file name and bytes.
    pub attachments: Vec<(String, Vec<u8>)>,
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
}

/// Fake Jira of either flavour. Creates are stateful (keys SHOP-1, SHOP-2, …)
/// and searchable by label, like the real thing.
pub struct FakeJira {
    pub server: MockServer,
    pub issues: Arc<Mutex<Vec<FakeIssue>>>,
    pub behaviour: Arc<Mutex<Behaviour>>,
    /// Path prefix the fake serves under (a context path like `/jira`).
    pub context: String,
}

struct CreateResponder {
    issues: Arc<Mutex<Vec<FakeIssue>>>,
    behaviour: Arc<Mutex<Behaviour>>,
    next: AtomicU32,
    base: String,
    api: &'static str,
}

impl Respond for CreateResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return ResponseTemplate::new(400)
                .set_body_json(json!({"errorMessages": ["Unexpected character"], "errors": {}}));
        };
        if body["fields"]["summary"].as_str().is_none_or(str::is_empty) {
            return ResponseTemplate::new(400)
                .set_body_json(json!({"errorMessages": [], "errors": {"summary": "You must specify a summary of the issue."}}));
        }
        let n = self.next.fetch_add(1, Ordering::SeqCst) + 1;
        let key = format!("SHOP-{n}");
        let labels = body["fields"]["labels"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|l| l.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        self.issues.lock().unwrap().push(FakeIssue {
            key: key.clone(),
            labels,
            body,
            created: std::time::Instant::now(),
            done: false,
            comments: Vec::new(),
            description_updates: 0,
            attachments: Vec::new(),
        });
        let mut behaviour = self.behaviour.lock().unwrap();
        if behaviour.fail_after_create > 0 {
            behaviour.fail_after_create -= 1;
            return ResponseTemplate::new(500)
                .set_body_string("<html><body><h1>500 Internal Server Error</h1></body></html>");
        }
        let answer = ResponseTemplate::new(201).set_body_json(json!({
            "id": format!("{}", 10000 + n), "key": key, "self": format!("{}/rest/api/{}/issue/{}", self.base, self.api, 10000 + n)
        }));
        if behaviour.slow_creates > 0 {
            behaviour.slow_creates -= 1;
            return answer.set_delay(behaviour.slow_create_delay);
        }
        answer
    }
}

struct SearchResponder {
    issues: Arc<Mutex<Vec<FakeIssue>>>,
    behaviour: Arc<Mutex<Behaviour>>,
    flavour: JiraFlavour,
}

impl Respond for SearchResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let jql = body["jql"].as_str().unwrap_or_default().to_owned();
        let lag = self.behaviour.lock().unwrap().search_lag;
        let issues = self.issues.lock().unwrap();
        let found: Vec<Value> = issues
            .iter()
            .filter(|i| i.created.elapsed() >= lag)
            .filter(|i| {
                i.labels
                    .iter()
                    .any(|l| jql.contains(&format!("labels = \"{l}\"")))
            })
            .map(issue_json)
            .collect();
        match self.flavour {
            JiraFlavour::Cloud => {
                ResponseTemplate::new(200).set_body_json(json!({"issues": found, "isLast": true}))
            }
            JiraFlavour::DataCenter => {
                let total = found.len();
                ResponseTemplate::new(200).set_body_json(
                    json!({"issues": found, "startAt": 0, "maxResults": 10, "total": total}),
                )
            }
        }
    }
}

/// An issue as Jira answers it with `fields=summary,status,priority`.
fn issue_json(issue: &FakeIssue) -> Value {
    let (status, category) = if issue.done {
        ("Done", "done")
    } else {
        ("To Do", "new")
    };
    json!({
        "id": format!("{}", 10000 + issue.key.trim_start_matches("SHOP-").parse::<u32>().unwrap_or(0)),
        "key": issue.key,
        "fields": {
            "summary": issue.body["fields"]["summary"],
            "description": issue.body["fields"]["description"],
            "status": {"name": status, "statusCategory": {"key": category, "name": status}},
            "priority": {"name": issue.body["fields"]["priority"]["name"].as_str().unwrap_or("Medium")},
            "attachment": issue.attachments.iter().enumerate().map(|(i, (name, bytes))| json!({
                "id": format!("{}", 30000 + i), "filename": name, "size": bytes.len(),
                "author": {"accountId": "5b10", "displayName": "Bridge"}
            })).collect::<Vec<_>>()
        }
    })
}

/// One part of a `multipart/form-data` body.
#[derive(Debug, Clone)]
pub struct FormPart {
    pub name: String,
    pub file_name: Option<String>,
    pub bytes: Vec<u8>,
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > haystack.len() {
        return None;
    }
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Parses a `multipart/form-data` request body (binary-safe), or `None` if malformed.
pub fn parse_multipart(request: &Request) -> Option<Vec<FormPart>> {
    let content_type = request.headers.get("content-type")?.to_str().ok()?;
    let boundary = content_type.split("boundary=").nth(1)?.trim_matches('"');
    let delimiter = format!("--{boundary}").into_bytes();
    let body = &request.body;
    let mut parts = Vec::new();
    let mut at = find(body, &delimiter, 0)? + delimiter.len();
    loop {
        if body[at..].starts_with(b"--") {
            return Some(parts);
        }
        let head_start = at + 2;
        let head_end = find(body, b"\r\n\r\n", head_start)?;
        let head = String::from_utf8_lossy(&body[head_start..head_end]).to_string();
        let next = find(body, &delimiter, head_end + 4)?;
        let bytes = body[head_end + 4..next - 2].to_vec();
        let attr = |key: &str| {
            head.split(';')
                .map(str::trim)
                .find_map(|kv| kv.strip_prefix(&format!("{key}=\"")))
                .and_then(|v| v.split('"').next())
                .map(str::to_owned)
        };
        parts.push(FormPart {
            name: attr("name")?,
            file_name: attr("filename"),
            bytes,
        });
        at = next + delimiter.len();
    }
}

/// Finds the issue named in the path (`…/issue/{key}[/…]`) and applies `f`, or answers 404 like Jira.
fn with_issue(
    issues: &Arc<Mutex<Vec<FakeIssue>>>,
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

impl FakeJira {
    /// A fake serving under a context path, e.g. `/jira`.
    pub async fn start_at(flavour: JiraFlavour, context: &str) -> Self {
        let server = MockServer::start().await;
        let issues = Arc::new(Mutex::new(Vec::new()));
        let behaviour = Arc::new(Mutex::new(Behaviour::default()));
        let api = match flavour {
            JiraFlavour::Cloud => "3",
            JiraFlavour::DataCenter => "2",
        };
        let rest = format!("{context}/rest/api/{api}");
        Mock::given(method("POST"))
            .and(path(format!("{rest}/issue")))
            .respond_with(CreateResponder {
                issues: issues.clone(),
                behaviour: behaviour.clone(),
                next: AtomicU32::new(0),
                base: server.uri(),
                api,
            })
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path_regex(format!(
                "^{rest}/issue/[A-Z]+-[0-9]+/remotelink$"
            )))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 1, "self": "x"})))
            .mount(&server)
            .await;
        let known = issues.clone();
        Mock::given(method("GET"))
            .and(path_regex(format!("^{rest}/issue/[A-Z]+-[0-9]+$")))
            .respond_with(move |request: &Request| {
                with_issue(&known, request, |issue, _| {
                    ResponseTemplate::new(200).set_body_json(issue_json(issue))
                })
            })
            .mount(&server)
            .await;
        let known = issues.clone();
        Mock::given(method("PUT"))
            .and(path_regex(format!("^{rest}/issue/[A-Z]+-[0-9]+$")))
            .respond_with(move |request: &Request| {
                with_issue(&known, request, |issue, request| {
                    let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
                    for op in body["update"]["labels"].as_array().into_iter().flatten() {
                        if let Some(label) = op["add"].as_str() {
                            if !issue.labels.iter().any(|l| l == label) {
                                issue.labels.push(label.to_owned());
                            }
                        }
                    }
                    if let Some(fields) = body["fields"].as_object() {
                        for (name, value) in fields {
                            issue.body["fields"][name] = value.clone();
                        }
                        issue.description_updates += 1;
                    }
                    ResponseTemplate::new(204)
                })
            })
            .mount(&server)
            .await;
        let known = issues.clone();
        let quirks = behaviour.clone();
        Mock::given(method("POST"))
            .and(path_regex(format!("^{rest}/issue/[A-Z]+-[0-9]+/comment$")))
            .respond_with(move |request: &Request| {
                let (lose_answer, refuse) = {
                    let mut b = quirks.lock().unwrap();
                    let refuse = b.refuse_comments > 0;
                    b.refuse_comments = b.refuse_comments.saturating_sub(1);
                    let lose = !refuse && b.fail_after_comment > 0;
                    if lose {
                        b.fail_after_comment -= 1;
                    }
                    (lose, refuse)
                };
                if refuse {
                    return ResponseTemplate::new(503).set_body_raw(
                        "<html><body><h1>503 Service Unavailable</h1></body></html>",
                        "text/html",
                    );
                }
                with_issue(&known, request, |issue, request| {
                    let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
                    issue.comments.push(body["body"].clone());
                    if lose_answer {
                        return ResponseTemplate::new(502)
                            .set_body_raw("<html><body>Bad Gateway</body></html>", "text/html");
                    }
                    ResponseTemplate::new(201)
                        .set_body_json(json!({"id": "20001", "body": body["body"]}))
                })
            })
            .mount(&server)
            .await;
        // Comments, paged like Jira: `startAt`, `maxResults` (capped), `total`, and
        // `orderBy=-created` for newest first.
        let known = issues.clone();
        let quirks = behaviour.clone();
        Mock::given(method("GET"))
            .and(path_regex(format!("^{rest}/issue/[A-Z]+-[0-9]+/comment$")))
            .respond_with(move |request: &Request| {
                let cap = match quirks.lock().unwrap().comment_page_limit {
                    0 => 100,
                    n => n,
                };
                let query = |name: &str| {
                    request
                        .url
                        .query_pairs()
                        .find(|(k, _)| k == name)
                        .and_then(|(_, v)| v.parse::<usize>().ok())
                };
                let start = query("startAt").unwrap_or(0);
                let max = query("maxResults").unwrap_or(100).min(cap);
                let newest_first = request
                    .url
                    .query_pairs()
                    .any(|(k, v)| k == "orderBy" && v == "-created");
                with_issue(&known, request, |issue, _| {
                    let mut ordered: Vec<(usize, &Value)> =
                        issue.comments.iter().enumerate().collect();
                    if newest_first {
                        ordered.reverse();
                    }
                    let page: Vec<Value> = ordered
                        .into_iter()
                        .skip(start)
                        .take(max)
                        .map(|(i, body)| json!({"id": format!("{}", 20_000 + i), "body": body}))
                        .collect();
                    ResponseTemplate::new(200).set_body_json(json!({
                        "startAt": start, "maxResults": max,
                        "total": issue.comments.len(), "comments": page,
                    }))
                })
            })
            .mount(&server)
            .await;
        let known = issues.clone();
        let quirks = behaviour.clone();
        let base = server.uri();
        Mock::given(method("POST"))
            .and(path_regex(format!("^{rest}/issue/[A-Z]+-[0-9]+/attachments$")))
            .respond_with(move |request: &Request| {
                let (delay, limit, failing) = {
                    let mut b = quirks.lock().unwrap();
                    let failing = match &mut b.failing_uploads {
                        Some((status, left)) if *left > 0 => {
                            *left -= 1;
                            Some(*status)
                        }
                        _ => None,
                    };
                    (b.slow_upload_delay, b.attachment_limit, failing)
                };
                match failing {
                    Some(503) => {
                        return ResponseTemplate::new(503).set_body_raw(
                            "<html><body><h1>503 Service Unavailable</h1></body></html>",
                            "text/html",
                        )
                    }
                    Some(403) => {
                        return ResponseTemplate::new(403).set_body_json(json!({
                            "errorMessages": ["You do not have permission to create attachments for this issue."],
                            "errors": {}
                        }))
                    }
                    Some(status) => {
                        return ResponseTemplate::new(status)
                            .set_body_json(json!({"errorMessages": ["Upload failed"], "errors": {}}))
                    }
                    None => {}
                }
                with_issue(&known, request, |issue, request| {
                    let no_check = request
                        .headers
                        .get("x-atlassian-token")
                        .and_then(|v| v.to_str().ok())
                        == Some("no-check");
                    if !no_check {
                        return ResponseTemplate::new(403).set_body_string("XSRF check failed");
                    }
                    let Some(parts) = parse_multipart(request) else {
                        return ResponseTemplate::new(400).set_body_json(json!({"errorMessages": ["bad multipart"]}));
                    };
                    let Some(file) = parts.into_iter().find(|p| p.name == "file") else {
                        return ResponseTemplate::new(400).set_body_json(json!({"errorMessages": ["no file field"]}));
                    };
                    if limit.is_some_and(|l| file.bytes.len() > l) {
                        return ResponseTemplate::new(413).set_body_json(json!({"errorMessages": ["The file is too large: the attachment size limit is exceeded."], "errors": {}}));
                    }
                    let name = file.file_name.clone().unwrap_or_default();
                    let id = 30000 + issue.attachments.len();
                    let size = file.bytes.len();
                    issue.attachments.push((name.clone(), file.bytes));
                    // Jira Cloud's answer: author has accountId, no name.
                    ResponseTemplate::new(200)
                        .set_body_json(json!([{
                            "self": format!("{base}/rest/api/3/attachment/{id}"), "id": format!("{id}"),
                            "filename": name, "size": size, "mimeType": "application/octet-stream",
                            "created": "2026-11-27T02:02:00.000+0000",
                            "author": {"accountId": "5b10", "accountType": "atlassian", "displayName": "Bridge", "active": true},
                            "content": format!("{base}/rest/api/3/attachment/content/{id}")
                        }]))
                        .set_delay(delay)
                })
            })
            .mount(&server)
            .await;
        let known = issues.clone();
        Mock::given(method("GET"))
            .and(path_regex(format!(
                "^{rest}/issue/[A-Z]+-[0-9]+/transitions$"
            )))
            .respond_with(move |request: &Request| {
                with_issue(&known, request, |issue, _| {
                    let transitions = if issue.done {
                        json!([{"id": "31", "name": "Reopen"}])
                    } else {
                        json!([{"id": "21", "name": "In Progress"}, {"id": "41", "name": "Done"}])
                    };
                    ResponseTemplate::new(200).set_body_json(json!({"transitions": transitions}))
                })
            })
            .mount(&server)
            .await;
        let known = issues.clone();
        Mock::given(method("POST"))
            .and(path_regex(format!("^{rest}/issue/[A-Z]+-[0-9]+/transitions$")))
            .respond_with(move |request: &Request| {
                with_issue(&known, request, |issue, request| {
                    let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
                    match body["transition"]["id"].as_str() {
                        Some("31") if issue.done => {
                            issue.done = false;
                            ResponseTemplate::new(204)
                        }
                        Some("41") if !issue.done => {
                            issue.done = true;
                            ResponseTemplate::new(204)
                        }
                        _ => ResponseTemplate::new(400).set_body_json(
                            json!({"errorMessages": ["It seems that you have tried to perform a workflow operation (transition) that is not valid for the current state of this issue."], "errors": {}}),
                        ),
                    }
                })
            })
            .mount(&server)
            .await;
        let search_path = match flavour {
            JiraFlavour::Cloud => format!("{rest}/search/jql"),
            JiraFlavour::DataCenter => format!("{rest}/search"),
        };
        Mock::given(method("POST"))
            .and(path(search_path))
            .respond_with(SearchResponder {
                issues: issues.clone(),
                behaviour: behaviour.clone(),
                flavour,
            })
            .mount(&server)
            .await;
        if flavour == JiraFlavour::Cloud {
            // The old search is gone on Cloud.
            Mock::given(path_regex(format!(
                "^{context}/rest/api/(2|3|latest)/search$"
            )))
            .respond_with(
                ResponseTemplate::new(410).set_body_json(
                    json!({"errorMessages": ["The requested API has been removed."]}),
                ),
            )
            .mount(&server)
            .await;
        }
        let expected_auth = match flavour {
            JiraFlavour::Cloud => {
                format!("Basic {}", base64(&format!("bot@example.com:{JIRA_TOKEN}")))
            }
            JiraFlavour::DataCenter => format!("Bearer {JIRA_TOKEN}"),
        };
        Mock::given(method("GET"))
            .and(path(format!("{rest}/myself")))
            .respond_with(move |request: &Request| {
                let given = request
                    .headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                if given == expected_auth {
                    ResponseTemplate::new(200).set_body_json(
                        json!({"accountId": "5b10", "name": "bridge", "displayName": "Bridge"}),
                    )
                } else {
                    // Jira answers a bad token with an empty 401.
                    ResponseTemplate::new(401)
                }
            })
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("{rest}/field")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([
                {"id": "summary", "name": "Summary", "custom": false, "schema": {"type": "string", "system": "summary"}},
                {"id": "customfield_10050", "name": "Environment", "custom": true, "schema": {"type": "option", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:select", "customId": 10050}},
                {"id": "customfield_10051", "name": "Steps to Reproduce", "custom": true, "schema": {"type": "string", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textarea", "customId": 10051}}
            ])))
            .mount(&server)
            .await;
        Self {
            server,
            issues,
            behaviour,
            context: context.to_owned(),
        }
    }

    pub fn base_url(&self) -> Url {
        Url::parse(&format!("{}{}", self.server.uri(), self.context)).unwrap()
    }

    pub fn issues(&self) -> Vec<FakeIssue> {
        self.issues.lock().unwrap().clone()
    }

    /// Changes the fake's faults and quirks.
    /// A comment someone else wrote on `key` (Markdown text as the body).
    pub fn comment_as_user(&self, key: &str, text: &str) {
        let mut issues = self.issues.lock().unwrap();
        let issue = issues
            .iter_mut()
            .find(|i| i.key == key)
            .expect("issue exists");
        issue.comments.push(json!(text));
    }

    pub fn behave(&self, f: impl FnOnce(&mut Behaviour)) {
        f(&mut self.behaviour.lock().unwrap());
    }

    /// Marks an issue done (as if someone resolved it).
    pub fn resolve(&self, key: &str) {
        let mut issues = self.issues.lock().unwrap();
        if let Some(issue) = issues.iter_mut().find(|i| i.key == key) {
            issue.done = true;
        }
    }

    /// Puts an issue into Jira directly (as if an earlier, crashed attempt created it).
    pub fn seed_issue(&self, labels: Vec<String>) -> String {
        let mut issues = self.issues.lock().unwrap();
        let key = format!("SHOP-{}", 9000 + issues.len());
        issues.push(FakeIssue {
            key: key.clone(),
            labels,
            body: json!({"fields": {"summary": "created by an attempt that crashed", "priority": {"name": "High"}}}),
            created: std::time::Instant::now(),
            done: false,
            comments: Vec::new(),
            description_updates: 0,
            attachments: Vec::new(),
        });
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

    /// Requests that create issues.
    pub async fn creates(&self) -> Vec<Request> {
        self.received("POST", "/issue").await
    }
}

pub const MAPPING: &str = r#"
[project]
id = "6c1f0b4e-3f7a-4b8e-9a51-2f0c8d7e1a42"
prefix = "SHOP"

[jira]
project = "SHOP"
issue_type = "Bug"

[issue]
summary = "[{{ test_case.key }}] {{ test_case.name }} failed in {{ execution.name }}"
labels = ["test-manager", "{{ execution.name }}"]
components = ["Checkout"]

[issue.priority]
default = "Medium"
[[issue.priority.rules]]
when = "'checkout' in test_case.labels"
priority = "High"

[issue.custom_fields]
"Environment" = "{{ log.host_machine_name }}"
"#;

/// The running app and its fakes.
pub struct TestApp {
    pub address: String,
    pub jira: FakeJira,
    pub tm: FakeTestManager,
    pub client: reqwest::Client,
    /// Stops (or wakes) the bridge's evidence worker.
    pub evidence: Arc<tm_defect_bridge::evidence::worker::Signal>,
    _dir: tempfile::TempDir,
}

/// Options for `spawn_app_with`.
pub struct AppOptions {
    pub flavour: JiraFlavour,
    pub mapping: String,
    pub jira_context: String,
    pub kpis: KpiSettings,
}

impl Default for AppOptions {
    fn default() -> Self {
        Self {
            flavour: JiraFlavour::Cloud,
            mapping: MAPPING.to_owned(),
            jira_context: String::new(),
            kpis: KpiSettings::default(),
        }
    }
}

pub async fn spawn_app(flavour: JiraFlavour) -> TestApp {
    spawn_app_with(AppOptions {
        flavour,
        ..Default::default()
    })
    .await
}

pub fn settings(
    jira: &FakeJira,
    tm: &FakeTestManager,
    dir: PathBuf,
    flavour: JiraFlavour,
    store_url: String,
) -> Settings {
    let mut secrets = BTreeMap::new();
    secrets.insert("shop".to_owned(), SecretString::from(SECRET));
    Settings {
        server: ServerSettings {
            listen: "127.0.0.1:0".into(),
            workers: Some(2),
            // Above the 50 concurrent identical requests of the exactly-once tests;
            // faults::creates_beyond_the_bound_are_503 tests the bound itself.
            max_concurrent_creates: 64,
            ..Default::default()
        },
        auth: AuthSettings {
            secrets,
            ..Default::default()
        },
        jira: JiraSettings {
            flavour,
            base_url: jira.base_url(),
            browse_url: None,
            email: (flavour == JiraFlavour::Cloud).then(|| "bot@example.com".to_owned()),
            token: Some(SecretString::from(JIRA_TOKEN)),
            token_file: None,
            connect_timeout_ms: 2_000,
            timeout_ms: 5_000,
            field_cache_secs: 600,
            verify_on_start: false,
        },
        testmanager: TestManagerSettings {
            base_url: tm.base_url(),
            token_url: None,
            client_id: "bridge-client".into(),
            client_secret: Some(SecretString::from(TM_SECRET)),
            client_secret_file: None,
            scope: "TM.TestExecutions.Read".into(),
            defect_path: "api/v2/{projectId}/defects/{defectId}".into(),
            defect_status_field: "status".into(),
            defect_priority_field: "priority".into(),
            connect_timeout_ms: 2_000,
            timeout_ms: 5_000,
        },
        store: StoreSettings {
            url: store_url,
            max_connections: 4,
        },
        mappings: MappingsSettings { dir, watch_secs: 0 },
        defects: DefectSettings {
            claim_stale_after_secs: 120,
            wait_for_winner_secs: 10,
            search_lag_secs: Some(3),
        },
        kpis: KpiSettings::default(),
        // Quick retries keep fault tests short; `Retry-After` floors still apply.
        outbound: OutboundSettings {
            base_delay_ms: 20,
            max_delay_ms: 200,
            total_budget_ms: 10_000,
            ..Default::default()
        },
        evidence: tm_defect_bridge::config::EvidenceSettings {
            poll_interval_ms: 100,
            ..Default::default()
        },
    }
}

pub async fn spawn_app_with(options: AppOptions) -> TestApp {
    spawn_app_on(options, None).await
}

/// Like `spawn_app_with`, with the ledger at `store_url` (default: a SQLite file in a temp dir).
pub async fn spawn_app_on(options: AppOptions, store_url: Option<String>) -> TestApp {
    spawn_app_tweaked(options, store_url, |_, _| {}).await
}

/// Like `spawn_app_on`, with `tweak` changing the settings (given the fake
/// Test Manager) before the bridge starts.
pub async fn spawn_app_tweaked(
    options: AppOptions,
    store_url: Option<String>,
    tweak: impl FnOnce(&mut Settings, &FakeTestManager),
) -> TestApp {
    let jira = FakeJira::start_at(options.flavour, &options.jira_context).await;
    let tm = FakeTestManager::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mappings = dir.path().join("mappings");
    std::fs::create_dir(&mappings).unwrap();
    std::fs::write(mappings.join("shop.toml"), &options.mapping).unwrap();
    let store = store_url.unwrap_or_else(|| sqlite_store(&dir));
    let mut settings = settings(&jira, &tm, mappings, options.flavour, store);
    settings.kpis = options.kpis;
    tweak(&mut settings, &tm);
    let (address, evidence) = start_bridge_with_signal(settings).await;
    TestApp {
        address,
        jira,
        tm,
        client: reqwest::Client::new(),
        evidence,
        _dir: dir,
    }
}

/// A SQLite ledger file inside `dir`.
pub fn sqlite_store(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("ledger.db").display())
}

/// Builds and starts a bridge; returns its base address.
pub async fn start_bridge(settings: Settings) -> String {
    start_bridge_with_signal(settings).await.0
}

/// Like `start_bridge`, also handing out the evidence worker's signal (to stop it).
pub async fn start_bridge_with_signal(
    settings: Settings,
) -> (String, Arc<tm_defect_bridge::evidence::worker::Signal>) {
    let app = Application::build(settings).await.expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let signal = app.evidence_signal();
    tokio::spawn(app.run_until_stopped());
    (address, signal)
}

/// A PostgreSQL store URL in a fresh schema when `DATABASE_URL` is set; says so when it is not.
pub async fn postgres_store() -> Option<String> {
    let Ok(base) = std::env::var("DATABASE_URL") else {
        eprintln!("skipping PostgreSQL: DATABASE_URL not set");
        return None;
    };
    let schema = format!("bridge_test_{}", Uuid::new_v4().simple());
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&base)
        .await
        .expect("DATABASE_URL must reach PostgreSQL");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let separator = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{separator}options=-csearch_path%3D{schema}"))
}

/// Every store the behavioural suite runs against: SQLite always, PostgreSQL when configured.
pub async fn stores(dir: &tempfile::TempDir) -> Vec<String> {
    let mut stores = vec![sqlite_store(dir)];
    stores.extend(postgres_store().await);
    stores
}

impl TestApp {
    /// POSTs a Create Defect to the project's registered URL (secret in the path).
    pub async fn create_defect(&self, body: &Value) -> reqwest::Response {
        self.client
            .post(format!("{}/hooks/shop/{SECRET}/defects", self.address))
            .json(body)
            .send()
            .await
            .unwrap()
    }
}

/// Validates `instance` against a schema of Atlassian's Jira Cloud OpenAPI document.
pub fn assert_matches_cloud_schema(schema_name: &str, instance: &Value) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/contracts/jira-cloud-platform.v3.openapi.json"
    );
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("the Jira Cloud contract must be at {path}: {e}"));
    let document: Value = serde_json::from_str(&text).unwrap();
    let schema = json!({
        "$ref": format!("#/components/schemas/{schema_name}"),
        "components": document["components"],
    });
    let validator =
        jsonschema::validator_for(&schema).expect("the contract compiles as JSON Schema");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{schema_name} violations: {errors:#?}\nbody: {instance:#}"
    );
}

/// Standard base64 (for Basic auth headers in fakes and assertions).
pub fn base64(text: &str) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A TCP proxy in front of a fake that can be stopped and started again on the same
/// address, the way a Jira that is killed and restarted looks to a client: while it is
/// down, connections are refused, and stopping it cuts the connections in flight.
pub struct Restartable {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    target: std::net::SocketAddr,
    running: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// While down: the port, bound but not listening (connections are refused, and no
    /// other socket of a test running alongside can take it).
    held: Mutex<Option<tokio::net::TcpSocket>>,
}

impl Restartable {
    /// A proxy to `target`, up.
    pub async fn start(target: std::net::SocketAddr) -> Self {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let local = socket.local_addr().unwrap();
        let proxy = Self {
            address: format!("http://{local}"),
            target,
            running: Mutex::new(None),
            held: Mutex::new(None),
        };
        proxy.serve(socket.listen(128).unwrap());
        proxy
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let target = self.target;
        let task = tokio::spawn(async move {
            // Connections live in this set: dropping the task (stop) cuts them all.
            let mut connections = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((mut inbound, _)) = accepted else { continue };
                        connections.spawn(async move {
                            if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                            }
                        });
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        *self.running.lock().unwrap() = Some(task);
    }

    /// Down: the listener closes and every open connection is cut.
    pub async fn stop(&self) {
        let local: std::net::SocketAddr = self.address["http://".len()..].parse().unwrap();
        let task = self.running.lock().unwrap().take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket.bind(local).expect("the proxy's own port");
        *self.held.lock().unwrap() = Some(socket);
    }

    /// Up again, on the same address.
    pub async fn restart(&self) {
        let socket = self.held.lock().unwrap().take().expect("stopped first");
        self.serve(socket.listen(128).unwrap());
    }
}
