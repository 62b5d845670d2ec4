//! The copy of Atlassian's Jira Cloud schemas in `tests/fixtures/` is what
//! Atlassian's document says: every copied schema is unchanged, and every
//! schema a copied one references is copied too.

use crate::support::{CLOUD_CONTRACT, CLOUD_CONTRACT_SOURCE};
use serde_json::Value;

/// Every `#/components/schemas/…` name `value` references.
fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner.as_str()) {
                    ("$ref", Some(target)) => {
                        if let Some(name) = target.strip_prefix("#/components/schemas/") {
                            found.push(name.to_owned());
                        }
                    }
                    _ => references(inner, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| references(item, found)),
        _ => {}
    }
}

#[test]
fn the_copied_schemas_are_complete() {
    let copy: Value = serde_json::from_str(CLOUD_CONTRACT).unwrap();
    let schemas = copy["components"]["schemas"].as_object().unwrap();
    assert!(
        schemas.contains_key("IssueUpdateDetails"),
        "the create body's schema"
    );
    let mut referenced = Vec::new();
    references(&copy["components"], &mut referenced);
    let missing: Vec<&String> = referenced
        .iter()
        .filter(|name| !schemas.contains_key(name.as_str()))
        .collect();
    assert!(missing.is_empty(), "referenced but not copied: {missing:?}");
}

#[test]
fn the_copied_schemas_are_atlassians() {
    let Ok(text) = std::fs::read_to_string(CLOUD_CONTRACT_SOURCE) else {
        eprintln!("skipping the comparison with Atlassian's document: {CLOUD_CONTRACT_SOURCE} is not there");
        return;
    };
    let document: Value = serde_json::from_str(&text).unwrap();
    let copy: Value = serde_json::from_str(CLOUD_CONTRACT).unwrap();
    assert_eq!(
        copy["version"], document["info"]["version"],
        "copied from another version"
    );
    for (name, schema) in copy["components"]["schemas"].as_object().unwrap() {
        assert_eq!(
            schema, &document["components"]["schemas"][name],
            "{name} differs from Atlassian's document"
        );
    }
}
