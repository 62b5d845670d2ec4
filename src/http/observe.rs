//! Per-request observation: request metrics by route and status, and the
//! request id (the one every log line of the request carries) returned in the
//! `X-Request-Id` header.
//!
//! Labels are fixed strings chosen from the path's shape — never the path,
//! which may carry a webhook secret — so the hot KPI path allocates nothing here.

use crate::metrics;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use std::time::Instant;
use tracing_actix_web::RequestId;

/// Middleware recording `bridge_http_requests_total`, the latency histogram,
/// and setting `X-Request-Id`.
pub async fn record(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = route_label(super::routed_path::routed_path(request.request()));
    let request_id = request.extensions().get::<RequestId>().map(|id| **id);
    let mut response = next.call(request).await?;
    metrics::http_request(
        route,
        method,
        status_label(response.status().as_u16()),
        started.elapsed(),
    );
    if let Some(id) = request_id {
        let mut buffer = uuid::Uuid::encode_buffer();
        let text = id.hyphenated().encode_lower(&mut buffer);
        if let Ok(value) = HeaderValue::from_str(text) {
            response
                .headers_mut()
                .insert(HeaderName::from_static("x-request-id"), value);
        }
    }
    Ok(response)
}

/// The status as a label: the code for the ones the bridge answers, else its class.
fn status_label(status: u16) -> &'static str {
    match status {
        200 => "200",
        201 => "201",
        204 => "204",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        413 => "413",
        415 => "415",
        422 => "422",
        429 => "429",
        500 => "500",
        501 => "501",
        502 => "502",
        503 => "503",
        504 => "504",
        s if s < 200 => "1xx",
        s if s < 300 => "2xx",
        s if s < 400 => "3xx",
        s if s < 500 => "4xx",
        _ => "5xx",
    }
}

/// The method as a label (standard methods only; anything else is `other`).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// The route a path reaches, as a fixed label.
pub fn route_label(path: &str) -> &'static str {
    match path {
        "/healthz" => "/healthz",
        "/readyz" => "/readyz",
        "/metrics" => "/metrics",
        "/openapi.json" => "/openapi.json",
        p if p.starts_with("/jira/webhook") => "/jira/webhook[/{secret}]",
        p if p.starts_with("/hooks/") => {
            if p.ends_with("/defectstatus") && p.contains("/api/kpis/project/") {
                "/hooks/{route}/[{secret}/]api/kpis/project/{projectId}/defectstatus"
            } else if p.ends_with("/preview") {
                "/hooks/{route}/[{secret}/]preview"
            } else {
                "/hooks/{route}/[{secret}/][defects]"
            }
        }
        _ => "unmatched",
    }
}

#[cfg(test)]
mod tests {
    use super::route_label;

    #[test]
    fn labels_never_carry_the_path() {
        assert_eq!(
            route_label("/hooks/shop/s3cr3t/defects"),
            "/hooks/{route}/[{secret}/][defects]"
        );
        assert_eq!(
            route_label("/hooks/shop/s3cr3t/api/kpis/project/SHOP/defectstatus"),
            "/hooks/{route}/[{secret}/]api/kpis/project/{projectId}/defectstatus"
        );
        assert_eq!(route_label("/x/s3cr3t"), "unmatched");
    }
}
