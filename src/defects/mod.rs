//! The Create Defect use case: one failed Test Manager result → one Jira issue.
//!
//! Owns the order of work and the exactly-once rules: look in the ledger,
//! fetch the failure, render the issue, claim the result in the ledger, adopt
//! an issue an earlier attempt may have created (by its label, tolerating
//! search lag), apply the mapping's repeat-failure policy, or create; then
//! record, link back and answer. Knows the ports (`ledger`, `testmanager`,
//! `tracker`, `mapping`), never HTTP.

pub mod assemble;
pub mod crash_window;
pub mod error;
pub mod inflight;
mod job;
mod record;
mod repeat;

use crate::config::DefectSettings;
use crate::evidence::enqueue::Enqueuer;
use crate::ledger::{
    ClaimOutcome, EvidenceQueue, IssueRecord, Ledger, LedgerEntry, WritebackLedger,
};
use crate::mapping::{ProjectMapping, ProjectsHandle};
use crate::result_key::ResultKey;
use crate::testmanager::webhook::CreateDefectRequest;
use crate::testmanager::TestManager;
use crate::tracker::{DefectTracker, IssueRef, TrackerError};
pub use crash_window::CrashWindow;
pub use error::DefectError;
use inflight::KeyLocks;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How the answer's issue came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// This request created it.
    Created,
    /// The ledger already held it.
    Existing,
    /// An earlier, unconfirmed attempt had created it; found by its label.
    Adopted,
    /// The test case's open issue got a comment with this failure.
    Commented,
    /// The test case's done issue was reopened and got a comment.
    Reopened,
}

/// The issue that holds the failure, and how it came about.
#[derive(Debug, Clone)]
pub struct DefectOutcome {
    /// The issue.
    pub issue: IssueRecord,
    /// How it came about.
    pub outcome: Outcome,
}

/// What a Create Defect would send to Jira; answered by the HTTP preview and
/// printed by the `preview` command.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DefectPreview {
    /// The mapping file used (its path as loaded).
    pub mapping: String,
    /// `POST` target of the create.
    pub url: String,
    /// The exact JSON body of the create.
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
    /// The rendered description, before conversion to ADF or wiki markup.
    pub description_markdown: String,
    /// The label that marks the result.
    pub label: String,
}

/// The Jira request the failure `key` would become under `mapping` — target,
/// exact body, rendered Markdown, result label — claiming and creating nothing.
/// Shared by the HTTP preview and the `preview` command.
pub async fn preview_for(
    mapping: &ProjectMapping,
    testmanager: &dyn TestManager,
    tracker: &dyn DefectTracker,
    key: &ResultKey,
    link: Option<&str>,
) -> Result<DefectPreview, DefectError> {
    let details = testmanager.fetch_failure(mapping.project_id, key).await?;
    let (failure, draft) = assemble::draft(mapping, key, &details, link)?;
    let (url, body) = tracker.preview_create(&draft).await?;
    Ok(DefectPreview {
        mapping: mapping.source.display().to_string(),
        url,
        body,
        description_markdown: draft.description_markdown,
        label: failure.label,
    })
}

/// How often a request waiting for another one's claim looks again.
const CLAIM_POLL: Duration = Duration::from_millis(150);
/// How often the label search is repeated while Jira's search may lag.
const SEARCH_POLL: Duration = Duration::from_millis(500);
/// `Retry-After` for a request that gave up waiting for another one.
const BUSY_RETRY_AFTER: Duration = Duration::from_secs(5);

/// The Create Defect use case with its ports.
pub struct CreateDefect {
    ledger: Arc<dyn Ledger>,
    evidence: Arc<dyn EvidenceQueue>,
    testmanager: Arc<dyn TestManager>,
    tracker: Arc<dyn DefectTracker>,
    projects: ProjectsHandle,
    settings: DefectSettings,
    crash_window: CrashWindow,
    instance: String,
    locks: KeyLocks,
    evidence_signal: Option<Arc<crate::worker_signal::Signal>>,
    defect_ids: Option<Arc<dyn WritebackLedger>>,
}

impl CreateDefect {
    /// Wires the use case: results go to `ledger`, the failures' evidence to `evidence`.
    /// `crash_window` says when the tracker's "not found" may be believed after an
    /// earlier attempt (see [`CrashWindow::believe_not_found_after`]).
    pub fn new(
        ledger: Arc<dyn Ledger>,
        evidence: Arc<dyn EvidenceQueue>,
        testmanager: Arc<dyn TestManager>,
        tracker: Arc<dyn DefectTracker>,
        projects: ProjectsHandle,
        settings: DefectSettings,
        crash_window: CrashWindow,
    ) -> Self {
        Self {
            ledger,
            evidence,
            testmanager,
            tracker,
            projects,
            settings,
            crash_window,
            instance: format!("{}-{}", hostname(), uuid::Uuid::new_v4().simple()),
            locks: KeyLocks::default(),
            evidence_signal: None,
            defect_ids: None,
        }
    }

    /// Keeps the Test Manager defect id of each failure's log in `ledger`, for write-back.
    pub fn with_defect_ids(mut self, ledger: Arc<dyn WritebackLedger>) -> Self {
        self.defect_ids = Some(ledger);
        self
    }

    /// Wakes the evidence worker through `signal` whenever evidence was queued.
    pub fn with_evidence_signal(mut self, signal: Arc<crate::worker_signal::Signal>) -> Self {
        self.evidence_signal = Some(signal);
        self
    }

    /// What queues a failure's evidence (now, or as a backfill) and wakes the evidence worker.
    fn evidence_queue(&self) -> Enqueuer {
        Enqueuer::new(
            self.evidence.clone(),
            self.testmanager.clone(),
            self.evidence_signal.clone(),
        )
    }

    /// The mapping served at `route`.
    fn mapping_for(&self, route: &str) -> Result<Arc<ProjectMapping>, DefectError> {
        self.projects
            .current()
            .by_route(route)
            .cloned()
            .ok_or_else(|| DefectError::UnknownProject {
                route: route.to_owned(),
            })
    }

    /// Runs Create Defect for the project served at `route`.
    pub async fn run(
        &self,
        route: &str,
        request: CreateDefectRequest,
    ) -> Result<DefectOutcome, DefectError> {
        let mapping = self.mapping_for(route)?;
        let key = request.key.clone();
        let deadline = Instant::now() + self.settings.wait_for_winner();
        // Identical requests in this process queue here; across processes the ledger claim decides.
        let _turn = tokio::time::timeout_at(deadline, self.locks.lock(&key.canonical()))
            .await
            .map_err(|_| busy())?;
        let link = request
            .link_to_test_case_log
            .as_ref()
            .map(|u| u.to_string());

        if let Some(entry) = self.ledger.get(&key).await? {
            if let Some(outcome) = self.existing(&mapping, &entry, link.as_deref()).await? {
                return Ok(outcome);
            }
        }

        // Jira's field list (cached) does not depend on the failure: fetch both at once.
        let warm_up = async {
            if !mapping.custom_field_names.is_empty() {
                self.tracker.warm_up().await;
            }
        };
        let (details, ()) = tokio::join!(
            self.testmanager.fetch_failure(mapping.project_id, &key),
            warm_up
        );
        let details = details?;
        let (failure, draft) = assemble::draft(&mapping, &key, &details, link.as_deref())?;
        let link = failure.link.clone();
        let job = job::Job {
            key: &key,
            owner: format!("{}/{}", self.instance, uuid::Uuid::new_v4().simple()),
            link: link.as_deref(),
            evidence: crate::evidence::plan(&mapping, &details),
            defect_id: details.defect_id(),
        };

        let previous = loop {
            let now = chrono::Utc::now();
            match self
                .ledger
                .claim(
                    &key,
                    &mapping.route,
                    &job.owner,
                    now,
                    self.settings.claim_stale_after(),
                )
                .await?
            {
                ClaimOutcome::Claimed { previous } => break previous,
                ClaimOutcome::Done(entry) => {
                    if let Some(outcome) = self.existing(&mapping, &entry, link.as_deref()).await? {
                        return Ok(outcome);
                    }
                }
                ClaimOutcome::Busy(_) => {}
            }
            if Instant::now() + CLAIM_POLL > deadline {
                return Err(busy());
            }
            tokio::time::sleep(CLAIM_POLL).await;
        };

        if let Some(previous) = previous {
            match self.find_earlier(&failure.label, &previous).await {
                Ok(Some(found)) => {
                    tracing::info!(issue = %found.key, result = %key, "adopting the issue an earlier attempt created");
                    return self.finish(&job, found, Outcome::Adopted).await;
                }
                Ok(None) => {}
                Err(e) => {
                    self.ledger
                        .mark_uncertain(&key, &job.owner, &e.to_string(), chrono::Utc::now())
                        .await?;
                    return Err(e.into());
                }
            }
        }

        if let Some(outcome) = self
            .apply_repeat_policy(&mapping, &job, &failure, &draft)
            .await?
        {
            return Ok(outcome);
        }

        match self.tracker.create_issue(&draft).await {
            Ok(created) => {
                tracing::info!(issue = %created.key, result = %key, route = %mapping.route, "created Jira issue");
                self.finish(&job, created, Outcome::Created).await
            }
            Err(TrackerError::Ambiguous { detail, .. }) => {
                tracing::warn!(result = %key, %detail, "Jira did not confirm the create; the next request looks for the issue by label");
                self.ledger
                    .mark_uncertain(&key, &job.owner, &detail, chrono::Utc::now())
                    .await?;
                Err(DefectError::Unconfirmed { detail })
            }
            Err(e) => {
                self.ledger.release(&key, &job.owner).await?;
                Err(e.into())
            }
        }
    }

    /// The Jira request `request` would become — target, exact body, rendered
    /// Markdown, result label — without claiming or creating anything.
    pub async fn preview(
        &self,
        route: &str,
        request: CreateDefectRequest,
    ) -> Result<DefectPreview, DefectError> {
        let mapping = self.mapping_for(route)?;
        let link = request
            .link_to_test_case_log
            .as_ref()
            .map(|u| u.to_string());
        preview_for(
            &mapping,
            self.testmanager.as_ref(),
            self.tracker.as_ref(),
            &request.key,
            link.as_deref(),
        )
        .await
    }

    /// Looks for the issue an earlier attempt at this result may have created.
    ///
    /// Jira Cloud's search can miss an issue for a while after it was created,
    /// and a crashed attempt's create may have reached Jira long after its
    /// claim, so "not found" is not believed until the [`CrashWindow`] says so:
    /// the search is repeated until then.
    async fn find_earlier(
        &self,
        label: &str,
        previous: &LedgerEntry,
    ) -> Result<Option<IssueRef>, TrackerError> {
        let believe_after = self.crash_window.believe_not_found_after(previous);
        loop {
            if let Some(found) = self.tracker.find_by_label(label).await? {
                return Ok(Some(found));
            }
            let remaining = (believe_after - chrono::Utc::now())
                .to_std()
                .unwrap_or_default();
            if remaining.is_zero() {
                return Ok(None);
            }
            tokio::time::sleep(remaining.min(SEARCH_POLL)).await;
        }
    }

    /// Answers from a ledger entry that already names an issue (retrying the
    /// link back if it is missing, and queueing evidence the issue never got);
    /// `None` when the entry holds no issue.
    async fn existing(
        &self,
        mapping: &Arc<ProjectMapping>,
        entry: &LedgerEntry,
        link: Option<&str>,
    ) -> Result<Option<DefectOutcome>, DefectError> {
        let Some(issue) = entry.issue.clone() else {
            return Ok(None);
        };
        let link_back = async {
            if !entry.remote_link_done {
                if let Some(url) = link {
                    self.link_back(&entry.key, &issue.issue_key, url).await;
                }
            }
        };
        self.evidence_queue()
            .backfill(mapping.clone(), entry.key.clone(), issue.issue_key.clone());
        let (fresh, ()) = tokio::join!(self.tracker.issue(&issue.issue_key), link_back);
        let issue = match fresh {
            Ok(fresh) => job::refreshed(issue, fresh),
            Err(e) => {
                tracing::debug!(issue = %issue.issue_key, error = %e, "could not refresh the issue's status; answering from the ledger");
                issue
            }
        };
        Ok(Some(DefectOutcome {
            issue,
            outcome: Outcome::Existing,
        }))
    }
}

fn busy() -> DefectError {
    DefectError::Busy {
        retry_after: BUSY_RETRY_AFTER,
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "bridge".into())
}
