//! The readiness prober: asks the ledger, Jira and Test Manager every
//! interval whether they answer, and records each outcome in the
//! [`Readiness`] state that `/readyz`, `/metrics` and the operator's page read
//! — so none of them calls an upstream itself, and a crowd of probes cannot
//! add load to Jira.
//!
//! Each dependency is probed on its own schedule: a call that hangs holds up
//! only its own dependency's probes (which then turns not ready once the
//! readiness bound passes), never the others'.

use crate::ledger::Ledger;
use crate::status::readiness::{Dependency, Readiness};
use crate::testmanager::TestManager;
use crate::tracker::DefectTracker;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Probes every `interval`, each dependency independently, until the returned handle is aborted.
pub fn spawn_prober(
    readiness: Arc<Readiness>,
    ledger: Arc<dyn Ledger>,
    jira: Arc<dyn DefectTracker>,
    testmanager: Arc<dyn TestManager>,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let readiness = readiness.as_ref();
        tokio::join!(
            probe_every(interval, readiness, Dependency::Ledger, || async {
                ledger.ping().await.map_err(|e| e.to_string())
            }),
            probe_every(interval, readiness, Dependency::Jira, || async {
                jira.probe().await.map_err(|e| e.to_string())
            }),
            probe_every(interval, readiness, Dependency::TestManager, || async {
                testmanager.probe().await.map_err(|e| e.to_string())
            }),
        );
    })
}

/// Records `probe`'s outcome for `dependency` at start and every `interval` after, forever.
async fn probe_every<F, Fut>(
    interval: Duration,
    readiness: &Readiness,
    dependency: Dependency,
    probe: F,
) where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        readiness.record(dependency, probe().await);
    }
}
