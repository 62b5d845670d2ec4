//! One page of a Jira search, on either flavour: the request body and where
//! the next page starts.
//!
//! Cloud pages `POST /rest/api/3/search/jql` by `nextPageToken` and says
//! `isLast`, with no `total`; Data Center pages `POST /rest/api/2/search` by
//! `startAt` and answers an exact `total`. Shared by the exact count and the
//! write-back searches, so both end paging the same way: a token Jira repeats
//! is an error, never a loop.

use crate::tracker::TrackerError;
use serde::Deserialize;
use serde_json::{json, Value};

/// Cloud's largest page when only ids (or keys) are asked for.
pub const CLOUD_ID_PAGE_MAX: u32 = 5000;

/// Cloud's largest page when fields are asked for (Jira returns fewer, silently, above it).
pub const CLOUD_FIELDS_PAGE_MAX: u32 = 100;

/// Data Center's usual cap per page (`jira.search.views.default.max`).
pub const DATA_CENTER_PAGE_MAX: u32 = 1000;

/// `POST /rest/api/3/search/jql` body for one page (`SearchAndReconcileRequestBean`).
pub fn cloud_body(jql: &str, fields: &[&str], max_results: u32, token: Option<&str>) -> Value {
    let mut body = json!({"jql": jql, "fields": fields, "maxResults": max_results});
    if let Some(token) = token {
        body["nextPageToken"] = json!(token);
    }
    body
}

/// `POST /rest/api/2/search` body for one page.
pub fn data_center_body(jql: &str, fields: &[&str], start_at: u64, max_results: u32) -> Value {
    json!({"jql": jql, "startAt": start_at, "maxResults": max_results, "fields": fields})
}

/// A page of Cloud's `search/jql` answer (`SearchAndReconcileResults`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
pub struct CloudPage<T> {
    /// Issues on this page.
    #[serde(default = "Vec::new")]
    pub issues: Vec<T>,
    /// Token of the next page; absent (or null) on the last.
    #[serde(default)]
    pub next_page_token: Option<String>,
    /// Whether this is the last page.
    #[serde(default)]
    pub is_last: Option<bool>,
}

impl<T> CloudPage<T> {
    /// The token of the next page, `None` when this is the last one. `asked` is
    /// the token this page was requested with: Jira answering it again would
    /// page forever, so that is an error of `call`.
    pub fn next_token(
        &self,
        asked: Option<&str>,
        call: &'static str,
    ) -> Result<Option<String>, TrackerError> {
        match &self.next_page_token {
            Some(next) if self.is_last != Some(true) && !next.is_empty() => {
                if asked == Some(next.as_str()) {
                    return Err(TrackerError::Decode {
                        call,
                        detail: "Jira returned the same page token twice".into(),
                    });
                }
                Ok(Some(next.clone()))
            }
            _ => Ok(None),
        }
    }
}

/// A page of Data Center's `search` answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
pub struct DataCenterPage<T> {
    /// Issues skipped before this page, as Jira applied it.
    #[serde(default)]
    pub start_at: Option<u64>,
    /// Page size Jira applied (may be below the size asked for).
    #[serde(default)]
    pub max_results: Option<u64>,
    /// Issues the query selects across all pages.
    #[serde(default)]
    pub total: Option<u64>,
    /// Issues on this page.
    #[serde(default = "Vec::new")]
    pub issues: Vec<T>,
}

impl<T> DataCenterPage<T> {
    /// Where the next page starts, `None` when this is the last one. `asked_start`
    /// and `asked_size` are what this page was requested with; Jira's own
    /// `startAt`, `maxResults` and `total` win when it sends them. An empty page
    /// always ends paging.
    pub fn next_start(&self, asked_start: u64, asked_size: u32) -> Option<u64> {
        let returned = self.issues.len() as u64;
        if returned == 0 {
            return None;
        }
        let next = self.start_at.unwrap_or(asked_start) + returned;
        let more = match self.total {
            Some(total) => next < total,
            // Without a total a full page may have a successor; a short one is the last.
            None => returned >= self.max_results.unwrap_or(u64::from(asked_size)),
        };
        more.then_some(next)
    }
}

/// The page size to ask for: at least one, at most `max`.
pub fn clamp_page_size(asked: u32, max: u32) -> u32 {
    asked.clamp(1, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_carry_the_page_position() {
        assert_eq!(
            cloud_body("x", &["id"], 5000, None),
            json!({"jql": "x", "fields": ["id"], "maxResults": 5000})
        );
        assert_eq!(cloud_body("x", &[], 10, Some("t2"))["nextPageToken"], "t2");
        assert_eq!(
            data_center_body("x", &["status"], 200, 100),
            json!({"jql": "x", "startAt": 200, "maxResults": 100, "fields": ["status"]})
        );
    }

    #[test]
    fn cloud_paging_ends_on_is_last_or_no_token_and_refuses_repeats() {
        let page = |token: Option<&str>, last: Option<bool>| CloudPage::<()> {
            issues: vec![()],
            next_page_token: token.map(str::to_owned),
            is_last: last,
        };
        assert_eq!(
            page(Some("b"), Some(false))
                .next_token(Some("a"), "c")
                .unwrap(),
            Some("b".into())
        );
        assert_eq!(
            page(Some("b"), None).next_token(None, "c").unwrap(),
            Some("b".into())
        );
        assert_eq!(
            page(Some("b"), Some(true)).next_token(None, "c").unwrap(),
            None
        );
        assert_eq!(page(None, None).next_token(None, "c").unwrap(), None);
        assert!(matches!(
            page(Some("a"), Some(false)).next_token(Some("a"), "c"),
            Err(TrackerError::Decode { .. })
        ));
    }

    #[test]
    fn data_center_paging_follows_total_or_full_pages() {
        let page = |start, max, total, n| DataCenterPage::<()> {
            start_at: start,
            max_results: max,
            total,
            issues: vec![(); n],
        };
        assert_eq!(page(Some(0), Some(2), Some(5), 2).next_start(0, 2), Some(2));
        assert_eq!(page(Some(4), Some(2), Some(5), 1).next_start(4, 2), None);
        // Jira capped the page below the size asked for: the total still drives paging.
        assert_eq!(
            page(Some(0), Some(1000), Some(3000), 1000).next_start(0, 5000),
            Some(1000)
        );
        assert_eq!(page(None, None, None, 100).next_start(300, 100), Some(400));
        assert_eq!(page(None, None, None, 99).next_start(300, 100), None);
        assert_eq!(page(Some(0), Some(2), Some(5), 0).next_start(0, 2), None);
    }

    #[test]
    fn page_sizes_are_clamped() {
        assert_eq!(clamp_page_size(0, 100), 1);
        assert_eq!(clamp_page_size(250, 100), 100);
        assert_eq!(clamp_page_size(50, 100), 50);
    }
}
