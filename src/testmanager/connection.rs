//! Where Test Manager is and how to log in to it.
//!
//! Owns [`TestManagerConnection`], the default token endpoint derived from the
//! base URL, and the one way this module builds request URLs (by pushing path
//! segments, so a base URL's own path is never lost).

use secrecy::SecretString;
use std::fmt;
use url::Url;

use super::error::TestManagerError;

/// The path segment that marks a Test Manager served by Automation Cloud or
/// Automation Suite (`https://host/{org}/{tenant}/testmanager_`).
const CLOUD_SERVICE_SEGMENT: &str = "testmanager_";

/// Settings for one Test Manager instance and the External Application the
/// bridge logs in as (OAuth2 client credentials).
#[derive(Clone)]
pub struct TestManagerConnection {
    /// Test Manager's base URL, under which `api/v2/...` lives, e.g.
    /// `https://cloud.uipath.com/org/tenant/testmanager_` or a standalone
    /// `https://tm.local/`. A trailing slash is optional and any path is kept.
    pub base_url: Url,
    /// The OAuth2 token endpoint; [`default_token_url`] gives the usual value.
    pub token_url: Url,
    /// The External Application's client id.
    pub client_id: String,
    /// The External Application's client secret. Never logged or printed.
    pub client_secret: SecretString,
    /// Space-separated scopes to request, e.g.
    /// `"TM.Projects.Read TM.TestCases.Read TM.TestExecutions.Read"`.
    pub scope: String,
}

impl fmt::Debug for TestManagerConnection {
    // By hand so that a future field holding a secret cannot be printed by a
    // derive; the secret itself is never shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestManagerConnection")
            .field("base_url", &redact_url(&self.base_url))
            .field("token_url", &redact_url(&self.token_url))
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("scope", &self.scope)
            .finish()
    }
}

/// The token endpoint that usually belongs to `base_url`; a default that
/// configuration can override.
///
/// - Automation Cloud / Automation Suite (`.../{org}/{tenant}/testmanager_...`):
///   identity is per organisation, so the tenant and everything after it are
///   replaced: `https://host/{org}/identity_/connect/token`. Segments before
///   `{org}` (a reverse-proxy prefix) are kept.
/// - Standalone (no `testmanager_` segment): the identity server sits at the
///   host root: `https://host/identity/connect/token`.
///
/// Scheme, host and port are kept; user info, query and fragment are dropped.
pub fn default_token_url(base_url: &Url) -> Url {
    let segments: Vec<&str> = base_url
        .path_segments()
        .map(|s| s.filter(|seg| !seg.is_empty()).collect())
        .unwrap_or_default();
    let mut url = base_url.clone();
    url.set_query(None);
    url.set_fragment(None);
    // Both setters only fail for URLs without a host, which have no token
    // endpoint to derive anyway.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    let cloud = segments
        .iter()
        .position(|seg| seg.eq_ignore_ascii_case(CLOUD_SERVICE_SEGMENT));
    let tail: Vec<&str> = match cloud {
        Some(at) => {
            // Keep what precedes the tenant (the segment just before `testmanager_`).
            let mut kept = segments[..at.saturating_sub(1)].to_vec();
            kept.extend(["identity_", "connect", "token"]);
            kept
        }
        None => vec!["identity", "connect", "token"],
    };
    if let Ok(mut path) = url.path_segments_mut() {
        path.clear().extend(tail);
    }
    url
}

/// `base` with `segments` appended to its path, keeping every segment the base
/// already has (with or without a trailing slash). Segments are
/// percent-encoded, so a value like a project prefix cannot change the path.
pub(crate) fn endpoint(base: &Url, segments: &[&str]) -> Result<Url, TestManagerError> {
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| TestManagerError::Config {
            detail: format!(
                "base URL {} cannot carry a path; use an http(s) URL",
                redact_url(base)
            ),
        })?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

/// A URL as text without user info or query, safe to put in messages and logs.
pub(crate) fn redact_url(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_for(base: &str) -> String {
        default_token_url(&Url::parse(base).unwrap()).to_string()
    }

    #[test]
    fn cloud_token_url_is_per_organisation() {
        assert_eq!(
            token_for("https://cloud.uipath.com/acme/DefaultTenant/testmanager_"),
            "https://cloud.uipath.com/acme/identity_/connect/token"
        );
        assert_eq!(
            token_for("https://cloud.uipath.com/acme/DefaultTenant/testmanager_/"),
            "https://cloud.uipath.com/acme/identity_/connect/token"
        );
        assert_eq!(
            token_for("https://suite.corp:8443/proxy/acme/t1/testmanager_/?x=1"),
            "https://suite.corp:8443/proxy/acme/identity_/connect/token"
        );
    }

    #[test]
    fn standalone_token_url_is_at_host_root() {
        assert_eq!(
            token_for("https://tm.local/"),
            "https://tm.local/identity/connect/token"
        );
        assert_eq!(
            token_for("http://user:pw@tm.local:8080/tm"),
            "http://tm.local:8080/identity/connect/token"
        );
    }

    #[test]
    fn endpoint_keeps_base_path() {
        let with = Url::parse("https://h/org/ten/testmanager_/").unwrap();
        let without = Url::parse("https://h/org/ten/testmanager_").unwrap();
        for base in [with, without] {
            assert_eq!(
                endpoint(&base, &["api", "v2", "projects", "prefix", "A/B ?"])
                    .unwrap()
                    .as_str(),
                "https://h/org/ten/testmanager_/api/v2/projects/prefix/A%2FB%20%3F"
            );
        }
        let root = Url::parse("https://tm.local").unwrap();
        assert_eq!(
            endpoint(&root, &["api", "v2"]).unwrap().as_str(),
            "https://tm.local/api/v2"
        );
        assert!(endpoint(&Url::parse("mailto:a@b").unwrap(), &["x"]).is_err());
    }

    #[test]
    fn debug_hides_secret() {
        let conn = TestManagerConnection {
            base_url: Url::parse("https://u:pw@tm.local/").unwrap(),
            token_url: Url::parse("https://tm.local/identity/connect/token").unwrap(),
            client_id: "app".into(),
            client_secret: SecretString::from("s3cr3t-value"),
            scope: "TM.TestCases.Read".into(),
        };
        let shown = format!("{conn:?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(!shown.contains("pw"), "{shown}");
        assert!(shown.contains("app"));
    }
}
