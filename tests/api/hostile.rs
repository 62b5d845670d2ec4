//! Hostile content from Test Manager becomes a valid, inert Jira issue.

use crate::support::*;
use serde_json::Value;
use tm_defect_bridge::config::JiraFlavour;

const NAME: &str = "{color:red}*pwn*{color} [evil|http://x] !img.png! \" OR project = X -- \u{202e}txet\u{202c} 🔥\u{0007}\nnext line";

fn message() -> String {
    let mut m = String::from("{\"type\":\"doc\",\"content\":[{\"type\":\"extension\"}]} {code}x{code} ||a||b|| h1. head\u{0000}\u{001b}[31m");
    m.push_str(&"ü".repeat(1_000_000));
    m
}

async fn created_body(flavour: JiraFlavour) -> Value {
    let app = spawn_app(AppOptions::of(flavour)).await;
    let seeded = SeededResult::new(None);
    app.tm.seed_with(&seeded, "Failed", NAME, &message()).await;
    let response = app.create_defect(&seeded.body()).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let creates = app.jira.creates().await;
    assert_eq!(creates.len(), 1);
    serde_json::from_slice(&creates[0].body).unwrap()
}

fn assert_summary_is_safe(body: &Value) {
    let summary = body["fields"]["summary"].as_str().unwrap();
    assert!(summary.chars().count() <= 255, "{summary}");
    assert!(
        !summary.contains('\n') && !summary.chars().any(char::is_control),
        "{summary:?}"
    );
    assert!(
        summary.contains("🔥") && summary.contains('\u{202e}'),
        "emoji and RTL marks survive: {summary:?}"
    );
}

#[tokio::test]
async fn cloud_gets_a_schema_valid_body_with_plain_text_nodes() {
    let body = created_body(JiraFlavour::Cloud).await;
    assert_matches_cloud_schema("IssueUpdateDetails", &body);
    assert_summary_is_safe(&body);
    let description = &body["fields"]["description"];
    assert_eq!(description["type"], "doc");
    let serialized = description.to_string();
    assert!(serialized.chars().count() <= 32_767, "{}", serialized.len());
    // The ADF-looking JSON is text, not a node.
    assert!(
        !serialized.contains("\"type\":\"extension\""),
        "no injected node"
    );
    assert!(
        serialized.contains("{\\\"type\\\":\\\"doc\\\""),
        "kept as escaped text"
    );
    assert!(!serialized.contains('\u{0000}') && !serialized.contains('\u{001b}'));
}

#[tokio::test]
async fn data_center_gets_escaped_wiki_markup_within_the_limit() {
    let body = created_body(JiraFlavour::DataCenter).await;
    assert_summary_is_safe(&body);
    let description = body["fields"]["description"].as_str().unwrap();
    assert!(
        description.chars().count() <= 32_767,
        "{}",
        description.chars().count()
    );
    assert!(!description.contains("{color:red}"), "markup is escaped");
    assert!(
        description.contains("\\{color:red\\}") || description.contains("\\{color"),
        "{}",
        &description[..400.min(description.len())]
    );
    assert!(!description.contains("[evil|http://x]"));
    assert!(
        description.contains("truncated"),
        "the megabyte message was cut with a note"
    );
}
