//! Loading and rendering mapping files: every mistake names its file and key.

use super::registry::{load_file, Projects};
use super::{Failure, FieldValue, MappingError};
use std::path::PathBuf;

/// The SHOP mapping of the integration tests (`tests/fixtures/shop.toml`).
const SHOP: &str = include_str!("../../tests/fixtures/shop.toml");

/// The SHOP mapping with what these tests exercise beyond it: a lower-case prefix, a
/// plain summary, a blank label to drop, a rule on the failed assertions, and custom
/// fields holding a list and a number.
fn good() -> String {
    let edits = [
        ("prefix = \"SHOP\"", "prefix = \"shop\""),
        (
            "summary = \"[{{ test_case.key }}] {{ test_case.name }} failed in {{ execution.name }}\"",
            "summary = \"{{ test_case.key }} {{ test_case.name }}\"",
        ),
        (
            "labels = [\"test-manager\", \"{{ execution.name }}\"]",
            "labels = [\"tm\", \"{{ execution.name }}\", \"  \"]",
        ),
        (
            "when = \"'checkout' in test_case.labels\"",
            "when = \"failed_assertions | length > 0\"",
        ),
    ];
    let mut text = SHOP.to_owned();
    for (from, to) in edits {
        assert!(text.contains(from), "the SHOP fixture has {from}");
        text = text.replace(from, to);
    }
    text + "\"Browsers\" = [\"Chrome\", \"{{ log.robot_name }}\"]\n\"Points\" = 3\n"
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn error_of(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "shop.toml", text);
    load_file(&path).unwrap_err().to_string()
}

#[test]
fn a_good_mapping_renders_every_part() {
    let dir = tempfile::tempdir().unwrap();
    let mapping = load_file(&write(&dir, "shop.toml", &good())).unwrap();
    assert_eq!(mapping.route, "shop");
    assert_eq!(mapping.prefix.as_deref(), Some("SHOP"));
    let draft = mapping.render(&Failure::sample()).unwrap();
    assert_eq!(draft.summary, "SHOP:42 Checkout with an expired card");
    assert_eq!(draft.labels, vec!["tm", "Nightly-regression"]);
    assert_eq!(draft.priority.as_deref(), Some("High"));
    assert_eq!(
        draft.custom_fields,
        vec![
            (
                "Browsers".to_owned(),
                FieldValue::Many(vec!["Chrome".into(), "robot-7".into()])
            ),
            (
                "Environment".to_owned(),
                FieldValue::One("WIN-TEST-01".into())
            ),
            ("Points".to_owned(), FieldValue::One("3".into())),
        ]
    );
    assert!(draft
        .description_markdown
        .contains("Expected 'Card declined'"));
}

#[test]
fn summaries_are_one_line_and_at_most_255_characters() {
    let dir = tempfile::tempdir().unwrap();
    let text = good().replace(
        "summary = \"{{ test_case.key }} {{ test_case.name }}\"",
        "summary = \"{{ test_case.name }}\\n{% for i in range(100) %}ünïcødé 👍 {% endfor %}\"",
    );
    let mapping = load_file(&write(&dir, "shop.toml", &text)).unwrap();
    let summary = mapping.render(&Failure::sample()).unwrap().summary;
    assert_eq!(summary.chars().count(), 255);
    assert!(!summary.contains('\n'));
    assert!(summary.ends_with('…'));
}

#[test]
fn unknown_keys_name_the_file_and_key() {
    let err = error_of(&good().replace("issue_type", "issue_typ"));
    assert!(err.contains("shop.toml"), "{err}");
    assert!(err.contains("issue_typ"), "{err}");
    assert!(err.contains("line"), "{err}");
}

#[test]
fn missing_values_are_named() {
    let err = error_of(&good().replace("project = \"SHOP\"\n", ""));
    assert!(err.contains("project"), "{err}");
    let err = error_of(&good().replace("issue_type = \"Bug\"", "issue_type = \" \""));
    assert!(err.contains("jira.issue_type"), "{err}");
}

#[test]
fn a_project_id_must_be_a_guid() {
    let err = error_of(&good().replace("6c1f0b4e-3f7a-4b8e-9a51-2f0c8d7e1a42", "SHOP"));
    assert!(err.contains("project.id"), "{err}");
}

#[test]
fn template_syntax_errors_name_the_key() {
    let err = error_of(&good().replace(
        "{{ test_case.key }} {{ test_case.name }}",
        "{{ test_case.key ",
    ));
    assert!(err.contains("issue.summary"), "{err}");
}

#[test]
fn unknown_placeholders_stop_loading() {
    let err = error_of(&good().replace("{{ log.host_machine_name }}", "{{ log.hostname }}"));
    assert!(err.contains("issue.custom_fields"), "{err}");
    assert!(err.contains("shop.toml"), "{err}");
}

#[test]
fn broken_priority_rules_name_the_rule() {
    let err = error_of(&good().replace("failed_assertions | length > 0", "failed_assertions |"));
    assert!(err.contains("issue.priority.rules[0].when"), "{err}");
}

#[test]
fn templates_cannot_reach_files_or_the_environment() {
    let err = error_of(&good().replace(
        "{{ test_case.key }} {{ test_case.name }}",
        "{% include '/etc/passwd' %}",
    ));
    assert!(err.contains("issue.summary"), "{err}");
    let err =
        error_of(&good().replace("{{ test_case.key }} {{ test_case.name }}", "{{ env.HOME }}"));
    assert!(err.contains("issue.summary"), "{err}");
}

#[test]
fn runaway_templates_are_stopped() {
    let err = error_of(&good().replace(
        "{{ test_case.key }} {{ test_case.name }}",
        "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
    ));
    assert!(err.contains("issue.summary"), "{err}");
}

#[test]
fn two_files_cannot_claim_one_project() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir, "a.toml", &good());
    write(
        &dir,
        "b.toml",
        &good().replace("prefix = \"shop\"", "prefix = \"other\""),
    );
    let problems = Projects::load_dir(dir.path()).unwrap_err();
    assert_eq!(problems.len(), 1);
    assert!(
        matches!(&problems[0], MappingError::Invalid { key, .. } if key == "project.id"),
        "{problems:?}"
    );
}

#[test]
fn every_bad_file_is_reported_at_once() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir, "a.toml", "[project]\n");
    write(&dir, "b.toml", "not toml at all [");
    write(&dir, "c.toml", &good());
    write(&dir, "ignored.txt", "x");
    let problems = Projects::load_dir(dir.path()).unwrap_err();
    assert_eq!(problems.len(), 2, "{problems:?}");
}

#[test]
fn the_shipped_example_loads() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("mappings/example.toml");
    let mapping = load_file(&path).unwrap();
    assert_eq!(mapping.route, "shop");
    mapping.render(&Failure::sample()).unwrap();
}

#[test]
fn lookups_by_route_guid_and_prefix() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir, "shop.toml", &good());
    let projects = Projects::load_dir(dir.path()).unwrap();
    assert!(projects.by_route("SHOP").is_some());
    assert!(projects.by_id_or_prefix("shop").is_some());
    assert!(projects
        .by_id_or_prefix("6C1F0B4E-3F7A-4B8E-9A51-2F0C8D7E1A42")
        .is_some());
    assert!(projects.by_id_or_prefix("\" OR 1=1").is_none());
}

mod hostile {
    //! Arbitrary Unicode (control characters, RTL marks, emoji, markup, JSON,
    //! JQL) in every string of the `Failure` renders without panicking into a
    //! one-line summary of at most 255 characters and a create body within
    //! Jira's limits, on both flavours.

    use super::*;
    use crate::config::JiraFlavour;
    use crate::tracker::jira::body::{create_issue, DESCRIPTION_MAX_CHARS};
    use crate::tracker::jira::fields::FieldCatalog;
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
            crate::mapping::failure::FailureAssertion {
                message: next(),
                payload: Some(next()),
                screenshot: Some(next()),
            };
            2
        ];
        f.assertions_markdown = Some(next());
        f
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
            let dir = tempfile::tempdir().unwrap();
            let mapping = load_file(&write(&dir, "shop.toml", PLAIN)).unwrap();
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
}
