//! The fault matrix: rate limits, 5xx with HTML and empty bodies, dropped
//! connections, slow answers and expiring tokens on the fake upstreams. Each
//! test checks the outcome and what the fake received (attempts), and that
//! nothing was created twice. No upper bounds on timing: only floors.

use crate::support::seeded_issues;
use crate::support::*;
use serde_json::Value;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tm_defect_bridge::config::JiraFlavour;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    body
}

/// Mounts `answer` on `server` for the first `times` requests of `verb` to `path`, ahead
/// of the fake's own answer.
async fn answer_first(
    server: &MockServer,
    verb: &str,
    path: impl Into<String>,
    answer: ResponseTemplate,
    times: u64,
) {
    Mock::given(method(verb))
        .and(path_regex(format!("^{}$", path.into())))
        .respond_with(answer)
        .with_priority(1)
        .up_to_n_times(times)
        .mount(server)
        .await;
}

/// Mounts `answer` for the first `times` creates, ahead of the fake's own create.
async fn on_create(app: &TestApp, answer: ResponseTemplate, times: u64) {
    answer_first(&app.jira.server, "POST", "/rest/api/3/issue", answer, times).await;
}

/// Mounts the [`gateway_failures`], one request each, ahead of the fake's own answer.
async fn gateway_fails_thrice(server: &MockServer, verb: &str, path: &str) {
    for answer in gateway_failures() {
        answer_first(server, verb, path, answer, 1).await;
    }
}

#[tokio::test]
async fn jira_429_with_retry_after_is_retried_once_after_the_floor() {
    let (app, seeded) = app_with_a_failure(AppOptions::cloud()).await;
    on_create(
        &app,
        ResponseTemplate::new(429).insert_header("Retry-After", "1"),
        1,
    )
    .await;
    let started = Instant::now();
    let response = app.create_defect(&seeded.body()).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(
        app.jira.creates().await.len(),
        2,
        "refused once, then created"
    );
    assert_eq!(app.jira.issues().len(), 1);
}

#[tokio::test]
async fn jira_429_with_only_rate_limit_reset_waits_for_the_reset() {
    let (app, seeded) = app_with_a_failure(AppOptions::cloud()).await;
    let reset = chrono::Utc::now() + chrono::Duration::seconds(2);
    on_create(
        &app,
        ResponseTemplate::new(429).insert_header(
            "X-RateLimit-Reset",
            reset.format("%Y-%m-%dT%H:%M:%SZ").to_string().as_str(),
        ),
        1,
    )
    .await;
    let started = Instant::now();
    let response = app.create_defect(&seeded.body()).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    // The reset is at least one whole second away once truncated to seconds.
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(app.jira.creates().await.len(), 2);
    assert_eq!(app.jira.issues().len(), 1);
}

#[tokio::test]
async fn jira_429_without_hints_backs_off_and_retries() {
    let (app, seeded) = app_with_a_failure(AppOptions::cloud()).await;
    on_create(&app, ResponseTemplate::new(429), 2).await;
    let response = app.create_defect(&seeded.body()).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    assert_eq!(app.jira.creates().await.len(), 3);
    assert_eq!(app.jira.issues().len(), 1);
}

#[tokio::test]
async fn jira_429_beyond_the_budget_is_a_503_with_retry_after() {
    let (app, seeded) = app_with_a_failure(AppOptions::cloud()).await;
    on_create(
        &app,
        ResponseTemplate::new(429).insert_header("Retry-After", "120"),
        1,
    )
    .await;
    let response = app.create_defect(&seeded.body()).await;
    assert_eq!(response.headers().get("retry-after").unwrap(), "120");
    let p = problem(response, 503).await;
    assert_eq!(p["upstream"], "Jira: create issue");
    assert_eq!(
        app.jira.creates().await.len(),
        1,
        "not retried past the budget"
    );
    assert!(app.jira.issues().is_empty());
}

fn gateway_failures() -> Vec<ResponseTemplate> {
    vec![
        ResponseTemplate::new(500).set_body_raw(
            "<html><body>Internal Server Error</body></html>",
            "text/html",
        ),
        ResponseTemplate::new(502),
        ResponseTemplate::new(503)
            .set_body_raw("<html><body>Service Unavailable</body></html>", "text/html"),
    ]
}

#[tokio::test]
async fn idempotent_calls_are_retried_on_5xx_html_and_empty_bodies() {
    let (app, seeded) = app_with_a_failure(AppOptions::cloud()).await;
    // The remote link fails three times, each differently, then succeeds.
    let remote_link = "/rest/api/3/issue/[A-Z]+-[0-9]+/remotelink";
    gateway_fails_thrice(&app.jira.server, "POST", remote_link).await;
    let response = app.create_defect(&seeded.body()).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    assert_eq!(app.jira.received("POST", "/remotelink").await.len(), 4);
    assert_eq!(app.jira.creates().await.len(), 1);
}

#[tokio::test]
async fn counts_are_retried_on_5xx() {
    let app = spawn_app(AppOptions::cloud()).await;
    // Mounted before the counting fake, at the same priority: these answer first.
    let count = "/rest/api/3/search/approximate-count";
    gateway_fails_thrice(&app.jira.server, "POST", count).await;
    app.jira
        .mount_counts(JiraFlavour::Cloud, seeded_issues())
        .await;
    let answer: Value = app
        .client
        .get(format!(
            "{}/hooks/shop/{SECRET}/api/kpis/project/{PROJECT_ID}/defectstatus",
            app.address
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["status"], "Ok", "{answer}");
    assert_eq!(answer["totalDefects"], 33);
    assert_eq!(app.jira.count_requests().await.len(), 5 + 3);
}

#[tokio::test]
async fn label_search_is_retried_on_5xx() {
    let (app, seeded) = app_with_a_failure(AppOptions::data_center()).await;
    // An earlier attempt's create was performed but its answer lost.
    app.jira.behave(|b| b.fail_after_create = 1);
    let p = problem(app.create_defect(&seeded.body()).await, 503).await;
    assert_eq!(p["upstream"], "Jira: create issue");
    gateway_fails_thrice(&app.jira.server, "POST", "/rest/api/2/search").await;
    let response = app.create_defect(&seeded.body()).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    assert!(app.jira.received("POST", "/rest/api/2/search").await.len() >= 4);
    assert_eq!(
        app.jira.creates().await.len(),
        1,
        "adopted, not created again"
    );
    assert_eq!(app.jira.issues().len(), 1);
}

#[tokio::test]
async fn creates_answered_with_5xx_are_not_retried_and_are_adopted_later() {
    for (flavour, search) in [
        (JiraFlavour::Cloud, "/rest/api/3/search/jql"),
        (JiraFlavour::DataCenter, "/rest/api/2/search"),
    ] {
        let (app, seeded) = app_with_a_failure(AppOptions::of(flavour)).await;
        // The create happens in Jira, but the answer is a 500 HTML page.
        app.jira.behave(|b| b.fail_after_create = 1);
        let p = problem(app.create_defect(&seeded.body()).await, 503).await;
        assert_eq!(p["upstream"], "Jira: create issue");
        assert_eq!(app.jira.creates().await.len(), 1, "never repeated blindly");
        let response = app.create_defect(&seeded.body()).await;
        assert_eq!(response.status(), 200, "{:?}", response.text().await);
        assert_eq!(app.jira.creates().await.len(), 1, "adopted by label");
        assert_eq!(app.jira.issues().len(), 1, "no duplicate");
        assert!(!app.jira.received("POST", search).await.is_empty());
    }
}

#[tokio::test]
async fn creates_refused_by_a_gateway_are_tried_once() {
    for answer in gateway_failures() {
        let (app, seeded) = app_with_a_failure(AppOptions::cloud()).await;
        on_create(&app, answer, 1).await;
        let p = problem(app.create_defect(&seeded.body()).await, 503).await;
        assert_eq!(p["upstream"], "Jira: create issue");
        assert_eq!(app.jira.creates().await.len(), 1);
        let response = app.create_defect(&seeded.body()).await;
        assert_eq!(response.status(), 200, "{:?}", response.text().await);
        assert_eq!(app.jira.creates().await.len(), 2);
        assert_eq!(app.jira.issues().len(), 1);
    }
}

/// A proxy to the fake Test Manager (its address set later in `target`)
/// that drops the first connection whose first request is a GET without
/// answering, and forwards everything else.
struct DroppingProxy {
    address: String,
    target: Arc<OnceLock<std::net::SocketAddr>>,
    dropped: Arc<AtomicU32>,
}

/// `head` with `Connection: close` added after the request line.
fn with_connection_close(head: &[u8]) -> Vec<u8> {
    match head.windows(2).position(|w| w == b"\r\n") {
        Some(end) => [&head[..end + 2], b"Connection: close\r\n", &head[end + 2..]].concat(),
        None => head.to_vec(),
    }
}

async fn dropping_proxy() -> DroppingProxy {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = DroppingProxy {
        address: format!("http://{}", listener.local_addr().unwrap()),
        target: Arc::new(OnceLock::new()),
        dropped: Arc::new(AtomicU32::new(0)),
    };
    let (target, dropped) = (proxy.target.clone(), proxy.dropped.clone());
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let (target, dropped) = (target.clone(), dropped.clone());
            tokio::spawn(async move {
                let mut head = vec![0u8; 16 * 1024];
                let Ok(n) = inbound.read(&mut head).await else {
                    return;
                };
                if head[..n].starts_with(b"GET ")
                    && dropped
                        .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
                        .is_ok()
                {
                    return; // dropped without an answer
                }
                let Some(target) = target.get() else { return };
                let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else {
                    return;
                };
                // One request per connection (the server is told to close), so every request
                // opens a new connection and "the first GET" does not depend on how the
                // client happens to reuse its pool.
                let head = with_connection_close(&head[..n]);
                if outbound.write_all(&head).await.is_ok() {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    proxy
}

#[tokio::test]
async fn a_dropped_test_manager_connection_is_retried() {
    let seeded = SeededResult::new(None);
    let proxy = dropping_proxy().await;
    let app = spawn_app(AppOptions::cloud().tweak(|settings, tm| {
        proxy.target.set(*tm.server.address()).unwrap();
        settings.testmanager.base_url =
            url::Url::parse(&format!("{}{TM_PREFIX}", proxy.address)).unwrap();
    }))
    .await;
    app.tm.seed(&seeded, "Failed").await;
    let response = app.create_defect(&seeded.body()).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    assert_eq!(
        proxy.dropped.load(Ordering::SeqCst),
        1,
        "one connection was dropped"
    );
    assert_eq!(app.jira.issues().len(), 1);
}

#[tokio::test]
async fn test_manager_429_is_retried_after_retry_after() {
    let (app, seeded) = app_with_a_failure(AppOptions::cloud()).await;
    answer_first(
        &app.tm.server,
        "GET",
        FakeTestManager::api(&format!("testcases/{}", seeded.test_case_id)),
        ResponseTemplate::new(429).insert_header("Retry-After", "1"),
        1,
    )
    .await;
    let started = Instant::now();
    let response = app.create_defect(&seeded.body()).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(tm_requests(&app, "GET", "/testcases/").await, 2);
}

async fn tm_requests(app: &TestApp, verb: &str, fragment: &str) -> usize {
    app.tm
        .server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.method.as_str() == verb && r.url.path().contains(fragment))
        .count()
}

#[tokio::test]
async fn slow_test_manager_is_a_504_naming_the_call() {
    let (app, seeded) = app_with_a_failure(AppOptions::cloud().tweak(|settings, _| {
        settings.testmanager.timeout_ms = 300;
        settings.outbound.max_attempts = 3;
    }))
    .await;
    answer_first(
        &app.tm.server,
        "GET",
        FakeTestManager::api(&format!("testcases/{}", seeded.test_case_id)),
        ResponseTemplate::new(200).set_delay(Duration::from_secs(2)),
        u64::MAX,
    )
    .await;
    let p = problem(app.create_defect(&seeded.body()).await, 504).await;
    assert_eq!(p["upstream"], "Test Manager: GET testcases", "{p}");
    assert_eq!(
        tm_requests(&app, "GET", "/testcases/").await,
        3,
        "a timed-out read is retried up to max_attempts"
    );
    assert!(app.jira.creates().await.is_empty());
}

#[tokio::test]
async fn a_token_that_expires_mid_flow_is_renewed_once() {
    let (app, seeded) = app_with_a_failure(AppOptions::cloud()).await;
    answer_first(
        &app.tm.server,
        "GET",
        FakeTestManager::api(&format!("testexecutions/{}", seeded.execution_id)),
        ResponseTemplate::new(401),
        1,
    )
    .await;
    let response = app.create_defect(&seeded.body()).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    assert_eq!(tm_requests(&app, "POST", "/connect/token").await, 2);
    assert_eq!(tm_requests(&app, "GET", "/testexecutions/").await, 2);
    assert_eq!(app.jira.issues().len(), 1);
}

#[tokio::test]
async fn creates_beyond_the_bound_are_503_with_retry_after() {
    let app = spawn_app(
        AppOptions::cloud().tweak(|settings, _| settings.server.max_concurrent_creates = 1),
    )
    .await;
    let (first, second) = (SeededResult::new(None), SeededResult::new(None));
    app.tm.seed(&first, "Failed").await;
    app.tm.seed(&second, "Failed").await;
    app.jira.behave(|b| {
        // Longer than the 2 s a request waits for a slot.
        b.slow_creates = 1;
        b.slow_create_delay = Duration::from_secs(4);
    });
    let first_body = first.body();
    let slow = app.create_defect(&first_body);
    let refused = async {
        // Once the first has reached Jira, it holds the only slot.
        while app.jira.creates().await.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        app.create_defect(&second.body()).await
    };
    let (slow, refused) = tokio::join!(slow, refused);
    assert_eq!(slow.status(), 200);
    assert_eq!(refused.headers().get("retry-after").unwrap(), "2");
    let p = problem(refused, 503).await;
    assert_eq!(p["type"], "urn:tm-defect-bridge:overloaded");
    assert_eq!(app.jira.creates().await.len(), 1);
    // The slot is free again.
    let response = app.create_defect(&second.body()).await;
    assert_eq!(response.status(), 200);
}
