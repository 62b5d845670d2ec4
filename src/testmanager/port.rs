//! The [`TestManager`] port: what the rest of the bridge may ask of Test
//! Manager, and the file types crossing it.

use super::defect::{DefectUpdate, TmDefect};
use super::error::TestManagerError;
use super::model::{self, FailureDetails, Project};
use crate::byte_stream::ByteStream;
use crate::result_key::ResultKey;
use std::time::Duration;
use uuid::Uuid;

/// A file Test Manager holds about a test case log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Artifact {
    /// `GET testcaselogartifacts/{logId}/assertions/{assertionId}/downloadscreenshot`
    Screenshot {
        /// The log.
        log_id: String,
        /// The assertion.
        assertion_id: String,
    },
    /// `GET testcaselogs/{id}/logs`
    RobotLog {
        /// The log.
        log_id: String,
    },
    /// `GET attachments/{id}/download`
    Attachment {
        /// The attachment.
        id: String,
    },
}

/// An open download: its length when Test Manager said, and the body as a stream.
pub struct Download {
    /// `Content-Length`, when sent.
    pub length: Option<u64>,
    /// `Content-Type`, when sent.
    pub content_type: Option<String>,
    /// The body.
    pub body: ByteStream,
}

/// A file attached to a test case log (`GET attachments/testCaseLog/{logId}/all`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogAttachment {
    /// Attachment id.
    #[serde(deserialize_with = "model::id_as_string")]
    pub id: String,
    /// File name.
    #[serde(default, alias = "name", alias = "fileName")]
    pub file_name: Option<String>,
    /// Size in bytes, when listed.
    #[serde(default, alias = "size", alias = "fileSize", alias = "length")]
    pub size: Option<u64>,
}

/// What the bridge needs from Test Manager. Implemented over HTTP by
/// [`TestManagerClient`](super::TestManagerClient); tests of other modules can supply a fake.
#[async_trait::async_trait]
pub trait TestManager: Send + Sync + 'static {
    /// Everything the bridge needs about the latest failed run of `key` in project `project_id`.
    ///
    /// # Errors
    /// [`TestManagerError::LogNotFound`] when the execution has no result for
    /// the key's test case and variation; [`TestManagerError::NotFailed`] when
    /// it has one but no run of it failed; [`TestManagerError::NotFound`] when
    /// the execution or test case does not exist; the transport, auth and
    /// upstream variants otherwise.
    async fn fetch_failure(
        &self,
        project_id: Uuid,
        key: &ResultKey,
    ) -> Result<FailureDetails, TestManagerError>;

    /// Resolves a project prefix (e.g. "SHOP") to its project (GET /api/v2/projects/prefix/{prefix}).
    ///
    /// # Errors
    /// [`TestManagerError::NotFound`] (`what: "project"`) when no project has
    /// that prefix; the transport, auth and upstream variants otherwise.
    async fn project_by_prefix(&self, prefix: &str) -> Result<Project, TestManagerError>;

    /// Obtains a token (proves credentials work); used by readiness probes and `check`.
    ///
    /// A still-valid cached token counts: probes do not hit the identity
    /// server each time.
    async fn probe(&self) -> Result<(), TestManagerError>;

    /// Opens `artifact` for streaming; `Ok(None)` when Test Manager has no such file (404).
    /// `timeout` bounds the whole download. Connection failures, 429 and 5xx before the
    /// body starts are retried under the outbound policy.
    async fn download(
        &self,
        _project_id: Uuid,
        _artifact: &Artifact,
        _timeout: Duration,
    ) -> Result<Option<Download>, TestManagerError> {
        Ok(None)
    }

    /// Writes `update` to defect `defect_id` of project `project_id` (PATCH at
    /// the configured [`super::DefectApi`] path; fields `update` leaves `None` are not sent).
    /// Idempotent (absolute values), so 429, 5xx and timeouts are retried under
    /// the outbound policy.
    ///
    /// # Errors
    /// [`TestManagerError::DefectNotFound`] on 404; [`TestManagerError::Auth`]
    /// on 401/403, naming scope `TM.Defects.Write`; [`TestManagerError::Config`]
    /// for an unusable path template; the transport and upstream variants otherwise.
    async fn update_defect(
        &self,
        project_id: Uuid,
        defect_id: &str,
        update: &DefectUpdate,
    ) -> Result<(), TestManagerError>;

    /// Reads defect `defect_id` (GET at the same path as [`Self::update_defect`]);
    /// `Ok(None)` on 404. Proves the External Application may read defects.
    async fn defect(
        &self,
        project_id: Uuid,
        defect_id: &str,
    ) -> Result<Option<TmDefect>, TestManagerError>;

    /// The Test Manager defect on the result's test case log, found again the
    /// way [`Self::fetch_failure`] finds the log: the latest failed run of the
    /// key's test case and variation that carries a defect, else the latest run
    /// of any result that does. `Ok(None)` when no log of the result has one
    /// (ids normalised by [`super::defect_id`]).
    async fn defect_id_for(
        &self,
        project_id: Uuid,
        key: &ResultKey,
    ) -> Result<Option<String>, TestManagerError>;

    /// The files attached to test case log `log_id` (none on 404).
    async fn log_attachments(
        &self,
        _project_id: Uuid,
        _log_id: &str,
    ) -> Result<Vec<LogAttachment>, TestManagerError> {
        Ok(Vec::new())
    }
}
