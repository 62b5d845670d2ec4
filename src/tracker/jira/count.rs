//! Counting the issues a JQL query selects, on either Jira flavour.
//!
//! Data Center answers an exact `total` to a search asking for no issues.
//! Cloud's search has no `total`: it offers `search/approximate-count` (an
//! estimate, one call) or paging `search/jql` with ids only (exact, one call
//! per 5000 issues). The exact path never returns a short count: a page that
//! fails, or paging that does not end, fails the count — gouqi's search stream
//! ends silently on a failed page, which is why this does not use it.

use super::call::{send_json, Effect};
use super::connection::JiraConnection;
use super::search_page::{cloud_body, data_center_body as page_body, CloudPage, CLOUD_ID_PAGE_MAX};
use crate::config::JiraFlavour;
use crate::mapping::CountMode;
use crate::outbound::Upstream;
use crate::tracker::TrackerError;
use serde::Deserialize;
use serde_json::{json, Value};

/// Issues per page when counting exactly: Cloud's maximum when only ids are asked for.
pub const EXACT_PAGE_SIZE: u32 = CLOUD_ID_PAGE_MAX;

/// Pages an exact count may take (250 million issues) before it is judged
/// runaway paging rather than a count.
const MAX_PAGES: u32 = 50_000;

/// The parts of the Jira adapter a count uses, borrowed from it. Counting
/// takes these rather than the adapter itself so that the adapter, which
/// calls this module, is not imported back by it.
pub struct CountClient<'a> {
    /// Where Jira is, and its credentials.
    pub connection: &'a JiraConnection,
    /// The adapter's HTTP client.
    pub http: &'a reqwest::Client,
    /// The retry and concurrency policy for Jira calls.
    pub outbound: &'a Upstream,
}

impl CountClient<'_> {
    fn request(&self, method: reqwest::Method, segments: &[&str]) -> reqwest::RequestBuilder {
        self.connection.request(self.http, method, segments)
    }
}

/// Counts the issues `jql` selects; see [`crate::tracker::DefectTracker::count`].
pub async fn count(
    tracker: &CountClient<'_>,
    jql: &str,
    mode: CountMode,
) -> Result<u64, TrackerError> {
    match (tracker.connection.flavour(), mode) {
        (JiraFlavour::DataCenter, _) => data_center_total(tracker, jql).await,
        (JiraFlavour::Cloud, CountMode::Approximate) => cloud_approximate(tracker, jql).await,
        (JiraFlavour::Cloud, CountMode::Exact) => cloud_exact(tracker, jql).await,
    }
}

/// `POST /rest/api/2/search` body asking for the total only.
pub fn data_center_body(jql: &str) -> Value {
    page_body(jql, &[], 0, 0)
}

/// `POST /rest/api/3/search/approximate-count` body (`JQLCountRequestBean`).
pub fn approximate_body(jql: &str) -> Value {
    json!({"jql": jql})
}

/// `POST /rest/api/3/search/jql` body for one page of ids (`SearchAndReconcileRequestBean`).
pub fn exact_page_body(jql: &str, next_page_token: Option<&str>) -> Value {
    cloud_body(jql, &["id"], EXACT_PAGE_SIZE, next_page_token)
}

async fn data_center_total(tracker: &CountClient<'_>, jql: &str) -> Result<u64, TrackerError> {
    #[derive(Deserialize)]
    struct Total {
        total: u64,
    }
    let answer: Total = send_json(
        tracker.outbound,
        "count issues",
        Effect::Idempotent,
        tracker
            .request(reqwest::Method::POST, &["search"])
            .json(&data_center_body(jql)),
    )
    .await?;
    Ok(answer.total)
}

async fn cloud_approximate(tracker: &CountClient<'_>, jql: &str) -> Result<u64, TrackerError> {
    #[derive(Deserialize)]
    struct Count {
        count: u64,
    }
    let answer: Count = send_json(
        tracker.outbound,
        "count issues",
        Effect::Idempotent,
        tracker
            .request(reqwest::Method::POST, &["search", "approximate-count"])
            .json(&approximate_body(jql)),
    )
    .await?;
    Ok(answer.count)
}

async fn cloud_exact(tracker: &CountClient<'_>, jql: &str) -> Result<u64, TrackerError> {
    // Only the length of a page matters; the ids themselves are not kept.
    type Page = CloudPage<serde::de::IgnoredAny>;
    const CALL: &str = "count issues exactly";
    let mut total = 0u64;
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page: Page = send_json(
            tracker.outbound,
            CALL,
            Effect::Idempotent,
            tracker
                .request(reqwest::Method::POST, &["search", "jql"])
                .json(&exact_page_body(jql, token.as_deref())),
        )
        .await?;
        total += page.issues.len() as u64;
        match page.next_token(token.as_deref(), CALL)? {
            Some(next) => token = Some(next),
            None => return Ok(total),
        }
    }
    Err(TrackerError::Decode {
        call: CALL,
        detail: format!("paging did not end after {MAX_PAGES} pages"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_ask_for_as_little_as_possible() {
        assert_eq!(
            data_center_body("project = \"SHOP\""),
            json!({"jql": "project = \"SHOP\"", "startAt": 0, "maxResults": 0, "fields": []})
        );
        assert_eq!(approximate_body("x"), json!({"jql": "x"}));
        assert_eq!(
            exact_page_body("x", None),
            json!({"jql": "x", "fields": ["id"], "maxResults": 5000})
        );
        assert_eq!(exact_page_body("x", Some("t2"))["nextPageToken"], "t2");
    }
}
