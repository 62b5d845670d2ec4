//! Keeping a rendering under Jira's field limit: cut the Markdown, not the
//! output, so the result stays valid ADF or wiki markup, and say what was cut.

/// The Markdown appended as the last paragraph when input had to be cut.
pub(super) fn truncation_notice(omitted_chars: usize) -> String {
    format!("_(truncated by tm-defect-bridge: {omitted_chars} characters omitted)_")
}

/// Upper bound on conversion attempts in [`fit`]; each attempt shrinks the
/// kept input geometrically, so this is never reached in practice but keeps
/// the loop provably finite.
const MAX_FIT_ROUNDS: usize = 48;

/// Input longer than this many times the output limit is not rendered in
/// full: its first `max_chars * PRECUT_FACTOR` characters already render to
/// far more than the limit for any realistic Markdown (Jira output is rarely
/// much shorter than its source), and rendering megabytes only to throw them
/// away is what would make large inputs slow.
const PRECUT_FACTOR: usize = 8;

/// Finds a long prefix of `markdown` whose rendering fits in `max_chars`.
///
/// `render(prefix, omitted)` renders `prefix` (with the truncation notice for
/// `omitted` characters when `Some`) and reports the rendered size in
/// characters. Returns `None` when not even an empty prefix plus the notice
/// fits, so the caller can pick its own last resort.
///
/// Rendering is linear in the input, so the search must not be: the first cut
/// is a proportional estimate from the full rendering (or from a pre-cut
/// prefix for huge inputs), and each further round shrinks by at least 1/16
/// as well as proportionally to the remaining overflow, giving a handful of
/// rounds even for multi-megabyte input.
pub(super) fn fit<T>(
    markdown: &str,
    max_chars: usize,
    render: impl Fn(&str, Option<usize>) -> (T, usize),
) -> Option<T> {
    let total = markdown.chars().count();
    let precut = max_chars.saturating_mul(PRECUT_FACTOR).max(1024);
    let mut budget = if total > precut {
        precut
    } else {
        let (full, len) = render(markdown, None);
        if len <= max_chars {
            return Some(full);
        }
        scale(total, max_chars, len)
    };
    for round in 0..MAX_FIT_ROUNDS {
        if round + 1 == MAX_FIT_ROUNDS {
            budget = 0;
        }
        let (prefix, kept) = cut_at_line(markdown, budget);
        let (out, len) = render(prefix, Some(total.saturating_sub(kept)));
        if len <= max_chars {
            return Some(out);
        }
        if kept == 0 {
            return None;
        }
        let geometric = kept.saturating_sub(1 + kept / 16);
        budget = scale(kept, max_chars, len).min(geometric);
    }
    None
}

/// `n * max / len`, minus a small margin because markup overhead is not
/// perfectly proportional; computed in u128 so huge sizes cannot overflow.
fn scale(n: usize, max: usize, len: usize) -> usize {
    if len == 0 {
        return n;
    }
    let scaled = (n as u128) * (max as u128) / (len as u128);
    let with_margin = scaled - scaled / 16;
    usize::try_from(with_margin).unwrap_or(usize::MAX)
}

/// Prefix of `markdown` with at most `max_chars` characters, preferring to end
/// before a line break so the cut does not split a line's inline markup; the
/// line preference is abandoned if it would throw away more than half.
/// Returns the prefix and its length in characters.
fn cut_at_line(markdown: &str, max_chars: usize) -> (&str, usize) {
    let byte_end = markdown
        .char_indices()
        .nth(max_chars)
        .map_or(markdown.len(), |(i, _)| i);
    let head = markdown.get(..byte_end).unwrap_or_default();
    let cut = match head.rfind('\n') {
        Some(nl) if nl >= byte_end / 2 => nl,
        _ => byte_end,
    };
    let prefix = markdown.get(..cut).unwrap_or_default();
    (prefix, prefix.chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_at_line_prefers_line_boundary() {
        assert_eq!(cut_at_line("abc\ndefgh", 7), ("abc", 3));
        assert_eq!(cut_at_line("a\nbcdefgh", 7), ("a\nbcdef", 7));
        assert_eq!(cut_at_line("abc", 10), ("abc", 3));
        assert_eq!(cut_at_line("é\nü", 0), ("", 0));
    }
}
