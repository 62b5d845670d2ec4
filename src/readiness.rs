//! Readiness: whether the ledger, Jira and Test Manager answered recently.
//!
//! A background task probes all three every interval, so `/readyz` reads a
//! few timestamps and never calls an upstream itself — a crowd of probes
//! cannot add load to Jira.

use crate::ledger::Ledger;
use crate::testmanager::TestManager;
use crate::tracker::DefectTracker;
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

    fn record(state: &Mutex<ProbeState>, result: Result<(), String>) {
        let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(()) => {
                state.ok_at = Some(Instant::now());
                state.last_error = None;
            }
            Err(e) => state.last_error = Some(e),
        }
    }

    /// Probes everything once, concurrently.
    pub async fn probe_all(
        &self,
        ledger: &dyn Ledger,
        jira: &dyn DefectTracker,
        testmanager: &dyn TestManager,
    ) {
        let (l, j, t) = tokio::join!(ledger.ping(), jira.probe(), testmanager.probe());
        Self::record(&self.ledger, l.map_err(|e| e.to_string()));
        Self::record(&self.jira, j.map_err(|e| e.to_string()));
        Self::record(&self.testmanager, t.map_err(|e| e.to_string()));
    }
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
            readiness
                .probe_all(ledger.as_ref(), jira.as_ref(), testmanager.as_ref())
                .await;
        }
    })
}
