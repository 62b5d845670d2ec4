//! Recording the issue that holds a failure, and linking it back to Test Manager.

use super::{CreateDefect, DefectError, DefectOutcome, Outcome};
use crate::ledger::IssueRecord;
use crate::mapping::ProjectMapping;
use crate::result_key::ResultKey;
use crate::tracker::{IssueRef, RemoteLink};

/// One Create Defect in progress: the result, the ledger claim's owner, the link back.
pub(super) struct Job<'a> {
    pub key: &'a ResultKey,
    pub owner: String,
    pub link: Option<&'a str>,
    /// The failure's evidence, enqueued once the issue is recorded.
    pub evidence: crate::evidence::Plan,
}

impl CreateDefect {
    /// Records `issue` for the job's result, links back, refreshes status and answers.
    pub(super) async fn finish(
        &self,
        job: &Job<'_>,
        issue: IssueRef,
        outcome: Outcome,
    ) -> Result<DefectOutcome, DefectError> {
        let record = IssueRecord {
            issue_key: issue.key.clone(),
            issue_id: issue.id.clone(),
            browse_url: issue.browse_url.clone(),
            summary: issue.summary.clone().unwrap_or_default(),
            status: issue.status.clone(),
            priority: issue.priority.clone(),
        };
        // Evidence is queued before the issue is recorded: once recorded, repeats are answered
        // from the ledger without the failure's details, so a process dying between the two
        // steps would otherwise lose the evidence. Queueing twice is harmless (rows are unique).
        self.enqueue_evidence(job, &record.issue_key).await;
        // From here on, repeats answer this issue.
        self.ledger
            .record_issue(job.key, &job.owner, &record, chrono::Utc::now())
            .await?;
        let link_back = async {
            if let Some(url) = job.link {
                self.link_back(job.key, &record.issue_key, url).await;
            }
        };
        let (fresh, ()) = tokio::join!(self.tracker.issue(&record.issue_key), link_back);
        let record = match fresh {
            Ok(fresh) => refreshed(record, fresh),
            Err(_) => record,
        };
        Ok(DefectOutcome {
            issue: record,
            outcome,
        })
    }

    /// Queues the job's evidence for the issue and wakes the upload worker; the answer does
    /// not wait for uploads. A queue failure is logged: the issue exists and must be answered.
    async fn enqueue_evidence(&self, job: &Job<'_>, issue_key: &str) {
        self.enqueue_plan(&job.evidence, issue_key).await;
    }

    async fn enqueue_plan(&self, plan: &crate::evidence::Plan, issue_key: &str) {
        if plan.is_empty() {
            return;
        }
        match self
            .ledger
            .enqueue_evidence(&plan.for_issue(issue_key), chrono::Utc::now())
            .await
        {
            Ok(_) => {
                if let Some(signal) = &self.evidence_signal {
                    signal.wake();
                }
            }
            Err(e) => {
                tracing::error!(issue = %issue_key, error = %e, "could not queue the failure's evidence")
            }
        }
    }

    /// For a result answered from the ledger: when the mapping attaches evidence but
    /// the issue has none queued (the mapping gained `[evidence]` after the issue was
    /// created, or queueing failed), fetches the failure again and queues its evidence.
    /// Problems are logged; the answer does not depend on this.
    pub(super) async fn backfill_evidence(
        &self,
        mapping: &ProjectMapping,
        key: &ResultKey,
        issue_key: &str,
    ) {
        if mapping.evidence.is_none() {
            return;
        }
        match self.ledger.evidence_for_issue(issue_key).await {
            Ok(rows) if rows.is_empty() => {}
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(issue = %issue_key, error = %e, "could not read the issue's evidence queue");
                return;
            }
        }
        let plan = match self
            .testmanager
            .fetch_failure(mapping.project_id, key)
            .await
        {
            Ok(details) => crate::evidence::plan(mapping, &details),
            Err(e) => {
                tracing::warn!(issue = %issue_key, error = %e, "could not fetch the failure to queue its evidence; the next Create Defect tries again");
                return;
            }
        };
        self.enqueue_plan(&plan, issue_key).await;
    }

    /// Upserts the remote link (idempotent by `globalId`); a failure is logged
    /// and retried by the next request for the same result.
    pub(super) async fn link_back(&self, key: &ResultKey, issue_key: &str, url: &str) {
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
}

/// The record with Jira's current status, priority and summary where Jira gave them.
pub(super) fn refreshed(mut record: IssueRecord, fresh: IssueRef) -> IssueRecord {
    record.status = fresh.status.or(record.status);
    record.priority = fresh.priority.or(record.priority);
    if let Some(summary) = fresh.summary {
        record.summary = summary;
    }
    record
}
