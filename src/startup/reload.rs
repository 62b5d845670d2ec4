//! Reloading the mapping files while the service runs (SIGHUP, or a change
//! seen by the optional watcher).
//!
//! A reload loads and checks the whole directory — syntax, templates, routes
//! with secrets, and Jira's metadata when `jira.verify_on_start` is on — and
//! only a set that passes replaces the running one, atomically. Anything
//! wrong keeps the old set running and is logged. Either way the verdict is
//! recorded in the [`CheckLog`] the operator's page shows.

use crate::config::AuthSettings;
use crate::mapping::{Projects, ProjectsHandle};
use crate::servable::{self, NotServable, Unverified};
use crate::status::checks::CheckLog;
use crate::tracker::DefectTracker;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// What a reload needs.
pub struct Reloader {
    /// The mappings directory.
    pub dir: PathBuf,
    /// The running set.
    pub projects: ProjectsHandle,
    /// Jira, to verify the new set against.
    pub tracker: Arc<dyn DefectTracker>,
    /// Whether to verify against Jira.
    pub verify: bool,
    /// Which routes may serve requests (secrets are read at start-up only).
    pub auth: AuthSettings,
    /// Where each reload's verdict is recorded.
    pub checks: Arc<CheckLog>,
}

impl Reloader {
    /// Loads, checks and swaps in the mapping set, recording the verdict as
    /// started by `why`; returns the number of mappings now in force, or every
    /// problem (the old set stays).
    pub async fn reload(&self, why: &str) -> Result<usize, Vec<String>> {
        match self.check().await {
            Ok((projects, unverified)) => {
                let files = projects
                    .all()
                    .iter()
                    .map(|m| m.source.display().to_string())
                    .collect::<Vec<_>>();
                self.checks.served(why, files, &unverified, self.verify);
                let count = projects.len();
                self.projects.replace(projects);
                Ok(count)
            }
            Err(problems) => {
                self.checks.refused(why, &problems);
                Err(problems.iter().map(ToString::to_string).collect())
            }
        }
    }

    /// The servable check of the directory: the set, with the mappings Jira
    /// could not be asked about, or every problem.
    async fn check(&self) -> Result<(Projects, Vec<Unverified>), Vec<NotServable>> {
        let projects = servable::load(&self.dir, &self.auth)?;
        let unverified = if self.verify {
            servable::verify_for_serving(self.tracker.as_ref(), &projects).await?
        } else {
            Vec::new()
        };
        Ok((projects, unverified))
    }

    /// Reloads and logs the outcome.
    pub async fn reload_and_log(&self, why: &str) {
        match self.reload(why).await {
            Ok(count) => tracing::info!(why, mappings = count, "mapping files reloaded"),
            Err(problems) => {
                for problem in &problems {
                    tracing::error!(why, problem = %problem, "mapping reload refused; the previous mappings stay in force");
                }
            }
        }
    }
}

/// Reloads on every SIGHUP until aborted.
#[cfg(unix)]
pub fn spawn_on_sighup(reloader: Arc<Reloader>) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    Ok(tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            reloader.reload_and_log("SIGHUP").await;
        }
    }))
}

/// Reloads whenever the directory's files change (checked every `every`), until aborted.
///
/// Polls modification times rather than using OS file events: it works the
/// same on every platform and on Kubernetes ConfigMap volumes (symlink swaps).
/// `loaded` is the directory as it was when the running set was read, so an
/// edit made while the service was starting is reloaded at the first look.
pub fn spawn_watcher(
    reloader: Arc<Reloader>,
    every: Duration,
    loaded: MappingFiles,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut seen = loaded;
        let mut ticks = tokio::time::interval(every);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let now = MappingFiles::of(&reloader.dir);
            if now != seen {
                seen = now;
                reloader.reload_and_log("mapping files changed").await;
            }
        }
    })
}

/// What the watcher compares: each file of the mappings directory with its
/// modification time and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingFiles(Vec<(PathBuf, Option<SystemTime>, u64)>);

impl MappingFiles {
    /// The files of `dir` now (none when it cannot be read).
    pub fn of(dir: &Path) -> Self {
        Self(fingerprint(dir))
    }
}

fn fingerprint(dir: &Path) -> Vec<(PathBuf, Option<SystemTime>, u64)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let path = entry.path();
            let meta = std::fs::metadata(&path).ok()?;
            Some((path, meta.modified().ok(), meta.len()))
        })
        .collect();
    files.sort();
    files
}
