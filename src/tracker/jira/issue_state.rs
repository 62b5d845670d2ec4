//! Reading issues' current state for write-back: one issue by key, or a page
//! of a search (states, or only ids for the sweep that finds deleted issues).
//!
//! Every read goes through [`super::call`], so it is retried on 429 (honouring
//! `Retry-After`), 5xx and timeouts like any other idempotent Jira call. A
//! state without a status or an `updated` time is refused rather than guessed:
//! write-back writes absolute values and orders them by `updated`.

use super::call::{send_json, Effect};
use super::connection::JiraConnection;
use super::issue::{Named, Status};
use super::search_page::{
    clamp_page_size, cloud_body, data_center_body, CloudPage, DataCenterPage,
    CLOUD_FIELDS_PAGE_MAX, CLOUD_ID_PAGE_MAX, DATA_CENTER_PAGE_MAX,
};
use crate::config::JiraFlavour;
use crate::outbound::Upstream;
use crate::tracker::parse_jira_time;
use crate::tracker::{
    IssueId, IssueState, KeyPage, PageCursor, StatePage, StatusCategory, TrackerError,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// The fields an [`IssueState`] is read from.
pub const STATE_FIELDS: [&str; 5] = ["status", "priority", "resolution", "updated", "labels"];

/// An issue as Jira answers it when asked for [`STATE_FIELDS`].
#[derive(Debug, Deserialize)]
pub struct StateJson {
    /// Numeric id.
    pub id: String,
    /// Key.
    pub key: String,
    /// The fields asked for.
    #[serde(default)]
    pub fields: StateFields,
}

/// `fields` of [`StateJson`]; each may be missing or `null`.
#[derive(Debug, Default, Deserialize)]
pub struct StateFields {
    /// Status with its category.
    #[serde(default)]
    pub status: Option<Status>,
    /// Priority.
    #[serde(default)]
    pub priority: Option<Named>,
    /// Resolution; `null` while unresolved.
    #[serde(default)]
    pub resolution: Option<Named>,
    /// Last change, as Jira formats it.
    #[serde(default)]
    pub updated: Option<String>,
    /// Labels.
    #[serde(default)]
    pub labels: Option<Vec<String>>,
}

impl StateJson {
    /// The port's type. Fails (as an unreadable answer to `call`) when the
    /// status or a readable `updated` time is missing.
    pub fn into_state(self, call: &'static str) -> Result<IssueState, TrackerError> {
        let missing = |what: &str| TrackerError::Decode {
            call,
            detail: format!("issue {} came back without {what}", self.key),
        };
        let status = self
            .fields
            .status
            .as_ref()
            .ok_or_else(|| missing("a status"))?;
        let name = status
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| missing("a status name"))?;
        let category = status
            .category
            .as_ref()
            .and_then(|c| c.key.as_deref())
            .map_or_else(
                || StatusCategory::Undefined(String::new()),
                StatusCategory::from_key,
            );
        let updated = self
            .fields
            .updated
            .as_deref()
            .and_then(parse_jira_time)
            .ok_or_else(|| missing("a readable `updated` time"))?;
        Ok(IssueState {
            status: name,
            status_category: category,
            resolution: self.fields.resolution.and_then(|r| r.name),
            priority: self.fields.priority.and_then(|p| p.name),
            updated,
            labels: self.fields.labels.unwrap_or_default(),
            id: self.id,
            key: self.key,
        })
    }
}

/// An issue as a search for ids only answers it.
#[derive(Debug, Deserialize)]
struct IdJson {
    id: String,
    #[serde(default)]
    key: Option<String>,
}

/// What the write-back reads need of the adapter: where Jira is, the client to
/// send with, and the outbound policy to send under. Borrowed, so the reads
/// need nothing else of [`super::JiraTracker`].
pub struct StateReads<'a> {
    outbound: &'a Upstream,
    connection: &'a JiraConnection,
    http: &'a reqwest::Client,
}

impl<'a> StateReads<'a> {
    /// Reads over `connection`, sent with `http` under `outbound`.
    pub fn new(
        outbound: &'a Upstream,
        connection: &'a JiraConnection,
        http: &'a reqwest::Client,
    ) -> Self {
        Self {
            outbound,
            connection,
            http,
        }
    }

    /// See [`crate::tracker::DefectTracker::issue_state`].
    pub async fn issue_state(&self, issue_key: &str) -> Result<Option<IssueState>, TrackerError> {
        const CALL: &str = "read the issue state";
        let answer = send_json::<StateJson>(
            self.outbound,
            CALL,
            Effect::Idempotent,
            self.connection
                .request(self.http, reqwest::Method::GET, &["issue", issue_key])
                .query(&[("fields", STATE_FIELDS.join(","))]),
        )
        .await;
        match answer {
            Ok(found) => found.into_state(CALL).map(Some),
            // Deleted, or no longer visible to the bridge's account: Jira does not say which.
            Err(TrackerError::Rejected { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// See [`crate::tracker::DefectTracker::search_states`].
    pub async fn search_states(
        &self,
        jql: &str,
        cursor: Option<PageCursor>,
        page_size: u32,
    ) -> Result<StatePage, TrackerError> {
        const CALL: &str = "search issue states";
        let (found, next) = self
            .page::<StateJson>(
                CALL,
                jql,
                &STATE_FIELDS,
                cursor,
                page_size,
                CLOUD_FIELDS_PAGE_MAX,
            )
            .await?;
        let issues = found
            .into_iter()
            .map(|issue| issue.into_state(CALL))
            .collect::<Result<_, _>>()?;
        Ok(StatePage { issues, next })
    }

    /// See [`crate::tracker::DefectTracker::search_keys`].
    pub async fn search_keys(
        &self,
        jql: &str,
        cursor: Option<PageCursor>,
        page_size: u32,
    ) -> Result<KeyPage, TrackerError> {
        const CALL: &str = "search issue ids";
        let (found, next) = self
            .page::<IdJson>(CALL, jql, &["id"], cursor, page_size, CLOUD_ID_PAGE_MAX)
            .await?;
        let issues = found
            .into_iter()
            .map(|issue| IssueId {
                id: issue.id,
                key: issue.key,
            })
            .collect();
        Ok(KeyPage { issues, next })
    }

    /// One page of `jql` with `fields`, on the connection's flavour; Cloud pages
    /// hold at most `cloud_max` issues, Data Center pages [`DATA_CENTER_PAGE_MAX`].
    /// A cursor of the other flavour (the configuration changed between pages)
    /// starts the search again from the first page.
    async fn page<T: DeserializeOwned>(
        &self,
        call: &'static str,
        jql: &str,
        fields: &[&str],
        cursor: Option<PageCursor>,
        page_size: u32,
        cloud_max: u32,
    ) -> Result<(Vec<T>, Option<PageCursor>), TrackerError> {
        let flavour = self.connection.flavour();
        let cursor = match (flavour, cursor) {
            (JiraFlavour::Cloud, Some(PageCursor::StartAt(_)))
            | (JiraFlavour::DataCenter, Some(PageCursor::Token(_))) => {
                tracing::warn!(
                    call,
                    "page cursor of the other Jira flavour; searching again from the first page"
                );
                None
            }
            (_, cursor) => cursor,
        };
        match flavour {
            JiraFlavour::Cloud => {
                let token = match cursor {
                    Some(PageCursor::Token(token)) => Some(token),
                    _ => None,
                };
                let size = clamp_page_size(page_size, cloud_max);
                let page: CloudPage<T> = send_json(
                    self.outbound,
                    call,
                    Effect::Idempotent,
                    self.connection
                        .request(self.http, reqwest::Method::POST, &["search", "jql"])
                        .json(&cloud_body(jql, fields, size, token.as_deref())),
                )
                .await?;
                let next = page.next_token(token.as_deref(), call)?;
                Ok((page.issues, next.map(PageCursor::Token)))
            }
            JiraFlavour::DataCenter => {
                let start = match cursor {
                    Some(PageCursor::StartAt(start)) => start,
                    _ => 0,
                };
                let size = clamp_page_size(page_size, DATA_CENTER_PAGE_MAX);
                let page: DataCenterPage<T> = send_json(
                    self.outbound,
                    call,
                    Effect::Idempotent,
                    self.connection
                        .request(self.http, reqwest::Method::POST, &["search"])
                        .json(&data_center_body(jql, fields, start, size)),
                )
                .await?;
                let next = page.next_start(start, size);
                Ok((page.issues, next.map(PageCursor::StartAt)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    #[test]
    fn jira_and_rfc3339_times_parse_to_the_same_instant() {
        let expected = Utc.with_ymd_and_hms(2026, 12, 6, 5, 55, 22).unwrap();
        assert_eq!(
            parse_jira_time("2026-12-06T05:55:22.000+0000"),
            Some(expected)
        );
        assert_eq!(
            parse_jira_time("2026-12-06T06:55:22.000+0100"),
            Some(expected)
        );
        assert_eq!(parse_jira_time("2026-12-06T05:55:22Z"), Some(expected));
        assert_eq!(parse_jira_time("2026-12-06T07:55:22+02:00"), Some(expected));
        assert_eq!(
            parse_jira_time("2026-12-06T05:55:22.123+0000"),
            Some(expected + chrono::Duration::milliseconds(123))
        );
        assert_eq!(parse_jira_time("yesterday"), None);
        assert_eq!(parse_jira_time("2026-12-06 05:55"), None);
    }

    #[test]
    fn state_keeps_every_field_and_tolerates_nulls() {
        let issue: StateJson = serde_json::from_value(json!({
            "id": "10042", "key": "SHOP-12", "self": "https://x/rest/api/3/issue/10042",
            "fields": {
                "status": {"name": "Done", "statusCategory": {"key": "done", "name": "Done"}},
                "priority": {"name": "High", "id": "2"},
                "resolution": {"name": "Won't Fix"},
                "updated": "2026-12-06T05:55:22.000+0000",
                "labels": ["tm-bridge", "tm-result-abc"]
            }
        }))
        .unwrap();
        let state = issue.into_state("t").unwrap();
        assert_eq!(state.key, "SHOP-12");
        assert_eq!(state.status, "Done");
        assert_eq!(state.status_category, StatusCategory::Done);
        assert_eq!(state.resolution.as_deref(), Some("Won't Fix"));
        assert_eq!(state.priority.as_deref(), Some("High"));
        assert_eq!(state.labels, ["tm-bridge", "tm-result-abc"]);

        let open: StateJson = serde_json::from_value(json!({
            "id": "1", "key": "SHOP-1",
            "fields": {"status": {"name": "To Do", "statusCategory": {"key": "new"}},
                       "priority": null, "resolution": null, "labels": null,
                       "updated": "2026-12-06T05:55:22.000+0000"}
        }))
        .unwrap();
        let state = open.into_state("t").unwrap();
        assert_eq!(state.status_category, StatusCategory::New);
        assert_eq!((state.resolution, state.priority), (None, None));
        assert!(state.labels.is_empty());
    }

    #[test]
    fn state_without_status_or_updated_is_refused() {
        for fields in [
            json!({"updated": "2026-12-06T05:55:22.000+0000"}),
            json!({"status": {"name": "Done"}}),
            json!({"status": {"name": "Done"}, "updated": "not a time"}),
        ] {
            let issue: StateJson =
                serde_json::from_value(json!({"id": "1", "key": "SHOP-1", "fields": fields}))
                    .unwrap();
            let error = issue.into_state("read the issue state").unwrap_err();
            assert!(
                matches!(&error, TrackerError::Decode { detail, .. } if detail.contains("SHOP-1")),
                "{error}"
            );
        }
    }
}
