//! One Create Defect in progress, and the record of its issue as Jira last showed it.

use crate::ledger::IssueRecord;
use crate::result_key::ResultKey;
use crate::tracker::IssueRef;

/// One Create Defect in progress: the result, the ledger claim's owner, the link back.
pub(super) struct Job<'a> {
    pub key: &'a ResultKey,
    pub owner: String,
    pub link: Option<&'a str>,
    /// The failure's evidence, enqueued once the issue is recorded.
    pub evidence: crate::evidence::Plan,
    /// The Test Manager defect on the failure's log, if it has one yet; kept for write-back.
    pub defect_id: Option<String>,
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
