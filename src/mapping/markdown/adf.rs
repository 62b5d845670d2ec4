//! Markdown → Atlassian Document Format (Jira Cloud REST v3).
//!
//! Owns the ADF builder: it turns pulldown-cmark's flat event stream into a
//! `serde_json::Value` document using an explicit frame stack, and enforces
//! the schema rules Jira validates on write (non-empty text nodes, list items
//! that start with a paragraph, `code` marks only combined with `link`, no
//! duplicate marks, block quotes holding only paragraphs/lists/code blocks,
//! no media nodes). User text only ever lands in `text` fields, so it cannot
//! smuggle in ADF structure.

use pulldown_cmark::{CodeBlockKind, Event, Tag, TagEnd};
use serde_json::{json, Map, Value};

use super::{fit, parser, strip_control, truncation_notice, MAX_NESTING};

/// Converts CommonMark (plus GFM tables, strikethrough and task lists) to an
/// ADF document `{"type":"doc","version":1,"content":[...]}`.
///
/// Never panics. Every `text` node is non-empty and free of control
/// characters other than `\n`/`\t`; images become linked text rather than
/// media (media must be uploaded first); raw HTML becomes plain text; task
/// list markers become `☐ `/`☑ ` text. Empty input yields a document with an
/// empty `content` array.
pub fn to_adf(markdown: &str) -> Value {
    doc(blocks(markdown))
}

/// Like [`to_adf`], but the serialised JSON (`serde_json::to_string`) is at
/// most `max_chars` characters.
///
/// When the full conversion is too large, the Markdown is cut (at a line
/// boundary where reasonable) and a final paragraph
/// `_(truncated by tm-defect-bridge: N characters omitted)_` is appended, with
/// `N` counting omitted input characters. Input longer than eight times
/// `max_chars` is not rendered in full but cut straight away, which keeps
/// megabyte inputs fast. If even the notice alone does not
/// fit, the empty document is returned; that one is 39 characters, so the
/// limit is guaranteed for any `max_chars >= 39`.
pub fn to_adf_limited(markdown: &str, max_chars: usize) -> Value {
    let fitted = fit(markdown, max_chars, |prefix, omitted| {
        let mut content = blocks(prefix);
        if let Some(n) = omitted {
            content.extend(blocks(&truncation_notice(n)));
        }
        let value = doc(content);
        let len = serialized_chars(&value);
        (value, len)
    });
    fitted.unwrap_or_else(|| doc(Vec::new()))
}

fn doc(content: Vec<Value>) -> Value {
    json!({"type": "doc", "version": 1, "content": content})
}

fn serialized_chars(value: &Value) -> usize {
    serde_json::to_string(value).map_or(usize::MAX, |s| s.chars().count())
}

/// Converts `markdown` to the top-level ADF block nodes.
fn blocks(markdown: &str) -> Vec<Value> {
    let mut builder = Builder::default();
    for event in parser(markdown) {
        builder.event(event);
    }
    builder.finish()
}

enum Kind {
    Doc,
    /// `implicit` paragraphs are opened by us to hold inline content that
    /// pulldown-cmark places directly in a container (tight list items,
    /// table cells); they close as soon as a block starts or the container
    /// ends.
    Paragraph {
        implicit: bool,
    },
    /// Raw HTML block, rendered as a paragraph of plain text lines.
    HtmlBlock,
    Heading(u8),
    BlockQuote,
    List {
        ordered: bool,
        start: u64,
    },
    Item,
    CodeBlock {
        language: Option<String>,
        text: String,
    },
    Table,
    Row {
        header: bool,
    },
    Cell {
        header: bool,
    },
}

struct Frame {
    kind: Kind,
    children: Vec<Value>,
}

enum Mark {
    Em,
    Strong,
    Strike,
    Link(String),
}

struct Image {
    url: String,
    alt: String,
}

struct Builder {
    /// Open block containers; `stack[0]` is always the document.
    stack: Vec<Frame>,
    /// Open inline formatting, innermost last. ADF puts marks on text nodes
    /// instead of nesting, so they are tracked apart from `stack`.
    marks: Vec<Mark>,
    /// Open images, innermost last; their alt text is collected as plain
    /// text because it becomes a single linked text node.
    images: Vec<Image>,
    /// Count of real list/item/quote frames on the stack.
    depth: usize,
    /// Lists, items and quotes opened beyond [`MAX_NESTING`]: they get no
    /// frame, so their blocks land in the deepest real container.
    overflow: usize,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            stack: vec![Frame {
                kind: Kind::Doc,
                children: Vec::new(),
            }],
            marks: Vec::new(),
            images: Vec::new(),
            depth: 0,
            overflow: 0,
        }
    }
}

impl Builder {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text)
            | Event::InlineMath(text)
            | Event::DisplayMath(text)
            | Event::Html(text)
            | Event::InlineHtml(text) => self.text(&text),
            Event::Code(code) => self.inline_code(&code),
            Event::FootnoteReference(label) => self.text(&format!("[^{label}]")),
            Event::SoftBreak => self.text(" "),
            Event::HardBreak => {
                if let Some(image) = self.images.last_mut() {
                    image.alt.push(' ');
                } else {
                    self.push_inline(json!({"type": "hardBreak"}));
                }
            }
            Event::Rule => {
                self.close_implicit();
                self.attach(json!({"type": "rule"}));
            }
            Event::TaskListMarker(done) => self.text(if done { "☑ " } else { "☐ " }),
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        let kind = match tag {
            Tag::Emphasis => return self.marks.push(Mark::Em),
            Tag::Strong => return self.marks.push(Mark::Strong),
            Tag::Strikethrough => return self.marks.push(Mark::Strike),
            Tag::Link { dest_url, .. } => {
                return self.marks.push(Mark::Link(strip_control(&dest_url)));
            }
            Tag::Image { dest_url, .. } => {
                return self.images.push(Image {
                    url: strip_control(&dest_url),
                    alt: String::new(),
                });
            }
            Tag::Paragraph => Kind::Paragraph { implicit: false },
            Tag::HtmlBlock => Kind::HtmlBlock,
            Tag::Heading { level, .. } => Kind::Heading(level as u8),
            Tag::CodeBlock(kind) => Kind::CodeBlock {
                language: match kind {
                    CodeBlockKind::Fenced(info) => info
                        .split_whitespace()
                        .next()
                        .map(strip_control)
                        .filter(|l| !l.is_empty()),
                    CodeBlockKind::Indented => None,
                },
                text: String::new(),
            },
            Tag::BlockQuote(_) => Kind::BlockQuote,
            Tag::List(start) => Kind::List {
                ordered: start.is_some(),
                start: start.unwrap_or(1),
            },
            Tag::Item => Kind::Item,
            Tag::Table(_) => Kind::Table,
            Tag::TableHead => Kind::Row { header: true },
            Tag::TableRow => Kind::Row { header: false },
            Tag::TableCell => Kind::Cell {
                header: matches!(
                    self.stack.last().map(|f| &f.kind),
                    Some(Kind::Row { header: true })
                ),
            },
            // Not enabled in our parser options; their content simply flows
            // into the surrounding container.
            Tag::FootnoteDefinition(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition
            | Tag::MetadataBlock(_) => return self.close_implicit(),
        };
        self.close_implicit();
        if matches!(kind, Kind::List { .. } | Kind::Item | Kind::BlockQuote) {
            // An item is only dropped when its list was, so that a kept list
            // never receives bare paragraphs.
            let too_deep = match kind {
                Kind::Item => self.overflow > 0,
                _ => self.overflow > 0 || self.depth >= MAX_NESTING,
            };
            if too_deep {
                self.overflow += 1;
                return;
            }
            self.depth += 1;
        }
        self.stack.push(Frame {
            kind,
            children: Vec::new(),
        });
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough | TagEnd::Link => {
                self.marks.pop();
            }
            TagEnd::Image => self.end_image(),
            TagEnd::List(_) | TagEnd::Item | TagEnd::BlockQuote(_) if self.overflow > 0 => {
                self.close_implicit();
                self.overflow -= 1;
            }
            TagEnd::FootnoteDefinition
            | TagEnd::DefinitionList
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition
            | TagEnd::MetadataBlock(_) => self.close_implicit(),
            _ => {
                self.close_implicit();
                self.close_top();
            }
        }
    }

    fn finish(mut self) -> Vec<Value> {
        while self.stack.len() > 1 {
            self.close_implicit();
            self.close_top();
        }
        self.stack.pop().map(|f| f.children).unwrap_or_default()
    }

    fn text(&mut self, text: &str) {
        if let Some(image) = self.images.last_mut() {
            image.alt.push_str(text);
            return;
        }
        if let Some(Frame {
            kind: Kind::CodeBlock { text: code, .. },
            ..
        }) = self.stack.last_mut()
        {
            code.push_str(text);
            return;
        }
        // Only raw HTML carries newlines here; keep its line structure.
        for (i, line) in text.split('\n').enumerate() {
            if i > 0 {
                self.push_inline(json!({"type": "hardBreak"}));
            }
            let marks = self.current_marks();
            self.push_text(line, marks);
        }
    }

    fn inline_code(&mut self, code: &str) {
        if let Some(image) = self.images.last_mut() {
            image.alt.push_str(code);
            return;
        }
        // ADF forbids `code` next to any mark but `link`.
        let mut marks = vec![json!({"type": "code"})];
        if let Some(href) = self.active_link() {
            marks.push(link_mark(href));
        }
        self.push_text(code, marks);
    }

    fn end_image(&mut self) {
        let Some(image) = self.images.pop() else {
            return;
        };
        if let Some(outer) = self.images.last_mut() {
            outer.alt.push_str(&image.alt);
            return;
        }
        let alt = image.alt.trim();
        let text = if alt.is_empty() { &image.url } else { alt };
        let mut marks = self.current_marks();
        // Inside a link (a badge) the link target is what the reader wants;
        // a second link mark would be a duplicate.
        if self.active_link().is_none() && !image.url.is_empty() {
            marks.push(link_mark(&image.url));
        }
        self.push_text(text, marks);
    }

    fn active_link(&self) -> Option<&str> {
        self.marks.iter().find_map(|m| match m {
            Mark::Link(href) if !href.is_empty() => Some(href.as_str()),
            _ => None,
        })
    }

    /// The ADF marks for text at the current position, each type at most
    /// once (Jira rejects duplicates, which `***x***`-style nesting or
    /// `**a **b** c**` could otherwise produce).
    fn current_marks(&self) -> Vec<Value> {
        let (mut em, mut strong, mut strike) = (false, false, false);
        let mut out = Vec::new();
        for mark in &self.marks {
            let seen = match mark {
                Mark::Em => &mut em,
                Mark::Strong => &mut strong,
                Mark::Strike => &mut strike,
                Mark::Link(_) => continue,
            };
            if !*seen {
                *seen = true;
                out.push(json!({"type": mark_name(mark)}));
            }
        }
        if let Some(href) = self.active_link() {
            out.push(link_mark(href));
        }
        out
    }

    fn push_text(&mut self, text: &str, marks: Vec<Value>) {
        let text = strip_control(text);
        if text.is_empty() {
            return;
        }
        self.ensure_inline_container();
        let Some(frame) = self.stack.last_mut() else {
            return;
        };
        let marks = if marks.is_empty() {
            None
        } else {
            Some(Value::Array(marks))
        };
        // Merge with the previous run when formatting is identical, since
        // pulldown-cmark splits text at every special character it examined.
        if let Some(Value::Object(prev)) = frame.children.last_mut() {
            if prev.get("type").and_then(Value::as_str) == Some("text")
                && prev.get("marks") == marks.as_ref()
            {
                if let Some(Value::String(prev_text)) = prev.get_mut("text") {
                    prev_text.push_str(&text);
                    return;
                }
            }
        }
        let mut node = Map::new();
        node.insert("type".into(), "text".into());
        node.insert("text".into(), text.into());
        if let Some(marks) = marks {
            node.insert("marks".into(), marks);
        }
        frame.children.push(Value::Object(node));
    }

    fn push_inline(&mut self, node: Value) {
        self.ensure_inline_container();
        if let Some(frame) = self.stack.last_mut() {
            frame.children.push(node);
        }
    }

    fn ensure_inline_container(&mut self) {
        let accepts_inline = matches!(
            self.stack.last().map(|f| &f.kind),
            Some(Kind::Paragraph { .. } | Kind::HtmlBlock | Kind::Heading(_))
        );
        if !accepts_inline {
            self.stack.push(Frame {
                kind: Kind::Paragraph { implicit: true },
                children: Vec::new(),
            });
        }
    }

    fn close_implicit(&mut self) {
        if matches!(
            self.stack.last().map(|f| &f.kind),
            Some(Kind::Paragraph { implicit: true })
        ) {
            self.close_top();
        }
    }

    /// Pops the innermost frame, turns it into an ADF node (if it yields
    /// one) and appends that to the new innermost frame. The document frame
    /// is never popped here.
    fn close_top(&mut self) {
        if self.stack.len() <= 1 {
            return;
        }
        let Some(Frame { kind, children }) = self.stack.pop() else {
            return;
        };
        if matches!(kind, Kind::List { .. } | Kind::Item | Kind::BlockQuote) {
            self.depth = self.depth.saturating_sub(1);
        }
        let node = match kind {
            Kind::Doc => return,
            Kind::Paragraph { .. } => paragraph(children),
            Kind::HtmlBlock => {
                let mut children = children;
                while children.last().is_some_and(|n| node_type(n) == "hardBreak") {
                    children.pop();
                }
                if children.is_empty() {
                    return;
                }
                paragraph(children)
            }
            Kind::Heading(level) => {
                json!({"type": "heading", "attrs": {"level": level}, "content": children})
            }
            Kind::BlockQuote => {
                let mut content = flatten(children);
                if content.is_empty() {
                    content.push(paragraph(Vec::new()));
                }
                json!({"type": "blockquote", "content": content})
            }
            Kind::List { ordered, start } => {
                if children.is_empty() {
                    return;
                }
                match (ordered, start) {
                    (false, _) => json!({"type": "bulletList", "content": children}),
                    (true, 1) => json!({"type": "orderedList", "content": children}),
                    (true, n) => {
                        json!({"type": "orderedList", "attrs": {"order": n}, "content": children})
                    }
                }
            }
            Kind::Item => {
                let mut content = flatten(children);
                let starts_ok = content.first().is_some_and(|n| {
                    matches!(node_type(n), "paragraph" | "bulletList" | "orderedList")
                });
                if !starts_ok {
                    content.insert(0, paragraph(Vec::new()));
                }
                json!({"type": "listItem", "content": content})
            }
            Kind::CodeBlock { language, text } => {
                let text = strip_control(&text);
                // The parser keeps the newline that precedes the closing fence.
                let text = text.strip_suffix('\n').unwrap_or(&text);
                let content: Vec<Value> = if text.is_empty() {
                    Vec::new()
                } else {
                    vec![json!({"type": "text", "text": text})]
                };
                match language {
                    Some(lang) => json!({
                        "type": "codeBlock",
                        "attrs": {"language": lang},
                        "content": content
                    }),
                    None => json!({"type": "codeBlock", "content": content}),
                }
            }
            Kind::Table => {
                if children.is_empty() {
                    return;
                }
                json!({"type": "table", "content": children})
            }
            Kind::Row { .. } => {
                if children.is_empty() {
                    return;
                }
                json!({"type": "tableRow", "content": children})
            }
            Kind::Cell { header } => {
                let mut content = children;
                if content.is_empty() {
                    content.push(paragraph(Vec::new()));
                }
                let cell_type = if header { "tableHeader" } else { "tableCell" };
                json!({"type": cell_type, "content": content})
            }
        };
        self.attach(node);
    }

    /// Appends a finished block to the innermost frame, keeping containers
    /// that only accept one child type valid.
    fn attach(&mut self, node: Value) {
        let Some(parent) = self.stack.last_mut() else {
            return;
        };
        match parent.kind {
            Kind::List { .. } if node_type(&node) != "listItem" => {
                let mut content = flatten(vec![node]);
                if content.is_empty() {
                    return;
                }
                if content.first().map(node_type) != Some("paragraph") {
                    content.insert(0, paragraph(Vec::new()));
                }
                parent
                    .children
                    .push(json!({"type": "listItem", "content": content}));
            }
            Kind::Table if node_type(&node) != "tableRow" => {}
            Kind::Row { .. } if !matches!(node_type(&node), "tableCell" | "tableHeader") => {}
            _ => parent.children.push(node),
        }
    }
}

fn mark_name(mark: &Mark) -> &'static str {
    match mark {
        Mark::Em => "em",
        Mark::Strong => "strong",
        Mark::Strike => "strike",
        Mark::Link(_) => "link",
    }
}

fn link_mark(href: &str) -> Value {
    json!({"type": "link", "attrs": {"href": href}})
}

fn paragraph(content: Vec<Value>) -> Value {
    json!({"type": "paragraph", "content": content})
}

fn node_type(node: &Value) -> &str {
    node.get("type").and_then(Value::as_str).unwrap_or_default()
}

fn take_content(node: Value) -> Vec<Value> {
    match node {
        Value::Object(mut map) => match map.remove("content") {
            Some(Value::Array(content)) => content,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// Rewrites blocks for containers that accept only paragraphs, lists and
/// code blocks (block quotes and list items): headings become paragraphs,
/// nested quotes are unwrapped (their content was already flattened when
/// they closed, so this never recurses), table rows become one paragraph
/// each with cells separated by ` | `, and rules are dropped.
fn flatten(children: Vec<Value>) -> Vec<Value> {
    let mut out = Vec::with_capacity(children.len());
    for child in children {
        match node_type(&child) {
            "paragraph" | "bulletList" | "orderedList" | "codeBlock" => out.push(child),
            "heading" => out.push(paragraph(take_content(child))),
            "blockquote" => out.extend(take_content(child)),
            "table" => {
                for row in take_content(child) {
                    let mut inline = Vec::new();
                    for (i, cell) in take_content(row).into_iter().enumerate() {
                        if i > 0 {
                            inline.push(json!({"type": "text", "text": " | "}));
                        }
                        for block in take_content(cell) {
                            inline.extend(take_content(block));
                        }
                    }
                    out.push(paragraph(inline));
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text(t: &str) -> Value {
        json!({"type": "text", "text": t})
    }

    fn marked(t: &str, marks: Value) -> Value {
        json!({"type": "text", "text": t, "marks": marks})
    }

    fn para(content: Value) -> Value {
        json!({"type": "paragraph", "content": content})
    }

    fn doc_of(content: Value) -> Value {
        json!({"type": "doc", "version": 1, "content": content})
    }

    #[test]
    fn empty_input() {
        assert_eq!(to_adf(""), doc_of(json!([])));
        assert_eq!(to_adf("  \n\n \t\n"), doc_of(json!([])));
        assert_eq!(
            serde_json::to_string(&to_adf("")).unwrap(),
            r#"{"content":[],"type":"doc","version":1}"#
        );
    }

    #[test]
    fn paragraphs_and_soft_break() {
        assert_eq!(
            to_adf("one\ntwo\n\nthree"),
            doc_of(json!([
                para(json!([text("one two")])),
                para(json!([text("three")]))
            ]))
        );
    }

    #[test]
    fn headings() {
        for level in 1..=6u8 {
            let md = format!("{} Title", "#".repeat(level.into()));
            assert_eq!(
                to_adf(&md),
                doc_of(json!([{
                    "type": "heading",
                    "attrs": {"level": level},
                    "content": [text("Title")]
                }]))
            );
        }
        assert_eq!(
            to_adf("Setext\n==="),
            doc_of(
                json!([{"type": "heading", "attrs": {"level": 1}, "content": [text("Setext")]}])
            )
        );
    }

    #[test]
    fn inline_marks() {
        assert_eq!(
            to_adf("a *em* **strong** ~~gone~~ `code`"),
            doc_of(json!([para(json!([
                text("a "),
                marked("em", json!([{"type": "em"}])),
                text(" "),
                marked("strong", json!([{"type": "strong"}])),
                text(" "),
                marked("gone", json!([{"type": "strike"}])),
                text(" "),
                marked("code", json!([{"type": "code"}])),
            ]))]))
        );
    }

    #[test]
    fn nested_marks_are_not_duplicated() {
        assert_eq!(
            to_adf("***both*** *a *b* c*"),
            doc_of(json!([para(json!([
                marked("both", json!([{"type": "em"}, {"type": "strong"}])),
                text(" "),
                marked("a b c", json!([{"type": "em"}])),
            ]))]))
        );
    }

    #[test]
    fn code_mark_drops_other_marks_but_keeps_link() {
        assert_eq!(
            to_adf("**bold `x`** [`y`](http://l)"),
            doc_of(json!([para(json!([
                marked("bold ", json!([{"type": "strong"}])),
                marked("x", json!([{"type": "code"}])),
                text(" "),
                marked(
                    "y",
                    json!([{"type": "code"}, {"type": "link", "attrs": {"href": "http://l"}}])
                ),
            ]))]))
        );
    }

    #[test]
    fn links_and_images() {
        let link = json!({"type": "link", "attrs": {"href": "https://x.test/a?b=1"}});
        assert_eq!(
            to_adf("[see *here*](https://x.test/a?b=1)"),
            doc_of(json!([para(json!([
                marked("see ", json!([link])),
                marked("here", json!([{"type": "em"}, link])),
            ]))]))
        );
        assert_eq!(
            to_adf("![shot](https://x.test/s.png) ![](https://x.test/t.png)"),
            doc_of(json!([para(json!([
                marked(
                    "shot",
                    json!([{"type": "link", "attrs": {"href": "https://x.test/s.png"}}])
                ),
                text(" "),
                marked(
                    "https://x.test/t.png",
                    json!([{"type": "link", "attrs": {"href": "https://x.test/t.png"}}])
                ),
            ]))]))
        );
        // A linked image (badge) keeps the outer link only.
        assert_eq!(
            to_adf("[![build](https://b/badge.svg)](https://ci)"),
            doc_of(json!([para(json!([marked(
                "build",
                json!([{"type": "link", "attrs": {"href": "https://ci"}}])
            )]))]))
        );
    }

    #[test]
    fn hard_break() {
        assert_eq!(
            to_adf("a  \nb\\\nc"),
            doc_of(json!([para(json!([
                text("a"),
                {"type": "hardBreak"},
                text("b"),
                {"type": "hardBreak"},
                text("c"),
            ]))]))
        );
    }

    #[test]
    fn bullet_and_ordered_lists() {
        assert_eq!(
            to_adf("- a\n- b\n  1. c\n  2. d"),
            doc_of(json!([{
                "type": "bulletList",
                "content": [
                    {"type": "listItem", "content": [para(json!([text("a")]))]},
                    {"type": "listItem", "content": [
                        para(json!([text("b")])),
                        {"type": "orderedList", "content": [
                            {"type": "listItem", "content": [para(json!([text("c")]))]},
                            {"type": "listItem", "content": [para(json!([text("d")]))]},
                        ]},
                    ]},
                ]
            }]))
        );
        assert_eq!(
            to_adf("3. x\n4. y"),
            doc_of(json!([{
                "type": "orderedList",
                "attrs": {"order": 3},
                "content": [
                    {"type": "listItem", "content": [para(json!([text("x")]))]},
                    {"type": "listItem", "content": [para(json!([text("y")]))]},
                ]
            }]))
        );
    }

    #[test]
    fn loose_list_and_empty_item() {
        assert_eq!(
            to_adf("- a\n\n  more\n-\n- ```\n  code\n  ```"),
            doc_of(json!([{
                "type": "bulletList",
                "content": [
                    {"type": "listItem", "content": [
                        para(json!([text("a")])),
                        para(json!([text("more")])),
                    ]},
                    {"type": "listItem", "content": [para(json!([]))]},
                    {"type": "listItem", "content": [
                        para(json!([])),
                        {"type": "codeBlock", "content": [text("code")]},
                    ]},
                ]
            }]))
        );
    }

    #[test]
    fn task_list() {
        assert_eq!(
            to_adf("- [x] done\n- [ ] todo"),
            doc_of(json!([{
                "type": "bulletList",
                "content": [
                    {"type": "listItem", "content": [para(json!([text("☑ done")]))]},
                    {"type": "listItem", "content": [para(json!([text("☐ todo")]))]},
                ]
            }]))
        );
    }

    #[test]
    fn code_blocks() {
        assert_eq!(
            to_adf("```rust extra\nfn main() {}\n```\n\n```\n```\n\n    indented\n"),
            doc_of(json!([
                {"type": "codeBlock", "attrs": {"language": "rust"},
                 "content": [text("fn main() {}")]},
                {"type": "codeBlock", "content": []},
                {"type": "codeBlock", "content": [text("indented")]},
            ]))
        );
    }

    #[test]
    fn blockquote_rule_and_flattening() {
        assert_eq!(
            to_adf("> quoted\n\n---\n\n> # head\n> > inner\n> ---\n> - item"),
            doc_of(json!([
                {"type": "blockquote", "content": [para(json!([text("quoted")]))]},
                {"type": "rule"},
                {"type": "blockquote", "content": [
                    para(json!([text("head")])),
                    para(json!([text("inner")])),
                    {"type": "bulletList", "content": [
                        {"type": "listItem", "content": [para(json!([text("item")]))]}
                    ]},
                ]},
            ]))
        );
    }

    #[test]
    fn heading_in_list_item_becomes_paragraph() {
        assert_eq!(
            to_adf("- # h"),
            doc_of(json!([{"type": "bulletList", "content": [
                {"type": "listItem", "content": [para(json!([text("h")]))]}
            ]}]))
        );
    }

    #[test]
    fn tables() {
        assert_eq!(
            to_adf("| h1 | *h2* |\n|---|---|\n| a | |\n"),
            doc_of(json!([{
                "type": "table",
                "content": [
                    {"type": "tableRow", "content": [
                        {"type": "tableHeader", "content": [para(json!([text("h1")]))]},
                        {"type": "tableHeader", "content": [
                            para(json!([marked("h2", json!([{"type": "em"}]))]))
                        ]},
                    ]},
                    {"type": "tableRow", "content": [
                        {"type": "tableCell", "content": [para(json!([text("a")]))]},
                        {"type": "tableCell", "content": [para(json!([]))]},
                    ]},
                ]
            }]))
        );
    }

    #[test]
    fn table_in_quote_is_flattened() {
        assert_eq!(
            to_adf("> | a | b |\n> |---|---|\n> | c | d |"),
            doc_of(json!([{"type": "blockquote", "content": [
                para(json!([text("a"), text(" | "), text("b")])),
                para(json!([text("c"), text(" | "), text("d")])),
            ]}]))
        );
    }

    #[test]
    fn raw_html_is_plain_text() {
        assert_eq!(
            to_adf("<div onclick=\"x\">\n<b>hi</b>\n</div>\n\na <span>b</span>"),
            doc_of(json!([
                para(json!([
                    text("<div onclick=\"x\">"),
                    {"type": "hardBreak"},
                    text("<b>hi</b>"),
                    {"type": "hardBreak"},
                    text("</div>"),
                ])),
                para(json!([text("a <span>b</span>")])),
            ]))
        );
    }

    #[test]
    fn hostile_json_stays_text() {
        let md = r#"{"type":"mediaSingle","content":[{"type":"media"}]} \" \\ }]}"#;
        assert_eq!(
            to_adf(md),
            doc_of(json!([para(json!([text(
                r#"{"type":"mediaSingle","content":[{"type":"media"}]} " \ }]}"#
            )]))]))
        );
    }

    #[test]
    fn control_chars_removed_emoji_rtl_kept() {
        assert_eq!(
            to_adf("a\u{1}b\u{1b}[31m red \u{7f}😀 مرحبا &#7;x"),
            doc_of(json!([para(json!([text("ab[31m red 😀 مرحبا x")]))]))
        );
        assert_eq!(to_adf("\u{2}\u{3}"), doc_of(json!([para(json!([]))])));
        assert_eq!(
            to_adf("```\n\u{1}\n```"),
            doc_of(json!([{"type": "codeBlock", "content": []}]))
        );
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let md = format!("{}deep", "> ".repeat(5000));
        let v = to_adf(&md);
        assert!(serde_json::to_string(&v).is_ok());
        let mut depth = 0;
        let mut node = &v;
        while let Some(child) = node.get("content").and_then(|c| c.get(0)) {
            depth += 1;
            node = child;
        }
        assert!(depth <= MAX_NESTING + 4, "depth {depth}");
        assert_eq!(node, &text("deep"));

        let list = (0..3000)
            .map(|i| format!("{}- l{i}\n", "  ".repeat(i)))
            .collect::<String>();
        let v = to_adf(&list);
        assert!(serde_json::to_string(&v).is_ok());
        assert_valid(&v).unwrap();
    }

    #[test]
    fn limited_fits_and_notes_truncation() {
        let md = "line of text\n".repeat(100);
        let v = to_adf_limited(&md, 500);
        let s = serde_json::to_string(&v).unwrap();
        assert!(s.chars().count() <= 500, "{s}");
        assert!(s.contains("(truncated by tm-defect-bridge: "), "{s}");
        assert_valid(&v).unwrap();

        assert_eq!(to_adf_limited("short", 500), to_adf("short"));
        assert_eq!(to_adf_limited(&md, 10), doc_of(json!([])));
        assert_eq!(serde_json::to_string(&doc_of(json!([]))).unwrap().len(), 39);
    }

    #[test]
    fn limited_handles_megabytes() {
        let samples = [
            "# Step\n- **failed** at `x`\n> quote [l](http://u)\n\n".repeat(100_000),
            "é😀".repeat(1_500_000),
            "```\ncode\n".repeat(500_000),
        ];
        for md in &samples {
            let v = to_adf_limited(md, super::super::JIRA_FIELD_LIMIT);
            let n = serde_json::to_string(&v).unwrap().chars().count();
            assert!(n <= super::super::JIRA_FIELD_LIMIT);
            assert!(
                n > super::super::JIRA_FIELD_LIMIT / 2,
                "too aggressive: {n}"
            );
            assert_valid(&v).unwrap();
        }
    }

    /// Checks the ADF invariants Jira enforces, iteratively.
    fn assert_valid(doc: &Value) -> Result<(), String> {
        if doc.get("type") != Some(&json!("doc")) || doc.get("version") != Some(&json!(1)) {
            return Err("bad doc header".into());
        }
        let mut pending = vec![doc];
        while let Some(node) = pending.pop() {
            let ty = node_type(node);
            match ty {
                "text" => {
                    let t = node.get("text").and_then(Value::as_str).unwrap_or("");
                    if t.is_empty() {
                        return Err("empty text node".into());
                    }
                    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
                        return Err(format!("control char in {t:?}"));
                    }
                    let marks: Vec<&str> = node
                        .get("marks")
                        .and_then(Value::as_array)
                        .map(|m| m.iter().map(node_type).collect())
                        .unwrap_or_default();
                    if node.get("marks").is_some() && marks.is_empty() {
                        return Err("empty marks array".into());
                    }
                    let mut sorted = marks.clone();
                    sorted.sort_unstable();
                    sorted.dedup();
                    if sorted.len() != marks.len() {
                        return Err(format!("duplicate marks {marks:?}"));
                    }
                    if marks.contains(&"code")
                        && marks.iter().any(|m| !matches!(*m, "code" | "link"))
                    {
                        return Err(format!("code combined with {marks:?}"));
                    }
                }
                "listItem" => {
                    let first = node.get("content").and_then(|c| c.get(0)).map(node_type);
                    if !matches!(first, Some("paragraph" | "bulletList" | "orderedList")) {
                        return Err(format!("listItem starts with {first:?}"));
                    }
                }
                "blockquote" => {
                    for child in node
                        .get("content")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        if !matches!(
                            node_type(child),
                            "paragraph" | "bulletList" | "orderedList" | "codeBlock"
                        ) {
                            return Err(format!("blockquote holds {}", node_type(child)));
                        }
                    }
                }
                "bulletList" | "orderedList" | "tableRow" | "table" => {
                    let children = node.get("content").and_then(Value::as_array);
                    if children.is_none_or(|c| c.is_empty()) {
                        return Err(format!("empty {ty}"));
                    }
                }
                "media" | "mediaSingle" | "mediaGroup" => return Err("media node".into()),
                _ => {}
            }
            if let Some(children) = node.get("content").and_then(Value::as_array) {
                pending.extend(children);
            }
        }
        Ok(())
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
            "3) ",
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
            "\"",
            "&#1;",
            "&amp;",
            "a",
            "b c",
            "é",
            "😀",
            "שלום",
            "\u{0}",
            "\u{1b}",
            "\u{7f}",
            "\u{202e}",
            "- [ ] ",
            "- [x] ",
            "<!--",
            "-->",
            "---",
            "===",
            "http://x.test",
            "h1. ",
            "{code}",
            "{\"type\":\"text\"}",
        ];
        prop::collection::vec(prop::sample::select(pieces), 0..60).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn arbitrary_unicode_yields_valid_adf(s in any::<String>()) {
            prop_assert_eq!(assert_valid(&to_adf(&s)), Ok(()));
        }

        #[test]
        fn markdown_soup_yields_valid_adf(s in special_soup()) {
            prop_assert_eq!(assert_valid(&to_adf(&s)), Ok(()));
        }

        #[test]
        fn limited_always_fits(s in special_soup(), max in 39usize..600) {
            let v = to_adf_limited(&s, max);
            let n = serde_json::to_string(&v).unwrap().chars().count();
            prop_assert!(n <= max, "{} > {}", n, max);
            prop_assert_eq!(assert_valid(&v), Ok(()));
        }
    }
}
