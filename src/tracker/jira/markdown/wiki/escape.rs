//! Wiki escaping: user text that wiki markup could interpret is neutralised,
//! so `{color:red}`, `[~admin]`, `!image.png!` or `||a||` in a failure
//! message render literally instead of styling, linking, mentioning or
//! embedding.

/// Characters wiki markup interprets anywhere in running text.
pub(super) const SPECIAL: &[char] = &[
    '*', '_', '-', '+', '^', '~', '?', '{', '}', '[', ']', '|', '!', '#',
];

/// Emoticon bodies Jira replaces when wrapped in parentheses and not already
/// defused by escaping one of their characters.
const EMOTICON_BODIES: &[&str] = &[
    "y)", "n)", "i)", "x)", "/)", "on)", "off)", "flag)", "flagoff)",
];

/// Appends `text` (one line, already free of control characters) to `out`
/// so that wiki markup renders it literally. `out` is the output so far: it
/// decides whether `text` starts a line (where `h1.`/`bq.` need a guard) and
/// what precedes a `(`. With `links_ok`, bare URLs become `[url]` links.
pub(super) fn escape_into(out: &mut String, text: &str, links_ok: bool) {
    let guard = if out.is_empty() || out.ends_with('\n') {
        line_start_keyword(text)
    } else {
        None
    };
    let mut prev = out.chars().next_back();
    let mut i = 0;
    while let Some(rest) = text.get(i..) {
        let Some(c) = rest.chars().next() else {
            break;
        };
        if guard == Some(i) {
            out.push('\\');
        }
        if links_ok && prev.is_none_or(|p| p.is_whitespace() || "(<\"'".contains(p)) {
            if let Some(url) = bare_url(rest) {
                out.push('[');
                out.push_str(&encode_url(url));
                out.push(']');
                i += url.len();
                prev = url.chars().next_back();
                continue;
            }
        }
        let after = rest.get(c.len_utf8()..).unwrap_or_default();
        match c {
            '\\' => out.push_str("&#92;"),
            c if SPECIAL.contains(&c) => {
                out.push('\\');
                out.push(c);
            }
            '(' if matches!(prev, Some(':' | ';'))
                || EMOTICON_BODIES.iter().any(|b| after.starts_with(b)) =>
            {
                out.push_str("\\(");
            }
            ')' if matches!(prev, Some(':' | ';')) => out.push_str("\\)"),
            c => out.push(c),
        }
        prev = Some(c);
        i += c.len_utf8();
    }
}

/// Byte offset of an `hN.` or `bq.` block keyword starting `line` (after
/// leading blanks), which Jira would turn into a heading or quote.
pub(super) fn line_start_keyword(line: &str) -> Option<usize> {
    let start = line.len() - line.trim_start_matches([' ', '\t']).len();
    let word = line.get(start..)?.as_bytes();
    let is_heading = matches!(word, [b'h' | b'H', b'1'..=b'6', b'.', ..]);
    let is_quote = word
        .get(..3)
        .is_some_and(|w| w.eq_ignore_ascii_case(b"bq."));
    (is_heading || is_quote).then_some(start)
}

/// The bare `http(s)://` URL at the start of `text`, without trailing
/// sentence punctuation, if there is one with something after the scheme.
fn bare_url(text: &str) -> Option<&str> {
    let scheme_len = ["http://", "https://"].iter().find_map(|scheme| {
        let head = text.get(..scheme.len())?;
        head.eq_ignore_ascii_case(scheme).then_some(scheme.len())
    })?;
    let end = text
        .find(|c: char| c.is_whitespace() || "<>\"".contains(c))
        .unwrap_or(text.len());
    let mut url = text.get(..end)?;
    loop {
        let trimmed = url.trim_end_matches(['.', ',', ';', ':', '!', '?', '\'', '*', '_']);
        let trimmed = match trimmed.strip_suffix(')') {
            Some(t) if !t.contains('(') => t,
            _ => trimmed,
        };
        if trimmed.len() == url.len() {
            break;
        }
        url = trimmed;
    }
    (url.len() > scheme_len).then_some(url)
}

/// Percent-encodes everything in a link target that wiki link syntax could
/// read as structure (`|`, `]`, `{`, `!`, a leading `~` user mention, …),
/// keeping ordinary URL punctuation readable.
pub(super) fn encode_url(url: &str) -> String {
    const KEEP: &str = "-._:/?#@$&'()+,;=%";
    let mut out = String::with_capacity(url.len());
    for c in url.chars() {
        if c.is_ascii_alphanumeric() || KEEP.contains(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    out
}
