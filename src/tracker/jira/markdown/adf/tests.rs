use super::nodes::node_type;
use super::*;
use crate::tracker::jira::markdown::parse::MAX_NESTING;
use crate::tracker::jira::markdown::soup::soup;
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
        doc_of(json!([{"type": "heading", "attrs": {"level": 1}, "content": [text("Setext")]}]))
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
                if marks.contains(&"code") && marks.iter().any(|m| !matches!(*m, "code" | "link")) {
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

/// Fragments only ADF needs tested: entities, HTML comments, task items,
/// setext underlines and literal ADF JSON.
const ADF_PIECES: &[&str] = &[
    "3) ",
    "\"",
    "&#1;",
    "&amp;",
    "b c",
    "\u{7f}",
    "\u{202e}",
    "- [ ] ",
    "- [x] ",
    "<!--",
    "-->",
    "---",
    "===",
    "http://x.test",
    "{\"type\":\"text\"}",
];

fn special_soup() -> impl Strategy<Value = String> {
    soup(ADF_PIECES)
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
