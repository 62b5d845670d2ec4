//! Defect KPI benchmark, in one run on one machine (`cargo bench --bench kpis`):
//!
//! 1. cache-hit requests/s and p99 latency of the KPI route under 64
//!    concurrent keep-alive connections, against a trivial actix-web handler
//!    answering a constant JSON body of the same size with the same number of
//!    server workers — the ratio should be at least 0.8;
//! 2. the Jira calls made for 500 concurrent requests on a cold project (one
//!    set is 5 calls).
//!
//! The bridge runs for real (`Application::build`, port 0) against a fake Jira
//! Data Center (wiremock). The load generator is written here (reqwest on
//! tokio) so the bench needs nothing installed. `KPI_BENCH_SECS` changes the
//! length of each throughput run (default 10 s).

use actix_web::{web, App, HttpResponse, HttpServer};
use secrecy::SecretString;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tm_defect_bridge::config::{
    AuthSettings, DefectSettings, JiraFlavour, JiraSettings, KpiSettings, MappingsSettings,
    ServerSettings, Settings, StoreSettings, TestManagerSettings,
};
use tm_defect_bridge::startup::Application;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const CONNECTIONS: usize = 64;
const COLD_REQUESTS: usize = 500;
const SERVER_WORKERS: usize = 1;
const SECRET: &str = "bench-secret-0123456789";

fn mapping(id: &str, prefix: &str) -> String {
    format!("[project]\nid = \"{id}\"\nprefix = \"{prefix}\"\n\n[jira]\nproject = \"{prefix}\"\nissue_type = \"Bug\"\n")
}

/// A fake Jira Data Center whose search answers a total derived from the JQL,
/// after `delay` (so concurrent cold requests overlap one load, as with a real Jira).
async fn fake_jira(delay: Duration) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/rest/api/2/search"))
        .respond_with(move |request: &Request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
            let total = body["jql"].as_str().map_or(0, str::len);
            ResponseTemplate::new(200)
                .set_body_json(json!({"startAt": 0, "maxResults": 0, "total": total, "issues": []}))
                .set_delay(delay)
        })
        .mount(&server)
        .await;
    server
}

fn settings(jira: &MockServer, mappings: std::path::PathBuf, store: String) -> Settings {
    let mut secrets = BTreeMap::new();
    for route in ["shop", "cold"] {
        secrets.insert(route.to_owned(), SecretString::from(SECRET));
    }
    let base = url::Url::parse(&jira.uri()).expect("wiremock URI");
    Settings {
        server: ServerSettings {
            listen: "127.0.0.1:0".into(),
            workers: Some(SERVER_WORKERS),
            ..Default::default()
        },
        access: Default::default(),
        auth: AuthSettings {
            secrets,
            ..Default::default()
        },
        jira: JiraSettings {
            token: Some(SecretString::from("bench-token")),
            connect_timeout_ms: 2_000,
            timeout_ms: 10_000,
            verify_on_start: false,
            ..JiraSettings::new(JiraFlavour::DataCenter, base.clone())
        },
        testmanager: TestManagerSettings {
            client_secret: Some(SecretString::from("bench")),
            scope: "TM.TestExecutions.Read".into(),
            connect_timeout_ms: 2_000,
            timeout_ms: 10_000,
            ..TestManagerSettings::new(base, "bench")
        },
        store: StoreSettings {
            url: store,
            max_connections: 2,
        },
        mappings: MappingsSettings {
            dir: mappings,
            watch_secs: 0,
        },
        defects: DefectSettings::default(),
        kpis: KpiSettings {
            ttl_secs: 3_600,
            ..Default::default()
        },
        outbound: Default::default(),
        evidence: Default::default(),
        writeback: Default::default(),
    }
}

struct Run {
    requests: u64,
    failures: u64,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
}

impl Run {
    fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
}

/// `CONNECTIONS` tasks each sending GET `url` back to back for `length`.
async fn drive(client: &reqwest::Client, url: &str, length: Duration) -> Run {
    let failures = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + length;
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let client = client.clone();
            let url = url.to_owned();
            let failures = failures.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(100_000);
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    let ok = match client.get(&url).send().await {
                        Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                        _ => false,
                    };
                    if ok {
                        latencies.push(sent.elapsed());
                    } else {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("load task"));
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Run {
        requests: latencies.len() as u64,
        failures: failures.load(Ordering::Relaxed),
        elapsed,
        p50: at(0.50),
        p99: at(0.99),
    }
}

fn show(name: &str, run: &Run) {
    println!(
        "{name:<32} {:>9.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms   ({} requests, {} failed)",
        run.per_second(),
        run.p50.as_secs_f64() * 1e3,
        run.p99.as_secs_f64() * 1e3,
        run.requests,
        run.failures
    );
}

/// Count calls (the readiness probe's `GET /myself` is not one).
async fn search_calls(jira: &MockServer) -> usize {
    jira.received_requests().await.map_or(0, |r| {
        r.iter()
            .filter(|r| r.url.path().ends_with("/search"))
            .count()
    })
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let length = Duration::from_secs(
        std::env::var("KPI_BENCH_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(10),
    );
    let jira = fake_jira(Duration::from_millis(200)).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mappings = dir.path().join("mappings");
    std::fs::create_dir(&mappings).expect("mappings dir");
    std::fs::write(
        mappings.join("shop.toml"),
        mapping("6c1f0b4e-3f7a-4b8e-9a51-2f0c8d7e1a42", "SHOP"),
    )
    .expect("mapping");
    std::fs::write(
        mappings.join("cold.toml"),
        mapping("0b7e3d52-8a4c-4f1e-b9d6-5c2a7e8f1d30", "COLD"),
    )
    .expect("mapping");
    let store = format!("sqlite://{}", dir.path().join("ledger.db").display());
    let app = Application::build(settings(&jira, mappings, store))
        .await
        .expect("the bridge starts");
    let bridge = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()
        .expect("client");
    let kpi_url = format!("{bridge}/hooks/shop/{SECRET}/api/kpis/project/SHOP/defectstatus");
    let warm = client.get(&kpi_url).send().await.expect("warm-up request");
    assert!(warm.status().is_success(), "warm-up: {}", warm.status());
    let body = warm.bytes().await.expect("warm-up body");
    let warm_calls = search_calls(&jira).await;
    let answer: Value = serde_json::from_slice(&body).expect("a KPI DTO");
    assert_eq!(answer["status"], "Ok", "warm-up answer: {answer}");

    let constant = web::Bytes::from(body.to_vec());
    let trivial = HttpServer::new(move || {
        let constant = constant.clone();
        App::new().route(
            "/kpi",
            web::get().to(move || {
                let constant = constant.clone();
                async move {
                    HttpResponse::Ok()
                        .content_type("application/json")
                        .body(constant)
                }
            }),
        )
    })
    .workers(SERVER_WORKERS)
    .bind(("127.0.0.1", 0))
    .expect("trivial server binds");
    let trivial_url = format!("http://{}/kpi", trivial.addrs()[0]);
    tokio::spawn(trivial.run());

    println!(
        "kpis bench: {CONNECTIONS} connections, {} s per run, {SERVER_WORKERS} server worker(s) each, {} CPUs, body {} bytes",
        length.as_secs(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        body.len()
    );
    // Short warm-ups so both servers have their connections open.
    drive(&client, &trivial_url, Duration::from_millis(500)).await;
    drive(&client, &kpi_url, Duration::from_millis(500)).await;
    let base = drive(&client, &trivial_url, length).await;
    show("trivial actix-web handler", &base);
    let kpi = drive(&client, &kpi_url, length).await;
    show("KPI route, cache hit", &kpi);
    println!(
        "ratio KPI / trivial              {:>9.2}   (target >= 0.80)",
        kpi.per_second() / base.per_second()
    );
    println!(
        "Jira calls: {warm_calls} for the warm-up, {} during the cache-hit runs",
        search_calls(&jira).await - warm_calls
    );

    let before = search_calls(&jira).await;
    let cold_url = format!("{bridge}/hooks/cold/{SECRET}/api/kpis/project/COLD/defectstatus");
    let cold = futures::future::join_all((0..COLD_REQUESTS).map(|_| {
        let client = client.clone();
        let url = cold_url.clone();
        async move {
            let answer: Value = client
                .get(&url)
                .send()
                .await
                .expect("cold request")
                .json()
                .await
                .expect("cold answer");
            answer["status"] == "Ok"
        }
    }))
    .await;
    println!(
        "{COLD_REQUESTS} concurrent cold requests: {} Jira calls (one set = 5), {} answered status Ok",
        search_calls(&jira).await - before,
        cold.iter().filter(|ok| **ok).count()
    );
}
