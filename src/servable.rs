//! Whether a set of mapping files can be served.
//!
//! Start-up, reload and `check` ask the same three questions of a mapping
//! directory, and this module is the one place that answers them:
//! - do the files load, and do their templates render a sample failure
//!   ([`load`], through [`Projects::load_dir`]);
//! - does every route have a webhook secret ([`unsecured_routes`]);
//! - does every mapping match Jira's metadata ([`verify_against_jira`]).
//!
//! Each caller decides what a finding means for it: start-up refuses to
//! start, reload keeps the running set, `check` lists everything.

use crate::config::AuthSettings;
use crate::mapping::{MappingError, Projects};
use crate::tracker::{DefectTracker, TargetSpec, TrackerError};

/// Why a set of mappings cannot be served. Each message names the file and
/// what to do.
#[derive(Debug, thiserror::Error)]
pub enum NotServable {
    /// A file does not load, a template does not render, or a mapping names
    /// something Jira does not have.
    #[error(transparent)]
    Mapping(#[from] MappingError),
    /// A route has no webhook secret and unauthenticated calls are not allowed.
    #[error("{file}: project route `{route}` has no webhook secret: set {} (or a file in auth.secrets_dir) before the service starts, or set auth.allow_unauthenticated = true", AuthSettings::secret_variable(.route))]
    NoSecret {
        /// The mapping file.
        file: String,
        /// The route.
        route: String,
    },
}

impl NotServable {
    /// The mapping file the problem is in (the directory, when it could not be read).
    pub fn file(&self) -> &str {
        match self {
            Self::Mapping(e) => e.file(),
            Self::NoSecret { file, .. } => file,
        }
    }
}

/// A mapping that could not be compared with Jira because Jira could not be asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unverified {
    /// The mapping file.
    pub file: String,
    /// Why Jira could not be asked.
    pub reason: String,
}

/// What comparing the mappings with Jira found.
#[derive(Debug, Default)]
pub struct JiraVerification {
    /// Mappings that name something Jira does not have, or that Jira refused to show.
    pub problems: Vec<NotServable>,
    /// Mappings Jira could not be asked about (unreachable, rate-limited, 5xx).
    pub unverified: Vec<Unverified>,
}

/// Loads every mapping file in `dir` and checks that every route has a
/// webhook secret; returns the set, or every problem found.
pub fn load(dir: &std::path::Path, auth: &AuthSettings) -> Result<Projects, Vec<NotServable>> {
    let projects = Projects::load_dir(dir).map_err(|problems| {
        problems
            .into_iter()
            .map(NotServable::from)
            .collect::<Vec<_>>()
    })?;
    let unsecured = unsecured_routes(&projects, auth);
    if unsecured.is_empty() {
        Ok(projects)
    } else {
        Err(unsecured)
    }
}

/// Every mapping whose route would refuse all calls: no webhook secret, and
/// unauthenticated calls not allowed.
pub fn unsecured_routes(projects: &Projects, auth: &AuthSettings) -> Vec<NotServable> {
    projects
        .all()
        .iter()
        .filter(|mapping| !auth.serves(&mapping.route))
        .map(|mapping| NotServable::NoSecret {
            file: mapping.source.display().to_string(),
            route: mapping.route.clone(),
        })
        .collect()
}

/// Compares every mapping with Jira's create metadata.
///
/// A sign-in or permission failure is a problem of the mapping (Jira answered,
/// and said no); an unreachable, rate-limited or failing Jira leaves the
/// mapping [`Unverified`] (Jira checks the issue again when it is created).
pub async fn verify_against_jira(
    tracker: &dyn DefectTracker,
    projects: &Projects,
) -> JiraVerification {
    let mut verification = JiraVerification::default();
    for mapping in projects.all() {
        let spec = TargetSpec {
            file: mapping.source.display().to_string(),
            project_key: mapping.jira_project.clone(),
            issue_type: mapping.issue_type.clone(),
            priorities: mapping.priorities.clone(),
            kpi_priorities: mapping
                .kpis
                .critical_priorities
                .iter()
                .chain(&mapping.kpis.moderate_priorities)
                .cloned()
                .collect(),
            components: mapping.components.clone(),
            custom_fields: mapping.custom_field_names.clone(),
        };
        let unknown = |key: String, message: String| {
            NotServable::Mapping(MappingError::UnknownInJira {
                file: spec.file.clone(),
                key,
                message,
            })
        };
        match tracker.verify_target(&spec).await {
            Ok(found) => verification
                .problems
                .extend(found.into_iter().map(|p| unknown(p.key, p.message))),
            Err(e @ (TrackerError::Auth { .. } | TrackerError::Rejected { .. })) => verification
                .problems
                .push(unknown("jira".into(), format!("cannot be checked: {e}"))),
            Err(e) => verification.unverified.push(Unverified {
                file: spec.file.clone(),
                reason: e.to_string(),
            }),
        }
    }
    verification
}

/// [`verify_against_jira`] as start-up and reload use it: mappings Jira
/// could not be asked about are logged and let through (Jira checks each
/// issue when it is created) and returned; every problem is returned instead.
pub async fn verify_for_serving(
    tracker: &dyn DefectTracker,
    projects: &Projects,
) -> Result<Vec<Unverified>, Vec<NotServable>> {
    let verification = verify_against_jira(tracker, projects).await;
    for unverified in &verification.unverified {
        tracing::warn!(file = %unverified.file, error = %unverified.reason, "could not verify the mapping against Jira now; continuing");
    }
    if verification.problems.is_empty() {
        Ok(verification.unverified)
    } else {
        Err(verification.problems)
    }
}
