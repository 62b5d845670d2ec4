//! Checks JSON bodies against Atlassian's Jira Cloud OpenAPI document
//! (`../shared/contracts/jira-cloud-platform.v3.openapi.json`).

use serde_json::{json, Value};

/// Validates `instance` against a schema of Atlassian's Jira Cloud OpenAPI document.
pub fn assert_matches_cloud_schema(schema_name: &str, instance: &Value) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/contracts/jira-cloud-platform.v3.openapi.json"
    );
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("the Jira Cloud contract must be at {path}: {e}"));
    let document: Value = serde_json::from_str(&text).unwrap();
    let schema = json!({
        "$ref": format!("#/components/schemas/{schema_name}"),
        "components": document["components"],
    });
    let validator =
        jsonschema::validator_for(&schema).expect("the contract compiles as JSON Schema");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{schema_name} violations: {errors:#?}\nbody: {instance:#}"
    );
}
