//! The HTTP implementation of the [`TestManager`] port.
//!
//! Owns [`TestManagerClient`]: building `api/v2` URLs under the configured
//! base, attaching the bearer token (renewing it once on a 401), mapping
//! responses to [`TestManagerError`], and the sequence of calls that gathers
//! a [`FailureDetails`] with independent calls running at the same time.

use chrono::{DateTime, NaiveDateTime, Utc};
use reqwest::header::ACCEPT;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;
use url::Url;
use uuid::Uuid;

use super::connection::{endpoint, redact_url, TestManagerConnection};
use super::defect::{defect_id, DefectApi, DefectUpdate, TmDefect};
use super::error::{body_detail, TestManagerError};
use super::model::{
    Assertion, FailureDetails, Paged, Project, TestCase, TestCaseLog, TestExecution,
};
use super::port::{Artifact, Download, LogAttachment, TestManager};
use super::token::TokenCache;
use crate::outbound::{Hints, Upstream};
use crate::result_key::ResultKey;

/// Items asked for per page when listing an execution's logs.
pub const LOG_PAGE_SIZE: usize = 100;
/// Pages read at most for one execution (100,000 logs). Guards against a
/// server that ignores `skip` and keeps answering full pages.
const MAX_LOG_PAGES: usize = 1000;

const JSON: &str = "application/json";
// The markdown endpoint's content type is not documented: take either.
const JSON_OR_TEXT: &str = "application/json, text/plain;q=0.9, text/markdown;q=0.9, */*;q=0.5";

/// One kind of API call: its name in errors and logs, and the scope the
/// External Application needs for it (named when Test Manager refuses).
#[derive(Clone, Copy)]
struct Call {
    name: &'static str,
    scope: &'static str,
}

// There is no TM.TestCaseLogs scope: logs, assertions and robot logs are read
// under TM.TestExecutions (inferred from UiPath's scope list; nothing documents a logs scope).
const LOGS_PAGED: Call = Call {
    name: "GET testcaselogs paged",
    scope: "TM.TestExecutions.Read",
};
const GET_TEST_CASE: Call = Call {
    name: "GET testcases",
    scope: "TM.TestCases.Read",
};
const GET_EXECUTION: Call = Call {
    name: "GET testexecutions",
    scope: "TM.TestExecutions.Read",
};
const GET_ASSERTIONS: Call = Call {
    name: "GET testcaselogs assertions",
    scope: "TM.TestExecutions.Read",
};
const GET_ASSERTIONS_MARKDOWN: Call = Call {
    name: "GET testcaselogs assertions markdown",
    scope: "TM.TestExecutions.Read",
};
const GET_ROBOT_LOGS: Call = Call {
    name: "GET testcaselogs robotlogs info",
    scope: "TM.TestExecutions.Read",
};
const GET_SCREENSHOT: Call = Call {
    name: "GET assertion screenshot",
    scope: "TM.TestExecutions.Read",
};
const GET_ROBOT_LOG_FILE: Call = Call {
    name: "GET testcaselogs logs",
    scope: "TM.TestExecutions.Read",
};
const GET_ATTACHMENT: Call = Call {
    name: "GET attachments download",
    scope: "TM.Attachments.Read",
};
const LIST_ATTACHMENTS: Call = Call {
    name: "GET attachments of a test case log",
    scope: "TM.Attachments.Read",
};
const GET_PROJECT_BY_PREFIX: Call = Call {
    name: "GET projects prefix",
    scope: "TM.Projects.Read",
};

const GET_DEFECT: Call = Call {
    name: "GET defect",
    scope: "TM.Defects.Read",
};
const PATCH_DEFECT: Call = Call {
    name: "PATCH defect",
    scope: "TM.Defects.Write",
};

/// Talks to one Test Manager instance over HTTP.
///
/// Timeouts, proxies and TLS roots come from the `reqwest::Client` the caller
/// supplies. Cheap to share behind an `Arc`; the token cache inside is shared
/// by all calls made through this client.
pub struct TestManagerClient {
    http: reqwest::Client,
    connection: Arc<TestManagerConnection>,
    tokens: TokenCache,
    outbound: Arc<Upstream>,
    defects: DefectApi,
}

impl fmt::Debug for TestManagerClient {
    // By hand: the connection holds the client secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestManagerClient")
            .field("base_url", &redact_url(&self.connection.base_url))
            .field("client_id", &self.connection.client_id)
            .finish_non_exhaustive()
    }
}

impl TestManagerClient {
    /// A client for `connection` that sends every request (token included)
    /// through `http`. Makes no request until first used.
    /// Each call is tried once; see [`Self::with_outbound`].
    pub fn new(http: reqwest::Client, connection: TestManagerConnection) -> Self {
        Self::with_outbound(
            http,
            connection,
            Arc::new(Upstream::unretried("Test Manager")),
        )
    }

    /// Like [`Self::new`], with every call (the token's included) retried and
    /// capped by `outbound`.
    pub fn with_outbound(
        http: reqwest::Client,
        connection: TestManagerConnection,
        outbound: Arc<Upstream>,
    ) -> Self {
        let connection = Arc::new(connection);
        Self {
            tokens: TokenCache::with_outbound(
                http.clone(),
                Arc::clone(&connection),
                Arc::clone(&outbound),
            ),
            http,
            connection,
            outbound,
            defects: DefectApi::default(),
        }
    }

    /// Reads and updates defects where `defects` says (default: [`DefectApi::default`]).
    pub fn with_defect_api(mut self, defects: DefectApi) -> Self {
        self.defects = defects;
        self
    }

    /// The connection this client uses.
    pub fn connection(&self) -> &TestManagerConnection {
        &self.connection
    }

    /// `{base_url}/api/v2/{projectId}/{segments...}`.
    fn project_url(&self, project_id: Uuid, segments: &[&str]) -> Result<Url, TestManagerError> {
        let project = project_id.to_string();
        let mut all = vec!["api", "v2", project.as_str()];
        all.extend_from_slice(segments);
        endpoint(&self.connection.base_url, &all)
    }

    /// GETs `url`; see [`Self::send`].
    async fn get(
        &self,
        call: Call,
        url: Url,
        accept: &'static str,
    ) -> Result<Option<Vec<u8>>, TestManagerError> {
        self.send(call, reqwest::Method::GET, url, accept, None)
            .await
    }

    /// Sends `method` to `url` (with `body` as JSON, if any) with the bearer
    /// token; renews the token and retries once on a 401. `Ok(None)` on 404 so
    /// each caller decides what absence means; other non-2xx statuses become
    /// errors. 429, 5xx, timeouts and dropped connections are retried under the
    /// outbound policy: only idempotent requests (GETs, absolute updates) come here.
    async fn send(
        &self,
        call: Call,
        method: reqwest::Method,
        url: Url,
        accept: &'static str,
        body: Option<&serde_json::Value>,
    ) -> Result<Option<Vec<u8>>, TestManagerError> {
        let mut renewed = false;
        let mut attempts = self.outbound.start();
        loop {
            let token = self.tokens.token().await?;
            tracing::debug!(call = call.name, path = url.path(), "calling Test Manager");
            attempts.begin();
            let answer = {
                let _permit = self.outbound.permit().await;
                let started = std::time::Instant::now();
                let answer = self
                    .attempt(call, &method, &url, body, accept, &token)
                    .await;
                let status = match &answer {
                    Ok((status, _)) => status.as_u16().to_string(),
                    Err((error, _)) => error.status_label(),
                };
                self.outbound.observe(call.name, &status, started.elapsed());
                answer
            };
            let (status, body) = match answer {
                Ok(answer) => answer,
                Err((error, hints)) => {
                    if error.is_transient() && attempts.wait_to_retry(call.name, hints).await {
                        continue;
                    }
                    return Err(error);
                }
            };
            if status == StatusCode::UNAUTHORIZED && !renewed {
                // The token may have been revoked or expired early (clock
                // skew, identity server restart): one new token, one retry.
                tracing::info!(
                    call = call.name,
                    "Test Manager answered 401; renewing the token and retrying once"
                );
                self.tokens.invalidate(&token).await;
                renewed = true;
                continue;
            }
            return match status {
                // `bytes::Bytes` is not a dependency of this crate: hand out a Vec.
                s if s.is_success() => Ok(Some(body)),
                StatusCode::NOT_FOUND => Ok(None),
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    Err(self.refused(call, &url, status, &body))
                }
                s => Err(TestManagerError::upstream(call.name, s, &body)),
            };
        }
    }

    /// One request: the status and body, or a transient failure (transport, 429,
    /// 5xx) with the answer's retry hints.
    async fn attempt(
        &self,
        call: Call,
        method: &reqwest::Method,
        url: &Url,
        body: Option<&serde_json::Value>,
        accept: &'static str,
        token: &super::token::AccessToken,
    ) -> Result<(StatusCode, Vec<u8>), (TestManagerError, Hints)> {
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .bearer_auth(token.expose())
            .header(ACCEPT, accept);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| (TestManagerError::transport(call.name, e), Hints::default()))?;
        let status = response.status();
        let hints = crate::outbound::hints(response.headers());
        let body = response
            .bytes()
            .await
            .map_err(|e| (TestManagerError::transport(call.name, e), Hints::default()))?;
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Err((TestManagerError::upstream(call.name, status, &body), hints));
        }
        Ok((status, body.into()))
    }

    fn refused(&self, call: Call, url: &Url, status: StatusCode, body: &[u8]) -> TestManagerError {
        let why = if status == StatusCode::UNAUTHORIZED {
            "even with a newly issued token"
        } else {
            "(forbidden)"
        };
        TestManagerError::Auth {
            endpoint: redact_url(url),
            detail: format!(
                "HTTP {} on {} {why}: {}; the External Application may lack scope {} \
                 (scopes requested: {:?}) or access to this project",
                status.as_u16(),
                call.name,
                body_detail(body),
                call.scope,
                self.connection.scope,
            ),
        }
    }

    /// Every log of the key's test case and variation in its execution, in
    /// page order; with `only_failed`, asks Test Manager to list failed logs
    /// only.
    async fn matching_logs(
        &self,
        project_id: Uuid,
        key: &ResultKey,
        only_failed: bool,
    ) -> Result<Vec<TestCaseLog>, TestManagerError> {
        let execution = key.test_execution_id.to_string();
        let base = self.project_url(
            project_id,
            &["testcaselogs", "testexecution", &execution, "paged"],
        )?;
        let mut matching = Vec::new();
        let mut skip = 0usize;
        for page_number in 1..=MAX_LOG_PAGES {
            let mut url = base.clone();
            {
                let mut query = url.query_pairs_mut();
                if only_failed {
                    query.append_pair("onlyFailed", "true");
                }
                query
                    .append_pair("top", &LOG_PAGE_SIZE.to_string())
                    .append_pair("skip", &skip.to_string());
            }
            let Some(body) = self.get(LOGS_PAGED, url, JSON).await? else {
                return Err(TestManagerError::NotFound {
                    what: "test execution",
                    id: execution,
                });
            };
            let page: Paged<TestCaseLog> = decode(LOGS_PAGED.name, &body)?;
            let returned = page.data.len();
            skip += returned;
            matching.extend(page.data.into_iter().filter(|log| belongs_to(log, key)));
            if !more_pages(returned, skip, page_number, page.paging.as_ref()) {
                return Ok(matching);
            }
        }
        Err(TestManagerError::Decode {
            call: LOGS_PAGED.name,
            detail: format!(
                "paging did not end after {MAX_LOG_PAGES} pages of {LOG_PAGE_SIZE}; \
                 the server may be ignoring `skip`"
            ),
        })
    }

    async fn test_case(&self, project_id: Uuid, id: Uuid) -> Result<TestCase, TestManagerError> {
        let url = self.project_url(project_id, &["testcases", &id.to_string()])?;
        match self.get(GET_TEST_CASE, url, JSON).await? {
            Some(body) => decode(GET_TEST_CASE.name, &body),
            None => Err(TestManagerError::NotFound {
                what: "test case",
                id: id.to_string(),
            }),
        }
    }

    async fn execution(
        &self,
        project_id: Uuid,
        id: Uuid,
    ) -> Result<TestExecution, TestManagerError> {
        let url = self.project_url(project_id, &["testexecutions", &id.to_string()])?;
        match self.get(GET_EXECUTION, url, JSON).await? {
            Some(body) => decode(GET_EXECUTION.name, &body),
            None => Err(TestManagerError::NotFound {
                what: "test execution",
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
        let Some(body) = self.get(GET_ASSERTIONS, url, JSON).await? else {
            return Ok(Vec::new());
        };
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Vec::new());
        }
        let value: serde_json::Value = decode(GET_ASSERTIONS.name, &body)?;
        match value {
            serde_json::Value::Null => Ok(Vec::new()),
            serde_json::Value::Array(_) => decode_value(GET_ASSERTIONS.name, value),
            _ => decode_value::<Paged<Assertion>>(GET_ASSERTIONS.name, value).map(|p| p.data),
        }
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

impl TestManagerClient {
    /// Like [`Self::get`], but hands out the successful response unread, so
    /// its body can be streamed. Retries happen only before the body starts.
    async fn open(
        &self,
        call: Call,
        url: Url,
        timeout: std::time::Duration,
    ) -> Result<Option<reqwest::Response>, TestManagerError> {
        let mut renewed = false;
        let mut attempts = self.outbound.start();
        loop {
            let token = self.tokens.token().await?;
            attempts.begin();
            let sent = {
                let _permit = self.outbound.permit().await;
                self.http
                    .get(url.clone())
                    .bearer_auth(token.expose())
                    .header(ACCEPT, "*/*")
                    .timeout(timeout)
                    .send()
                    .await
            };
            let response = match sent {
                Ok(r) => r,
                Err(e) => {
                    let error = TestManagerError::transport(call.name, e);
                    if error.is_transient()
                        && attempts.wait_to_retry(call.name, Hints::default()).await
                    {
                        continue;
                    }
                    return Err(error);
                }
            };
            let status = response.status();
            if status.is_success() {
                return Ok(Some(response));
            }
            let hints = crate::outbound::hints(response.headers());
            let body = response.bytes().await.unwrap_or_default();
            if status == StatusCode::UNAUTHORIZED && !renewed {
                self.tokens.invalidate(&token).await;
                renewed = true;
                continue;
            }
            let error = match status {
                StatusCode::NOT_FOUND => return Ok(None),
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    return Err(self.refused(call, &url, status, &body))
                }
                s => TestManagerError::upstream(call.name, s, &body),
            };
            if error.is_transient() && attempts.wait_to_retry(call.name, hints).await {
                continue;
            }
            return Err(error);
        }
    }
}

#[async_trait::async_trait]
impl TestManager for TestManagerClient {
    async fn download(
        &self,
        project_id: Uuid,
        artifact: &Artifact,
        timeout: std::time::Duration,
    ) -> Result<Option<Download>, TestManagerError> {
        use futures::TryStreamExt;
        let (call, url) = match artifact {
            Artifact::Screenshot {
                log_id,
                assertion_id,
            } => (
                GET_SCREENSHOT,
                self.project_url(
                    project_id,
                    &[
                        "testcaselogartifacts",
                        log_id,
                        "assertions",
                        assertion_id,
                        "downloadscreenshot",
                    ],
                )?,
            ),
            Artifact::RobotLog { log_id } => (
                GET_ROBOT_LOG_FILE,
                self.project_url(project_id, &["testcaselogs", log_id, "logs"])?,
            ),
            Artifact::Attachment { id } => (
                GET_ATTACHMENT,
                self.project_url(project_id, &["attachments", id, "download"])?,
            ),
        };
        let Some(response) = self.open(call, url, timeout).await? else {
            return Ok(None);
        };
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(Some(Download {
            length: response.content_length(),
            content_type,
            body: Box::pin(response.bytes_stream().map_err(std::io::Error::other)),
        }))
    }

    async fn log_attachments(
        &self,
        project_id: Uuid,
        log_id: &str,
    ) -> Result<Vec<LogAttachment>, TestManagerError> {
        let url = self.project_url(project_id, &["attachments", "testCaseLog", log_id, "all"])?;
        let Some(body) = self.get(LIST_ATTACHMENTS, url, JSON).await? else {
            return Ok(Vec::new());
        };
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Vec::new());
        }
        let value: serde_json::Value = decode(LIST_ATTACHMENTS.name, &body)?;
        match value {
            serde_json::Value::Null => Ok(Vec::new()),
            serde_json::Value::Array(_) => decode_value(LIST_ATTACHMENTS.name, value),
            _ => decode_value::<Paged<LogAttachment>>(LIST_ATTACHMENTS.name, value).map(|p| p.data),
        }
    }

    async fn fetch_failure(
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

    async fn update_defect(
        &self,
        project_id: Uuid,
        defect_id: &str,
        update: &DefectUpdate,
    ) -> Result<(), TestManagerError> {
        let url = self
            .defects
            .url(&self.connection.base_url, project_id, defect_id)?;
        let body = self.defects.body(update);
        match self
            .send(PATCH_DEFECT, reqwest::Method::PATCH, url, JSON, Some(&body))
            .await?
        {
            // 200 with the defect or 204 without: the answer's body is not needed.
            Some(_) => Ok(()),
            None => Err(TestManagerError::DefectNotFound {
                project_id,
                defect_id: defect_id.to_owned(),
            }),
        }
    }

    async fn defect(
        &self,
        project_id: Uuid,
        defect_id: &str,
    ) -> Result<Option<TmDefect>, TestManagerError> {
        let url = self
            .defects
            .url(&self.connection.base_url, project_id, defect_id)?;
        match self.get(GET_DEFECT, url, JSON).await? {
            Some(body) => decode(GET_DEFECT.name, &body).map(Some),
            None => Ok(None),
        }
    }

    async fn defect_id_for(
        &self,
        project_id: Uuid,
        key: &ResultKey,
    ) -> Result<Option<String>, TestManagerError> {
        let failed = self.matching_logs(project_id, key, true).await?;
        if let Some(id) = latest_defect_id(failed.iter().filter(|log| is_failed(log))) {
            return Ok(Some(id));
        }
        // As in fetch_failure: `onlyFailed` may disagree with `result`, and a
        // log's result may have been changed after its defect was created.
        let all = self.matching_logs(project_id, key, false).await?;
        Ok(latest_defect_id(all.iter()))
    }

    async fn project_by_prefix(&self, prefix: &str) -> Result<Project, TestManagerError> {
        let not_found = || TestManagerError::NotFound {
            what: "project",
            id: prefix.to_owned(),
        };
        let url = endpoint(
            &self.connection.base_url,
            &["api", "v2", "projects", "prefix", prefix],
        )?;
        let Some(body) = self.get(GET_PROJECT_BY_PREFIX, url, JSON).await? else {
            return Err(not_found());
        };
        // The answer's wrapping is not documented: accept the project itself,
        // a list, or a paged envelope.
        let value: serde_json::Value = decode(GET_PROJECT_BY_PREFIX.name, &body)?;
        let project = match value {
            serde_json::Value::Array(items) => items.into_iter().next(),
            serde_json::Value::Object(ref map) if !map.contains_key("id") => map
                .get("data")
                .and_then(|data| data.as_array())
                .and_then(|items| items.first().cloned()),
            other => Some(other),
        };
        decode_value(GET_PROJECT_BY_PREFIX.name, project.ok_or_else(not_found)?)
    }

    async fn probe(&self) -> Result<(), TestManagerError> {
        self.tokens.token().await.map(|_| ())
    }
}

fn decode<T: DeserializeOwned>(call: &'static str, body: &[u8]) -> Result<T, TestManagerError> {
    serde_json::from_slice(body).map_err(|e| TestManagerError::Decode {
        call,
        detail: body_detail(e.to_string().as_bytes()),
    })
}

fn decode_value<T: DeserializeOwned>(
    call: &'static str,
    value: serde_json::Value,
) -> Result<T, TestManagerError> {
    serde_json::from_value(value).map_err(|e| TestManagerError::Decode {
        call,
        detail: body_detail(e.to_string().as_bytes()),
    })
}

/// Whether another page may hold more logs. Paging counts win when present
/// (a server may cap pages below [`LOG_PAGE_SIZE`]); without them a short
/// page is the last one. An empty page always ends the listing.
fn more_pages(
    returned: usize,
    seen: usize,
    page_number: usize,
    paging: Option<&super::model::Paging>,
) -> bool {
    if returned == 0 {
        return false;
    }
    match paging {
        Some(p) if p.total.is_some() => p.total.is_some_and(|total| (seen as u64) < total),
        Some(p) if p.pages.is_some() => p.pages.is_some_and(|pages| (page_number as u64) < pages),
        _ => returned >= LOG_PAGE_SIZE,
    }
}

/// Whether `log` is a result of `key` (same execution, test case, variation).
fn belongs_to(log: &TestCaseLog, key: &ResultKey) -> bool {
    log.test_case_id == key.test_case_id
        && log.test_execution_id == key.test_execution_id
        && same_variation(log.variation_id.as_deref(), key.variation_id.as_deref())
}

/// Variations match when both are absent (null or blank), or equal after
/// trimming; GUID-shaped ids are compared as GUIDs so letter case does not
/// matter.
fn same_variation(log: Option<&str>, key: Option<&str>) -> bool {
    fn norm(v: Option<&str>) -> Option<&str> {
        v.map(str::trim).filter(|v| !v.is_empty())
    }
    match (norm(log), norm(key)) {
        (None, None) => true,
        (Some(a), Some(b)) => match (Uuid::parse_str(a), Uuid::parse_str(b)) {
            (Ok(a), Ok(b)) => a == b,
            _ => a == b,
        },
        _ => false,
    }
}

/// The `result` field, not `hasError`, says whether a run failed.
fn is_failed(log: &TestCaseLog) -> bool {
    log.result.trim().eq_ignore_ascii_case("failed")
}

/// The latest run among `logs`: by end time, then start time, then run id,
/// then listing order (later wins every tie).
fn latest<'a>(logs: impl Iterator<Item = &'a TestCaseLog>) -> Option<&'a TestCaseLog> {
    let mut best: Option<(RunOrder, &TestCaseLog)> = None;
    for log in logs {
        let order = RunOrder::of(log);
        if best
            .as_ref()
            .is_none_or(|(current, _)| order.cmp(current) != Ordering::Less)
        {
            best = Some((order, log));
        }
    }
    best.map(|(_, log)| log)
}

/// The defect id of the latest of `logs` that carries one (see [`defect_id`]).
fn latest_defect_id<'a>(logs: impl Iterator<Item = &'a TestCaseLog>) -> Option<String> {
    latest(logs.filter(|log| defect_id(log.defect_id.as_deref()).is_some()))
        .and_then(|log| defect_id(log.defect_id.as_deref()))
}

/// Sort key of a run. `None` sorts first, so a run with a known time beats
/// one without.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct RunOrder {
    end: Option<DateTime<Utc>>,
    start: Option<DateTime<Utc>>,
    run: Option<i128>,
}

impl RunOrder {
    fn of(log: &TestCaseLog) -> Self {
        Self {
            end: log.execution_end.as_deref().and_then(parse_time),
            start: log.execution_start.as_deref().and_then(parse_time),
            run: log.run_id.as_ref().and_then(run_number),
        }
    }
}

/// ISO 8601 with an offset, or without one (read as UTC, which is how .NET
/// serialises `DateTime` of kind Utc/Unspecified).
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

/// A run id that orders runs: a number, or a string holding one. Other ids
/// (e.g. GUIDs) carry no order and are ignored.
fn run_number(value: &serde_json::Value) -> Option<i128> {
    match value {
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from)),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testmanager::model::Paging;
    use serde_json::json;

    fn log(end: Option<&str>, start: Option<&str>, run: serde_json::Value, n: u8) -> TestCaseLog {
        serde_json::from_value(json!({
            "id": format!("00000000-0000-0000-0000-0000000000{n:02}"),
            "testCaseId": Uuid::nil(), "testExecutionId": Uuid::nil(),
            "result": "Failed", "executionEnd": end, "executionStart": start, "runId": run,
        }))
        .unwrap()
    }

    #[test]
    fn latest_orders_by_end_start_run_then_position() {
        let logs = [
            log(Some("2024-05-01T10:00:00Z"), None, json!(9), 1),
            log(Some("2024-05-01T12:00:00+02:00"), None, json!(1), 2), // 10:00Z too
            log(Some("2024-05-01T09:00:00"), None, json!(99), 3),
        ];
        // 1 and 2 tie on end; neither has a start; run 9 beats run 1.
        assert_eq!(latest(logs.iter()).unwrap().id, logs[0].id);
        let logs = [
            log(None, Some("2024-05-01T10:00:00Z"), json!("2"), 1),
            log(None, Some("2024-05-01T10:00:00Z"), json!("10"), 2),
            log(None, Some("2024-05-01T10:00:00Z"), json!("10"), 3),
        ];
        assert_eq!(latest(logs.iter()).unwrap().id, logs[2].id);
        assert!(latest(std::iter::empty()).is_none());
    }

    #[test]
    fn variation_matching() {
        assert!(same_variation(None, None));
        assert!(same_variation(Some(""), None));
        assert!(same_variation(Some(" "), None));
        assert!(!same_variation(Some("row-2"), None));
        assert!(!same_variation(None, Some("row-2")));
        assert!(same_variation(Some("row-2"), Some("row-2")));
        assert!(!same_variation(Some("row-2"), Some("Row-2")));
        assert!(same_variation(
            Some("AAAAAAAA-0000-0000-0000-000000000001"),
            Some("aaaaaaaa-0000-0000-0000-000000000001")
        ));
    }

    #[test]
    fn paging_end() {
        let counts = |total, pages| Paging {
            total,
            pages,
            ..Paging::default()
        };
        assert!(!more_pages(0, 100, 1, Some(&counts(Some(500), None))));
        assert!(more_pages(50, 50, 1, Some(&counts(Some(120), None))));
        assert!(!more_pages(100, 200, 2, Some(&counts(Some(200), None))));
        assert!(more_pages(100, 100, 1, Some(&counts(None, Some(2)))));
        assert!(!more_pages(100, 200, 2, Some(&counts(None, Some(2)))));
        assert!(more_pages(100, 100, 1, None));
        assert!(!more_pages(99, 99, 1, None));
        assert!(!more_pages(99, 99, 1, Some(&Paging::default())));
    }
}
