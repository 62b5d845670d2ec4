//! [`TestManager`] for [`TestManagerClient`]: which of the client's calls
//! answers each method of the port. The calls themselves live in the files
//! named after what they do.

use std::time::Duration;
use uuid::Uuid;

use super::handle::TestManagerClient;
use crate::result_key::ResultKey;
use crate::testmanager::defect::{DefectUpdate, TmDefect};
use crate::testmanager::error::TestManagerError;
use crate::testmanager::model::{FailureDetails, Project};
use crate::testmanager::port::{Artifact, Download, LogAttachment, TestManager};

#[async_trait::async_trait]
impl TestManager for TestManagerClient {
    async fn download(
        &self,
        project_id: Uuid,
        artifact: &Artifact,
        timeout: Duration,
    ) -> Result<Option<Download>, TestManagerError> {
        self.download_artifact(project_id, artifact, timeout).await
    }

    async fn log_attachments(
        &self,
        project_id: Uuid,
        log_id: &str,
    ) -> Result<Vec<LogAttachment>, TestManagerError> {
        self.list_log_attachments(project_id, log_id).await
    }

    async fn fetch_failure(
        &self,
        project_id: Uuid,
        key: &ResultKey,
    ) -> Result<FailureDetails, TestManagerError> {
        self.gather_failure(project_id, key).await
    }

    async fn update_defect(
        &self,
        project_id: Uuid,
        defect_id: &str,
        update: &DefectUpdate,
    ) -> Result<(), TestManagerError> {
        self.patch_defect(project_id, defect_id, update).await
    }

    async fn defect(
        &self,
        project_id: Uuid,
        defect_id: &str,
    ) -> Result<Option<TmDefect>, TestManagerError> {
        self.read_defect(project_id, defect_id).await
    }

    async fn defect_id_for(
        &self,
        project_id: Uuid,
        key: &ResultKey,
    ) -> Result<Option<String>, TestManagerError> {
        self.find_defect_id(project_id, key).await
    }

    async fn project_by_prefix(&self, prefix: &str) -> Result<Project, TestManagerError> {
        self.find_project_by_prefix(prefix).await
    }

    async fn probe(&self) -> Result<(), TestManagerError> {
        self.tokens.token().await.map(|_| ())
    }
}
