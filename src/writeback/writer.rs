//! Writing one Jira issue's current state to the Test Manager defects of the
//! results recorded against it.
//!
//! The rules that make the write safe to repeat and to race:
//! - values are absolute (status and priority as Jira shows them now, through
//!   the mapping's `[writeback]` rules), so writing twice changes nothing;
//! - a state older (by Jira's `updated`) than the one last written is never
//!   written, and the ledger records a write only if no newer one is recorded;
//! - a state whose values equal the last written ones costs no Test Manager call;
//! - a result whose test case log has no Test Manager defect is skipped and
//!   recorded as such, once per change, not retried.

use super::error::WritebackError;
use super::refresh::DefectsChanged;
use crate::ledger::{WritebackLedger, WritebackTarget, WrittenState};
use crate::mapping::{ProjectMapping, ProjectsHandle, TmValues};
use crate::metrics;
use crate::testmanager::{DefectUpdate, TestManager, TestManagerError};
use crate::tracker::IssueState;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// What Jira says of an issue now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// The issue, as read from Jira.
    Exists(IssueState),
    /// Jira answered 404: deleted (or no longer visible to the bridge).
    Deleted {
        /// When the deletion was seen; orders it after every earlier state.
        at: DateTime<Utc>,
    },
}

impl Seen {
    /// The Jira time this state orders by against `written`. A deletion has no
    /// Jira time of its own: it is placed after whatever was written, even when
    /// this process's clock runs behind Jira's.
    fn updated(&self, written: Option<&WrittenState>) -> DateTime<Utc> {
        match self {
            Self::Exists(state) => state.updated,
            Self::Deleted { at } => written.map_or(*at, |w| {
                (*at).max(w.jira_updated + chrono::Duration::milliseconds(1))
            }),
        }
    }
}

/// What happened to one result's defect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Test Manager's defect was updated.
    Written,
    /// The defect already shows these values.
    Unchanged,
    /// A newer state was already written.
    Older,
    /// The result's test case log has no Test Manager defect.
    NoDefect,
    /// Test Manager no longer has the defect (404).
    DefectGone,
    /// Test Manager refused the write (permissions): recorded, not retried.
    Refused,
    /// The mapping that created the issue is gone, or has write-back off.
    NotMapped,
    /// This state (or a newer one) was already skipped for this result: not tried again.
    SkippedBefore,
}

impl WriteOutcome {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Written => "written",
            Self::Unchanged => "unchanged",
            Self::Older => "older",
            Self::NoDefect => "no_defect",
            Self::DefectGone => "defect_gone",
            Self::Refused => "refused",
            Self::NotMapped => "not_mapped",
            Self::SkippedBefore => "skipped_before",
        }
    }
}

/// Writes issue states to Test Manager defects.
pub struct DefectWriter {
    /// Last written states and defect ids.
    pub ledger: Arc<dyn WritebackLedger>,
    /// Where defects are written.
    pub testmanager: Arc<dyn TestManager>,
    /// The mappings in force.
    pub projects: ProjectsHandle,
    /// Told when a project's defects changed.
    pub changed: Arc<dyn DefectsChanged>,
}

impl DefectWriter {
    /// Writes `seen` to the defect of every result recorded against `issue_key`.
    ///
    /// # Errors
    /// A transient failure (ledger, Test Manager down, 429, 5xx): the caller
    /// queues the issue again. Results already written are then `Unchanged`.
    pub async fn apply(
        &self,
        issue_key: &str,
        seen: &Seen,
    ) -> Result<Vec<WriteOutcome>, WritebackError> {
        let targets = self.ledger.targets(issue_key).await?;
        let mut outcomes = Vec::with_capacity(targets.len());
        for target in &targets {
            let outcome = self.apply_to(target, seen).await?;
            metrics::writeback_write(outcome.as_str());
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    /// Whether [`Self::apply`] would try to write anything for `seen`: only the
    /// ledger is read. Lets a pass over many unchanged issues skip taking leases.
    pub async fn would_write(&self, issue_key: &str, seen: &Seen) -> Result<bool, WritebackError> {
        let projects = self.projects.current();
        let targets = self.ledger.targets(issue_key).await?;
        Ok(targets
            .iter()
            .any(|target| decide(&projects, target, seen).is_ok()))
    }

    async fn apply_to(
        &self,
        target: &WritebackTarget,
        seen: &Seen,
    ) -> Result<WriteOutcome, WritebackError> {
        let projects = self.projects.current();
        let (mapping, values, updated) = match decide(&projects, target, seen) {
            Ok(decided) => decided,
            Err(outcome) => return Ok(outcome),
        };
        let Some(defect_id) = self.defect_id(mapping, target).await? else {
            self.ledger
                .record_skipped(
                    &target.key,
                    "the test case log has no Test Manager defect",
                    updated,
                )
                .await?;
            return Ok(WriteOutcome::NoDefect);
        };
        let update = DefectUpdate {
            status: Some(values.status.clone()),
            priority: values.priority.clone(),
        };
        match self
            .testmanager
            .update_defect(mapping.project_id, &defect_id, &update)
            .await
        {
            Ok(()) => {}
            Err(TestManagerError::DefectNotFound { .. }) => {
                let reason = format!("Test Manager has no defect {defect_id} any more");
                self.ledger
                    .record_skipped(&target.key, &reason, updated)
                    .await?;
                return Ok(WriteOutcome::DefectGone);
            }
            Err(e) if e.is_transient() => return Err(e.into()),
            Err(e) => {
                tracing::warn!(issue = %target.issue_key, defect = %defect_id, error = %e, "Test Manager refused the defect update");
                self.ledger
                    .record_skipped(&target.key, &e.to_string(), updated)
                    .await?;
                return Ok(WriteOutcome::Refused);
            }
        }
        let now = Utc::now();
        let written = WrittenState {
            status: values.status,
            priority: values
                .priority
                .or_else(|| target.written.as_ref().and_then(|w| w.priority.clone())),
            jira_updated: updated,
            written_at: now,
        };
        if !self.ledger.record_written(&target.key, &written).await? {
            // Another writer recorded a newer state while this PATCH was in flight, and
            // this PATCH may have landed after its one: write the newer values again.
            self.rewrite_newest(mapping, target, &defect_id).await?;
            return Ok(WriteOutcome::Older);
        }
        if let Seen::Exists(_) = seen {
            metrics::writeback_lag(now - updated);
        }
        tracing::info!(issue = %target.issue_key, defect = %defect_id, status = %written.status, "wrote Jira's state to the Test Manager defect");
        self.changed.defects_changed(mapping.project_id).await;
        Ok(WriteOutcome::Written)
    }

    /// Writes the newest recorded state of `target`'s result to its defect again.
    async fn rewrite_newest(
        &self,
        mapping: &ProjectMapping,
        target: &WritebackTarget,
        defect_id: &str,
    ) -> Result<(), WritebackError> {
        let newest = self
            .ledger
            .targets(&target.issue_key)
            .await?
            .into_iter()
            .find(|t| t.key == target.key)
            .and_then(|t| t.written);
        if let Some(newest) = newest {
            let update = DefectUpdate {
                status: Some(newest.status),
                priority: newest.priority,
            };
            self.testmanager
                .update_defect(mapping.project_id, defect_id, &update)
                .await?;
        }
        Ok(())
    }

    /// The result's defect: as recorded, else looked up on its test case log again.
    async fn defect_id(
        &self,
        mapping: &ProjectMapping,
        target: &WritebackTarget,
    ) -> Result<Option<String>, WritebackError> {
        if let Some(id) = &target.defect_id {
            return Ok(Some(id.clone()));
        }
        let found = self
            .testmanager
            .defect_id_for(mapping.project_id, &target.key)
            .await?;
        if let Some(id) = &found {
            self.ledger.record_defect_id(&target.key, id).await?;
        }
        Ok(found)
    }
}

/// What writing `seen` to `target` would write — its mapping, the values and
/// the Jira time they order by — or why nothing is to be written.
fn decide<'p>(
    projects: &'p crate::mapping::Projects,
    target: &WritebackTarget,
    seen: &Seen,
) -> Result<(&'p ProjectMapping, TmValues, DateTime<Utc>), WriteOutcome> {
    let mapping = projects
        .by_route(&target.route)
        .filter(|m| m.writeback.is_enabled())
        .ok_or(WriteOutcome::NotMapped)?;
    let values = values_of(mapping, seen);
    let updated = seen.updated(target.written.as_ref());
    if let Some(written) = &target.written {
        if written.jira_updated > updated {
            return Err(WriteOutcome::Older);
        }
        if shows(written, &values) {
            return Err(WriteOutcome::Unchanged);
        }
    }
    if target.skipped.is_some() && target.skipped_for.is_some_and(|at| at >= updated) {
        return Err(WriteOutcome::SkippedBefore);
    }
    Ok((mapping, values, updated))
}

/// The Test Manager values of `seen` under the mapping's rules.
fn values_of(mapping: &ProjectMapping, seen: &Seen) -> TmValues {
    match seen {
        Seen::Exists(state) => mapping.writeback.values_for(
            &state.status,
            state.status_category.key(),
            state.resolution.as_deref(),
            state.priority.as_deref(),
        ),
        Seen::Deleted { .. } => mapping.writeback.deleted(),
    }
}

/// Whether the defect, as last written, already shows `values` (a `None`
/// priority leaves the defect's priority as it is).
fn shows(written: &WrittenState, values: &TmValues) -> bool {
    written.status == values.status
        && (values.priority.is_none() || written.priority == values.priority)
}
