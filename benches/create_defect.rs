//! Create Defect speed: the bridge's own work, and the overlap of its upstream calls.
//!
//! `cargo bench --bench create_defect` prints a report in three parts:
//!
//! - **A1** the CPU work of one Create Defect, stage by stage, measured in
//!   process over many iterations (no network): webhook body parsing, decoding
//!   the Test Manager and Jira answers, assembling the `Failure`, rendering the
//!   mapping, building and serialising the Jira create body (Cloud ADF and Data
//!   Center wiki), serialising the answer.
//! - **A2** the full request end to end over HTTP against fakes with zero added
//!   latency: an upper bound of the bridge's own work that also includes the
//!   loopback round trips, the fakes' own time and the SQLite ledger commits.
//! - **B** every fake Test Manager and Jira response delayed by 50 ms: wall time
//!   per Create Defect, the upstream calls it makes (counted at the fakes) and
//!   the length of its chain of dependent calls (waves of requests observed at
//!   the fakes), showing time ≈ chain × 50 ms rather than calls × 50 ms.
//!
//! Without `--bench` (e.g. `cargo test --benches`) it runs a few iterations only.

mod common;

use secrecy::SecretString;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tm_defect_bridge::config::{
    AuthSettings, DefectSettings, JiraFlavour, JiraSettings, MappingsSettings, ServerSettings,
    Settings, StoreSettings, TestManagerSettings,
};
use tm_defect_bridge::defects::assemble;
use tm_defect_bridge::ledger::{self, ClaimOutcome, IssueRecord};
use tm_defect_bridge::mapping::registry::load_file;
use tm_defect_bridge::mapping::ProjectMapping;
use tm_defect_bridge::result_key::ResultKey;
use tm_defect_bridge::startup::Application;
use tm_defect_bridge::testmanager::webhook::{
    CreateDefectRequest, DefectPayload, RawCreateDefectRequest,
};
use tm_defect_bridge::testmanager::{
    Assertion, FailureDetails, Paged, TestCase, TestCaseLog, TestExecution,
};
use tm_defect_bridge::tracker::jira::body;
use tm_defect_bridge::tracker::jira::fields::{Field, FieldCatalog};
use tm_defect_bridge::tracker::jira::issue::{CreatedIssue, IssueJson};
use url::Url;
use uuid::Uuid;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const PROJECT_ID: &str = "6c1f0b4e-3f7a-4b8e-9a51-2f0c8d7e1a42";
const TEST_CASE_ID: &str = "0b7e3c1a-5d2f-4e8b-9c6a-7f1d2e3b4a50";
const SECRET: &str = "hook-secret-1234";
const TM_PREFIX: &str = "/org/tenant/testmanager_";
const GUID: &str = "[0-9a-fA-F-]{36}";

/// The mapping the integration tests use (`tests/fixtures/shop.toml`: summary, labels,
/// priority rule, component and a custom field by name; the built-in description
/// (table, failed assertions, link)), except that each benchmarked request is a new
/// failure of the same test case: create each time.
const MAPPING: &str = concat!(
    "[repeat]\npolicy = \"new\"\n\n",
    include_str!("../tests/fixtures/shop.toml")
);

// ---------------------------------------------------------------- upstream answers

fn log_json(id: Uuid, execution: Uuid, test_case: &str, result: &str) -> Value {
    json!({
        "id": id, "testCaseId": test_case, "testExecutionId": execution,
        "variationId": null, "result": result, "hasError": result == "Failed",
        "executionStart": "2026-11-27T02:00:00Z", "executionEnd": "2026-11-27T02:01:10.5Z",
        "executedBy": "robot@example.com", "robotName": "robot-7",
        "hostMachineName": "WIN-TEST-01", "runtimeType": "Unattended",
        "inputArguments": {"card": "4000000000000069", "expiry": "01/20", "amount": 129.5},
        "outputArguments": {"message": "Thank you for your order"},
        "info": "Run by the nightly schedule",
        "detailLink": "https://cloud.uipath.com/org/tenant/orchestrator_/jobs/81724",
        "runId": 2, "defectId": null,
        "testCase": {"objKey": "SHOP:42", "name": "Checkout with an expired card"}
    })
}

/// A page of the execution's failed logs: the one asked for and two others.
fn paged_logs_json(execution: Uuid) -> Value {
    let data = vec![
        log_json(Uuid::new_v4(), execution, TEST_CASE_ID, "Failed"),
        log_json(
            Uuid::new_v4(),
            execution,
            "11111111-2222-3333-4444-555555555555",
            "Failed",
        ),
        log_json(
            Uuid::new_v4(),
            execution,
            "66666666-7777-8888-9999-000000000000",
            "Failed",
        ),
    ];
    json!({"data": data, "paging": {"total": 3, "page": 1, "pages": 1, "pageSize": 100, "returned": 3}})
}

fn test_case_json(id: &str) -> Value {
    json!({
        "id": id, "objKey": "SHOP:42", "name": "Checkout with an expired card",
        "description": "Cards past their expiry date must be refused at checkout.\n\nSteps:\n1. Add an item\n2. Pay with an expired card\n3. Expect 'Card declined'",
        "labels": ["checkout", {"name": "payments", "id": 4}, "regression"],
        "version": "1.4", "automationId": "4f0c2b9e-1d3a-4c5b-8e7f-6a5b4c3d2e1f",
        "projectId": PROJECT_ID, "createdBy": "qa@example.com"
    })
}

fn execution_json(id: &str) -> Value {
    json!({"id": id, "name": "Nightly regression", "executionType": "Automated", "type": 1,
           "testSetId": "2f1e0d9c-8b7a-4c6d-5e4f-3a2b1c0d9e8f", "startedOn": "2026-11-27T02:00:00Z"})
}

fn assertions_json(log: Uuid) -> Value {
    let assertion = |message: &str, succeeded: bool, screenshot: bool, payload: Option<&str>| {
        json!({
            "id": Uuid::new_v4(), "testCaseLogId": log, "message": message, "payload": payload,
            "hasScreenshot": screenshot, "succeeded": succeeded,
            "screenshotFileName": if screenshot { Some("assert.png") } else { None },
            "screenshotFileSize": if screenshot { Some(48_213) } else { None },
        })
    };
    json!([
        assertion("Home page loaded", true, false, None),
        assertion("Cart holds 1 item", true, false, Some("count=1")),
        assertion(
            "Expected 'Card declined' but found 'Thank you'",
            false,
            true,
            Some("{\"expected\":\"Card declined\",\"actual\":\"Thank you\"}")
        ),
        assertion(
            "Order must not be created",
            false,
            true,
            Some("orderId=81724")
        ),
        assertion("Confirmation e-mail not sent", true, false, None),
    ])
}

fn assertions_markdown_json() -> Value {
    json!("| Assertion | Result |\n|---|---|\n| Home page loaded | Passed |\n| Cart holds 1 item | Passed |\n| Card declined | **Failed** |\n| Order must not be created | **Failed** |\n| Confirmation e-mail not sent | Passed |")
}

fn robot_log_json() -> Value {
    json!({"errors": 2, "warnings": 1, "infos": 48, "lastError": {"message": "Assertion failed", "timeStamp": "2026-11-27T02:01:09Z"}})
}

fn jira_fields_json() -> Value {
    json!([
        {"id": "summary", "name": "Summary", "custom": false, "schema": {"type": "string", "system": "summary"}},
        {"id": "description", "name": "Description", "custom": false, "schema": {"type": "string", "system": "description"}},
        {"id": "labels", "name": "Labels", "custom": false, "schema": {"type": "array", "items": "string", "system": "labels"}},
        {"id": "customfield_10050", "name": "Environment", "custom": true, "schema": {"type": "option", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:select", "customId": 10050}},
        {"id": "customfield_10051", "name": "Steps to Reproduce", "custom": true, "schema": {"type": "string", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textarea", "customId": 10051}}
    ])
}

fn webhook_body(execution: Uuid) -> Value {
    json!({
        "testExecutionId": execution,
        "testCaseId": TEST_CASE_ID,
        "variationId": null,
        "linkToTestCaseLog": format!("https://cloud.uipath.com/org/tenant/testmanager_/SHOP/testcaselog/{execution}"),
    })
}

// ---------------------------------------------------------------- statistics

#[derive(Clone, Copy)]
struct Stats {
    median: Duration,
    p99: Duration,
    min: Duration,
    max: Duration,
}

fn stats(samples: &[Duration]) -> Stats {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let n = sorted.len();
    let rank = |q: f64| sorted[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
    Stats {
        median: rank(0.5),
        p99: rank(0.99),
        min: sorted[0],
        max: sorted[n - 1],
    }
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn median_u(values: &[usize]) -> usize {
    let mut v = values.to_vec();
    v.sort_unstable();
    v[v.len() / 2]
}

// ---------------------------------------------------------------- A1: in-process CPU work

/// The upstream answers of one Create Defect, as raw bytes.
struct Answers {
    webhook: Vec<u8>,
    paged: Vec<u8>,
    test_case: Vec<u8>,
    execution: Vec<u8>,
    assertions: Vec<u8>,
    markdown: Vec<u8>,
    robot_log: Vec<u8>,
    created: Vec<u8>,
    issue: Vec<u8>,
}

impl Answers {
    fn new() -> Self {
        let execution = Uuid::new_v4();
        let bytes = |v: Value| serde_json::to_vec(&v).unwrap();
        Self {
            webhook: bytes(webhook_body(execution)),
            paged: bytes(paged_logs_json(execution)),
            test_case: bytes(test_case_json(TEST_CASE_ID)),
            execution: bytes(execution_json(&execution.to_string())),
            assertions: bytes(assertions_json(Uuid::new_v4())),
            markdown: bytes(assertions_markdown_json()),
            robot_log: bytes(robot_log_json()),
            created: bytes(
                json!({"id": "10001", "key": "SHOP-1", "self": "https://x.atlassian.net/rest/api/3/issue/10001"}),
            ),
            issue: bytes(json!({"id": "10001", "key": "SHOP-1", "fields": {
                "summary": "[SHOP:42] Checkout with an expired card failed in Nightly regression",
                "status": {"name": "To Do", "id": "1"}, "priority": {"name": "High", "id": "2"}}})),
        }
    }
}

/// Nanoseconds per stage of one iteration.
#[derive(Default)]
struct Iteration {
    parse: Duration,
    decode: Duration,
    assemble: Duration,
    render: Duration,
    cloud_body: Duration,
    dc_body: Duration,
    answer: Duration,
}

fn one_iteration(
    answers: &Answers,
    mapping: &ProjectMapping,
    catalog: &FieldCatalog,
) -> (Iteration, usize) {
    let mut it = Iteration::default();

    let t = Instant::now();
    let raw: RawCreateDefectRequest = serde_json::from_slice(&answers.webhook).unwrap();
    let request = CreateDefectRequest::parse(raw).unwrap();
    it.parse = t.elapsed();

    let t = Instant::now();
    let page: Paged<TestCaseLog> = serde_json::from_slice(&answers.paged).unwrap();
    let log = page
        .data
        .into_iter()
        .find(|l| l.test_case_id == request.key.test_case_id)
        .unwrap();
    let test_case: TestCase = serde_json::from_slice(&answers.test_case).unwrap();
    let execution: TestExecution = serde_json::from_slice(&answers.execution).unwrap();
    let assertions: Vec<Assertion> = serde_json::from_slice(&answers.assertions).unwrap();
    let markdown: Option<String> = serde_json::from_slice(&answers.markdown).unwrap();
    let robot_log: Option<Value> = serde_json::from_slice(&answers.robot_log).unwrap();
    let created: CreatedIssue = serde_json::from_slice(&answers.created).unwrap();
    let issue: IssueJson = serde_json::from_slice(&answers.issue).unwrap();
    let details = FailureDetails {
        log,
        test_case,
        execution,
        assertions,
        assertions_markdown: markdown,
        robot_log,
    };
    it.decode = t.elapsed();

    let t = Instant::now();
    let link = request
        .link_to_test_case_log
        .as_ref()
        .map(|u| u.to_string());
    let failure = assemble::failure(mapping, &request.key, &details, link.as_deref());
    it.assemble = t.elapsed();

    let t = Instant::now();
    let mut draft = mapping.render(&failure).unwrap();
    draft.labels.retain(|l| l != &failure.label);
    draft.labels.insert(0, failure.label.clone());
    it.render = t.elapsed();

    let t = Instant::now();
    let cloud = body::create_issue(JiraFlavour::Cloud, &draft, catalog).unwrap();
    let cloud = serde_json::to_vec(&cloud).unwrap();
    it.cloud_body = t.elapsed();

    let t = Instant::now();
    let dc = body::create_issue(JiraFlavour::DataCenter, &draft, catalog).unwrap();
    let dc = serde_json::to_vec(&dc).unwrap();
    it.dc_body = t.elapsed();

    let t = Instant::now();
    let created_ref = format!("https://x.atlassian.net/browse/{}", created.key);
    let fresh = issue.into_ref(created_ref);
    let payload = DefectPayload {
        name: fresh.summary.unwrap_or(draft.summary),
        status: fresh.status.unwrap_or_else(|| "Open".into()),
        priority: fresh.priority.or(draft.priority).unwrap_or_default(),
        link: fresh.browse_url,
        link_label: fresh.key,
    };
    let answer = serde_json::to_vec(&payload).unwrap();
    it.answer = t.elapsed();

    let sink = cloud.len() + dc.len() + answer.len() + created.id.len();
    (it, std::hint::black_box(sink))
}

fn write_mapping(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn part_a1(iterations: usize) {
    let dir = tempfile::tempdir().unwrap();
    let test_mapping = load_file(&write_mapping(dir.path(), "shop.toml", MAPPING)).unwrap();
    let example_text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/mappings/example.toml"
    ))
    .unwrap();
    let example_mapping =
        load_file(&write_mapping(dir.path(), "example.toml", &example_text)).unwrap();
    let fields: Vec<Field> = serde_json::from_value(jira_fields_json()).unwrap();
    let catalog = FieldCatalog::new(fields);
    let answers = Answers::new();

    let mut bytes = 0usize;
    for _ in 0..iterations / 10 + 1 {
        bytes += one_iteration(&answers, &test_mapping, &catalog).1;
        bytes += one_iteration(&answers, &example_mapping, &catalog).1;
    }
    let mut rows: Vec<(&str, Vec<Duration>)> = [
        "parse webhook body (RawCreateDefectRequest → CreateDefectRequest::parse)",
        "decode the 6 Test Manager + 2 Jira answers into model types",
        "assemble Failure (defects::assemble::failure)",
        "render mapping (ProjectMapping::render + result label)",
        "Jira Cloud create body (ADF) + serialise to bytes",
        "Jira Data Center create body (wiki) + serialise to bytes",
        "serialise the answer (DefectPayload)",
        "TOTAL per request, Jira Cloud (all but the DC body)",
        "TOTAL per request, Jira Data Center (all but the Cloud body)",
        "TOTAL per request, Cloud, mappings/example.toml",
        "TOTAL per request, DC, mappings/example.toml",
    ]
    .into_iter()
    .map(|name| (name, Vec::with_capacity(iterations)))
    .collect();
    for _ in 0..iterations {
        let (it, sink) = one_iteration(&answers, &test_mapping, &catalog);
        bytes += sink;
        let common = it.parse + it.decode + it.assemble + it.render + it.answer;
        for (i, d) in [
            it.parse,
            it.decode,
            it.assemble,
            it.render,
            it.cloud_body,
            it.dc_body,
            it.answer,
            common + it.cloud_body,
            common + it.dc_body,
        ]
        .into_iter()
        .enumerate()
        {
            rows[i].1.push(d);
        }
        let (it, sink) = one_iteration(&answers, &example_mapping, &catalog);
        bytes += sink;
        let common = it.parse + it.decode + it.assemble + it.render + it.answer;
        rows[9].1.push(common + it.cloud_body);
        rows[10].1.push(common + it.dc_body);
    }
    std::hint::black_box(bytes);

    println!("A1. The bridge's own CPU work per Create Defect, in process ({iterations} iterations, after warm-up)");
    println!(
        "    {:<74} {:>10} {:>10}",
        "stage (test MAPPING of tests/api unless noted)", "median", "p99"
    );
    for (name, samples) in &rows {
        let s = stats(samples);
        println!("    {:<74} {:>10} {:>10}", name, us(s.median), us(s.p99));
    }
    let worst = rows[7..]
        .iter()
        .map(|(_, s)| stats(s).median)
        .max()
        .unwrap();
    println!(
        "    target: median under 2 ms -> {} (worst total median {})",
        if worst < Duration::from_millis(2) {
            "MET"
        } else {
            "NOT MET"
        },
        us(worst)
    );
    println!();
}

// ---------------------------------------------------------------- A3: the ledger

async fn part_a3(rounds: usize) {
    println!("A3. Ledger work per Create Defect: get + claim + record_issue + mark_linked ({rounds} new results per store)");
    println!("    (the use case awaits get, claim and record_issue on the request's path; mark_linked runs inside the link-back, joined with GET issue)");
    println!(
        "    {:<52} {:>10} {:>10} {:>10}",
        "store", "median", "p99", "max"
    );
    let dir = tempfile::tempdir().unwrap();
    let file_url = format!("sqlite://{}", dir.path().join("ledger.db").display());
    for (name, url) in [
        (
            "SQLite file in a temp dir (WAL, synchronous=FULL)",
            file_url.as_str(),
        ),
        (
            "SQLite in memory (sqlite::memory:, no fsync)",
            "sqlite::memory:",
        ),
    ] {
        let store = ledger::connect(url, 4).await.unwrap().results;
        let mut times = Vec::with_capacity(rounds);
        for i in 0..rounds + 5 {
            let key = ResultKey::new(Uuid::new_v4(), Uuid::new_v4(), None);
            let record = IssueRecord {
                issue_key: format!("SHOP-{i}"),
                issue_id: format!("{}", 10000 + i),
                browse_url: format!("https://x.atlassian.net/browse/SHOP-{i}"),
                summary: "[SHOP:42] Checkout with an expired card failed in Nightly regression"
                    .into(),
                status: None,
                priority: Some("High".into()),
            };
            let start = Instant::now();
            assert!(store.get(&key).await.unwrap().is_none());
            let claimed = store
                .claim(
                    &key,
                    "shop",
                    "bench/1",
                    chrono::Utc::now(),
                    Duration::from_secs(120),
                )
                .await
                .unwrap();
            assert!(matches!(claimed, ClaimOutcome::Claimed { .. }));
            store
                .record_issue(&key, "bench/1", &record, chrono::Utc::now())
                .await
                .unwrap();
            store.mark_linked(&key).await.unwrap();
            if i >= 5 {
                times.push(start.elapsed());
            }
        }
        store.close().await;
        let s = stats(&times);
        println!(
            "    {:<52} {:>10} {:>10} {:>10}",
            name,
            ms(s.median),
            ms(s.p99),
            ms(s.max)
        );
    }
    println!();
}

// ---------------------------------------------------------------- fakes with latency

/// What every fake shares: the added latency and a log of arrivals.
#[derive(Clone)]
struct Shared {
    delay_ms: Arc<AtomicU64>,
    arrivals: Arc<Mutex<Vec<(Instant, &'static str)>>>,
}

impl Shared {
    fn new() -> Self {
        Self {
            delay_ms: Arc::new(AtomicU64::new(0)),
            arrivals: Arc::new(Mutex::new(Vec::new())),
        }
    }

    fn arrivals_since(&self, since: Instant) -> Vec<(Instant, &'static str)> {
        let all = self.arrivals.lock().unwrap();
        all.iter().filter(|(t, _)| *t >= since).copied().collect()
    }
}

type Answer = Box<dyn Fn(&Request) -> ResponseTemplate + Send + Sync>;

/// A fake endpoint: records its arrival, answers, then waits the shared delay.
struct Endpoint {
    name: &'static str,
    shared: Shared,
    answer: Answer,
}

impl Respond for Endpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.shared
            .arrivals
            .lock()
            .unwrap()
            .push((Instant::now(), self.name));
        let delay = self.shared.delay_ms.load(Ordering::Relaxed);
        (self.answer)(request).set_delay(Duration::from_millis(delay))
    }
}

async fn mount(
    server: &MockServer,
    shared: &Shared,
    verb: &str,
    regex: String,
    name: &'static str,
    answer: Answer,
) {
    Mock::given(method(verb))
        .and(path_regex(regex))
        .respond_with(Endpoint {
            name,
            shared: shared.clone(),
            answer,
        })
        .mount(server)
        .await;
}

fn segment(request: &Request, from_end: usize) -> String {
    let segments: Vec<&str> = request.url.path().split('/').collect();
    segments[segments.len() - 1 - from_end].to_owned()
}

/// Fake Test Manager answering any execution and log of the project.
async fn fake_test_manager(shared: &Shared) -> MockServer {
    let server = MockServer::builder()
        .disable_request_recording()
        .start()
        .await;
    mount(
        &server,
        shared,
        "POST",
        "^/org/identity_/connect/token$".into(),
        "TM POST token",
        Box::new(|_| {
            ResponseTemplate::new(200).set_body_json(
                json!({"access_token": "tm-access-token", "expires_in": 3600, "token_type": "Bearer"}),
            )
        }),
    )
    .await;
    let api = format!("^{TM_PREFIX}/api/v2/{PROJECT_ID}");
    mount(
        &server,
        shared,
        "GET",
        format!("{api}/testcaselogs/testexecution/{GUID}/paged$"),
        "TM GET testcaselogs paged",
        Box::new(|r| {
            let execution = Uuid::parse_str(&segment(r, 1)).unwrap();
            ResponseTemplate::new(200).set_body_json(paged_logs_json(execution))
        }),
    )
    .await;
    mount(
        &server,
        shared,
        "GET",
        format!("{api}/testcases/{GUID}$"),
        "TM GET testcases",
        Box::new(|r| ResponseTemplate::new(200).set_body_json(test_case_json(&segment(r, 0)))),
    )
    .await;
    mount(
        &server,
        shared,
        "GET",
        format!("{api}/testexecutions/{GUID}$"),
        "TM GET testexecutions",
        Box::new(|r| ResponseTemplate::new(200).set_body_json(execution_json(&segment(r, 0)))),
    )
    .await;
    mount(
        &server,
        shared,
        "GET",
        format!("{api}/testcaselogs/{GUID}/assertions$"),
        "TM GET assertions",
        Box::new(|r| {
            let log = Uuid::parse_str(&segment(r, 1)).unwrap();
            ResponseTemplate::new(200).set_body_json(assertions_json(log))
        }),
    )
    .await;
    mount(
        &server,
        shared,
        "GET",
        format!("{api}/testcaselogs/{GUID}/assertions/markdown$"),
        "TM GET assertions markdown",
        Box::new(|_| ResponseTemplate::new(200).set_body_json(assertions_markdown_json())),
    )
    .await;
    mount(
        &server,
        shared,
        "GET",
        format!("{api}/testcaselogs/{GUID}/robotlogs/info$"),
        "TM GET robotlogs info",
        Box::new(|_| ResponseTemplate::new(200).set_body_json(robot_log_json())),
    )
    .await;
    server
}

/// Fake Jira of either flavour: numbered creates, links, issue reads, field list.
async fn fake_jira(shared: &Shared, flavour: JiraFlavour) -> MockServer {
    let server = MockServer::builder()
        .disable_request_recording()
        .start()
        .await;
    let rest = match flavour {
        JiraFlavour::Cloud => "/rest/api/3",
        JiraFlavour::DataCenter => "/rest/api/2",
    };
    let next = Arc::new(AtomicU32::new(0));
    let base = server.uri();
    mount(
        &server,
        shared,
        "POST",
        format!("^{rest}/issue$"),
        "Jira POST issue (create)",
        Box::new(move |_| {
            let n = next.fetch_add(1, Ordering::SeqCst) + 1;
            ResponseTemplate::new(201).set_body_json(json!({
                "id": format!("{}", 10000 + n), "key": format!("SHOP-{n}"),
                "self": format!("{base}{rest}/issue/{}", 10000 + n)
            }))
        }),
    )
    .await;
    mount(
        &server,
        shared,
        "POST",
        format!("^{rest}/issue/[A-Z]+-[0-9]+/remotelink$"),
        "Jira POST remotelink",
        Box::new(|_| ResponseTemplate::new(201).set_body_json(json!({"id": 1, "self": "x"}))),
    )
    .await;
    mount(
        &server,
        shared,
        "GET",
        format!("^{rest}/issue/[A-Z]+-[0-9]+$"),
        "Jira GET issue",
        Box::new(|r| {
            ResponseTemplate::new(200).set_body_json(json!({
                "id": "10001", "key": segment(r, 0),
                "fields": {
                    "summary": "[SHOP:42] Checkout with an expired card failed in Nightly regression",
                    "status": {"name": "To Do"}, "priority": {"name": "High"}
                }
            }))
        }),
    )
    .await;
    mount(
        &server,
        shared,
        "GET",
        format!("^{rest}/field$"),
        "Jira GET field (list)",
        Box::new(|_| ResponseTemplate::new(200).set_body_json(jira_fields_json())),
    )
    .await;
    server
}

/// The bridge running against its own pair of fakes.
struct Bridge {
    address: String,
    shared: Shared,
    client: reqwest::Client,
    _tm: MockServer,
    _jira: MockServer,
    _dir: tempfile::TempDir,
}

async fn start_bridge(flavour: JiraFlavour) -> Bridge {
    let shared = Shared::new();
    let tm = fake_test_manager(&shared).await;
    let jira = fake_jira(&shared, flavour).await;
    let dir = tempfile::tempdir().unwrap();
    let mappings = dir.path().join("mappings");
    std::fs::create_dir(&mappings).unwrap();
    write_mapping(&mappings, "shop.toml", MAPPING);
    let mut secrets = BTreeMap::new();
    secrets.insert("shop".to_owned(), SecretString::from(SECRET));
    let settings = Settings {
        kpis: Default::default(),
        server: ServerSettings {
            listen: "127.0.0.1:0".into(),
            workers: Some(2),
            ..Default::default()
        },
        access: Default::default(),
        auth: AuthSettings {
            secrets,
            ..Default::default()
        },
        jira: JiraSettings {
            email: (flavour == JiraFlavour::Cloud).then(|| "bot@example.com".to_owned()),
            token: Some(SecretString::from("jira-token")),
            connect_timeout_ms: 2_000,
            timeout_ms: 5_000,
            verify_on_start: false,
            ..JiraSettings::new(flavour, Url::parse(&jira.uri()).unwrap())
        },
        testmanager: TestManagerSettings {
            client_secret: Some(SecretString::from("tm-secret")),
            scope: "TM.TestExecutions.Read".into(),
            connect_timeout_ms: 2_000,
            timeout_ms: 5_000,
            ..TestManagerSettings::new(
                Url::parse(&format!("{}{TM_PREFIX}", tm.uri())).unwrap(),
                "bridge-client",
            )
        },
        store: StoreSettings {
            url: format!("sqlite://{}", dir.path().join("ledger.db").display()),
            max_connections: 4,
        },
        mappings: MappingsSettings {
            dir: mappings,
            watch_secs: 0,
        },
        defects: DefectSettings::default(),
        outbound: Default::default(),
        evidence: Default::default(),
        writeback: Default::default(),
    };
    let app = Application::build(settings)
        .await
        .expect("the bridge starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    Bridge {
        address,
        shared,
        client: reqwest::Client::new(),
        _tm: tm,
        _jira: jira,
        _dir: dir,
    }
}

impl Bridge {
    /// One Create Defect for a new result; its wall time and the fake arrivals it caused.
    async fn create_defect(&self) -> (Duration, Vec<(Instant, &'static str)>) {
        let body = webhook_body(Uuid::new_v4());
        let start = Instant::now();
        let response = self
            .client
            .post(format!("{}/hooks/shop/{SECRET}/defects", self.address))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let answer: Value = response.json().await.unwrap();
        let elapsed = start.elapsed();
        assert_eq!(status, 200, "Create Defect failed: {answer}");
        assert!(answer["linkLabel"]
            .as_str()
            .is_some_and(|k| k.starts_with("SHOP-")));
        (elapsed, self.shared.arrivals_since(start))
    }
}

/// Groups arrivals into waves of calls in flight together: a call arriving
/// more than half the delay after the first call of the current wave starts a
/// new wave (it had to wait for an earlier answer).
fn waves(
    start: Instant,
    arrivals: &[(Instant, &'static str)],
    delay: Duration,
) -> Vec<(Duration, Vec<&'static str>)> {
    let mut out: Vec<(Instant, Vec<&'static str>)> = Vec::new();
    for (t, name) in arrivals {
        match out.last_mut() {
            Some((first, names)) if t.duration_since(*first) < delay / 2 => names.push(name),
            _ => out.push((*t, vec![name])),
        }
    }
    out.into_iter()
        .map(|(t, names)| (t.duration_since(start), names))
        .collect()
}

fn flavour_name(flavour: JiraFlavour) -> &'static str {
    match flavour {
        JiraFlavour::Cloud => "Cloud",
        JiraFlavour::DataCenter => "Data Center",
    }
}

// ---------------------------------------------------------------- A2 and B

async fn part_a2(requests: usize) {
    println!("A2. Full Create Defect over HTTP against fakes with ZERO added latency ({requests} sequential requests per flavour, each a new result, after 1 warm-up)");
    println!("    (upper bound of the bridge's own work: includes loopback HTTP to the fakes, the fakes themselves, 3 SQLite commits with synchronous=FULL)");
    println!(
        "    {:<12} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "Jira", "median", "p99", "min", "max", "calls/req"
    );
    for flavour in [JiraFlavour::Cloud, JiraFlavour::DataCenter] {
        let bridge = start_bridge(flavour).await;
        bridge.create_defect().await; // token, field list, pools
        let mut times = Vec::with_capacity(requests);
        let mut calls = Vec::with_capacity(requests);
        for _ in 0..requests {
            let (t, arrivals) = bridge.create_defect().await;
            times.push(t);
            calls.push(arrivals.len());
        }
        let s = stats(&times);
        println!(
            "    {:<12} {:>10} {:>10} {:>10} {:>10} {:>10}",
            flavour_name(flavour),
            ms(s.median),
            ms(s.p99),
            ms(s.min),
            ms(s.max),
            median_u(&calls)
        );
    }
    println!();
}

async fn part_b(requests: usize, delay: Duration) {
    println!(
        "B. Overlap of upstream calls: every fake Test Manager and Jira answer delayed {} ms ({requests} sequential Create Defects per flavour, new results, token and field list warm)",
        delay.as_millis()
    );
    println!(
        "    {:<12} {:>10} {:>10} {:>10} {:>10} {:>12} {:>12} {:>12} {:>22}",
        "Jira",
        "median",
        "min",
        "max",
        "calls/req",
        "chain (RTs)",
        "chain×delay",
        "calls×delay",
        "median − chain×delay"
    );
    let mut detail = Vec::new();
    for flavour in [JiraFlavour::Cloud, JiraFlavour::DataCenter] {
        let bridge = start_bridge(flavour).await;
        bridge
            .shared
            .delay_ms
            .store(delay.as_millis() as u64, Ordering::Relaxed);
        // Cold: token and field list not cached yet.
        let start = Instant::now();
        let (cold_time, cold_arrivals) = bridge.create_defect().await;
        let cold_waves = waves(start, &cold_arrivals, delay);
        let mut times = Vec::with_capacity(requests);
        let mut calls = Vec::with_capacity(requests);
        let mut chains = Vec::with_capacity(requests);
        let mut last_waves = Vec::new();
        for _ in 0..requests {
            let start = Instant::now();
            let (t, arrivals) = bridge.create_defect().await;
            let w = waves(start, &arrivals, delay);
            times.push(t);
            calls.push(arrivals.len());
            chains.push(w.len());
            last_waves = w;
        }
        let s = stats(&times);
        let chain = median_u(&chains);
        let n_calls = median_u(&calls);
        println!(
            "    {:<12} {:>10} {:>10} {:>10} {:>10} {:>12} {:>12} {:>12} {:>22}",
            flavour_name(flavour),
            ms(s.median),
            ms(s.min),
            ms(s.max),
            n_calls,
            chain,
            ms(delay * chain as u32),
            ms(delay * n_calls as u32),
            ms(s.median.saturating_sub(delay * chain as u32)),
        );
        detail.push((
            flavour,
            cold_time,
            cold_arrivals.len(),
            cold_waves,
            last_waves,
        ));
    }
    for (flavour, cold_time, cold_calls, cold_waves, warm_waves) in detail {
        println!();
        println!(
            "    {} — waves of calls in flight together (arrival at the fakes, from the webhook POST):",
            flavour_name(flavour)
        );
        println!("      warm request (last measured):");
        for (i, (at, names)) in warm_waves.iter().enumerate() {
            println!("        {}. +{:>6}  {}", i + 1, ms(*at), names.join(" ‖ "));
        }
        println!(
            "      cold first request (no token, no field list): {} total, {cold_calls} calls, {} waves:",
            ms(cold_time),
            cold_waves.len()
        );
        for (i, (at, names)) in cold_waves.iter().enumerate() {
            println!("        {}. +{:>6}  {}", i + 1, ms(*at), names.join(" ‖ "));
        }
    }
    println!();
}

fn main() {
    let full = common::full_mode("Create Defect", "");
    let (a1, a2, a3, b) = if full {
        (2000, 300, 200, 20)
    } else {
        (20, 5, 5, 3)
    };
    let started = Instant::now();
    part_a1(a1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        part_a2(a2).await;
        part_a3(a3).await;
        part_b(b, Duration::from_millis(50)).await;
    });
    println!("total bench time: {:.1} s", started.elapsed().as_secs_f64());
    // The bridges' actix workers run until the process ends.
    std::process::exit(0);
}
