//! The Prometheus metrics count exactly what happened. The recorder is
//! process-wide, so these tests live in their own test binary (own process
//! under `cargo test` too) and take turns: each compares the counts before and
//! after its own requests.

#[allow(dead_code, unused_imports)]
#[path = "api/support/mod.rs"]
mod support;

use support::*;

/// Held by each test for its whole run: no other test's requests move the counts.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn metrics_text(app: &TestApp) -> String {
    app.client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The value of the sample whose line starts with `prefix` (name and labels), or 0.
fn sample(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && labels.iter().all(|label| l.contains(label)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn metrics_are_present_and_move_after_requests() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let (app, seeded) = app_with_a_failure(AppOptions::cloud()).await;
    let before = metrics_text(&app).await;

    assert_eq!(app.create_defect(&seeded.body()).await.status(), 200);
    assert_eq!(app.create_defect(&seeded.body()).await.status(), 200);
    let refused = app
        .client
        .post(format!("{}/hooks/shop/wrong", app.address))
        .json(&seeded.body())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    let after = metrics_text(&app).await;
    let grew =
        |name: &str, labels: &[&str]| sample(&after, name, labels) - sample(&before, name, labels);
    assert_eq!(
        grew("bridge_create_defect_total", &["outcome=\"created\""]),
        1.0,
        "{after}"
    );
    assert_eq!(
        grew("bridge_create_defect_total", &["outcome=\"existing\""]),
        1.0
    );
    assert_eq!(
        grew(
            "bridge_http_requests_total",
            &[
                "route=\"/hooks/{route}/[{secret}/][defects]\"",
                "status=\"200\""
            ]
        ),
        2.0,
        "{after}"
    );
    assert_eq!(grew("bridge_http_requests_total", &["status=\"401\""]), 1.0);
    assert!(
        after.contains("bridge_http_request_duration_seconds_bucket"),
        "latency histogram"
    );
    assert_eq!(
        sample(&after, "bridge_ledger_entries", &["state=\"created\""]),
        1.0
    );
    assert!(
        !after.contains(SECRET),
        "the path secret never becomes a label"
    );
    assert_eq!(
        grew(
            "bridge_upstream_calls_total",
            &["endpoint=\"create issue\"", "status=\"201\""]
        ),
        1.0,
        "{after}"
    );
    assert!(
        grew(
            "bridge_upstream_calls_total",
            &["endpoint=\"GET testcaselogs paged\""]
        ) >= 1.0,
        "{after}"
    );
    assert!(after.contains("bridge_upstream_call_duration_seconds_bucket"));
}

#[tokio::test]
async fn retries_and_rate_limit_waits_are_counted() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let (app, seeded) = app_with_a_failure(AppOptions::cloud()).await;
    let before = metrics_text(&app).await;
    app.jira.rate_limit_next_remote_link().await;
    assert_eq!(app.create_defect(&seeded.body()).await.status(), 200);
    let text = metrics_text(&app).await;
    let grew =
        |name: &str, labels: &[&str]| sample(&text, name, labels) - sample(&before, name, labels);
    assert_eq!(
        grew(
            "bridge_upstream_retries_total",
            &["reason=\"rate_limited\""]
        ),
        1.0,
        "{text}"
    );
    assert!(
        grew("bridge_rate_limit_wait_seconds_total", &[]) >= 1.0,
        "{text}"
    );
    assert_eq!(
        grew(
            "bridge_upstream_calls_total",
            &["endpoint=\"add the remote link\"", "status=\"429\""]
        ),
        1.0,
        "{text}"
    );
}
