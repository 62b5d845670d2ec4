//! A test case log's files: streaming one (screenshot, robot log, attachment)
//! and listing the attachments of a log.

use uuid::Uuid;

use super::calls::{GET_ATTACHMENT, GET_ROBOT_LOG_FILE, GET_SCREENSHOT, JSON, LIST_ATTACHMENTS};
use super::decode::decode_list;
use super::handle::TestManagerClient;
use crate::testmanager::error::TestManagerError;
use crate::testmanager::port::{Artifact, Download, LogAttachment};

impl TestManagerClient {
    /// See [`TestManager::download`](crate::testmanager::TestManager::download).
    pub(super) async fn download_artifact(
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

    /// See [`TestManager::log_attachments`](crate::testmanager::TestManager::log_attachments).
    pub(super) async fn list_log_attachments(
        &self,
        project_id: Uuid,
        log_id: &str,
    ) -> Result<Vec<LogAttachment>, TestManagerError> {
        let url = self.project_url(project_id, &["attachments", "testCaseLog", log_id, "all"])?;
        let body = self.get(LIST_ATTACHMENTS, url, JSON).await?;
        decode_list(LIST_ATTACHMENTS.name, body)
    }
}
