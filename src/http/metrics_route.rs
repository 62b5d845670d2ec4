//! `/metrics`: Prometheus text format.
//!
//! Gauges of state (ledger entries, the evidence and write-back queues,
//! dependency readiness) are set at scrape time from the same sources the rest
//! of the bridge reads, so a scrape shows what `/readyz` and the operator's
//! page would show at that moment.

use crate::ledger::{EntryState, EvidenceQueue, EvidenceState, Ledger, WritebackLedger};
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

/// Renders every metric; ledger entries and evidence rows by state, the
/// write-back queue depth and each dependency's readiness are read now.
pub async fn metrics(state: web::Data<MetricsState>) -> HttpResponse {
    // Exactly /readyz's verdict: a probe that hangs reads 0 once the bound passed.
    for (dependency, status) in state.readiness.report(state.ready_within) {
        crate::metrics::dependency_ready(dependency, status.ready);
    }
    let (entries, evidence, writeback) = tokio::join!(
        state.ledger.count_by_state(),
        state.evidence.count_by_state(),
        state.writeback.depth(),
    );
    // Every state is reported, 0 when none, so a dashboard shows a flat line rather than no data.
    match entries {
        Ok(counts) => {
            for entry_state in EntryState::ALL {
                let name = entry_state.as_str();
                let n = counts
                    .iter()
                    .find(|(s, _)| s == name)
                    .map_or(0, |(_, n)| *n);
                crate::metrics::ledger_entries(name, n);
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not count ledger entries for /metrics"),
    }
    match evidence {
        Ok(counts) => {
            for evidence_state in EvidenceState::ALL {
                let n = counts
                    .iter()
                    .find(|(s, _)| s == evidence_state)
                    .map_or(0, |(_, n)| *n);
                crate::metrics::evidence_queue(evidence_state.as_str(), n);
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not count the evidence queue for /metrics"),
    }
    match writeback {
        Ok(depth) => crate::metrics::writeback_queue(depth),
        Err(e) => tracing::warn!(error = %e, "could not measure the write-back queue for /metrics"),
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.handle.render())
}
