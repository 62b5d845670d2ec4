//! Workflow transitions in the fake Jira: an open issue can go to Done (41, resolution
//! Done), a done one can be reopened (31, to To Do, resolution cleared); anything else is
//! Jira's 400. A transition moves `updated` like any change.

use super::{with_issue, FakeJira};
use serde_json::{json, Value};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, Request, ResponseTemplate};

impl FakeJira {
    /// `GET` and `POST issue/{key}/transitions`.
    pub(super) async fn mount_transitions(&self) {
        let rest = self.rest();
        let known = self.issues.clone();
        Mock::given(method("GET"))
            .and(path_regex(format!(
                "^{rest}/issue/[A-Z]+-[0-9]+/transitions$"
            )))
            .respond_with(move |request: &Request| {
                with_issue(&known, request, |issue, _| {
                    let transitions = if issue.done() {
                        json!([{"id": "31", "name": "Reopen"}])
                    } else {
                        json!([{"id": "21", "name": "In Progress"}, {"id": "41", "name": "Done"}])
                    };
                    ResponseTemplate::new(200).set_body_json(json!({"transitions": transitions}))
                })
            })
            .mount(&self.server)
            .await;
        let known = self.issues.clone();
        Mock::given(method("POST"))
            .and(path_regex(format!("^{rest}/issue/[A-Z]+-[0-9]+/transitions$")))
            .respond_with(move |request: &Request| {
                with_issue(&known, request, |issue, request| {
                    let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
                    match body["transition"]["id"].as_str() {
                        Some("31") if issue.done() => {
                            issue.transition("To Do", "new", None);
                            ResponseTemplate::new(204)
                        }
                        Some("41") if !issue.done() => {
                            issue.transition("Done", "done", Some("Done"));
                            ResponseTemplate::new(204)
                        }
                        _ => ResponseTemplate::new(400).set_body_json(
                            json!({"errorMessages": ["It seems that you have tried to perform a workflow operation (transition) that is not valid for the current state of this issue."], "errors": {}}),
                        ),
                    }
                })
            })
            .mount(&self.server)
            .await;
    }
}
