//! Checks JSON bodies against Atlassian's Jira Cloud OpenAPI document: the
//! request schemas the bridge sends, with every schema they reference, copied
//! into `tests/fixtures/jira-cloud-contract.json` so the tests run from a
//! clone alone. `contract.rs` checks the copy against the whole document
//! (`../shared/contracts/`) when it is there.

use serde_json::{json, Value};

/// The copied schemas (`{"about", "version", "components": {"schemas"}}`).
pub const CLOUD_CONTRACT: &str = include_str!("../../fixtures/jira-cloud-contract.json");

/// Where Atlassian's whole document lies beside the checkout, when it does.
pub const CLOUD_CONTRACT_SOURCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/contracts/jira-cloud-platform.v3.openapi.json"
);

/// Validates `instance` against a schema of Atlassian's Jira Cloud OpenAPI document.
pub fn assert_matches_cloud_schema(schema_name: &str, instance: &Value) {
    let contract: Value =
        serde_json::from_str(CLOUD_CONTRACT).expect("the copied contract is JSON");
    assert!(
        contract["components"]["schemas"].get(schema_name).is_some(),
        "{schema_name} is not in tests/fixtures/jira-cloud-contract.json: copy it (and what it references) from the OpenAPI document"
    );
    let schema = json!({
        "$ref": format!("#/components/schemas/{schema_name}"),
        "components": contract["components"],
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
