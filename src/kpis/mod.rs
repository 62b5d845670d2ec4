//! The Defect KPIs use case: the counts behind Test Manager's "Open Defects"
//! dashboard tile, for one project, from Jira, cached.
//!
//! Owns which project a request may ask about, the counts and their status
//! (current, stale or failed, not configured), and the cache policy. It always
//! answers: Jira failing or slow gives the last good counts (or zeros) with
//! the error status, never an error, because the dashboard only shows what it
//! gets. The JQL comes from the mapping ([`queries`]); nothing from the
//! request enters it.

pub mod cache;
pub mod counts;
pub mod queries;

use crate::config::KpiSettings;
use crate::mapping::{ProjectMapping, Projects, ProjectsHandle};
use crate::tracker::{DefectTracker, TrackerError};
pub use cache::CacheState;
use cache::{KpiCache, Loaded};
pub use counts::{KpiCounts, KpiSnapshot};
use queries::KpiQueries;
use std::sync::Arc;

/// How current a report is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KpiStatus {
    /// The counts are current.
    Ok,
    /// Jira failed or was slow: the counts are the last good ones, or zeros.
    Error,
    /// No mapping of this route serves the project asked for: zeros.
    NotConfigured,
}

/// The answer for one project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KpiReport {
    /// The counts (zeros when none are known).
    pub counts: KpiCounts,
    /// How current they are.
    pub status: KpiStatus,
    /// Jira's issue search for the critical set; `None` when not configured.
    pub critical_link: Option<String>,
}

/// Longest piece of an untrusted project id written to the log.
const LOGGED_ID_CHARS: usize = 80;

/// The Defect KPIs use case.
pub struct DefectKpis {
    tracker: Arc<dyn DefectTracker>,
    projects: ProjectsHandle,
    cache: KpiCache,
    settings: KpiSettings,
}

impl DefectKpis {
    /// Forgets project `project_id`'s cached counts: its defects changed, so
    /// the next dashboard request counts them again (one query set, shared).
    pub async fn refresh(&self, project_id: uuid::Uuid) {
        self.cache.invalidate(project_id).await;
    }

    /// What the cache holds for project `project_id` (its age, for the operator's page).
    pub fn cache_state(&self, project_id: uuid::Uuid) -> CacheState {
        self.cache.state(project_id)
    }

    /// The use case over `tracker` and the mappings in `projects`, cached and
    /// bounded as `settings` say.
    pub fn new(
        tracker: Arc<dyn DefectTracker>,
        projects: ProjectsHandle,
        settings: KpiSettings,
    ) -> Self {
        Self {
            tracker,
            projects,
            cache: KpiCache::new(settings.ttl(), settings.error_backoff()),
            settings,
        }
    }

    /// The configured text of `status` (Test Manager's `ConnectorKPIStatus` value).
    pub fn status_value(&self, status: KpiStatus) -> &str {
        match status {
            KpiStatus::Ok => &self.settings.status_ok,
            KpiStatus::Error => &self.settings.status_error,
            KpiStatus::NotConfigured => &self.settings.status_not_configured,
        }
    }

    /// The counts for `project` (a Test Manager project GUID or prefix, as
    /// received) asked for under the webhook `route`.
    ///
    /// `project` must name the mapping registered under `route`; anything else
    /// is answered "not configured" without calling Jira. Never waits longer
    /// than `kpis.max_wait_ms` for Jira.
    pub async fn report(&self, route: &str, project: &str) -> KpiReport {
        let projects = self.projects.current();
        let Some(mapping) = served_mapping(&projects, route, project) else {
            let shown: String = project.chars().take(LOGGED_ID_CHARS).collect();
            tracing::warn!(route, project = %shown, "defect KPIs asked for a project this route does not serve; answering \"not configured\"");
            crate::metrics::kpi_request("not_configured");
            return KpiReport {
                counts: KpiCounts::default(),
                status: KpiStatus::NotConfigured,
                critical_link: None,
            };
        };
        if let Some(snapshot) = self.cache.fresh(mapping.project_id).await {
            crate::metrics::kpi_request("hit");
            return current(&snapshot);
        }
        let queries = KpiQueries::build(mapping);
        let critical_link = self.tracker.search_url(&queries.critical);
        let tracker = self.tracker.clone();
        let loaded = self
            .cache
            .get_or_load(
                mapping.project_id,
                self.settings.max_wait(),
                load(tracker, queries),
            )
            .await;
        let last_good = match loaded {
            Loaded::Fresh(snapshot) => {
                crate::metrics::kpi_request("miss");
                return current(&snapshot);
            }
            Loaded::Failed { error, last_good } => {
                tracing::warn!(route, project = %mapping.project_id, error = %error, stale = last_good.is_some(), "could not count defects in Jira; answering the last good counts");
                last_good
            }
            Loaded::BackingOff { last_good } => {
                tracing::debug!(route, project = %mapping.project_id, "a recent defect count failed; not asking Jira again yet");
                last_good
            }
            Loaded::Slow { last_good } => {
                tracing::warn!(route, project = %mapping.project_id, max_wait_ms = self.settings.max_wait_ms, stale = last_good.is_some(), "Jira is slow to count defects; answering the last good counts while the count goes on");
                last_good
            }
        };
        crate::metrics::kpi_request("stale");
        KpiReport {
            counts: last_good.map(|s| s.counts).unwrap_or_default(),
            status: KpiStatus::Error,
            critical_link: Some(critical_link),
        }
    }
}

/// The mapping `project` names, if it is the one registered under `route`.
fn served_mapping<'a>(
    projects: &'a Projects,
    route: &str,
    project: &str,
) -> Option<&'a Arc<ProjectMapping>> {
    let own = projects.by_route(route)?;
    let named = projects.by_id_or_prefix(project)?;
    Arc::ptr_eq(own, named).then_some(own)
}

fn current(snapshot: &KpiSnapshot) -> KpiReport {
    KpiReport {
        counts: snapshot.counts,
        status: KpiStatus::Ok,
        critical_link: Some(snapshot.critical_link.clone()),
    }
}

/// Runs the five counts concurrently; any failure fails the load (no partial counts).
async fn load(
    tracker: Arc<dyn DefectTracker>,
    queries: KpiQueries,
) -> Result<KpiSnapshot, TrackerError> {
    let mode = queries.mode;
    let (total, open, closed, critical, moderate) = futures::try_join!(
        tracker.count(&queries.total, mode),
        tracker.count(&queries.open, mode),
        tracker.count(&queries.closed, mode),
        tracker.count(&queries.critical, mode),
        tracker.count(&queries.moderate, mode),
    )?;
    Ok(KpiSnapshot {
        counts: KpiCounts {
            total,
            open,
            closed,
            critical,
            moderate,
        },
        critical_link: tracker.search_url(&queries.critical),
    })
}
