//! RFC 7807 problem+json: the one shape every error answer has.
//!
//! Each use-case error maps to a status and a message a Test Manager admin can
//! act on. Unexpected failures are logged with their cause and answered without
//! internals.

use crate::defects::DefectError;
use crate::testmanager::TestManagerError;
use crate::tracker::TrackerError;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::time::Duration;

/// A problem+json answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`about:blank` style tags under `urn:tm-defect-bridge:`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Short, stable title of the kind.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What happened and what to do.
    pub detail: String,
    /// Which upstream call failed, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// Seconds to wait before retrying, when it helps.
    #[serde(skip)]
    #[schema(ignore)]
    pub retry_after: Option<Duration>,
}

impl Problem {
    /// A problem of `status` with a kind tag, title and detail.
    pub fn new(status: StatusCode, kind: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("urn:tm-defect-bridge:{kind}"),
            title: title.into(),
            status: status.as_u16(),
            detail: detail.into(),
            upstream: None,
            retry_after: None,
        }
    }

    /// Names the upstream call that failed.
    pub fn upstream(mut self, call: impl Into<String>) -> Self {
        self.upstream = Some(call.into());
        self
    }

    /// Adds a `Retry-After`.
    pub fn retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.title, self.status, self.detail)
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ));
        if let Some(after) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, after.as_secs().max(1).to_string()));
        }
        response.body(serde_json::to_string(self).unwrap_or_default())
    }
}

impl From<DefectError> for Problem {
    fn from(error: DefectError) -> Self {
        let detail = error.to_string();
        match error {
            DefectError::UnknownProject { .. } => Problem::new(
                StatusCode::NOT_FOUND,
                "unknown-project",
                "Unknown project",
                detail,
            ),
            DefectError::TestManager(e) => from_testmanager(e),
            DefectError::Mapping(_) => {
                tracing::error!(error = %detail, "mapping failed to render");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "mapping-failed",
                    "The mapping file could not render this failure",
                    detail,
                )
            }
            DefectError::Tracker(e) => from_tracker(e),
            DefectError::Unconfirmed { .. } => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "jira-unconfirmed",
                "Jira did not confirm the issue",
                detail,
            )
            .upstream("Jira: create issue")
            .retry_after(Duration::from_secs(30)),
            DefectError::Busy { retry_after } => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "in-progress",
                "Already in progress",
                detail,
            )
            .retry_after(retry_after),
            DefectError::Ledger(e) => {
                tracing::error!(error = %e, "ledger failed");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ledger-unavailable",
                    "Ledger unavailable",
                    detail,
                )
                .retry_after(Duration::from_secs(10))
            }
        }
    }
}

fn from_testmanager(error: TestManagerError) -> Problem {
    let detail = error.to_string();
    let call = error.upstream_call().map(|c| format!("Test Manager: {c}"));
    let problem = match &error {
        TestManagerError::LogNotFound { .. } => Problem::new(
            StatusCode::NOT_FOUND,
            "log-not-found",
            "No such test result",
            detail,
        ),
        TestManagerError::NotFailed { .. } => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not-failed",
            "The test result did not fail",
            detail,
        ),
        TestManagerError::NotFound { .. } => Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found in Test Manager",
            detail,
        ),
        TestManagerError::Timeout { .. } => Problem::new(
            StatusCode::GATEWAY_TIMEOUT,
            "testmanager-timeout",
            "Test Manager did not answer in time",
            detail,
        ),
        _ => Problem::new(
            StatusCode::BAD_GATEWAY,
            "testmanager-failed",
            "Test Manager call failed",
            detail,
        ),
    };
    match call {
        Some(c) => problem.upstream(c),
        None => problem,
    }
}

fn from_tracker(error: TrackerError) -> Problem {
    let detail = error.to_string();
    let call = format!("Jira: {}", error.call());
    match error {
        TrackerError::RateLimited {
            retry_after_secs, ..
        } => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "jira-rate-limited",
            "Jira is rate limiting",
            detail,
        )
        .retry_after(Duration::from_secs(retry_after_secs.unwrap_or(10))),
        TrackerError::Timeout { .. } | TrackerError::Ambiguous { .. } => Problem::new(
            StatusCode::GATEWAY_TIMEOUT,
            "jira-timeout",
            "Jira did not answer in time",
            detail,
        ),
        TrackerError::Rejected { .. } => Problem::new(
            StatusCode::BAD_GATEWAY,
            "jira-rejected",
            "Jira refused the request",
            detail,
        ),
        TrackerError::Auth { .. } => Problem::new(
            StatusCode::BAD_GATEWAY,
            "jira-auth",
            "Jira refused the credentials",
            detail,
        ),
        TrackerError::Unavailable { .. } | TrackerError::Decode { .. } => Problem::new(
            StatusCode::BAD_GATEWAY,
            "jira-failed",
            "Jira call failed",
            detail,
        ),
    }
    .upstream(call)
}
