//! Queueing a failure's evidence for the upload [`worker`](super::worker): what Create
//! Defect calls once an issue holds the failure, and again for an issue that never got its
//! evidence.

use std::sync::Arc;

use super::Plan;
use crate::ledger::EvidenceQueue;
use crate::mapping::ProjectMapping;
use crate::result_key::ResultKey;
use crate::testmanager::TestManager;
use crate::worker_signal::Signal;

/// Puts a failure's evidence in the queue and wakes the worker; cheap to clone into a
/// background task.
#[derive(Clone)]
pub struct Enqueuer {
    queue: Arc<dyn EvidenceQueue>,
    testmanager: Arc<dyn TestManager>,
    signal: Option<Arc<Signal>>,
}

impl Enqueuer {
    /// Queues into `queue`, fetching failures again from `testmanager` when backfilling,
    /// and wakes the worker through `signal` (if any) whenever something was queued.
    pub fn new(
        queue: Arc<dyn EvidenceQueue>,
        testmanager: Arc<dyn TestManager>,
        signal: Option<Arc<Signal>>,
    ) -> Self {
        Self {
            queue,
            testmanager,
            signal,
        }
    }

    /// Queues `plan` for the issue and wakes the upload worker. A queue failure is logged:
    /// the issue exists and must be answered.
    pub async fn enqueue(&self, plan: &Plan, issue_key: &str) {
        if plan.is_empty() {
            return;
        }
        match self
            .queue
            .enqueue(&plan.for_issue(issue_key), chrono::Utc::now())
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
        let enqueuer = self.clone();
        tokio::spawn(async move {
            match enqueuer.queue.for_issue(&issue_key).await {
                Ok(rows) if rows.is_empty() => {}
                Ok(_) => return,
                Err(e) => {
                    tracing::warn!(issue = %issue_key, error = %e, "could not read the issue's evidence queue");
                    return;
                }
            }
            match enqueuer
                .testmanager
                .fetch_failure(mapping.project_id, &key)
                .await
            {
                Ok(details) => {
                    let plan = super::plan(&mapping, &details);
                    enqueuer.enqueue(&plan, &issue_key).await;
                }
                Err(e) => {
                    tracing::warn!(issue = %issue_key, error = %e, "could not fetch the failure to queue its evidence; the next Create Defect tries again")
                }
            }
        });
    }
}
