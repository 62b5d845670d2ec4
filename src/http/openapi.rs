//! `/openapi.json`: the bridge's own API, generated from the code's types
//! (utoipa), with every error as problem+json.
//!
//! The functions below carry only the route documentation; the routes are
//! served by `hooks::hook`, which parses the path itself (Test Manager's exact
//! Create Defect path is not documented, so several are accepted).

#![allow(dead_code)]

use super::problem::Problem;
use crate::defects::DefectPreview;
use crate::testmanager::webhook::{DefectPayload, KpiConnectorDefectsDto, RawCreateDefectRequest};
use actix_web::HttpResponse;
use utoipa::OpenApi;

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "tm-defect-bridge",
        description = "UiPath Test Manager's WebHooks connection, answered from Jira. Every route under /hooks/{route} takes the project's webhook secret as the path segment after the route (shown as {secret}) or in the X-Bridge-Secret header (configurable), in which case the segment is left out."
    ),
    paths(
        create_defect,
        create_defect_subpath,
        defect_kpis,
        preview,
        healthz,
        readyz,
        metrics,
        operator_page,
        operator_json
    ),
    components(schemas(
        RawCreateDefectRequest,
        DefectPayload,
        KpiConnectorDefectsDto,
        Problem,
        DefectPreview
    ))
)]
pub struct ApiDoc;

/// Serves the document.
pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

/// Create Defect: a failed result becomes one Jira issue.
#[utoipa::path(post, path = "/hooks/{route}/{secret}", tag = "webhooks",
    params(("route" = String, Path, description = "The mapping's project.route"), ("secret" = String, Path, description = "The project's webhook secret")),
    request_body(content = RawCreateDefectRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The issue holding the failure", body = DefectPayload),
        (status = 400, description = "Malformed JSON, missing or non-GUID ids", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or wrong webhook secret", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown project or test result", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The result did not fail", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "Jira or Test Manager refused or failed", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Rate limited, busy or unconfirmed; see Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "An upstream did not answer in time", body = Problem, content_type = "application/problem+json"),
    ))]
fn create_defect() {}

/// Create Defect at the documented sub-path.
#[utoipa::path(post, path = "/hooks/{route}/{secret}/defects", tag = "webhooks",
    params(("route" = String, Path), ("secret" = String, Path)),
    request_body(content = RawCreateDefectRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The issue holding the failure", body = DefectPayload),
        (status = "4XX", description = "Bad input or authentication", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "Upstream failure", body = Problem, content_type = "application/problem+json"),
    ))]
fn create_defect_subpath() {}

/// Defect KPIs for the dashboard's Open Defects tile.
#[utoipa::path(get, path = "/hooks/{route}/{secret}/api/kpis/project/{projectId}/defectstatus", tag = "webhooks",
    params(("route" = String, Path), ("secret" = String, Path), ("projectId" = String, Path, description = "Test Manager project GUID or prefix")),
    responses(
        (status = 200, description = "Counts (status says whether they are current)", body = KpiConnectorDefectsDto),
        (status = 401, description = "Missing or wrong webhook secret", body = Problem, content_type = "application/problem+json"),
    ))]
fn defect_kpis() {}

/// The Jira request a failure would become; creates nothing.
#[utoipa::path(post, path = "/hooks/{route}/{secret}/preview", tag = "operations",
    params(("route" = String, Path), ("secret" = String, Path)),
    request_body(content = RawCreateDefectRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "What would be sent", body = DefectPreview),
        (status = "4XX", description = "Bad input or authentication", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "Upstream failure", body = Problem, content_type = "application/problem+json"),
    ))]
fn preview() {}

/// The process serves.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "Alive")))]
fn healthz() {}

/// Ledger, Jira and Test Manager answered recently.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200, description = "Ready"), (status = 503, description = "Not ready; the body says which dependency")))]
fn readyz() {}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
fn metrics() {}

/// The operator's page: readiness, mappings, failures, recent results, the evidence queue.
#[utoipa::path(get, path = "/", tag = "operations",
    responses(
        (status = 200, description = "The page (HTML, no script)", content_type = "text/html"),
        (status = 401, description = "access.operator_token is set and was not presented (Bearer, or Basic password)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not in access.operations (or relayed by a proxy not in access.trusted_proxies; with neither the list nor a token configured, not a loopback client connecting directly)", body = Problem, content_type = "application/problem+json"),
    ))]
fn operator_page() {}

/// The operator's page as JSON: the same view model.
#[utoipa::path(get, path = "/operator.json", tag = "operations",
    responses(
        (status = 200, description = "The status view model the page is rendered from", content_type = "application/json"),
        (status = 401, description = "access.operator_token is set and was not presented", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed from this client", body = Problem, content_type = "application/problem+json"),
    ))]
fn operator_json() {}
