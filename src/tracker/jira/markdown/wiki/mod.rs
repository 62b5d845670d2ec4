//! Markdown → Jira wiki markup (Jira Data Center / Server).
//!
//! Owns the wiki conversion and, above all, its escaping: every character of
//! user text that wiki markup could interpret is neutralised, so a test
//! failure message containing `{color:red}`, `[~admin]`, `!image.png!` or
//! `||a||` renders literally instead of styling, linking, mentioning or
//! embedding. Structure comes only from the Markdown we parsed, never from
//! the text.
//!
//! Wiki markup has no nesting for block quotes or multi-block list items, so
//! those are approximated (see [`to_wiki`]). The event-stream writer is
//! `writer`, the escaping rules `escape`, and the `{code}` macro's
//! languages `code_language`.

mod code_language;
mod escape;
mod writer;

use super::fit::{fit, truncation_notice};
use super::parse::parser;
use crate::mapping::text::truncate_chars;
use writer::Writer;

/// Converts CommonMark (plus GFM tables, strikethrough and task lists) to Jira
/// wiki markup.
///
/// Produces `h1.`–`h6.` headings, `*bold*`, `_italic_`, `-strike-`,
/// `{{code}}`, `{code:lang}`/`{code}`/`{noformat}` blocks, `*`/`#` lists
/// nested by prefix, `[text|url]` links, `{quote}` blocks, `----`, `||h||` /
/// `|c|` tables and `\\` hard breaks. User text is escaped: `*_-+^~?{}[]|!#`
/// get a backslash, a literal backslash becomes `&#92;` (a doubled backslash
/// would be a line break), `h1.`/`bq.` at a line start get a leading
/// backslash, `(x)`-style emoticons are defused, and bare `http(s)://` URLs
/// become `[url]` links because escaping would break Jira's auto-linking.
/// Control characters other than `\n`/`\t` are removed.
///
/// Approximations: list items are one line (later paragraphs follow a `\\`),
/// block quotes inside lists are inlined, nested quotes merge into one, an
/// ordered list's start number is lost, images become links, raw HTML is
/// escaped text and task markers become `☐ `/`☑ `. The result has no trailing
/// newline; empty input gives an empty string. Never panics.
pub fn to_wiki(markdown: &str) -> String {
    let mut writer = Writer::default();
    for event in parser(markdown) {
        writer.event(event);
    }
    writer.finish()
}

/// Like [`to_wiki`], but the result has at most `max_chars` characters.
///
/// When the full conversion is too long, the Markdown is cut (at a line
/// boundary where reasonable) and a final paragraph
/// `_(truncated by tm-defect-bridge: N characters omitted)_` is appended, with
/// `N` counting omitted input characters. Input longer than eight times
/// `max_chars` is not rendered in full but cut straight away, which keeps
/// megabyte inputs fast. If not even the notice fits, the
/// notice itself is cut with [`truncate_chars`], so the limit always holds.
pub fn to_wiki_limited(markdown: &str, max_chars: usize) -> String {
    let render = |prefix: &str, omitted: Option<usize>| {
        let mut out = to_wiki(prefix);
        if let Some(n) = omitted {
            let notice = to_wiki(&truncation_notice(n));
            if !out.is_empty() {
                out.push_str("\n\n");
            }
            out.push_str(&notice);
        }
        let len = out.chars().count();
        (out, len)
    };
    fit(markdown, max_chars, render).unwrap_or_else(|| {
        let omitted = markdown.chars().count();
        truncate_chars(&to_wiki(&truncation_notice(omitted)), max_chars)
    })
}

#[cfg(test)]
mod tests;
