//! The readiness prober: asks the ledger, Jira and Test Manager every
//! interval whether they answer, and records the outcome in the
//! [`Readiness`] state that `/readyz` reads — so `/readyz` never calls an
//! upstream itself, and a crowd of probes cannot add load to Jira. The same
//! outcome sets `bridge_dependency_ready`, which the alert rules watch.

use crate::ledger::Ledger;
use crate::metrics;
use crate::status::readiness::Readiness;
use crate::testmanager::TestManager;
use crate::tracker::DefectTracker;
use std::sync::Arc;
use std::time::Duration;

/// Probes the ledger, Jira and Test Manager once, concurrently, and records the outcomes.
pub async fn probe_all(
    readiness: &Readiness,
    ledger: &dyn Ledger,
    jira: &dyn DefectTracker,
    testmanager: &dyn TestManager,
) {
    let (l, j, t) = tokio::join!(ledger.ping(), jira.probe(), testmanager.probe());
    metrics::dependency_ready("ledger", l.is_ok());
    metrics::dependency_ready("jira", j.is_ok());
    metrics::dependency_ready("testmanager", t.is_ok());
    readiness.record(
        l.map_err(|e| e.to_string()),
        j.map_err(|e| e.to_string()),
        t.map_err(|e| e.to_string()),
    );
}

/// Probes every `interval` until the returned handle is aborted.
pub fn spawn_prober(
    readiness: Arc<Readiness>,
    ledger: Arc<dyn Ledger>,
    jira: Arc<dyn DefectTracker>,
    testmanager: Arc<dyn TestManager>,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            probe_all(
                &readiness,
                ledger.as_ref(),
                jira.as_ref(),
                testmanager.as_ref(),
            )
            .await;
        }
    })
}
