//! Defect KPIs end to end, for Jira Cloud and Jira Data Center: the answer,
//! the JQL Jira received, single flight, expiry, failures and hostile input.

use crate::support::*;
use crate::support::{seeded_issues, CountBehaviour};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tm_defect_bridge::config::{JiraFlavour, KpiSettings};

const SCOPE: &str = r#"project = "SHOP" AND issuetype = "Bug""#;

/// The five JQL queries of the default `[kpis]` table, sorted.
fn default_jql() -> Vec<String> {
    let open = format!("{SCOPE} AND statusCategory != Done");
    let mut all = vec![
        SCOPE.to_owned(),
        open.clone(),
        format!("{SCOPE} AND statusCategory = Done"),
        format!(r#"{open} AND priority in ("Highest")"#),
        format!(r#"{open} AND priority in ("High", "Medium")"#),
    ];
    all.sort();
    all
}

fn critical_link(app: &TestApp, jql: &str) -> String {
    let mut url = app.jira.base_url();
    url.set_path(&format!("{}/issues/", app.jira.context));
    url.query_pairs_mut().append_pair("jql", jql);
    url.to_string()
}

/// The answer for the seeded issues (see `support::seeded_issues`).
fn seeded_answer(app: &TestApp, status: &str) -> Value {
    json!({
        "totalDefects": 33,
        "criticalDefects": 1,
        "moderateDefects": 5,
        "openDefects": 21,
        "closedDefects": 12,
        "status": status,
        "criticalDefectsLink": critical_link(app, &format!(
            r#"{SCOPE} AND statusCategory != Done AND priority in ("Highest")"#
        )),
    })
}

fn zeros(status: &str, link: Value) -> Value {
    json!({
        "totalDefects": 0, "criticalDefects": 0, "moderateDefects": 0,
        "openDefects": 0, "closedDefects": 0, "status": status, "criticalDefectsLink": link,
    })
}

impl TestApp {
    async fn kpis(&self, project: &str) -> Value {
        let response = self
            .client
            .get(format!(
                "{}/hooks/shop/{SECRET}/api/kpis/project/{project}/defectstatus",
                self.address
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }
}

async fn app_with(
    flavour: JiraFlavour,
    kpis: KpiSettings,
    mapping_extra: &str,
) -> (TestApp, Arc<Mutex<CountBehaviour>>) {
    let app = spawn_app(
        AppOptions::of(flavour)
            .mapping(format!("{MAPPING}\n{mapping_extra}"))
            .kpis(kpis),
    )
    .await;
    let behaviour = app.jira.mount_counts(flavour, seeded_issues()).await;
    (app, behaviour)
}

#[tokio::test]
async fn cloud_answers_approximate_counts_from_the_mapping_jql() {
    let (app, _) = app_with(JiraFlavour::Cloud, KpiSettings::default(), "").await;
    let answer = app.kpis(PROJECT_ID).await;
    assert_eq!(answer, seeded_answer(&app, "Ok"));

    let requests = app.jira.count_requests().await;
    assert_eq!(requests.len(), 5);
    for (path, body) in &requests {
        assert_eq!(path, "/rest/api/3/search/approximate-count");
        assert_matches_cloud_schema("JQLCountRequestBean", body);
    }
    assert_eq!(app.jira.count_jql().await, default_jql());
    // The prefix names the same project, and the counts are cached.
    assert_eq!(app.kpis("shop").await, seeded_answer(&app, "Ok"));
    assert_eq!(app.jira.count_requests().await.len(), 5);
}

#[tokio::test]
async fn data_center_answers_exact_totals() {
    let (app, _) = app_with(JiraFlavour::DataCenter, KpiSettings::default(), "").await;
    let answer = app.kpis("SHOP").await;
    assert_eq!(answer, seeded_answer(&app, "Ok"));
    let requests = app.jira.count_requests().await;
    assert_eq!(requests.len(), 5);
    for (path, body) in &requests {
        assert_eq!(path, "/rest/api/2/search");
        assert_eq!(body["maxResults"], 0);
        assert_eq!(body["fields"], json!([]));
    }
    assert_eq!(app.jira.count_jql().await, default_jql());
    let auth = app.jira.server.received_requests().await.unwrap()[0]
        .headers
        .get("authorization")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(auth, format!("Bearer {JIRA_TOKEN}"));
}

#[tokio::test]
async fn mapping_settings_shape_every_query() {
    let extra = r#"
[kpis]
only_bridge_issues = true
critical_priorities = ["1", "Blocker"]
moderate_priorities = ["Low"]
"#;
    let (app, _) = app_with(JiraFlavour::DataCenter, KpiSettings::default(), extra).await;
    let answer = app.kpis(PROJECT_ID).await;
    let scope = format!(r#"{SCOPE} AND labels = "tm-defect-bridge""#);
    let critical =
        format!(r#"{scope} AND statusCategory != Done AND priority in ("1", "Blocker")"#);
    assert_eq!(
        answer,
        json!({
            "totalDefects": 33, "criticalDefects": 7, "moderateDefects": 4,
            "openDefects": 21, "closedDefects": 12, "status": "Ok",
            "criticalDefectsLink": critical_link(&app, &critical),
        })
    );
    let mut expected = vec![
        scope.clone(),
        format!("{scope} AND statusCategory != Done"),
        format!("{scope} AND statusCategory = Done"),
        critical,
        format!(r#"{scope} AND statusCategory != Done AND priority in ("Low")"#),
    ];
    expected.sort();
    assert_eq!(app.jira.count_jql().await, expected);
}

#[tokio::test]
async fn cloud_exact_mode_pages_ids_to_the_end() {
    let (app, behaviour) = app_with(
        JiraFlavour::Cloud,
        KpiSettings::default(),
        "[kpis]\ncount_mode = \"exact\"\n",
    )
    .await;
    behaviour.lock().unwrap().page_size = 5;
    assert_eq!(app.kpis(PROJECT_ID).await, seeded_answer(&app, "Ok"));
    let requests = app.jira.count_requests().await;
    // 33 + 21 + 12 + 1 + 5 issues in pages of 5: 7 + 5 + 3 + 1 + 1 pages.
    assert_eq!(requests.len(), 17);
    for (path, body) in &requests {
        assert_eq!(path, "/rest/api/3/search/jql");
        assert_matches_cloud_schema("SearchAndReconcileRequestBean", body);
        assert_eq!(body["fields"], json!(["id"]));
        assert_eq!(body["maxResults"], 5000);
    }
    let mut tokens: Vec<&str> = requests
        .iter()
        .filter(|(_, b)| b["jql"] == SCOPE)
        .filter_map(|(_, b)| b["nextPageToken"].as_str())
        .collect();
    tokens.sort();
    assert_eq!(
        tokens,
        [
            "page-at-10",
            "page-at-15",
            "page-at-20",
            "page-at-25",
            "page-at-30",
            "page-at-5"
        ]
    );
    assert!(app.jira.count_requests().await.iter().all(|(_, b)| b["jql"]
        .as_str()
        .is_some_and(|j| default_jql().contains(&j.to_owned()))));
}

#[tokio::test]
async fn a_failed_page_is_an_error_not_a_short_count() {
    let (app, behaviour) = app_with(
        JiraFlavour::Cloud,
        KpiSettings::default(),
        "[kpis]\ncount_mode = \"exact\"\n",
    )
    .await;
    {
        let mut b = behaviour.lock().unwrap();
        b.page_size = 5;
        b.fail_page = Some(1);
    }
    let answer = app.kpis(PROJECT_ID).await;
    assert_eq!(
        answer,
        zeros(
            "Error",
            seeded_answer(&app, "Ok")["criticalDefectsLink"].clone()
        )
    );
    // The second page was asked for (and failed) for the counts with more than one page.
    assert!(app
        .jira
        .count_requests()
        .await
        .iter()
        .any(|(_, b)| b["nextPageToken"] == "page-at-5"));
}

#[tokio::test]
async fn concurrent_cold_requests_share_one_load() {
    for flavour in [JiraFlavour::Cloud, JiraFlavour::DataCenter] {
        let (app, behaviour) = app_with(flavour, KpiSettings::default(), "").await;
        // Slow enough that every request arrives while the load is running.
        behaviour.lock().unwrap().delay = Some(Duration::from_millis(300));
        let app = Arc::new(app);
        let requests = (0..200).map(|_| {
            let app = app.clone();
            async move { app.kpis(PROJECT_ID).await }
        });
        let answers = futures::future::join_all(requests).await;
        let expected = seeded_answer(&app, "Ok");
        assert!(answers.iter().all(|a| *a == expected), "{flavour:?}");
        assert_eq!(app.jira.count_requests().await.len(), 5, "{flavour:?}");
        assert_eq!(app.jira.count_jql().await, default_jql());
    }
}

#[tokio::test]
async fn expiry_refreshes_once() {
    let kpis = KpiSettings {
        ttl_secs: 1,
        ..Default::default()
    };
    let (app, behaviour) = app_with(JiraFlavour::Cloud, kpis, "").await;
    assert_eq!(app.kpis(PROJECT_ID).await["status"], "Ok");
    assert_eq!(app.jira.count_requests().await.len(), 5);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    behaviour.lock().unwrap().delay = Some(Duration::from_millis(300));
    let app = Arc::new(app);
    let answers = futures::future::join_all((0..50).map(|_| {
        let app = app.clone();
        async move { app.kpis(PROJECT_ID).await }
    }))
    .await;
    assert!(answers.iter().all(|a| *a == seeded_answer(&app, "Ok")));
    assert_eq!(app.jira.count_requests().await.len(), 10);
}

#[tokio::test]
async fn jira_failing_serves_the_last_good_counts_then_recovers() {
    let kpis = KpiSettings {
        ttl_secs: 1,
        error_backoff_ms: 1_000,
        status_error: "Stale".into(),
        ..Default::default()
    };
    let (app, behaviour) = app_with(JiraFlavour::DataCenter, kpis, "").await;
    assert_eq!(app.kpis(PROJECT_ID).await, seeded_answer(&app, "Ok"));
    behaviour.lock().unwrap().failing = true;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(app.kpis(PROJECT_ID).await, seeded_answer(&app, "Stale"));
    let after_failure = app.jira.count_requests().await.len();
    assert!(after_failure > 5, "Jira was asked again");
    // Backing off: Jira is left alone, the last good counts are answered.
    behaviour.lock().unwrap().failing = false;
    assert_eq!(app.kpis(PROJECT_ID).await, seeded_answer(&app, "Stale"));
    assert_eq!(app.jira.count_requests().await.len(), after_failure);
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(app.kpis(PROJECT_ID).await, seeded_answer(&app, "Ok"));
    assert_eq!(app.jira.count_requests().await.len(), after_failure + 5);
}

#[tokio::test]
async fn no_good_counts_yet_answers_zeros_with_the_error_status() {
    let (app, behaviour) = app_with(JiraFlavour::Cloud, KpiSettings::default(), "").await;
    behaviour.lock().unwrap().failing = true;
    let link = seeded_answer(&app, "Ok")["criticalDefectsLink"].clone();
    assert_eq!(app.kpis(PROJECT_ID).await, zeros("Error", link));
}

#[tokio::test]
async fn slow_jira_is_not_waited_for_and_the_load_fills_the_cache() {
    let kpis = KpiSettings {
        max_wait_ms: 100,
        ..Default::default()
    };
    let (app, behaviour) = app_with(JiraFlavour::Cloud, kpis, "").await;
    behaviour.lock().unwrap().delay = Some(Duration::from_millis(1_000));
    let link = seeded_answer(&app, "Ok")["criticalDefectsLink"].clone();
    assert_eq!(app.kpis(PROJECT_ID).await, zeros("Error", link));
    let mut answer = Value::Null;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        answer = app.kpis(PROJECT_ID).await;
        if answer["status"] == "Ok" {
            break;
        }
    }
    assert_eq!(answer, seeded_answer(&app, "Ok"));
    assert_eq!(
        app.jira.count_requests().await.len(),
        5,
        "the load begun by the first request completed and was reused"
    );
}

#[tokio::test]
async fn hostile_or_unknown_project_ids_never_reach_jira() {
    let kpis = KpiSettings {
        status_not_configured: "Unconfigured".into(),
        ..Default::default()
    };
    let (app, _) = app_with(JiraFlavour::Cloud, kpis, "").await;
    let long = "A".repeat(10 * 1024);
    let hostile = [
        "SHOP%22%20OR%20project%20%3D%20%22HR",
        "SHOP'%20OR%20'1'%3D'1",
        "SHOP%20OR%20project%20is%20not%20EMPTY%20ORDER%20BY%20created",
        "%22%29%20OR%20%28priority%20%3D%20Highest",
        "project%3DHR",
        long.as_str(),
        "00000000-0000-0000-0000-000000000000",
        "HR",
    ];
    for project in hostile {
        assert_eq!(
            app.kpis(project).await,
            zeros("Unconfigured", Value::Null),
            "{}",
            &project[..project.len().min(60)]
        );
    }
    assert!(
        app.jira.calls_except_probes().await.is_empty(),
        "Jira was called"
    );
}

#[tokio::test]
async fn other_methods_and_wrong_secrets_are_refused() {
    let (app, _) = app_with(JiraFlavour::Cloud, KpiSettings::default(), "").await;
    let url = format!(
        "{}/hooks/shop/wrong/api/kpis/project/SHOP/defectstatus",
        app.address
    );
    assert_eq!(app.client.get(url).send().await.unwrap().status(), 401);
    let url = format!(
        "{}/hooks/shop/{SECRET}/api/kpis/project/SHOP/defectstatus",
        app.address
    );
    assert_eq!(app.client.post(url).send().await.unwrap().status(), 405);
    assert!(app.jira.calls_except_probes().await.is_empty());
}

/// The counts follow what is in Jira: the issues the bridge just created are
/// counted, and an issue a Jira user closes moves from open to closed once the
/// cached answer has expired. (The sandbox's Jira counts the same way.)
#[tokio::test]
async fn counts_follow_the_issues_the_bridge_created() {
    for flavour in [JiraFlavour::Cloud, JiraFlavour::DataCenter] {
        let kpis = KpiSettings {
            ttl_secs: 1,
            ..Default::default()
        };
        let app = spawn_app(AppOptions::of(flavour).kpis(kpis)).await;
        app.jira.mount_live_counts().await;
        // The SHOP mapping gives test cases labelled `checkout` priority High, others Medium.
        let checkout = SeededResult::new(None);
        app.tm.seed(&checkout, "Failed").await;
        let search = SeededResult::new(None);
        let case = SeededCase {
            key: "SHOP:63",
            name: "Search finds products by partial name",
            labels: &["search"],
            ..SeededCase::default()
        };
        app.tm.seed_case(&search, "Failed", &case).await;
        let mut keys = Vec::new();
        for seeded in [&checkout, &search] {
            let response = app.create_defect(&seeded.body()).await;
            assert_eq!(response.status(), 200, "{flavour:?}");
            let payload: Value = response.json().await.unwrap();
            keys.push(payload["linkLabel"].as_str().unwrap().to_owned());
        }
        let answer = app.kpis(PROJECT_ID).await;
        assert_eq!(
            (
                &answer["totalDefects"],
                &answer["openDefects"],
                &answer["closedDefects"],
                &answer["moderateDefects"],
                &answer["criticalDefects"]
            ),
            (&json!(2), &json!(2), &json!(0), &json!(2), &json!(0)),
            "{flavour:?}: {answer}"
        );

        app.jira.set_status(&keys[0], "Done", "done");
        let mut closed = Value::Null;
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            closed = app.kpis(PROJECT_ID).await;
            if closed["closedDefects"] == 1 {
                break;
            }
        }
        assert_eq!(
            (
                &closed["totalDefects"],
                &closed["openDefects"],
                &closed["closedDefects"],
                &closed["moderateDefects"]
            ),
            (&json!(2), &json!(1), &json!(1), &json!(1)),
            "{flavour:?}: {closed}"
        );
        let jql = app.jira.count_jql().await;
        assert!(
            jql.iter().all(|q| q.starts_with(SCOPE)),
            "{flavour:?}: every count is scoped to the mapping: {jql:?}"
        );
    }
}
