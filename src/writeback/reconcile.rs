//! The reconcile poller: catches every change Jira's webhooks did not bring
//! (lost, late, or never configured), within one interval.
//!
//! Per mapped Jira project, one replica at a time (a lease in the ledger):
//! - **poll**, every `reconcile_interval_secs`: the bridge's issues updated
//!   since the stored watermark (minus an overlap), oldest first, paged. The
//!   search already returns each issue's state, so each is written as read —
//!   a handful of searches for any number of issues, and a Test Manager call
//!   only where the values differ from the last written ones.
//! - **sweep**, every `sweep_interval_secs`: every bridge issue of the project,
//!   compared with the ledger's. An issue the ledger has and the search lacks
//!   is queued, so the worker reads it: 404 means deleted (Cloud's search may
//!   lag behind a create, hence the read rather than a verdict).
//!
//! A write that fails for now is queued for the worker instead, so nothing is
//! lost; the watermark advances only after a complete poll.

use super::error::WritebackError;
use super::keep_lease;
use super::writer::{DefectWriter, Seen};
use crate::config::WritebackSettings;
use crate::ledger::WritebackLedger;
use crate::mapping::ProjectsHandle;
use crate::metrics;
use crate::result_key::BRIDGE_LABEL;
use crate::tracker::{jql, DefectTracker, IssueState, PageCursor};
use crate::worker_signal::Signal;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

/// The poller and its ports.
pub struct Reconciler {
    /// Watermarks, leases, last written states, the queue.
    pub ledger: Arc<dyn WritebackLedger>,
    /// Where issues are searched.
    pub tracker: Arc<dyn DefectTracker>,
    /// Writes what a search found.
    pub writer: Arc<DefectWriter>,
    /// The mappings in force.
    pub projects: ProjectsHandle,
    /// Intervals, overlap, page size.
    pub settings: WritebackSettings,
    /// Wakes the worker when something was queued; stops the poller.
    pub signal: Arc<Signal>,
    /// This process's lease owner id.
    pub owner: String,
}

/// What one poll or sweep of a project did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pass {
    /// Search pages read from Jira.
    pub pages: u32,
    /// Issues the searches returned.
    pub issues: u32,
    /// Issues queued for the worker (write failed for now, or missing from the search).
    pub queued: u32,
}

impl Reconciler {
    /// Runs polls (and sweeps when due) every interval, the first after one
    /// interval, until [`Signal::stop`].
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            // The first round after one interval: start-up stays light, and a
            // restart is caught up within the interval, as any lost webhook is.
            let every = self.settings.reconcile_interval();
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while !self.signal.is_stopped() {
                tokio::select! {
                    _ = ticks.tick() => self.run_once().await,
                    () = self.signal.stopping() => return,
                }
            }
        })
    }

    /// One round: for every Jira project with write-back on, a poll, and a
    /// sweep when one is due; then old delivery ids are forgotten.
    pub async fn run_once(&self) {
        for (jira_project, routes) in self.projects_to_reconcile() {
            for (kind, result) in [
                ("poll", self.poll(&jira_project).await),
                ("sweep", self.sweep_if_due(&jira_project, &routes).await),
            ] {
                match result {
                    Ok(Some(pass)) => metrics::writeback_pass(kind, "ok", pass.pages),
                    Ok(None) => {}
                    Err(e) => {
                        metrics::writeback_pass(kind, "failed", 0);
                        tracing::warn!(project = %jira_project, kind, error = %e, "write-back reconcile failed; the next round tries again");
                    }
                }
            }
        }
        let retention = chrono::Duration::from_std(self.settings.delivery_retention())
            .unwrap_or(chrono::Duration::days(1));
        if let Err(e) = self.ledger.forget_deliveries(Utc::now() - retention).await {
            tracing::debug!(error = %e, "cannot forget old Jira delivery ids now");
        }
    }

    /// Jira project → the routes of the mappings (with write-back on) that create issues in it.
    fn projects_to_reconcile(&self) -> BTreeMap<String, Vec<String>> {
        let mut projects: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for mapping in self.projects.current().all() {
            if mapping.writeback.is_enabled() {
                projects
                    .entry(mapping.jira_project.clone())
                    .or_default()
                    .push(mapping.route.clone());
            }
        }
        projects
    }

    /// Polls `jira_project` for changes since its watermark, if this replica
    /// holds its poller lease; `Ok(None)` when another replica does.
    pub async fn poll(&self, jira_project: &str) -> Result<Option<Pass>, WritebackError> {
        let started = Utc::now();
        if !self.lease(jira_project, started).await? {
            return Ok(None);
        }
        let since = self
            .ledger
            .watermark(jira_project)
            .await?
            .unwrap_or(started);
        let minutes = jql::lookback_minutes(started, since, self.settings.reconcile_overlap());
        let query = jql::changed_since(jira_project, BRIDGE_LABEL, minutes);
        let mut pass = Pass::default();
        self.each_issue(&query, &mut pass, |_| {}).await?;
        self.ledger
            .advance_watermark(jira_project, &self.owner, started)
            .await?;
        Ok(Some(pass))
    }

    /// Sweeps `jira_project` when its last sweep is older than the sweep interval.
    async fn sweep_if_due(
        &self,
        jira_project: &str,
        routes: &[String],
    ) -> Result<Option<Pass>, WritebackError> {
        let sweep = format!("{jira_project}#sweep");
        let now = Utc::now();
        let interval = chrono::Duration::from_std(self.settings.sweep_interval())
            .unwrap_or(chrono::Duration::hours(1));
        let last = self.ledger.watermark(&sweep).await?;
        if last.is_some_and(|at| now - at < interval) || !self.lease(&sweep, now).await? {
            return Ok(None);
        }
        let pass = self.sweep(jira_project, routes).await?;
        self.ledger
            .advance_watermark(&sweep, &self.owner, now)
            .await?;
        Ok(Some(pass))
    }

    /// Compares every bridge issue of `jira_project` with the ledger's issues
    /// of `routes`: writes what differs, queues what Jira's search lacks
    /// (unless its defects already show it deleted).
    pub async fn sweep(
        &self,
        jira_project: &str,
        routes: &[String],
    ) -> Result<Pass, WritebackError> {
        let mut missing = BTreeSet::new();
        for route in routes {
            missing.extend(self.ledger.issue_keys(route).await?);
        }
        let query = jql::bridge_issues(jira_project, BRIDGE_LABEL);
        let mut pass = Pass::default();
        self.each_issue(&query, &mut pass, |state| {
            missing.remove(&state.key);
        })
        .await?;
        let now = Utc::now();
        let deleted = Seen::Deleted { at: now };
        let mut to_read = 0;
        for issue_key in &missing {
            // An issue whose defects already show it deleted costs no read.
            if self.writer.would_write(issue_key, &deleted).await? {
                self.ledger.enqueue(issue_key, None, now).await?;
                to_read += 1;
            }
        }
        pass.queued += to_read;
        if to_read > 0 {
            tracing::info!(project = %jira_project, issues = to_read, "issues missing from Jira's search are queued to be read (deleted, or not yet indexed)");
            self.signal.wake();
        }
        Ok(pass)
    }

    /// Pages through `query`, writing each issue as found; `seen` sees each one.
    /// After the first write that fails for now (Test Manager down), the rest are
    /// queued without trying, so an outage costs one retry budget, not one per issue.
    async fn each_issue(
        &self,
        query: &str,
        pass: &mut Pass,
        mut seen: impl FnMut(&IssueState),
    ) -> Result<(), WritebackError> {
        let mut cursor: Option<PageCursor> = None;
        let mut failing = false;
        loop {
            let page = self
                .tracker
                .search_states(query, cursor.take(), self.settings.page_size)
                .await?;
            pass.pages += 1;
            for state in page.issues {
                pass.issues += 1;
                seen(&state);
                if failing {
                    self.queue(&state.key, state.updated).await?;
                    pass.queued += 1;
                } else if self.write_or_queue(state).await? {
                    pass.queued += 1;
                    failing = true;
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(()),
            }
        }
    }

    /// Writes `state` while holding the issue's lease (so no worker writes it at
    /// the same time); when a worker holds it, or the write fails for now, the
    /// issue is left to the queue (returns `true`). Only a failing ledger is an error.
    async fn write_or_queue(&self, state: IssueState) -> Result<bool, WritebackError> {
        let (key, updated) = (state.key.clone(), state.updated);
        let seen = Seen::Exists(state);
        if !self.writer.would_write(&key, &seen).await? {
            return Ok(false);
        }
        let lease = self.settings.lease();
        let Some(job) = self
            .ledger
            .hold(&key, &self.owner, Utc::now(), lease)
            .await?
        else {
            // A worker is writing it: marked to run again, it reads Jira afresh.
            self.queue(&key, updated).await?;
            return Ok(false);
        };
        let written = tokio::select! {
            written = self.writer.apply(&key, &seen) => Some(written),
            () = keep_lease::keep(self.ledger.as_ref(), &job, &self.owner, lease) => None,
        };
        match written {
            Some(Ok(_)) => {
                self.ledger.settle(&job, &self.owner, Utc::now()).await?;
                Ok(false)
            }
            Some(Err(e)) if e.is_transient() => {
                tracing::warn!(issue = %key, error = %e, "write-back failed for now; this and the rest of the pass are queued for the worker");
                self.ledger
                    .retry(&job, &self.owner, Utc::now(), &e.to_string())
                    .await?;
                self.signal.wake();
                Ok(true)
            }
            Some(Err(e)) => {
                tracing::warn!(issue = %key, error = %e, "write-back of a polled issue failed");
                self.ledger.settle(&job, &self.owner, Utc::now()).await?;
                Ok(false)
            }
            None => {
                tracing::warn!(issue = %key, "write-back lease lost during a poll; the queue takes the issue");
                Ok(true)
            }
        }
    }

    async fn queue(&self, issue_key: &str, updated: DateTime<Utc>) -> Result<(), WritebackError> {
        self.ledger
            .enqueue(issue_key, Some(updated), Utc::now())
            .await?;
        self.signal.wake();
        Ok(())
    }

    async fn lease(&self, name: &str, now: DateTime<Utc>) -> Result<bool, WritebackError> {
        // Longer than a round, so a replica keeps its projects while it runs.
        let lease = self.settings.reconcile_interval() * 2 + Duration::from_secs(30);
        Ok(self
            .ledger
            .lease_poller(name, &self.owner, now, lease)
            .await?)
    }
}
