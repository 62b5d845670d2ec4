//! [`TestManagerClient`] itself: what one client holds, how it is built, and
//! the project URLs every call starts from. The calls are in the sibling files.

use std::fmt;
use std::sync::Arc;
use url::Url;
use uuid::Uuid;

use crate::outbound::Upstream;
use crate::testmanager::connection::{endpoint, redact_url, TestManagerConnection};
use crate::testmanager::defect::DefectApi;
use crate::testmanager::error::TestManagerError;
use crate::testmanager::token::TokenCache;

/// Talks to one Test Manager instance over HTTP.
///
/// Timeouts, proxies and TLS roots come from the `reqwest::Client` the caller
/// supplies. Cheap to share behind an `Arc`; the token cache inside is shared
/// by all calls made through this client.
pub struct TestManagerClient {
    pub(super) http: reqwest::Client,
    pub(super) connection: Arc<TestManagerConnection>,
    pub(super) tokens: TokenCache,
    pub(super) outbound: Arc<Upstream>,
    pub(super) defects: DefectApi,
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
    pub(super) fn project_url(
        &self,
        project_id: Uuid,
        segments: &[&str],
    ) -> Result<Url, TestManagerError> {
        let project = project_id.to_string();
        let mut all = vec!["api", "v2", project.as_str()];
        all.extend_from_slice(segments);
        endpoint(&self.connection.base_url, &all)
    }
}
