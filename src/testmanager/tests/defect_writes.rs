//! Tests of the write-back calls (`update_defect`, `defect`)
//! against the fake Test Manager of the parent module.
//!
//! The fake keeps defects like Test Manager does (as UiPath's CLI documentation describes it): a PATCH
//! changes only the fields it carries and answers the whole defect; an unknown
//! id is 404 with an `errorMessage`; a token issued without `TM.Defects.Write`
//! is refused with 403 and an empty body, as the gateway does.

use super::*;
use crate::outbound::{RetryPolicy, Upstream};

const WRITE_SCOPE: &str =
    "TM.Projects.Read TM.TestExecutions.Read TM.Defects.Read TM.Defects.Write";

/// Defects by id, and the scope each issued token carries.
#[derive(Default)]
struct Defects {
    records: Mutex<HashMap<String, Value>>,
    scopes: Mutex<HashMap<String, String>>,
}

impl Defects {
    fn scope_of(&self, request: &Request) -> String {
        let token = bearer(request);
        let token = token.trim_start_matches("Bearer ");
        self.scopes
            .lock()
            .unwrap()
            .get(token)
            .cloned()
            .unwrap_or_default()
    }

    fn grants(&self, request: &Request, scope: &str) -> bool {
        self.scope_of(request).split(' ').any(|s| s == scope)
    }
}

fn not_found() -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(json!({"errorMessage": "Defect not found."}))
}

impl Fake {
    /// Issues tokens carrying the scope asked for (in front of the parent's
    /// token endpoint) and serves defects at `defect_path` (`{defectId}` replaced).
    async fn mount_defects(&self, defect_path: &str) -> Arc<Defects> {
        let defects = Arc::new(Defects::default());
        defects.records.lock().unwrap().insert(
            DEFECT.into(),
            json!({
                "id": DEFECT, "name": "Checkout fails", "description": "…",
                "status": "To Do", "priority": "Medium",
                "link": "https://jira/browse/SHOP-1", "linkLabel": "SHOP-1", "syncStatus": "Success"
            }),
        );
        let (state, tokens) = (Arc::clone(&self.state), Arc::clone(&defects));
        Mock::given(method("POST"))
            .and(path(self.token_url.path()))
            .respond_with(move |request: &Request| {
                let form = form(request);
                if form.get("client_id").map(String::as_str) != Some(CLIENT_ID)
                    || form.get("client_secret").map(String::as_str) != Some(SECRET)
                {
                    return ResponseTemplate::new(400)
                        .set_body_json(json!({"error": "invalid_client"}));
                }
                let n = state.issued.fetch_add(1, Ordering::SeqCst) + 1;
                let token = format!("scoped-{n}");
                let scope = form.get("scope").cloned().unwrap_or_default();
                tokens.scopes.lock().unwrap().insert(token.clone(), scope);
                state
                    .valid
                    .lock()
                    .unwrap()
                    .insert(token.clone(), Instant::now() + Duration::from_secs(3600));
                ResponseTemplate::new(200).set_body_json(
                    json!({"access_token": token, "expires_in": 3600, "token_type": "Bearer"}),
                )
            })
            .with_priority(1)
            .mount(&self.server)
            .await;
        let at = format!(
            "{}/{}",
            self.prefix,
            defect_path.replace("{projectId}", &project().to_string())
        );
        let id_at = at.find("{defectId}").unwrap();
        let (prefix, suffix) = (
            at[..id_at].to_owned(),
            at[id_at + "{defectId}".len()..].to_owned(),
        );
        let store = Arc::clone(&defects);
        Mock::given(wiremock::matchers::path_regex(format!(
            "^{}[^/]+{}$",
            regex_escape(&prefix),
            regex_escape(&suffix)
        )))
        .respond_with(api(&self.state, move |request| {
            let id = request.url.path()[prefix.len()..request.url.path().len() - suffix.len()]
                .to_owned();
            let needed = if request.method.as_str() == "GET" {
                "TM.Defects.Read"
            } else {
                "TM.Defects.Write"
            };
            if !store.grants(request, needed) {
                return ResponseTemplate::new(403);
            }
            let mut records = store.records.lock().unwrap();
            let Some(record) = records.get_mut(&id) else {
                return not_found();
            };
            if request.method.as_str() == "PATCH" {
                let Ok(Value::Object(changes)) = serde_json::from_slice(&request.body) else {
                    return ResponseTemplate::new(400)
                        .set_body_json(json!({"errorMessage": "Invalid body."}));
                };
                for (field, value) in changes {
                    record[field] = value;
                }
            }
            ResponseTemplate::new(200).set_body_json(record.clone())
        }))
        .mount(&self.server)
        .await;
        defects
    }

    fn client_with(&self, scope: &str, policy: RetryPolicy) -> TestManagerClient {
        let connection = TestManagerConnection {
            scope: scope.to_owned(),
            ..self.connection()
        };
        TestManagerClient::with_outbound(
            reqwest::Client::new(),
            connection,
            Arc::new(Upstream::new("Test Manager", policy, 4)),
        )
    }

    async fn defect_requests(&self) -> Vec<Request> {
        self.received()
            .await
            .into_iter()
            .filter(|r| r.url.path().contains("efect"))
            .collect()
    }
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_') {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

fn retrying() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(20),
        total_budget: Duration::from_secs(5),
    }
}

fn done() -> DefectUpdate {
    DefectUpdate {
        status: Some("Done".into()),
        priority: None,
    }
}

#[tokio::test]
async fn patch_sends_only_the_fields_set_to_the_default_path() {
    let fake = Fake::cloud().await;
    let defects = fake.mount_defects(DEFAULT_DEFECT_PATH).await;
    let client = fake.client_with(WRITE_SCOPE, RetryPolicy::once());
    client
        .update_defect(project(), DEFECT, &done())
        .await
        .unwrap();

    let sent = fake.defect_requests().await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method.as_str(), "PATCH");
    assert_eq!(
        sent[0].url.path(),
        format!(
            "/acme/DefaultTenant/testmanager_/api/v2/{}/defects/{DEFECT}",
            project()
        )
    );
    assert_eq!(sent[0].headers["content-type"], "application/json");
    assert!(bearer(&sent[0]).starts_with("Bearer scoped-"));
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(body, json!({"status": "Done"}));
    // The priority was not sent, so Test Manager kept it.
    let defect = client.defect(project(), DEFECT).await.unwrap().unwrap();
    assert_eq!(defect.status.as_deref(), Some("Done"));
    assert_eq!(defect.priority.as_deref(), Some("Medium"));
    assert_eq!(defect.link_label.as_deref(), Some("SHOP-1"));
    assert_eq!(defect.sync_status.as_deref(), Some("Success"));
    assert_eq!(defects.records.lock().unwrap()[DEFECT]["status"], "Done");
}

#[tokio::test]
async fn custom_path_and_field_names_are_used() {
    let fake = Fake::cloud().await;
    let template = "api/v3/projects/{projectId}/defect/{defectId}/state";
    fake.mount_defects(template).await;
    let client = fake
        .client_with(WRITE_SCOPE, RetryPolicy::once())
        .with_defect_api(DefectApi {
            path: template.into(),
            status_field: "externalStatus".into(),
            priority_field: "externalPriority".into(),
        });
    let update = DefectUpdate {
        status: Some("In Progress".into()),
        priority: Some("Highest".into()),
    };
    client
        .update_defect(project(), DEFECT, &update)
        .await
        .unwrap();
    let sent = fake.defect_requests().await;
    assert_eq!(
        sent[0].url.path(),
        format!(
            "/acme/DefaultTenant/testmanager_/api/v3/projects/{}/defect/{DEFECT}/state",
            project()
        )
    );
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(
        body,
        json!({"externalStatus": "In Progress", "externalPriority": "Highest"})
    );
}

#[tokio::test]
async fn a_missing_defect_is_its_own_error_and_not_retried() {
    let fake = Fake::cloud().await;
    fake.mount_defects(DEFAULT_DEFECT_PATH).await;
    let client = fake.client_with(WRITE_SCOPE, retrying());
    let gone = "0a1b2c3d-0000-0000-0000-00000000dead";
    let error = client
        .update_defect(project(), gone, &done())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, TestManagerError::DefectNotFound { defect_id, project_id } if defect_id == gone && *project_id == project()),
        "{error:?}"
    );
    assert!(!error.is_transient());
    assert_eq!(fake.defect_requests().await.len(), 1);
    assert_eq!(client.defect(project(), gone).await.unwrap(), None);
}

#[tokio::test]
async fn forbidden_update_names_the_write_scope() {
    let fake = Fake::cloud().await;
    let defects = fake.mount_defects(DEFAULT_DEFECT_PATH).await;
    // The scope configured before write-back existed: reads work, writes are refused.
    let client = fake.client_with(
        "TM.Projects.Read TM.TestExecutions.Read TM.Defects.Read",
        retrying(),
    );
    assert!(client.defect(project(), DEFECT).await.unwrap().is_some());
    let error = client
        .update_defect(project(), DEFECT, &done())
        .await
        .unwrap_err();
    let TestManagerError::Auth { detail, endpoint } = &error else {
        panic!("{error:?}");
    };
    assert!(detail.contains("403"), "{detail}");
    assert!(detail.contains("TM.Defects.Write"), "{detail}");
    assert!(endpoint.contains("/defects/"), "{endpoint}");
    assert!(!error.to_string().contains(SECRET));
    assert!(!error.is_transient());
    assert_eq!(defects.records.lock().unwrap()[DEFECT]["status"], "To Do");
}

#[tokio::test]
async fn unavailable_then_written_once_on_the_retry() {
    let fake = Fake::cloud().await;
    let defects = fake.mount_defects(DEFAULT_DEFECT_PATH).await;
    Mock::given(method("PATCH"))
        .respond_with(
            ResponseTemplate::new(503).set_body_string("<html>Service Unavailable</html>"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&fake.server)
        .await;
    let client = fake.client_with(WRITE_SCOPE, retrying());
    client
        .update_defect(project(), DEFECT, &done())
        .await
        .unwrap();
    let patches: Vec<Request> = fake
        .defect_requests()
        .await
        .into_iter()
        .filter(|r| r.method.as_str() == "PATCH")
        .collect();
    assert_eq!(patches.len(), 2, "one 503, one retry");
    assert_eq!(patches[0].body, patches[1].body);
    assert_eq!(defects.records.lock().unwrap()[DEFECT]["status"], "Done");
}

#[tokio::test]
async fn unavailable_without_retries_is_transient() {
    let fake = Fake::cloud().await;
    fake.mount_defects(DEFAULT_DEFECT_PATH).await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "30"))
        .with_priority(1)
        .mount(&fake.server)
        .await;
    let error = fake
        .client_with(WRITE_SCOPE, RetryPolicy::once())
        .update_defect(project(), DEFECT, &done())
        .await
        .unwrap_err();
    assert!(error.is_transient(), "{error:?}");
}
