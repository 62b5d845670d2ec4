//! `preview`: fetches a real failure from Test Manager and shows the exact
//! Jira request the bridge would send for it — creating nothing.

use crate::config::Settings;
use crate::defects::preview_for;
use crate::mapping::Projects;
use crate::result_key::ResultKey;
use serde::Serialize;

/// What would be sent to Jira.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Preview {
    /// The mapping file used.
    pub mapping: String,
    /// `POST` target of the create.
    pub url: String,
    /// The exact JSON body of the create.
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
    /// The rendered description, before conversion to ADF or wiki markup.
    pub description_markdown: String,
    /// The label that marks the result.
    pub label: String,
}

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
    Adapters(#[from] crate::adapters::AdapterError),
    /// Test Manager, the mapping or Jira's field list failed.
    #[error(transparent)]
    Defect(#[from] crate::defects::DefectError),
}

/// Builds the preview of `key` for `project` (route, GUID or prefix).
pub async fn preview(
    settings: &Settings,
    project: &str,
    key: &ResultKey,
) -> Result<Preview, PreviewError> {
    let projects = Projects::load_dir(&settings.mappings.dir).map_err(PreviewError::Mappings)?;
    let mapping = projects
        .by_route(project)
        .or_else(|| projects.by_id_or_prefix(project))
        .cloned()
        .ok_or_else(|| PreviewError::UnknownProject(project.to_owned()))?;
    let adapters = crate::adapters::build(settings)?;
    let preview = preview_for(
        &mapping,
        adapters.testmanager.as_ref(),
        adapters.tracker.as_ref(),
        key,
        None,
    )
    .await?;
    Ok(Preview {
        mapping: mapping.source.display().to_string(),
        url: preview.url,
        body: preview.body,
        description_markdown: preview.description_markdown,
        label: preview.label,
    })
}
