//! Hostile input, end to end: arbitrary Unicode (control characters, RTL
//! marks, emoji, markup, JSON, JQL) in every string of the `Failure` renders
//! without panicking into a one-line summary of at most 255 characters and a
//! create body within Jira's limits, on both flavours.
//!
//! Lives beside the Jira adapter because the limits it checks are Jira's body
//! encoding (ADF / wiki); the mapping is only its input.

use super::body::{create_issue, DESCRIPTION_MAX_CHARS};
use super::fields::FieldCatalog;
use crate::config::JiraFlavour;
use crate::mapping::failure::FailureAssertion;
use crate::mapping::registry::load_file;
use crate::mapping::{Failure, ProjectMapping};
use proptest::prelude::*;

const PLAIN: &str = r#"
[project]
id = "6c1f0b4e-3f7a-4b8e-9a51-2f0c8d7e1a42"
prefix = "shop"

[jira]
project = "SHOP"
issue_type = "Bug"

[issue]
summary = "[{{ test_case.key }}] {{ test_case.name }} failed in {{ execution.name }} {% for a in failed_assertions %}{{ a.message }}{% endfor %}"
labels = ["{{ execution.name }}", "{{ test_case.name }}"]
"#;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC{0,80}",
        Just("{code}x{code} h1. *bold* [link|http://x] {noformat}".to_owned()),
        Just(r#"{"type":"doc","version":1,"content":[]}"#.to_owned()),
        Just("\" OR project = X ORDER BY created".to_owned()),
        Just("\u{202e}\u{200f}עברית 🎉\u{0}\u{7}\r\n\t".to_owned()),
        "[a-z\\n]{0,2000}".prop_map(|s| s.repeat(40)),
    ]
}

fn failure(strings: Vec<String>) -> Failure {
    let mut f = Failure::sample();
    let mut s = strings.into_iter().cycle();
    let mut next = || s.next().unwrap_or_default();
    f.test_case.key = next();
    f.test_case.name = next();
    f.test_case.description = Some(next());
    f.test_case.labels = vec![next()];
    f.execution.name = next();
    f.variation_id = Some(next());
    f.log.info = Some(next());
    f.log.robot_name = Some(next());
    f.log.host_machine_name = Some(next());
    f.log.executed_by = Some(next());
    f.failed_assertions = vec![
        FailureAssertion {
            message: next(),
            payload: Some(next()),
            screenshot: Some(next()),
        };
        2
    ];
    f.assertions_markdown = Some(next());
    f
}

/// [`PLAIN`] loaded as a mapping file would be.
fn plain_mapping() -> ProjectMapping {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.toml");
    std::fs::write(&path, PLAIN).unwrap();
    load_file(&path).unwrap()
}

/// Characters in the text nodes of an ADF document.
fn text_chars(node: &serde_json::Value) -> usize {
    let own = node["text"].as_str().map_or(0, |t| t.chars().count());
    own + node["content"]
        .as_array()
        .map_or(0, |c| c.iter().map(text_chars).sum())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn arbitrary_unicode_renders_within_the_limits(strings in proptest::collection::vec(text(), 1..8)) {
        let mapping = plain_mapping();
        let draft = mapping.render(&failure(strings)).unwrap();
        prop_assert!(draft.summary.chars().count() <= 255);
        prop_assert!(!draft.summary.contains('\n') && !draft.summary.contains('\r'));
        for label in &draft.labels {
            prop_assert!(!label.contains(' ') && label.chars().count() <= 255);
        }
        for flavour in [JiraFlavour::Cloud, JiraFlavour::DataCenter] {
            let body = create_issue(flavour, &draft, &FieldCatalog::default()).unwrap();
            let description = &body["fields"]["description"];
            let size = match description.as_str() {
                Some(wiki) => wiki.chars().count(),
                None => {
                    prop_assert_eq!(&description["type"], "doc");
                    text_chars(description)
                }
            };
            prop_assert!(size <= DESCRIPTION_MAX_CHARS, "{flavour:?}: {size}");
        }
    }
}
