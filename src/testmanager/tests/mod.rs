//! Tests of the HTTP client against a fake Test Manager and identity server.
//!
//! The fake behaves like the real services as far as UiPath's public documentation
//! describes them: it issues tokens only for the right credentials, rejects unknown or
//! expired tokens with 401, pages by `top`/`skip`, filters by `onlyFailed`,
//! and answers 404 for unknown objects. Tests assert what it received.
//!
//! This file holds the fake and its fixtures; the tests are in files by concept:
//! - `token`: requesting, reusing and renewing the token, and refusals;
//! - `paths`: the URLs called under cloud and standalone bases;
//! - `logs`: paging the log listing and choosing the latest failed run;
//! - `failure`: gathering a failure's details;
//! - `errors`: how failures of the services surface as errors;
//! - `defect_writes`: reading and updating defects;
//! - `defect_ids`: which defect a result has.

use super::*;
use crate::result_key::ResultKey;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use url::Url;
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

mod defect_ids;
mod defect_writes;
mod errors;
mod failure;
mod logs;
mod paths;
mod token;

const CLIENT_ID: &str = "bridge-app";
const SECRET: &str = "very-secret-Value-123";
const SCOPE: &str = "TM.Projects.Read TM.TestCases.Read TM.TestExecutions.Read";
/// A defect id as Test Manager issues them.
const DEFECT: &str = "0a1b2c3d-0000-0000-0000-000000000009";

fn project() -> Uuid {
    Uuid::parse_str("aaaaaaaa-0000-0000-0000-000000000001").unwrap()
}
fn execution() -> Uuid {
    Uuid::parse_str("eeeeeeee-0000-0000-0000-000000000001").unwrap()
}
fn case() -> Uuid {
    Uuid::parse_str("cccccccc-0000-0000-0000-000000000001").unwrap()
}
fn other_case(n: usize) -> Uuid {
    Uuid::from_u128(0xdddd_0000_0000_0000_0000_0000_0000_0000 + n as u128)
}
fn log_id(n: usize) -> Uuid {
    Uuid::from_u128(0x1000_0000_0000_0000_0000_0000_0000_0000 + n as u128)
}
fn key(variation: Option<&str>) -> ResultKey {
    ResultKey::new(execution(), case(), variation.map(str::to_owned))
}

/// A log as Test Manager lists it.
fn log(n: usize, test_case: Uuid, variation: Value, result: &str, end: &str) -> Value {
    json!({
        "id": log_id(n), "testCaseId": test_case, "testExecutionId": execution(),
        "variationId": variation, "result": result, "hasError": result == "Failed",
        "executionStart": null, "executionEnd": end, "runId": n,
        "testCase": {"objKey": "SHOP:42", "name": "Checkout"},
        "robotName": "robot-1", "unknownField": [1, 2]
    })
}

/// [`filler`], then log `count + 1`: the test case's one failed run.
fn filler_then_failure(count: usize) -> Vec<Value> {
    let mut logs = filler(count);
    logs.push(log(
        count + 1,
        case(),
        Value::Null,
        "Failed",
        "2024-05-01T10:00:00Z",
    ));
    logs
}

fn filler(count: usize) -> Vec<Value> {
    (0..count)
        .map(|n| {
            log(
                500 + n,
                other_case(n),
                Value::Null,
                "Failed",
                "2024-05-01T08:00:00Z",
            )
        })
        .collect()
}

/// Shared state of the fake: tokens issued and still valid, and switches.
struct State {
    delay: Duration,
    expires_in: AtomicU64,
    issued: AtomicUsize,
    valid: Mutex<HashMap<String, Instant>>,
    reject_all_tokens: AtomicBool,
}

impl State {
    fn template(&self, status: u16) -> ResponseTemplate {
        ResponseTemplate::new(status).set_delay(self.delay)
    }

    /// Revokes every token, as an identity server restart or key roll would.
    fn revoke_all(&self) {
        self.valid.lock().unwrap().clear();
    }

    fn authorised(&self, request: &Request) -> bool {
        if self.reject_all_tokens.load(Ordering::SeqCst) {
            return false;
        }
        let Some(token) = request
            .headers
            .get("authorization")
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
        else {
            return false;
        };
        self.valid
            .lock()
            .unwrap()
            .get(token)
            .is_some_and(|expires| Instant::now() < *expires)
    }
}

/// Wraps an API handler: 401 without a valid bearer token, the configured delay always.
fn api<F>(state: &Arc<State>, handler: F) -> impl Respond
where
    F: Fn(&Request) -> ResponseTemplate + Send + Sync + 'static,
{
    let state = Arc::clone(state);
    move |request: &Request| {
        if state.authorised(request) {
            handler(request).set_delay(state.delay)
        } else {
            state.template(401).set_body_string("")
        }
    }
}

fn form(request: &Request) -> HashMap<String, String> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

fn query(request: &Request) -> HashMap<String, String> {
    request.url.query_pairs().into_owned().collect()
}

#[derive(Clone, Copy, PartialEq)]
enum PagingStyle {
    Full,
    Missing,
}

#[derive(Clone, Copy, PartialEq)]
enum OnlyFailedFilter {
    ByResult,
    /// A server whose `onlyFailed` means `hasError` (possible, undocumented).
    ByHasError,
}

struct Fake {
    server: MockServer,
    state: Arc<State>,
    /// Path of Test Manager under the server root, e.g. `/acme/T1/testmanager_`.
    prefix: String,
    base_url: Url,
    token_url: Url,
}

impl Fake {
    async fn cloud() -> Self {
        Self::start("/acme/DefaultTenant/testmanager_", Duration::ZERO).await
    }

    async fn start(prefix: &str, delay: Duration) -> Self {
        let server = MockServer::start().await;
        // Cloud bases are configured without a trailing slash, standalone with one.
        let base = if prefix.is_empty() {
            format!("{}/", server.uri())
        } else {
            format!("{}{prefix}", server.uri())
        };
        let base_url = Url::parse(&base).unwrap();
        let token_url = default_token_url(&base_url);
        let state = Arc::new(State {
            delay,
            expires_in: AtomicU64::new(3600),
            issued: AtomicUsize::new(0),
            valid: Mutex::new(HashMap::new()),
            reject_all_tokens: AtomicBool::new(false),
        });
        let token_state = Arc::clone(&state);
        Mock::given(method("POST"))
            .and(path(token_url.path()))
            .respond_with(move |request: &Request| {
                let form = form(request);
                let field = |name: &str| form.get(name).map(String::as_str);
                if field("grant_type") != Some("client_credentials") {
                    return token_state
                        .template(400)
                        .set_body_json(json!({"error": "unsupported_grant_type"}));
                }
                if field("client_id") != Some(CLIENT_ID) || field("client_secret") != Some(SECRET) {
                    return token_state.template(400).set_body_json(json!({
                        "error": "invalid_client",
                        "error_description": "Client authentication failed"
                    }));
                }
                let n = token_state.issued.fetch_add(1, Ordering::SeqCst) + 1;
                let token = format!("tok-{n}");
                let expires_in = token_state.expires_in.load(Ordering::SeqCst);
                token_state.valid.lock().unwrap().insert(
                    token.clone(),
                    Instant::now() + Duration::from_secs(expires_in),
                );
                token_state.template(200).set_body_json(json!({
                    "access_token": token, "expires_in": expires_in,
                    "token_type": "Bearer", "scope": field("scope")
                }))
            })
            .mount(&server)
            .await;
        Self {
            server,
            state,
            prefix: prefix.to_owned(),
            base_url,
            token_url,
        }
    }

    fn connection(&self) -> TestManagerConnection {
        TestManagerConnection {
            base_url: self.base_url.clone(),
            token_url: self.token_url.clone(),
            client_id: CLIENT_ID.to_owned(),
            client_secret: SECRET.into(),
            scope: SCOPE.to_owned(),
        }
    }

    fn client(&self) -> TestManagerClient {
        TestManagerClient::new(reqwest::Client::new(), self.connection())
    }

    /// The failure of the result without variation, as the client fetches it.
    async fn fetch_failure(&self) -> Result<FailureDetails, TestManagerError> {
        self.client().fetch_failure(project(), &key(None)).await
    }

    fn api_path(&self, rest: &str) -> String {
        format!("{}/api/v2/{}/{rest}", self.prefix, project())
    }

    fn paged_path(&self) -> String {
        self.api_path(&format!("testcaselogs/testexecution/{}/paged", execution()))
    }

    fn log_path(&self, n: usize, rest: &str) -> String {
        self.api_path(&format!("testcaselogs/{}/{rest}", log_id(n)))
    }

    async fn get(&self, at: String, responder: impl Respond + 'static) {
        Mock::given(method("GET"))
            .and(path(at))
            .respond_with(responder)
            .mount(&self.server)
            .await;
    }

    /// Answers GET `rest` under the project's API with `template`, behind the token check.
    async fn answer(&self, rest: &str, template: ResponseTemplate) {
        self.get(
            self.api_path(rest),
            api(&self.state, move |_| template.clone()),
        )
        .await;
    }

    /// The listing holds one log: the test case's failed run, log 1.
    async fn mount_one_failed_log(&self) {
        let failed = log(1, case(), Value::Null, "Failed", "2024-05-01T10:00:00Z");
        self.mount_logs(vec![failed], PagingStyle::Full, OnlyFailedFilter::ByResult)
            .await;
    }

    /// The paged log listing over `logs`, honouring `top`, `skip` and `onlyFailed`.
    async fn mount_logs(&self, logs: Vec<Value>, style: PagingStyle, filter: OnlyFailedFilter) {
        let listing = api(&self.state, move |request| {
            let q = query(request);
            let top: usize = q.get("top").and_then(|v| v.parse().ok()).unwrap_or(50);
            let skip: usize = q.get("skip").and_then(|v| v.parse().ok()).unwrap_or(0);
            let only_failed = q.get("onlyFailed").is_some_and(|v| v == "true");
            let selected: Vec<&Value> = logs
                .iter()
                .filter(|l| {
                    !only_failed
                        || match filter {
                            OnlyFailedFilter::ByResult => l["result"] == "Failed",
                            OnlyFailedFilter::ByHasError => l["hasError"] == true,
                        }
                })
                .collect();
            let page: Vec<&Value> = selected.iter().skip(skip).take(top).copied().collect();
            let total = selected.len();
            let body = match style {
                PagingStyle::Full => json!({
                    "data": page,
                    "paging": {
                        "total": total, "page": skip / top + 1,
                        "pages": total.div_ceil(top), "pageSize": top, "returned": page.len()
                    }
                }),
                PagingStyle::Missing => json!({"data": page}),
            };
            ResponseTemplate::new(200).set_body_json(body)
        });
        self.get(self.paged_path(), listing).await;
    }

    async fn mount_case_and_execution(&self) {
        let case_body = json!({
            "id": case(), "objKey": "SHOP:42", "name": "Checkout", "description": "Buys a thing",
            "labels": ["smoke", {"id": 3, "name": "payments"}], "projectId": project()
        });
        self.get(
            self.api_path(&format!("testcases/{}", case())),
            api(&self.state, move |_| {
                ResponseTemplate::new(200).set_body_json(case_body.clone())
            }),
        )
        .await;
        self.get(
            self.api_path(&format!("testexecutions/{}", execution())),
            api(&self.state, |_| {
                ResponseTemplate::new(200).set_body_json(
                    json!({"id": execution(), "name": "Nightly", "type": "Automated"}),
                )
            }),
        )
        .await;
    }

    /// Assertions, markdown (as a JSON string) and robot logs for log `n`.
    async fn mount_log_details(&self, n: usize) {
        let assertions = json!([
            {"id": Uuid::from_u128(1), "testCaseLogId": log_id(n), "message": "cart total", "succeeded": false, "hasScreenshot": true, "screenshotFileName": "s.png", "screenshotFileSize": 10},
            {"id": Uuid::from_u128(2), "testCaseLogId": log_id(n), "message": "logged in", "succeeded": true, "payload": null}
        ]);
        self.get(
            self.log_path(n, "assertions"),
            api(&self.state, move |_| {
                ResponseTemplate::new(200).set_body_json(assertions.clone())
            }),
        )
        .await;
        self.mount_markdown(
            n,
            ResponseTemplate::new(200).set_body_json("| assertion |\n| --- |"),
        )
        .await;
        self.get(
            self.log_path(n, "robotlogs/info"),
            api(&self.state, |_| {
                ResponseTemplate::new(200).set_body_json(json!({"count": 3, "levels": ["Error"]}))
            }),
        )
        .await;
    }

    async fn mount_markdown(&self, n: usize, template: ResponseTemplate) {
        self.get(
            self.log_path(n, "assertions/markdown"),
            api(&self.state, move |_| template.clone()),
        )
        .await;
    }

    /// A complete fake whose only failed result of the key is log `n`.
    async fn standard(prefix: &str, delay: Duration) -> Self {
        let fake = Self::start(prefix, delay).await;
        let mut logs = filler(3);
        logs.push(log(
            7,
            case(),
            Value::Null,
            "Failed",
            "2024-05-01T10:00:00Z",
        ));
        fake.mount_logs(logs, PagingStyle::Full, OnlyFailedFilter::ByResult)
            .await;
        fake.mount_case_and_execution().await;
        fake.mount_log_details(7).await;
        fake
    }

    async fn received(&self) -> Vec<Request> {
        self.server.received_requests().await.unwrap()
    }

    async fn token_requests(&self) -> Vec<Request> {
        self.received()
            .await
            .into_iter()
            .filter(|r| r.url.path() == self.token_url.path())
            .collect()
    }

    async fn requests_to(&self, at: &str) -> Vec<Request> {
        self.received()
            .await
            .into_iter()
            .filter(|r| r.url.path() == at)
            .collect()
    }
}

fn bearer(request: &Request) -> String {
    request.headers["authorization"]
        .to_str()
        .unwrap()
        .to_owned()
}
