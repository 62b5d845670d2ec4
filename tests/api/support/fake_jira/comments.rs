//! Comments in the fake Jira: posted (with the comment faults of [`Behaviour`](super::Behaviour))
//! and read page by page like Jira: `startAt`, `maxResults` (capped), `total`, and
//! `orderBy=-created` for newest first.

use super::{with_issue, FakeJira};
use serde_json::{json, Value};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, Request, ResponseTemplate};

impl FakeJira {
    /// `POST` and `GET issue/{key}/comment`.
    pub(super) async fn mount_comments(&self) {
        let rest = self.rest();
        let known = self.issues.clone();
        let quirks = self.behaviour.clone();
        Mock::given(method("POST"))
            .and(path_regex(format!("^{rest}/issue/[A-Z]+-[0-9]+/comment$")))
            .respond_with(move |request: &Request| {
                let (lose_answer, refuse) = {
                    let mut b = quirks.lock().unwrap();
                    let refuse = b.refuse_comments > 0;
                    b.refuse_comments = b.refuse_comments.saturating_sub(1);
                    let lose = !refuse && b.fail_after_comment > 0;
                    if lose {
                        b.fail_after_comment -= 1;
                    }
                    (lose, refuse)
                };
                if refuse {
                    return ResponseTemplate::new(503).set_body_raw(
                        "<html><body><h1>503 Service Unavailable</h1></body></html>",
                        "text/html",
                    );
                }
                with_issue(&known, request, |issue, request| {
                    let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
                    issue.comments.push(body["body"].clone());
                    issue.touch();
                    if lose_answer {
                        return ResponseTemplate::new(502)
                            .set_body_raw("<html><body>Bad Gateway</body></html>", "text/html");
                    }
                    ResponseTemplate::new(201)
                        .set_body_json(json!({"id": "20001", "body": body["body"]}))
                })
            })
            .mount(&self.server)
            .await;
        let known = self.issues.clone();
        let quirks = self.behaviour.clone();
        Mock::given(method("GET"))
            .and(path_regex(format!("^{rest}/issue/[A-Z]+-[0-9]+/comment$")))
            .respond_with(move |request: &Request| {
                let cap = match quirks.lock().unwrap().comment_page_limit {
                    0 => 100,
                    n => n,
                };
                let query = |name: &str| {
                    request
                        .url
                        .query_pairs()
                        .find(|(k, _)| k == name)
                        .and_then(|(_, v)| v.parse::<usize>().ok())
                };
                let start = query("startAt").unwrap_or(0);
                let max = query("maxResults").unwrap_or(100).min(cap);
                let newest_first = request
                    .url
                    .query_pairs()
                    .any(|(k, v)| k == "orderBy" && v == "-created");
                with_issue(&known, request, |issue, _| {
                    let mut ordered: Vec<(usize, &Value)> =
                        issue.comments.iter().enumerate().collect();
                    if newest_first {
                        ordered.reverse();
                    }
                    let page: Vec<Value> = ordered
                        .into_iter()
                        .skip(start)
                        .take(max)
                        .map(|(i, body)| json!({"id": format!("{}", 20_000 + i), "body": body}))
                        .collect();
                    ResponseTemplate::new(200).set_body_json(json!({
                        "startAt": start, "maxResults": max,
                        "total": issue.comments.len(), "comments": page,
                    }))
                })
            })
            .mount(&self.server)
            .await;
    }
}
