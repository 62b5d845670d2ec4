//! The operator's page (`/`) and its JSON twin (`/operator.json`): rendered in a real
//! headless Chromium after one Create Defect succeeded and one was refused by Jira, the
//! calls refused before any use case ran, and the access rules (loopback by default, the
//! operations allow-list, the token). A refused mapping reload on the page is in
//! `tests/signals.rs`, with the other tests that send SIGHUP.

use crate::support::*;
use ::base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tm_defect_bridge::config::Networks;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

/// A test case name from Test Manager that would run if it reached the page as markup.
const HOSTILE_NAME: &str =
    "Checkout <script>document.title='pwned'</script><b id=\"injected\">x</b>";
/// Why Jira refuses the second create, with markup of its own.
const JIRA_REFUSAL: &str = "Priority <i id=\"jira-markup\">Blocker</i> is not allowed here";
const OPERATOR_TOKEN: &str = "op-token-5f1e";

/// Chromium from the system packages, if one on `PATH` runs; else why none does.
///
/// Being on `PATH` is not enough: Ubuntu's `chromium-browser` is a shim that asks
/// snapd for the snap, which fails in a container. So each candidate must answer
/// `--version` first (and is given up if it has not within `VERSION_WAIT`).
fn chromium() -> Result<PathBuf, String> {
    const VERSION_WAIT: Duration = Duration::from_secs(30);
    let paths = std::env::var_os("PATH").unwrap_or_default();
    let mut tried = Vec::new();
    for name in ["chromium", "chromium-browser"] {
        let Some(browser) = std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
        else {
            continue;
        };
        match version(&browser, VERSION_WAIT) {
            Ok(_) => return Ok(browser),
            Err(why) => tried.push(format!("{} {why}", browser.display())),
        }
    }
    if tried.is_empty() {
        Err("chromium is not installed".into())
    } else {
        Err(format!("no chromium runs here ({})", tried.join("; ")))
    }
}

/// What `browser --version` prints, or why it did not run.
fn version(browser: &Path, wait: Duration) -> Result<String, String> {
    let mut child = Command::new(browser)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("does not start: {e}"))?;
    let started = Instant::now();
    while child.try_wait().map_err(|e| e.to_string())?.is_none() {
        if started.elapsed() > wait {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("did not answer --version within {wait:?}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if output.status.success() && !stdout.is_empty() {
        Ok(stdout)
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let said = stderr.lines().next().unwrap_or_default();
        Err(format!("--version failed ({}): {said}", output.status))
    }
}

/// The DOM Chromium builds from `url`, serialized (`--dump-dom`), in a fresh profile.
async fn dump_dom(browser: PathBuf, url: String) -> String {
    tokio::task::spawn_blocking(move || {
        let profile = tempfile::tempdir().unwrap();
        let output = Command::new(&browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("--dump-dom")
            .arg(&url)
            .output()
            .expect("chromium runs");
        assert!(
            output.status.success(),
            "chromium failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    })
    .await
    .unwrap()
}

/// A bridge on fresh fakes where one Create Defect created an issue and a second one was
/// refused by Jira; returns the app and the two results.
async fn one_created_one_refused(options: AppOptions<'_>) -> (TestApp, SeededResult, SeededResult) {
    let app = spawn_app(options).await;
    let created = SeededResult::new(None);
    app.tm
        .seed_with(&created, "Failed", HOSTILE_NAME, "Card declined")
        .await;
    let refused = SeededResult::new(Some("row-7"));
    app.tm.seed(&refused, "Failed").await;

    let response = app.create_defect(&created.body()).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue"))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "errorMessages": [], "errors": {"priority": JIRA_REFUSAL}
        })))
        .with_priority(1)
        .up_to_n_times(1)
        .mount(&app.jira.server)
        .await;
    let response = app.create_defect(&refused.body()).await;
    assert_eq!(response.status(), 502, "{:?}", response.text().await);
    assert_eq!(app.jira.creates().await.len(), 2, "both reached Jira");
    assert_eq!(app.jira.issues().len(), 1, "only the first was created");
    (app, created, refused)
}

#[tokio::test]
async fn a_headless_browser_shows_the_created_issue_the_failure_readiness_and_the_mapping() {
    // Evidence is queued but no worker takes it, so the queue holds still for the page.
    let options = AppOptions::cloud()
        .mapping(format!("{MAPPING}\n[evidence]\nfile_prefix = \"tm-\"\n"))
        .tweak(|settings, _| settings.evidence.worker = false);
    let (app, created, refused) = one_created_one_refused(options).await;

    // The JSON twin: the same view model the page is rendered from.
    let response = app.get("/operator.json").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let view: Value = response.json().await.unwrap();
    let answers = view["answers"].as_array().unwrap();
    assert_eq!(answers.len(), 2, "{view:#}");
    assert_eq!(answers[0]["answer"], "problem", "newest first");
    assert_eq!(answers[0]["status"], 502);
    assert_eq!(answers[0]["result"]["variation_id"], "row-7");
    let detail = answers[0]["detail"].as_str().unwrap();
    assert!(detail.contains(JIRA_REFUSAL), "{detail}");
    assert_eq!(answers[1]["answer"], "issue");
    assert_eq!(answers[1]["outcome"], "created");
    assert_eq!(answers[1]["issue_key"], "SHOP-1");
    assert_eq!(
        answers[1]["result"]["test_execution_id"],
        created.execution_id.to_string()
    );
    assert_eq!(
        view["failures"]["answers"][0]["detail"],
        answers[0]["detail"]
    );
    let recent = view["results"]["recent"].as_array().unwrap();
    assert_eq!(recent.len(), 1, "a refused create leaves no ledger entry");
    assert_eq!(recent[0]["state"], "created");
    assert_eq!(recent[0]["issue"]["key"], "SHOP-1");
    let names: Vec<&str> = view["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ledger", "jira", "testmanager"]);
    let mapping = &view["mappings"][0];
    assert_eq!(mapping["route"], "shop");
    assert_eq!(mapping["test_manager_project"], PROJECT_ID);
    assert_eq!(mapping["check"]["trigger"], "start-up");
    assert_eq!(mapping["check"]["verdict"]["result"], "passed_without_jira");
    let queued = view["evidence"]["outstanding"].as_array().unwrap();
    assert!(
        queued
            .iter()
            .all(|row| row["issue_key"] == "SHOP-1" && row["state"] == "pending"),
        "{view:#}"
    );
    assert!(
        queued.iter().any(|row| row["kind"] == "screenshot"),
        "the failed assertion's screenshot waits: {view:#}"
    );

    // The page itself, served with a policy that allows no script.
    let response = app.get("/").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        policy.starts_with("default-src 'none'; style-src 'sha256-"),
        "{policy}"
    );
    assert!(
        !policy.contains("script-src") && !policy.contains("unsafe"),
        "{policy}"
    );
    let html = response.text().await.unwrap();
    let style = html
        .split_once("<style>")
        .and_then(|(_, rest)| rest.split_once("</style>"))
        .map(|(style, _)| style)
        .expect("one inline style sheet");
    let digest = ::base64::engine::general_purpose::STANDARD.encode(Sha256::digest(style));
    assert!(
        policy.contains(&format!("style-src 'sha256-{digest}';")),
        "the policy allows exactly the page's style sheet: {policy}"
    );
    for secret in [SECRET, JIRA_TOKEN, TM_SECRET] {
        assert!(!html.contains(secret), "a secret reached the page");
    }

    let browser = match tokio::task::spawn_blocking(chromium).await.unwrap() {
        Ok(browser) => browser,
        Err(why) => {
            eprintln!(
                "skipping the headless browser check: {why} (apt-get install chromium); \
                 the page was checked over HTTP only"
            );
            return;
        }
    };
    let dom = dump_dom(browser, format!("{}/", app.address)).await;
    assert!(
        dom.contains("<title>tm-defect-bridge: operator</title>"),
        "{dom}"
    );
    // The created issue, linked.
    assert!(
        dom.contains(&format!("href=\"{}/browse/SHOP-1\"", app.jira.server.uri())),
        "{dom}"
    );
    // The failed one, with Jira's reason as text, its markup inert.
    let failure = section(&dom, "failures");
    assert!(failure.contains("class=\"failure\""), "{failure}");
    assert!(
        failure.contains(&refused.test_case_id.to_string()),
        "{failure}"
    );
    assert!(
        failure.contains("502 Jira refused the request"),
        "{failure}"
    );
    assert!(
        failure
            .contains("Priority &lt;i id=\"jira-markup\"&gt;Blocker&lt;/i&gt; is not allowed here"),
        "{failure}"
    );
    assert!(
        !dom.contains("<i id=\"jira-markup\">"),
        "Jira's markup became an element"
    );
    // Test Manager's test case name reached the summary, and stayed text.
    assert!(
        dom.contains("Checkout &lt;script&gt;document.title='pwned'&lt;/script&gt;"),
        "{dom}"
    );
    assert!(
        !dom.contains("<script") && !dom.contains("<b id=\"injected\""),
        "{dom}"
    );
    // Readiness of each dependency, and the mapping.
    for name in ["ledger", "jira", "testmanager"] {
        assert!(
            dom.contains(&format!("<tr class=\"dependency\" data-name=\"{name}\">")),
            "{name}: {dom}"
        );
    }
    let mappings = section(&dom, "mappings");
    assert!(
        mappings.contains("<tr class=\"mapping\" data-route=\"shop\">"),
        "{mappings}"
    );
    assert!(mappings.contains(PROJECT_ID), "{mappings}");
    assert!(mappings.contains("start-up"), "{mappings}");
    // The evidence queue.
    let evidence = section(&dom, "evidence");
    assert!(
        evidence.contains("<tr class=\"evidence\" data-state=\"pending\">"),
        "{evidence}"
    );
    assert!(evidence.contains("(screenshot)"), "{evidence}");
}

/// Calls refused before any use case saw them — the first failures an operator meets
/// when registering the WebHooks URL — are listed under Failures with the request as
/// sent, its path secret (right or wrong) redacted, and no result.
#[tokio::test]
async fn calls_refused_at_the_edge_are_failures_and_no_secret_is_shown() {
    const WRONG_SECRET: &str = "wrong-secret-9f3a";
    let app = spawn_app(AppOptions::cloud()).await;
    let seeded = SeededResult::new(None);
    let send = |url: String, body: String| {
        app.client
            .post(url)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let wrong_secret = send(
        format!("{}/hooks/shop/{WRONG_SECRET}/defects", app.address),
        seeded.body().to_string(),
    );
    assert_eq!(wrong_secret.await.unwrap().status(), 401);
    let malformed = send(app.hook_url("/defects"), "{\"testExecutionId\": ".into());
    assert_eq!(malformed.await.unwrap().status(), 400);
    let misspelt = send(app.hook_url("/defect"), seeded.body().to_string());
    assert_eq!(misspelt.await.unwrap().status(), 404);
    assert!(
        app.jira.creates().await.is_empty(),
        "nothing refused reached Jira"
    );

    let json = app.get("/operator.json").await.text().await.unwrap();
    let view: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        view["answers"],
        serde_json::json!([]),
        "no Create Defect ran: {view:#}"
    );
    let failures = view["failures"]["answers"].as_array().unwrap();
    let seen: Vec<(&str, u64, &str)> = failures
        .iter()
        .map(|f| {
            assert_eq!(f["answer"], "problem", "{f}");
            assert!(f["result"].is_null(), "the body was never parsed: {f}");
            assert_eq!(f["route"], "shop", "{f}");
            (
                f["request"].as_str().unwrap(),
                f["status"].as_u64().unwrap(),
                f["title"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "POST /hooks/shop/[redacted]/defect",
                404,
                "No such endpoint"
            ),
            ("POST /hooks/shop/[redacted]/defects", 400, "Malformed JSON"),
            ("POST /hooks/shop/[redacted]/defects", 401, "Unauthorized"),
        ],
        "newest first: {view:#}"
    );
    let unauthorized = failures[2]["detail"].as_str().unwrap();
    assert!(
        unauthorized.contains("check the WebHooks URL registered in Test Manager"),
        "{unauthorized}"
    );

    let html = app.get("/").await.text().await.unwrap();
    let page_failures = section(&html, "failures");
    for status in [401, 400, 404] {
        assert!(
            page_failures.contains(&format!("<tr class=\"failure\" data-status=\"{status}\">")),
            "{status}: {page_failures}"
        );
    }
    assert!(
        page_failures.contains("<code>POST /hooks/shop/[redacted]/defects</code>"),
        "{page_failures}"
    );
    for secret in [SECRET, WRONG_SECRET] {
        assert!(!json.contains(secret), "{secret} reached /operator.json");
        assert!(!html.contains(secret), "{secret} reached the page");
    }
}

/// The `<section id="{id}">` element of `dom`.
fn section<'d>(dom: &'d str, id: &str) -> &'d str {
    let start = dom
        .find(&format!("<section id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no section {id}: {dom}"));
    let end = dom[start..].find("</section>").unwrap() + start;
    &dom[start..end]
}

fn networks(entries: &[&str]) -> Networks {
    Networks::parse(entries).unwrap()
}

/// `(status, problem+json body or null, WWW-Authenticate)` of a GET of `path` as `client_ip`
/// (through the trusted proxy 127.0.0.1 when given) with `authorization`.
async fn answer(
    app: &TestApp,
    path: &str,
    client_ip: Option<&str>,
    authorization: Option<String>,
) -> (u16, Value, Option<String>) {
    let mut request = app.client.get(format!("{}{path}", app.address));
    if let Some(ip) = client_ip {
        request = request.header("X-Forwarded-For", ip);
    }
    if let Some(authorization) = authorization {
        request = request.header("Authorization", authorization);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let problem = if status == 200 {
        Value::Null
    } else {
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        response.json().await.unwrap()
    };
    (status, problem, challenge)
}

#[tokio::test]
async fn the_openapi_document_lists_the_operator_routes() {
    let app = spawn_app(AppOptions::cloud()).await;
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    for path in ["/", "/operator.json"] {
        let get = &doc["paths"][path]["get"];
        assert!(get["responses"]["200"].is_object(), "{path}: {get}");
        assert!(
            get["responses"]["401"]["content"]["application/problem+json"].is_object(),
            "{path}: {get}"
        );
    }
}

#[tokio::test]
async fn without_a_list_or_token_only_loopback_clients_are_answered() {
    let app = spawn_app(AppOptions::cloud().tweak(|settings, _| {
        settings.access.trusted_proxies = networks(&["127.0.0.1/32"]);
    }))
    .await;
    assert_eq!(answer(&app, "/", None, None).await.0, 200);
    assert_eq!(answer(&app, "/operator.json", None, None).await.0, 200);
    let (status, problem, _) = answer(&app, "/", Some("203.0.113.7"), None).await;
    assert_eq!(status, 403);
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("203.0.113.7") && detail.contains("loopback"),
        "{detail}"
    );
    assert!(detail.contains("`access.operations`"), "{detail}");
    assert!(detail.contains("BRIDGE_ACCESS__OPERATOR_TOKEN"), "{detail}");
    assert_eq!(
        answer(&app, "/metrics", Some("203.0.113.7"), None).await.0,
        200,
        "the other operations routes keep their open default"
    );
}

#[tokio::test]
async fn a_local_proxy_that_is_not_trusted_does_not_make_its_clients_loopback() {
    let app = spawn_app(AppOptions::cloud()).await;
    let (status, problem, _) = answer(&app, "/", Some("203.0.113.7"), None).await;
    assert_eq!(status, 403);
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("`access.trusted_proxies`"), "{detail}");
}

#[tokio::test]
async fn the_operations_allow_list_decides_who_may_open_the_page() {
    let app = spawn_app(AppOptions::cloud().tweak(|settings, _| {
        settings.access.operations = networks(&["10.0.0.0/8"]);
        settings.access.trusted_proxies = networks(&["127.0.0.1/32"]);
    }))
    .await;
    assert_eq!(answer(&app, "/", Some("10.4.5.6"), None).await.0, 200);
    let (status, problem, challenge) = answer(&app, "/", None, None).await;
    assert_eq!(status, 403, "loopback is not in the list");
    assert_eq!(challenge, None);
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("`access.operations`") && detail.contains("127.0.0.1"),
        "{detail}"
    );
}

#[tokio::test]
async fn the_operator_token_opens_the_page_from_anywhere_and_a_wrong_one_is_refused() {
    let app = spawn_app(AppOptions::cloud().tweak(|settings, _| {
        settings.access.operator_token = Some(OPERATOR_TOKEN.into());
        settings.access.trusted_proxies = networks(&["127.0.0.1/32"]);
    }))
    .await;
    let far = Some("198.51.100.20");
    let bearer = |token: &str| Some(format!("Bearer {token}"));
    let basic = |token: &str| Some(format!("Basic {}", base64(&format!("operator:{token}"))));

    assert_eq!(answer(&app, "/", far, bearer(OPERATOR_TOKEN)).await.0, 200);
    assert_eq!(
        answer(&app, "/", far, basic(OPERATOR_TOKEN)).await.0,
        200,
        "as a browser sends it"
    );
    assert_eq!(
        answer(&app, "/operator.json", far, bearer(OPERATOR_TOKEN))
            .await
            .0,
        200
    );

    let (status, problem, challenge) = answer(&app, "/", None, None).await;
    assert_eq!(
        status, 401,
        "with a token configured, loopback alone is not enough"
    );
    assert_eq!(
        challenge.as_deref(),
        Some("Basic realm=\"tm-defect-bridge operator page\", charset=\"UTF-8\""),
        "a browser asks for the token"
    );
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("Authorization: Bearer"));

    for wrong in [bearer("op-token-5f1"), basic("nope")] {
        let (status, problem, _) = answer(&app, "/operator.json", far, wrong).await;
        assert_eq!(status, 401);
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains("is wrong"), "{detail}");
        assert!(!detail.contains(OPERATOR_TOKEN), "{detail}");
    }

    let page = app
        .client
        .get(format!("{}/", app.address))
        .bearer_auth(OPERATOR_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !page.contains(OPERATOR_TOKEN),
        "the token is never rendered"
    );
}

/// A percent-encoded path is the path the router serves: `/%68ooks/…` is the
/// hook route, so it is served, and a refusal on it is listed with its secret
/// redacted like the plain path's.
#[tokio::test]
async fn percent_encoded_hook_paths_are_served_and_redacted_like_plain_ones() {
    const WRONG_SECRET: &str = "wrong-secret-7c21";
    let (app, seeded) = app_with_a_failure(AppOptions::cloud()).await;
    let encoded = |secret: &str| format!("{}/%68ooks/shop/{secret}/defects", app.address);
    let served = app
        .client
        .post(encoded(SECRET))
        .json(&seeded.body())
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200, "{}", served.text().await.unwrap());
    assert_eq!(app.jira.creates().await.len(), 1);
    let refused = app
        .client
        .post(encoded(WRONG_SECRET))
        .json(&seeded.body())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    let json = app.get("/operator.json").await.text().await.unwrap();
    assert!(
        !json.contains(WRONG_SECRET) && !json.contains(SECRET),
        "{json}"
    );
    let view: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        view["failures"]["answers"][0]["request"], "POST /hooks/shop/[redacted]/defects",
        "{view:#}"
    );
}
