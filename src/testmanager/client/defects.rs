//! Defects: reading and updating one where the
//! [`DefectApi`](crate::testmanager::DefectApi) says, and
//! finding the defect Test Manager links to a result's latest failed run.

use uuid::Uuid;

use super::calls::{GET_DEFECT, JSON, PATCH_DEFECT};
use super::decode::decode;
use super::handle::TestManagerClient;
use super::logs::{is_failed, latest_defect_id};
use crate::result_key::ResultKey;
use crate::testmanager::defect::{DefectUpdate, TmDefect};
use crate::testmanager::error::TestManagerError;

impl TestManagerClient {
    /// See [`TestManager::update_defect`](crate::testmanager::TestManager::update_defect).
    pub(super) async fn patch_defect(
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

    /// See [`TestManager::defect`](crate::testmanager::TestManager::defect).
    pub(super) async fn read_defect(
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

    /// See [`TestManager::defect_id_for`](crate::testmanager::TestManager::defect_id_for).
    pub(super) async fn find_defect_id(
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
}
