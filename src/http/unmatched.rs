//! Requests that reach no route: logged at warn (method and path only), so an
//! operator can see what Test Manager really calls, and answered 404 problem+json.

use super::hook_path::{CREATE_DEFECT_SUBPATH, PREVIEW_SUBPATH};
use super::problem::Problem;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};

/// The 404 answer, after logging the request line.
pub fn answer(request: &HttpRequest) -> HttpResponse {
    problem(request).error_response()
}

/// The 404 problem, after logging the request line (for a caller that notes it too).
pub fn problem(request: &HttpRequest) -> Problem {
    // Only the path: query strings may carry secrets or personal data.
    tracing::warn!(method = %request.method(), path = %redact(super::routed_path::routed_path(request)), "request matched no route");
    Problem::new(
        StatusCode::NOT_FOUND,
        "no-route",
        "No such endpoint",
        "Create Defect is POST {registered URL} or {registered URL}/defects; defect KPIs are GET {registered URL}/api/kpis/project/{projectId}/defectstatus",
    )
}

/// Default service for everything outside known routes.
pub async fn default_service(request: HttpRequest) -> HttpResponse {
    answer(&request)
}

/// Hides the segment after `/hooks/{route}/` when it could be a path secret, and
/// the one after `/jira/webhook/`, which is one.
///
/// Empty segments are skipped as the hook path parser skips them, so
/// `/hooks/shop//{secret}/defects` (which is served) hides the secret too.
pub(crate) fn redact(path: &str) -> String {
    let mut segments: Vec<&str> = path.split('/').collect();
    let named: Vec<usize> = (0..segments.len())
        .filter(|&i| !segments[i].is_empty())
        .collect();
    let at = |n: usize| named.get(n).map(|&i| segments[i]);
    let secret = match (at(0), at(1), at(2)) {
        (Some("jira"), Some("webhook"), Some(_)) => named.get(2),
        (Some("hooks"), Some(_route), Some(candidate)) if !is_hook_literal(candidate) => {
            named.get(2)
        }
        _ => None,
    };
    if let Some(&i) = secret {
        segments[i] = "[redacted]";
    }
    segments.join("/")
}

/// Whether a segment right after `/hooks/{route}/` names an event rather than a secret.
fn is_hook_literal(segment: &str) -> bool {
    matches!(segment, CREATE_DEFECT_SUBPATH | PREVIEW_SUBPATH | "api")
}

#[cfg(test)]
mod tests {
    #[test]
    fn possible_secrets_are_redacted() {
        assert_eq!(
            super::redact("/hooks/shop/s3cr3t/x"),
            "/hooks/shop/[redacted]/x"
        );
        assert_eq!(
            super::redact("/hooks/shop/defects/x"),
            "/hooks/shop/defects/x"
        );
        assert_eq!(super::redact("/other"), "/other");
        assert_eq!(
            super::redact("/jira/webhook/s3cr3t"),
            "/jira/webhook/[redacted]"
        );
        assert_eq!(super::redact("/jira/webhook"), "/jira/webhook");
    }

    #[test]
    fn a_secret_behind_empty_segments_is_redacted_too() {
        // The hook path parser skips empty segments, so these carry a served secret.
        assert_eq!(
            super::redact("/hooks/shop//s3cr3t/defects"),
            "/hooks/shop//[redacted]/defects"
        );
        assert_eq!(
            super::redact("/hooks//shop/s3cr3t"),
            "/hooks//shop/[redacted]"
        );
        assert_eq!(
            super::redact("/jira//webhook//s3cr3t"),
            "/jira//webhook//[redacted]"
        );
        assert_eq!(super::redact("/hooks/shop/preview"), "/hooks/shop/preview");
        assert_eq!(
            super::redact("/hooks/shop/s3cr3t/preview"),
            "/hooks/shop/[redacted]/preview"
        );
        assert_eq!(
            super::redact("/hooks/shop/api/kpis/project/SHOP/defectstatus"),
            "/hooks/shop/api/kpis/project/SHOP/defectstatus"
        );
    }
}
