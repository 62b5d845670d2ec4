//! The dependencies' last probes: what the background prober saw of the
//! ledger, Jira and Test Manager, read by `/readyz`, `/metrics`
//! (`bridge_dependency_ready`) and the operator's page — all through
//! [`Readiness::report`], so they cannot disagree.

use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// A dependency the bridge cannot serve without.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependency {
    /// The ledger (SQLite or PostgreSQL).
    Ledger,
    /// Jira.
    Jira,
    /// Test Manager.
    TestManager,
}

impl Dependency {
    /// Every dependency, in the order reports list them.
    pub const ALL: [Dependency; 3] = [Self::Ledger, Self::Jira, Self::TestManager];

    /// Its name in reports, metrics labels and the page: `ledger`, `jira`, `testmanager`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ledger => "ledger",
            Self::Jira => "jira",
            Self::TestManager => "testmanager",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

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
    probes: [Mutex<ProbeState>; 3],
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
    /// Status of ledger, Jira and Test Manager, each ready when it answered well
    /// within `bound` — so one whose probe hangs turns not ready once `bound` passes.
    pub fn report(&self, bound: Duration) -> [(&'static str, DependencyStatus); 3] {
        Dependency::ALL.map(|dependency| {
            let state = self.probes[dependency.index()]
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            let ago = state.ok_at.map(|at| at.elapsed());
            let status = DependencyStatus {
                ready: ago.is_some_and(|a| a <= bound),
                last_ok_secs_ago: ago.map(|a| a.as_secs()),
                last_error: state.last_error,
            };
            (dependency.name(), status)
        })
    }

    /// Records one probe of `dependency` (`Err` holds why it failed).
    pub fn record(&self, dependency: Dependency, result: Result<(), String>) {
        let mut state = self.probes[dependency.index()]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
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

        readiness.record(Dependency::Ledger, Ok(()));
        readiness.record(Dependency::Jira, Err("Jira refused".into()));
        readiness.record(Dependency::TestManager, Ok(()));
        readiness.record(Dependency::Ledger, Err("disk full".into()));
        readiness.record(Dependency::Jira, Err("still refused".into()));
        let [(name, ledger), (_, jira), (_, tm)] = readiness.report(Duration::from_secs(60));
        assert_eq!(name, "ledger");
        assert!(ledger.ready, "answered well within the bound");
        assert_eq!(ledger.last_error.as_deref(), Some("disk full"));
        assert_eq!((jira.ready, jira.last_ok_secs_ago), (false, None));
        assert_eq!(jira.last_error.as_deref(), Some("still refused"));
        assert_eq!((tm.ready, tm.last_error), (true, None));
    }

    #[test]
    fn a_dependency_that_stops_answering_turns_not_ready_once_the_bound_passed() {
        let readiness = Readiness::default();
        readiness.record(Dependency::Jira, Ok(()));
        assert!(readiness.report(Duration::from_secs(60))[1].1.ready);
        // No probe answers for longer than the bound (a hung call records nothing);
        // the monotonic clock makes "longer" certain, whatever the machine's speed.
        let bound = Duration::from_millis(1);
        std::thread::sleep(bound * 2);
        let [(_, ledger), (name, jira), _] = readiness.report(bound);
        assert_eq!((name, jira.ready), ("jira", false));
        assert_eq!(jira.last_ok_secs_ago, Some(0));
        assert_eq!(jira.last_error, None, "nothing failed: it never answered");
        assert!(!ledger.ready);
    }
}
