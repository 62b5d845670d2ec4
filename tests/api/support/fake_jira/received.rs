//! What the fake Jira received for write-back: issue reads and searches, counted from
//! wiremock's record (failed attempts included), so tests can bound the bridge's calls.

use super::FakeJira;
use serde_json::Value;

impl FakeJira {
    /// Every `GET issue/{key}` received (any key), refused ones included.
    pub async fn issue_reads(&self) -> usize {
        self.issue_reads_of_matching(|_| true).await
    }

    /// The `GET issue/{key}` received for `key`, refused ones included.
    pub async fn issue_reads_of(&self, key: &str) -> usize {
        self.issue_reads_of_matching(|k| k == key).await
    }

    async fn issue_reads_of_matching(&self, wanted: impl Fn(&str) -> bool) -> usize {
        let prefix = format!("{}/issue/", self.rest());
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.method.as_str() == "GET")
            .filter_map(|r| r.url.path().strip_prefix(&prefix).map(str::to_owned))
            .filter(|key| !key.contains('/') && wanted(key))
            .count()
    }

    /// The body of every search received on the flavour's search path, in arrival order
    /// (Data Center's `maxResults = 0` counts left out; Cloud's ids-only pages kept,
    /// whether for a count or the sweep).
    pub async fn searches(&self) -> Vec<Value> {
        let search = self.search_path();
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.method.as_str() == "POST" && r.url.path() == search)
            .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap_or_default())
            .filter(|body| body["maxResults"] != 0)
            .collect()
    }

    /// The JQL of every search received, in arrival order.
    pub async fn search_jql(&self) -> Vec<String> {
        self.searches()
            .await
            .iter()
            .map(|body| body["jql"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}
