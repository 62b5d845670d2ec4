//! `check`: loads the configuration and every mapping, signs in to Jira and
//! Test Manager, verifies each mapping against Jira's create metadata, and
//! reports every problem found (file, key, what to do).

use crate::config::{AuthSettings, Settings};
use crate::mapping::Projects;
use crate::startup::{verify_mappings, StartupError};
use crate::testmanager::TestManager;
use crate::tracker::DefectTracker;
use std::fmt;

/// One problem `check` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Where: a file, or a section of the configuration.
    pub place: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

/// What `check` found, and what it verified.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Problems; empty means the configuration is good.
    pub problems: Vec<Finding>,
    /// What was verified, for the operator.
    pub verified: Vec<String>,
}

/// Runs every check; never stops at the first problem.
pub async fn check(settings: &Settings) -> CheckReport {
    let mut report = CheckReport::default();
    let projects = match Projects::load_dir(&settings.mappings.dir) {
        Ok(projects) => {
            report.verified.push(format!(
                "{} mapping file(s) in {} load, and their templates render a sample failure",
                projects.len(),
                settings.mappings.dir.display()
            ));
            Some(projects)
        }
        Err(problems) => {
            report
                .problems
                .extend(problems.into_iter().map(|p| Finding {
                    place: "mappings".into(),
                    message: p.to_string(),
                }));
            None
        }
    };
    if let Some(projects) = &projects {
        for mapping in projects.all() {
            if !settings.auth.serves(&mapping.route) {
                report.problems.push(Finding {
                    place: mapping.source.display().to_string(),
                    message: format!(
                        "route `{}` has no webhook secret: set {} (or a file in auth.secrets_dir)",
                        mapping.route,
                        AuthSettings::secret_variable(&mapping.route)
                    ),
                });
            }
        }
    }
    let adapters = match crate::adapters::build(settings) {
        Ok(adapters) => adapters,
        Err(e) => {
            report.problems.push(Finding {
                place: "configuration".into(),
                message: e.to_string(),
            });
            return report;
        }
    };
    let (jira, tm) = tokio::join!(adapters.tracker.probe(), adapters.testmanager.probe());
    match jira {
        Ok(()) => report
            .verified
            .push(format!("signed in to Jira at {}", settings.jira.base_url)),
        Err(e) => report.problems.push(Finding {
            place: "[jira]".into(),
            message: format!("cannot sign in: {e}"),
        }),
    }
    match tm {
        Ok(()) => report.verified.push(format!(
            "signed in to Test Manager at {}",
            settings.testmanager.base_url
        )),
        Err(e) => report.problems.push(Finding {
            place: "[testmanager]".into(),
            message: format!("cannot sign in: {e}"),
        }),
    }
    if let Some(projects) = &projects {
        match verify_mappings(adapters.tracker.as_ref(), projects).await {
            Ok(()) => report
                .verified
                .push("every mapped project, issue type, priority, component and custom field exists in Jira, and every required field is mapped".into()),
            Err(StartupError::Mappings(problems)) => report.problems.extend(problems.into_iter().map(|p| Finding {
                place: "mappings".into(),
                message: p.to_string(),
            })),
            Err(e) => report.problems.push(Finding {
                place: "mappings".into(),
                message: e.to_string(),
            }),
        }
    }
    report
}
