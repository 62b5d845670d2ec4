//! The repeat-failure policy: a test case that fails again, in another
//! execution, while it already has an issue.
//!
//! `new` always creates; `comment` adds the failure to the test case's issue
//! while it is open; `reopen` also reopens a done issue first. The result's
//! label is added to the issue before the comment, so a crash after the
//! comment is adopted by label instead of commenting twice.

use super::job::Job;
use super::{CreateDefect, DefectError, DefectOutcome, Outcome};
use crate::mapping::project::RepeatPolicy;
use crate::mapping::{Failure, IssueDraft, ProjectMapping};
use crate::tracker::{IssueRef, TrackerError};

impl CreateDefect {
    /// Attaches the failure to the test case's existing issue when the policy
    /// says so; `None` means a new issue must be created.
    pub(super) async fn apply_repeat_policy(
        &self,
        mapping: &ProjectMapping,
        job: &Job<'_>,
        failure: &Failure,
        draft: &IssueDraft,
    ) -> Result<Option<DefectOutcome>, DefectError> {
        if mapping.repeat == RepeatPolicy::New {
            return Ok(None);
        }
        let Some(earlier) = self
            .ledger
            .latest_issue_for_test_case(&mapping.route, job.key.test_case_id)
            .await?
        else {
            return Ok(None);
        };
        let Some(record) = earlier.issue else {
            return Ok(None);
        };
        let current = match self.tracker.issue(&record.issue_key).await {
            Ok(current) => current,
            Err(TrackerError::Rejected { status: 404, .. }) => {
                tracing::info!(issue = %record.issue_key, "the test case's earlier issue is gone; creating a new one");
                return Ok(None);
            }
            Err(e) => return Err(self.give_up(job, e).await),
        };
        let outcome = match (&mapping.repeat, current.is_done()) {
            (_, false) => Outcome::Commented,
            (RepeatPolicy::Reopen { transition }, true) => {
                if let Err(e) = self.tracker.transition(&current.key, transition).await {
                    return Err(self.give_up(job, e).await);
                }
                Outcome::Reopened
            }
            _ => return Ok(None),
        };
        let comment = mapping.render_comment(failure, &draft.description_markdown)?;
        if let Err(e) = self.attach(&current, &failure.label, &comment).await {
            if matches!(e, TrackerError::Ambiguous { .. }) {
                self.ledger
                    .mark_uncertain(job.key, &job.owner, &e.to_string(), chrono::Utc::now())
                    .await?;
                return Err(DefectError::Unconfirmed {
                    detail: e.to_string(),
                });
            }
            return Err(self.give_up(job, e).await);
        }
        tracing::info!(issue = %current.key, result = %job.key, ?outcome, "added the repeat failure to the test case's issue");
        self.finish(job, current, outcome).await.map(Some)
    }

    async fn attach(
        &self,
        issue: &IssueRef,
        label: &str,
        comment: &str,
    ) -> Result<(), TrackerError> {
        self.tracker.add_label(&issue.key, label).await?;
        self.tracker.add_comment(&issue.key, comment).await
    }

    /// Nothing was attached: release the claim so a later request starts clean.
    async fn give_up(&self, job: &Job<'_>, error: TrackerError) -> DefectError {
        if let Err(e) = self.ledger.release(job.key, &job.owner).await {
            return e.into();
        }
        error.into()
    }
}
