//! The webhook endpoints under `/hooks/{route}/…`: authentication, body
//! parsing and dispatch to the use cases, each answer noted in the journal
//! the operator's page reads.

use super::auth::WebhookAuth;
use super::body::read_limited;
use super::hook_path::{self, HookEvent};
use super::problem::Problem;
use super::routed_path::routed_path;
use super::unmatched;
use crate::defects::{CreateDefect, Outcome};
use crate::kpis::DefectKpis;
use crate::status::journal::{Answer, Journal, JournalEntry, RedactedRequest, ResultRef};
use crate::testmanager::webhook::{
    int32, CreateDefectRequest, DefectPayload, KpiConnectorDefectsDto, RawCreateDefectRequest,
};
use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// What the hook handlers need.
pub struct HookState {
    /// The Create Defect use case.
    pub create_defect: Arc<CreateDefect>,
    /// The Defect KPIs use case.
    pub kpis: Arc<DefectKpis>,
    /// Webhook secrets.
    pub auth: WebhookAuth,
    /// Largest accepted body.
    pub body_limit: usize,
    /// Create Defects in flight (`server.max_concurrent_creates`); when none is
    /// free the request is answered 503 at once rather than queued.
    pub creates: Arc<Semaphore>,
    /// Where each Create Defect answer and each refused call is noted for the operator's page.
    pub journal: Arc<Journal>,
}

/// `ANY /hooks/{route}/{tail:.*}`.
///
/// Every problem answered before a use case runs — no such path, wrong secret,
/// wrong method, overload, unreadable body — is noted in the journal as a
/// refusal, so the operator's page shows what Test Manager met.
pub async fn hook(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<HookState>,
) -> Result<HttpResponse, Problem> {
    let refused = |problem: Problem| note_refusal(&request, &state.journal, problem);
    let (route, event) = admit(&request, &state).map_err(refused)?;
    match event {
        HookEvent::CreateDefect => {
            let _in_flight = create_slot(&route, &state).await.map_err(refused)?;
            let parsed = parse_request(&request, payload, &state)
                .await
                .map_err(refused)?;
            create_defect(&request, &route, parsed, &state).await
        }
        HookEvent::Preview => {
            let parsed = parse_request(&request, payload, &state)
                .await
                .map_err(refused)?;
            let preview = state.create_defect.preview(&route, parsed).await?;
            Ok(HttpResponse::Ok().json(preview))
        }
        HookEvent::DefectKpis { project } => Ok(defect_kpis(&route, &project, &state).await),
    }
}

/// The route and event a request may proceed with: its path names one, its
/// secret is right, and the method fits the event.
fn admit(request: &HttpRequest, state: &HookState) -> Result<(String, HookEvent), Problem> {
    let Some((route, parsed)) = hook_path::parse_full(routed_path(request)) else {
        return Err(unmatched::problem(request));
    };
    let from_header = request
        .headers()
        .get(state.auth.header())
        .and_then(|v| v.to_str().ok());
    if !state
        .auth
        .permits(&route, parsed.secret.as_deref(), from_header)
    {
        tracing::warn!(route = %route, "refused a webhook call: missing or wrong secret");
        return Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            "the webhook secret is missing or wrong; check the WebHooks URL registered in Test Manager",
        ));
    }
    let method_fits = match parsed.event {
        HookEvent::CreateDefect | HookEvent::Preview => request.method() == Method::POST,
        HookEvent::DefectKpis { .. } => request.method() == Method::GET,
    };
    if !method_fits {
        return Err(Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
            format!(
                "{} is not accepted here: Create Defect is a POST, defect KPIs are a GET",
                request.method()
            ),
        ));
    }
    Ok((route.into_owned(), parsed.event))
}

/// Notes `problem` as a refusal of `request` (path secret redacted), and gives it back.
fn note_refusal(request: &HttpRequest, journal: &Journal, problem: Problem) -> Problem {
    let path = unmatched::redact(routed_path(request));
    journal.record_refusal(JournalEntry {
        at: chrono::Utc::now(),
        route: route_segment(&path).to_owned(),
        request: RedactedRequest::new(request.method().as_str(), &path),
        result: None,
        answer: Answer::Problem {
            status: problem.status,
            title: problem.title.clone(),
            detail: problem.detail.clone(),
        },
    });
    problem
}

/// The route named by a `/hooks/{route}/…` path, as sent (empty when none).
fn route_segment(path: &str) -> &str {
    path.split('/')
        .filter(|s| !s.is_empty())
        .nth(1)
        .unwrap_or_default()
}

/// How long a Create Defect waits for a free slot before it is refused.
const CREATE_SLOT_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// A Create Defect slot: a request waits briefly for one, then is refused,
/// never queued without bound.
async fn create_slot(route: &str, state: &HookState) -> Result<OwnedSemaphorePermit, Problem> {
    let slot =
        tokio::time::timeout(CREATE_SLOT_WAIT, Arc::clone(&state.creates).acquire_owned()).await;
    match slot {
        Ok(Ok(permit)) => Ok(permit),
        _ => {
            tracing::warn!(route, "refused a Create Defect: too many in flight");
            Err(Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "Too many Create Defect requests in flight",
                "the bridge is handling as many Create Defect requests as server.max_concurrent_creates allows; retry shortly",
            )
            .retry_after(std::time::Duration::from_secs(2)))
        }
    }
}

/// Runs the use case and notes its answer, an issue or a problem, with the result it was about.
async fn create_defect(
    request: &HttpRequest,
    route: &str,
    parsed: CreateDefectRequest,
    state: &HookState,
) -> Result<HttpResponse, Problem> {
    let result = ResultRef::from(&parsed.key);
    let request = RedactedRequest::new(
        request.method().as_str(),
        &unmatched::redact(routed_path(request)),
    );
    let note = |answer| {
        state.journal.record(JournalEntry {
            at: chrono::Utc::now(),
            route: route.to_owned(),
            request: request.clone(),
            result: Some(result.clone()),
            answer,
        })
    };
    let outcome = match state.create_defect.run(route, parsed).await {
        Ok(outcome) => outcome,
        Err(e) => {
            let problem = Problem::from(e);
            let reason = problem
                .kind
                .trim_start_matches("urn:tm-defect-bridge:")
                .to_owned();
            crate::metrics::create_defect("failed", Some(&reason));
            note(Answer::Problem {
                status: problem.status,
                title: problem.title.clone(),
                detail: problem.detail.clone(),
            });
            return Err(problem);
        }
    };
    note(Answer::Issue {
        outcome: outcome_label(outcome.outcome).to_owned(),
        issue_key: outcome.issue.issue_key.clone(),
        browse_url: outcome.issue.browse_url.clone(),
        summary: outcome.issue.summary.clone(),
    });
    crate::metrics::create_defect(outcome_label(outcome.outcome), None);
    let issue = outcome.issue;
    let payload = DefectPayload {
        name: issue.summary,
        status: issue.status.unwrap_or_else(|| "Open".into()),
        priority: issue.priority.unwrap_or_default(),
        link: issue.browse_url,
        link_label: issue.issue_key,
    };
    Ok(HttpResponse::Ok().json(payload))
}

fn outcome_label(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Created => "created",
        Outcome::Existing => "existing",
        Outcome::Adopted => "adopted",
        Outcome::Commented => "commented",
        Outcome::Reopened => "reopened",
    }
}

/// Reads and validates a Create Defect body (also used by the preview).
async fn parse_request(
    request: &HttpRequest,
    payload: web::Payload,
    state: &HookState,
) -> Result<CreateDefectRequest, Problem> {
    require_json(request)?;
    let body = read_limited(payload, state.body_limit, "Create Defect bodies").await?;
    let raw: RawCreateDefectRequest = serde_json::from_slice(&body).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed-json",
            "Malformed JSON",
            format!("the body is not a CreateDefectFromTestCaseLogRequest: {e}"),
        )
    })?;
    CreateDefectRequest::parse(raw).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-request",
            "Invalid request",
            e.to_string(),
        )
    })
}

async fn defect_kpis(route: &str, project: &str, state: &HookState) -> HttpResponse {
    let report = state.kpis.report(route, project).await;
    let counts = report.counts;
    HttpResponse::Ok().json(KpiConnectorDefectsDto {
        total_defects: int32(counts.total),
        critical_defects: int32(counts.critical),
        moderate_defects: int32(counts.moderate),
        open_defects: int32(counts.open),
        closed_defects: int32(counts.closed),
        status: state.kpis.status_value(report.status).to_owned(),
        critical_defects_link: report.critical_link,
    })
}

fn require_json(request: &HttpRequest) -> Result<(), Problem> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
    {
        Ok(())
    } else {
        Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            format!(
                "Create Defect takes application/json, got `{}`",
                content_type.chars().take(80).collect::<String>()
            ),
        ))
    }
}
