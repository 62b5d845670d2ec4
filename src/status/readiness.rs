//! The dependencies' last probes: what the background prober saw of the
//! ledger, Jira and Test Manager, read by `/readyz` and the operator's page.

use std::sync::Mutex;
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

/// What is reported for one dependency.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_probe_keeps_the_last_success_and_says_why() {
        let readiness = Readiness::default();
        let [(_, ledger), _, _] = readiness.report(Duration::from_secs(60));
        assert!(!ledger.ready, "never probed is not ready");

        readiness.record(Ok(()), Err("Jira refused".into()), Ok(()));
        readiness.record(Err("disk full".into()), Err("still refused".into()), Ok(()));
        let [(name, ledger), (_, jira), (_, tm)] = readiness.report(Duration::from_secs(60));
        assert_eq!(name, "ledger");
        assert!(ledger.ready, "answered well within the bound");
        assert_eq!(ledger.last_error.as_deref(), Some("disk full"));
        assert_eq!((jira.ready, jira.last_ok_secs_ago), (false, None));
        assert_eq!(jira.last_error.as_deref(), Some("still refused"));
        assert_eq!((tm.ready, tm.last_error), (true, None));
    }
}
