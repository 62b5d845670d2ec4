//! Queueing a failure's evidence for the upload worker ([`crate::evidence`]).

use crate::evidence::worker::Signal;
use crate::evidence::Plan;
use crate::ledger::Ledger;
use crate::mapping::ProjectMapping;
use crate::result_key::ResultKey;
use crate::testmanager::TestManager;
use std::sync::Arc;

/// What queueing needs; cheap to clone into a background task.
#[derive(Clone)]
pub(super) struct EvidenceQueue {
    pub ledger: Arc<dyn Ledger>,
    pub testmanager: Arc<dyn TestManager>,
    pub signal: Option<Arc<Signal>>,
}

impl EvidenceQueue {
    /// Queues `plan` for the issue and wakes the upload worker. A queue failure is logged:
    /// the issue exists and must be answered.
    pub async fn enqueue(&self, plan: &Plan, issue_key: &str) {
        if plan.is_empty() {
            return;
        }
        match self
            .ledger
            .enqueue_evidence(&plan.for_issue(issue_key), chrono::Utc::now())
            .await
        {
            Ok(_) => {
                if let Some(signal) = &self.signal {
                    signal.wake();
                }
            }
            Err(e) => {
                tracing::error!(issue = %issue_key, error = %e, "could not queue the failure's evidence")
            }
        }
    }

    /// For a result answered from the ledger: when the mapping attaches evidence but the
    /// issue has none queued (the mapping gained `[evidence]` after the issue was created,
    /// or queueing failed), fetches the failure again and queues its evidence. Runs in the
    /// background so that the answer never waits for Test Manager; problems are logged, and
    /// the next Create Defect for the result tries again.
    pub fn backfill(&self, mapping: Arc<ProjectMapping>, key: ResultKey, issue_key: String) {
        if mapping.evidence.is_none() {
            return;
        }
        let queue = self.clone();
        tokio::spawn(async move {
            match queue.ledger.evidence_for_issue(&issue_key).await {
                Ok(rows) if rows.is_empty() => {}
                Ok(_) => return,
                Err(e) => {
                    tracing::warn!(issue = %issue_key, error = %e, "could not read the issue's evidence queue");
                    return;
                }
            }
            match queue
                .testmanager
                .fetch_failure(mapping.project_id, &key)
                .await
            {
                Ok(details) => {
                    let plan = crate::evidence::plan(&mapping, &details);
                    queue.enqueue(&plan, &issue_key).await;
                }
                Err(e) => {
                    tracing::warn!(issue = %issue_key, error = %e, "could not fetch the failure to queue its evidence; the next Create Defect tries again")
                }
            }
        });
    }
}
