//! `preview`: fetches a real failure from Test Manager and shows the exact
//! Jira request the bridge would send for it — creating nothing.

use crate::config::Settings;
use crate::defects::{preview_for, DefectPreview};
use crate::mapping::Projects;
use crate::result_key::ResultKey;
use std::process::ExitCode;

/// Why a preview could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    /// The mappings do not load.
    #[error("mapping files are invalid:\n{}", .0.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n"))]
    Mappings(Vec<crate::mapping::MappingError>),
    /// No mapping matches the project given.
    #[error("no mapping file serves project `{0}` (give its route, GUID or prefix)")]
    UnknownProject(String),
    /// The adapters could not be built.
    #[error(transparent)]
    Adapters(#[from] crate::startup::adapters::AdapterError),
    /// Test Manager, the mapping or Jira's field list failed.
    #[error(transparent)]
    Defect(#[from] crate::defects::DefectError),
}

/// Builds the preview of `key` for `project` (route, GUID or prefix).
pub async fn preview(
    settings: &Settings,
    project: &str,
    key: &ResultKey,
) -> Result<DefectPreview, PreviewError> {
    let projects = Projects::load_dir(&settings.mappings.dir).map_err(PreviewError::Mappings)?;
    let mapping = projects
        .by_route(project)
        .or_else(|| projects.by_id_or_prefix(project))
        .cloned()
        .ok_or_else(|| PreviewError::UnknownProject(project.to_owned()))?;
    let adapters = crate::startup::adapters::build(settings)?;
    Ok(preview_for(
        &mapping,
        adapters.testmanager.as_ref(),
        adapters.tracker.as_ref(),
        key,
        None,
    )
    .await?)
}

/// The `preview` command: prints the preview of `key` for `project`; exit 1 when it cannot be made.
pub async fn run(settings: &Settings, project: &str, key: &ResultKey) -> ExitCode {
    match preview(settings, project, key).await {
        Ok(preview) => {
            println!("# Mapping: {}", preview.mapping);
            println!("# Result label: {}", preview.label);
            println!(
                "# Rendered Markdown (description):\n{}",
                preview.description_markdown
            );
            println!(
                "# Nothing was created. The bridge would send:\nPOST {}",
                preview.url
            );
            println!(
                "{}",
                serde_json::to_string_pretty(&preview.body).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
