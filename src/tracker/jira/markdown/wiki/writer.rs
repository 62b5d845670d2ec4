//! The wiki writer: pulldown-cmark's event stream → wiki markup text.
//!
//! Structure comes only from the parsed Markdown; every run of user text goes
//! through [`escape_into`]. Wiki markup cannot nest block quotes or put
//! several blocks in a list item, so the writer approximates those.

use pulldown_cmark::{CodeBlockKind, Event, Tag, TagEnd};

use super::code_language::code_language;
use super::escape::{encode_url, escape_into};
use crate::mapping::text::strip_control;
use crate::tracker::jira::markdown::image::{self, Image};
use crate::tracker::jira::markdown::parse::MAX_NESTING;

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

struct Code {
    language: Option<String>,
    text: String,
}

/// Writes one document's Markdown events as wiki markup: feed every event
/// to [`Writer::event`], then take the text with [`Writer::finish`].
#[derive(Default)]
pub(super) struct Writer {
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
    /// Applies one parser event; never panics, whatever the event order.
    pub(super) fn event(&mut self, event: Event<'_>) {
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
                Event::Start(Tag::Image { dest_url, .. }) => {
                    self.images.push(Image::open(&dest_url))
                }
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
            Tag::Image { dest_url, .. } => self.images.push(Image::open(&dest_url)),
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

    /// Closes everything still open and returns the markup, without a
    /// trailing newline.
    pub(super) fn finish(mut self) -> String {
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
        let Some(image) = image::close(&mut self.images) else {
            return;
        };
        let alt = strip_control(image.alt.trim());
        let url = encode_url(&image.url);
        if !self.links.is_empty() || self.inert_links > 0 || url.is_empty() {
            let text = if alt.is_empty() { &image.url } else { &alt };
            escape_into(&mut self.out, &strip_control(text), false);
        } else {
            self.out.push('[');
            if !alt.is_empty() {
                escape_into(&mut self.out, &alt, false);
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
            escape_into(&mut self.out, &code, false);
        } else {
            self.out.push_str("{{");
            escape_into(&mut self.out, &code, false);
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
                escape_into(&mut self.out, line, false);
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
            escape_into(&mut self.out, line, links_ok);
        }
    }
}
