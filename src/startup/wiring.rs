//! The wiring every part of the service is built from: the settings, the
//! ports and the mappings in force.

use super::adapters;
use super::error::StartupError;
use super::reload::MappingFiles;
use crate::config::Settings;
use crate::defects::CrashWindow;
use crate::ledger::{self, EvidenceQueue, Ledger, WritebackLedger};
use crate::mapping::ProjectsHandle;
use crate::servable;
use crate::status::checks::CheckLog;
use crate::testmanager::TestManager;
use crate::tracker::DefectTracker;
use std::sync::Arc;
use std::time::Duration;

/// What every part of the service is built from: the settings, the ports
/// and the mappings in force.
pub struct Wiring {
    /// The whole configuration.
    pub settings: Settings,
    /// The ledger of results and issues.
    pub ledger: Arc<dyn Ledger>,
    /// The evidence waiting to be uploaded.
    pub evidence: Arc<dyn EvidenceQueue>,
    /// Write-back's state and queue.
    pub writeback: Arc<dyn WritebackLedger>,
    /// Jira.
    pub tracker: Arc<dyn DefectTracker>,
    /// Test Manager.
    pub testmanager: Arc<dyn TestManager>,
    /// The mappings in force (replaced by reloads).
    pub projects: ProjectsHandle,
    /// The last check of each mapping file (start-up's, then each reload's).
    pub checks: Arc<CheckLog>,
    /// The mapping files as they were just before the running set was read
    /// (the reload watcher's starting point).
    pub mapping_files: MappingFiles,
}

impl Wiring {
    /// How often the readiness probes run (at least every second).
    pub fn probe_interval(&self) -> Duration {
        Duration::from_secs(self.settings.server.probe_interval_secs.max(1))
    }

    /// Builds the adapters, checks that the mappings can be served and opens the ledger.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let adapters = adapters::build(&settings)?;
        let mapping_files = MappingFiles::of(&settings.mappings.dir);
        let projects = servable::load(&settings.mappings.dir, &settings.auth)
            .map_err(StartupError::Mappings)?;
        if projects.is_empty() {
            tracing::warn!(dir = %settings.mappings.dir.display(), "no mapping files found: every webhook call will answer 404");
        }
        // A create may be retried (429) within the outbound budget, each attempt up to the timeout.
        let crash_window = CrashWindow::from_settings(&settings);
        if !crash_window.takeover_is_safe() {
            return Err(StartupError::StaleBeforeTimeout {
                relation: crash_window.to_string(),
            });
        }
        let unverified = if settings.jira.verify_on_start {
            servable::verify_for_serving(adapters.tracker.as_ref(), &projects)
                .await
                .map_err(StartupError::Mappings)?
        } else {
            Vec::new()
        };
        let checks = Arc::new(CheckLog::default());
        checks.served(
            "start-up",
            projects
                .all()
                .iter()
                .map(|m| m.source.display().to_string()),
            &unverified,
            settings.jira.verify_on_start,
        );
        let stores = ledger::connect(&settings.store.url, settings.store.max_connections).await?;
        Ok(Wiring {
            ledger: stores.results,
            evidence: stores.evidence,
            writeback: stores.writeback,
            tracker: adapters.tracker,
            testmanager: adapters.testmanager,
            projects: ProjectsHandle::new(projects),
            checks,
            mapping_files,
            settings,
        })
    }
}
