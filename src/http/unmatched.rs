//! Requests that reach no route: logged at warn (method and path only), so an
//! operator can see what Test Manager really calls, and answered 404 problem+json.

use super::problem::Problem;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};

/// The 404 answer, after logging the request line.
pub fn answer(request: &HttpRequest) -> HttpResponse {
    // Only the path: query strings may carry secrets or personal data.
    tracing::warn!(method = %request.method(), path = %redact(request.path()), "request matched no route");
    Problem::new(
        StatusCode::NOT_FOUND,
        "no-route",
        "No such endpoint",
        "Create Defect is POST {registered URL} or {registered URL}/defects; defect KPIs are GET {registered URL}/api/kpis/project/{projectId}/defectstatus",
    )
    .error_response()
}

/// Default service for everything outside known routes.
pub async fn default_service(request: HttpRequest) -> HttpResponse {
    answer(&request)
}

/// Hides the segment after `/hooks/{route}/` when it could be a path secret, and
/// the one after `/jira/webhook/`, which is one.
pub(crate) fn redact(path: &str) -> String {
    let mut segments: Vec<&str> = path.split('/').collect();
    if segments.get(1) == Some(&"jira") && segments.get(2) == Some(&"webhook") && segments.len() > 3
    {
        segments[3] = "[redacted]";
    }
    if segments.get(1) == Some(&"hooks") && segments.len() > 3 {
        let candidate = segments[3];
        if !matches!(candidate, "defects" | "api" | "") {
            segments[3] = "[redacted]";
        }
    }
    segments.join("/")
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
}
