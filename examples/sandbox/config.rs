//! The sandbox's bridge configuration: a `bridge.toml` written beside its
//! ledger and read by the service's own loader, pointing at the stand-ins.

use crate::support::{FakeJira, FakeTestManager, JIRA_TOKEN, PROJECT_ID, TM_SECRET};
use crate::Options;
use secrecy::SecretString;
use std::path::Path;
use std::sync::Arc;
use tm_defect_bridge::config::{JiraFlavour, Settings};

/// The webhook secret of route `shop` in the sandbox (it goes in the URL, as
/// Test Manager sends it).
pub const SECRET: &str = "sandbox-secret";

/// Empties `dir` (a previous sandbox's ledger would remember issues the new
/// stand-in Jira never had) and creates it.
pub fn fresh_dir(dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    std::fs::create_dir_all(dir)
}

/// Sends the service's log (`RUST_LOG`, default `info`) to `file`, and shows
/// on the terminal only what the user needs to see while trying things:
/// warnings, errors and mapping reloads (a refused reload says why there).
pub fn log_to_file(file: &Path) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, Layer};
    let Ok(file) = std::fs::File::create(file) else {
        return;
    };
    let to_file = tracing_subscriber::fmt::layer()
        .with_writer(Arc::new(file))
        .with_ansi(false)
        .with_filter(tm_defect_bridge::telemetry::filter());
    let to_terminal = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .without_time()
        .with_filter(EnvFilter::new(
            "warn,gouqi=off,tm_defect_bridge::startup::reload=info",
        ));
    let _ = tracing_subscriber::registry()
        .with(to_file)
        .with(to_terminal)
        .try_init();
}

/// Writes `bridge.toml` for the stand-ins and loads it like `serve` does; the
/// secrets the stand-ins accept are set afterwards, as the environment would.
pub fn sandbox_settings(
    options: &Options,
    flavour: JiraFlavour,
    jira: &FakeJira,
    tm: &FakeTestManager,
) -> Result<Settings, String> {
    let flavour_key = match flavour {
        JiraFlavour::Cloud => "cloud",
        JiraFlavour::DataCenter => "data_center",
    };
    let ledger = options.dir.join("ledger.db");
    let text = format!(
        r#"# Written by the sandbox (examples/sandbox): the bridge against stand-ins on loopback.
# Secrets are set by the sandbox, as BRIDGE_JIRA__TOKEN, BRIDGE_TESTMANAGER__CLIENT_SECRET
# and BRIDGE_AUTH__SECRETS__SHOP would set them.
[server]
listen = "{listen}"
probe_interval_secs = 5

[jira]
flavour = "{flavour_key}"
base_url = "{jira_url}"
email = "bot@example.com"

[testmanager]
base_url = "{tm_url}"
client_id = "sandbox"

[store]
url = "sqlite://{ledger}"

[mappings]
dir = "{mappings}"
watch_secs = 1

[evidence]
poll_interval_ms = 200
"#,
        listen = options.listen,
        jira_url = jira.base_url(),
        tm_url = tm.base_url(),
        ledger = ledger.display(),
        mappings = options.mappings.display(),
    );
    let path = options.dir.join("bridge.toml");
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let mut settings = Settings::load(&path).map_err(|e| e.to_string())?;
    settings.jira.token = Some(SecretString::from(JIRA_TOKEN));
    settings.testmanager.client_secret = Some(SecretString::from(TM_SECRET));
    settings
        .auth
        .secrets
        .insert("shop".to_owned(), SecretString::from(SECRET));
    Ok(settings)
}

/// Route `shop`'s registered URL on the bridge at `bridge`.
pub fn hook_url(bridge: &str) -> String {
    format!("{bridge}/hooks/shop/{SECRET}")
}

/// The KPI question Test Manager's dashboard asks about the example project.
pub fn kpi_url(bridge: &str) -> String {
    format!(
        "{}/api/kpis/project/{PROJECT_ID}/defectstatus",
        hook_url(bridge)
    )
}
