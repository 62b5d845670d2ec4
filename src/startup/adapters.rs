//! Building the outbound adapters (Jira, Test Manager) from settings.
//!
//! Shared by `serve`, `check` and `preview`, so every command talks to the
//! upstreams with the same outbound HTTP policy: separate connect and total
//! timeouts, no redirects (a redirect could carry credentials elsewhere), and
//! the `[outbound]` retry schedule and concurrency caps ([`crate::outbound`]).

use crate::config::{ConfigError, JiraFlavour, Settings};
use crate::outbound::Upstream;
use crate::testmanager::{default_token_url, DefectApi, TestManagerClient, TestManagerConnection};
use crate::tracker::jira::{JiraConnection, JiraTracker};
use crate::tracker::TrackerError;
use std::sync::Arc;
use std::time::Duration;

/// Why the adapters could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// A secret or setting is missing.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Cloud needs an e-mail for Basic auth.
    #[error(
        "jira.email is required when jira.flavour = \"cloud\" (Basic auth with the API token)"
    )]
    CloudWithoutEmail,
    /// An HTTP client could not be built.
    #[error("cannot build the outbound HTTP client: {0}")]
    HttpClient(String),
    /// The Jira client could not be configured.
    #[error("cannot configure the Jira client: {0}")]
    Tracker(#[from] TrackerError),
}

/// The outbound adapters.
pub struct Adapters {
    /// Jira.
    pub tracker: Arc<JiraTracker>,
    /// Test Manager.
    pub testmanager: Arc<TestManagerClient>,
}

/// Builds both adapters; requires the secrets.
pub fn build(settings: &Settings) -> Result<Adapters, AdapterError> {
    let secrets = settings.require_secrets()?;
    let jira = &settings.jira;
    if jira.flavour == JiraFlavour::Cloud && jira.email.is_none() {
        return Err(AdapterError::CloudWithoutEmail);
    }
    let connection = JiraConnection::new(
        jira.flavour,
        jira.base_url.clone(),
        jira.browse_url.clone(),
        jira.email.clone(),
        secrets.jira_token,
    );
    let tracker = Arc::new(
        JiraTracker::new(
            connection,
            outbound_client(jira.connect_timeout_ms, jira.timeout_ms)?,
            Duration::from_secs(jira.field_cache_secs),
        )?
        .with_outbound(Upstream::jira(&settings.outbound)),
    );
    let tm = &settings.testmanager;
    let testmanager = Arc::new(
        TestManagerClient::with_outbound(
            outbound_client(tm.connect_timeout_ms, tm.timeout_ms)?,
            TestManagerConnection {
                token_url: tm
                    .token_url
                    .clone()
                    .unwrap_or_else(|| default_token_url(&tm.base_url)),
                base_url: tm.base_url.clone(),
                client_id: tm.client_id.clone(),
                client_secret: secrets.testmanager_client_secret,
                scope: tm.scope.clone(),
            },
            Upstream::testmanager(&settings.outbound),
        )
        .with_defect_api(defect_api(tm)),
    );
    Ok(Adapters {
        tracker,
        testmanager,
    })
}

/// Where write-back finds Test Manager's defects, from `[testmanager]`.
pub fn defect_api(tm: &crate::config::TestManagerSettings) -> DefectApi {
    DefectApi {
        path: tm.defect_path.clone(),
        status_field: tm.defect_status_field.clone(),
        priority_field: tm.defect_priority_field.clone(),
    }
}

/// The outbound HTTP policy: separate connect and total timeouts, no redirects.
pub fn outbound_client(
    connect_timeout_ms: u64,
    timeout_ms: u64,
) -> Result<reqwest::Client, AdapterError> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_millis(connect_timeout_ms))
        .timeout(Duration::from_millis(timeout_ms))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("tm-defect-bridge/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| AdapterError::HttpClient(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_and_documented_defect_defaults_are_the_clients_defaults() {
        let settings: crate::config::TestManagerSettings =
            toml::from_str("base_url = \"https://tm.local/\"\nclient_id = \"app\"").unwrap();
        assert_eq!(defect_api(&settings), DefectApi::default());
        let example =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/bridge.example.toml");
        let example: Settings = toml::from_str(&std::fs::read_to_string(example).unwrap()).unwrap();
        assert_eq!(defect_api(&example.testmanager), DefectApi::default());
        assert_eq!(example.testmanager.scope, settings.scope);
        assert!(settings.scope.split(' ').any(|s| s == "TM.Defects.Write"));
        assert!(settings.scope.split(' ').any(|s| s == "TM.Defects.Read"));
    }
}
