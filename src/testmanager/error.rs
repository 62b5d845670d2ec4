//! Everything that can go wrong when the bridge asks Test Manager about a result.
//!
//! Owns [`TestManagerError`] and the helpers that turn HTTP responses and
//! transport failures into it. Messages are written for the person who
//! administers Test Manager or the bridge's configuration: each says which call
//! failed and what to check. No message ever carries a credential or a token.

use reqwest::StatusCode;

/// How many characters of an error body are kept in a message.
const DETAIL_CHARS: usize = 300;

/// A failure to fetch something from Test Manager.
#[derive(thiserror::Error, Debug)]
pub enum TestManagerError {
    /// The test execution holds no result at all for this test case and
    /// variation: the Create Defect request names something Test Manager does
    /// not have (or the result was deleted).
    #[error(
        "test execution {execution} has no result for test case {test_case} ({}); \
         check that the request names a test case and variation of that execution",
        describe_variation(.variation.as_deref())
    )]
    LogNotFound {
        /// The test execution that was searched.
        execution: uuid::Uuid,
        /// The test case whose result was looked for.
        test_case: uuid::Uuid,
        /// The variation looked for; `None` means "no data variation".
        variation: Option<String>,
    },

    /// A result exists, but its latest run did not fail: there is no defect to
    /// report.
    #[error(
        "the latest run of this test case did not fail (result: {result}); \
         defects are only created for failed results"
    )]
    NotFailed {
        /// The `result` Test Manager reported for the latest run (e.g. `Passed`).
        result: String,
    },

    /// Test Manager answered 404 for an object the bridge needs.
    #[error(
        "{what} {id} was not found in Test Manager; check the project id the bridge \
         uses and that the external application may read that project"
    )]
    NotFound {
        /// What was looked up: `"test execution"`, `"test case"`, `"project"`.
        what: &'static str,
        /// The id (or prefix) that was looked up.
        id: String,
    },

    /// Test Manager answered 404 for the defect write-back reads or updates:
    /// it was deleted, or belongs to another project. Updating it again will not help.
    #[error(
        "Test Manager has no defect {defect_id} in project {project_id} (deleted, or the \
         log's defect id is stale); nothing was written"
    )]
    DefectNotFound {
        /// The project the defect was looked for in.
        project_id: uuid::Uuid,
        /// The defect id.
        defect_id: String,
    },

    /// The token endpoint refused the credentials, or the API refused the token
    /// even after renewing it (401 twice, or 403).
    #[error("Test Manager refused access at {endpoint}: {detail}")]
    Auth {
        /// The URL that refused (token endpoint or API path), without credentials.
        endpoint: String,
        /// Why, including the OAuth error code or the scope that may be missing.
        detail: String,
    },

    /// Test Manager answered with an unexpected HTTP status.
    #[error("Test Manager call {call} failed with HTTP {status}: {detail}")]
    Upstream {
        /// Which call failed, e.g. `"GET testcaselogs paged"`.
        call: &'static str,
        /// The HTTP status code.
        status: u16,
        /// Test Manager's `errorMessage`, or the start of the body.
        detail: String,
    },

    /// The call did not complete within the HTTP client's timeout.
    #[error("Test Manager call {call} timed out")]
    Timeout {
        /// Which call timed out.
        call: &'static str,
    },

    /// The request could not be sent or its answer not read (DNS, TCP, TLS,
    /// connection reset).
    #[error("cannot reach Test Manager for {call}: {detail}; check the base URL and the network")]
    Unreachable {
        /// Which call failed.
        call: &'static str,
        /// The transport error, without URLs or credentials.
        detail: String,
    },

    /// Test Manager answered 2xx with a body the bridge cannot read.
    #[error("unexpected answer from Test Manager for {call}: {detail}")]
    Decode {
        /// Which call returned the body.
        call: &'static str,
        /// What did not fit.
        detail: String,
    },

    /// The connection settings cannot work (e.g. a base URL that cannot carry a
    /// path). Not in the original brief: a URL such as `mailto:` parses as a
    /// [`url::Url`] but cannot be called, and that is neither a transport nor an
    /// upstream failure.
    #[error("the Test Manager connection is misconfigured: {detail}")]
    Config {
        /// What is wrong with the configuration.
        detail: String,
    },
}

impl TestManagerError {
    /// True when retrying the same request later may succeed: timeouts,
    /// unreachable hosts, HTTP 5xx and HTTP 429.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Timeout { .. } | Self::Unreachable { .. } => true,
            Self::Upstream { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }

    /// A short status for metrics: the HTTP status, `timeout`, `unreachable` or `error`.
    pub fn status_label(&self) -> String {
        match self {
            Self::Upstream { status, .. } => status.to_string(),
            Self::Timeout { .. } => "timeout".into(),
            Self::Unreachable { .. } => "unreachable".into(),
            Self::Auth { .. } => "401".into(),
            _ => "error".into(),
        }
    }

    /// The name of the Test Manager call that failed, for errors tied to one
    /// call (upstream status, timeout, transport, decode); `None` otherwise.
    pub fn upstream_call(&self) -> Option<&str> {
        match self {
            Self::Upstream { call, .. }
            | Self::Timeout { call }
            | Self::Unreachable { call, .. }
            | Self::Decode { call, .. } => Some(call),
            _ => None,
        }
    }

    /// Maps a `reqwest` transport error. The URL is dropped because reqwest
    /// echoes it and a URL may carry user info.
    pub(crate) fn transport(call: &'static str, err: reqwest::Error) -> Self {
        if err.is_timeout() {
            return Self::Timeout { call };
        }
        let err = err.without_url();
        let mut detail = err.to_string();
        // reqwest's own message is vague ("error sending request"); the cause
        // chain says what actually happened (refused, DNS, TLS).
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            detail.push_str(": ");
            detail.push_str(&cause.to_string());
            source = cause.source();
        }
        Self::Unreachable { call, detail }
    }

    /// Maps a non-success API response that the caller did not handle itself.
    pub(crate) fn upstream(call: &'static str, status: StatusCode, body: &[u8]) -> Self {
        Self::Upstream {
            call,
            status: status.as_u16(),
            detail: body_detail(body),
        }
    }
}

fn describe_variation(variation: Option<&str>) -> String {
    match variation {
        Some(v) => format!("variation {v:?}"),
        None => "no variation".to_owned(),
    }
}

/// A short human-readable summary of an error body: Test Manager's
/// `errorMessage` (or a similar field) when the body is JSON, otherwise the
/// first [`DETAIL_CHARS`] characters with whitespace collapsed.
pub(crate) fn body_detail(body: &[u8]) -> String {
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(body) {
        for field in [
            "errorMessage",
            "message",
            "error_description",
            "detail",
            "title",
        ] {
            if let Some(serde_json::Value::String(text)) = map.get(field) {
                if !text.trim().is_empty() {
                    return truncate(text);
                }
            }
        }
    }
    let text = String::from_utf8_lossy(body);
    if text.trim().is_empty() {
        return "(empty body)".to_owned();
    }
    truncate(&text)
}

fn truncate(text: &str) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match collapsed.char_indices().nth(DETAIL_CHARS) {
        Some((cut, _)) => format!("{}…", &collapsed[..cut]),
        None => collapsed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detail_prefers_error_message_and_truncates_html() {
        assert_eq!(
            body_detail(br#"{"errorMessage":"Project is archived","code":7}"#),
            "Project is archived"
        );
        let html = format!("<html>\n<body>{}</body></html>", "é".repeat(500));
        let detail = body_detail(html.as_bytes());
        assert_eq!(detail.chars().count(), DETAIL_CHARS + 1);
        assert!(detail.starts_with("<html> <body>é"));
        assert_eq!(body_detail(b"  "), "(empty body)");
    }

    #[test]
    fn transient_classification() {
        let up = |status| TestManagerError::Upstream {
            call: "GET x",
            status,
            detail: String::new(),
        };
        assert!(up(503).is_transient());
        assert!(up(429).is_transient());
        assert!(!up(400).is_transient());
        assert!(TestManagerError::Timeout { call: "GET x" }.is_transient());
        assert!(!TestManagerError::NotFailed {
            result: "Passed".into()
        }
        .is_transient());
        assert_eq!(up(500).upstream_call(), Some("GET x"));
        assert_eq!(
            TestManagerError::NotFound {
                what: "test case",
                id: "x".into()
            }
            .upstream_call(),
            None
        );
    }
}
