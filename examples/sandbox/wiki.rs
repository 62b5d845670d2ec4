//! Jira wiki markup (what Data Center holds) as plain text, for printing:
//! headings become `#`, list markers `-` and `1.`, links `text <url>`; bold,
//! italics and monospace marks are dropped. The bridge escapes every literal
//! markup character with `\`, so an unescaped one is always markup.

/// `wiki` as plain text.
pub fn to_text(wiki: &str) -> String {
    wiki.lines().map(line).collect::<Vec<_>>().join("\n")
}

fn line(line: &str) -> String {
    for level in 1..=6 {
        if let Some(rest) = line.strip_prefix(&format!("h{level}. ")) {
            return format!("{} {}", "#".repeat(level), inline(rest));
        }
    }
    let bullets = line.chars().take_while(|c| *c == '*' || *c == '#').count();
    if bullets > 0 && line[bullets..].starts_with(' ') {
        let marker = if line.starts_with('#') { "1." } else { "-" };
        let indent = "  ".repeat(bullets - 1);
        return format!("{indent}{marker} {}", inline(&line[bullets + 1..]));
    }
    inline(line)
}

/// Drops inline marks and turns `[text|url]` into `text <url>`.
fn inline(text: &str) -> String {
    let mut out = String::new();
    // Inside `[…]`: its text, and its URL once a `|` was seen.
    let mut link: Option<(String, Option<String>)> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let literal = match c {
            '\\' => chars.next(),
            '*' | '_' => None,
            '{' | '}' if chars.peek() == Some(&c) => {
                chars.next();
                None
            }
            '[' if link.is_none() => {
                link = Some((String::new(), None));
                None
            }
            '|' if matches!(link, Some((_, None))) => {
                link = link.map(|(text, _)| (text, Some(String::new())));
                None
            }
            ']' if link.is_some() => {
                match link.take() {
                    Some((text, Some(url))) => out.push_str(&format!("{text} <{url}>")),
                    Some((url, None)) => out.push_str(&format!("<{url}>")),
                    None => {}
                }
                None
            }
            c => Some(c),
        };
        let Some(literal) = literal else { continue };
        match &mut link {
            Some((_, Some(url))) => url.push(literal),
            Some((text, None)) => text.push(literal),
            None => out.push(literal),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::to_text;

    #[test]
    fn marks_become_text() {
        let wiki = "h2. Failed assertions\n\n* Robot: robot\\-7 on *WIN\\-TEST\\-02*\n# first\n[Open it|https://tm.example.com/x]\n{{tm\\-assert\\-1.png}} (screenshot)\n_(log 5a4d\\-1)_";
        assert_eq!(
            to_text(wiki),
            "## Failed assertions\n\n- Robot: robot-7 on WIN-TEST-02\n1. first\nOpen it <https://tm.example.com/x>\ntm-assert-1.png (screenshot)\n(log 5a4d-1)"
        );
    }
}
