//! Uploads to the fake Jira: `multipart/form-data` with the XSRF header, stored byte
//! for byte and answered the way Jira Cloud does, with the upload faults of
//! [`Behaviour`](super::Behaviour) (slow answers, a size limit, refusals).

use super::{with_issue, FakeJira};
use crate::support::multipart::parse_multipart;
use serde_json::json;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, Request, ResponseTemplate};

impl FakeJira {
    /// `POST issue/{key}/attachments`.
    pub(super) async fn mount_attachments(&self) {
        let rest = self.rest();
        let known = self.issues.clone();
        let quirks = self.behaviour.clone();
        let base = self.server.uri();
        Mock::given(method("POST"))
            .and(path_regex(format!("^{rest}/issue/[A-Z]+-[0-9]+/attachments$")))
            .respond_with(move |request: &Request| {
                let (delay, limit, failing) = {
                    let mut b = quirks.lock().unwrap();
                    let failing = match &mut b.failing_uploads {
                        Some((status, left)) if *left > 0 => {
                            *left -= 1;
                            Some(*status)
                        }
                        _ => None,
                    };
                    (b.slow_upload_delay, b.attachment_limit, failing)
                };
                match failing {
                    Some(503) => {
                        return ResponseTemplate::new(503).set_body_raw(
                            "<html><body><h1>503 Service Unavailable</h1></body></html>",
                            "text/html",
                        )
                    }
                    Some(403) => {
                        return ResponseTemplate::new(403).set_body_json(json!({
                            "errorMessages": ["You do not have permission to create attachments for this issue."],
                            "errors": {}
                        }))
                    }
                    Some(status) => {
                        return ResponseTemplate::new(status)
                            .set_body_json(json!({"errorMessages": ["Upload failed"], "errors": {}}))
                    }
                    None => {}
                }
                with_issue(&known, request, |issue, request| {
                    let no_check = request
                        .headers
                        .get("x-atlassian-token")
                        .and_then(|v| v.to_str().ok())
                        == Some("no-check");
                    if !no_check {
                        return ResponseTemplate::new(403).set_body_string("XSRF check failed");
                    }
                    let Some(parts) = parse_multipart(request) else {
                        return ResponseTemplate::new(400).set_body_json(json!({"errorMessages": ["bad multipart"]}));
                    };
                    let Some(file) = parts.into_iter().find(|p| p.name == "file") else {
                        return ResponseTemplate::new(400).set_body_json(json!({"errorMessages": ["no file field"]}));
                    };
                    if limit.is_some_and(|l| file.bytes.len() > l) {
                        return ResponseTemplate::new(413).set_body_json(json!({"errorMessages": ["The file is too large: the attachment size limit is exceeded."], "errors": {}}));
                    }
                    let name = file.file_name.clone().unwrap_or_default();
                    let id = 30000 + issue.attachments.len();
                    let size = file.bytes.len();
                    issue.attachments.push((name.clone(), file.bytes));
                    issue.touch();
                    // Jira Cloud's answer: author has accountId, no name.
                    ResponseTemplate::new(200)
                        .set_body_json(json!([{
                            "self": format!("{base}/rest/api/3/attachment/{id}"), "id": format!("{id}"),
                            "filename": name, "size": size, "mimeType": "application/octet-stream",
                            "created": "2026-11-27T02:02:00.000+0000",
                            "author": {"accountId": "5b10", "accountType": "atlassian", "displayName": "Bridge", "active": true},
                            "content": format!("{base}/rest/api/3/attachment/content/{id}")
                        }]))
                        .set_delay(delay)
                })
            })
            .mount(&self.server)
            .await;
    }
}
