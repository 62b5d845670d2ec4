//! Tests of the HTTP client against a fake Test Manager and identity server.
//!
//! The fake behaves like the real services as far as UiPath's public documentation
//! describes them: it issues tokens only for the right credentials, rejects unknown or
//! expired tokens with 401, pages by `top`/`skip`, filters by `onlyFailed`,
//! and answers 404 for unknown objects. Tests assert what it received.

use super::*;
use crate::result_key::ResultKey;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use url::Url;
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

mod defect_writes;

const CLIENT_ID: &str = "bridge-app";
const SECRET: &str = "very-secret-Value-123";
const SCOPE: &str = "TM.Projects.Read TM.TestCases.Read TM.TestExecutions.Read";

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

// ---------------------------------------------------------------- token

#[tokio::test]
async fn token_request_carries_client_credentials_and_is_reused() {
    let fake = Fake::standard("/acme/DefaultTenant/testmanager_", Duration::ZERO).await;
    let client = fake.client();
    for _ in 0..3 {
        client.fetch_failure(project(), &key(None)).await.unwrap();
    }
    let tokens = fake.token_requests().await;
    assert_eq!(tokens.len(), 1, "one token for several fetches");
    assert_eq!(tokens[0].method.as_str(), "POST");
    assert_eq!(
        tokens[0].headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    let form = form(&tokens[0]);
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["client_id"], CLIENT_ID);
    assert_eq!(form["client_secret"], SECRET);
    assert_eq!(form["scope"], SCOPE);
    let api_calls: Vec<Request> = fake
        .received()
        .await
        .into_iter()
        .filter(|r| r.url.path().contains("/api/v2/"))
        .collect();
    assert_eq!(api_calls.len(), 3 * 6);
    assert!(api_calls.iter().all(|r| bearer(r) == "Bearer tok-1"));
}

#[tokio::test]
async fn short_lived_token_is_renewed_before_it_expires() {
    let fake = Fake::standard("", Duration::ZERO).await;
    // 2 s lifetime: renewal margin is 10% (0.2 s), not 60 s.
    fake.state.expires_in.store(2, Ordering::SeqCst);
    let client = fake.client();
    client.probe().await.unwrap();
    client.probe().await.unwrap();
    assert_eq!(fake.token_requests().await.len(), 1, "still fresh: reused");
    tokio::time::sleep(Duration::from_millis(1900)).await;
    // Still valid at the fake for 0.1 s, but inside the renewal margin.
    client.fetch_failure(project(), &key(None)).await.unwrap();
    assert_eq!(fake.token_requests().await.len(), 2);
    let api_calls: Vec<Request> = fake
        .received()
        .await
        .into_iter()
        .filter(|r| r.url.path().contains("/api/"))
        .collect();
    assert_eq!(api_calls.len(), 6);
    assert!(
        api_calls.iter().all(|r| bearer(r) == "Bearer tok-2"),
        "the near-expiry token was not used for the API"
    );
}

// Several worker threads and a common start, so that callers really do reach
// the token cache together (on one thread they would queue in spawn order).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_callers_share_one_token_request() {
    let fake = Fake::standard("", Duration::from_millis(200)).await;
    let client = Arc::new(fake.client());
    let start = Arc::new(tokio::sync::Barrier::new(20));
    let calls = (0..20).map(|_| {
        let (client, start) = (Arc::clone(&client), Arc::clone(&start));
        tokio::spawn(async move {
            start.wait().await;
            client.fetch_failure(project(), &key(None)).await
        })
    });
    for result in futures::future::join_all(calls).await {
        result.unwrap().unwrap();
    }
    assert_eq!(fake.token_requests().await.len(), 1);
}

#[tokio::test]
async fn api_401_renews_the_token_and_retries_once() {
    let fake = Fake::standard("", Duration::ZERO).await;
    let client = fake.client();
    client.fetch_failure(project(), &key(None)).await.unwrap();
    fake.state.revoke_all();

    // Three calls overlap in the first phase; all get 401 with tok-1, but only
    // one renewal happens.
    let details = client.fetch_failure(project(), &key(None)).await.unwrap();
    assert_eq!(details.log.id, log_id(7));
    assert_eq!(fake.token_requests().await.len(), 2);

    // One call: exactly one retry, with the new token.
    let case_path = fake.api_path(&format!("testcases/{}", case()));
    let before = fake.requests_to(&case_path).await.len();
    fake.state.revoke_all();
    client.fetch_failure(project(), &key(None)).await.unwrap();
    let case_calls = fake.requests_to(&case_path).await;
    let mine = &case_calls[before..];
    assert_eq!(mine.len(), 2, "one refused call and one retry");
    assert_eq!(bearer(&mine[0]), "Bearer tok-2");
    assert_eq!(bearer(&mine[1]), "Bearer tok-3");
}

#[tokio::test]
async fn api_401_after_renewal_is_an_auth_error() {
    let fake = Fake::start("", Duration::ZERO).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/projects/prefix/SHOP"))
        .respond_with(api(&fake.state, |_| {
            ResponseTemplate::new(200).set_body_json(json!({"id": project()}))
        }))
        .mount(&fake.server)
        .await;
    fake.state.reject_all_tokens.store(true, Ordering::SeqCst);
    let err = fake.client().project_by_prefix("SHOP").await.unwrap_err();
    assert!(matches!(err, TestManagerError::Auth { .. }), "{err:?}");
    let shown = err.to_string();
    assert!(shown.contains("TM.Projects.Read"), "{shown}");
    assert!(shown.contains("/api/v2/projects/prefix/SHOP"), "{shown}");
    assert_eq!(
        fake.requests_to("/api/v2/projects/prefix/SHOP").await.len(),
        2
    );
    assert_eq!(fake.token_requests().await.len(), 2);
}

#[tokio::test]
async fn refused_credentials_name_endpoint_and_code_but_not_secret() {
    let fake = Fake::start("/acme/DefaultTenant/testmanager_", Duration::ZERO).await;
    let mut connection = fake.connection();
    let wrong_secret = "wrong-secret-Value-999";
    connection.client_secret = wrong_secret.into();
    let client = TestManagerClient::new(reqwest::Client::new(), connection);
    let err = client.probe().await.unwrap_err();
    let shown = err.to_string();
    assert!(matches!(err, TestManagerError::Auth { .. }), "{err:?}");
    assert!(
        shown.contains(&format!(
            "{}/acme/identity_/connect/token",
            fake.server.uri()
        )),
        "{shown}"
    );
    assert!(shown.contains("invalid_client"), "{shown}");
    assert!(!shown.contains(wrong_secret), "{shown}");
    assert!(!format!("{err:?}").contains(wrong_secret));
    assert!(!format!("{client:?}").contains(wrong_secret));
    assert!(!err.is_transient());
}

#[tokio::test]
async fn secret_echoed_by_the_identity_server_is_scrubbed() {
    // Defensive: a misbehaving identity server quoting the request back.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client",
            "error_description": format!("bad secret {SECRET}")
        })))
        .mount(&server)
        .await;
    let base = Url::parse(&server.uri()).unwrap();
    let client = TestManagerClient::new(
        reqwest::Client::new(),
        TestManagerConnection {
            token_url: default_token_url(&base),
            base_url: base,
            client_id: CLIENT_ID.into(),
            client_secret: SECRET.into(),
            scope: SCOPE.into(),
        },
    );
    let shown = client.probe().await.unwrap_err().to_string();
    assert!(
        shown.contains("invalid_client") && !shown.contains(SECRET),
        "{shown}"
    );
}

// ---------------------------------------------------------------- paths

async fn assert_paths(prefix: &str, token_path: &str) {
    let fake = Fake::standard(prefix, Duration::ZERO).await;
    let details = fake
        .client()
        .fetch_failure(project(), &key(None))
        .await
        .unwrap();
    assert_eq!(details.log.id, log_id(7));
    let received: HashSet<String> = fake
        .received()
        .await
        .iter()
        .map(|r| match r.url.query() {
            Some(q) => format!("{} {}?{q}", r.method, r.url.path()),
            None => format!("{} {}", r.method, r.url.path()),
        })
        .collect();
    let p = project();
    let (e, c, l) = (execution(), case(), log_id(7));
    let expected: HashSet<String> = [
        format!("POST {token_path}"),
        format!("GET {prefix}/api/v2/{p}/testcaselogs/testexecution/{e}/paged?onlyFailed=true&top=100&skip=0"),
        format!("GET {prefix}/api/v2/{p}/testcases/{c}"),
        format!("GET {prefix}/api/v2/{p}/testexecutions/{e}"),
        format!("GET {prefix}/api/v2/{p}/testcaselogs/{l}/assertions"),
        format!("GET {prefix}/api/v2/{p}/testcaselogs/{l}/assertions/markdown"),
        format!("GET {prefix}/api/v2/{p}/testcaselogs/{l}/robotlogs/info"),
    ]
    .into_iter()
    .collect();
    assert_eq!(received, expected);
}

#[tokio::test]
async fn automation_cloud_base_keeps_org_and_tenant() {
    assert_paths(
        "/acme/DefaultTenant/testmanager_",
        "/acme/identity_/connect/token",
    )
    .await;
}

#[tokio::test]
async fn standalone_base_uses_host_root() {
    assert_paths("", "/identity/connect/token").await;
}

#[tokio::test]
async fn project_by_prefix_has_no_project_in_path() {
    let fake = Fake::cloud().await;
    let at = format!("{}/api/v2/projects/prefix/SHOP", fake.prefix);
    fake.get(
        at.clone(),
        api(&fake.state, |_| {
            ResponseTemplate::new(200).set_body_json(
                json!({"id": project(), "name": "Shop", "projectPrefix": "SHOP", "extra": 1}),
            )
        }),
    )
    .await;
    let client = fake.client();
    let found = client.project_by_prefix("SHOP").await.unwrap();
    assert_eq!(found.id, project());
    assert_eq!(found.project_prefix.as_deref(), Some("SHOP"));
    assert_eq!(fake.requests_to(&at).await.len(), 1);
    let err = client.project_by_prefix("NOPE").await.unwrap_err();
    assert!(
        matches!(err, TestManagerError::NotFound { what: "project", ref id } if id == "NOPE"),
        "{err:?}"
    );
}

// ---------------------------------------------------------------- finding the log

async fn fake_with_logs(logs: Vec<Value>, style: PagingStyle, filter: OnlyFailedFilter) -> Fake {
    let fake = Fake::cloud().await;
    fake.mount_logs(logs, style, filter).await;
    fake.mount_case_and_execution().await;
    // Details for whichever log a test expects; other paths answer 404.
    for n in [1, 2, 3, 4, 5, 7, 250] {
        fake.mount_log_details(n).await;
    }
    fake
}

fn skips(requests: &[Request]) -> Vec<(String, String)> {
    requests
        .iter()
        .map(|r| {
            let q = query(r);
            (
                q.get("skip").cloned().unwrap_or_default(),
                q.get("onlyFailed").cloned().unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn pages_through_three_pages_with_paging_counts() {
    let mut logs = filler(249);
    logs.push(log(
        250,
        case(),
        Value::Null,
        "Failed",
        "2024-05-01T10:00:00Z",
    ));
    let fake = fake_with_logs(logs, PagingStyle::Full, OnlyFailedFilter::ByResult).await;
    let details = fake
        .client()
        .fetch_failure(project(), &key(None))
        .await
        .unwrap();
    assert_eq!(details.log.id, log_id(250));
    let paged = fake.requests_to(&fake.paged_path()).await;
    assert_eq!(
        skips(&paged),
        [("0", "true"), ("100", "true"), ("200", "true")]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
}

#[tokio::test]
async fn pages_through_three_pages_without_paging() {
    let mut logs = filler(249);
    logs.push(log(
        250,
        case(),
        Value::Null,
        "Failed",
        "2024-05-01T10:00:00Z",
    ));
    let fake = fake_with_logs(logs, PagingStyle::Missing, OnlyFailedFilter::ByResult).await;
    let details = fake
        .client()
        .fetch_failure(project(), &key(None))
        .await
        .unwrap();
    assert_eq!(details.log.id, log_id(250));
    assert_eq!(fake.requests_to(&fake.paged_path()).await.len(), 3);

    // Exactly two full pages and no counts: the empty third page ends it.
    let fake = fake_with_logs(
        filler(200),
        PagingStyle::Missing,
        OnlyFailedFilter::ByResult,
    )
    .await;
    let err = fake
        .client()
        .fetch_failure(project(), &key(None))
        .await
        .unwrap_err();
    assert!(
        matches!(err, TestManagerError::LogNotFound { .. }),
        "{err:?}"
    );
    let listed = skips(&fake.requests_to(&fake.paged_path()).await);
    assert_eq!(
        listed,
        [
            ("0", "true"),
            ("100", "true"),
            ("200", "true"),
            ("0", ""),
            ("100", ""),
            ("200", "")
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
}

#[tokio::test]
async fn latest_failed_run_is_chosen() {
    let logs = vec![
        log(1, case(), Value::Null, "Failed", "2024-05-01T10:00:00Z"),
        log(
            3,
            case(),
            Value::Null,
            "Failed",
            "2024-05-01T12:00:00+02:00",
        ), // 10:00Z, later runId
        log(2, case(), Value::Null, "Failed", "2024-05-01T09:00:00Z"),
        log(4, case(), Value::Null, "Passed", "2024-05-01T11:00:00Z"),
        log(
            5,
            other_case(1),
            Value::Null,
            "Failed",
            "2024-05-02T00:00:00Z",
        ),
    ];
    let fake = fake_with_logs(logs, PagingStyle::Full, OnlyFailedFilter::ByResult).await;
    let details = fake
        .client()
        .fetch_failure(project(), &key(None))
        .await
        .unwrap();
    assert_eq!(details.log.id, log_id(3));
    assert_eq!(details.test_case.obj_key.as_deref(), Some("SHOP:42"));
    assert_eq!(details.test_case.labels, ["smoke", "payments"]);
    assert_eq!(
        details.execution.execution_type.as_deref(),
        Some("Automated")
    );
    assert_eq!(details.assertions.len(), 2);
    assert!(!details.assertions[0].succeeded && details.assertions[1].succeeded);
    assert_eq!(
        details.assertions_markdown.as_deref(),
        Some("| assertion |\n| --- |")
    );
    assert_eq!(
        details.robot_log,
        Some(json!({"count": 3, "levels": ["Error"]}))
    );
}

#[tokio::test]
async fn variation_null_and_empty_are_the_same_and_differ_from_named() {
    let logs = vec![
        log(1, case(), Value::Null, "Failed", "2024-05-01T10:00:00Z"),
        log(2, case(), json!(""), "Failed", "2024-05-01T11:00:00Z"),
        log(3, case(), json!("row-2"), "Failed", "2024-05-01T12:00:00Z"),
    ];
    let fake = fake_with_logs(logs, PagingStyle::Full, OnlyFailedFilter::ByResult).await;
    let client = fake.client();
    let none = client.fetch_failure(project(), &key(None)).await.unwrap();
    assert_eq!(none.log.id, log_id(2));
    let empty = client
        .fetch_failure(project(), &key(Some("")))
        .await
        .unwrap();
    assert_eq!(empty.log.id, log_id(2));
    let row2 = client
        .fetch_failure(project(), &key(Some("row-2")))
        .await
        .unwrap();
    assert_eq!(row2.log.id, log_id(3));
    let err = client
        .fetch_failure(project(), &key(Some("row-3")))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, TestManagerError::LogNotFound { variation: Some(v), .. } if v == "row-3"),
        "{err:?}"
    );
    assert!(err.to_string().contains("row-3"));
}

#[tokio::test]
async fn failed_result_without_has_error_is_found() {
    let mut failed = log(1, case(), Value::Null, "failed", "2024-05-01T10:00:00Z");
    failed["hasError"] = json!(false);
    for filter in [OnlyFailedFilter::ByResult, OnlyFailedFilter::ByHasError] {
        let fake = fake_with_logs(vec![failed.clone()], PagingStyle::Full, filter).await;
        let details = fake
            .client()
            .fetch_failure(project(), &key(None))
            .await
            .unwrap();
        assert_eq!(details.log.id, log_id(1));
        assert_eq!(details.log.has_error, Some(false));
    }
}

#[tokio::test]
async fn passed_only_is_not_failed() {
    let logs = vec![
        log(1, case(), Value::Null, "Passed", "2024-05-01T10:00:00Z"),
        log(2, case(), Value::Null, "None", "2024-05-01T09:00:00Z"),
    ];
    let fake = fake_with_logs(logs, PagingStyle::Full, OnlyFailedFilter::ByResult).await;
    let err = fake
        .client()
        .fetch_failure(project(), &key(None))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, TestManagerError::NotFailed { result } if result == "Passed"),
        "{err:?}"
    );
}

#[tokio::test]
async fn no_log_at_all_is_log_not_found() {
    let fake = fake_with_logs(filler(5), PagingStyle::Full, OnlyFailedFilter::ByResult).await;
    let err = fake
        .client()
        .fetch_failure(project(), &key(None))
        .await
        .unwrap_err();
    match err {
        TestManagerError::LogNotFound {
            execution: e,
            test_case,
            variation,
        } => {
            assert_eq!((e, test_case, variation), (execution(), case(), None));
        }
        other => panic!("{other:?}"),
    }
    // No details were fetched for a log that does not exist.
    assert!(fake
        .received()
        .await
        .iter()
        .all(|r| !r.url.path().contains("/assertions")));
}

#[tokio::test]
async fn unknown_execution_or_test_case_is_not_found() {
    // The real service lists nothing for an unknown execution and 404s the object.
    let fake = Fake::cloud().await;
    fake.mount_logs(Vec::new(), PagingStyle::Full, OnlyFailedFilter::ByResult)
        .await;
    fake.get(
        fake.api_path(&format!("testcases/{}", case())),
        api(&fake.state, |_| {
            ResponseTemplate::new(200).set_body_json(json!({"id": case(), "name": "x"}))
        }),
    )
    .await;
    fake.get(
        fake.api_path(&format!("testexecutions/{}", execution())),
        api(&fake.state, |_| {
            ResponseTemplate::new(404)
                .set_body_json(json!({"errorMessage": "Test execution not found"}))
        }),
    )
    .await;
    let err = fake
        .client()
        .fetch_failure(project(), &key(None))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, TestManagerError::NotFound { what: "test execution", id } if *id == execution().to_string()),
        "{err:?}"
    );

    // Test case unknown: nothing mounted for it, so the fake answers 404.
    let fake = Fake::cloud().await;
    fake.mount_logs(Vec::new(), PagingStyle::Full, OnlyFailedFilter::ByResult)
        .await;
    fake.get(
        fake.api_path(&format!("testexecutions/{}", execution())),
        api(&fake.state, |_| {
            ResponseTemplate::new(200).set_body_json(json!({"id": execution(), "name": "x"}))
        }),
    )
    .await;
    let err = fake
        .client()
        .fetch_failure(project(), &key(None))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            TestManagerError::NotFound {
                what: "test case",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn server_error_with_html_names_the_call() {
    let fake = Fake::cloud().await;
    fake.mount_case_and_execution().await;
    fake.get(
        fake.paged_path(),
        api(&fake.state, |_| {
            ResponseTemplate::new(500).set_body_raw(
                "<html><head><title>500 Internal Server Error</title></head><body>oops</body></html>",
                "text/html",
            )
        }),
    )
    .await;
    let err = fake
        .client()
        .fetch_failure(project(), &key(None))
        .await
        .unwrap_err();
    match &err {
        TestManagerError::Upstream {
            call,
            status,
            detail,
        } => {
            assert_eq!((*call, *status), ("GET testcaselogs paged", 500));
            assert!(detail.contains("500 Internal Server Error"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.is_transient());
    assert_eq!(err.upstream_call(), Some("GET testcaselogs paged"));
    assert!(err.to_string().contains("GET testcaselogs paged"));
}

// ---------------------------------------------------------------- details

#[tokio::test]
async fn markdown_as_plain_text_and_robot_logs_404() {
    let fake = Fake::cloud().await;
    fake.mount_logs(
        vec![log(
            1,
            case(),
            Value::Null,
            "Failed",
            "2024-05-01T10:00:00Z",
        )],
        PagingStyle::Full,
        OnlyFailedFilter::ByResult,
    )
    .await;
    fake.mount_case_and_execution().await;
    // Assertions in a paged envelope; markdown as text; robot logs not mounted (404).
    fake.get(
        fake.log_path(1, "assertions"),
        api(&fake.state, |_| {
            ResponseTemplate::new(200).set_body_json(json!({
                "data": [{"id": Uuid::from_u128(9), "message": "m", "succeeded": null}],
                "paging": {"total": 1}
            }))
        }),
    )
    .await;
    fake.mount_markdown(
        1,
        ResponseTemplate::new(200).set_body_raw("# Failed\n- cart total", "text/plain"),
    )
    .await;
    let details = fake
        .client()
        .fetch_failure(project(), &key(None))
        .await
        .unwrap();
    assert_eq!(
        details.assertions_markdown.as_deref(),
        Some("# Failed\n- cart total")
    );
    assert_eq!(details.robot_log, None);
    assert_eq!(details.assertions.len(), 1);
    assert!(!details.assertions[0].succeeded);
    assert_eq!(
        fake.requests_to(&fake.log_path(1, "robotlogs/info"))
            .await
            .len(),
        1
    );
}

// ---------------------------------------------------------------- concurrency

#[tokio::test]
async fn independent_calls_overlap() {
    let fake = Fake::standard(
        "/acme/DefaultTenant/testmanager_",
        Duration::from_millis(200),
    )
    .await;
    let client = fake.client();
    let started = Instant::now();
    client.fetch_failure(project(), &key(None)).await.unwrap();
    let elapsed = started.elapsed();
    // 7 calls of 200 ms: ~1400 ms one after another, ~600 ms in three rounds.
    assert!(elapsed < Duration::from_millis(1200), "took {elapsed:?}");
    assert_eq!(fake.received().await.len(), 7);
}

// ---------------------------------------------------------------- transport

#[tokio::test]
async fn unreachable_host_is_transient_and_shows_no_credentials() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = Url::parse(&format!("http://admin:hunter2@127.0.0.1:{port}/tm/")).unwrap();
    let client = TestManagerClient::new(
        reqwest::Client::new(),
        TestManagerConnection {
            token_url: base.join("connect/token").unwrap(),
            base_url: base,
            client_id: CLIENT_ID.into(),
            client_secret: SECRET.into(),
            scope: SCOPE.into(),
        },
    );
    let err = client.probe().await.unwrap_err();
    assert!(
        matches!(
            err,
            TestManagerError::Unreachable {
                call: "POST token",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());
    let shown = format!("{err} {err:?}");
    for secret in ["hunter2", SECRET] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[tokio::test]
async fn client_timeout_is_reported_per_call() {
    let slow = Fake::start("", Duration::from_millis(500)).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let err = TestManagerClient::new(http, slow.connection())
        .probe()
        .await
        .unwrap_err();
    assert!(
        matches!(err, TestManagerError::Timeout { call: "POST token" }),
        "{err:?}"
    );
    assert!(err.is_transient());
}

#[tokio::test]
async fn unreadable_body_is_a_decode_error() {
    let fake = Fake::cloud().await;
    fake.mount_logs(
        vec![log(
            1,
            case(),
            Value::Null,
            "Failed",
            "2024-05-01T10:00:00Z",
        )],
        PagingStyle::Full,
        OnlyFailedFilter::ByResult,
    )
    .await;
    fake.get(
        fake.api_path(&format!("testcases/{}", case())),
        api(&fake.state, |_| {
            ResponseTemplate::new(200).set_body_json(json!({"id": "not-a-uuid"}))
        }),
    )
    .await;
    fake.mount_case_and_execution().await;
    let err = fake
        .client()
        .fetch_failure(project(), &key(None))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            TestManagerError::Decode {
                call: "GET testcases",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_transient());
}
