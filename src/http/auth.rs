//! Inbound authentication: the per-project webhook secret.
//!
//! The secret may sit in the registered URL's path or in a configurable header;
//! it is compared in constant time, and a refusal reveals nothing about which
//! part was wrong. Only the fact of a refusal is logged.

use crate::secret_match::secret_matches;
use secrecy::SecretString;
use std::collections::BTreeMap;

/// Secrets per route, and whether routes without one are open.
#[derive(Clone)]
pub struct WebhookAuth {
    secrets: BTreeMap<String, SecretString>,
    allow_unauthenticated: bool,
    header: String,
}

impl std::fmt::Debug for WebhookAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookAuth")
            .field(
                "routes_with_secret",
                &self.secrets.keys().collect::<Vec<_>>(),
            )
            .field("allow_unauthenticated", &self.allow_unauthenticated)
            .field("header", &self.header)
            .finish()
    }
}

impl WebhookAuth {
    /// Secrets keyed by route (lower case).
    pub fn new(
        secrets: BTreeMap<String, SecretString>,
        allow_unauthenticated: bool,
        header: String,
    ) -> Self {
        let secrets = secrets
            .into_iter()
            .map(|(k, v)| (k.to_lowercase(), v))
            .collect();
        Self {
            secrets,
            allow_unauthenticated,
            header,
        }
    }

    /// The header that may carry the secret.
    pub fn header(&self) -> &str {
        &self.header
    }

    /// True when the request for `route` may proceed, given the secret from the
    /// path and the one from the header (either may match).
    pub fn permits(&self, route: &str, from_path: Option<&str>, from_header: Option<&str>) -> bool {
        let expected = self
            .secrets
            .get(route)
            .or_else(|| self.secrets.get(&route.to_lowercase()));
        match expected {
            None => self.allow_unauthenticated && from_path.is_none(),
            Some(expected) => {
                let matches =
                    |given: Option<&str>| given.is_some_and(|g| secret_matches(expected, g));
                // Evaluate both so timing does not tell which one was tried.
                let by_path = matches(from_path);
                let by_header = matches(from_header);
                by_path | by_header
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(open: bool) -> WebhookAuth {
        let mut secrets = BTreeMap::new();
        secrets.insert("SHOP".to_owned(), SecretString::from("s3cr3t"));
        WebhookAuth::new(secrets, open, "X-Bridge-Secret".into())
    }

    #[test]
    fn secret_by_path_or_header() {
        let a = auth(false);
        assert!(a.permits("shop", Some("s3cr3t"), None));
        assert!(a.permits("shop", None, Some("s3cr3t")));
        assert!(!a.permits("shop", Some("wrong"), None));
        assert!(!a.permits("shop", None, None));
        assert!(!a.permits("shop", Some("s3cr3"), Some("s3cr3tt")));
    }

    #[test]
    fn routes_without_secret_need_explicit_opt_in() {
        assert!(!auth(false).permits("other", None, None));
        assert!(auth(true).permits("other", None, None));
        assert!(!format!("{:?}", auth(true)).contains("s3cr3t"));
    }
}
