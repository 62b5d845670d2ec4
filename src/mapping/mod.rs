//! Mapping files: how a Test Manager project's failures become Jira issues.
//!
//! Owns the mapping file format ([`schema`]), its validation and template
//! compilation ([`project`]), the dashboard counts' settings ([`kpi`]), the write-back
//! rules ([`writeback`]), the loaded set ([`registry`]), the `Failure`
//! model templates render from ([`failure`]), the rendered [`IssueDraft`]
//! ([`draft`]), and the plain-text rules Jira imposes on single values
//! ([`text`]). Descriptions stay Markdown here; turning them into Jira's
//! rich-text formats is the Jira adapter's job (`tracker::jira::markdown`).

pub mod draft;
mod error;
pub mod evidence;
pub mod failure;
pub mod kpi;
pub mod project;
pub mod registry;
pub mod schema;
pub mod text;
pub mod writeback;

#[cfg(test)]
mod tests;

pub use draft::{FieldValue, IssueDraft};
pub use error::MappingError;
pub use evidence::EvidencePolicy;
pub use failure::Failure;
pub use kpi::{CountMode, KpiSpec};
pub use project::ProjectMapping;
pub use registry::{Projects, ProjectsHandle};
pub use writeback::{TmValues, WritebackRules};
