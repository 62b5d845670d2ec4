//! Small text rules Jira imposes on single values: one-line summaries,
//! label syntax, control-character stripping, character-boundary truncation.

/// Returns `s` without control characters (Unicode category Cc: C0, DEL and
/// C1), except `'\n'` and `'\t'` which are kept.
///
/// Jira rejects some control characters in both ADF and wiki bodies; other
/// characters, including emoji, RTL text and bidi formatting marks (Cf), are
/// kept unchanged.
pub fn strip_control(s: &str) -> String {
    s.chars()
        .filter(|&c| !c.is_control() || c == '\n' || c == '\t')
        .collect()
}

/// Cuts `s` to at most `max_chars` Unicode scalar values.
///
/// If `s` already fits it is returned unchanged. Otherwise the result is the
/// longest prefix of `s` that leaves room for a trailing `…`, followed by
/// `…`; the ellipsis counts toward the limit. With `max_chars == 0` the result
/// is empty (there is no room even for the ellipsis).
pub fn truncate_chars(s: &str, max_chars: usize) -> String {
    if s.char_indices().nth(max_chars).is_none() {
        return s.to_owned();
    }
    if max_chars == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(max_chars - 1).collect();
    out.push('…');
    out
}

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
    fn strip_control_keeps_newline_tab_emoji_rtl() {
        assert_eq!(
            strip_control("a\u{0}b\u{7}c\u{1b}[0m\u{7f}\u{85}\nd\te😀 שלום \u{200f}"),
            "abc[0m\nd\te😀 שלום \u{200f}"
        );
        assert_eq!(strip_control(""), "");
    }

    #[test]
    fn truncate_chars_cases() {
        assert_eq!(truncate_chars("hello", 5), "hello");
        assert_eq!(truncate_chars("hello", 6), "hello");
        assert_eq!(truncate_chars("hello", 4), "hel…");
        assert_eq!(truncate_chars("hello", 1), "…");
        assert_eq!(truncate_chars("hello", 0), "");
        assert_eq!(truncate_chars("", 0), "");
        assert_eq!(truncate_chars("😀😀😀", 2), "😀…");
        assert_eq!(truncate_chars("שלום", 3), "של…");
    }

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

        #[test]
        fn truncate_is_bounded_prefix(s in any::<String>(), max in 0usize..40) {
            let t = truncate_chars(&s, max);
            prop_assert!(t.chars().count() <= max);
            if t == s {
                prop_assert!(s.chars().count() <= max);
            } else {
                let body = t.strip_suffix('…').unwrap_or(&t);
                prop_assert!(s.starts_with(body));
                prop_assert!(max == 0 || t.ends_with('…'));
            }
        }

        #[test]
        fn strip_control_leaves_no_controls(s in any::<String>()) {
            let t = strip_control(&s);
            prop_assert!(t.chars().all(|c| !c.is_control() || c == '\n' || c == '\t'));
        }
    }
}
