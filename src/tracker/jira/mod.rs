//! The Jira adapter: [`DefectTracker`] for Jira Cloud and Jira Data Center.
//!
//! Owns every request the bridge sends to Jira. gouqi (pinned) is used for
//! metadata reads where its behaviour is sound; creates, links, searches and
//! issue reads go through this adapter's own `reqwest` client because gouqi
//! loses status codes on error bodies, searches v2 on non-`atlassian.net`
//! hosts (removed on Cloud) and cannot send labels, custom fields or ADF.
//! Never `{:?}` the gouqi client: its `Debug` prints the credentials.
//!
//! Drafts arrive as Markdown; the adapter encodes them in Jira's rich-text
//! wire format for the configured flavour ([`markdown`]: ADF on Cloud, wiki
//! markup on Data Center) when it builds request bodies ([`body`], [`fields`]).

pub mod body;
pub mod call;
pub mod connection;
pub mod count;
pub mod fields;
pub mod issue;
pub mod issue_state;
pub mod markdown;
pub mod metadata;
pub mod search_page;
#[cfg(test)]
mod state_tests;

#[cfg(test)]
mod hostile_input;

use crate::byte_stream::ByteStream;
use crate::config::JiraFlavour;
use crate::mapping::{CountMode, IssueDraft};
use crate::outbound::Upstream;
use crate::tracker::{
    DefectTracker, IssueRef, RemoteLink, TargetProblem, TargetSpec, TrackerError,
};
use async_trait::async_trait;
use call::{send, send_json, Effect};
pub use connection::JiraConnection;
use fields::FieldCatalog;
use metadata::{FieldPage, IssueTypePage};
use moka::future::Cache;
use std::sync::Arc;
use std::time::Duration;

/// Jira as the bridge uses it.
pub struct JiraTracker {
    connection: JiraConnection,
    http: reqwest::Client,
    gouqi: gouqi::r#async::Jira,
    fields: Cache<(), Arc<FieldCatalog>>,
    outbound: Arc<Upstream>,
}

impl JiraTracker {
    /// A tracker over `connection`, sending with `http` (which carries the
    /// outbound timeouts and redirect policy). The field list is cached for
    /// `field_cache_ttl`.
    pub fn new(
        connection: JiraConnection,
        http: reqwest::Client,
        field_cache_ttl: Duration,
    ) -> Result<Self, TrackerError> {
        let gouqi = gouqi::r#async::Jira::from_client(
            connection.base_url().as_str(),
            connection.gouqi_credentials(),
            http.clone(),
        )
        .map_err(|e| fields::from_gouqi("configure the Jira client", e))?;
        Ok(Self {
            connection,
            http,
            gouqi,
            fields: Cache::builder()
                .max_capacity(1)
                .time_to_live(field_cache_ttl)
                .build(),
            outbound: Arc::new(Upstream::unretried("Jira")),
        })
    }

    /// Sends every call under `outbound`'s retry policy and concurrency cap
    /// (without it, each call is tried once).
    pub fn with_outbound(mut self, outbound: Arc<Upstream>) -> Self {
        self.outbound = outbound;
        self
    }

    /// The connection (flavour, URLs).
    pub fn connection(&self) -> &JiraConnection {
        &self.connection
    }

    /// The field list, from cache or Jira (one load shared by concurrent callers).
    pub async fn field_catalog(&self) -> Result<Arc<FieldCatalog>, TrackerError> {
        let version = self.connection.api_version();
        self.fields
            .try_get_with((), fields::load_fields(&self.gouqi, version))
            .await
            .map_err(|e: Arc<TrackerError>| (*e).clone())
    }

    /// The exact create request body the draft becomes (used by create and preview).
    async fn create_body(&self, draft: &IssueDraft) -> Result<serde_json::Value, TrackerError> {
        let catalog = if draft.custom_fields.is_empty() {
            Arc::new(FieldCatalog::default())
        } else {
            self.field_catalog().await?
        };
        body::create_issue(self.connection.flavour(), draft, &catalog).map_err(|p| {
            TrackerError::Rejected {
                call: "create issue",
                status: 400,
                detail: format!("{p}; fix the mapping file"),
            }
        })
    }

    fn request(&self, method: reqwest::Method, segments: &[&str]) -> reqwest::RequestBuilder {
        self.connection.request(&self.http, method, segments)
    }

    /// The write-back reads, over this tracker's connection and policy.
    fn state_reads(&self) -> issue_state::StateReads<'_> {
        issue_state::StateReads::new(&self.outbound, &self.connection, &self.http)
    }
}

#[async_trait]
impl DefectTracker for JiraTracker {
    async fn create_issue(&self, draft: &IssueDraft) -> Result<IssueRef, TrackerError> {
        let body = self.create_body(draft).await?;
        let created: issue::CreatedIssue = send_json(
            &self.outbound,
            "create issue",
            Effect::Creates,
            self.request(reqwest::Method::POST, &["issue"]).json(&body),
        )
        .await?;
        Ok(IssueRef {
            browse_url: self.connection.browse_url(&created.key),
            id: created.id,
            key: created.key,
            summary: Some(draft.summary.clone()),
            status: None,
            status_category: None,
            priority: draft.priority.clone(),
        })
    }

    async fn preview_create(
        &self,
        draft: &IssueDraft,
    ) -> Result<(String, serde_json::Value), TrackerError> {
        let body = self.create_body(draft).await?;
        Ok((self.connection.api_url(&["issue"]).to_string(), body))
    }

    async fn upsert_remote_link(
        &self,
        issue_key: &str,
        link: &RemoteLink,
    ) -> Result<(), TrackerError> {
        send(
            &self.outbound,
            "add the remote link",
            Effect::Idempotent,
            self.request(reqwest::Method::POST, &["issue", issue_key, "remotelink"])
                .json(&body::remote_link(link)),
        )
        .await
        .map(|_| ())
    }

    async fn issue(&self, issue_key: &str) -> Result<IssueRef, TrackerError> {
        let found: issue::IssueJson = send_json(
            &self.outbound,
            "read the issue",
            Effect::Idempotent,
            self.request(reqwest::Method::GET, &["issue", issue_key])
                .query(&[("fields", "summary,status,priority")]),
        )
        .await?;
        let url = self.connection.browse_url(&found.key);
        Ok(found.into_ref(url))
    }

    async fn attach_file(
        &self,
        issue_key: &str,
        file_name: &str,
        length: Option<u64>,
        body: ByteStream,
        timeout: Duration,
    ) -> Result<crate::tracker::UploadOutcome, TrackerError> {
        let stream = reqwest::Body::wrap_stream(body);
        let part = match length {
            Some(n) => reqwest::multipart::Part::stream_with_length(stream, n),
            None => reqwest::multipart::Part::stream(stream),
        }
        .file_name(file_name.to_owned())
        .mime_str("application/octet-stream")
        .map_err(|e| TrackerError::Rejected {
            call: "add an attachment",
            status: 400,
            detail: e.to_string(),
        })?;
        let form = reqwest::multipart::Form::new().part("file", part);
        let request = self
            .request(reqwest::Method::POST, &["issue", issue_key, "attachments"])
            .header("X-Atlassian-Token", "no-check")
            .timeout(timeout)
            .multipart(form);
        // A 2xx is the file on the issue, whatever the answer's shape (Cloud's has
        // `author.accountId` and no `author.name`): the body is not parsed.
        match send(
            &self.outbound,
            "add an attachment",
            Effect::Creates,
            request,
        )
        .await
        {
            Ok(_) => Ok(crate::tracker::UploadOutcome::Attached),
            Err(TrackerError::Rejected {
                status: 413,
                detail,
                ..
            }) => Ok(crate::tracker::UploadOutcome::TooLarge(detail)),
            Err(e) => Err(e),
        }
    }

    async fn attachments(
        &self,
        issue_key: &str,
    ) -> Result<Vec<crate::tracker::AttachedFile>, TrackerError> {
        #[derive(serde::Deserialize)]
        struct Answer {
            #[serde(default)]
            fields: Fields,
        }
        #[derive(Default, serde::Deserialize)]
        struct Fields {
            #[serde(default)]
            attachment: Option<Vec<Attachment>>,
        }
        #[derive(serde::Deserialize)]
        struct Attachment {
            filename: String,
            #[serde(default)]
            size: Option<u64>,
        }
        let answer: Answer = send_json(
            &self.outbound,
            "list attachments",
            Effect::Idempotent,
            self.request(reqwest::Method::GET, &["issue", issue_key])
                .query(&[("fields", "attachment")]),
        )
        .await?;
        Ok(answer
            .fields
            .attachment
            .unwrap_or_default()
            .into_iter()
            .map(|a| crate::tracker::AttachedFile {
                name: a.filename,
                size: a.size,
            })
            .collect())
    }

    async fn has_comment_containing(
        &self,
        issue_key: &str,
        marker: &str,
    ) -> Result<bool, TrackerError> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Page {
            #[serde(default)]
            comments: Vec<Comment>,
            #[serde(default)]
            total: Option<u64>,
        }
        #[derive(serde::Deserialize)]
        struct Comment {
            #[serde(default)]
            body: serde_json::Value,
        }
        const PAGE: u64 = 100;
        // Bounded: newest first, so a marker the bridge posted lately is on the first page.
        const MAX_PAGES: u64 = 50;
        let mut start = 0u64;
        for _ in 0..MAX_PAGES {
            let page: Page = send_json(
                &self.outbound,
                "read the comments",
                Effect::Idempotent,
                self.request(reqwest::Method::GET, &["issue", issue_key, "comment"])
                    .query(&[("startAt", start), ("maxResults", PAGE)])
                    .query(&[("orderBy", "-created")]),
            )
            .await?;
            // The body is wiki text (Data Center) or an ADF tree (Cloud); the marker is
            // plain words, so it shows in either serialised as JSON.
            if page
                .comments
                .iter()
                .any(|c| c.body.to_string().contains(marker))
            {
                return Ok(true);
            }
            let read = page.comments.len() as u64;
            start += read;
            // Jira may answer fewer than asked; only an empty page or the total ends it.
            if read == 0 || page.total.is_some_and(|total| start >= total) {
                return Ok(false);
            }
        }
        // Saying "not there" unread could post a second copy, and waiting will not help:
        // a failure that is not transient, so the caller reports it.
        Err(TrackerError::Decode {
            call: "read the comments",
            detail: format!(
                "the issue has more than {} comments; the bridge reads that many at most",
                PAGE * MAX_PAGES
            ),
        })
    }

    async fn add_comment(&self, issue_key: &str, markdown: &str) -> Result<(), TrackerError> {
        let body =
            serde_json::json!({ "body": body::rich_text(self.connection.flavour(), markdown) });
        send(
            &self.outbound,
            "add a comment",
            Effect::Creates,
            self.request(reqwest::Method::POST, &["issue", issue_key, "comment"])
                .json(&body),
        )
        .await
        .map(|_| ())
    }

    async fn append_to_description(
        &self,
        issue_key: &str,
        marker: &str,
        markdown: &str,
    ) -> Result<bool, TrackerError> {
        #[derive(serde::Deserialize)]
        struct Current {
            #[serde(default)]
            fields: serde_json::Map<String, serde_json::Value>,
        }
        let current: Current = send_json(
            &self.outbound,
            "read the description",
            Effect::Idempotent,
            self.request(reqwest::Method::GET, &["issue", issue_key])
                .query(&[("fields", "description")]),
        )
        .await?;
        let existing = current
            .fields
            .get("description")
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        if existing.to_string().contains(marker) {
            return Ok(false);
        }
        let Some(updated) =
            body::appended_description(self.connection.flavour(), existing, markdown)
        else {
            return Ok(false);
        };
        send(
            &self.outbound,
            "update the description",
            Effect::Idempotent,
            self.request(reqwest::Method::PUT, &["issue", issue_key])
                .json(&serde_json::json!({ "fields": { "description": updated } })),
        )
        .await
        .map(|_| true)
    }

    async fn add_label(&self, issue_key: &str, label: &str) -> Result<(), TrackerError> {
        let body = serde_json::json!({ "update": { "labels": [{ "add": label }] } });
        send(
            &self.outbound,
            "add a label",
            Effect::Idempotent,
            self.request(reqwest::Method::PUT, &["issue", issue_key])
                .json(&body),
        )
        .await
        .map(|_| ())
    }

    async fn transition(&self, issue_key: &str, transition: &str) -> Result<(), TrackerError> {
        let available: issue::Transitions = send_json(
            &self.outbound,
            "list transitions",
            Effect::Idempotent,
            self.request(reqwest::Method::GET, &["issue", issue_key, "transitions"]),
        )
        .await?;
        let Some(chosen) = available
            .transitions
            .iter()
            .find(|t| t.id == transition || t.name.eq_ignore_ascii_case(transition))
        else {
            let names: Vec<&str> = available
                .transitions
                .iter()
                .map(|t| t.name.as_str())
                .collect();
            return Err(TrackerError::Rejected {
                call: "reopen the issue",
                status: 400,
                detail: format!(
                    "transition `{transition}` is not available for {issue_key}; available: {}; fix repeat.reopen_transition in the mapping",
                    names.join(", ")
                ),
            });
        };
        send(
            &self.outbound,
            "reopen the issue",
            Effect::Idempotent,
            self.request(reqwest::Method::POST, &["issue", issue_key, "transitions"])
                .json(&serde_json::json!({ "transition": { "id": chosen.id } })),
        )
        .await
        .map(|_| ())
    }

    async fn find_by_label(&self, label: &str) -> Result<Option<IssueRef>, TrackerError> {
        let jql = format!(
            "labels = {} ORDER BY created ASC",
            crate::tracker::jql::quote(label)
        );
        let segments: &[&str] = match self.connection.flavour() {
            JiraFlavour::Cloud => &["search", "jql"],
            JiraFlavour::DataCenter => &["search"],
        };
        let page: issue::SearchPage = send_json(
            &self.outbound,
            "search by label",
            Effect::Idempotent,
            self.request(reqwest::Method::POST, segments)
                .json(&body::label_search(self.connection.flavour(), &jql)),
        )
        .await?;
        Ok(page.issues.into_iter().next().map(|found| {
            let url = self.connection.browse_url(&found.key);
            found.into_ref(url)
        }))
    }

    async fn verify_target(&self, spec: &TargetSpec) -> Result<Vec<TargetProblem>, TrackerError> {
        let version = self.connection.api_version();
        let types_path = format!(
            "/issue/createmeta/{}/issuetypes?maxResults=200",
            spec.project_key
        );
        let types = match self.gouqi.get_versioned::<IssueTypePage>("api", Some(version), &types_path).await {
            Ok(page) => page.into_types(),
            Err(gouqi::Error::NotFound) => {
                return Ok(vec![TargetProblem {
                    key: "jira.project".into(),
                    message: format!(
                        "project `{}` does not exist in Jira, or the bridge's account cannot create issues in it",
                        spec.project_key
                    ),
                }])
            }
            Err(e) => return Err(fields::from_gouqi("read create metadata", e)),
        };
        let Some(issue_type) = types
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(&spec.issue_type) || t.id == spec.issue_type)
        else {
            let names: Vec<&str> = types.iter().map(|t| t.name.as_str()).collect();
            return Ok(vec![TargetProblem {
                key: "jira.issue_type".into(),
                message: format!(
                    "issue type `{}` does not exist in project {}; choose one of: {}",
                    spec.issue_type,
                    spec.project_key,
                    names.join(", ")
                ),
            }]);
        };
        let mut meta_fields = Vec::new();
        let mut start_at = 0u64;
        loop {
            let path = format!(
                "/issue/createmeta/{}/issuetypes/{}?startAt={start_at}&maxResults=200",
                spec.project_key, issue_type.id
            );
            let page: FieldPage = self
                .gouqi
                .get_versioned("api", Some(version), &path)
                .await
                .map_err(|e| fields::from_gouqi("read create metadata", e))?;
            let total = page.total;
            let fields = page.into_fields();
            let got = fields.len() as u64;
            meta_fields.extend(fields);
            start_at += got;
            if got == 0 || total.is_none_or(|t| start_at >= t) {
                break;
            }
        }
        let catalog = if spec.custom_fields.is_empty() {
            Arc::new(FieldCatalog::default())
        } else {
            self.field_catalog().await?
        };
        Ok(metadata::check_fields(spec, &meta_fields, &catalog))
    }

    async fn warm_up(&self) {
        let _ = self.field_catalog().await;
    }

    async fn probe(&self) -> Result<(), TrackerError> {
        send(
            &self.outbound,
            "read the current user",
            Effect::Idempotent,
            self.request(reqwest::Method::GET, &["myself"]),
        )
        .await
        .map(|_| ())
    }

    async fn count(&self, jql: &str, mode: CountMode) -> Result<u64, TrackerError> {
        let client = count::CountClient {
            connection: &self.connection,
            http: &self.http,
            outbound: &self.outbound,
        };
        count::count(&client, jql, mode).await
    }

    fn search_url(&self, jql: &str) -> String {
        self.connection.search_url(jql)
    }

    async fn issue_state(
        &self,
        issue_key: &str,
    ) -> Result<Option<crate::tracker::IssueState>, TrackerError> {
        self.state_reads().issue_state(issue_key).await
    }

    async fn search_states(
        &self,
        jql: &str,
        cursor: Option<crate::tracker::PageCursor>,
        page_size: u32,
    ) -> Result<crate::tracker::StatePage, TrackerError> {
        self.state_reads()
            .search_states(jql, cursor, page_size)
            .await
    }

    async fn search_keys(
        &self,
        jql: &str,
        cursor: Option<crate::tracker::PageCursor>,
        page_size: u32,
    ) -> Result<crate::tracker::KeyPage, TrackerError> {
        self.state_reads().search_keys(jql, cursor, page_size).await
    }
}
