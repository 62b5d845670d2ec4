//! ADF node helpers, and the rewriting of blocks for containers that ADF
//! restricts to paragraphs, lists and code blocks.

use serde_json::{json, Value};

/// A paragraph node holding `content` (inline nodes; may be empty, which
/// ADF allows).
pub(super) fn paragraph(content: Vec<Value>) -> Value {
    json!({"type": "paragraph", "content": content})
}

/// The node's `type`, or "" for anything that is not a node.
pub(super) fn node_type(node: &Value) -> &str {
    node.get("type").and_then(Value::as_str).unwrap_or_default()
}

/// The node's `content` array, or nothing if it has none.
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
pub(super) fn flatten(children: Vec<Value>) -> Vec<Value> {
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
