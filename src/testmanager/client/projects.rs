//! Resolving a project prefix (e.g. "SHOP") to its project.

use super::calls::{GET_PROJECT_BY_PREFIX, JSON};
use super::decode::{decode, decode_value};
use super::handle::TestManagerClient;
use crate::testmanager::connection::endpoint;
use crate::testmanager::error::TestManagerError;
use crate::testmanager::model::Project;

impl TestManagerClient {
    /// See [`TestManager::project_by_prefix`](crate::testmanager::TestManager::project_by_prefix).
    pub(super) async fn find_project_by_prefix(
        &self,
        prefix: &str,
    ) -> Result<Project, TestManagerError> {
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
}
