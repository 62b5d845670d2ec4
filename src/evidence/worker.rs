//! The evidence upload worker: one per process, several per database are safe.
//!
//! Claims one queued row at a time (the ledger guarantees no two workers hold the same row),
//! streams the file from Test Manager to Jira in the chunks the connections deliver, and
//! settles the row. Failures are retried with the outbound policy's backoff until
//! `evidence.max_attempts`, then reported (`failed`) in the summary comment, the log and the
//! `bridge_evidence_total` metric. A row that may already have been uploaded (a retry, or an
//! upload whose worker died) is first looked for on the issue: same name and size → done.

use super::robot_log::{self, RobotLogError};
use super::{enabled, human_bytes};
use crate::byte_stream::ByteStream;
use crate::config::EvidenceSettings;
use crate::ledger::{
    EvidenceItem, EvidenceKind, EvidenceQueue, EvidenceRow, EvidenceState, LedgerError, NewEvidence,
};
use crate::mapping::{EvidencePolicy, ProjectsHandle};
use crate::outbound::RetryPolicy;
use crate::testmanager::{Artifact, Download, TestManager, TestManagerError};
use crate::tracker::{DefectTracker, TrackerError, UploadOutcome};
pub use crate::worker_signal::Signal;
use futures::StreamExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The worker and its ports.
pub struct EvidenceWorker {
    /// The queue.
    pub queue: Arc<dyn EvidenceQueue>,
    /// Where files come from.
    pub testmanager: Arc<dyn TestManager>,
    /// Where files go.
    pub tracker: Arc<dyn DefectTracker>,
    /// The mappings in force (rules are read when a row is processed).
    pub projects: ProjectsHandle,
    /// `[evidence]` of `bridge.toml`.
    pub settings: EvidenceSettings,
    /// Backoff between tries of one file.
    pub retry: RetryPolicy,
    /// Wake-up and stop.
    pub signal: Arc<Signal>,
}

/// A row taken over from this many dead workers is failed rather than tried again.
const MAX_TAKEOVERS: u32 = 5;

/// How one row ended this time.
enum Settle {
    Done(Option<u64>),
    Skipped(String),
    Retry(Failure),
}

/// Why a try failed, and whether waiting may help (an upstream down, slow or failing).
struct Failure {
    error: String,
    transient: bool,
}

impl Failure {
    fn transient(error: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            transient: true,
        }
    }

    fn tracker(context: &str, e: &TrackerError) -> Self {
        Self {
            error: format!("{context}{e}"),
            transient: e.is_transient(),
        }
    }
}

impl From<TrackerError> for Failure {
    fn from(e: TrackerError) -> Self {
        Self::tracker("", &e)
    }
}

impl From<TestManagerError> for Failure {
    fn from(e: TestManagerError) -> Self {
        Self {
            transient: e.is_transient(),
            error: e.to_string(),
        }
    }
}

/// The ledger is shared state every step needs: its failures are worth waiting out.
impl From<LedgerError> for Failure {
    fn from(e: LedgerError) -> Self {
        Self::transient(e.to_string())
    }
}

/// A log that broke off mid-transfer, or a full disk: this file's own failure.
impl From<RobotLogError> for Failure {
    fn from(e: RobotLogError) -> Self {
        Self {
            error: e.to_string(),
            transient: false,
        }
    }
}

impl EvidenceWorker {
    /// Runs until [`Signal::stop`].
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.run())
    }

    async fn run(self) {
        let owner = format!("evidence-{}", uuid::Uuid::new_v4().simple());
        let poll = Duration::from_millis(self.settings.poll_interval_ms.max(10));
        let stale = Duration::from_secs(self.settings.stale_after_secs);
        while !self.signal.is_stopped() {
            match self.queue.claim(&owner, chrono::Utc::now(), stale).await {
                Ok(Some(row)) => {
                    tokio::select! {
                        () = self.process(&owner, row.clone()) => {}
                        () = self.keep_claim(&owner, &row, stale) => {
                            tracing::warn!(issue = %row.item.issue_key, file = %row.item.file_name, "evidence upload abandoned: its claim could not be renewed, so another worker may take the row over");
                            // Back to the queue, if the ledger answers again; not a failure of the file.
                            let _ = self.queue.retry(&row.id, &owner, "abandoned: the claim could not be renewed", chrono::Utc::now(), false).await;
                        }
                        () = self.signal.stopping() => {
                            tracing::info!(issue = %row.item.issue_key, file = %row.item.file_name, "evidence upload interrupted by shutdown; it resumes on the next start");
                            let _ = self.queue.retry(&row.id, &owner, "interrupted by shutdown", chrono::Utc::now(), false).await;
                            return;
                        }
                    }
                    continue;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "cannot read the evidence queue"),
            }
            tokio::select! {
                () = self.signal.woken() => {}
                () = tokio::time::sleep(poll) => {}
            }
        }
    }

    /// Renews the claim on `row` every third of the stale limit while it is worked on, so a
    /// long upload is not taken for a dead one, while a killed process's row goes stale (and
    /// is claimed again) within `stale` of its last renewal. Returns when the claim is lost,
    /// or when renewals have failed for two thirds of `stale` (the ledger unreachable):
    /// another worker may take the row over soon, and two uploads of one file must not
    /// overlap.
    async fn keep_claim(&self, owner: &str, row: &EvidenceRow, stale: Duration) {
        let every = (stale / 3).max(Duration::from_millis(100));
        // The claim is good until `renewed + stale` in the ledger's eyes; give up a third
        // before that, so the upload stops before anyone may take the row over.
        let budget = stale * 2 / 3;
        // The time written by the last renewal that succeeded (taken before the call).
        let mut renewed = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(every).await;
            let attempt = tokio::time::Instant::now();
            let left = budget.saturating_sub(renewed.elapsed());
            let outcome =
                tokio::time::timeout(left, self.queue.renew(&row.id, owner, chrono::Utc::now()))
                    .await;
            match outcome {
                Ok(Ok(())) => renewed = attempt,
                Ok(Err(LedgerError::ClaimLost)) => return,
                Ok(Err(_)) | Err(_) if renewed.elapsed() >= budget => {
                    tracing::warn!(issue = %row.item.issue_key, "could not renew the claim on an evidence row in time");
                    return;
                }
                Ok(Err(e)) => {
                    tracing::warn!(issue = %row.item.issue_key, error = %e, "could not renew the claim on an evidence row; retrying")
                }
                Err(_) => {}
            }
        }
    }

    async fn process(&self, owner: &str, row: EvidenceRow) {
        let outcome = if row.takeovers >= MAX_TAKEOVERS {
            // Each of those workers died mid-upload (out of memory or disk, or killed):
            // trying again would take the next one down too.
            Settle::Retry(Failure {
                error: format!(
                    "its upload was cut off {} times by a bridge process that stopped \
                     (killed, or out of memory or disk); not tried again",
                    row.takeovers
                ),
                transient: false,
            })
        } else {
            self.attempt(&row).await
        };
        let (state, size, note) = match outcome {
            Settle::Done(size) => (EvidenceState::Done, size, None),
            Settle::Skipped(why) => {
                tracing::info!(issue = %row.item.issue_key, file = %row.item.file_name, reason = %why, "evidence skipped");
                (EvidenceState::Skipped, None, Some(why))
            }
            Settle::Retry(failure) if self.keeps_trying(&row, &failure) => {
                let error = failure.error.clone();
                let delay = self.delay(row.attempts);
                tracing::warn!(issue = %row.item.issue_key, file = %row.item.file_name, attempt = row.attempts, %error, delay_ms = delay.as_millis() as u64, "evidence upload failed; will retry");
                metrics::counter!(crate::metrics::EVIDENCE, "kind" => row.item.kind.as_str(), "outcome" => "retried").increment(1);
                let at = chrono::Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
                let counts = !failure.transient;
                if let Err(e) = self.queue.retry(&row.id, owner, &error, at, counts).await {
                    tracing::warn!(error = %e, "could not requeue the evidence row");
                }
                return;
            }
            Settle::Retry(Failure { error, .. }) => {
                tracing::error!(issue = %row.item.issue_key, file = %row.item.file_name, attempts = row.attempts, %error, "evidence upload failed for good; reported on the issue");
                (EvidenceState::Failed, None, Some(error))
            }
        };
        metrics::counter!(crate::metrics::EVIDENCE, "kind" => row.item.kind.as_str(), "outcome" => state.as_str()).increment(1);
        if let Err(e) = self
            .queue
            .settle(&row.id, owner, state, size, note.as_deref())
            .await
        {
            tracing::warn!(error = %e, issue = %row.item.issue_key, "could not settle the evidence row");
        }
    }

    /// Whether a failed row is tried again. A failure of the file's own: until it has
    /// failed `max_attempts` times (tries lost to an outage do not count). An upstream
    /// down (a transient failure): until the row has been queued `give_up_after_secs`, so
    /// an outage or a Jira restart loses no evidence.
    fn keeps_trying(&self, row: &EvidenceRow, failure: &Failure) -> bool {
        if row.takeovers >= MAX_TAKEOVERS {
            return false;
        }
        if failure.transient {
            let age = chrono::Utc::now() - row.created_at;
            return age.num_seconds() < self.settings.give_up_after_secs as i64;
        }
        row.failures + 1 < self.settings.max_attempts.max(1)
    }

    /// The outbound policy's backoff for the first `max_attempts` tries, then doubling up
    /// to `max_backoff_secs` while an outage lasts.
    fn delay(&self, attempts: u32) -> Duration {
        let outbound = self.retry.backoff(attempts);
        let beyond = attempts.saturating_sub(self.settings.max_attempts).min(16);
        let ceiling = Duration::from_secs(self.settings.max_backoff_secs).max(outbound);
        outbound.saturating_mul(1 << beyond).min(ceiling)
    }

    fn policy(&self, row: &EvidenceRow) -> Result<(uuid::Uuid, EvidencePolicy), String> {
        let projects = self.projects.current();
        let mapping = projects
            .by_route(&row.item.route)
            .ok_or_else(|| format!("the mapping for route `{}` is gone", row.item.route))?;
        let policy = mapping
            .evidence
            .clone()
            .ok_or_else(|| "the mapping no longer attaches evidence".to_owned())?;
        Ok((mapping.project_id, policy))
    }

    async fn attempt(&self, row: &EvidenceRow) -> Settle {
        let (project_id, policy) = match self.policy(row) {
            Ok(found) => found,
            Err(why) => return Settle::Skipped(why),
        };
        if !enabled(&policy, row.item.kind) {
            return Settle::Skipped("this kind of evidence is not attached by the mapping".into());
        }
        match row.item.kind {
            EvidenceKind::AttachmentIndex => self.index(project_id, &policy, row).await,
            EvidenceKind::Summary => self.summary(row).await,
            EvidenceKind::Screenshot | EvidenceKind::RobotLog | EvidenceKind::Attachment => {
                self.upload(project_id, &policy, row).await
            }
        }
    }

    /// Lists the log's attachments and enqueues one row each.
    async fn index(
        &self,
        project_id: uuid::Uuid,
        policy: &EvidencePolicy,
        row: &EvidenceRow,
    ) -> Settle {
        let listed = match self
            .testmanager
            .log_attachments(project_id, &row.item.log_id)
            .await
        {
            Ok(listed) => listed,
            Err(e) => return Settle::Retry(e.into()),
        };
        let mut seen = std::collections::HashSet::new();
        let items: Vec<NewEvidence> = listed
            .into_iter()
            .map(|a| {
                let base = a
                    .file_name
                    .clone()
                    .filter(|n| !n.trim().is_empty())
                    .unwrap_or_else(|| format!("attachment-{}", a.id));
                let mut name = policy.file_name(&base);
                if !seen.insert(name.clone()) {
                    name = policy.file_name(&format!("{}-{base}", a.id));
                }
                let (state, note) = match a.size {
                    Some(size) if size > policy.max_file_bytes => (
                        EvidenceState::Skipped,
                        Some(super::too_large(size, policy.max_file_bytes)),
                    ),
                    _ => (EvidenceState::Pending, None),
                };
                NewEvidence {
                    item: EvidenceItem {
                        issue_key: row.item.issue_key.clone(),
                        route: row.item.route.clone(),
                        log_id: row.item.log_id.clone(),
                        kind: EvidenceKind::Attachment,
                        source_id: a.id,
                        file_name: name,
                    },
                    size_bytes: a.size,
                    state,
                    note,
                }
            })
            .collect();
        match self.queue.enqueue(&items, chrono::Utc::now()).await {
            Ok(_) => Settle::Done(None),
            Err(e) => Settle::Retry(e.into()),
        }
    }

    /// Streams one file from Test Manager to the issue.
    async fn upload(
        &self,
        project_id: uuid::Uuid,
        policy: &EvidencePolicy,
        row: &EvidenceRow,
    ) -> Settle {
        // A previous try may have reached Jira with its answer lost, or its worker died.
        if row.attempts > 1 {
            match self.tracker.attachments(&row.item.issue_key).await {
                Ok(files) => {
                    if let Some(found) = files.iter().find(|f| {
                        f.name == row.item.file_name
                            && (row.size_bytes.is_none()
                                || f.size.is_none()
                                || f.size == row.size_bytes)
                    }) {
                        tracing::info!(issue = %row.item.issue_key, file = %row.item.file_name, "evidence already on the issue; not uploading it again");
                        return Settle::Done(found.size);
                    }
                }
                Err(e) => {
                    return Settle::Retry(Failure::tracker(
                        "cannot check the issue's attachments: ",
                        &e,
                    ))
                }
            }
        }
        let attached = match self.queue.for_issue(&row.item.issue_key).await {
            Ok(rows) => rows
                .iter()
                .filter(|r| {
                    r.state == EvidenceState::Done && r.item.kind.is_file() && r.id != row.id
                })
                .filter_map(|r| r.size_bytes)
                .sum::<u64>(),
            Err(e) => return Settle::Retry(e.into()),
        };
        let room = policy.max_total_bytes.saturating_sub(attached);
        let total_note = || {
            format!(
                "attaching it would pass the mapping's limit of {} per issue",
                human_bytes(policy.max_total_bytes)
            )
        };
        if row.size_bytes.is_some_and(|s| s > room) {
            return Settle::Skipped(total_note());
        }
        let artifact = match row.item.kind {
            EvidenceKind::Screenshot => Artifact::Screenshot {
                log_id: row.item.log_id.clone(),
                assertion_id: row.item.source_id.clone(),
            },
            EvidenceKind::RobotLog => Artifact::RobotLog {
                log_id: row.item.source_id.clone(),
            },
            _ => Artifact::Attachment {
                id: row.item.source_id.clone(),
            },
        };
        let timeout = Duration::from_secs(self.settings.transfer_timeout_secs.max(1));
        let download = match self
            .testmanager
            .download(project_id, &artifact, timeout)
            .await
        {
            Ok(Some(d)) => d,
            Ok(None) => return Settle::Skipped("Test Manager has no such file (404)".into()),
            Err(e) => return Settle::Retry(e.into()),
        };
        let download = if row.item.kind == EvidenceKind::RobotLog {
            match robot_log_file(download, policy.max_file_bytes, room).await {
                Ok(prepared) => prepared,
                Err(RobotLogError::TooLarge { .. }) => {
                    return Settle::Skipped(format!(
                        "larger than the mapping's limit of {} per file",
                        human_bytes(policy.max_file_bytes)
                    ))
                }
                Err(e) => return Settle::Retry(e.into()),
            }
        } else {
            download
        };
        if let Some(length) = download.length {
            if length > policy.max_file_bytes {
                return Settle::Skipped(super::too_large(length, policy.max_file_bytes));
            }
            if length > room {
                return Settle::Skipped(total_note());
            }
        }
        let limit = policy.max_file_bytes.min(room);
        let (body, meter) = metered(download.body, limit);
        match self
            .tracker
            .attach_file(
                &row.item.issue_key,
                &row.item.file_name,
                download.length,
                body,
                timeout,
            )
            .await
        {
            Ok(UploadOutcome::Attached) => Settle::Done(Some(meter.sent.load(Ordering::SeqCst))),
            Ok(UploadOutcome::TooLarge(detail)) => {
                Settle::Skipped(format!("Jira refused it as too large (413): {detail}"))
            }
            Err(_) if meter.over.load(Ordering::SeqCst) => {
                if limit == policy.max_file_bytes {
                    Settle::Skipped(format!(
                        "larger than the mapping's limit of {} per file",
                        human_bytes(policy.max_file_bytes)
                    ))
                } else {
                    Settle::Skipped(total_note())
                }
            }
            // Jira could not be reached, or asked to wait: an outage. A transfer that broke
            // off or timed out once Jira had it is this file's own failure (its size, a
            // proxy in between), limited by max_attempts: the next try's look at the
            // issue's attachments tells an outage apart.
            Err(e) => Settle::Retry(Failure {
                transient: matches!(
                    e,
                    TrackerError::Unavailable { .. } | TrackerError::RateLimited { .. }
                ),
                error: e.to_string(),
            }),
        }
    }

    /// Once every file of the issue is settled: the list of this failure's
    /// evidence (attached, skipped and why, failed) is added to the issue's
    /// description and posted as a comment. Both carry a marker naming the Test Manager
    /// log; a retried step looks for it first, so neither is added twice.
    async fn summary(&self, row: &EvidenceRow) -> Settle {
        let rows = match self.queue.for_issue(&row.item.issue_key).await {
            Ok(rows) => rows,
            Err(e) => return Settle::Retry(e.into()),
        };
        let files: Vec<&EvidenceRow> = rows
            .iter()
            .filter(|r| r.item.log_id == row.item.log_id && r.item.kind.is_file())
            .collect();
        if files.is_empty() {
            return Settle::Done(None);
        }
        let marker = format!("Test Manager log {}", row.item.log_id);
        let listed = format!("{}\n_({marker})_\n", summary_markdown(&files));
        if let Err(e) = self
            .tracker
            .append_to_description(&row.item.issue_key, &marker, &listed)
            .await
        {
            // The comment below still lists everything; the description is a convenience.
            tracing::warn!(issue = %row.item.issue_key, error = %e, "could not list the evidence in the description");
        }
        // A previous claim may have posted the comment and died before settling.
        if row.attempts > 1 {
            match self
                .tracker
                .has_comment_containing(&row.item.issue_key, &marker)
                .await
            {
                Ok(true) => {
                    tracing::info!(issue = %row.item.issue_key, "evidence summary already commented; not posting it again");
                    return Settle::Done(None);
                }
                Ok(false) => {}
                Err(e) => {
                    return Settle::Retry(Failure::tracker(
                        "cannot read the issue's comments: ",
                        &e,
                    ))
                }
            }
        }
        match self.tracker.add_comment(&row.item.issue_key, &listed).await {
            Ok(()) => Settle::Done(None),
            Err(e) => Settle::Retry(e.into()),
        }
    }
}

/// The robot log as a text file with its errors and warnings first (see [`robot_log`]), or
/// the log alone when that would not fit in `room` or the per-file limit. A JSON log
/// shrinks when written as text, so up to four times the per-file limit is read.
async fn robot_log_file(
    download: Download,
    max_file_bytes: u64,
    room: u64,
) -> Result<Download, RobotLogError> {
    let json = download
        .content_type
        .as_deref()
        .is_some_and(|t| t.to_ascii_lowercase().contains("json"));
    let read_limit = if json {
        max_file_bytes.saturating_mul(4)
    } else {
        max_file_bytes
    };
    let fit = max_file_bytes.min(room);
    let prepared = robot_log::prepare(download.body, json, read_limit, fit).await?;
    Ok(Download {
        length: Some(prepared.length),
        content_type: Some("text/plain; charset=utf-8".into()),
        body: prepared.into_stream(),
    })
}

/// The summary comment: attached, skipped (why), failed (last error).
pub fn summary_markdown(files: &[&EvidenceRow]) -> String {
    let describe = |r: &EvidenceRow| {
        let kind = match r.item.kind {
            EvidenceKind::Screenshot => "screenshot",
            EvidenceKind::RobotLog => "robot log",
            _ => "attachment",
        };
        match r.size_bytes {
            Some(size) => format!("`{}` ({kind}, {})", r.item.file_name, human_bytes(size)),
            None => format!("`{}` ({kind})", r.item.file_name),
        }
    };
    let mut text = String::from("**Evidence from Test Manager**\n");
    let section = |text: &mut String, title: &str, state: EvidenceState, why: bool| {
        let chosen: Vec<&&EvidenceRow> = files.iter().filter(|r| r.state == state).collect();
        if chosen.is_empty() {
            return;
        }
        text.push_str(&format!("\n{title}:\n\n"));
        for r in chosen {
            let reason = match (&r.last_error, why) {
                (Some(e), true) => format!(" — {}", crate::mapping::text::one_line(e)),
                _ => String::new(),
            };
            text.push_str(&format!("- {}{reason}\n", describe(r)));
        }
    };
    section(&mut text, "Attached", EvidenceState::Done, false);
    section(&mut text, "Skipped", EvidenceState::Skipped, true);
    section(
        &mut text,
        "Failed after several tries",
        EvidenceState::Failed,
        true,
    );
    text
}

/// Bytes counted as they pass, and whether the limit was passed.
#[derive(Debug, Default)]
struct Meter {
    sent: AtomicU64,
    over: AtomicBool,
}

/// `body`, ending in an error as soon as more than `limit` bytes have passed.
fn metered(body: ByteStream, limit: u64) -> (ByteStream, Arc<Meter>) {
    let meter = Arc::new(Meter::default());
    let counting = meter.clone();
    let stream = body.map(move |chunk| {
        let chunk = chunk?;
        let total = counting
            .sent
            .fetch_add(chunk.len() as u64, Ordering::SeqCst)
            + chunk.len() as u64;
        if total > limit {
            counting.over.store(true, Ordering::SeqCst);
            return Err(std::io::Error::other("file is over the size limit"));
        }
        Ok(chunk)
    });
    (Box::pin(stream), meter)
}
