//! Prometheus metrics: names, labels and the recorder.
//!
//! Counters and histograms are recorded through the `metrics` facade from
//! wherever the event happens (HTTP edge, use cases, adapters); `/metrics`
//! renders them in Prometheus text format. One recorder per process: several
//! `Application`s in one process (tests) share it.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

/// Requests answered, by route pattern, method and status.
pub const HTTP_REQUESTS: &str = "bridge_http_requests_total";
/// Request latency in seconds, by route pattern.
pub const HTTP_DURATION: &str = "bridge_http_request_duration_seconds";
/// Create Defect outcomes: created, existing, adopted, commented, reopened, failed (with reason).
pub const CREATE_DEFECT: &str = "bridge_create_defect_total";
/// Calls to Jira and Test Manager, by system, endpoint and status.
pub const UPSTREAM_CALLS: &str = "bridge_upstream_calls_total";
/// Upstream call latency in seconds, by system and endpoint.
pub const UPSTREAM_DURATION: &str = "bridge_upstream_call_duration_seconds";
/// Retries of upstream calls, by system and reason.
pub const UPSTREAM_RETRIES: &str = "bridge_upstream_retries_total";
/// Seconds spent waiting because an upstream rate limited, by system.
pub const RATE_LIMIT_WAIT: &str = "bridge_rate_limit_wait_seconds_total";
/// KPI answers by cache result: hit, miss, stale, not_configured.
pub const KPI_REQUESTS: &str = "bridge_kpi_requests_total";
/// Evidence rows processed, by kind and outcome (done, skipped, failed, retried).
pub const EVIDENCE: &str = "bridge_evidence_total";
/// Ledger entries by state, read from the ledger at scrape time.
pub const LEDGER_ENTRIES: &str = "bridge_ledger_entries";
/// Evidence rows in the ledger by state (pending, uploading, done, skipped, failed).
pub const EVIDENCE_QUEUE: &str = "bridge_evidence_queue";
/// Whether a dependency (ledger, jira, testmanager) answered its readiness probe within
/// the readiness bound, as `/readyz` says: 1 or 0 (set at scrape time).
pub const DEPENDENCY_READY: &str = "bridge_dependency_ready";
/// Write-back results per defect, by outcome.
pub const WRITEBACK_WRITES: &str = "bridge_writeback_writes_total";
/// Seconds from Jira's `updated` to the Test Manager write.
pub const WRITEBACK_LAG: &str = "bridge_writeback_lag_seconds";
/// Issues waiting in the write-back queue (read at scrape time).
pub const WRITEBACK_QUEUE: &str = "bridge_writeback_queue_depth";
/// Reconcile polls and sweeps, by kind and outcome.
pub const WRITEBACK_PASSES: &str = "bridge_writeback_reconcile_runs_total";
/// Jira search pages read by reconcile polls and sweeps.
pub const WRITEBACK_PAGES: &str = "bridge_writeback_reconcile_pages_total";
/// Jira webhook deliveries, by outcome.
pub const WRITEBACK_DELIVERIES: &str = "bridge_writeback_deliveries_total";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (once) and returns its handle.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let buckets = [
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ];
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)
                .and_then(|b| {
                    // Poller-driven writes take up to an interval or two: buckets up to an hour.
                    b.set_buckets_for_metric(
                        Matcher::Full(WRITEBACK_LAG.into()),
                        &[
                            0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0,
                        ],
                    )
                })
                .map(|b| b.build_recorder())
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
            let handle = recorder.handle();
            // Another recorder may already be installed (an embedding program); ours then stays local.
            let _ = metrics::set_global_recorder(recorder);
            describe();
            handle
        })
        .clone()
}

fn describe() {
    metrics::describe_counter!(
        HTTP_REQUESTS,
        "Requests answered, by route pattern, method and status."
    );
    metrics::describe_histogram!(
        HTTP_DURATION,
        metrics::Unit::Seconds,
        "Request latency by route pattern."
    );
    metrics::describe_counter!(CREATE_DEFECT, "Create Defect outcomes.");
    metrics::describe_counter!(
        UPSTREAM_CALLS,
        "Calls to Jira and Test Manager by system, endpoint and status."
    );
    metrics::describe_histogram!(
        UPSTREAM_DURATION,
        metrics::Unit::Seconds,
        "Upstream call latency."
    );
    metrics::describe_counter!(UPSTREAM_RETRIES, "Retries of upstream calls.");
    metrics::describe_counter!(
        RATE_LIMIT_WAIT,
        metrics::Unit::Seconds,
        "Time waited for upstream rate limits."
    );
    metrics::describe_counter!(KPI_REQUESTS, "KPI answers by cache result.");
    metrics::describe_counter!(
        EVIDENCE,
        "Evidence files and steps processed, by kind and outcome."
    );
    metrics::describe_gauge!(LEDGER_ENTRIES, "Ledger entries by state.");
    metrics::describe_gauge!(
        EVIDENCE_QUEUE,
        "Evidence rows in the ledger by state (pending, uploading, done, skipped, failed)."
    );
    metrics::describe_gauge!(
        DEPENDENCY_READY,
        "1 when the dependency answered its readiness probe within the bound (as /readyz), else 0."
    );
    metrics::describe_counter!(
        WRITEBACK_WRITES,
        "Write-back results per Test Manager defect, by outcome."
    );
    metrics::describe_histogram!(
        WRITEBACK_LAG,
        metrics::Unit::Seconds,
        "Time from Jira's updated to the Test Manager defect write."
    );
    metrics::describe_gauge!(WRITEBACK_QUEUE, "Issues waiting to be written back.");
    metrics::describe_counter!(
        WRITEBACK_PASSES,
        "Write-back reconcile polls and sweeps, by kind and outcome."
    );
    metrics::describe_counter!(
        WRITEBACK_PAGES,
        "Jira search pages read by write-back polls and sweeps."
    );
    metrics::describe_counter!(WRITEBACK_DELIVERIES, "Jira webhook deliveries, by outcome.");
}

/// Records one answered request.
pub fn http_request(
    route: &'static str,
    method: &'static str,
    status: &'static str,
    elapsed: Duration,
) {
    metrics::counter!(HTTP_REQUESTS, "route" => route, "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!(HTTP_DURATION, "route" => route).record(elapsed.as_secs_f64());
}

/// Records a Create Defect outcome; `reason` is set for failures.
pub fn create_defect(outcome: &'static str, reason: Option<&str>) {
    metrics::counter!(CREATE_DEFECT, "outcome" => outcome, "reason" => reason.unwrap_or("").to_owned()).increment(1);
}

/// Records one upstream call attempt.
pub fn upstream_call(
    system: &'static str,
    endpoint: &'static str,
    status: &str,
    elapsed: Duration,
) {
    metrics::counter!(UPSTREAM_CALLS, "system" => system, "endpoint" => endpoint, "status" => status.to_owned()).increment(1);
    metrics::histogram!(UPSTREAM_DURATION, "system" => system, "endpoint" => endpoint)
        .record(elapsed.as_secs_f64());
}

/// Records a retry of an upstream call, and the wait before it when rate limited.
pub fn upstream_retry(system: &'static str, reason: &'static str, wait: Duration) {
    metrics::counter!(UPSTREAM_RETRIES, "system" => system, "reason" => reason).increment(1);
    if reason == "rate_limited" {
        metrics::counter!(RATE_LIMIT_WAIT, "system" => system).increment(wait.as_secs());
    }
}

/// Records how a KPI request was answered.
pub fn kpi_request(result: &'static str) {
    metrics::counter!(KPI_REQUESTS, "result" => result).increment(1);
}

/// Sets the ledger gauge for `state`.
pub fn ledger_entries(state: &str, count: u64) {
    metrics::gauge!(LEDGER_ENTRIES, "state" => state.to_owned()).set(count as f64);
}

/// Sets the number of evidence rows in `state`.
pub fn evidence_queue(state: &str, count: u64) {
    metrics::gauge!(EVIDENCE_QUEUE, "state" => state.to_owned()).set(count as f64);
}

/// Sets the readiness gauge of `dependency` (`ledger`, `jira`, `testmanager`): ready within the bound or not.
pub fn dependency_ready(dependency: &'static str, ready: bool) {
    metrics::gauge!(DEPENDENCY_READY, "dependency" => dependency).set(f64::from(u8::from(ready)));
}

/// Counts one write-back result (`written`, `unchanged`, `older`, `no_defect`, …).
pub fn writeback_write(outcome: &'static str) {
    metrics::counter!(WRITEBACK_WRITES, "outcome" => outcome).increment(1);
}

/// Records the time from Jira's `updated` to the Test Manager write (negative skew counts as 0).
pub fn writeback_lag(lag: chrono::Duration) {
    let seconds = lag.num_milliseconds().max(0) as f64 / 1000.0;
    metrics::histogram!(WRITEBACK_LAG).record(seconds);
}

/// Sets the write-back queue depth gauge.
pub fn writeback_queue(depth: u64) {
    metrics::gauge!(WRITEBACK_QUEUE).set(depth as f64);
}

/// Counts one reconcile poll or sweep and the search pages it read.
pub fn writeback_pass(kind: &'static str, outcome: &'static str, pages: u32) {
    metrics::counter!(WRITEBACK_PASSES, "kind" => kind, "outcome" => outcome).increment(1);
    metrics::counter!(WRITEBACK_PAGES, "kind" => kind).increment(u64::from(pages));
}

/// Counts one Jira webhook delivery by outcome (`queued`, `duplicate`, `ignored`, `unauthenticated`).
pub fn writeback_delivery(outcome: &'static str) {
    metrics::counter!(WRITEBACK_DELIVERIES, "outcome" => outcome).increment(1);
}
