//! Fake Jira issue counting, for both flavours, over seeded issues.
//!
//! Behaves like Jira as Atlassian's documentation describes it: Data Center's
//! `POST /rest/api/2/search` with `maxResults = 0` answers an exact `total`
//! and no issues; Cloud's `search/approximate-count` answers `{count}`;
//! Cloud's `search/jql` has no `total` and pages by `nextPageToken`/`isLast`.
//! The fake evaluates the JQL it receives (the clause forms the bridge
//! writes), so counts are computed independently of the bridge; a clause it
//! does not know is a 400 with Jira's error body, like a JQL syntax error.
//! Failures are 500s with an HTML page, as gateways send.

use super::{FakeIssue, FakeJira, Issues};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tm_defect_bridge::config::JiraFlavour;
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

/// An issue the counting fake knows.
#[derive(Debug, Clone)]
pub struct CountIssue {
    pub project: String,
    pub issue_type: String,
    /// Name and id.
    pub priority: (String, String),
    pub done: bool,
    pub labels: Vec<String>,
}

/// The ids of Jira's default priority scheme (and of an older instance's Blocker).
const PRIORITY_IDS: [(&str, &str); 6] = [
    ("Highest", "1"),
    ("High", "2"),
    ("Medium", "3"),
    ("Low", "4"),
    ("Lowest", "5"),
    ("Blocker", "10000"),
];

impl CountIssue {
    /// How counting sees an issue the fake holds (created through its API).
    fn of(issue: &FakeIssue) -> Self {
        let fields = &issue.body["fields"];
        let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
        let issue_type = match fields["issuetype"]["name"].as_str() {
            Some(name) => name.to_owned(),
            None => text(&fields["issuetype"]["id"]),
        };
        let priority_id = PRIORITY_IDS
            .iter()
            .find(|(name, _)| *name == issue.priority)
            .map_or_else(String::new, |(_, id)| (*id).to_owned());
        Self {
            project: text(&fields["project"]["key"]),
            issue_type,
            priority: (issue.priority.clone(), priority_id),
            done: issue.status_category == "done",
            labels: issue.labels.clone(),
        }
    }
}

/// How the counting fake behaves; change it between requests.
#[derive(Debug, Default)]
pub struct CountBehaviour {
    pub issues: Vec<CountIssue>,
    /// Every count answers 500 with an HTML page.
    pub failing: bool,
    /// Exact counting: this page (0-based) answers 500.
    pub fail_page: Option<usize>,
    /// Issues per `search/jql` page at most (0: as many as asked).
    pub page_size: usize,
    /// Delay of every count answer.
    pub delay: Option<Duration>,
    /// Count the issues the fake holds (created, changed and deleted through its API)
    /// instead of [`Self::issues`].
    pub live: Option<Issues>,
}

/// Issues of every priority and status category, and some out of scope.
pub fn seeded_issues() -> Vec<CountIssue> {
    let mut issues = Vec::new();
    for (i, (name, id)) in PRIORITY_IDS.into_iter().enumerate() {
        for done in [false, true] {
            // 1 + i open and 2 done issues per priority, so every count differs.
            let n = if done { 2 } else { 1 + i };
            for _ in 0..n {
                issues.push(CountIssue {
                    project: "SHOP".into(),
                    issue_type: "Bug".into(),
                    priority: (name.into(), id.into()),
                    done,
                    labels: vec!["tm-defect-bridge".into()],
                });
            }
        }
    }
    // Out of scope: another project, another type.
    for (project, issue_type) in [("HR", "Bug"), ("SHOP", "Story")] {
        issues.push(CountIssue {
            project: project.into(),
            issue_type: issue_type.into(),
            priority: ("Highest".into(), "1".into()),
            done: false,
            labels: vec![],
        });
    }
    issues
}

#[derive(Clone, Copy)]
enum Endpoint {
    DataCenterSearch,
    CloudApproximate,
    CloudJql,
}

struct CountResponder {
    state: Arc<Mutex<CountBehaviour>>,
    endpoint: Endpoint,
}

const HTML_500: &str = "<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1></body></html>";

impl Respond for CountResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let state = self.state.lock().unwrap();
        let answer = self.answer(&state, request);
        match state.delay {
            Some(delay) => answer.set_delay(delay),
            None => answer,
        }
    }
}

impl CountResponder {
    fn answer(&self, state: &CountBehaviour, request: &Request) -> ResponseTemplate {
        if state.failing {
            return html_500();
        }
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return jql_error("Unexpected character in the request body");
        };
        let Some(jql) = body["jql"].as_str() else {
            return jql_error("The JQL query is required");
        };
        let live: Vec<CountIssue>;
        let issues = match &state.live {
            Some(held) => {
                live = held.lock().unwrap().iter().map(CountIssue::of).collect();
                &live
            }
            None => &state.issues,
        };
        let matching = match select(issues, jql) {
            Ok(found) => found,
            Err(message) => return jql_error(&message),
        };
        match self.endpoint {
            Endpoint::DataCenterSearch => ResponseTemplate::new(200).set_body_json(json!({
                "startAt": 0, "maxResults": 0, "total": matching.len(), "issues": []
            })),
            Endpoint::CloudApproximate => {
                ResponseTemplate::new(200).set_body_json(json!({"count": matching.len()}))
            }
            Endpoint::CloudJql => {
                let asked = body["maxResults"].as_u64().unwrap_or(50) as usize;
                let size = match state.page_size {
                    0 => asked,
                    n => n.min(asked),
                };
                let start: usize = match body["nextPageToken"].as_str() {
                    None => 0,
                    Some(token) => {
                        match token.strip_prefix("page-at-").and_then(|n| n.parse().ok()) {
                            Some(n) => n,
                            None => {
                                return jql_error(
                                    "The provided next page token is invalid or expired.",
                                )
                            }
                        }
                    }
                };
                if state.fail_page == Some(start / size.max(1)) {
                    return html_500();
                }
                let end = (start + size).min(matching.len());
                let issues: Vec<Value> = (start..end)
                    .map(|i| json!({"id": format!("{}", 10000 + i)}))
                    .collect();
                let mut page = json!({"issues": issues, "isLast": end >= matching.len()});
                if end < matching.len() {
                    page["nextPageToken"] = json!(format!("page-at-{end}"));
                }
                ResponseTemplate::new(200).set_body_json(page)
            }
        }
    }
}

fn html_500() -> ResponseTemplate {
    ResponseTemplate::new(500).set_body_raw(HTML_500, "text/html")
}

pub(super) fn jql_error(message: &str) -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(json!({"errorMessages": [message], "errors": {}}))
}

/// The seeded issues `jql` selects, or Jira's complaint about it.
fn select<'a>(issues: &'a [CountIssue], jql: &str) -> Result<Vec<&'a CountIssue>, String> {
    let clauses = split_and(jql)?;
    let mut found: Vec<&CountIssue> = issues.iter().collect();
    for clause in clauses {
        let test = clause_test(&clause)?;
        found.retain(|issue| test(issue));
    }
    Ok(found)
}

type Test = Box<dyn Fn(&CountIssue) -> bool>;

fn clause_test(clause: &str) -> Result<Test, String> {
    let unknown = || format!("Error in the JQL Query: the fake does not understand `{clause}`.");
    if clause == "statusCategory != Done" {
        return Ok(Box::new(|i| !i.done));
    }
    if clause == "statusCategory = Done" {
        return Ok(Box::new(|i| i.done));
    }
    if let Some(list) = clause.strip_prefix("priority in (") {
        let list = list.strip_suffix(')').ok_or_else(unknown)?;
        let values: Vec<String> = split_top(list, ", ")?
            .iter()
            .map(|v| unquote(v).ok_or_else(unknown))
            .collect::<Result<_, _>>()?;
        return Ok(Box::new(move |i| {
            values
                .iter()
                .any(|v| *v == i.priority.0 || *v == i.priority.1)
        }));
    }
    let (field, value) = clause.split_once(" = ").ok_or_else(unknown)?;
    let value = unquote(value).ok_or_else(unknown)?;
    match field {
        "project" => Ok(Box::new(move |i| i.project == value)),
        "issuetype" => Ok(Box::new(move |i| i.issue_type == value)),
        "labels" => Ok(Box::new(move |i| i.labels.contains(&value))),
        _ => Err(unknown()),
    }
}

/// `"…"` with `\"` and `\\` escapes → the value; anything else is not a literal.
pub(super) fn unquote(text: &str) -> Option<String> {
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '"' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

fn split_and(jql: &str) -> Result<Vec<String>, String> {
    split_top(jql, " AND ")
}

/// Splits on `separator` outside string literals.
pub(super) fn split_top(text: &str, separator: &str) -> Result<Vec<String>, String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = text;
    while !rest.is_empty() {
        if !in_string && rest.starts_with(separator) {
            parts.push(std::mem::take(&mut current));
            rest = &rest[separator.len()..];
            continue;
        }
        let c = rest.chars().next().unwrap();
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        }
        current.push(c);
        rest = &rest[c.len_utf8()..];
    }
    if in_string {
        return Err("Error in the JQL Query: an unterminated string.".into());
    }
    parts.push(current);
    Ok(parts)
}

impl FakeJira {
    /// Mounts the count endpoints of the fake's flavour over the issues it holds, as
    /// they are at each count (the sandbox's Jira: counts follow what was created).
    pub async fn mount_live_counts(&self) -> Arc<Mutex<CountBehaviour>> {
        let state = self.mount_counts(self.flavour, Vec::new()).await;
        state.lock().unwrap().live = Some(self.issues.clone());
        state
    }

    /// Mounts the count endpoints of `flavour` over `issues`; returns the
    /// behaviour to change between requests.
    pub async fn mount_counts(
        &self,
        flavour: JiraFlavour,
        issues: Vec<CountIssue>,
    ) -> Arc<Mutex<CountBehaviour>> {
        let state = Arc::new(Mutex::new(CountBehaviour {
            issues,
            ..Default::default()
        }));
        let responder = |endpoint| CountResponder {
            state: state.clone(),
            endpoint,
        };
        let context = &self.context;
        match flavour {
            JiraFlavour::DataCenter => {
                Mock::given(method("POST"))
                    .and(path(format!("{context}/rest/api/2/search")))
                    .and(body_partial_json(json!({"maxResults": 0})))
                    .respond_with(responder(Endpoint::DataCenterSearch))
                    .with_priority(1)
                    .mount(&self.server)
                    .await;
            }
            JiraFlavour::Cloud => {
                Mock::given(method("POST"))
                    .and(path(format!(
                        "{context}/rest/api/3/search/approximate-count"
                    )))
                    .respond_with(responder(Endpoint::CloudApproximate))
                    .with_priority(1)
                    .mount(&self.server)
                    .await;
                Mock::given(method("POST"))
                    .and(path(format!("{context}/rest/api/3/search/jql")))
                    .and(body_partial_json(json!({"fields": ["id"]})))
                    .respond_with(responder(Endpoint::CloudJql))
                    .with_priority(1)
                    .mount(&self.server)
                    .await;
            }
        }
        state
    }

    /// Every count request received: (path, body), in arrival order.
    pub async fn count_requests(&self) -> Vec<(String, Value)> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.method.as_str() == "POST" && r.url.path().contains("/search"))
            .map(|r| {
                let body: Value = serde_json::from_slice(&r.body).unwrap_or_default();
                (r.url.path().to_owned(), body)
            })
            .filter(|(path, body)| {
                path.ends_with("/approximate-count")
                    || body["maxResults"] == json!(0)
                    || body["fields"] == json!(["id"])
            })
            .collect()
    }

    /// The JQL of every count request received, sorted.
    pub async fn count_jql(&self) -> Vec<String> {
        let mut jql: Vec<String> = self
            .count_requests()
            .await
            .into_iter()
            .map(|(_, body)| body["jql"].as_str().unwrap_or_default().to_owned())
            .collect();
        jql.sort();
        jql
    }
}

#[test]
fn the_fake_understands_the_bridges_jql_and_nothing_else() {
    let issues = seeded_issues();
    let count = |jql: &str| select(&issues, jql).map(|f| f.len());
    assert_eq!(count(r#"project = "SHOP" AND issuetype = "Bug""#), Ok(33));
    assert_eq!(
        count(
            r#"project = "SHOP" AND issuetype = "Bug" AND statusCategory != Done AND priority in ("Highest", "10000")"#
        ),
        Ok(1 + 6)
    );
    assert!(count("project = SHOP OR project = HR").is_err());
    assert_eq!(
        count(r#"project = "SHOP\" AND issuetype = \"Bug""#),
        Ok(0),
        "an escaped quote stays inside the value"
    );
}
