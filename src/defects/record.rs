//! Recording the issue that holds a failure, and linking it back to Test Manager.

use super::job::{refreshed, Job};
use super::{CreateDefect, DefectError, DefectOutcome, Outcome};
use crate::ledger::IssueRecord;
use crate::result_key::ResultKey;
use crate::tracker::{IssueRef, RemoteLink};

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
        self.evidence_queue()
            .enqueue(&job.evidence, &record.issue_key)
            .await;
        // From here on, repeats answer this issue.
        self.ledger
            .record_issue(job.key, &job.owner, &record, chrono::Utc::now())
            .await?;
        if let (Some(ledger), Some(defect_id)) = (&self.defect_ids, &job.defect_id) {
            // Write-back looks the id up again when it is missing: a failure here costs one GET later.
            if let Err(e) = ledger.record_defect_id(job.key, defect_id).await {
                tracing::warn!(issue = %record.issue_key, error = %e, "could not keep the Test Manager defect id");
            }
        }
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
