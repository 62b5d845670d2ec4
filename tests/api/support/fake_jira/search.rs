//! Label search in the fake Jira: Cloud's `search/jql` (no `total`, `isLast`; the old
//! search is gone with a 410) and Data Center's `search` (with `total`). Issues younger
//! than [`Behaviour::search_lag`](super::Behaviour::search_lag) are missed, like Cloud's
//! eventually consistent index.

use super::{issue_json, Behaviour, FakeJira, Issues};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tm_defect_bridge::config::JiraFlavour;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

struct SearchResponder {
    issues: Issues,
    behaviour: Arc<Mutex<Behaviour>>,
    flavour: JiraFlavour,
}

impl Respond for SearchResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let jql = body["jql"].as_str().unwrap_or_default().to_owned();
        let lag = self.behaviour.lock().unwrap().search_lag;
        let issues = self.issues.lock().unwrap();
        let found: Vec<Value> = issues
            .iter()
            .filter(|i| i.created.elapsed() >= lag)
            .filter(|i| {
                i.labels
                    .iter()
                    .any(|l| jql.contains(&format!("labels = \"{l}\"")))
            })
            .map(issue_json)
            .collect();
        match self.flavour {
            JiraFlavour::Cloud => {
                ResponseTemplate::new(200).set_body_json(json!({"issues": found, "isLast": true}))
            }
            JiraFlavour::DataCenter => {
                let total = found.len();
                ResponseTemplate::new(200).set_body_json(
                    json!({"issues": found, "startAt": 0, "maxResults": 10, "total": total}),
                )
            }
        }
    }
}

impl FakeJira {
    /// The flavour's search, and on Cloud the removed one.
    pub(super) async fn mount_search(&self) {
        let (rest, flavour, context) = (self.rest(), self.flavour, &self.context);
        let search_path = match flavour {
            JiraFlavour::Cloud => format!("{rest}/search/jql"),
            JiraFlavour::DataCenter => format!("{rest}/search"),
        };
        Mock::given(method("POST"))
            .and(path(search_path))
            .respond_with(SearchResponder {
                issues: self.issues.clone(),
                behaviour: self.behaviour.clone(),
                flavour,
            })
            .mount(&self.server)
            .await;
        if flavour == JiraFlavour::Cloud {
            // The old search is gone on Cloud.
            Mock::given(path_regex(format!(
                "^{context}/rest/api/(2|3|latest)/search$"
            )))
            .respond_with(
                ResponseTemplate::new(410).set_body_json(
                    json!({"errorMessages": ["The requested API has been removed."]}),
                ),
            )
            .mount(&self.server)
            .await;
        }
    }
}
