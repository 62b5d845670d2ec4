//! Where Jira is and how to authenticate: URL building and credentials.
//!
//! Paths are always explicit (`rest/api/2` on Data Center, `rest/api/3` on
//! Cloud, never `latest`) and are appended segment by segment so that a base
//! URL with a context path (`https://host/jira`, `https://api.atlassian.com/ex/jira/{cloudId}`)
//! keeps every segment, with or without a trailing slash.

use crate::config::JiraFlavour;
use reqwest::RequestBuilder;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use url::Url;

/// Jira's location, flavour and credentials. `Debug` never shows the token.
#[derive(Clone)]
pub struct JiraConnection {
    flavour: JiraFlavour,
    base_url: Url,
    browse_base: Url,
    email: Option<String>,
    token: SecretString,
}

impl fmt::Debug for JiraConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JiraConnection")
            .field("flavour", &self.flavour)
            .field("base_url", &self.base_url.as_str())
            .field("email", &self.email)
            .field("token", &"[redacted]")
            .finish()
    }
}

impl JiraConnection {
    /// A connection to `base_url`; `browse_url` (default: `base_url`) is where people open issues.
    /// Cloud authenticates with Basic `email:token`; Data Center with a Bearer personal access token.
    pub fn new(
        flavour: JiraFlavour,
        base_url: Url,
        browse_url: Option<Url>,
        email: Option<String>,
        token: SecretString,
    ) -> Self {
        let base_url = with_trailing_slash(base_url);
        let browse_base = with_trailing_slash(browse_url.unwrap_or_else(|| base_url.clone()));
        Self {
            flavour,
            base_url,
            browse_base,
            email,
            token,
        }
    }

    /// Cloud or Data Center.
    pub fn flavour(&self) -> JiraFlavour {
        self.flavour
    }

    /// The REST API version this flavour uses: `3` on Cloud, `2` on Data Center.
    pub fn api_version(&self) -> &'static str {
        match self.flavour {
            JiraFlavour::Cloud => "3",
            JiraFlavour::DataCenter => "2",
        }
    }

    /// Base URL, always ending in `/`.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// `{base}/rest/api/{2|3}/{segments…}`; each segment is percent-encoded.
    pub fn api_url(&self, segments: &[&str]) -> Url {
        let mut url = self.base_url.clone();
        {
            let mut path = url
                .path_segments_mut()
                .expect("http(s) base URLs always have a path");
            path.pop_if_empty()
                .extend(["rest", "api", self.api_version()]);
            path.extend(segments);
        }
        url
    }

    /// `{browse base}/browse/{key}`: where people open the issue.
    pub fn browse_url(&self, issue_key: &str) -> String {
        let mut url = self.browse_base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["browse", issue_key]);
        }
        url.to_string()
    }

    /// `{browse base}/issues/?jql=…`: Jira's issue search for `jql`.
    pub fn search_url(&self, jql: &str) -> String {
        let mut url = self.browse_base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["issues", ""]);
        }
        url.query_pairs_mut().append_pair("jql", jql);
        url.to_string()
    }

    /// Adds this connection's credentials to `request`.
    pub fn authorize(&self, request: RequestBuilder) -> RequestBuilder {
        match (self.flavour, &self.email) {
            (JiraFlavour::Cloud, Some(email)) => {
                request.basic_auth(email, Some(self.token.expose_secret()))
            }
            _ => request.bearer_auth(self.token.expose_secret()),
        }
    }

    /// A `method` request to [`Self::api_url`]`(segments)` sent with `http`, with
    /// this connection's credentials, asking for JSON.
    pub fn request(
        &self,
        http: &reqwest::Client,
        method: reqwest::Method,
        segments: &[&str],
    ) -> RequestBuilder {
        self.authorize(http.request(method, self.api_url(segments)))
            .header(reqwest::header::ACCEPT, "application/json")
    }

    /// Credentials for the `gouqi` client, matching [`Self::authorize`].
    pub fn gouqi_credentials(&self) -> gouqi::Credentials {
        match (self.flavour, &self.email) {
            (JiraFlavour::Cloud, Some(email)) => {
                gouqi::Credentials::Basic(email.clone(), self.token.expose_secret().to_owned())
            }
            _ => gouqi::Credentials::Bearer(self.token.expose_secret().to_owned()),
        }
    }
}

/// gouqi (and `Url::join`) drop the last path segment of a base without a trailing slash.
fn with_trailing_slash(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(flavour: JiraFlavour, base: &str) -> JiraConnection {
        JiraConnection::new(
            flavour,
            Url::parse(base).unwrap(),
            None,
            Some("a@b.c".into()),
            SecretString::from("t"),
        )
    }

    #[test]
    fn base_paths_are_kept_with_or_without_slash() {
        for base in ["https://host/jira", "https://host/jira/"] {
            let c = conn(JiraFlavour::DataCenter, base);
            assert_eq!(
                c.api_url(&["issue"]).as_str(),
                "https://host/jira/rest/api/2/issue"
            );
            assert_eq!(c.browse_url("SHOP-1"), "https://host/jira/browse/SHOP-1");
        }
        let c = conn(
            JiraFlavour::Cloud,
            "https://api.atlassian.com/ex/jira/abc-123",
        );
        assert_eq!(
            c.api_url(&["issue", "SHOP-1", "remotelink"]).as_str(),
            "https://api.atlassian.com/ex/jira/abc-123/rest/api/3/issue/SHOP-1/remotelink"
        );
        let c = conn(JiraFlavour::Cloud, "https://x.atlassian.net");
        assert_eq!(
            c.api_url(&["search", "jql"]).as_str(),
            "https://x.atlassian.net/rest/api/3/search/jql"
        );
    }

    #[test]
    fn search_url_encodes_jql() {
        let c = conn(JiraFlavour::Cloud, "https://x.atlassian.net");
        assert_eq!(
            c.search_url("project = \"SHOP\""),
            "https://x.atlassian.net/issues/?jql=project+%3D+%22SHOP%22"
        );
    }

    #[test]
    fn debug_hides_the_token() {
        let c = JiraConnection::new(
            JiraFlavour::Cloud,
            Url::parse("https://x").unwrap(),
            None,
            None,
            SecretString::from("super-secret-token"),
        );
        assert!(!format!("{c:?}").contains("super-secret-token"));
    }
}
