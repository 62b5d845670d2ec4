//! Markdown rendering for Jira: the adapter's rich-text wire formats.
//!
//! Mapping templates render CommonMark; Jira wants either Atlassian Document
//! Format (Cloud, REST v3, see [`adf`]) or wiki markup (Data Center, see
//! [`wiki`]). Only the Jira adapter encodes drafts, so the converters live
//! here rather than in `mapping`. What both renderers share has its own
//! files: the parser configuration (`parse`), the truncation notice and the
//! "shrink the input until the output fits Jira's field limit" loop (`fit`),
//! and images (`image`). Plain-text rules
//! (control-character stripping, character truncation) are
//! [`crate::mapping::text`]'s.
//!
//! Every function in these modules is total: any `&str` input produces an
//! output, nothing panics, and nothing recurses on input-controlled depth.

pub mod adf;
mod fit;
mod image;
mod parse;
#[cfg(test)]
mod soup;
pub mod wiki;

pub use adf::{to_adf, to_adf_limited};
pub use wiki::{to_wiki, to_wiki_limited};

/// Jira's maximum length of a description or multi-line text field, in
/// characters. Use it as `max_chars` for the `*_limited` functions.
pub const JIRA_FIELD_LIMIT: usize = 32_767;
