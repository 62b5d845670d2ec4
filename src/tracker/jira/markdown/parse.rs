//! The Markdown dialect both renderers read, and how deep they nest.

use pulldown_cmark::{Options, Parser};

/// Deepest nesting of block containers (lists, list items, block quotes)
/// that is reproduced in the output; anything deeper is flattened into the
/// deepest kept container. Jira renders nothing sensible past this, and
/// bounding it keeps the JSON value shallow enough for serde_json's
/// recursive serialiser and `Drop`.
pub(super) const MAX_NESTING: usize = 24;

/// The parser both renderers consume, with the GFM extensions we promise
/// (tables, strikethrough, task lists) and nothing else: footnotes, math and
/// metadata blocks would need constructs Jira does not have.
pub(super) fn parser(markdown: &str) -> Parser<'_> {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    Parser::new_ext(markdown, options)
}
