//! What the sandbox prints: the stand-in Jira's issues as a reader sees them
//! (the description rendered as text), and the commands to try next.

use crate::config::{hook_url, kpi_url};
use crate::seed::{Seeded, EVIDENCE_FILES};
use crate::support::{FakeIssue, FakeJira, Issues};
use crate::Sandbox;
use serde_json::Value;
use std::time::{Duration, Instant};
use tm_defect_bridge::config::JiraFlavour;

/// A section heading.
pub fn heading(text: &str) {
    println!("\n== {text}");
}

/// `value` as indented JSON.
pub fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// "Cloud" or "Data Center".
pub fn flavour_name(flavour: JiraFlavour) -> &'static str {
    match flavour {
        JiraFlavour::Cloud => "Cloud",
        JiraFlavour::DataCenter => "Data Center",
    }
}

/// Whether `issue` holds all its evidence: every file and the summary comment.
pub fn evidence_arrived(issue: &FakeIssue) -> bool {
    issue.attachments.len() >= EVIDENCE_FILES && !issue.comments.is_empty()
}

/// The stand-in Jira's first issue once its evidence arrived, or as it is when
/// `patience` ran out.
pub async fn wait_for_issue(jira: &FakeJira, patience: Duration) -> Option<FakeIssue> {
    let started = Instant::now();
    loop {
        let first = jira.issues().into_iter().next();
        let settled = first.as_ref().is_some_and(evidence_arrived);
        if settled || started.elapsed() > patience {
            return first;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Prints `issue` as Jira holds it.
pub fn issue(issue: &FakeIssue, flavour: JiraFlavour) {
    let fields = &issue.body["fields"];
    let names = |list: &Value| -> String {
        list.as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i["name"].as_str().or_else(|| i.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    println!("key:          {}", issue.key);
    println!(
        "summary:      {}",
        fields["summary"].as_str().unwrap_or_default()
    );
    println!(
        "type:         {}",
        fields["issuetype"]["name"]
            .as_str()
            .or(fields["issuetype"]["id"].as_str())
            .unwrap_or_default()
    );
    println!("priority:     {}", issue.priority);
    println!("status:       {}", issue.status);
    println!("labels:       {}", issue.labels.join(", "));
    println!("components:   {}", names(&fields["components"]));
    if let Some(map) = fields.as_object() {
        for (id, value) in map.iter().filter(|(id, _)| id.starts_with("customfield_")) {
            println!("{id}: {}", text_of(value, flavour).trim());
        }
    }
    println!("description:");
    for line in text_of(&fields["description"], flavour).trim_end().lines() {
        println!("  | {line}");
    }
    println!("attachments:");
    if issue.attachments.is_empty() {
        println!("  (none yet)");
    }
    for (name, bytes) in &issue.attachments {
        println!("  - {name} ({} bytes)", bytes.len());
    }
    for comment in &issue.comments {
        let body = comment.get("body").unwrap_or(comment);
        println!("comment:");
        for line in text_of(body, flavour).trim_end().lines() {
            println!("  | {line}");
        }
    }
}

/// A field's value as text: wiki markup and plain strings as they are, an
/// Atlassian Document Format tree rendered line by line.
fn text_of(value: &Value, flavour: JiraFlavour) -> String {
    match value {
        Value::String(text) if flavour == JiraFlavour::DataCenter => crate::wiki::to_text(text),
        Value::String(text) => text.clone(),
        Value::Object(_) if flavour == JiraFlavour::Cloud || value["type"] == "doc" => {
            let blocks = value["content"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            let paragraphs: Vec<String> = blocks
                .iter()
                .map(|block| {
                    let mut lines = Vec::new();
                    adf_blocks(block, "", &mut lines);
                    lines.join("\n")
                })
                .collect();
            paragraphs.join("\n\n")
        }
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Appends the lines of ADF block `node` (and its children), each after `indent`.
fn adf_blocks(node: &Value, indent: &str, lines: &mut Vec<String>) {
    let children = node["content"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    match node["type"].as_str().unwrap_or_default() {
        "paragraph" => lines.push(format!("{indent}{}", adf_inline(children))),
        "heading" => {
            let level = node["attrs"]["level"].as_u64().unwrap_or(1) as usize;
            lines.push(format!(
                "{indent}{} {}",
                "#".repeat(level),
                adf_inline(children)
            ));
        }
        "bulletList" | "orderedList" => {
            let ordered = node["type"] == "orderedList";
            for (n, item) in children.iter().enumerate() {
                let mut item_lines = Vec::new();
                adf_blocks(item, "", &mut item_lines);
                let marker = if ordered {
                    format!("{}. ", n + 1)
                } else {
                    "- ".into()
                };
                for (i, line) in item_lines.into_iter().enumerate() {
                    let lead = if i == 0 {
                        marker.clone()
                    } else {
                        " ".repeat(marker.len())
                    };
                    lines.push(format!("{indent}{lead}{line}"));
                }
            }
        }
        "codeBlock" => {
            lines.push(format!("{indent}```"));
            for line in adf_inline(children).lines() {
                lines.push(format!("{indent}{line}"));
            }
            lines.push(format!("{indent}```"));
        }
        "blockquote" => {
            for child in children {
                adf_blocks(child, &format!("{indent}> "), lines);
            }
        }
        "rule" => lines.push(format!("{indent}----")),
        "tableRow" => {
            let cells: Vec<String> = children
                .iter()
                .map(|cell| {
                    let mut cell_lines = Vec::new();
                    for block in cell["content"].as_array().into_iter().flatten() {
                        adf_blocks(block, "", &mut cell_lines);
                    }
                    cell_lines.join(" ")
                })
                .collect();
            lines.push(format!("{indent}| {} |", cells.join(" | ")));
        }
        _ => {
            for child in children {
                adf_blocks(child, indent, lines);
            }
        }
    }
}

/// The text of ADF inline nodes; a link's target follows its text.
fn adf_inline(nodes: &[Value]) -> String {
    let mut text = String::new();
    for node in nodes {
        match node["type"].as_str().unwrap_or_default() {
            "text" => {
                text.push_str(node["text"].as_str().unwrap_or_default());
                let link = node["marks"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|m| m["type"] == "link");
                if let Some(href) = link.and_then(|m| m["attrs"]["href"].as_str()) {
                    text.push_str(&format!(" <{href}>"));
                }
            }
            "hardBreak" => text.push('\n'),
            "inlineCard" => text.push_str(node["attrs"]["url"].as_str().unwrap_or_default()),
            _ => text.push_str(node["attrs"]["text"].as_str().unwrap_or_default()),
        }
    }
    text
}

/// Prints the commands that fire the other seeded results, make new ones, ask
/// for the KPIs and open the operator page.
pub fn next_steps(sandbox: &Sandbox) {
    let hook = hook_url(&sandbox.bridge);
    let bridge = &sandbox.bridge;
    let curl = |seeded: &Seeded| {
        let body = serde_json::to_string(&seeded.result.body()).unwrap_or_default();
        format!("  curl -sS -X POST {hook} -H 'Content-Type: application/json' -d '{body}'")
    };
    println!(
        "Fire the other failed results as Test Manager would (each new issue is printed here):"
    );
    for seeded in &sandbox.failed[1..] {
        println!(
            "\n  # {} {}\n{}",
            seeded.case.key,
            seeded.case.name,
            curl(seeded)
        );
    }
    println!("\nSending a result again answers the same issue: one issue per failed result.");
    println!(
        "\nA result that passed is refused with a problem+json answer (the operator page lists it):\n\n  # {} {}\n{}",
        sandbox.passed.case.key,
        sandbox.passed.case.name,
        curl(&sandbox.passed)
    );
    println!(
        "\nEdit {}/example.toml (summary, labels, priority rules, description) and save it:\n\
         the bridge reloads it (a mistake is reported here and the old file stays in force).\n\
         Then make a new failed result in the stand-in Test Manager and send it; the issue\n\
         follows the file (12 new results in all; undo the edit with git checkout):\n\n  \
         curl -sS -X POST {} | curl -sS -X POST {hook} -H 'Content-Type: application/json' -d @-",
        sandbox.mappings.display(),
        sandbox.next_failure,
    );
    println!(
        "\nAsk for the KPIs as the dashboard does:\n  curl -sS {}",
        kpi_url(bridge)
    );
    println!("\nOpen the operator page: {bridge}/   (metrics: {bridge}/metrics, readiness: {bridge}/readyz)");
    println!("\nCtrl-C stops the sandbox.");
}

/// Prints each issue that appears in the stand-in Jira after the first `seen`,
/// once its evidence arrived (or after ten seconds).
pub async fn follow_new_issues(issues: Issues, flavour: JiraFlavour, mut seen: usize) {
    let mut first_noticed: Option<Instant> = None;
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let next = issues
            .lock()
            .map(|held| held.get(seen).cloned())
            .ok()
            .flatten();
        let Some(next) = next else { continue };
        let noticed = *first_noticed.get_or_insert_with(Instant::now);
        if evidence_arrived(&next) || noticed.elapsed() > Duration::from_secs(10) {
            heading(&format!("A new issue in the stand-in Jira: {}", next.key));
            issue(&next, flavour);
            seen += 1;
            first_noticed = None;
        }
    }
}
