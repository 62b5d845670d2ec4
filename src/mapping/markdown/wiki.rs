//! Markdown → Jira wiki markup (Jira Data Center / Server).
//!
//! Owns the wiki writer and, above all, its escaping: every character of user
//! text that wiki markup could interpret is neutralised, so a test failure
//! message containing `{color:red}`, `[~admin]`, `!image.png!` or `||a||`
//! renders literally instead of styling, linking, mentioning or embedding.
//! Structure comes only from the Markdown we parsed, never from the text.
//!
//! Wiki markup has no nesting for block quotes or multi-block list items, so
//! those are approximated (see [`to_wiki`]).

use pulldown_cmark::{CodeBlockKind, Event, Tag, TagEnd};

use super::{fit, parser, strip_control, truncate_chars, truncation_notice, MAX_NESTING};

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

/// Characters wiki markup interprets anywhere in running text.
const SPECIAL: &[char] = &[
    '*', '_', '-', '+', '^', '~', '?', '{', '}', '[', ']', '|', '!', '#',
];

/// Emoticon bodies Jira replaces when wrapped in parentheses and not already
/// defused by escaping one of their characters.
const EMOTICON_BODIES: &[&str] = &[
    "y)", "n)", "i)", "x)", "/)", "on)", "off)", "flag)", "flagoff)",
];

/// Languages Jira Data Center's `{code}` macro knows; any other name makes it
/// render an error banner, so unknown languages fall back to plain `{code}`.
const CODE_LANGUAGES: &[&str] = &[
    "actionscript",
    "ada",
    "applescript",
    "bash",
    "c",
    "c#",
    "c++",
    "cpp",
    "css",
    "erlang",
    "go",
    "groovy",
    "haskell",
    "html",
    "java",
    "javascript",
    "js",
    "json",
    "lua",
    "nyan",
    "objc",
    "perl",
    "php",
    "python",
    "r",
    "ruby",
    "scala",
    "sh",
    "sql",
    "swift",
    "visualbasic",
    "xml",
    "yaml",
];

#[derive(Default)]
struct Item {
    /// Something has been written after the item's bullet.
    has_content: bool,
    /// The output is no longer on the item's own line (a nested list or a
    /// multi-line block followed), so more content needs a fresh bullet.
    left_line: bool,
}

struct Link {
    url: String,
    /// Byte offset of the `[` we wrote, to detect empty link text.
    open_at: usize,
}

struct Image {
    url: String,
    alt: String,
}

struct Code {
    language: Option<String>,
    text: String,
}

#[derive(Default)]
struct Writer {
    out: String,
    /// Consecutive text events, flushed as one run so URL detection and
    /// line-start checks see the whole text (pulldown-cmark splits at `_`).
    pending: String,
    /// Open lists, innermost last: `true` for ordered.
    lists: Vec<bool>,
    items: Vec<Item>,
    /// Lists/items nested deeper than [`MAX_NESTING`], merged into the
    /// deepest kept item.
    list_overflow: usize,
    /// For each open block quote, whether it wrote `{quote}` markers.
    quotes: Vec<bool>,
    in_heading: bool,
    in_table_head: bool,
    /// Byte offset where the current table cell's content starts.
    cell_start: Option<usize>,
    /// Open inline marks: the marker and the byte offset right after it.
    marks: Vec<(char, usize)>,
    links: Vec<Link>,
    /// Links opened inside a link or image; wiki links cannot nest.
    inert_links: usize,
    images: Vec<Image>,
    code: Option<Code>,
}

impl Writer {
    fn event(&mut self, event: Event<'_>) {
        if let Some(code) = &mut self.code {
            match event {
                Event::Text(text) => code.text.push_str(&text),
                Event::End(TagEnd::CodeBlock) => self.end_code_block(),
                _ => {}
            }
            return;
        }
        if let Some(image) = self.images.last_mut() {
            match event {
                Event::Text(t)
                | Event::Code(t)
                | Event::InlineHtml(t)
                | Event::InlineMath(t)
                | Event::DisplayMath(t)
                | Event::Html(t) => image.alt.push_str(&t),
                Event::SoftBreak | Event::HardBreak => image.alt.push(' '),
                Event::Start(Tag::Image { dest_url, .. }) => self.images.push(Image {
                    url: strip_control(&dest_url),
                    alt: String::new(),
                }),
                Event::End(TagEnd::Image) => self.end_image(),
                _ => {}
            }
            return;
        }
        match event {
            Event::Text(t)
            | Event::InlineMath(t)
            | Event::DisplayMath(t)
            | Event::Html(t)
            | Event::InlineHtml(t) => self.pending.push_str(&t),
            Event::SoftBreak => self.pending.push('\n'),
            Event::FootnoteReference(label) => {
                self.pending.push_str(&format!("[^{label}]"));
            }
            Event::TaskListMarker(done) => {
                self.pending.push_str(if done { "☑ " } else { "☐ " })
            }
            Event::Code(code) => {
                self.flush();
                self.inline_code(&code);
            }
            Event::HardBreak => {
                self.flush();
                // The space keeps `\\` from pairing with an escape that
                // follows it.
                self.out.push_str("\\\\ ");
            }
            Event::Rule => {
                self.flush();
                if self.items.is_empty() && self.cell_start.is_none() {
                    self.begin_top_block();
                    self.out.push_str("----");
                }
            }
            Event::Start(tag) => {
                self.flush();
                self.start(tag);
            }
            Event::End(tag) => {
                if matches!(tag, TagEnd::HtmlBlock) {
                    // Raw HTML lines keep their newline; the last one would
                    // leave a stray blank line or trailing space.
                    let kept = self.pending.trim_end_matches('\n').len();
                    self.pending.truncate(kept);
                }
                self.flush();
                self.end(tag);
            }
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph | Tag::HtmlBlock => self.begin_block(),
            Tag::Heading { level, .. } => {
                if self.in_list() {
                    self.item_block_separator();
                } else {
                    self.begin_top_block();
                    self.out.push_str(&format!("h{}. ", level as u8));
                    self.in_heading = true;
                }
            }
            Tag::BlockQuote(_) => {
                let marked = self.quotes.is_empty() && !self.in_list();
                if marked {
                    self.begin_top_block();
                    self.out.push_str("{quote}\n");
                }
                self.quotes.push(marked);
            }
            Tag::CodeBlock(kind) => {
                let language = match kind {
                    CodeBlockKind::Fenced(info) => {
                        info.split_whitespace().next().and_then(code_language)
                    }
                    CodeBlockKind::Indented => None,
                };
                self.code = Some(Code {
                    language,
                    text: String::new(),
                });
            }
            Tag::List(start) => {
                if self.list_overflow > 0 || self.lists.len() >= MAX_NESTING {
                    self.list_overflow += 1;
                    return;
                }
                if self.items.is_empty() {
                    self.begin_top_block();
                }
                self.lists.push(start.is_some());
            }
            Tag::Item => {
                if self.list_overflow > 0 {
                    self.list_overflow += 1;
                    self.item_block_separator();
                    return;
                }
                self.ensure_newline();
                let prefix: String = self
                    .lists
                    .iter()
                    .map(|&ordered| if ordered { '#' } else { '*' })
                    .collect();
                self.out.push_str(&prefix);
                self.out.push(' ');
                self.items.push(Item::default());
            }
            Tag::Table(_) => {
                if self.in_list() {
                    self.leave_item_line();
                } else {
                    self.begin_top_block();
                }
            }
            Tag::TableHead | Tag::TableRow => {
                self.ensure_newline();
                self.in_table_head = matches!(tag, Tag::TableHead);
            }
            Tag::TableCell => {
                self.out
                    .push_str(if self.in_table_head { "||" } else { "|" });
                self.cell_start = Some(self.out.len());
            }
            Tag::Emphasis => self.open_mark('_'),
            Tag::Strong => self.open_mark('*'),
            Tag::Strikethrough => self.open_mark('-'),
            Tag::Link { dest_url, .. } => {
                if self.links.is_empty() {
                    self.out.push('[');
                    self.links.push(Link {
                        url: strip_control(&dest_url),
                        open_at: self.out.len() - 1,
                    });
                } else {
                    self.inert_links += 1;
                }
            }
            Tag::Image { dest_url, .. } => self.images.push(Image {
                url: strip_control(&dest_url),
                alt: String::new(),
            }),
            Tag::FootnoteDefinition(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition
            | Tag::MetadataBlock(_) => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Heading(_) => self.in_heading = false,
            TagEnd::BlockQuote(_) => {
                if self.quotes.pop() == Some(true) {
                    self.ensure_newline();
                    self.out.push_str("{quote}");
                }
            }
            TagEnd::List(_) | TagEnd::Item if self.list_overflow > 0 => self.list_overflow -= 1,
            TagEnd::List(_) => {
                self.lists.pop();
                if let Some(parent) = self.items.last_mut() {
                    parent.left_line = true;
                }
            }
            TagEnd::Item => {
                self.items.pop();
            }
            TagEnd::TableHead => {
                self.out.push_str("||");
                self.in_table_head = false;
            }
            TagEnd::TableRow => self.out.push('|'),
            TagEnd::TableCell => {
                // `||` between two cells would read as a header separator.
                if self.cell_start.take() == Some(self.out.len()) {
                    self.out.push(' ');
                }
            }
            TagEnd::Table => {
                if let Some(item) = self.items.last_mut() {
                    item.left_line = true;
                }
            }
            TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough => self.close_mark(),
            TagEnd::Link => self.end_link(),
            TagEnd::Paragraph
            | TagEnd::HtmlBlock
            | TagEnd::CodeBlock
            | TagEnd::Image
            | TagEnd::FootnoteDefinition
            | TagEnd::DefinitionList
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition
            | TagEnd::MetadataBlock(_) => {}
        }
    }

    fn finish(mut self) -> String {
        self.flush();
        let trimmed = self.out.trim_end_matches('\n').len();
        self.out.truncate(trimmed);
        self.out
    }

    fn in_list(&self) -> bool {
        !self.items.is_empty() || self.list_overflow > 0
    }

    /// Separates a new block from what precedes it outside lists and cells:
    /// a blank line, except at the very start or right after `{quote}`.
    fn begin_top_block(&mut self) {
        if self.out.is_empty() || self.out.ends_with("{quote}\n") {
            return;
        }
        while !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    fn begin_block(&mut self) {
        if self.in_list() {
            self.item_block_separator();
        } else if self.cell_start.is_none() {
            self.begin_top_block();
        }
    }

    fn ensure_newline(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with('\n') {
            self.out.push('\n');
        }
    }

    fn list_prefix(&self) -> String {
        let mut prefix: String = self
            .lists
            .iter()
            .map(|&ordered| if ordered { '#' } else { '*' })
            .collect();
        prefix.push(' ');
        prefix
    }

    /// Wiki list items are single lines, so a further block in the same item
    /// continues after a line break, or under a fresh bullet once the item's
    /// line has been left.
    fn item_block_separator(&mut self) {
        let prefix = self.list_prefix();
        let Some(item) = self.items.last_mut() else {
            return;
        };
        if item.left_line {
            if !self.out.is_empty() && !self.out.ends_with('\n') {
                self.out.push('\n');
            }
            self.out.push_str(&prefix);
            item.left_line = false;
        } else if item.has_content {
            self.out.push_str("\\\\ ");
        }
        item.has_content = true;
    }

    /// Multi-line blocks (code, tables) cannot live on an item's line; they
    /// go on their own lines, which ends the wiki list at that point.
    fn leave_item_line(&mut self) {
        self.ensure_newline();
        if let Some(item) = self.items.last_mut() {
            item.left_line = true;
        }
    }

    fn open_mark(&mut self, marker: char) {
        self.out.push(marker);
        self.marks.push((marker, self.out.len()));
    }

    fn close_mark(&mut self) {
        let Some((marker, content_start)) = self.marks.pop() else {
            return;
        };
        if self.out.len() == content_start {
            // Nothing inside (e.g. only control characters): a lone marker
            // pair would be literal noise or pair up with later text.
            if let Some(opener) = content_start.checked_sub(1) {
                if self.out.is_char_boundary(opener) {
                    self.out.truncate(opener);
                }
            }
        } else {
            self.out.push(marker);
        }
    }

    fn end_link(&mut self) {
        if self.inert_links > 0 {
            self.inert_links -= 1;
            return;
        }
        let Some(link) = self.links.pop() else {
            return;
        };
        let url = encode_url(&link.url);
        if url.is_empty() {
            let bracket = link.open_at..link.open_at + 1;
            if self.out.get(bracket.clone()) == Some("[") {
                self.out.replace_range(bracket, "");
            }
        } else if self.out.len() == link.open_at + 1 {
            self.out.push_str(&url);
            self.out.push(']');
        } else {
            self.out.push('|');
            self.out.push_str(&url);
            self.out.push(']');
        }
    }

    fn end_image(&mut self) {
        let Some(image) = self.images.pop() else {
            return;
        };
        if let Some(outer) = self.images.last_mut() {
            outer.alt.push_str(&image.alt);
            return;
        }
        let alt = strip_control(image.alt.trim());
        let url = encode_url(&image.url);
        if !self.links.is_empty() || self.inert_links > 0 || url.is_empty() {
            let text = if alt.is_empty() { &image.url } else { &alt };
            self.escape_into(&strip_control(text), false);
        } else {
            self.out.push('[');
            if !alt.is_empty() {
                self.escape_into(&alt, false);
                self.out.push('|');
            }
            self.out.push_str(&url);
            self.out.push(']');
        }
    }

    fn inline_code(&mut self, code: &str) {
        let code = strip_control(code);
        if code.is_empty() {
            return;
        }
        // Braces inside `{{...}}` can close or open macros early; the
        // monospace look is not worth that risk.
        if code.contains(['{', '}']) {
            self.escape_into(&code, false);
        } else {
            self.out.push_str("{{");
            self.escape_into(&code, false);
            self.out.push_str("}}");
        }
    }

    fn end_code_block(&mut self) {
        let Some(code) = self.code.take() else {
            return;
        };
        let text = strip_control(&code.text);
        let text = text.strip_suffix('\n').unwrap_or(&text);
        if self.in_list() {
            self.leave_item_line();
        } else {
            self.begin_top_block();
        }
        let lower = text.to_ascii_lowercase();
        if !lower.contains("{code") {
            match &code.language {
                Some(lang) => self.out.push_str(&format!("{{code:{lang}}}\n")),
                None => self.out.push_str("{code}\n"),
            }
            self.out.push_str(text);
            self.out.push_str("\n{code}");
        } else if !lower.contains("{noformat") {
            self.out.push_str("{noformat}\n");
            self.out.push_str(text);
            self.out.push_str("\n{noformat}");
        } else {
            // No macro can enclose text mentioning both terminators.
            for (i, line) in text.split('\n').enumerate() {
                if i > 0 {
                    self.out.push('\n');
                }
                self.escape_into(line, false);
            }
        }
        if let Some(item) = self.items.last_mut() {
            item.left_line = true;
        }
    }

    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let text = strip_control(&std::mem::take(&mut self.pending));
        // Newlines only survive in plain paragraphs; in headings, cells,
        // list items and link text a newline would end the construct.
        let newline = if self.in_heading
            || self.cell_start.is_some()
            || self.in_list()
            || !self.links.is_empty()
        {
            " "
        } else {
            "\n"
        };
        let links_ok = self.links.is_empty() && self.inert_links == 0;
        for (i, line) in text.split('\n').enumerate() {
            if i > 0 {
                self.out.push_str(newline);
            }
            self.escape_into(line, links_ok);
        }
    }

    /// Writes `text` (one line, already free of control characters) so that
    /// wiki markup renders it literally. With `links_ok`, bare URLs become
    /// `[url]` links.
    fn escape_into(&mut self, text: &str, links_ok: bool) {
        let guard = if self.out.is_empty() || self.out.ends_with('\n') {
            line_start_keyword(text)
        } else {
            None
        };
        let mut prev = self.out.chars().next_back();
        let mut i = 0;
        while let Some(rest) = text.get(i..) {
            let Some(c) = rest.chars().next() else {
                break;
            };
            if guard == Some(i) {
                self.out.push('\\');
            }
            if links_ok && prev.is_none_or(|p| p.is_whitespace() || "(<\"'".contains(p)) {
                if let Some(url) = bare_url(rest) {
                    self.out.push('[');
                    self.out.push_str(&encode_url(url));
                    self.out.push(']');
                    i += url.len();
                    prev = url.chars().next_back();
                    continue;
                }
            }
            let after = rest.get(c.len_utf8()..).unwrap_or_default();
            match c {
                '\\' => self.out.push_str("&#92;"),
                c if SPECIAL.contains(&c) => {
                    self.out.push('\\');
                    self.out.push(c);
                }
                '(' if matches!(prev, Some(':' | ';'))
                    || EMOTICON_BODIES.iter().any(|b| after.starts_with(b)) =>
                {
                    self.out.push_str("\\(");
                }
                ')' if matches!(prev, Some(':' | ';')) => self.out.push_str("\\)"),
                c => self.out.push(c),
            }
            prev = Some(c);
            i += c.len_utf8();
        }
    }
}

/// The `{code:...}` language for a fence's info word, if Jira knows it
/// under that name or a common Markdown alias.
fn code_language(info: &str) -> Option<String> {
    let lower = info.to_ascii_lowercase();
    let name = match lower.as_str() {
        "cs" | "csharp" => "c#",
        "py" => "python",
        "yml" => "yaml",
        "shell" | "console" | "zsh" => "bash",
        "vb" | "vbnet" => "visualbasic",
        "golang" => "go",
        other => other,
    };
    CODE_LANGUAGES.contains(&name).then(|| name.to_owned())
}

/// Byte offset of an `hN.` or `bq.` block keyword starting `line` (after
/// leading blanks), which Jira would turn into a heading or quote.
fn line_start_keyword(line: &str) -> Option<usize> {
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
fn encode_url(url: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[track_caller]
    fn check(markdown: &str, wiki: &str) {
        assert_eq!(to_wiki(markdown), wiki, "markdown: {markdown:?}");
    }

    #[test]
    fn empty_input() {
        check("", "");
        check("\n\n  \n", "");
    }

    #[test]
    fn paragraphs_keep_soft_breaks_as_newlines() {
        check("one\ntwo\n\nthree", "one\ntwo\n\nthree");
    }

    #[test]
    fn headings() {
        check(
            "# A\n## B\n### C\n#### D\n##### E\n###### F",
            "h1. A\n\nh2. B\n\nh3. C\n\nh4. D\n\nh5. E\n\nh6. F",
        );
        check("Multi\nline\n---", "h2. Multi line");
    }

    #[test]
    fn inline_marks() {
        check(
            "a *em* **strong** ~~gone~~ `code`",
            "a _em_ *strong* -gone- {{code}}",
        );
        check("***both***", "_*both*_");
    }

    #[test]
    fn inline_code_is_escaped_and_brace_safe() {
        check("`a*b`", "{{a\\*b}}");
        check("`x}}y`", "x\\}\\}y");
        check("`{color:red}`", "\\{color:red\\}");
        check("`C:\\dir`", "{{C:&#92;dir}}");
    }

    #[test]
    fn links_and_images() {
        check(
            "[see *here*](https://x.test/a?b=1)",
            "[see _here_|https://x.test/a?b=1]",
        );
        check("<https://x.test/p>", "[https://x.test/p|https://x.test/p]");
        check("[](https://x.test)", "[https://x.test]");
        check("[a|b](http://u/x|y]z)", "[a\\|b|http://u/x%7Cy%5Dz]");
        check("[x](~admin)", "[x|%7Eadmin]");
        check("[nowhere]()", "nowhere");
        check(
            "![shot](http://i/s.png) ![](http://i/t.png)",
            "[shot|http://i/s.png] [http://i/t.png]",
        );
        check(
            "[![build](http://b/badge.svg)](http://ci)",
            "[build|http://ci]",
        );
    }

    #[test]
    fn bare_urls_become_links() {
        check(
            "see https://host/a_b-c*d?q=1. and (http://x/y)",
            "see [https://host/a_b-c%2Ad?q=1]. and ([http://x/y])",
        );
        check(
            "http:// alone",
            "http://&#92; alone".replace("&#92;", "").as_str(),
        );
    }

    #[test]
    fn hard_break() {
        check("a  \nb\\\nc", "a\\\\ b\\\\ c");
    }

    #[test]
    fn lists() {
        check("- a\n- b\n  1. c\n  2. d\n- e", "* a\n* b\n*# c\n*# d\n* e");
        check("3. x\n4. y", "# x\n# y");
        check("para\n- a\n\nafter", "para\n\n* a\n\nafter");
        check("- [x] done\n- [ ] todo", "* ☑ done\n* ☐ todo");
    }

    #[test]
    fn loose_list_items_stay_on_one_line() {
        check("- a\n\n  more\n- b", "* a\\\\ more\n* b");
        check("- a\n  - b\n\n  tail", "* a\n** b\n* tail");
    }

    #[test]
    fn code_blocks() {
        check("```rust\nfn main() {}\n```", "{code}\nfn main() {}\n{code}");
        check("```Java\nint x;\n```", "{code:java}\nint x;\n{code}");
        check("```csharp\nx;\n```", "{code:c#}\nx;\n{code}");
        check("    indented\n", "{code}\nindented\n{code}");
        check("```\n{code}\n```", "{noformat}\n{code}\n{noformat}");
        check("```\n{code}{noformat}*\n```", "\\{code\\}\\{noformat\\}\\*");
        check("```\n```", "{code}\n\n{code}");
        check("```js\nx\n```\n\nafter", "{code:js}\nx\n{code}\n\nafter");
    }

    #[test]
    fn code_block_in_list_leaves_the_line() {
        check("- a\n  ```\n  x\n  ```\n- b", "* a\n{code}\nx\n{code}\n* b");
    }

    #[test]
    fn quotes_and_rules() {
        check(
            "> quoted\n> more\n\n---\n\nend",
            "{quote}\nquoted\nmore\n{quote}\n\n----\n\nend",
        );
        check("> a\n> > b", "{quote}\na\n\nb\n{quote}");
        check("- > q", "* q");
    }

    #[test]
    fn tables() {
        check(
            "| h1 | *h2* |\n|---|---|\n| a | |\n| `c` | d\\|e |",
            "||h1||_h2_||\n|a| |\n|{{c}}|d\\|e|",
        );
    }

    #[test]
    fn raw_html_is_escaped_text() {
        check(
            "<div>\n{color:red}x\n</div>\n\na <b>b</b>",
            "<div>\n\\{color:red\\}x\n</div>\n\na <b>b</b>",
        );
    }

    #[test]
    fn hostile_wiki_markup_is_literal() {
        check("{color:red}x{color}", "\\{color:red\\}x\\{color\\}");
        check("\\[evil|http://x\\]", "\\[evil\\|http://x\\]");
        check("\\!image.png\\!", "\\!image.png\\!");
        check("\\|\\|a\\|\\|", "\\|\\|a\\|\\|");
        check("\\*bold\\*", "\\*bold\\*");
        check("{code}", "\\{code\\}");
        check("h1. fake\nbq. fake", "\\h1. fake\n\\bq. fake");
        check(
            "x ^sup^ \\~sub\\~ ??cite?? +ins+ -del- ----",
            "x \\^sup\\^ \\~sub\\~ \\?\\?cite\\?\\? \\+ins\\+ \\-del\\- \\-\\-\\-\\-",
        );
        check("\\# not a list", "\\# not a list");
        check("a\\\\b", "a&#92;b");
        check("oops (x) (y) :) ;) :(", "oops \\(x) \\(y) :\\) ;\\) :\\(");
        check("[~admin]", "\\[\\~admin\\]");
    }

    #[test]
    fn control_chars_removed_emoji_rtl_kept() {
        check(
            "a\u{1}b\u{1b}[31m 😀 مرحبا \u{7f}&#7;x",
            "ab\\[31m 😀 مرحبا x",
        );
        check("*\u{1}*", "");
    }

    #[test]
    fn line_start_keyword_detection() {
        assert_eq!(line_start_keyword("h1. x"), Some(0));
        assert_eq!(line_start_keyword("  H6.x"), Some(2));
        assert_eq!(line_start_keyword("BQ. x"), Some(0));
        assert_eq!(line_start_keyword("h7. x"), None);
        assert_eq!(line_start_keyword("bq"), None);
        assert_eq!(line_start_keyword(""), None);
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let md = (0..200)
            .map(|i| format!("{}- l{i}\n", "  ".repeat(i)))
            .collect::<String>();
        let out = to_wiki(&md);
        let widest = out
            .lines()
            .map(|l| l.len() - l.trim_start_matches('*').len())
            .max();
        assert_eq!(widest, Some(MAX_NESTING));
        assert!(out.contains("l199"));
        assert!(to_wiki(&"> ".repeat(10_000)).starts_with("{quote}"));
    }

    #[test]
    fn limited_fits_and_notes_truncation() {
        let md = "line - of text\n".repeat(100);
        let out = to_wiki_limited(&md, 300);
        assert!(out.chars().count() <= 300, "{out}");
        assert!(
            out.ends_with("_(truncated by tm\\-defect\\-bridge: 1291 characters omitted)_"),
            "{out}"
        );
        assert_eq!(to_wiki_limited("short", 300), "short");
        assert_eq!(to_wiki_limited(&md, 5), "_(tr…");
    }

    #[test]
    fn limited_handles_megabytes() {
        let samples = [
            "# Step\n- **failed** at `x`\n> quote [l](http://u)\n\n".repeat(100_000),
            "{|}".repeat(1_700_000),
            "```\ncode\n".repeat(500_000),
        ];
        for md in &samples {
            let out = to_wiki_limited(md, super::super::JIRA_FIELD_LIMIT);
            let n = out.chars().count();
            assert!(n <= super::super::JIRA_FIELD_LIMIT);
            assert!(
                n > super::super::JIRA_FIELD_LIMIT / 2,
                "too aggressive: {n}"
            );
            assert!(out.contains("(truncated by tm\\-defect\\-bridge: "));
        }
    }

    fn special_soup() -> impl Strategy<Value = String> {
        let pieces = vec![
            "*",
            "**",
            "_",
            "`",
            "```",
            "~~",
            "[",
            "]",
            "(",
            ")",
            "![",
            "](",
            "<",
            ">",
            "> ",
            "- ",
            "* ",
            "1. ",
            "#",
            "# ",
            "|",
            "|---|",
            "\n",
            "\n\n",
            "  ",
            "    ",
            "\t",
            "{",
            "}",
            "\\",
            "{code}",
            "{noformat}",
            "h1. ",
            "bq. ",
            "!x.png!",
            "^",
            "+",
            "?",
            "~",
            "a",
            "é",
            "😀",
            "שלום",
            "\u{0}",
            "\u{1b}",
            "http://x.test/a_b",
            ":)",
            "(x)",
        ];
        prop::collection::vec(prop::sample::select(pieces), 0..60).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn arbitrary_unicode_never_panics(s in any::<String>()) {
            let out = to_wiki(&s);
            prop_assert!(out.chars().all(|c| !c.is_control() || c == '\n' || c == '\t'));
        }

        #[test]
        fn markdown_soup_never_panics(s in special_soup()) {
            let out = to_wiki(&s);
            prop_assert!(out.chars().all(|c| !c.is_control() || c == '\n' || c == '\t'));
        }

        #[test]
        fn plain_text_specials_are_always_escaped(s in "[a-z *_+^?{}|!#-]{0,40}") {
            // Inside one paragraph, every special character must be escaped.
            let out = to_wiki(&format!("x{s}"));
            let mut prev = None;
            for c in out.chars() {
                if SPECIAL.contains(&c) && c != '*' && c != '_' {
                    prop_assert_eq!(prev, Some('\\'), "unescaped {} in {}", c, out);
                }
                prev = if prev == Some('\\') && c == '\\' { None } else { Some(c) };
            }
        }

        #[test]
        fn limited_always_fits(s in special_soup(), max in 0usize..400) {
            prop_assert!(to_wiki_limited(&s, max).chars().count() <= max);
        }
    }
}
