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
    ServerSettings, Settings, StoreSettings, TestManagerSettings,
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
            json!({"id": seeded.test_case_id, "objKey": "SHOP:42", "name": "Checkout with an expired card", "description": "Cards past their date are refused.", "labels": ["checkout"]}),
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
                {"id": Uuid::new_v4(), "testCaseLogId": seeded.log_id, "message": "Expected 'Card declined' but found 'Thank you'", "payload": "expected=Card declined", "hasScreenshot": true, "succeeded": false, "screenshotFileName": "assert-1.png", "screenshotFileSize": 1234},
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
}

/// Fake Jira of either flavour. Creates are stateful (keys SHOP-1, SHOP-2, …)
/// and searchable by label, like the real thing.
pub struct FakeJira {
    pub server: MockServer,
    pub issues: Arc<Mutex<Vec<FakeIssue>>>,
    /// Path prefix the fake serves under (a context path like `/jira`).
    pub context: String,
}

struct CreateResponder {
    issues: Arc<Mutex<Vec<FakeIssue>>>,
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
        });
        ResponseTemplate::new(201).set_body_json(json!({
            "id": format!("{}", 10000 + n), "key": key, "self": format!("{}/rest/api/{}/issue/{}", self.base, self.api, 10000 + n)
        }))
    }
}

struct SearchResponder {
    issues: Arc<Mutex<Vec<FakeIssue>>>,
    flavour: JiraFlavour,
}

impl Respond for SearchResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let jql = body["jql"].as_str().unwrap_or_default().to_owned();
        let issues = self.issues.lock().unwrap();
        let found: Vec<Value> = issues
            .iter()
            .filter(|i| i.labels.iter().any(|l| jql.contains(&format!("labels = \"{l}\""))))
            .map(|i| json!({"id": "1", "key": i.key, "fields": {"summary": i.body["fields"]["summary"], "status": {"name": "To Do"}, "priority": {"name": "Medium"}}}))
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

impl FakeJira {
    /// A fake serving under a context path, e.g. `/jira`.
    pub async fn start_at(flavour: JiraFlavour, context: &str) -> Self {
        let server = MockServer::start().await;
        let issues = Arc::new(Mutex::new(Vec::new()));
        let api = match flavour {
            JiraFlavour::Cloud => "3",
            JiraFlavour::DataCenter => "2",
        };
        let rest = format!("{context}/rest/api/{api}");
        Mock::given(method("POST"))
            .and(path(format!("{rest}/issue")))
            .respond_with(CreateResponder {
                issues: issues.clone(),
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
                let key = request.url.path().rsplit('/').next().unwrap_or_default().to_owned();
                let issues = known.lock().unwrap();
                match issues.iter().find(|i| i.key == key) {
                    None => ResponseTemplate::new(404)
                        .set_body_json(json!({"errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}})),
                    Some(issue) => ResponseTemplate::new(200).set_body_json(json!({
                        "id": "10001", "key": key,
                        "fields": {
                            "summary": issue.body["fields"]["summary"],
                            "status": {"name": "To Do"},
                            "priority": {"name": issue.body["fields"]["priority"]["name"].as_str().unwrap_or("Medium")}
                        }
                    })),
                }
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
            context: context.to_owned(),
        }
    }

    pub fn base_url(&self) -> Url {
        Url::parse(&format!("{}{}", self.server.uri(), self.context)).unwrap()
    }

    pub fn issues(&self) -> Vec<FakeIssue> {
        self.issues.lock().unwrap().clone()
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
            connect_timeout_ms: 2_000,
            timeout_ms: 5_000,
        },
        store: StoreSettings {
            url: store_url,
            max_connections: 4,
        },
        mappings: MappingsSettings { dir },
        defects: DefectSettings {
            claim_stale_after_secs: 120,
            wait_for_winner_secs: 10,
        },
        kpis: KpiSettings::default(),
    }
}

pub async fn spawn_app_with(options: AppOptions) -> TestApp {
    let jira = FakeJira::start_at(options.flavour, &options.jira_context).await;
    let tm = FakeTestManager::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mappings = dir.path().join("mappings");
    std::fs::create_dir(&mappings).unwrap();
    std::fs::write(mappings.join("shop.toml"), &options.mapping).unwrap();
    let store = format!("sqlite://{}", dir.path().join("ledger.db").display());
    let mut settings = settings(&jira, &tm, mappings, options.flavour, store);
    settings.kpis = options.kpis;
    let app = Application::build(settings).await.expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        jira,
        tm,
        client: reqwest::Client::new(),
        _dir: dir,
    }
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
