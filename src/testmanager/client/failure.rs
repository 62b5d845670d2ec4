//! Gathering a failure's details: the latest failed run of a result, its test
//! case and execution, and the run's assertions and robot logs, with the
//! calls that do not depend on each other running at the same time.

use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::calls::{
    Call, GET_ASSERTIONS, GET_ASSERTIONS_MARKDOWN, GET_EXECUTION, GET_ROBOT_LOGS, GET_TEST_CASE,
    JSON, JSON_OR_TEXT,
};
use super::decode::{decode, decode_list};
use super::handle::TestManagerClient;
use super::logs::{is_failed, latest};
use crate::result_key::ResultKey;
use crate::testmanager::error::TestManagerError;
use crate::testmanager::model::{Assertion, FailureDetails, TestCase, TestExecution};

impl TestManagerClient {
    /// See [`TestManager::fetch_failure`](crate::testmanager::TestManager::fetch_failure).
    pub(super) async fn gather_failure(
        &self,
        project_id: Uuid,
        key: &ResultKey,
    ) -> Result<FailureDetails, TestManagerError> {
        let (failed_logs, test_case, execution) = futures::try_join!(
            self.matching_logs(project_id, key, true),
            self.test_case(project_id, key.test_case_id),
            self.execution(project_id, key.test_execution_id),
        )?;

        let log = match latest(failed_logs.iter().filter(|log| is_failed(log))) {
            Some(log) => log.clone(),
            None => {
                // Either there is no result at all or it did not fail; only a
                // full listing tells which. It also catches a server whose
                // `onlyFailed` filter disagrees with `result` (e.g. filters on
                // `hasError`, which a failed run can leave false).
                let all = self.matching_logs(project_id, key, false).await?;
                if let Some(log) = latest(all.iter().filter(|log| is_failed(log))) {
                    tracing::warn!(
                        log_id = %log.id,
                        "failed log missing from the onlyFailed listing; found it in the full listing"
                    );
                    log.clone()
                } else if let Some(log) = latest(all.iter()) {
                    let result = if log.result.trim().is_empty() {
                        "(none reported)".to_owned()
                    } else {
                        log.result.clone()
                    };
                    return Err(TestManagerError::NotFailed { result });
                } else {
                    return Err(TestManagerError::LogNotFound {
                        execution: key.test_execution_id,
                        test_case: key.test_case_id,
                        variation: key.variation_id.clone(),
                    });
                }
            }
        };

        let (assertions, assertions_markdown, robot_log) = futures::try_join!(
            self.assertions(project_id, log.id),
            self.assertions_markdown(project_id, log.id),
            self.robot_log(project_id, log.id),
        )?;
        Ok(FailureDetails {
            log,
            test_case,
            execution,
            assertions,
            assertions_markdown,
            robot_log,
        })
    }

    async fn test_case(&self, project_id: Uuid, id: Uuid) -> Result<TestCase, TestManagerError> {
        self.object(GET_TEST_CASE, project_id, "testcases", "test case", id)
            .await
    }

    async fn execution(
        &self,
        project_id: Uuid,
        id: Uuid,
    ) -> Result<TestExecution, TestManagerError> {
        self.object(
            GET_EXECUTION,
            project_id,
            "testexecutions",
            "test execution",
            id,
        )
        .await
    }

    /// Object `id` of the project's `collection`; a 404 is
    /// [`TestManagerError::NotFound`] naming it as `what`.
    async fn object<T: DeserializeOwned>(
        &self,
        call: Call,
        project_id: Uuid,
        collection: &str,
        what: &'static str,
        id: Uuid,
    ) -> Result<T, TestManagerError> {
        let url = self.project_url(project_id, &[collection, &id.to_string()])?;
        match self.get(call, url, JSON).await? {
            Some(body) => decode(call.name, &body),
            None => Err(TestManagerError::NotFound {
                what,
                id: id.to_string(),
            }),
        }
    }

    /// The log's assertions. Accepts a bare array or a paged envelope (only
    /// its first page is read). A 404 means "none recorded": the log itself
    /// was just found, and a defect without assertions beats no defect.
    async fn assertions(
        &self,
        project_id: Uuid,
        log_id: Uuid,
    ) -> Result<Vec<Assertion>, TestManagerError> {
        let url = self.project_url(
            project_id,
            &["testcaselogs", &log_id.to_string(), "assertions"],
        )?;
        let body = self.get(GET_ASSERTIONS, url, JSON).await?;
        decode_list(GET_ASSERTIONS.name, body)
    }

    /// Test Manager's Markdown rendering of the assertions: a JSON string or
    /// the raw text, `None` when absent (404, empty body, JSON `null`).
    async fn assertions_markdown(
        &self,
        project_id: Uuid,
        log_id: Uuid,
    ) -> Result<Option<String>, TestManagerError> {
        let url = self.project_url(
            project_id,
            &[
                "testcaselogs",
                &log_id.to_string(),
                "assertions",
                "markdown",
            ],
        )?;
        let Some(body) = self.get(GET_ASSERTIONS_MARKDOWN, url, JSON_OR_TEXT).await? else {
            return Ok(None);
        };
        let text = match serde_json::from_slice::<Option<String>>(&body) {
            Ok(decoded) => decoded.unwrap_or_default(),
            // Not a JSON string: the body is the Markdown itself.
            Err(_) => String::from_utf8_lossy(&body).into_owned(),
        };
        Ok(Some(text).filter(|t| !t.trim().is_empty()))
    }

    /// The `robotlogs/info` answer as JSON, `None` on 404 or an empty body.
    /// A body that is not JSON is passed on as a JSON string rather than
    /// failing the whole fetch: its shape is undocumented anyway.
    async fn robot_log(
        &self,
        project_id: Uuid,
        log_id: Uuid,
    ) -> Result<Option<serde_json::Value>, TestManagerError> {
        let url = self.project_url(
            project_id,
            &["testcaselogs", &log_id.to_string(), "robotlogs", "info"],
        )?;
        let Some(body) = self.get(GET_ROBOT_LOGS, url, JSON).await? else {
            return Ok(None);
        };
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        Ok(match serde_json::from_slice(&body) {
            Ok(serde_json::Value::Null) => None,
            Ok(value) => Some(value),
            Err(_) => Some(serde_json::Value::String(
                String::from_utf8_lossy(&body).into_owned(),
            )),
        })
    }
}
