//! Evidence on the issue: screenshots, robot logs and attachments, streamed from Test
//! Manager to Jira from a durable queue in the ledger.
//!
//! - [`plan`]: what a failure's evidence is, decided from the mapping's `[evidence]` rules
//!   when Create Defect records the issue.
//! - [`enqueue`]: puts a plan in the ledger's evidence queue and wakes the worker (Create
//!   Defect calls it; the answer does not wait for the uploads).
//! - [`worker`]: the background worker that claims queued rows one at a time, streams each
//!   file in bounded chunks (never whole in memory), and finally comments on the issue what
//!   was attached, skipped (and why) or failed.
//! - [`robot_log`]: the robot log as a text file with its errors and warnings first.
//!
//! Exactly-once: a row is unique per (issue, kind, source), claimed by one worker (see
//! [`crate::ledger::EvidenceQueue`]), and an upload whose outcome is unknown is checked against
//! the issue's attachments (same name, same size) before it is tried again.

pub mod enqueue;
pub mod robot_log;
pub mod worker;

use crate::ledger::{EvidenceItem, EvidenceKind, EvidenceState, NewEvidence};
use crate::mapping::{EvidencePolicy, ProjectMapping};
use crate::testmanager::FailureDetails;
use std::collections::HashSet;

/// The evidence of one failure, before the issue is known.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    items: Vec<NewEvidence>,
}

impl Plan {
    /// No evidence.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The rows to enqueue for `issue_key`.
    pub fn for_issue(&self, issue_key: &str) -> Vec<NewEvidence> {
        self.items
            .iter()
            .cloned()
            .map(|mut new| {
                new.item.issue_key = issue_key.to_owned();
                new
            })
            .collect()
    }
}

/// What `mapping` attaches for `details`: one row per failed assertion's screenshot, one for
/// the robot log, one step listing the log's attachments, and the summary step. Files whose
/// size is known to exceed the per-file limit are enqueued already skipped, so the summary
/// lists them.
pub fn plan(mapping: &ProjectMapping, details: &FailureDetails) -> Plan {
    let Some(policy) = &mapping.evidence else {
        return Plan::default();
    };
    let log_id = details.log.id.to_string();
    let mut names = UniqueNames::default();
    let mut items = Vec::new();
    let mut any = false;
    let mut item = |kind: EvidenceKind, source_id: String, file_name: String, size: Option<u64>| {
        let (state, note) = match size {
            Some(size) if kind.is_file() && size > policy.max_file_bytes => (
                EvidenceState::Skipped,
                Some(too_large(size, policy.max_file_bytes)),
            ),
            _ => (EvidenceState::Pending, None),
        };
        items.push(NewEvidence {
            item: EvidenceItem {
                issue_key: String::new(),
                route: mapping.route.clone(),
                log_id: log_id.clone(),
                kind,
                source_id,
                file_name,
            },
            size_bytes: size,
            state,
            note,
        });
    };
    if policy.screenshots {
        any = true;
        for assertion in details
            .assertions
            .iter()
            .filter(|a| a.has_screenshot && !a.succeeded)
        {
            let name = assertion
                .screenshot_file_name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| format!("screenshot-{}.png", short(&assertion.id.to_string())));
            item(
                EvidenceKind::Screenshot,
                assertion.id.to_string(),
                names.unique(policy.file_name(&name)),
                assertion
                    .screenshot_file_size
                    .and_then(|s| u64::try_from(s).ok()),
            );
        }
    }
    if policy.robot_log {
        any = true;
        item(
            EvidenceKind::RobotLog,
            log_id.clone(),
            names.unique(policy.file_name(&format!("robot-log-{}.txt", short(&log_id)))),
            None,
        );
    }
    if policy.attachments {
        any = true;
        item(
            EvidenceKind::AttachmentIndex,
            log_id.clone(),
            String::new(),
            None,
        );
    }
    if any {
        item(EvidenceKind::Summary, log_id.clone(), String::new(), None);
    }
    Plan { items }
}

/// The note of a file over a size limit.
pub fn too_large(size: u64, limit: u64) -> String {
    format!(
        "{} is over the mapping's limit of {} per file",
        human_bytes(size),
        human_bytes(limit)
    )
}

/// `1.5 MiB`, `320 B`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

fn short(id: &str) -> String {
    id.chars().filter(|c| *c != '-').take(8).collect()
}

/// Keeps file names unique within one plan (`a.png`, `a-2.png`, …).
#[derive(Default)]
struct UniqueNames {
    seen: HashSet<String>,
}

impl UniqueNames {
    fn unique(&mut self, name: String) -> String {
        if self.seen.insert(name.clone()) {
            return name;
        }
        let (stem, ext) = match name.rsplit_once('.') {
            Some((s, e)) if !s.is_empty() => (s.to_owned(), format!(".{e}")),
            _ => (name.clone(), String::new()),
        };
        (2..)
            .map(|n| format!("{stem}-{n}{ext}"))
            .find(|candidate| self.seen.insert(candidate.clone()))
            .expect("some suffix is free")
    }
}

/// Whether the policy attaches `kind` (steps always run).
pub fn enabled(policy: &EvidencePolicy, kind: EvidenceKind) -> bool {
    match kind {
        EvidenceKind::Screenshot => policy.screenshots,
        EvidenceKind::RobotLog => policy.robot_log,
        EvidenceKind::Attachment | EvidenceKind::AttachmentIndex => policy.attachments,
        EvidenceKind::Summary => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_unique() {
        let mut names = UniqueNames::default();
        assert_eq!(names.unique("a.png".into()), "a.png");
        assert_eq!(names.unique("a.png".into()), "a-2.png");
        assert_eq!(names.unique("a.png".into()), "a-3.png");
        assert_eq!(names.unique("log".into()), "log");
        assert_eq!(names.unique("log".into()), "log-2");
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_bytes(320), "320 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(100 * 1024 * 1024), "100.0 MiB");
    }
}
