//! `/metrics`: Prometheus text format.
//!
//! Gauges of state (ledger entries, the evidence and write-back queues,
//! dependency readiness) are set at scrape time from the same sources the rest
//! of the bridge reads, so a scrape shows what `/readyz` and the operator's
//! page would show at that moment.

use crate::ledger::{EvidenceQueue, EvidenceState, Ledger, WritebackLedger};
use crate::status::readiness::Readiness;
use actix_web::{web, HttpResponse};
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use std::time::Duration;

/// What `/metrics` needs.
pub struct MetricsState {
    /// The recorder's handle.
    pub handle: PrometheusHandle,
    /// The ledger, counted at scrape time.
    pub ledger: Arc<dyn Ledger>,
    /// The write-back queue, measured at scrape time.
    pub writeback: Arc<dyn WritebackLedger>,
    /// The evidence queue, counted at scrape time.
    pub evidence: Arc<dyn EvidenceQueue>,
    /// The readiness probes' results, reported at scrape time as `bridge_dependency_ready`.
    pub readiness: Arc<Readiness>,
    /// How recent a good probe must be to count as ready: the bound `/readyz` uses.
    pub ready_within: Duration,
}

/// The evidence states the queue gauge always reports (0 when none), so a
/// dashboard shows a flat line rather than no data.
const EVIDENCE_STATES: [EvidenceState; 5] = [
    EvidenceState::Pending,
    EvidenceState::Uploading,
    EvidenceState::Done,
    EvidenceState::Skipped,
    EvidenceState::Failed,
];

/// Renders every metric; ledger entries and evidence rows by state, the
/// write-back queue depth and each dependency's readiness are read now.
pub async fn metrics(state: web::Data<MetricsState>) -> HttpResponse {
    // Exactly /readyz's verdict: a probe that hangs reads 0 once the bound passed.
    for (dependency, status) in state.readiness.report(state.ready_within) {
        crate::metrics::dependency_ready(dependency, status.ready);
    }
    match state.ledger.count_by_state().await {
        Ok(counts) => {
            for state_name in ["claimed", "uncertain", "created"] {
                let n = counts
                    .iter()
                    .find(|(s, _)| s == state_name)
                    .map_or(0, |(_, n)| *n);
                crate::metrics::ledger_entries(state_name, n);
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not count ledger entries for /metrics"),
    }
    match state.evidence.count_by_state().await {
        Ok(counts) => {
            for evidence_state in EVIDENCE_STATES {
                let n = counts
                    .iter()
                    .find(|(s, _)| *s == evidence_state)
                    .map_or(0, |(_, n)| *n);
                crate::metrics::evidence_queue(evidence_state.as_str(), n);
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not count the evidence queue for /metrics"),
    }
    match state.writeback.depth().await {
        Ok(depth) => crate::metrics::writeback_queue(depth),
        Err(e) => tracing::warn!(error = %e, "could not measure the write-back queue for /metrics"),
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.handle.render())
}
