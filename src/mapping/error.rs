//! [`MappingError`]: what can be wrong with a mapping file.

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

impl MappingError {
    /// The file (or directory, when it could not be read) the problem is in.
    pub fn file(&self) -> &str {
        match self {
            Self::Io { file, .. }
            | Self::Syntax { file, .. }
            | Self::Invalid { file, .. }
            | Self::Render { file, .. }
            | Self::UnknownInJira { file, .. } => file,
        }
    }
}
