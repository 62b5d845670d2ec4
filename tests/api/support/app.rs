//! The bridge under test: [`spawn_app`] starts it on port 0 against fresh fakes, with the
//! SHOP mapping and a SQLite ledger in a temp folder unless [`AppOptions`] say otherwise.
//! Lower down, [`settings`] and [`start_bridge`] start more bridges on the same fakes.

use super::{FakeJira, FakeTestManager, SeededResult, JIRA_TOKEN, MAPPING, SECRET, TM_SECRET};
use secrecy::SecretString;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tm_defect_bridge::config::{
    AuthSettings, DefectSettings, JiraFlavour, JiraSettings, KpiSettings, MappingsSettings,
    OutboundSettings, ServerSettings, Settings, StoreSettings, TestManagerSettings,
};
use tm_defect_bridge::evidence::worker::Signal;
use tm_defect_bridge::startup::Application;
use uuid::Uuid;

/// A change to the settings, given the fake Test Manager, made before the bridge starts.
pub type Tweak<'t> = Box<dyn FnOnce(&mut Settings, &FakeTestManager) + 't>;

/// How [`spawn_app`] sets the bridge up. Start from [`AppOptions::cloud`] or
/// [`AppOptions::data_center`] and change what the test is about:
///
/// ```ignore
/// let app = spawn_app(AppOptions::cloud()).await;
/// let app = spawn_app(
///     AppOptions::data_center()
///         .mapping(MAPPING.replace("[project]", "[repeat]\npolicy = \"new\"\n\n[project]"))
///         .store(postgres_url)
///         .tweak(|settings, _tm| settings.jira.timeout_ms = 800),
/// )
/// .await;
/// ```
pub struct AppOptions<'t> {
    /// Which Jira the fake plays and the bridge talks to.
    pub flavour: JiraFlavour,
    /// The text of route `shop`'s mapping file (default: [`MAPPING`]).
    pub mapping: String,
    /// Path prefix of the fake Jira, e.g. `/jira` (default: none).
    pub jira_context: String,
    /// The `[kpis]` settings.
    pub kpis: KpiSettings,
    /// The ledger's URL (default: a SQLite file in the app's temp folder).
    pub store: Option<String>,
    /// A last change to the settings (default: none).
    pub tweak: Option<Tweak<'t>>,
}

impl<'t> AppOptions<'t> {
    /// The defaults against a fake Jira Cloud.
    pub fn cloud() -> Self {
        Self::of(JiraFlavour::Cloud)
    }

    /// The defaults against a fake Jira Data Center.
    pub fn data_center() -> Self {
        Self::of(JiraFlavour::DataCenter)
    }

    /// The defaults against a fake Jira of `flavour`.
    pub fn of(flavour: JiraFlavour) -> Self {
        Self {
            flavour,
            mapping: MAPPING.to_owned(),
            jira_context: String::new(),
            kpis: KpiSettings::default(),
            store: None,
            tweak: None,
        }
    }

    /// Route `shop`'s mapping file holds `text`.
    pub fn mapping(self, text: impl Into<String>) -> Self {
        Self {
            mapping: text.into(),
            ..self
        }
    }

    /// The fake Jira serves under `context`, e.g. `/jira`.
    pub fn jira_context(self, context: &str) -> Self {
        Self {
            jira_context: context.to_owned(),
            ..self
        }
    }

    /// The `[kpis]` settings are `kpis`.
    pub fn kpis(self, kpis: KpiSettings) -> Self {
        Self { kpis, ..self }
    }

    /// The ledger is at `url` (e.g. one of [`stores`]).
    pub fn store(self, url: impl Into<String>) -> Self {
        Self {
            store: Some(url.into()),
            ..self
        }
    }

    /// `tweak` changes the settings (given the fake Test Manager) before the bridge starts.
    pub fn tweak(self, tweak: impl FnOnce(&mut Settings, &FakeTestManager) + 't) -> Self {
        Self {
            tweak: Some(Box::new(tweak)),
            ..self
        }
    }
}

/// The running app and its fakes.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    pub jira: FakeJira,
    pub tm: FakeTestManager,
    pub client: reqwest::Client,
    /// Stops (or wakes) the bridge's evidence worker.
    pub evidence: Arc<Signal>,
    /// The ledger's URL.
    pub store: String,
    /// Holds the mappings folder (and the SQLite ledger unless another store was given).
    pub dir: tempfile::TempDir,
}

/// The fakes and settings of a bridge that [`spawn_app`] would start, not started yet
/// (to mount more on the fakes first, or to see the build fail).
pub struct PreparedApp {
    pub jira: FakeJira,
    pub tm: FakeTestManager,
    pub settings: Settings,
    pub dir: tempfile::TempDir,
}

/// Starts fresh fakes and a bridge on port 0 set up by `options`.
pub async fn spawn_app(options: AppOptions<'_>) -> TestApp {
    prepare_app(options).await.start().await
}

/// [`spawn_app`] with one failed result seeded in Test Manager.
pub async fn app_with_a_failure(options: AppOptions<'_>) -> (TestApp, SeededResult) {
    let app = spawn_app(options).await;
    let seeded = SeededResult::new(None);
    app.tm.seed(&seeded, "Failed").await;
    (app, seeded)
}

/// Starts fresh fakes and writes the bridge's mapping; the bridge itself is not built.
pub async fn prepare_app(options: AppOptions<'_>) -> PreparedApp {
    let jira = FakeJira::start_at(options.flavour, &options.jira_context).await;
    let tm = FakeTestManager::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mappings = mappings_folder(dir.path(), "mappings", &options.mapping);
    let store = options.store.unwrap_or_else(|| sqlite_store(&dir));
    let mut settings = settings(&jira, &tm, mappings, options.flavour, store);
    settings.kpis = options.kpis;
    if let Some(tweak) = options.tweak {
        tweak(&mut settings, &tm);
    }
    PreparedApp {
        jira,
        tm,
        settings,
        dir,
    }
}

impl PreparedApp {
    /// Builds and starts the bridge.
    pub async fn start(self) -> TestApp {
        let store = self.settings.store.url.clone();
        let (address, evidence) = start_bridge_with_signal(self.settings).await;
        TestApp {
            address,
            jira: self.jira,
            tm: self.tm,
            client: reqwest::Client::new(),
            evidence,
            store,
            dir: self.dir,
        }
    }
}

impl TestApp {
    /// POSTs a Create Defect to the project's registered URL (secret in the path).
    pub async fn create_defect(&self, body: &Value) -> reqwest::Response {
        self.client
            .post(self.hook_url("/defects"))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// GETs `path` (e.g. `/operator.json`) from the bridge.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap()
    }

    /// Route `shop`'s URL with the secret in the path, then `rest` (e.g. `/preview`).
    pub fn hook_url(&self, rest: &str) -> String {
        hook_url(&self.address, rest)
    }

    /// Route `shop`'s mapping file, to rewrite while the bridge runs (and reload with
    /// SIGHUP: only `tests/signals.rs` does, so the `api` binary does not use it).
    #[allow(dead_code)]
    pub fn mapping_file(&self) -> PathBuf {
        self.dir.path().join("mappings/shop.toml")
    }

    /// Settings for another bridge on this app's fakes, with the ledger at `store` and
    /// `mapping` for route `shop` in a fresh folder (start it with [`start_bridge`]).
    pub fn settings_beside(&self, mapping: &str, store: String) -> Settings {
        let name = format!("m-{}", Uuid::new_v4().simple());
        let mappings = mappings_folder(self.dir.path(), &name, mapping);
        settings(&self.jira, &self.tm, mappings, self.jira.flavour, store)
    }
}

/// POSTs a Create Defect to route `shop` of the bridge at `address` (secret in the path).
pub async fn create_defect_on(address: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(hook_url(address, "/defects"))
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Route `shop`'s URL on the bridge at `address`, with the secret in the path, then `rest`.
pub fn hook_url(address: &str, rest: &str) -> String {
    format!("{address}/hooks/shop/{SECRET}{rest}")
}

/// Creates `parent/name/shop.toml` holding `mapping`; returns the folder.
pub fn mappings_folder(parent: &Path, name: &str, mapping: &str) -> PathBuf {
    let folder = parent.join(name);
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("shop.toml"), mapping).unwrap();
    folder
}

/// The settings of a bridge on `jira` and `tm` with the mappings in `dir` and the ledger
/// at `store_url`: quick retries and polling, secrets the fakes accept.
pub fn settings(
    jira: &FakeJira,
    tm: &FakeTestManager,
    dir: PathBuf,
    flavour: JiraFlavour,
    store_url: String,
) -> Settings {
    let mut secrets = BTreeMap::new();
    secrets.insert("shop".to_owned(), SecretString::from(SECRET));
    Settings {
        server: ServerSettings {
            listen: "127.0.0.1:0".into(),
            workers: Some(2),
            // Above the 50 concurrent identical requests of the exactly-once tests;
            // faults::creates_beyond_the_bound_are_503 tests the bound itself.
            max_concurrent_creates: 64,
            ..Default::default()
        },
        auth: AuthSettings {
            secrets,
            ..Default::default()
        },
        access: Default::default(),
        jira: JiraSettings {
            email: (flavour == JiraFlavour::Cloud).then(|| "bot@example.com".to_owned()),
            token: Some(SecretString::from(JIRA_TOKEN)),
            connect_timeout_ms: 2_000,
            timeout_ms: 5_000,
            verify_on_start: false,
            ..JiraSettings::new(flavour, jira.base_url())
        },
        testmanager: TestManagerSettings {
            client_secret: Some(SecretString::from(TM_SECRET)),
            scope: "TM.TestExecutions.Read".into(),
            connect_timeout_ms: 2_000,
            timeout_ms: 5_000,
            ..TestManagerSettings::new(tm.base_url(), "bridge-client")
        },
        store: StoreSettings {
            url: store_url,
            max_connections: 4,
        },
        mappings: MappingsSettings { dir, watch_secs: 0 },
        defects: DefectSettings {
            claim_stale_after_secs: 120,
            wait_for_winner_secs: 10,
            search_lag_secs: Some(3),
        },
        kpis: KpiSettings::default(),
        // Quick retries keep fault tests short; `Retry-After` floors still apply.
        outbound: OutboundSettings {
            base_delay_ms: 20,
            max_delay_ms: 200,
            total_budget_ms: 10_000,
            ..Default::default()
        },
        evidence: tm_defect_bridge::config::EvidenceSettings {
            poll_interval_ms: 100,
            ..Default::default()
        },
        writeback: Default::default(),
    }
}

/// A `bridge.toml` in `dir` for commands that call no upstream (`ledger …`):
/// Jira of `flavour` (`cloud`, `data_center`) and Test Manager at example hosts,
/// the ledger a SQLite file in `dir`. Returns the file and the ledger's URL.
pub fn offline_config(dir: &Path, flavour: &str) -> (PathBuf, String) {
    let store = format!("sqlite://{}", dir.join("ledger.db").display());
    let config = dir.join("bridge.toml");
    std::fs::write(
        &config,
        format!(
            "[jira]\nflavour = \"{flavour}\"\nbase_url = \"https://jira.example.com/\"\n\n\
             [testmanager]\nbase_url = \"https://tm.example.com/\"\nclient_id = \"x\"\n\n\
             [store]\nurl = \"{store}\"\n"
        ),
    )
    .unwrap();
    (config, store)
}

/// A SQLite ledger file inside `dir`.
pub fn sqlite_store(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("ledger.db").display())
}

/// Builds and starts a bridge from `settings`; returns its base address.
pub async fn start_bridge(settings: Settings) -> String {
    start_bridge_with_signal(settings).await.0
}

/// Like `start_bridge`, also handing out the evidence worker's signal (to stop it).
pub async fn start_bridge_with_signal(settings: Settings) -> (String, Arc<Signal>) {
    let app = Application::build(settings).await.expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let signal = app.evidence_signal();
    tokio::spawn(app.run_until_stopped());
    (address, signal)
}

/// A PostgreSQL store URL in a fresh schema when `DATABASE_URL` is set; says so when it is not.
pub async fn postgres_store() -> Option<String> {
    let Ok(base) = std::env::var("DATABASE_URL") else {
        eprintln!("skipping PostgreSQL: DATABASE_URL not set");
        return None;
    };
    let schema = format!("bridge_test_{}", Uuid::new_v4().simple());
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&base)
        .await
        .expect("DATABASE_URL must reach PostgreSQL");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let separator = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{separator}options=-csearch_path%3D{schema}"))
}

/// Every store the behavioural suite runs against: SQLite always, PostgreSQL when configured.
pub async fn stores(dir: &tempfile::TempDir) -> Vec<String> {
    let mut stores = vec![sqlite_store(dir)];
    stores.extend(postgres_store().await);
    stores
}
