//! The last servable check of each mapping file: whether the files in force
//! passed (loaded, rendered, had a webhook secret, matched Jira), and what a
//! refused reload found wrong.
//!
//! Start-up and every reload (SIGHUP, or a change seen by the watcher) run the
//! check of [`crate::servable`] and write its verdict here; the operator's
//! page reads it. A refused reload changes nothing in force, so the files it
//! found no fault with keep their earlier verdict, and the run itself is kept
//! as [`CheckLog::last_run`].

use crate::servable::{NotServable, Unverified};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// What one check concluded about one mapping file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Verdict {
    /// Loads, renders a sample failure, has a webhook secret, matches Jira's metadata.
    Passed,
    /// Passed everything but the comparison with Jira, which is off (`jira.verify_on_start = false`).
    PassedWithoutJira,
    /// Passed everything but the comparison with Jira, which could not be asked.
    Unverified {
        /// Why Jira could not be asked.
        reason: String,
    },
    /// Refused, for these reasons (each names the file and what to do).
    Failed {
        /// The problems found.
        problems: Vec<String>,
    },
}

/// The verdict of one check on one file, and when and why the check ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileCheck {
    /// When the check ran.
    pub at: DateTime<Utc>,
    /// What started it: `start-up`, `SIGHUP`, `mapping files changed`.
    pub trigger: String,
    /// What it concluded.
    pub verdict: Verdict,
}

/// One check of the whole mappings directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckRun {
    /// When it ran.
    pub at: DateTime<Utc>,
    /// What started it.
    pub trigger: String,
    /// Whether its set of mappings went into force (a refused one leaves the previous set).
    pub served: bool,
}

#[derive(Debug, Default)]
struct Checks {
    last_run: Option<CheckRun>,
    files: BTreeMap<String, FileCheck>,
}

/// The latest check of each mapping file, shared by start-up, reloads and the page.
#[derive(Debug, Default)]
pub struct CheckLog {
    checks: Mutex<Checks>,
}

impl CheckLog {
    /// Records a check whose set went into force: `files` are the mapping files
    /// now served, `unverified` those Jira could not be asked about, and
    /// `with_jira` whether Jira was asked at all. Files no longer served are forgotten.
    pub fn served(
        &self,
        trigger: &str,
        files: impl IntoIterator<Item = String>,
        unverified: &[Unverified],
        with_jira: bool,
    ) {
        let at = Utc::now();
        let verdict = |file: &str| match unverified.iter().find(|u| u.file == file) {
            Some(u) => Verdict::Unverified {
                reason: u.reason.clone(),
            },
            None if with_jira => Verdict::Passed,
            None => Verdict::PassedWithoutJira,
        };
        let files = files
            .into_iter()
            .map(|file| {
                let check = FileCheck {
                    at,
                    trigger: trigger.to_owned(),
                    verdict: verdict(&file),
                };
                (file, check)
            })
            .collect();
        *self.lock() = Checks {
            last_run: Some(CheckRun {
                at,
                trigger: trigger.to_owned(),
                served: true,
            }),
            files,
        };
    }

    /// Records a check that refused its set for `problems`: each file named by
    /// a problem gets them as its verdict; the other files keep theirs.
    pub fn refused(&self, trigger: &str, problems: &[NotServable]) {
        let at = Utc::now();
        let mut by_file: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for problem in problems {
            by_file
                .entry(problem.file().to_owned())
                .or_default()
                .push(problem.to_string());
        }
        let mut checks = self.lock();
        checks.last_run = Some(CheckRun {
            at,
            trigger: trigger.to_owned(),
            served: false,
        });
        for (file, problems) in by_file {
            let check = FileCheck {
                at,
                trigger: trigger.to_owned(),
                verdict: Verdict::Failed { problems },
            };
            checks.files.insert(file, check);
        }
    }

    /// The latest check of the whole directory, if any ran.
    pub fn last_run(&self) -> Option<CheckRun> {
        self.lock().last_run.clone()
    }

    /// The latest check of each file, by file.
    pub fn files(&self) -> BTreeMap<String, FileCheck> {
        self.lock().files.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Checks> {
        self.checks.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::MappingError;

    fn files(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn a_served_set_replaces_every_verdict() {
        let log = CheckLog::default();
        log.served("start-up", files(&["a.toml", "gone.toml"]), &[], true);
        let unverified = [Unverified {
            file: "b.toml".into(),
            reason: "Jira is unreachable".into(),
        }];
        log.served("SIGHUP", files(&["a.toml", "b.toml"]), &unverified, true);
        let checks = log.files();
        assert_eq!(checks.keys().collect::<Vec<_>>(), ["a.toml", "b.toml"]);
        assert_eq!(checks["a.toml"].verdict, Verdict::Passed);
        assert_eq!(checks["a.toml"].trigger, "SIGHUP");
        assert_eq!(
            checks["b.toml"].verdict,
            Verdict::Unverified {
                reason: "Jira is unreachable".into()
            }
        );
        log.served("SIGHUP", files(&["a.toml"]), &[], false);
        assert_eq!(log.files()["a.toml"].verdict, Verdict::PassedWithoutJira);
    }

    #[test]
    fn a_refused_reload_marks_the_faulty_files_and_keeps_the_others() {
        let log = CheckLog::default();
        log.served("start-up", files(&["a.toml", "b.toml"]), &[], true);
        let problem = NotServable::Mapping(MappingError::Invalid {
            file: "b.toml".into(),
            key: "jira.issue_type".into(),
            message: "is empty".into(),
        });
        log.refused("mapping files changed", &[problem]);
        let checks = log.files();
        assert_eq!(checks["a.toml"].verdict, Verdict::Passed);
        assert_eq!(checks["a.toml"].trigger, "start-up");
        assert_eq!(
            checks["b.toml"].verdict,
            Verdict::Failed {
                problems: vec!["b.toml: `jira.issue_type` is empty".into()]
            }
        );
        let run = log.last_run().unwrap();
        assert_eq!(
            (run.trigger.as_str(), run.served),
            ("mapping files changed", false)
        );
    }
}
