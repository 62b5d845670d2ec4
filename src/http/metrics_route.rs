//! `/metrics`: Prometheus text format.

use crate::ledger::{Ledger, WritebackLedger};
use actix_web::{web, HttpResponse};
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;

/// What `/metrics` needs.
pub struct MetricsState {
    /// The recorder's handle.
    pub handle: PrometheusHandle,
    /// The ledger, counted at scrape time.
    pub ledger: Arc<dyn Ledger>,
    /// The write-back queue, measured at scrape time.
    pub writeback: Arc<dyn WritebackLedger>,
}

/// Renders every metric; ledger entries by state and the write-back queue depth are read now.
pub async fn metrics(state: web::Data<MetricsState>) -> HttpResponse {
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
    match state.writeback.depth().await {
        Ok(depth) => crate::metrics::writeback_queue(depth),
        Err(e) => tracing::warn!(error = %e, "could not measure the write-back queue for /metrics"),
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.handle.render())
}
