//! The Grafana dashboard (`deploy/grafana/tm-defect-bridge.json`) and the Prometheus
//! alert rules (`deploy/prometheus/alerts.yml`) read only what the bridge exports.
//!
//! The bridge is driven until every metric they name was recorded, `/metrics` is
//! scraped, and every metric, label and label value their PromQL names is looked up
//! in the scrape, so renaming a metric, a label or an outcome fails here. Only
//! presence is checked: the recorder is shared by every bridge in the process.
//! Both files' structure is checked too, and, when `promtool` is installed,
//! Prometheus's own checks run on the rules, their unit tests and the dashboard's
//! queries.

mod promql;
mod scrape;

use crate::support::*;
use promql::{parse, Query, Selector};
use scrape::{missing, parse_scrape};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;
use tm_defect_bridge::config::JiraFlavour;
use yaml_rust2::{Yaml, YamlLoader};

const DASHBOARD: &str = "deploy/grafana/tm-defect-bridge.json";
const RULES: &str = "deploy/prometheus/alerts.yml";
const RULE_TESTS: &str = "deploy/prometheus/alerts.test.yml";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    let path = repo().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn dashboard() -> Value {
    serde_json::from_str(&read(DASHBOARD)).unwrap_or_else(|e| panic!("{DASHBOARD}: {e}"))
}

/// Every rule of every group of the alert rules file.
fn rules() -> Vec<Yaml> {
    let docs = YamlLoader::load_from_str(&read(RULES))
        .unwrap_or_else(|e| panic!("{RULES} is not valid YAML: {e}"));
    assert_eq!(docs.len(), 1, "{RULES}: one YAML document");
    let groups = docs[0]["groups"]
        .as_vec()
        .unwrap_or_else(|| panic!("{RULES}: `groups` must be a list"));
    assert!(!groups.is_empty(), "{RULES}: no groups");
    let mut rules = Vec::new();
    for group in groups {
        assert!(
            group["name"].as_str().is_some(),
            "{RULES}: a group needs a name"
        );
        let list = group["rules"].as_vec().expect("every group has rules");
        assert!(!list.is_empty(), "{RULES}: an empty group");
        rules.extend(list.iter().cloned());
    }
    rules
}

/// Every PromQL expression of the dashboard: panel targets and variable queries.
fn dashboard_queries(dashboard: &Value) -> Vec<Query> {
    let mut queries = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().into_iter().flatten() {
            queries.push(Query {
                place: format!(
                    "panel `{}` {}",
                    panel["title"].as_str().unwrap_or("?"),
                    target["refId"].as_str().unwrap_or("?")
                ),
                expr: target["expr"]
                    .as_str()
                    .expect("a target expression")
                    .to_owned(),
                label_values_of: None,
            });
        }
    }
    for variable in dashboard["templating"]["list"]
        .as_array()
        .expect("variables")
    {
        if variable["type"] != "query" {
            continue;
        }
        let query = variable["query"]["query"]
            .as_str()
            .or(variable["query"].as_str())
            .expect("a query variable's query");
        let inner = query
            .strip_prefix("label_values(")
            .and_then(|q| q.strip_suffix(')'))
            .unwrap_or_else(|| {
                panic!(
                    "variable {}: only label_values(…) is checked",
                    variable["name"]
                )
            });
        let (selector, label) = inner
            .rsplit_once(',')
            .expect("label_values(selector, label)");
        queries.push(Query {
            place: format!("variable `{}`", variable["name"].as_str().unwrap_or("?")),
            expr: selector.trim().to_owned(),
            label_values_of: Some(label.trim().to_owned()),
        });
    }
    queries
}

/// Every rule's expression.
fn rule_queries(rules: &[Yaml]) -> Vec<Query> {
    rules
        .iter()
        .map(|rule| Query {
            place: format!("rule `{}`", rule["alert"].as_str().unwrap_or("?")),
            expr: rule["expr"]
                .as_str()
                .expect("every rule has an expr")
                .to_owned(),
            label_values_of: None,
        })
        .collect()
}

// ---- the bridge at work ----

async fn get(app: &TestApp, url: &str) -> reqwest::Response {
    app.client.get(url).send().await.unwrap()
}

/// Waits (at most `tries` × 100 ms) until `done`; says whether it happened.
async fn eventually<F: std::future::Future<Output = bool>>(
    tries: u32,
    done: impl Fn() -> F,
) -> bool {
    for _ in 0..tries {
        if done().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// A bridge that has done what every dashboard panel and alert rule reads: a created
/// defect whose remote link Jira rate-limited once and whose attachment Jira refuses
/// until the evidence worker gives up, a press on a result that had passed, a KPI miss
/// and hit, and readiness probes.
async fn busy_bridge() -> TestApp {
    let app = spawn_app(
        AppOptions::cloud()
            .mapping(format!(
                "{MAPPING}\n[evidence]\nkinds = [\"attachments\"]\n"
            ))
            .tweak(|settings, _| settings.evidence.max_attempts = 2),
    )
    .await;
    app.jira.mount_counts(JiraFlavour::Cloud, Vec::new()).await;
    app.jira.rate_limit_next_remote_link().await;
    app.jira.behave(|b| b.failing_uploads = Some((403, 100)));

    let failed = SeededResult::new(None);
    app.tm.seed(&failed, "Failed").await;
    app.tm
        .seed_evidence(&failed, &[], &[], &[("a1", "refused.bin", vec![7; 2_000])])
        .await;
    assert_eq!(app.create_defect(&failed.body()).await.status(), 200);

    let passed = SeededResult::new(None);
    app.tm.seed(&passed, "Passed").await;
    assert_eq!(app.create_defect(&passed.body()).await.status(), 422);

    let kpis = app.hook_url(&format!("/api/kpis/project/{PROJECT_ID}/defectstatus"));
    for _ in 0..2 {
        assert_eq!(get(&app, &kpis).await.status(), 200);
    }

    let summary_posted = eventually(300, || async {
        app.jira.issues().iter().any(|issue| {
            issue
                .comments
                .iter()
                .any(|c| c.to_string().contains("Evidence from Test Manager"))
        })
    })
    .await;
    assert!(
        summary_posted,
        "the evidence worker gave up on the refused file"
    );
    let readyz = format!("{}/readyz", app.address);
    assert!(
        eventually(100, || async { get(&app, &readyz).await.status() == 200 }).await,
        "every dependency answered its probe"
    );
    app
}

#[tokio::test]
async fn every_metric_the_dashboard_and_the_rules_read_is_exported() {
    let app = busy_bridge().await;
    let text = get(&app, &format!("{}/metrics", app.address))
        .await
        .text()
        .await
        .unwrap();
    let scrape = parse_scrape(&text);
    let queries: Vec<Query> = dashboard_queries(&dashboard())
        .into_iter()
        .chain(rule_queries(&rules()))
        .collect();
    assert!(queries.len() > 20, "{} queries", queries.len());
    let problems: Vec<String> = queries.iter().flat_map(|q| missing(q, &scrape)).collect();
    assert!(
        problems.is_empty(),
        "{}\n\nscrape:\n{text}",
        problems.join("\n")
    );
}

/// The checker itself fails on what it is there to catch.
#[test]
fn a_renamed_metric_label_or_value_is_caught() {
    let scrape = parse_scrape(
        "# TYPE bridge_x_total counter\n\
         bridge_x_total{outcome=\"failed\",route=\"/hooks/{route}/[{secret}/]\"} 1\n\
         # TYPE bridge_d_seconds histogram\n\
         bridge_d_seconds_bucket{system=\"Jira\",le=\"0.5\"} 1\n\
         bridge_d_seconds_sum{system=\"Jira\"} 0.2\n\
         bridge_d_seconds_count{system=\"Jira\"} 1\n",
    );
    let check = |expr: &str| {
        missing(
            &Query {
                place: "q".into(),
                expr: expr.into(),
                label_values_of: None,
            },
            &scrape,
        )
    };
    let fine = [
        r#"sum by (outcome) (rate(bridge_x_total{outcome="failed", route="/hooks/{route}/[{secret}/]", job=~"$job"}[$__rate_interval]))"#,
        "histogram_quantile(0.95, sum by (system, le) (rate(bridge_d_seconds_bucket[5m])))",
        r#"bridge_x_total{outcome=~"failed"} > 0 and bridge_d_seconds_count{system!="Jira"}"#,
    ];
    for expr in fine {
        assert_eq!(check(expr), Vec::<String>::new(), "{expr}");
    }
    let caught = [
        "rate(bridge_y_total[5m])",
        "bridge_d_seconds",
        r#"bridge_x_total{state="failed"}"#,
        r#"bridge_x_total{outcome="failure"}"#,
        r#"bridge_x_total{outcome=~"failed|gone"}"#,
        r#"bridge_x_total{outcome=~"fail.*"}"#,
        "sum by (system) (bridge_x_total)",
    ];
    for expr in caught {
        assert!(!check(expr).is_empty(), "{expr} passed");
    }
    for misspelt in [
        "rate(brige_x_total[5m])",
        "sum(bridge_x_total) without (outcome)",
    ] {
        assert!(
            std::panic::catch_unwind(|| parse(misspelt)).is_err(),
            "{misspelt} passed"
        );
    }
}

#[test]
fn the_dashboard_is_an_importable_grafana_dashboard() {
    let dashboard = dashboard();
    let input = &dashboard["__inputs"][0];
    assert_eq!(input["name"], "DS_PROMETHEUS");
    assert_eq!(input["type"], "datasource");
    assert_eq!(input["pluginId"], "prometheus");
    assert_eq!(dashboard["uid"], "tm-defect-bridge");
    assert!(dashboard["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(dashboard["schemaVersion"].as_u64().is_some_and(|v| v >= 36));
    assert!(dashboard["id"].is_null(), "an id belongs to one Grafana");
    let variables = dashboard["templating"]["list"].as_array().unwrap();
    let datasource = variables
        .iter()
        .find(|v| v["type"] == "datasource")
        .expect("a datasource variable");
    assert_eq!(datasource["query"], "prometheus");
    let datasource_ref = format!("${{{}}}", datasource["name"].as_str().unwrap());

    let panels = dashboard["panels"].as_array().unwrap();
    let mut ids = BTreeSet::new();
    let mut cells = BTreeSet::new();
    for panel in panels {
        let title = &panel["title"];
        assert!(
            title.as_str().is_some_and(|t| !t.is_empty()),
            "a panel without a title"
        );
        assert!(
            ids.insert(panel["id"].as_u64().expect("a numeric id")),
            "{title}: duplicate id"
        );
        let grid = &panel["gridPos"];
        let [h, w, x, y] = ["h", "w", "x", "y"].map(|k| {
            grid[k]
                .as_u64()
                .unwrap_or_else(|| panic!("{title}: gridPos.{k}"))
        });
        assert!(h > 0 && w > 0 && x + w <= 24, "{title}: {grid}");
        for row in y..y + h {
            for column in x..x + w {
                assert!(
                    cells.insert((row, column)),
                    "{title} overlaps another panel"
                );
            }
        }
        if panel["type"] == "row" {
            continue;
        }
        assert_eq!(
            panel["datasource"]["uid"],
            datasource_ref.as_str(),
            "{title}"
        );
        assert!(
            panel["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{title}: say what it shows"
        );
        let targets = panel["targets"]
            .as_array()
            .unwrap_or_else(|| panic!("{title}: no targets"));
        assert!(!targets.is_empty(), "{title}: no targets");
        for target in targets {
            assert!(
                target["expr"]
                    .as_str()
                    .is_some_and(|e| !e.trim().is_empty()),
                "{title}: {target}"
            );
            assert!(target["refId"].as_str().is_some(), "{title}: {target}");
        }
    }

    // What operators asked to see.
    let queries = dashboard_queries(&dashboard);
    let shown: BTreeSet<String> = queries
        .iter()
        .flat_map(|q| parse(&q.expr).selectors)
        .map(|s| s.metric)
        .collect();
    for metric in [
        "bridge_create_defect_total",
        "bridge_http_request_duration_seconds_bucket",
        "bridge_upstream_calls_total",
        "bridge_upstream_retries_total",
        "bridge_rate_limit_wait_seconds_total",
        "bridge_kpi_requests_total",
        "bridge_evidence_total",
        "bridge_ledger_entries",
        "bridge_evidence_queue",
        "bridge_dependency_ready",
    ] {
        assert!(shown.contains(metric), "no panel shows {metric}");
    }
}

fn duration_secs(text: &str) -> Option<u64> {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let factor = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return None,
    };
    Some(number.parse::<u64>().ok()? * factor)
}

#[test]
fn every_alert_rule_tells_the_operator_what_and_what_to_do() {
    let rules = rules();
    let mut names = BTreeSet::new();
    for rule in &rules {
        let name = rule["alert"]
            .as_str()
            .expect("alerting rules only: every rule has `alert`");
        assert!(names.insert(name), "{name} twice");
        assert!(
            rule["expr"].as_str().is_some_and(|e| !e.trim().is_empty()),
            "{name}: expr"
        );
        assert!(
            rule["for"].as_str().and_then(duration_secs).is_some(),
            "{name}: `for` must be a duration like 5m"
        );
        let severity = rule["labels"]["severity"].as_str();
        assert!(
            matches!(severity, Some("warning" | "critical")),
            "{name}: severity {severity:?}"
        );
        for key in ["summary", "description"] {
            let text = rule["annotations"][key].as_str().unwrap_or_default();
            assert!(
                text.split_whitespace().count() >= 5,
                "{name}: annotations.{key} says too little"
            );
        }
    }

    // What operators asked to be alerted on.
    let watched: Vec<Selector> = rule_queries(&rules)
        .iter()
        .flat_map(|q| parse(&q.expr).selectors)
        .collect();
    let watches = |metric: &str, label: &str, value: &str| {
        watched.iter().any(|s| {
            s.metric == metric
                && s.matchers
                    .iter()
                    .any(|(l, o, v)| l == label && o == "=" && v == value)
        })
    };
    assert!(watches("bridge_create_defect_total", "outcome", "failed"));
    for dependency in ["jira", "testmanager", "ledger"] {
        assert!(
            watches("bridge_dependency_ready", "dependency", dependency),
            "{dependency}"
        );
    }
    assert!(watches("bridge_evidence_total", "outcome", "failed"));
}

/// The value of `bridge_dependency_ready` for each dependency in a scrape, in report order.
fn readiness_gauges(scrape: &str) -> [Option<String>; 3] {
    ["ledger", "jira", "testmanager"].map(|dependency| {
        let prefix = format!("bridge_dependency_ready{{dependency=\"{dependency}\"}} ");
        scrape
            .lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .map(str::to_owned)
    })
}

/// `bridge_dependency_ready` is `/readyz`'s verdict, taken at scrape time: when Jira's
/// probe hangs (its timeout far off, so the call never fails), the gauge reads 0 once
/// the readiness bound passed without an answer, exactly when `/readyz` turns not ready,
/// and the ledger and Test Manager, probed on their own, still read 1.
///
/// Other bridges in the process (plain `cargo test`) set the same gauge when scraped,
/// so the whole picture is polled for rather than read once.
#[tokio::test]
async fn a_dependency_whose_probe_hangs_reads_zero_once_the_bound_passed_like_readyz() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let app = spawn_app(AppOptions::cloud().tweak(|settings, _| {
        // A probe every second: ready means answered within the last 3 s.
        settings.server.probe_interval_secs = 1;
        // A minute: beyond the 30 s this test polls, so only the bound can turn Jira not ready.
        settings.jira.timeout_ms = 60_000;
    }))
    .await;
    let scrape = || async {
        let text = get(&app, &format!("{}/metrics", app.address))
            .await
            .text()
            .await
            .unwrap();
        readiness_gauges(&text)
    };
    let readyz = || async {
        let response = get(&app, &format!("{}/readyz", app.address)).await;
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.unwrap())
    };
    let one = Some("1".to_owned());
    let zero = Some("0".to_owned());
    let all_ready = [one.clone(), one.clone(), one.clone()];
    assert!(
        eventually(100, || async { scrape().await == all_ready }).await,
        "every dependency answered: {:?}",
        scrape().await
    );

    let probes_before = app.jira.received("GET", "/rest/api/3/myself").await.len();
    Mock::given(method("GET"))
        .and(path("/rest/api/3/myself"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3_600)))
        .with_priority(1)
        .mount(&app.jira.server)
        .await;
    let only_jira_down = [one.clone(), zero, one];
    let agreed = eventually(300, || async {
        let (status, body) = readyz().await;
        status == 503
            && body["dependencies"]["jira"]["ready"] == false
            && body["dependencies"]["ledger"]["ready"] == true
            && body["dependencies"]["testmanager"]["ready"] == true
            && scrape().await == only_jira_down
    })
    .await;
    let (status, body) = readyz().await;
    assert!(
        agreed,
        "/readyz {status} {body}\n/metrics {:?}",
        scrape().await
    );
    assert!(
        body["dependencies"]["jira"]["last_error"].is_null(),
        "the probe never failed, it is still waiting: {body}"
    );
    assert!(
        app.jira.received("GET", "/rest/api/3/myself").await.len() > probes_before,
        "Jira got the probe that hangs"
    );
}

/// Prometheus's own checks, where `promtool` is installed (Debian: `apt-get install
/// prometheus`): the rules load, their unit tests pass, and every dashboard query
/// parses as PromQL (loaded as recording rules, Grafana's `$__…` ranges as 5m).
#[test]
fn promtool_accepts_the_rules_and_the_dashboard_queries() {
    let Ok(version) = std::process::Command::new("promtool")
        .arg("--version")
        .output()
    else {
        eprintln!("skipping promtool checks: promtool not installed (apt-get install prometheus)");
        return;
    };
    assert!(version.status.success());
    let run = |args: &[&str]| {
        let out = std::process::Command::new("promtool")
            .args(args)
            .current_dir(repo())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "promtool {args:?}:\n{text}");
    };
    run(&["check", "rules", RULES]);
    run(&["test", "rules", RULE_TESTS]);

    let records: Vec<Value> = dashboard_queries(&dashboard())
        .iter()
        .filter(|q| q.label_values_of.is_none())
        .enumerate()
        .map(|(i, q)| {
            let expr = q
                .expr
                .replace("$__rate_interval", "5m")
                .replace("$__range", "5m");
            serde_json::json!({ "record": format!("dashboard:query_{i}"), "expr": expr })
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    // JSON is YAML, and promtool reads YAML.
    let file = dir.path().join("dashboard-queries.yml");
    let groups = serde_json::json!({ "groups": [{ "name": "dashboard", "rules": records }] });
    std::fs::write(&file, groups.to_string()).unwrap();
    run(&["check", "rules", file.to_str().unwrap()]);
}
