//! Client side of UiPath Test Manager: everything the bridge reads from it.
//!
//! Owns the [`TestManager`] port (what the rest of the bridge may ask) and
//! its HTTP implementation, [`TestManagerClient`]. Layout, one concept per file:
//! - `connection`: where Test Manager is, its credentials, URL building;
//! - `token`: the OAuth2 client-credentials token cache;
//! - `model`: the API's JSON shapes and [`FailureDetails`];
//! - `client`: the calls, and how they are combined and overlapped;
//! - `error`: [`TestManagerError`].

mod client;
mod connection;
mod error;
mod model;
mod token;
pub mod webhook;

pub use client::{TestManagerClient, LOG_PAGE_SIZE};
pub use connection::{default_token_url, TestManagerConnection};
pub use error::TestManagerError;
pub use model::{
    Assertion, FailureDetails, LogTestCase, Paged, Paging, Project, TestCase, TestCaseLog,
    TestExecution,
};
pub use token::{AccessToken, TokenCache};

use crate::result_key::ResultKey;
use uuid::Uuid;

/// What the bridge needs from Test Manager. Implemented over HTTP by
/// [`TestManagerClient`]; tests of other modules can supply a fake.
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
}

#[cfg(test)]
mod tests;
