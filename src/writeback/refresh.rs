//! How write-back tells the rest of the service that a project's defects
//! changed in Jira, so what shows them (the KPI cache) follows.

use uuid::Uuid;

/// Told after a write: project `project_id`'s defects changed.
#[async_trait::async_trait]
pub trait DefectsChanged: Send + Sync + 'static {
    /// The defects of Test Manager project `project_id` changed status or priority.
    async fn defects_changed(&self, project_id: Uuid);
}
