//! The webhook contract with Test Manager: what it sends, and what it gets back.
//!
//! `RawCreateDefectRequest` is the JSON exactly as received (every field
//! optional, nothing trusted); [`CreateDefectRequest::parse`] turns it into the
//! validated request once, at the edge. `DefectPayload` is the one place the
//! answer's shape is defined (see README, "The answer to Test Manager"), and
//! `KpiConnectorDefectsDto` the one place the dashboard's answer is.

use crate::result_key::ResultKey;
use serde::{Deserialize, Serialize};
use url::Url;
use uuid::Uuid;

/// `CreateDefectFromTestCaseLogRequest` as received; unknown fields are ignored.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RawCreateDefectRequest {
    /// Test execution GUID.
    pub test_execution_id: Option<String>,
    /// Test case GUID.
    pub test_case_id: Option<String>,
    /// Data variation id, or null.
    pub variation_id: Option<String>,
    /// Link to the test case log in Test Manager, or null.
    pub link_to_test_case_log: Option<String>,
}

/// A validated Create Defect request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateDefectRequest {
    /// Which result failed.
    pub key: ResultKey,
    /// Where the result can be seen in Test Manager (http or https only).
    pub link_to_test_case_log: Option<Url>,
}

/// Why a Create Defect body was refused; each message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// A required id is missing.
    #[error("`{field}` is missing; Test Manager sends it with every Create Defect request")]
    Missing {
        /// camelCase field name.
        field: &'static str,
    },
    /// An id is not a GUID.
    #[error("`{field}` must be a GUID, got `{value}`")]
    NotAGuid {
        /// camelCase field name.
        field: &'static str,
        /// The value received (shortened).
        value: String,
    },
    /// The link is not an http(s) URL.
    #[error("`linkToTestCaseLog` must be an http or https URL")]
    BadLink,
    /// The variation id is unreasonably long.
    #[error("`variationId` is longer than {max} characters")]
    VariationTooLong {
        /// The limit.
        max: usize,
    },
}

/// Longest accepted `variationId`; Test Manager's are short ids.
pub const VARIATION_MAX_CHARS: usize = 200;

impl CreateDefectRequest {
    /// Validates a raw request.
    pub fn parse(raw: RawCreateDefectRequest) -> Result<Self, RequestError> {
        let guid = |field: &'static str, value: Option<String>| -> Result<Uuid, RequestError> {
            let value = value
                .filter(|v| !v.trim().is_empty())
                .ok_or(RequestError::Missing { field })?;
            Uuid::parse_str(value.trim()).map_err(|_| RequestError::NotAGuid {
                field,
                value: value.chars().take(60).collect(),
            })
        };
        let test_execution_id = guid("testExecutionId", raw.test_execution_id)?;
        let test_case_id = guid("testCaseId", raw.test_case_id)?;
        if raw
            .variation_id
            .as_ref()
            .is_some_and(|v| v.chars().count() > VARIATION_MAX_CHARS)
        {
            return Err(RequestError::VariationTooLong {
                max: VARIATION_MAX_CHARS,
            });
        }
        let link_to_test_case_log = match raw.link_to_test_case_log.filter(|l| !l.trim().is_empty())
        {
            None => None,
            Some(link) => {
                let url = Url::parse(link.trim()).map_err(|_| RequestError::BadLink)?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(RequestError::BadLink);
                }
                Some(url)
            }
        };
        Ok(Self {
            key: ResultKey::new(test_execution_id, test_case_id, raw.variation_id),
            link_to_test_case_log,
        })
    }
}

/// The answer to Create Defect: Test Manager shows `linkLabel` linking to `link`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DefectPayload {
    /// The summary.
    pub name: String,
    /// The status name in Jira.
    pub status: String,
    /// The priority name in Jira (empty when Jira has none).
    pub priority: String,
    /// The browse URL.
    pub link: String,
    /// The issue key, e.g. `SHOP-12`.
    pub link_label: String,
}

/// `KPIConnectorDefectsDto`: the answer to the dashboard's
/// `GET …/api/kpis/project/{projectId}/defectstatus`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KpiConnectorDefectsDto {
    /// Every defect in scope.
    pub total_defects: i32,
    /// Open defects with a critical priority.
    pub critical_defects: i32,
    /// Open defects with a moderate priority.
    pub moderate_defects: i32,
    /// Defects not done.
    pub open_defects: i32,
    /// Defects done.
    pub closed_defects: i32,
    /// A `ConnectorKPIStatus` value (configured: `kpis.status_*`).
    pub status: String,
    /// Where "Critical" leads: Jira's issue search for the critical set.
    pub critical_defects_link: Option<String>,
}

/// A count as Test Manager's int32, saturating instead of wrapping.
pub fn int32(count: u64) -> i32 {
    i32::try_from(count).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn raw(exec: Option<&str>, case: Option<&str>) -> RawCreateDefectRequest {
        RawCreateDefectRequest {
            test_execution_id: exec.map(Into::into),
            test_case_id: case.map(Into::into),
            ..Default::default()
        }
    }

    const A: &str = "6f9619ff-8b86-d011-b42d-00c04fc964ff";

    #[test]
    fn missing_and_malformed_ids_are_named() {
        assert_eq!(
            CreateDefectRequest::parse(raw(None, Some(A))),
            Err(RequestError::Missing {
                field: "testExecutionId"
            })
        );
        assert!(matches!(
            CreateDefectRequest::parse(raw(Some(A), Some("42"))),
            Err(RequestError::NotAGuid {
                field: "testCaseId",
                ..
            })
        ));
    }

    #[test]
    fn links_must_be_web_urls() {
        let mut r = raw(Some(A), Some(A));
        r.link_to_test_case_log = Some("javascript:alert(1)".into());
        assert_eq!(CreateDefectRequest::parse(r), Err(RequestError::BadLink));
        let mut r = raw(Some(A), Some(A));
        r.link_to_test_case_log = Some("https://cloud.uipath.com/o/t/testmanager_/x".into());
        assert!(CreateDefectRequest::parse(r)
            .unwrap()
            .link_to_test_case_log
            .is_some());
    }

    #[test]
    fn kpi_answer_is_camel_case_and_counts_saturate() {
        let dto = KpiConnectorDefectsDto {
            total_defects: int32(u64::MAX),
            critical_defects: 1,
            moderate_defects: 2,
            open_defects: 3,
            closed_defects: 4,
            status: "Ok".into(),
            critical_defects_link: None,
        };
        assert_eq!(
            serde_json::to_value(&dto).unwrap(),
            serde_json::json!({"totalDefects": 2147483647, "criticalDefects": 1, "moderateDefects": 2,
                "openDefects": 3, "closedDefects": 4, "status": "Ok", "criticalDefectsLink": null})
        );
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_json_never_panics(exec in "\\PC{0,80}", case in "\\PC{0,80}", variation in proptest::option::of("\\PC{0,300}"), link in proptest::option::of("\\PC{0,100}")) {
            let body = serde_json::json!({"testExecutionId": exec, "testCaseId": case, "variationId": variation, "linkToTestCaseLog": link});
            let raw: RawCreateDefectRequest = serde_json::from_value(body).unwrap();
            if let Ok(request) = CreateDefectRequest::parse(raw) {
                prop_assert!(request.key.variation_id.map_or(0, |v| v.chars().count()) <= VARIATION_MAX_CHARS);
            }
        }
    }
}
