//! `/healthz` (the process serves) and `/readyz` (the ledger, Jira and Test
//! Manager answered the background probes recently, as recorded in
//! [`Readiness`]).

use crate::status::readiness::Readiness;
use actix_web::{web, HttpResponse};
use std::sync::Arc;
use std::time::Duration;

/// What `/readyz` needs.
pub struct ReadyState {
    /// The background probes' results.
    pub readiness: Arc<Readiness>,
    /// How recent a good probe must be.
    pub bound: Duration,
}

/// Always 200 while the server runs.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// 200 when every dependency answered within the bound, else 503; the body
/// says which did not, and why.
pub async fn readyz(state: web::Data<ReadyState>) -> HttpResponse {
    let report = state.readiness.report(state.bound);
    let ready = report.iter().all(|(_, s)| s.ready);
    let body = serde_json::json!({
        "status": if ready { "ready" } else { "not ready" },
        "dependencies": report.iter().map(|(name, s)| (name.to_string(), serde_json::to_value(s).unwrap_or_default())).collect::<serde_json::Map<_, _>>(),
    });
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
