//! The status use case: what the bridge has done and where it stands, for the
//! operator's page.
//!
//! Owns the view model ([`view::StatusView`]) and gathers it from the ports —
//! the ledger's results and evidence queue, the mappings in force, the KPI
//! cache — and from what the running process observed of itself, which this
//! module also keeps:
//! - [`readiness`]: the dependencies' last probes (also behind `/readyz`);
//! - [`checks`]: the last servable check of each mapping file (start-up, reloads);
//! - [`journal`]: the last Create Defect answers, problems included, and the
//!   webhook calls refused before any use case saw them.
//!
//! It never calls Jira or Test Manager: opening the page adds no load upstream.
//! A store that cannot be read leaves its part of the view empty and says why
//! in [`view::StatusView::unavailable`], so the page still shows the rest.

pub mod checks;
pub mod journal;
pub mod readiness;
pub mod view;

use crate::kpis::DefectKpis;
use crate::ledger::{EntryState, EvidenceQueue, EvidenceRow, Ledger, LedgerEntry};
use crate::mapping::ProjectsHandle;
use checks::CheckLog;
use journal::{Journal, ResultRef};
use readiness::Readiness;
use std::sync::Arc;
use std::time::Duration;
use view::{
    DependencyRow, EvidenceQueueView, Failures, IssueView, KpiCacheView, MappingRow, RefusedFile,
    ResultRow, Results, StateCount, StatusView,
};

/// How many of the ledger's results the view lists.
pub const RECENT_RESULTS: u32 = 50;
/// How many outstanding evidence rows the view lists.
pub const OUTSTANDING_EVIDENCE: u32 = 50;

/// Where the view comes from.
pub struct BridgeStatus {
    /// Which result maps to which issue.
    pub ledger: Arc<dyn Ledger>,
    /// The evidence queue.
    pub evidence: Arc<dyn EvidenceQueue>,
    /// The mappings in force.
    pub projects: ProjectsHandle,
    /// The KPI use case, for its cache's state.
    pub kpis: Arc<DefectKpis>,
    /// The readiness probes' results.
    pub readiness: Arc<Readiness>,
    /// How recent a good probe must be to count as ready (as for `/readyz`).
    pub ready_within: Duration,
    /// The mapping checks.
    pub checks: Arc<CheckLog>,
    /// The Create Defect answers.
    pub journal: Arc<Journal>,
}

impl BridgeStatus {
    /// Gathers the view now.
    pub async fn gather(&self) -> StatusView {
        let mut unavailable = Vec::new();
        let (recent, result_counts, evidence_counts, outstanding) = tokio::join!(
            self.ledger.recent(RECENT_RESULTS),
            self.ledger.count_by_state(),
            self.evidence.count_by_state(),
            self.evidence.outstanding(OUTSTANDING_EVIDENCE),
        );
        let mut read = |what: &str, error: crate::ledger::LedgerError| {
            unavailable.push(format!("{what}: {error}"));
        };
        let recent: Vec<ResultRow> = recent
            .map_err(|e| read("the ledger's recent results", e))
            .unwrap_or_default()
            .into_iter()
            .map(result_row)
            .collect();
        let result_counts = result_counts
            .map_err(|e| read("the ledger's counts", e))
            .unwrap_or_default()
            .into_iter()
            .map(|(state, count)| StateCount { state, count })
            .collect();
        let evidence_counts = evidence_counts
            .map_err(|e| read("the evidence queue's counts", e))
            .unwrap_or_default()
            .into_iter()
            .map(|(state, count)| StateCount {
                state: state.as_str().to_owned(),
                count,
            })
            .collect();
        let outstanding = outstanding
            .map_err(|e| read("the evidence queue", e))
            .unwrap_or_default()
            .into_iter()
            .map(evidence_row)
            .collect();

        let answers = self.journal.entries();
        let failures = Failures {
            answers: self.journal.problems(),
            unconfirmed: recent
                .iter()
                .filter(|row| row.state == EntryState::Uncertain.as_str())
                .cloned()
                .collect(),
        };
        let dependencies: Vec<DependencyRow> = self
            .readiness
            .report(self.ready_within)
            .into_iter()
            .map(|(name, status)| DependencyRow {
                name: name.to_owned(),
                ready: status.ready,
                last_ok_secs_ago: status.last_ok_secs_ago,
                last_error: status.last_error,
            })
            .collect();
        let (mappings, refused_files) = self.mappings();
        StatusView {
            generated_at: chrono::Utc::now(),
            ready: dependencies.iter().all(|d| d.ready),
            dependencies,
            last_check: self.checks.last_run(),
            mappings,
            refused_files,
            failures,
            answers,
            results: Results {
                counts: result_counts,
                recent,
            },
            evidence: EvidenceQueueView {
                counts: evidence_counts,
                outstanding,
            },
            unavailable,
        }
    }

    /// The mappings in force with their cache and check, and the checked files not in force.
    fn mappings(&self) -> (Vec<MappingRow>, Vec<RefusedFile>) {
        let mut checks = self.checks.files();
        let rows = self
            .projects
            .current()
            .all()
            .iter()
            .map(|mapping| {
                let file = mapping.source.display().to_string();
                let cache = self.kpis.cache_state(mapping.project_id);
                MappingRow {
                    route: mapping.route.clone(),
                    check: checks.remove(&file),
                    file,
                    name: mapping.name.clone(),
                    test_manager_project: mapping.project_id,
                    prefix: mapping.prefix.clone(),
                    jira_project: mapping.jira_project.clone(),
                    issue_type: mapping.issue_type.clone(),
                    kpi_cache: KpiCacheView {
                        age_secs: cache.loaded_ago.map(|age| age.as_secs()),
                        fresh: cache.fresh,
                        backing_off: cache.backing_off,
                    },
                }
            })
            .collect();
        let refused = checks
            .into_iter()
            .map(|(file, check)| RefusedFile { file, check })
            .collect();
        (rows, refused)
    }
}

fn result_row(entry: LedgerEntry) -> ResultRow {
    ResultRow {
        updated_at: entry.updated_at,
        route: entry.project,
        result: ResultRef::from(&entry.key),
        state: entry.state.as_str().to_owned(),
        attempts: entry.attempts,
        issue: entry.issue.map(|issue| IssueView {
            key: issue.issue_key,
            browse_url: issue.browse_url,
            summary: issue.summary,
            status: issue.status,
        }),
        linked_back: entry.remote_link_done,
        last_error: entry.last_error,
    }
}

fn evidence_row(row: EvidenceRow) -> view::EvidenceRowView {
    view::EvidenceRowView {
        queued_at: row.created_at,
        issue_key: row.item.issue_key,
        route: row.item.route,
        kind: row.item.kind.as_str().to_owned(),
        file_name: row.item.file_name,
        state: row.state.as_str().to_owned(),
        attempts: row.attempts,
        last_error: row.last_error,
    }
}
