//! Issues in the fake Jira: create (stateful keys SHOP-1, SHOP-2, …, with the create
//! faults of [`Behaviour`]), read (only the `fields` asked for; the read faults of
//! [`Behaviour::failing_issue_reads`]), edit (labels and fields), and remote links.

use super::{with_issue, Behaviour, FakeIssue, FakeJira, Issues, JiraClock};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

struct CreateResponder {
    issues: Issues,
    behaviour: Arc<Mutex<Behaviour>>,
    next: AtomicU32,
    base: String,
    api: &'static str,
    clock: Arc<JiraClock>,
}

impl Respond for CreateResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return ResponseTemplate::new(400)
                .set_body_json(json!({"errorMessages": ["Unexpected character"], "errors": {}}));
        };
        if body["fields"]["summary"].as_str().is_none_or(str::is_empty) {
            return ResponseTemplate::new(400)
                .set_body_json(json!({"errorMessages": [], "errors": {"summary": "You must specify a summary of the issue."}}));
        }
        let n = self.next.fetch_add(1, Ordering::SeqCst) + 1;
        let key = format!("SHOP-{n}");
        let labels = body["fields"]["labels"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|l| l.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let issue = FakeIssue::new(key.clone(), labels, body, self.clock.clone());
        let mut behaviour = self.behaviour.lock().unwrap();
        let answer = ResponseTemplate::new(201).set_body_json(json!({
            "id": format!("{}", 10000 + n), "key": key, "self": format!("{}/rest/api/{}/issue/{}", self.base, self.api, 10000 + n)
        }));
        if behaviour.held_creates > 0 {
            // Jira works on the create for a while; the issue appears (and its search lag
            // starts) only then, whether or not the caller is still waiting.
            behaviour.held_creates -= 1;
            let hold = behaviour.create_hold;
            let issues = self.issues.clone();
            std::thread::spawn(move || {
                std::thread::sleep(hold);
                let mut issue = issue;
                issue.created = std::time::Instant::now();
                issues.lock().unwrap().push(issue);
            });
            return answer.set_delay(hold);
        }
        self.issues.lock().unwrap().push(issue);
        if behaviour.fail_after_create > 0 {
            behaviour.fail_after_create -= 1;
            return ResponseTemplate::new(500)
                .set_body_string("<html><body><h1>500 Internal Server Error</h1></body></html>");
        }
        if behaviour.slow_creates > 0 {
            behaviour.slow_creates -= 1;
            return answer.set_delay(behaviour.slow_create_delay);
        }
        answer
    }
}

impl FakeJira {
    /// `POST issue`, `GET`/`PUT issue/{key}` and `POST issue/{key}/remotelink`.
    pub(super) async fn mount_issues(&self) {
        let rest = self.rest();
        Mock::given(method("POST"))
            .and(path(format!("{rest}/issue")))
            .respond_with(CreateResponder {
                issues: self.issues.clone(),
                behaviour: self.behaviour.clone(),
                next: AtomicU32::new(0),
                base: self.server.uri(),
                api: self.api_version(),
                clock: self.clock.clone(),
            })
            .mount(&self.server)
            .await;
        Mock::given(method("POST"))
            .and(path_regex(format!(
                "^{rest}/issue/[A-Z]+-[0-9]+/remotelink$"
            )))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 1, "self": "x"})))
            .mount(&self.server)
            .await;
        let known = self.issues.clone();
        let quirks = self.behaviour.clone();
        Mock::given(method("GET"))
            .and(path_regex(format!("^{rest}/issue/[A-Z]+-[0-9]+$")))
            .respond_with(move |request: &Request| {
                if let Some(refusal) = quirks.lock().unwrap().refuse_issue_read() {
                    return refusal;
                }
                let wanted: Option<Vec<String>> = request
                    .url
                    .query_pairs()
                    .find(|(name, _)| name == "fields")
                    .map(|(_, list)| list.split(',').map(|f| f.trim().to_owned()).collect());
                with_issue(&known, request, |issue, _| {
                    ResponseTemplate::new(200).set_body_json(issue.json(wanted.as_deref()))
                })
            })
            .mount(&self.server)
            .await;
        let known = self.issues.clone();
        Mock::given(method("PUT"))
            .and(path_regex(format!("^{rest}/issue/[A-Z]+-[0-9]+$")))
            .respond_with(move |request: &Request| {
                with_issue(&known, request, |issue, request| {
                    let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
                    for op in body["update"]["labels"].as_array().into_iter().flatten() {
                        if let Some(label) = op["add"].as_str() {
                            if !issue.labels.iter().any(|l| l == label) {
                                issue.labels.push(label.to_owned());
                            }
                        }
                    }
                    if let Some(fields) = body["fields"].as_object() {
                        for (name, value) in fields {
                            issue.body["fields"][name] = value.clone();
                        }
                        issue.description_updates += 1;
                    }
                    issue.touch();
                    ResponseTemplate::new(204)
                })
            })
            .mount(&self.server)
            .await;
    }
}

impl Behaviour {
    /// The refusal of the next issue read, if one is due (counts it down).
    fn refuse_issue_read(&mut self) -> Option<ResponseTemplate> {
        let (status, left) = self.failing_issue_reads.as_mut()?;
        if *left == 0 {
            return None;
        }
        *left -= 1;
        Some(match *status {
            503 => ResponseTemplate::new(503).set_body_raw(
                "<html><body><h1>503 Service Unavailable</h1></body></html>",
                "text/html",
            ),
            429 => ResponseTemplate::new(429).insert_header("Retry-After", "1"),
            other => ResponseTemplate::new(other)
                .set_body_json(json!({"errorMessages": ["Internal server error"], "errors": {}})),
        })
    }
}
