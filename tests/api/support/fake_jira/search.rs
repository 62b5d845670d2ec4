//! Issue search in the fake Jira: Cloud's `search/jql` (pages by `nextPageToken` and
//! `isLast`, no `total`; at most 100 issues a page with fields, 5000 with only ids; the
//! old search is gone with a 410) and Data Center's `search` (pages by `startAt`, exact
//! `total`, at most 1000 a page). The JQL is evaluated ([`super::jql`]), relative dates
//! against the fake's clock; only the fields asked for come back. Issues younger than
//! [`Behaviour::search_lag`](super::Behaviour::search_lag) are missed, like Cloud's
//! eventually consistent index.

use super::counts::jql_error;
use super::jql::IssueQuery;
use super::{Behaviour, FakeJira, Issues, JiraClock};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tm_defect_bridge::config::JiraFlavour;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

/// Jira's page size when `maxResults` is not given.
const DEFAULT_PAGE: usize = 50;

struct SearchResponder {
    issues: Issues,
    behaviour: Arc<Mutex<Behaviour>>,
    clock: Arc<JiraClock>,
    flavour: JiraFlavour,
}

/// Where a Cloud page starts, read from its `nextPageToken` (opaque to the bridge).
fn token_start(token: &str) -> Option<usize> {
    token.strip_prefix("page-at-")?.parse().ok()
}

impl Respond for SearchResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return jql_error("Unexpected character in the request body");
        };
        let jql = body["jql"].as_str().unwrap_or_default();
        let query = match IssueQuery::parse(jql, self.clock.now()) {
            Ok(query) => query,
            Err(message) => return jql_error(&message),
        };
        let wanted: Option<Vec<String>> = body["fields"].as_array().map(|names| {
            names
                .iter()
                .filter_map(|n| n.as_str().map(String::from))
                .collect()
        });
        let only_ids = wanted
            .as_ref()
            .is_some_and(|w| w.iter().all(|n| n == "id" || n == "key"));
        let lag = self.behaviour.lock().unwrap().search_lag;
        let issues = self.issues.lock().unwrap();
        let found = query.select(issues.iter().filter(|i| i.created.elapsed() >= lag));
        let asked = body["maxResults"]
            .as_u64()
            .map_or(DEFAULT_PAGE, |n| n as usize);
        let show = |start: usize, size: usize| -> Vec<Value> {
            found
                .iter()
                .skip(start)
                .take(size)
                .map(|issue| match self.flavour {
                    // Cloud answers an ids-only search with nothing but ids.
                    JiraFlavour::Cloud if only_ids => json!({"id": issue.id()}),
                    _ => issue.json(wanted.as_deref()),
                })
                .collect()
        };
        match self.flavour {
            JiraFlavour::Cloud => {
                let size = asked.min(if only_ids { 5000 } else { 100 });
                let start = match body["nextPageToken"].as_str() {
                    None => 0,
                    Some(token) => match token_start(token) {
                        Some(start) => start,
                        None => {
                            return jql_error("The provided next page token is invalid or expired.")
                        }
                    },
                };
                let end = (start + size).min(found.len());
                let mut page = json!({"issues": show(start, size), "isLast": end >= found.len()});
                if end < found.len() {
                    page["nextPageToken"] = json!(format!("page-at-{end}"));
                }
                ResponseTemplate::new(200).set_body_json(page)
            }
            JiraFlavour::DataCenter => {
                let size = asked.min(1000);
                let start = body["startAt"].as_u64().unwrap_or(0) as usize;
                ResponseTemplate::new(200).set_body_json(json!({
                    "startAt": start, "maxResults": size, "total": found.len(),
                    "issues": show(start, size)
                }))
            }
        }
    }
}

impl FakeJira {
    /// The flavour's search, and on Cloud the removed one.
    pub(super) async fn mount_search(&self) {
        let (flavour, context) = (self.flavour, &self.context);
        Mock::given(method("POST"))
            .and(path(self.search_path()))
            .respond_with(SearchResponder {
                issues: self.issues.clone(),
                behaviour: self.behaviour.clone(),
                clock: self.clock.clone(),
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

    /// The path of the flavour's search.
    pub(super) fn search_path(&self) -> String {
        match self.flavour {
            JiraFlavour::Cloud => format!("{}/search/jql", self.rest()),
            JiraFlavour::DataCenter => format!("{}/search", self.rest()),
        }
    }
}
