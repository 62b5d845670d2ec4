//! Mapping files: how a Test Manager project's failures become Jira issues.
//!
//! Owns the mapping file format ([`schema`]), its validation and template
//! compilation ([`project`]), the dashboard counts' settings ([`kpi`]), the write-back
//! rules ([`writeback`]), the loaded set ([`registry`]), the `Failure`
//! model templates render from ([`failure`]), the rendered [`IssueDraft`]
//! ([`draft`]), and the text rules and Markdown converters the Jira adapter
//! uses to encode a draft ([`text`], [`markdown`]).

pub mod draft;
pub mod evidence;
pub mod failure;
pub mod kpi;
pub mod markdown;
pub mod project;
pub mod registry;
pub mod schema;
pub mod text;
pub mod writeback;

#[cfg(test)]
mod tests;

pub use draft::{FieldValue, IssueDraft};
pub use evidence::EvidencePolicy;
pub use failure::Failure;
pub use kpi::{CountMode, KpiSpec};
pub use project::ProjectMapping;
pub use registry::{Projects, ProjectsHandle};
pub use writeback::{TmValues, WritebackRules};

/// A mapping file problem. Every variant names the file; most name the key.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MappingError {
    /// The file or directory could not be read.
    #[error("{file}: cannot read: {message}")]
    Io {
        /// File or directory.
        file: String,
        /// The I/O error.
        message: String,
    },
    /// The file is not valid TOML, or has unknown or missing keys.
    #[error("{file}: {message}")]
    Syntax {
        /// File.
        file: String,
        /// Parser message, with line and column.
        message: String,
    },
    /// A value is wrong.
    #[error("{file}: `{key}` {message}")]
    Invalid {
        /// File.
        file: String,
        /// Dotted key.
        key: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// A template failed to render.
    #[error("{file}: template `{key}` failed: {message}")]
    Render {
        /// File.
        file: String,
        /// Dotted key of the template.
        key: String,
        /// minijinja's message.
        message: String,
    },
    /// Jira does not know something the mapping refers to.
    #[error("{file}: `{key}` {message}")]
    UnknownInJira {
        /// File.
        file: String,
        /// Dotted key.
        key: String,
        /// What Jira lacks, and what it offers instead.
        message: String,
    },
}
