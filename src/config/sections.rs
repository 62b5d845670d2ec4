//! The sections of `bridge.toml`, each with its defaults.

use super::networks::Networks;
use secrecy::SecretString;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

/// The evidence upload worker (what goes on an issue is per mapping, `[evidence]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvidenceSettings {
    /// Run the upload worker in this process.
    pub worker: bool,
    /// How often an idle worker looks for queued evidence, in milliseconds.
    pub poll_interval_ms: u64,
    /// A worker renews its claim on a file every third of this while it works on it; a
    /// claim not renewed for this long is taken as abandoned (its process died or was
    /// killed) and claimed again, after checking whether the file reached the issue, in
    /// seconds.
    pub stale_after_secs: u64,
    /// Tries per file before it is reported as failed, when the failure is the file's
    /// own (Jira or Test Manager refused it).
    pub max_attempts: u32,
    /// While Jira or Test Manager is unreachable, slow or failing (5xx, 429), a file is
    /// tried past `max_attempts` until it has been queued this long, in seconds.
    pub give_up_after_secs: u64,
    /// Longest wait between two tries during such an outage, in seconds.
    pub max_backoff_secs: u64,
    /// Longest time one file may take to stream from Test Manager to Jira, in seconds.
    pub transfer_timeout_secs: u64,
}

impl Default for EvidenceSettings {
    fn default() -> Self {
        Self {
            worker: true,
            poll_interval_ms: 2_000,
            stale_after_secs: 60,
            max_attempts: 5,
            give_up_after_secs: 86_400,
            max_backoff_secs: 300,
            transfer_timeout_secs: 900,
        }
    }
}

/// Write-back of Jira's status and priority to Test Manager's defects: the webhook's
/// secrets and how the reconcile poller, the sweep and the worker run (how values are
/// written is per mapping, `[writeback]` there).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WritebackSettings {
    /// Run write-back in this process (webhook route, poller, sweep, worker); mappings
    /// can turn it off for their project only.
    pub enabled: bool,
    /// The secret Jira signs webhook bodies with (`X-Hub-Signature`); from
    /// `BRIDGE_WRITEBACK__WEBHOOK_SECRET`.
    #[serde(skip)]
    pub webhook_secret: Option<SecretString>,
    /// File holding [`Self::webhook_secret`] instead of the environment.
    pub webhook_secret_file: Option<PathBuf>,
    /// The previous signing secret, still accepted while Jira's webhook is switched to
    /// the new one; from `BRIDGE_WRITEBACK__WEBHOOK_SECRET_PREVIOUS`.
    #[serde(skip)]
    pub webhook_secret_previous: Option<SecretString>,
    /// File holding [`Self::webhook_secret_previous`].
    pub webhook_secret_previous_file: Option<PathBuf>,
    /// A secret in the webhook URL's path, for a Jira that cannot sign; from
    /// `BRIDGE_WRITEBACK__WEBHOOK_PATH_SECRET`.
    #[serde(skip)]
    pub webhook_path_secret: Option<SecretString>,
    /// File holding [`Self::webhook_path_secret`].
    pub webhook_path_secret_file: Option<PathBuf>,
    /// How often each mapped Jira project is searched for changed bridge issues, in seconds.
    pub reconcile_interval_secs: u64,
    /// How far before the stored watermark each search starts, in seconds, so that
    /// changes Jira indexes late are not missed.
    pub reconcile_overlap_secs: u64,
    /// How often all bridge issues are compared with the ledger to catch deletions and
    /// anything missed, in seconds.
    pub sweep_interval_secs: u64,
    /// Issues per page of a reconcile or sweep search.
    pub page_size: u32,
    /// How long a claim on a queued write (or a poller turn) holds before another
    /// replica may take it over, in seconds.
    pub lease_secs: u64,
    /// How long webhook delivery ids are remembered to drop Jira's duplicates, in seconds.
    pub delivery_retention_secs: u64,
    /// Largest Jira webhook body accepted, in bytes. Jira sends every field of the
    /// issue (comments included) and does not retry a 413, so this is generous.
    pub webhook_body_limit_bytes: usize,
}

impl Default for WritebackSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            webhook_secret: None,
            webhook_secret_file: None,
            webhook_secret_previous: None,
            webhook_secret_previous_file: None,
            webhook_path_secret: None,
            webhook_path_secret_file: None,
            reconcile_interval_secs: 60,
            reconcile_overlap_secs: 120,
            sweep_interval_secs: 3_600,
            page_size: 100,
            lease_secs: 60,
            delivery_retention_secs: 86_400,
            webhook_body_limit_bytes: 4 * 1024 * 1024,
        }
    }
}

impl WritebackSettings {
    /// [`Self::reconcile_interval_secs`] as a duration (at least one second).
    pub fn reconcile_interval(&self) -> Duration {
        Duration::from_secs(self.reconcile_interval_secs.max(1))
    }
    /// [`Self::reconcile_overlap_secs`] as a duration.
    pub fn reconcile_overlap(&self) -> Duration {
        Duration::from_secs(self.reconcile_overlap_secs)
    }
    /// [`Self::sweep_interval_secs`] as a duration (at least one second).
    pub fn sweep_interval(&self) -> Duration {
        Duration::from_secs(self.sweep_interval_secs.max(1))
    }
    /// [`Self::lease_secs`] as a duration (at least one second).
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_secs.max(1))
    }
    /// [`Self::delivery_retention_secs`] as a duration.
    pub fn delivery_retention(&self) -> Duration {
        Duration::from_secs(self.delivery_retention_secs)
    }
}

/// Settings of the inbound HTTP server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Address to listen on, e.g. `0.0.0.0:8080`; port 0 picks a free port.
    pub listen: String,
    /// Largest accepted request body in bytes.
    pub body_limit_bytes: usize,
    /// Time a client has to send its request headers, in milliseconds.
    pub client_request_timeout_ms: u64,
    /// Worker threads; defaults to the number of CPUs.
    pub workers: Option<usize>,
    /// How often the ledger, Jira and Test Manager are probed for `/readyz`, in seconds.
    pub probe_interval_secs: u64,
    /// Create Defect requests handled at once; more are answered 503 with
    /// `Retry-After` instead of queueing.
    pub max_concurrent_creates: usize,
    /// On SIGTERM/SIGINT, how long in-flight requests may take to finish, in seconds.
    pub shutdown_timeout_secs: u64,
    /// Time a client has to close the connection after the answer, in milliseconds.
    pub client_disconnect_timeout_ms: u64,
    /// How long an idle keep-alive connection is kept open, in seconds (0 turns keep-alive off).
    pub keep_alive_secs: u64,
    /// PEM file with the certificate chain (leaf first); with [`Self::tls_key`]
    /// the bridge serves HTTPS (TLS 1.2 and 1.3) instead of plain HTTP.
    pub tls_cert: Option<PathBuf>,
    /// PEM file with the private key of [`Self::tls_cert`] (PKCS#8, PKCS#1 or SEC1).
    pub tls_key: Option<PathBuf>,
    /// How often the certificate and key files are checked for changes, in
    /// seconds (0: only SIGHUP reloads them). Open connections are never dropped.
    pub tls_watch_secs: u64,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            body_limit_bytes: 64 * 1024,
            client_request_timeout_ms: 5_000,
            workers: None,
            probe_interval_secs: 15,
            max_concurrent_creates: 32,
            shutdown_timeout_secs: 30,
            client_disconnect_timeout_ms: 5_000,
            keep_alive_secs: 5,
            tls_cert: None,
            tls_key: None,
            tls_watch_secs: 60,
        }
    }
}

/// Which client networks may call each group of routes (`[access]`). An
/// empty list (the default) lets every client through; `/healthz` and
/// `/openapi.json` are always open, so liveness probes need no entry.
///
/// The operator's page (`/` and `/operator.json`) is stricter: it answers a
/// client in [`Self::operations`] or one presenting [`Self::operator_token`];
/// with neither configured, only loopback clients whose request carries no
/// forwarding header (`X-Forwarded-For`, `Forwarded`, `X-Real-IP`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccessSettings {
    /// Who may call Test Manager's routes under `/hooks/` (e.g. Automation
    /// Cloud's published outbound ranges).
    pub hooks: Networks,
    /// Who may call `/jira/webhook` (Jira's outbound ranges).
    pub jira: Networks,
    /// Who may read `/metrics`, `/readyz` and the operator's page.
    pub operations: Networks,
    /// A token that opens the operator's page from anywhere, sent as
    /// `Authorization: Bearer <token>` or as the password of HTTP Basic; from
    /// `BRIDGE_ACCESS__OPERATOR_TOKEN`. [`Settings::load`] refuses one shorter
    /// than 16 characters (an empty one would open the page to an empty password).
    #[serde(skip)]
    pub operator_token: Option<SecretString>,
    /// File holding [`Self::operator_token`] instead of the environment.
    pub operator_token_file: Option<PathBuf>,
    /// Proxies whose `X-Forwarded-For` and `Forwarded` (RFC 7239) headers are
    /// believed; from any other peer they are ignored and the TCP peer is the client.
    pub trusted_proxies: Networks,
}

/// Retries and concurrency of the calls the bridge makes to Jira and Test Manager.
///
/// 429 is retried for any call (it was refused before processing); reads and
/// other idempotent calls are also retried on 5xx, timeouts and dropped
/// connections. Creates (issue, comment) are retried only on 429 and when the
/// connection could not be opened: a create that may have happened is never
/// repeated blindly.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboundSettings {
    /// Attempts per call in all, the first included (5 = up to 4 retries; 1 = never retry).
    pub max_attempts: u32,
    /// Backoff before the first retry, in milliseconds; doubles per retry, times a jitter of 0.7–1.3.
    pub base_delay_ms: u64,
    /// Largest backoff, in milliseconds (a longer `Retry-After` is still honoured within the budget).
    pub max_delay_ms: u64,
    /// No retry starts later than this after the first attempt, in milliseconds.
    pub total_budget_ms: u64,
    /// Calls to Jira in flight at once.
    pub max_concurrent_jira: usize,
    /// Calls to Test Manager in flight at once.
    pub max_concurrent_testmanager: usize,
}

impl Default for OutboundSettings {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay_ms: 500,
            max_delay_ms: 10_000,
            total_budget_ms: 20_000,
            max_concurrent_jira: 16,
            max_concurrent_testmanager: 16,
        }
    }
}

/// Inbound authentication of Test Manager's webhook calls.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// Accept calls without a secret for projects that have none configured.
    pub allow_unauthenticated: bool,
    /// Header that may carry the secret instead of the URL path.
    pub header: String,
    /// Webhook secret per route (mapping `project.route`); from `BRIDGE_AUTH__SECRETS__<ROUTE>`.
    #[serde(skip)]
    pub secrets: BTreeMap<String, SecretString>,
    /// A directory holding one file per route, named after the route, containing its secret.
    pub secrets_dir: Option<PathBuf>,
}

impl AuthSettings {
    /// Whether requests for `route` may be served: it has a webhook secret, or
    /// unauthenticated calls are explicitly allowed.
    pub fn serves(&self, route: &str) -> bool {
        self.allow_unauthenticated || self.secrets.contains_key(&route.to_lowercase())
    }

    /// The environment variable holding `route`'s webhook secret.
    pub fn secret_variable(route: &str) -> String {
        format!(
            "BRIDGE_AUTH__SECRETS__{}",
            route.to_uppercase().replace('-', "_")
        )
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            allow_unauthenticated: false,
            header: "X-Bridge-Secret".into(),
            secrets: BTreeMap::new(),
            secrets_dir: None,
        }
    }
}

/// Which Jira product the bridge talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JiraFlavour {
    /// Jira Cloud: REST v3, ADF, `search/jql`, Basic email + API token.
    Cloud,
    /// Jira Data Center / Server: REST v2, wiki markup, `search`, Bearer PAT.
    DataCenter,
}

/// Connection to Jira.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JiraSettings {
    /// `cloud` or `data_center`.
    pub flavour: JiraFlavour,
    /// Base URL, may carry a path (`https://host/jira/`, `https://api.atlassian.com/ex/jira/{cloudId}/`).
    pub base_url: Url,
    /// URL people open issues at, when it differs from `base_url` (e.g. scoped-token gateways).
    pub browse_url: Option<Url>,
    /// Account e-mail (Cloud only; Basic auth with the API token).
    pub email: Option<String>,
    /// API token (Cloud) or personal access token (Data Center); from `BRIDGE_JIRA__TOKEN`.
    #[serde(skip)]
    pub token: Option<SecretString>,
    /// File holding the token instead of the environment.
    pub token_file: Option<PathBuf>,
    /// Connect timeout in milliseconds.
    #[serde(default = "defaults::connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// Total timeout of one call in milliseconds.
    #[serde(default = "defaults::request_timeout_ms")]
    pub timeout_ms: u64,
    /// How long Jira's field list is cached, in seconds.
    #[serde(default = "defaults::field_cache_secs")]
    pub field_cache_secs: u64,
    /// Verify mappings against Jira's metadata at start-up (a missing project,
    /// issue type, priority, component or field stops the service; an unreachable
    /// Jira only logs a warning).
    #[serde(default = "defaults::yes")]
    pub verify_on_start: bool,
}

impl JiraSettings {
    /// `flavour` at `base_url` with every optional key at the default `bridge.toml`
    /// gives it, and no e-mail or token yet.
    pub fn new(flavour: JiraFlavour, base_url: Url) -> Self {
        Self {
            flavour,
            base_url,
            browse_url: None,
            email: None,
            token: None,
            token_file: None,
            connect_timeout_ms: defaults::connect_timeout_ms(),
            timeout_ms: defaults::request_timeout_ms(),
            field_cache_secs: defaults::field_cache_secs(),
            verify_on_start: defaults::yes(),
        }
    }
}

/// Connection to the Test Manager REST API.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestManagerSettings {
    /// e.g. `https://cloud.uipath.com/{org}/{tenant}/testmanager_` or a standalone base URL.
    pub base_url: Url,
    /// OAuth token endpoint; derived from `base_url` when absent.
    pub token_url: Option<Url>,
    /// External application (client credentials) id.
    pub client_id: String,
    /// Its secret; from `BRIDGE_TESTMANAGER__CLIENT_SECRET`.
    #[serde(skip)]
    pub client_secret: Option<SecretString>,
    /// File holding the secret instead of the environment.
    pub client_secret_file: Option<PathBuf>,
    /// Scopes requested with the token.
    #[serde(default = "defaults::tm_scope")]
    pub scope: String,
    /// Path of one defect under `base_url`, for write-back; `{projectId}` and
    /// `{defectId}` are replaced.
    #[serde(default = "defaults::defect_path")]
    pub defect_path: String,
    /// Field of the defect update body that carries the status.
    #[serde(default = "defaults::defect_status_field")]
    pub defect_status_field: String,
    /// Field of the defect update body that carries the priority.
    #[serde(default = "defaults::defect_priority_field")]
    pub defect_priority_field: String,
    /// Connect timeout in milliseconds.
    #[serde(default = "defaults::connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// Total timeout of one call in milliseconds.
    #[serde(default = "defaults::request_timeout_ms")]
    pub timeout_ms: u64,
}

impl TestManagerSettings {
    /// The External Application `client_id` at `base_url` with every optional key
    /// at the default `bridge.toml` gives it, and no client secret yet.
    pub fn new(base_url: Url, client_id: impl Into<String>) -> Self {
        Self {
            base_url,
            token_url: None,
            client_id: client_id.into(),
            client_secret: None,
            client_secret_file: None,
            scope: defaults::tm_scope(),
            defect_path: defaults::defect_path(),
            defect_status_field: defaults::defect_status_field(),
            defect_priority_field: defaults::defect_priority_field(),
            connect_timeout_ms: defaults::connect_timeout_ms(),
            timeout_ms: defaults::request_timeout_ms(),
        }
    }
}

/// The ledger store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSettings {
    /// `sqlite://path/ledger.db` (embedded, one process) or `postgres://…` (shared by replicas).
    pub url: String,
    /// Connection pool size.
    pub max_connections: u32,
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            url: "sqlite://data/ledger.db".into(),
            max_connections: 8,
        }
    }
}

/// Where mapping files are read from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MappingsSettings {
    /// Directory of `*.toml` mapping files, one per Test Manager project.
    pub dir: PathBuf,
    /// Reload the mappings when their files change, checking every this many
    /// seconds; 0 reloads only on SIGHUP.
    pub watch_secs: u64,
}

impl Default for MappingsSettings {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("mappings"),
            watch_secs: 0,
        }
    }
}

/// Create Defect behaviour.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DefectSettings {
    /// A claim older than this with no issue is considered abandoned, in seconds.
    pub claim_stale_after_secs: u64,
    /// How long a request waits for another request creating the same issue, in seconds.
    pub wait_for_winner_secs: u64,
    /// How long Jira's search may lag behind a create, in seconds: after an
    /// unconfirmed create the next attempt keeps looking for the issue this long
    /// before creating one. Default: 15 on Cloud, 0 on Data Center.
    pub search_lag_secs: Option<u64>,
}

impl Default for DefectSettings {
    fn default() -> Self {
        Self {
            claim_stale_after_secs: 120,
            wait_for_winner_secs: 20,
            search_lag_secs: None,
        }
    }
}

impl DefectSettings {
    /// [`Self::claim_stale_after_secs`] as a duration.
    pub fn claim_stale_after(&self) -> Duration {
        Duration::from_secs(self.claim_stale_after_secs)
    }
    /// [`Self::wait_for_winner_secs`] as a duration.
    pub fn wait_for_winner(&self) -> Duration {
        Duration::from_secs(self.wait_for_winner_secs)
    }
    /// [`Self::search_lag_secs`] as a duration, defaulted by Jira flavour.
    pub fn search_lag(&self, flavour: JiraFlavour) -> Duration {
        let default = match flavour {
            JiraFlavour::Cloud => 15,
            JiraFlavour::DataCenter => 0,
        };
        Duration::from_secs(self.search_lag_secs.unwrap_or(default))
    }
}

/// Defect KPI behaviour: caching, the longest wait, and the status values.
///
/// The three status strings are Test Manager's `ConnectorKPIStatus` values,
/// which are not public: the defaults are a best guess and can be overridden.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KpiSettings {
    /// How long a project's counts are reused before Jira is asked again, in seconds.
    pub ttl_secs: u64,
    /// The longest the dashboard waits for Jira, in milliseconds; after it, the
    /// last good counts (or zeros) are answered with `status_error` while the
    /// load goes on and fills the cache.
    pub max_wait_ms: u64,
    /// After a failed count, how long Jira is left alone for that project, in
    /// milliseconds (at least Jira's `Retry-After` on a 429); meanwhile the
    /// last good counts are answered with `status_error`. 0 retries at once.
    pub error_backoff_ms: u64,
    /// Status when the counts are current.
    pub status_ok: String,
    /// Status when Jira failed or was slow and the counts are stale (or zeros).
    pub status_error: String,
    /// Status when no mapping serves the project asked for.
    pub status_not_configured: String,
}

impl Default for KpiSettings {
    fn default() -> Self {
        Self {
            ttl_secs: 60,
            max_wait_ms: 5_000,
            error_backoff_ms: 5_000,
            status_ok: "Ok".into(),
            status_error: "Error".into(),
            status_not_configured: "NotConfigured".into(),
        }
    }
}

impl KpiSettings {
    /// [`Self::ttl_secs`] as a duration (at least one millisecond: moka refuses zero).
    pub fn ttl(&self) -> Duration {
        Duration::from_secs(self.ttl_secs).max(Duration::from_millis(1))
    }
    /// [`Self::max_wait_ms`] as a duration.
    pub fn max_wait(&self) -> Duration {
        Duration::from_millis(self.max_wait_ms)
    }
    /// [`Self::error_backoff_ms`] as a duration.
    pub fn error_backoff(&self) -> Duration {
        Duration::from_millis(self.error_backoff_ms)
    }
}

mod defaults {
    pub fn connect_timeout_ms() -> u64 {
        5_000
    }
    pub fn request_timeout_ms() -> u64 {
        30_000
    }
    pub fn field_cache_secs() -> u64 {
        600
    }
    pub fn yes() -> bool {
        true
    }
    pub fn tm_scope() -> String {
        "TM.Projects.Read TM.TestCases.Read TM.TestExecutions.Read TM.Attachments.Read \
         TM.Defects.Read TM.Defects.Write"
            .into()
    }
    pub fn defect_path() -> String {
        "api/v2/{projectId}/defects/{defectId}".into()
    }
    pub fn defect_status_field() -> String {
        "status".into()
    }
    pub fn defect_priority_field() -> String {
        "priority".into()
    }
}
