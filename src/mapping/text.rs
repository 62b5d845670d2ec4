//! Small text rules Jira imposes on single values: one-line summaries,
//! label syntax, character-boundary truncation.

pub use super::markdown::{strip_control, truncate_chars};

/// Folds all whitespace runs (newlines included) into single spaces, drops
/// control characters and trims: Jira rejects multi-line summaries.
pub fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Jira's label limit in characters.
pub const LABEL_MAX_CHARS: usize = 255;

/// Turns rendered text into a valid Jira label: no whitespace (replaced by
/// `-`), no control characters, at most 255 characters; may return "".
pub fn sanitize_label(s: &str) -> String {
    let joined = s
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    joined.chars().take(LABEL_MAX_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn one_line_folds_newlines_and_controls() {
        assert_eq!(one_line("  a\n\tb\u{0}c  d "), "a b c d");
    }

    #[test]
    fn labels_have_no_blanks() {
        assert_eq!(
            sanitize_label(" SHOP:42 nightly run\n"),
            "SHOP:42-nightly-run"
        );
        assert_eq!(sanitize_label(" \n "), "");
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate_chars("héllo", 10), "héllo");
        assert_eq!(truncate_chars("héllo", 3), "hé…");
        assert_eq!(truncate_chars("👍👍👍", 2), "👍…");
    }

    proptest! {
        #[test]
        fn truncation_never_exceeds_the_limit(s in "\\PC*", max in 0usize..300) {
            let out = truncate_chars(&s, max);
            prop_assert!(out.chars().count() <= max);
        }

        #[test]
        fn labels_are_always_valid(s in "\\PC*") {
            let label = sanitize_label(&s);
            prop_assert!(label.chars().count() <= LABEL_MAX_CHARS);
            prop_assert!(!label.chars().any(|c| c.is_whitespace() || c.is_control()));
        }
    }
}
