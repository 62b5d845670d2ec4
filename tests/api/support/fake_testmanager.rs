//! Fake Test Manager: the OAuth token endpoint and the v2 REST endpoints the bridge
//! reads, serving results a test seeds. Defects (read and PATCHed by write-back) are
//! kept by [`super::tm_defects`].

use super::tm_defects::TmDefects;
use super::{PROJECT_ID, TM_PREFIX};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use url::Url;
use uuid::Uuid;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A Test Manager result the fake knows.
#[derive(Clone)]
pub struct SeededResult {
    pub execution_id: Uuid,
    pub test_case_id: Uuid,
    pub variation_id: Option<String>,
    pub log_id: Uuid,
    /// The log's `defectId` (`None`: `null`, no defect yet).
    pub defect_id: Option<String>,
}

/// The `defectId` Test Manager gives a log without a defect.
pub const NO_DEFECT: &str = "00000000-0000-0000-0000-000000000000";

impl SeededResult {
    /// A result with fresh ids (seed it with [`FakeTestManager::seed`]).
    pub fn new(variation: Option<&str>) -> Self {
        Self {
            execution_id: Uuid::new_v4(),
            test_case_id: Uuid::new_v4(),
            variation_id: variation.map(Into::into),
            log_id: Uuid::new_v4(),
            defect_id: None,
        }
    }

    /// The same result whose log names Test Manager defect `defect_id` (an id, `""` or
    /// [`NO_DEFECT`]).
    pub fn with_defect(self, defect_id: &str) -> Self {
        Self {
            defect_id: Some(defect_id.to_owned()),
            ..self
        }
    }

    /// The Create Defect request Test Manager sends for this result.
    pub fn body(&self) -> Value {
        json!({
            "testExecutionId": self.execution_id,
            "testCaseId": self.test_case_id,
            "variationId": self.variation_id,
            "linkToTestCaseLog": format!("https://tm.example.com/SHOP/testcaselog/{}", self.log_id),
        })
    }
}

/// A test case and how its run failed, as [`FakeTestManager::seed_case`] serves them.
#[derive(Clone, Copy)]
pub struct SeededCase<'a> {
    /// Its key, e.g. `SHOP:42`.
    pub key: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub labels: &'a [&'a str],
    /// The test execution's name.
    pub execution: &'a str,
    /// The machine the robot ran on.
    pub host: &'a str,
    /// The failed assertion's message and payload.
    pub message: &'a str,
    pub payload: &'a str,
}

impl SeededCase<'static> {
    /// SHOP:42, "Checkout with an expired card", failed in "Nightly regression".
    pub const CHECKOUT: Self = Self {
        key: "SHOP:42",
        name: "Checkout with an expired card",
        description: "Cards past their date are refused.",
        labels: &["checkout"],
        execution: "Nightly regression",
        host: "WIN-TEST-01",
        message: "Expected 'Card declined' but found 'Thank you'",
        payload: "expected=Card declined",
    };
}

impl Default for SeededCase<'_> {
    /// [`SeededCase::CHECKOUT`].
    fn default() -> Self {
        SeededCase::CHECKOUT
    }
}

/// Fake Test Manager: OAuth token endpoint plus the v2 REST endpoints.
pub struct FakeTestManager {
    pub server: MockServer,
    /// The defects it holds and the faults of their endpoint.
    pub defects: Arc<Mutex<TmDefects>>,
}

impl FakeTestManager {
    /// A fake that grants tokens and knows no results yet.
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/org/identity_/connect/token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": "tm-access-token", "expires_in": 3600, "token_type": "Bearer"
            })))
            .mount(&server)
            .await;
        let tm = Self {
            server,
            defects: Arc::default(),
        };
        tm.mount_defects().await;
        tm
    }

    /// Where the bridge finds Test Manager's API.
    pub fn base_url(&self) -> Url {
        Url::parse(&format!("{}{TM_PREFIX}", self.server.uri())).unwrap()
    }

    /// The path of `suffix` under the project's v2 API, e.g. `testcases/{id}`.
    pub fn api(suffix: &str) -> String {
        format!("{TM_PREFIX}/api/v2/{PROJECT_ID}/{suffix}")
    }

    /// Seeds a result of the default [`SeededCase`] whose latest run has `result`
    /// ("Failed" or "Passed").
    pub async fn seed(&self, seeded: &SeededResult, result: &str) {
        self.seed_case(seeded, result, &SeededCase::default()).await;
    }

    /// Seeds a result whose test case is called `name` and whose failed assertion says `message`.
    pub async fn seed_with(&self, seeded: &SeededResult, result: &str, name: &str, message: &str) {
        let case = SeededCase {
            name,
            message,
            ..SeededCase::default()
        };
        self.seed_case(seeded, result, &case).await;
    }

    /// Seeds a result of the test case `case` whose latest run has `result`.
    pub async fn seed_case(&self, seeded: &SeededResult, result: &str, case: &SeededCase<'_>) {
        let log = json!({
            "id": seeded.log_id, "testCaseId": seeded.test_case_id, "testExecutionId": seeded.execution_id,
            "variationId": seeded.variation_id, "result": result, "hasError": false,
            "executionStart": "2026-11-27T02:00:00Z", "executionEnd": "2026-11-27T02:01:00Z",
            "robotName": "robot-7", "hostMachineName": case.host, "executedBy": "robot@example.com",
            "testCase": {"objKey": case.key, "name": case.name},
            "defectId": seeded.defect_id
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
        self.get(&format!("testcaselogs/{}", seeded.log_id), log.clone())
            .await;
        self.get(
            &format!("testcases/{}", seeded.test_case_id),
            json!({"id": seeded.test_case_id, "objKey": case.key, "name": case.name, "description": case.description, "labels": case.labels}),
        )
        .await;
        self.get(
            &format!("testexecutions/{}", seeded.execution_id),
            json!({"id": seeded.execution_id, "name": case.execution, "executionType": "Automated"}),
        )
        .await;
        self.get(
            &format!("testcaselogs/{}/assertions", seeded.log_id),
            json!([
                {"id": Uuid::new_v4(), "testCaseLogId": seeded.log_id, "message": case.message, "payload": case.payload, "hasScreenshot": true, "succeeded": false, "screenshotFileName": "assert-1.png", "screenshotFileSize": 1234},
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
