//! Write-back speed and cost (issue 12), against in-process fakes of Jira Cloud
//! and Test Manager on loopback.
//!
//! `cargo bench --bench writeback` prints a report in two parts:
//!
//! - **1. Webhook → Test Manager written**, at zero upstream latency: the real
//!   `Application` (SQLite ledger file, write-back on, the reconcile poller far
//!   off) with issues already in its ledger. Each iteration moves one fake Jira
//!   issue to another status (its `updated` moves on), sends a signed
//!   `jira:issue_updated` delivery with a new `X-Atlassian-Webhook-Identifier`,
//!   and times from the POST until the fake Test Manager has received the
//!   defect PATCH (its responder sends the arrival `Instant` down a channel, so
//!   no polling adds to the figure). That covers verify, dedupe, enqueue, the
//!   worker's lease, the re-read from Jira, the PATCH, and their ledger commits
//!   up to the PATCH.
//! - **2. Reconcile cost**: a ledger of bridge issues whose last written state
//!   equals Jira's, of which some changed in Jira since the poller's watermark.
//!   One `Reconciler::poll`, a second poll right after (the overlap brings the
//!   same issues back: they must cost no write), and one `Reconciler::sweep` over
//!   all of them, with the Jira and Test Manager calls counted at the fakes.
//!
//! The fake Jira evaluates the JQL the bridge sends (`project`, `labels`,
//! `updated >= -Nm` against the real clock, `ORDER BY updated|key`), pages
//! Cloud's `search/jql` by `nextPageToken` (no `total`, at most 100 issues a page
//! with fields) and answers `GET issue/{key}` with the fields asked for. The fake
//! Test Manager issues an OAuth token and answers defect PATCHes. Any other call
//! is counted as unexpected and answered 404.
//!
//! Without `--bench` (e.g. `cargo test --benches`) it runs a few iterations on
//! small ledgers only.

mod common;

use chrono::{DateTime, Duration as Age, SubsecRound, Utc};
use secrecy::SecretString;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tm_defect_bridge::config::{
    AuthSettings, DefectSettings, JiraFlavour, JiraSettings, MappingsSettings, ServerSettings,
    Settings, StoreSettings, TestManagerSettings, WritebackSettings,
};
use tm_defect_bridge::ledger::{self, ClaimOutcome, IssueRecord, Stores, WrittenState};
use tm_defect_bridge::mapping::{Projects, ProjectsHandle};
use tm_defect_bridge::result_key::{ResultKey, BRIDGE_LABEL};
use tm_defect_bridge::startup::{adapters, Application};
use tm_defect_bridge::worker_signal::Signal;
use tm_defect_bridge::writeback::{signature_header, DefectWriter, DefectsChanged, Reconciler};
use url::Url;
use uuid::Uuid;
use wiremock::matchers::{any, method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const PROJECT_ID: &str = "6c1f0b4e-3f7a-4b8e-9a51-2f0c8d7e1a42";
const TM_PREFIX: &str = "/org/tenant/testmanager_";
const JIRA_REST: &str = "/rest/api/3";
const WEBHOOK_SECRET: &str = "jira-webhook-secret-0123456789";
const ROUTE: &str = "shop";
/// Cloud's largest page of a search that asks for fields.
const CLOUD_FIELDS_PAGE_MAX: usize = 100;
/// Jira's page size when `maxResults` is not given.
const DEFAULT_PAGE: usize = 50;

// ---------------------------------------------------------------- fake Jira Cloud

/// One issue as the fake Jira holds it.
#[derive(Clone)]
struct FakeIssue {
    number: u32,
    status: String,
    category: &'static str,
    priority: String,
    resolution: Option<String>,
    updated: DateTime<Utc>,
    labels: Vec<String>,
}

impl FakeIssue {
    fn new(number: u32, updated: DateTime<Utc>) -> Self {
        Self {
            number,
            status: "To Do".into(),
            category: "new",
            priority: "Medium".into(),
            resolution: None,
            updated: updated.trunc_subsecs(3),
            labels: vec![BRIDGE_LABEL.into(), format!("tm-result-{number}")],
        }
    }

    fn key(&self) -> String {
        issue_key(self.number)
    }

    /// A workflow transition: status, category and resolution in one change;
    /// `updated` moves to `at` (Jira's millisecond precision), strictly later
    /// than before.
    fn transition(
        &mut self,
        status: &str,
        category: &'static str,
        resolution: Option<&str>,
        at: DateTime<Utc>,
    ) {
        self.status = status.into();
        self.category = category;
        self.resolution = resolution.map(str::to_owned);
        self.updated = at.trunc_subsecs(3).max(self.updated + Age::milliseconds(1));
    }

    /// `id`, `key` and the `wanted` fields, as `GET issue` or a search answers them.
    fn json(&self, wanted: &[String]) -> Value {
        let category_name = match self.category {
            "done" => "Done",
            "indeterminate" => "In Progress",
            _ => "To Do",
        };
        let all = json!({
            "status": {"name": self.status, "statusCategory": {"key": self.category, "name": category_name}},
            "priority": {"name": self.priority},
            "resolution": self.resolution.as_ref().map(|name| json!({"name": name})),
            "updated": jira_time(self.updated),
            "labels": self.labels,
        });
        let fields: serde_json::Map<String, Value> = all
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(name, _)| wanted.iter().any(|w| w == *name || w == "*all"))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        json!({"id": format!("{}", 10000 + self.number), "key": self.key(), "fields": fields})
    }
}

fn issue_key(number: u32) -> String {
    format!("SHOP-{number}")
}

/// Jira's timestamp format: `2026-12-06T05:55:22.123+0000`.
fn jira_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string()
}

/// What the fake Jira holds and counts.
#[derive(Clone, Default)]
struct JiraBook {
    issues: Arc<Mutex<BTreeMap<u32, FakeIssue>>>,
    searches: Arc<AtomicUsize>,
    reads: Arc<AtomicUsize>,
    unexpected: Arc<AtomicUsize>,
}

impl JiraBook {
    fn with_issue<T>(&self, number: u32, change: impl FnOnce(&mut FakeIssue) -> T) -> T {
        change(self.issues.lock().unwrap().get_mut(&number).unwrap())
    }

    fn calls(&self) -> (usize, usize, usize) {
        (
            self.searches.load(Ordering::SeqCst),
            self.reads.load(Ordering::SeqCst),
            self.unexpected.load(Ordering::SeqCst),
        )
    }
}

/// A JQL query as the bridge writes them, evaluated like Jira would.
struct Query {
    project: Option<String>,
    label: Option<String>,
    updated_since: Option<DateTime<Utc>>,
    order: Vec<(bool, bool)>, // (by updated rather than key, ascending)
}

/// `"SHOP"` → `SHOP` (the bridge quotes every value).
fn unquote(text: &str) -> Option<String> {
    let inner = text.trim().strip_prefix('"')?.strip_suffix('"')?;
    Some(inner.replace("\\\"", "\"").replace("\\\\", "\\"))
}

impl Query {
    /// Reads `jql`; the error is the message Jira would answer with a 400.
    fn parse(jql: &str, now: DateTime<Utc>) -> Result<Self, String> {
        let unknown = |clause: &str| format!("Error in the JQL Query: unsupported `{clause}`.");
        let (condition, order) = jql.split_once(" ORDER BY ").unwrap_or((jql, ""));
        let mut query = Query {
            project: None,
            label: None,
            updated_since: None,
            order: Vec::new(),
        };
        for clause in condition.split(" AND ").map(str::trim) {
            if let Some(ago) = clause.strip_prefix("updated >= -") {
                let minutes: i64 = ago
                    .strip_suffix('m')
                    .and_then(|m| m.parse().ok())
                    .ok_or_else(|| unknown(clause))?;
                query.updated_since = Some(now - Age::minutes(minutes));
            } else if let Some(value) = clause.strip_prefix("project = ") {
                query.project = Some(unquote(value).ok_or_else(|| unknown(clause))?);
            } else if let Some(value) = clause.strip_prefix("labels = ") {
                query.label = Some(unquote(value).ok_or_else(|| unknown(clause))?);
            } else {
                return Err(unknown(clause));
            }
        }
        for part in order.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let by_updated = match part.split_whitespace().next() {
                Some("updated") => true,
                Some("key") => false,
                _ => return Err(unknown(part)),
            };
            let ascending = !part.ends_with(" DESC");
            query.order.push((by_updated, ascending));
        }
        Ok(query)
    }

    fn select<'a>(&self, issues: impl Iterator<Item = &'a FakeIssue>) -> Vec<&'a FakeIssue> {
        let mut found: Vec<&FakeIssue> = issues
            .filter(|i| {
                self.project
                    .as_ref()
                    .is_none_or(|p| i.key().starts_with(&format!("{p}-")))
                    && self.label.as_ref().is_none_or(|l| i.labels.contains(l))
                    && self.updated_since.is_none_or(|since| i.updated >= since)
            })
            .collect();
        found.sort_by(|a, b| {
            self.order
                .iter()
                .map(|&(by_updated, ascending)| {
                    let o = if by_updated {
                        a.updated.cmp(&b.updated)
                    } else {
                        a.number.cmp(&b.number)
                    };
                    if ascending {
                        o
                    } else {
                        o.reverse()
                    }
                })
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        found
    }
}

fn jira_error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"errorMessages": [message], "errors": {}}))
}

fn basic_auth(request: &Request) -> bool {
    request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Basic "))
}

/// `POST /rest/api/3/search/jql`: Cloud's enhanced search.
struct SearchJql(JiraBook);

impl Respond for SearchJql {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.searches.fetch_add(1, Ordering::SeqCst);
        if !basic_auth(request) {
            return ResponseTemplate::new(401);
        }
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return jira_error(400, "Invalid request payload.");
        };
        let query = match Query::parse(body["jql"].as_str().unwrap_or_default(), Utc::now()) {
            Ok(query) => query,
            Err(message) => return jira_error(400, &message),
        };
        let wanted: Vec<String> = body["fields"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str().map(str::to_owned))
            .collect();
        let start = match body["nextPageToken"].as_str() {
            None => 0,
            Some(token) => match token.strip_prefix("page-at-").and_then(|n| n.parse().ok()) {
                Some(start) => start,
                None => {
                    return jira_error(400, "The provided next page token is invalid or expired.")
                }
            },
        };
        let size = body["maxResults"]
            .as_u64()
            .map_or(DEFAULT_PAGE, |n| n as usize)
            .min(CLOUD_FIELDS_PAGE_MAX);
        let issues = self.0.issues.lock().unwrap();
        let found = query.select(issues.values());
        let end = (start + size).min(found.len());
        let page: Vec<Value> = found
            .iter()
            .skip(start)
            .take(size)
            .map(|i| i.json(&wanted))
            .collect();
        let mut answer = json!({"issues": page, "isLast": end >= found.len()});
        if end < found.len() {
            answer["nextPageToken"] = json!(format!("page-at-{end}"));
        }
        ResponseTemplate::new(200).set_body_json(answer)
    }
}

/// `GET /rest/api/3/issue/{key}?fields=…`.
struct GetIssue(JiraBook);

impl Respond for GetIssue {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.reads.fetch_add(1, Ordering::SeqCst);
        if !basic_auth(request) {
            return ResponseTemplate::new(401);
        }
        let wanted: Vec<String> = request
            .url
            .query_pairs()
            .find(|(name, _)| name == "fields")
            .map_or_else(
                || vec!["*all".to_owned()],
                |(_, v)| v.split(',').map(str::to_owned).collect(),
            );
        let number = request
            .url
            .path()
            .rsplit('-')
            .next()
            .and_then(|n| n.parse::<u32>().ok());
        let issues = self.0.issues.lock().unwrap();
        match number.and_then(|n| issues.get(&n)) {
            Some(issue) => ResponseTemplate::new(200).set_body_json(issue.json(&wanted)),
            None => jira_error(
                404,
                "Issue does not exist or you do not have permission to see it.",
            ),
        }
    }
}

/// Counts a call no route of the fake expects.
struct Unexpected(Arc<AtomicUsize>);

impl Respond for Unexpected {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.0.fetch_add(1, Ordering::SeqCst);
        ResponseTemplate::new(404)
    }
}

/// A server that keeps no request log and answers any call no mock of its
/// own expects with 404, counting it in `unexpected`.
async fn fake_server(unexpected: &Arc<AtomicUsize>) -> MockServer {
    let server = MockServer::builder()
        .disable_request_recording()
        .start()
        .await;
    Mock::given(any())
        .respond_with(Unexpected(unexpected.clone()))
        .with_priority(10)
        .mount(&server)
        .await;
    server
}

async fn fake_jira(book: &JiraBook) -> MockServer {
    let server = fake_server(&book.unexpected).await;
    Mock::given(method("POST"))
        .and(path(format!("{JIRA_REST}/search/jql")))
        .respond_with(SearchJql(book.clone()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(format!("^{JIRA_REST}/issue/SHOP-[0-9]+$")))
        .respond_with(GetIssue(book.clone()))
        .mount(&server)
        .await;
    // The readiness probe's call: not a write-back call, so not counted.
    Mock::given(method("GET"))
        .and(path(format!("{JIRA_REST}/myself")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"accountId": "5b10", "displayName": "Bridge"})),
        )
        .mount(&server)
        .await;
    server
}

// ---------------------------------------------------------------- fake Test Manager

/// A defect PATCH as the fake Test Manager received it.
#[derive(Clone)]
struct Patched {
    at: Instant,
    defect_id: String,
    status: String,
}

/// What the fake Test Manager counts, and where it reports PATCHes.
#[derive(Clone, Default)]
struct TmBook {
    tokens: Arc<AtomicUsize>,
    patches: Arc<Mutex<Vec<Patched>>>,
    unexpected: Arc<AtomicUsize>,
    /// Told of each PATCH as it arrives (part 1 waits on it).
    notify: Arc<Mutex<Option<mpsc::Sender<Patched>>>>,
}

impl TmBook {
    fn patch_count(&self) -> usize {
        self.patches.lock().unwrap().len()
    }
}

/// `PATCH {tm}/api/v2/{projectId}/defects/{defectId}` with `status` and `priority`.
struct PatchDefect(TmBook);

impl Respond for PatchDefect {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let at = Instant::now();
        let bearer = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if bearer != Some("Bearer tm-access-token") {
            return ResponseTemplate::new(401);
        }
        let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&request.body) else {
            return ResponseTemplate::new(400).set_body_json(
                json!({"title": "One or more validation errors occurred.", "status": 400}),
            );
        };
        let defect_id = request.url.path().rsplit('/').next().unwrap_or_default();
        let patched = Patched {
            at,
            defect_id: defect_id.to_owned(),
            status: body["status"].as_str().unwrap_or_default().to_owned(),
        };
        self.0.patches.lock().unwrap().push(patched.clone());
        if let Some(notify) = self.0.notify.lock().unwrap().as_ref() {
            let _ = notify.send(patched);
        }
        ResponseTemplate::new(200).set_body_json(json!({
            "id": defect_id, "name": "Checkout with an expired card failed",
            "status": body["status"], "priority": body["priority"],
            "link": null, "linkLabel": null, "syncStatus": "None"
        }))
    }
}

/// `POST {host}/org/identity_/connect/token`: client credentials.
struct Token(Arc<AtomicUsize>);

impl Respond for Token {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.0.fetch_add(1, Ordering::SeqCst);
        ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "tm-access-token", "expires_in": 3600, "token_type": "Bearer"}),
        )
    }
}

async fn fake_test_manager(book: &TmBook) -> MockServer {
    let server = fake_server(&book.unexpected).await;
    Mock::given(method("POST"))
        .and(path("/org/identity_/connect/token"))
        .respond_with(Token(book.tokens.clone()))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path_regex(format!(
            "^{TM_PREFIX}/api/v2/{PROJECT_ID}/defects/[^/]+$"
        )))
        .respond_with(PatchDefect(book.clone()))
        .mount(&server)
        .await;
    server
}

// ---------------------------------------------------------------- the bridge's setup

fn write_mapping(dir: &Path) -> PathBuf {
    let mappings = dir.join("mappings");
    std::fs::create_dir(&mappings).unwrap();
    std::fs::write(
        mappings.join(format!("{ROUTE}.toml")),
        format!("[project]\nid = \"{PROJECT_ID}\"\nprefix = \"SHOP\"\n\n[jira]\nproject = \"SHOP\"\nissue_type = \"Bug\"\n"),
    )
    .unwrap();
    mappings
}

fn settings(
    jira: &MockServer,
    tm: &MockServer,
    dir: &Path,
    writeback: WritebackSettings,
) -> Settings {
    Settings {
        kpis: Default::default(),
        server: ServerSettings {
            listen: "127.0.0.1:0".into(),
            workers: Some(1),
            ..Default::default()
        },
        access: Default::default(),
        auth: AuthSettings {
            secrets: BTreeMap::from([(
                ROUTE.to_owned(),
                SecretString::from("tm-hook-secret-0123"),
            )]),
            ..Default::default()
        },
        jira: JiraSettings {
            email: Some("bot@example.com".into()),
            token: Some(SecretString::from("jira-token")),
            connect_timeout_ms: 2_000,
            timeout_ms: 10_000,
            verify_on_start: false,
            ..JiraSettings::new(JiraFlavour::Cloud, Url::parse(&jira.uri()).unwrap())
        },
        testmanager: TestManagerSettings {
            client_secret: Some(SecretString::from("tm-secret")),
            scope: "TM.TestExecutions.Read TM.Defects.Read TM.Defects.Write".into(),
            connect_timeout_ms: 2_000,
            timeout_ms: 10_000,
            ..TestManagerSettings::new(
                Url::parse(&format!("{}{TM_PREFIX}", tm.uri())).unwrap(),
                "bridge-client",
            )
        },
        store: StoreSettings {
            url: format!("sqlite://{}", dir.join("ledger.db").display()),
            max_connections: 4,
        },
        mappings: MappingsSettings {
            dir: write_mapping(dir),
            watch_secs: 0,
        },
        defects: DefectSettings::default(),
        outbound: Default::default(),
        evidence: Default::default(),
        writeback,
    }
}

fn defect_id(number: u32) -> String {
    format!("{:08x}-0000-4000-8000-{number:012}", number)
}

/// Records issues `1..=count` of the fake Jira in the ledger as the bridge's,
/// each with its Test Manager defect and, when `written`, a last written
/// state equal to Jira's; returns how long that took.
async fn seed_ledger(stores: &Stores, jira: &JiraBook, count: u32, written: bool) -> Duration {
    let started = Instant::now();
    let issues: Vec<FakeIssue> = jira.issues.lock().unwrap().values().cloned().collect();
    for issue in issues.iter().take(count as usize) {
        let key = ResultKey::new(Uuid::new_v4(), Uuid::new_v4(), None);
        let now = Utc::now();
        let claimed = stores
            .results
            .claim(&key, ROUTE, "seed", now, Duration::from_secs(120))
            .await
            .unwrap();
        assert!(matches!(claimed, ClaimOutcome::Claimed { .. }));
        let record = IssueRecord {
            issue_key: issue.key(),
            issue_id: format!("{}", 10000 + issue.number),
            browse_url: format!("https://shop.atlassian.net/browse/{}", issue.key()),
            summary: "[SHOP:42] Checkout with an expired card failed in Nightly regression".into(),
            status: Some(issue.status.clone()),
            priority: Some(issue.priority.clone()),
        };
        stores
            .results
            .record_issue(&key, "seed", &record, now)
            .await
            .unwrap();
        stores
            .writeback
            .record_defect_id(&key, &defect_id(issue.number))
            .await
            .unwrap();
        if written {
            let state = WrittenState {
                status: issue.status.clone(),
                priority: Some(issue.priority.clone()),
                jira_updated: issue.updated,
                written_at: now,
            };
            assert!(stores.writeback.record_written(&key, &state).await.unwrap());
        }
    }
    started.elapsed()
}

fn fill_jira(book: &JiraBook, count: u32, updated: DateTime<Utc>) {
    let mut issues = book.issues.lock().unwrap();
    for number in 1..=count {
        // Distinct times, a second apart, all at or before `updated`.
        let at = updated - Age::seconds(i64::from(count - number));
        issues.insert(number, FakeIssue::new(number, at));
    }
}

// ---------------------------------------------------------------- statistics

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let n = sorted.len();
    sorted[((q * n as f64).ceil() as usize).clamp(1, n) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

// ---------------------------------------------------------------- 1: webhook to write

/// The workflow each issue cycles through, one step per iteration.
const STEPS: [(&str, &str, Option<&str>); 4] = [
    ("In Progress", "indeterminate", None),
    ("In Review", "indeterminate", None),
    ("Done", "done", Some("Done")),
    ("To Do", "new", None),
];

fn webhook_body(issue: &FakeIssue, from: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "timestamp": issue.updated.timestamp_millis(),
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "user": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Dana Dev"},
        "issue": {
            "id": format!("{}", 10000 + issue.number),
            "self": format!("https://shop.atlassian.net/rest/api/2/issue/{}", 10000 + issue.number),
            "key": issue.key(),
            "fields": {
                "status": {"name": issue.status, "statusCategory": {"key": issue.category}},
                "priority": {"name": issue.priority},
                "updated": jira_time(issue.updated),
                "labels": issue.labels,
            }
        },
        "changelog": {"id": "10101", "items": [
            {"field": "status", "fieldtype": "jira", "fromString": from, "toString": issue.status}
        ]}
    }))
    .unwrap()
}

fn part_webhook(runtime: &tokio::runtime::Runtime, issues: u32, iterations: usize) {
    const WARM_UP: usize = 5;
    let jira_book = JiraBook::default();
    let tm_book = TmBook::default();
    let (tx, rx) = mpsc::channel();
    *tm_book.notify.lock().unwrap() = Some(tx);
    let dir = tempfile::tempdir().unwrap();
    let (address, seeded, _jira, _tm) = runtime.block_on(async {
        let jira = fake_jira(&jira_book).await;
        let tm = fake_test_manager(&tm_book).await;
        fill_jira(&jira_book, issues, Utc::now() - Age::hours(1));
        let settings = settings(
            &jira,
            &tm,
            dir.path(),
            WritebackSettings {
                webhook_secret: Some(SecretString::from(WEBHOOK_SECRET)),
                reconcile_interval_secs: 3_600,
                sweep_interval_secs: 86_400,
                ..Default::default()
            },
        );
        let stores = ledger::connect(&settings.store.url, 1).await.unwrap();
        let seeded = seed_ledger(&stores, &jira_book, issues, true).await;
        stores.results.close().await;
        let app = Application::build(settings)
            .await
            .expect("the bridge starts");
        let address = format!("http://127.0.0.1:{}/jira/webhook", app.port());
        tokio::spawn(app.run_until_stopped());
        (address, seeded, jira, tm)
    });
    let client = reqwest::Client::new();

    let mut latencies = Vec::with_capacity(iterations);
    let mut answered = Vec::with_capacity(iterations);
    for i in 0..WARM_UP + iterations {
        let number = (i as u32 % issues) + 1;
        let step = STEPS[(i / issues as usize) % STEPS.len()];
        let (body, status) = jira_book.with_issue(number, |issue| {
            let from = issue.status.clone();
            issue.transition(step.0, step.1, step.2, Utc::now());
            (webhook_body(issue, &from), issue.status.clone())
        });
        let signature = signature_header(WEBHOOK_SECRET, &body);
        let start = Instant::now();
        let answer: Value = runtime.block_on(async {
            let response = client
                .post(&address)
                .header("Content-Type", "application/json")
                .header("X-Hub-Signature", signature)
                .header("X-Atlassian-Webhook-Identifier", Uuid::new_v4().to_string())
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            response.json().await.unwrap()
        });
        let answered_after = start.elapsed();
        assert_eq!(answer["status"], "queued", "{answer}");
        let patched = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("Test Manager receives the defect PATCH");
        assert_eq!(patched.defect_id, defect_id(number));
        assert_eq!(patched.status, status);
        if i >= WARM_UP {
            latencies.push(patched.at.duration_since(start));
            answered.push(answered_after);
        }
        // Let the worker settle its job, so each delivery finds it idle.
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(300));
    let extra = rx.try_iter().count();
    let (searches, reads, unexpected) = jira_book.calls();
    latencies.sort();
    answered.sort();

    println!("1. Webhook received → Test Manager written, zero upstream latency");
    println!(
        "   real Application (SQLite ledger file, synchronous=FULL), {issues} bridge issues in the ledger (seeded in {:.1} s),",
        seeded.as_secs_f64()
    );
    println!("   {iterations} signed jira:issue_updated deliveries one after another (after {WARM_UP} warm-up), each a new status,");
    println!("   timed from the POST to the PATCH's arrival at the fake Test Manager:");
    println!(
        "   {:<44} {:>10} {:>10} {:>10} {:>10}",
        "", "p50", "p99", "min", "max"
    );
    for (name, sorted) in [
        ("webhook POST → defect PATCH received", &latencies),
        ("webhook POST → 200 answered to Jira", &answered),
    ] {
        println!(
            "   {:<44} {:>10} {:>10} {:>10} {:>10}",
            name,
            ms(percentile(sorted, 0.5)),
            ms(percentile(sorted, 0.99)),
            ms(sorted[0]),
            ms(sorted[sorted.len() - 1]),
        );
    }
    println!(
        "   calls: Jira GET issue {reads} (one re-read per delivery), Jira searches {searches}, Test Manager PATCH {}, token {}; unexpected calls {}; PATCHes beyond one per delivery {extra}",
        tm_book.patch_count(),
        tm_book.tokens.load(Ordering::SeqCst),
        unexpected + tm_book.unexpected.load(Ordering::SeqCst),
    );
    println!();
}

// ---------------------------------------------------------------- 2: reconcile cost

/// The KPI cache is not part of this measurement.
struct NoKpis;

#[async_trait::async_trait]
impl DefectsChanged for NoKpis {
    async fn defects_changed(&self, _: Uuid) {}
}

async fn part_reconcile(issues: u32, changed: u32) {
    let jira_book = JiraBook::default();
    let tm_book = TmBook::default();
    let jira = fake_jira(&jira_book).await;
    let tm = fake_test_manager(&tm_book).await;
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(&jira, &tm, dir.path(), WritebackSettings::default());
    // Every issue last changed days ago, and written to Test Manager as it is.
    fill_jira(&jira_book, issues, Utc::now() - Age::days(3));
    let stores = ledger::connect(&settings.store.url, 4).await.unwrap();
    let seeded = seed_ledger(&stores, &jira_book, issues, true).await;

    let owner = "bench-reconciler".to_owned();
    let projects = ProjectsHandle::new(Projects::load_dir(&settings.mappings.dir).unwrap());
    let built = adapters::build(&settings).unwrap();
    let reconciler = Reconciler {
        ledger: stores.writeback.clone(),
        tracker: built.tracker,
        writer: Arc::new(DefectWriter {
            ledger: stores.writeback.clone(),
            testmanager: built.testmanager,
            projects: projects.clone(),
            changed: Arc::new(NoKpis),
        }),
        projects,
        settings: settings.writeback.clone(),
        signal: Arc::new(Signal::default()),
        owner: owner.clone(),
    };
    // The last complete poll started 5 minutes ago.
    let now = Utc::now();
    assert!(stores
        .writeback
        .lease_poller("SHOP", &owner, now, Duration::from_secs(600))
        .await
        .unwrap());
    stores
        .writeback
        .advance_watermark("SHOP", &owner, now - Age::minutes(5))
        .await
        .unwrap();
    // Since then, `changed` issues spread over the project were resolved.
    let every = (issues / changed).max(1);
    let moved: Vec<u32> = (1..=issues)
        .step_by(every as usize)
        .take(changed as usize)
        .collect();
    for &number in &moved {
        jira_book.with_issue(number, |issue| {
            issue.transition("Done", "done", Some("Done"), Utc::now() - Age::seconds(60));
        });
    }

    println!("2. Reconcile cost: {issues} bridge issues in the ledger (last written state = Jira's), {changed} changed in Jira since the watermark");
    println!(
        "   (ledger: SQLite file, seeded in {:.1} s; poller watermark 5 min ago, overlap {} s, page size {}; Jira Cloud search/jql)",
        seeded.as_secs_f64(),
        settings.writeback.reconcile_overlap_secs,
        settings.writeback.page_size
    );
    println!(
        "   {:<52} {:>10} {:>12} {:>10} {:>12} {:>10} {:>10}",
        "", "time", "Jira search", "Jira GET", "TM PATCH", "TM token", "issues"
    );
    let row = |name: &str,
               time: Duration,
               pages: u32,
               found: u32,
               before: (usize, usize, usize, usize)| {
        let (searches, reads, _) = jira_book.calls();
        println!(
            "   {:<52} {:>10} {:>12} {:>10} {:>12} {:>10} {:>10}",
            name,
            ms(time),
            searches - before.0,
            reads - before.1,
            tm_book.patch_count() - before.2,
            tm_book.tokens.load(Ordering::SeqCst) - before.3,
            found,
        );
        assert_eq!(
            pages as usize,
            searches - before.0,
            "pages read = searches received"
        );
    };
    let counts = || {
        let (searches, reads, _) = jira_book.calls();
        (
            searches,
            reads,
            tm_book.patch_count(),
            tm_book.tokens.load(Ordering::SeqCst),
        )
    };

    let before = counts();
    let start = Instant::now();
    let pass = reconciler.poll("SHOP").await.unwrap().expect("lease held");
    row(
        "poll (changes since the watermark)",
        start.elapsed(),
        pass.pages,
        pass.issues,
        before,
    );
    assert_eq!(pass.queued, 0);
    let written: Vec<String> = tm_book
        .patches
        .lock()
        .unwrap()
        .iter()
        .map(|p| p.defect_id.clone())
        .collect();
    let expected: Vec<String> = moved.iter().map(|&n| defect_id(n)).collect();
    assert_eq!(
        written, expected,
        "exactly the changed issues' defects, oldest change first"
    );

    let before = counts();
    let start = Instant::now();
    let pass = reconciler.poll("SHOP").await.unwrap().expect("lease held");
    row(
        "poll again (the overlap returns the same issues)",
        start.elapsed(),
        pass.pages,
        pass.issues,
        before,
    );

    let before = counts();
    let start = Instant::now();
    let pass = reconciler.sweep("SHOP", &[ROUTE.to_owned()]).await.unwrap();
    row(
        &format!("sweep (every bridge issue, {} missing)", pass.queued),
        start.elapsed(),
        pass.pages,
        pass.issues,
        before,
    );

    let (_, _, unexpected) = jira_book.calls();
    println!(
        "   unexpected calls: Jira {unexpected}, Test Manager {}",
        tm_book.unexpected.load(Ordering::SeqCst)
    );
    stores.results.close().await;
    println!();
}

fn main() {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let full = common::full_mode("write-back", &format!(", {cpus} CPUs"));
    let (webhook_issues, iterations, reconcile_issues, changed) = if full {
        (1_000, 500, 10_000, 100)
    } else {
        (20, 10, 300, 3)
    };
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    part_webhook(&runtime, webhook_issues, iterations);
    runtime.block_on(part_reconcile(reconcile_issues, changed));
    println!("total bench time: {:.1} s", started.elapsed().as_secs_f64());
    // The bridge's actix workers run until the process ends.
    std::process::exit(0);
}
