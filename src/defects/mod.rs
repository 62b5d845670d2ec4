//! The Create Defect use case: one failed Test Manager result → one Jira issue.
//!
//! Owns the order of work and the exactly-once rules: look in the ledger,
//! fetch the failure, render the issue, claim the result in the ledger, create
//! (or adopt an issue an earlier attempt may have created), record, link back.
//! Knows the ports (`ledger`, `testmanager`, `tracker`, `mapping`), never HTTP.

pub mod assemble;
pub mod error;
pub mod inflight;

use crate::config::DefectSettings;
use crate::ledger::{ClaimOutcome, IssueRecord, Ledger, LedgerEntry};
use crate::mapping::{ProjectMapping, ProjectsHandle};
use crate::result_key::{ResultKey, BRIDGE_LABEL};
use crate::testmanager::webhook::CreateDefectRequest;
use crate::testmanager::TestManager;
use crate::tracker::{DefectTracker, IssueRef, RemoteLink, TrackerError};
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
}

/// The issue that holds the failure, and how it came about.
#[derive(Debug, Clone)]
pub struct DefectOutcome {
    /// The issue.
    pub issue: IssueRecord,
    /// How it came about.
    pub outcome: Outcome,
}

/// How often a request waiting for another one's claim looks again.
const CLAIM_POLL: Duration = Duration::from_millis(150);

/// The Create Defect use case with its ports.
pub struct CreateDefect {
    ledger: Arc<dyn Ledger>,
    testmanager: Arc<dyn TestManager>,
    tracker: Arc<dyn DefectTracker>,
    projects: ProjectsHandle,
    settings: DefectSettings,
    instance: String,
    locks: KeyLocks,
}

impl CreateDefect {
    /// Wires the use case. `instance` names this process in ledger claims.
    pub fn new(
        ledger: Arc<dyn Ledger>,
        testmanager: Arc<dyn TestManager>,
        tracker: Arc<dyn DefectTracker>,
        projects: ProjectsHandle,
        settings: DefectSettings,
    ) -> Self {
        Self {
            ledger,
            testmanager,
            tracker,
            projects,
            settings,
            instance: format!("{}-{}", hostname(), uuid::Uuid::new_v4().simple()),
            locks: KeyLocks::default(),
        }
    }

    /// Runs Create Defect for the project served at `route`.
    pub async fn run(
        &self,
        route: &str,
        request: CreateDefectRequest,
    ) -> Result<DefectOutcome, DefectError> {
        let mapping = self
            .projects
            .current()
            .by_route(route)
            .cloned()
            .ok_or_else(|| DefectError::UnknownProject {
                route: route.to_owned(),
            })?;
        let key = request.key.clone();
        let deadline = Instant::now() + self.settings.wait_for_winner();
        let _turn = tokio::time::timeout_at(deadline, self.locks.lock(&key.canonical()))
            .await
            .map_err(|_| self.busy())?;
        let link = request
            .link_to_test_case_log
            .as_ref()
            .map(|u| u.to_string());

        if let Some(entry) = self.ledger.get(&key).await? {
            if let Some(outcome) = self.existing(&entry, link.as_deref()).await? {
                return Ok(outcome);
            }
        }

        let details = self
            .testmanager
            .fetch_failure(mapping.project_id, &key)
            .await?;
        let failure = assemble::failure(&mapping, &key, &details, link.as_deref());
        let mut draft = mapping.render(&failure)?;
        draft
            .labels
            .retain(|l| l != &failure.label && l != BRIDGE_LABEL);
        draft.labels.insert(0, failure.label.clone());
        draft.labels.insert(1, BRIDGE_LABEL.to_owned());
        let link = failure.link.clone();

        let owner = format!("{}/{}", self.instance, uuid::Uuid::new_v4().simple());
        let previous = loop {
            let now = chrono::Utc::now();
            match self
                .ledger
                .claim(
                    &key,
                    &mapping.route,
                    &owner,
                    now,
                    self.settings.claim_stale_after(),
                )
                .await?
            {
                ClaimOutcome::Claimed { previous } => break previous,
                ClaimOutcome::Done(entry) => {
                    if let Some(outcome) = self.existing(&entry, link.as_deref()).await? {
                        return Ok(outcome);
                    }
                }
                ClaimOutcome::Busy(_) => {}
            }
            if Instant::now() + CLAIM_POLL > deadline {
                return Err(self.busy());
            }
            tokio::time::sleep(CLAIM_POLL).await;
        };

        if previous.is_some() {
            // An earlier attempt stopped after possibly creating the issue: look before creating.
            match self.tracker.find_by_label(&failure.label).await {
                Ok(Some(found)) => {
                    tracing::info!(issue = %found.key, result = %key, "adopting the issue an earlier attempt created");
                    return self
                        .finish(
                            &mapping,
                            &key,
                            &owner,
                            found,
                            Outcome::Adopted,
                            link.as_deref(),
                        )
                        .await;
                }
                Ok(None) => {}
                Err(e) => {
                    self.ledger
                        .mark_uncertain(&key, &owner, &e.to_string(), chrono::Utc::now())
                        .await?;
                    return Err(e.into());
                }
            }
        }

        match self.tracker.create_issue(&draft).await {
            Ok(created) => {
                tracing::info!(issue = %created.key, result = %key, route = %mapping.route, "created Jira issue");
                self.finish(
                    &mapping,
                    &key,
                    &owner,
                    created,
                    Outcome::Created,
                    link.as_deref(),
                )
                .await
            }
            Err(TrackerError::Ambiguous { detail, .. }) => {
                tracing::warn!(result = %key, %detail, "Jira did not confirm the create; the next request looks for the issue by label");
                self.ledger
                    .mark_uncertain(&key, &owner, &detail, chrono::Utc::now())
                    .await?;
                Err(DefectError::Unconfirmed { detail })
            }
            Err(e) => {
                self.ledger.release(&key, &owner).await?;
                Err(e.into())
            }
        }
    }

    /// Answers from a ledger entry that already names an issue (retrying the
    /// link back if it is missing); `None` when the entry holds no issue.
    async fn existing(
        &self,
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
        let (fresh, ()) = tokio::join!(self.tracker.issue(&issue.issue_key), link_back);
        let issue = match fresh {
            Ok(fresh) => refreshed(issue, fresh),
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

    async fn finish(
        &self,
        mapping: &ProjectMapping,
        key: &ResultKey,
        owner: &str,
        issue: IssueRef,
        outcome: Outcome,
        link: Option<&str>,
    ) -> Result<DefectOutcome, DefectError> {
        let record = IssueRecord {
            issue_key: issue.key.clone(),
            issue_id: issue.id.clone(),
            browse_url: issue.browse_url.clone(),
            summary: issue.summary.clone().unwrap_or_default(),
            status: issue.status.clone(),
            priority: issue.priority.clone(),
        };
        // Recorded before anything else: from here on, repeats answer this issue.
        self.ledger
            .record_issue(key, owner, &record, chrono::Utc::now())
            .await?;
        let link_back = async {
            if let Some(url) = link {
                self.link_back(key, &record.issue_key, url).await;
            }
        };
        let (fresh, ()) = tokio::join!(self.tracker.issue(&record.issue_key), link_back);
        let record = match fresh {
            Ok(fresh) => refreshed(record, fresh),
            Err(_) => record,
        };
        tracing::debug!(route = %mapping.route, issue = %record.issue_key, "answering Create Defect");
        Ok(DefectOutcome {
            issue: record,
            outcome,
        })
    }

    async fn link_back(&self, key: &ResultKey, issue_key: &str, url: &str) {
        let link = RemoteLink {
            global_id: format!("tm-defect-bridge:{}", key.canonical()),
            url: url.to_owned(),
            title: format!("Test Manager result {}", key.short_id()),
        };
        match self.tracker.upsert_remote_link(issue_key, &link).await {
            Ok(()) => {
                if let Err(e) = self.ledger.mark_linked(key).await {
                    tracing::warn!(issue = %issue_key, error = %e, "linked back, but could not record it");
                }
            }
            Err(e) => {
                tracing::warn!(issue = %issue_key, error = %e, "could not link the issue back to Test Manager; the next request for this result retries")
            }
        }
    }

    fn busy(&self) -> DefectError {
        DefectError::Busy {
            retry_after: Duration::from_secs(5),
        }
    }
}

fn refreshed(mut record: IssueRecord, fresh: IssueRef) -> IssueRecord {
    record.status = fresh.status.or(record.status);
    record.priority = fresh.priority.or(record.priority);
    if let Some(summary) = fresh.summary {
        record.summary = summary;
    }
    record
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "bridge".into())
}
