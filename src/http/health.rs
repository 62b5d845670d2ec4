//! `/healthz` (the process serves) and `/readyz` (the ledger, Jira and Test
//! Manager answered the background probes recently).

use actix_web::{web, HttpResponse};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// One dependency's last probe.
#[derive(Debug, Clone, Default)]
pub struct ProbeState {
    /// When it last answered well.
    pub ok_at: Option<Instant>,
    /// Why the last probe failed, if it did.
    pub last_error: Option<String>,
}

/// The three dependencies' last probes.
#[derive(Debug, Default)]
pub struct Readiness {
    ledger: Mutex<ProbeState>,
    jira: Mutex<ProbeState>,
    testmanager: Mutex<ProbeState>,
}

/// What `/readyz` reports for one dependency.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DependencyStatus {
    /// Answered within the bound.
    pub ready: bool,
    /// Seconds since it last answered well.
    pub last_ok_secs_ago: Option<u64>,
    /// Why the last probe failed.
    pub last_error: Option<String>,
}

impl Readiness {
    /// Status of ledger, Jira and Test Manager, each ready when it answered within `bound`.
    pub fn report(&self, bound: Duration) -> [(&'static str, DependencyStatus); 3] {
        let status = |state: &Mutex<ProbeState>| {
            let state = state.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let ago = state.ok_at.map(|at| at.elapsed());
            DependencyStatus {
                ready: ago.is_some_and(|a| a <= bound),
                last_ok_secs_ago: ago.map(|a| a.as_secs()),
                last_error: state.last_error,
            }
        };
        [
            ("ledger", status(&self.ledger)),
            ("jira", status(&self.jira)),
            ("testmanager", status(&self.testmanager)),
        ]
    }

    /// Records one probe of each dependency (`Err` holds why it failed).
    pub fn record(
        &self,
        ledger: Result<(), String>,
        jira: Result<(), String>,
        testmanager: Result<(), String>,
    ) {
        Self::record_one(&self.ledger, ledger);
        Self::record_one(&self.jira, jira);
        Self::record_one(&self.testmanager, testmanager);
    }

    fn record_one(state: &Mutex<ProbeState>, result: Result<(), String>) {
        let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(()) => {
                state.ok_at = Some(Instant::now());
                state.last_error = None;
            }
            Err(e) => state.last_error = Some(e),
        }
    }
}

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
