//! Assembling the template model (`Failure`) from Test Manager's data.

use crate::mapping::failure::{
    FailureAssertion, FailureExecution, FailureLog, FailureProject, FailureTestCase,
};
use crate::mapping::{Failure, IssueDraft, MappingError, ProjectMapping};
use crate::result_key::{ResultKey, BRIDGE_LABEL};
use crate::testmanager::FailureDetails;

/// Builds the `Failure` that templates see.
pub fn failure(
    mapping: &ProjectMapping,
    key: &ResultKey,
    details: &FailureDetails,
    link: Option<&str>,
) -> Failure {
    let log = &details.log;
    let test_case = &details.test_case;
    let failed_assertions = details
        .assertions
        .iter()
        .filter(|a| !a.succeeded)
        .map(|a| FailureAssertion {
            message: a.message.clone().unwrap_or_default(),
            payload: a.payload.clone().filter(|p| !p.is_empty()),
            screenshot: a.screenshot_file_name.clone().filter(|_| a.has_screenshot),
        })
        .collect();
    let key_text = test_case
        .obj_key
        .clone()
        .or_else(|| log.test_case.as_ref().and_then(|t| t.obj_key.clone()))
        .unwrap_or_else(|| test_case.id.to_string());
    Failure {
        project: FailureProject {
            id: mapping.project_id.to_string(),
            prefix: mapping.prefix.clone(),
            name: mapping.name.clone(),
        },
        result_id: key.short_id(),
        label: key.label(),
        test_case: FailureTestCase {
            id: test_case.id.to_string(),
            key: key_text,
            name: test_case.name.clone(),
            description: test_case.description.clone(),
            labels: test_case.labels.clone(),
        },
        execution: FailureExecution {
            id: details.execution.id.to_string(),
            name: details.execution.name.clone(),
            kind: details.execution.execution_type.clone(),
        },
        variation_id: key.variation_id.clone(),
        log: FailureLog {
            id: log.id.to_string(),
            result: log.result.clone(),
            started: log.execution_start.clone(),
            ended: log.execution_end.clone(),
            executed_by: log.executed_by.clone(),
            robot_name: log.robot_name.clone(),
            host_machine_name: log.host_machine_name.clone(),
            runtime_type: log.runtime_type.clone(),
            info: log.info.clone(),
            detail_link: log.detail_link.clone(),
            input_arguments: log.input_arguments.clone(),
            output_arguments: log.output_arguments.clone(),
        },
        failed_assertions,
        assertion_count: details.assertions.len(),
        assertions_markdown: details.assertions_markdown.clone(),
        robot_log: details.robot_log.clone(),
        link: link.map(str::to_owned).or_else(|| log.detail_link.clone()),
    }
}

/// The failure and the issue draft for it: the mapping's rendering plus the
/// result's label, first, which no mapping can leave out.
pub fn draft(
    mapping: &ProjectMapping,
    key: &ResultKey,
    details: &FailureDetails,
    link: Option<&str>,
) -> Result<(Failure, IssueDraft), MappingError> {
    let failure = failure(mapping, key, details, link);
    let mut draft = mapping.render(&failure)?;
    draft
        .labels
        .retain(|l| l != &failure.label && l != BRIDGE_LABEL);
    draft.labels.insert(0, failure.label.clone());
    draft.labels.insert(1, BRIDGE_LABEL.to_owned());
    Ok((failure, draft))
}
