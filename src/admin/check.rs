//! `check`: loads the configuration and every mapping, signs in to Jira and
//! Test Manager, verifies each mapping against Jira's create metadata, and
//! reports every problem found (file, key, what to do).

use super::report::{CheckReport, Finding};
use crate::config::Settings;
use crate::defects::CrashWindow;
use crate::mapping::Projects;
use crate::servable;
use crate::startup::StartupError::StaleBeforeTimeout;
use crate::testmanager::TestManager;
use crate::tracker::DefectTracker;
use std::path::Path;
use std::process::ExitCode;

/// Runs every check; never stops at the first problem.
pub async fn check(settings: &Settings) -> CheckReport {
    let mut report = CheckReport::default();
    crash_window(settings, &mut report);
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
        report
            .problems
            .extend(mapping_findings(servable::unsecured_routes(
                projects,
                &settings.auth,
            )));
    }
    let adapters = match crate::startup::adapters::build(settings) {
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
        let verification = servable::verify_against_jira(adapters.tracker.as_ref(), projects).await;
        let verified_all = verification.problems.is_empty() && verification.unverified.is_empty();
        report
            .problems
            .extend(mapping_findings(verification.problems));
        report
            .problems
            .extend(verification.unverified.into_iter().map(|u| Finding {
                place: u.file,
                message: format!("could not be compared with Jira's metadata: {}", u.reason),
            }));
        if verified_all {
            report.verified.push("every mapped project, issue type, priority, component and custom field exists in Jira, and every required field is mapped".into());
        }
        if settings.writeback.enabled {
            super::check_writeback::check(settings, &adapters, projects, &mut report).await;
        }
    }
    report
}

/// How long a repeat waits after a crash before it believes Jira's "not found",
/// or the problem when a live create could be taken over (start-up refuses that).
fn crash_window(settings: &Settings, report: &mut CheckReport) {
    let window = CrashWindow::from_settings(settings);
    if window.takeover_is_safe() {
        report.verified.push(format!(
            "claims and searches after a crash are consistent: {window}"
        ));
    } else {
        report.problems.push(Finding {
            place: "[defects]".into(),
            message: format!(
                "{} (serve refuses to start)",
                StaleBeforeTimeout {
                    relation: window.to_string()
                }
            ),
        });
    }
}

fn mapping_findings(problems: Vec<servable::NotServable>) -> impl Iterator<Item = Finding> {
    problems.into_iter().map(|p| Finding {
        place: "mappings".into(),
        message: p.to_string(),
    })
}

/// The `check` command: prints what was verified and every problem; exit 1 when there is a problem.
pub async fn run(settings: &Settings, config: &Path) -> ExitCode {
    let report = check(settings).await;
    for line in &report.verified {
        println!("ok: {line}");
    }
    for note in &report.notes {
        println!("note: {note}");
    }
    for problem in &report.problems {
        println!("problem: {problem}");
    }
    if report.problems.is_empty() {
        println!("configuration {} is good", config.display());
        ExitCode::SUCCESS
    } else {
        println!(
            "{} problem(s) in {}",
            report.problems.len(),
            config.display()
        );
        ExitCode::from(1)
    }
}
