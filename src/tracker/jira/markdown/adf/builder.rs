//! The ADF builder: pulldown-cmark's flat event stream → ADF block nodes.
//!
//! An explicit frame stack (no recursion on input depth) holds the open
//! containers; inline marks and images are tracked apart because ADF puts
//! marks on text nodes instead of nesting them.

use pulldown_cmark::{CodeBlockKind, Event, Tag, TagEnd};
use serde_json::{json, Map, Value};

use super::nodes::{flatten, node_type, paragraph};
use crate::mapping::text::strip_control;
use crate::tracker::jira::markdown::image::{self, Image};
use crate::tracker::jira::markdown::parse::MAX_NESTING;

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

/// Turns one document's Markdown events into ADF block nodes: feed every
/// event to [`Builder::event`], then take the blocks with [`Builder::finish`].
pub(super) struct Builder {
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
    /// Applies one parser event; never panics, whatever the event order.
    pub(super) fn event(&mut self, event: Event<'_>) {
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
                return self.images.push(Image::open(&dest_url));
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

    /// Closes everything still open and returns the document's top-level
    /// blocks.
    pub(super) fn finish(mut self) -> Vec<Value> {
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
        let Some(image) = image::close(&mut self.images) else {
            return;
        };
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
