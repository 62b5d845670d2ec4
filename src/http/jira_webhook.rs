//! `POST /jira/webhook` (signed) and `POST /jira/webhook/{secret}` (for a
//! Jira that cannot sign): Jira's issue events for write-back.
//!
//! Served apart from the Test Manager routes under `/hooks/`, with their own
//! secrets. The raw body and headers go to the write-back intake, which
//! verifies them before anything is parsed. Jira retries a delivery on 5xx
//! and timeouts, so an unavailable ledger answers 503 and everything else
//! that was accepted answers 200.

use super::body::read_limited;
use super::problem::Problem;
use crate::writeback::{DeliveryError, IntakeError, UnverifiedDelivery, WebhookIntake};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use std::sync::Arc;
use std::time::Duration;

/// What the Jira webhook route needs.
pub struct JiraWebhookState {
    /// The write-back intake; `None` when write-back is off.
    pub intake: Option<Arc<WebhookIntake>>,
    /// Largest accepted body.
    pub body_limit: usize,
}

/// `POST /jira/webhook[/{secret}]`.
pub async fn receive(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<JiraWebhookState>,
) -> Result<HttpResponse, Problem> {
    let Some(intake) = &state.intake else {
        return Err(Problem::new(
            StatusCode::NOT_FOUND,
            "writeback-off",
            "Write-back is off",
            "this bridge does not write Jira changes back to Test Manager (writeback.enabled = false); remove the webhook from Jira or turn write-back on",
        ));
    };
    let body = read_limited(payload, state.body_limit, "Jira webhook bodies").await?;
    let delivery = UnverifiedDelivery {
        body: body.freeze(),
        signature: header(&request, "X-Hub-Signature"),
        path_secret: request.match_info().get("secret").map(str::to_owned),
        identifier: header(&request, "X-Atlassian-Webhook-Identifier"),
        retry: header(&request, "X-Atlassian-Webhook-Retry").and_then(|v| v.parse().ok()),
    };
    let receipt = intake.receive(delivery).await.map_err(problem)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": receipt.as_str() })))
}

fn header(request: &HttpRequest, name: &str) -> Option<String> {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn problem(error: IntakeError) -> Problem {
    match error {
        IntakeError::Delivery(DeliveryError::NotConfigured) => {
            tracing::warn!(
                "a Jira webhook arrived, but no write-back webhook secret is configured"
            );
            Problem::new(
                StatusCode::NOT_FOUND,
                "writeback-webhook-not-configured",
                "Jira webhooks are not configured",
                error.to_string(),
            )
        }
        IntakeError::Delivery(e) if e.is_unauthenticated() => {
            tracing::warn!(error = %e, "refused a Jira webhook delivery");
            Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Unauthorized",
                format!("{e}; the secret set on the webhook in Jira must equal writeback.webhook_secret (or the previous one while rotating)"),
            )
        }
        IntakeError::Delivery(e) => Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-jira-webhook",
            "Not a Jira issue event",
            e.to_string(),
        ),
        IntakeError::Ledger(e) => {
            tracing::warn!(error = %e, "cannot take in a Jira webhook delivery now");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ledger-unavailable",
                "Ledger unavailable",
                "the bridge cannot record the delivery now; Jira delivers it again",
            )
            .retry_after(Duration::from_secs(5))
        }
    }
}
