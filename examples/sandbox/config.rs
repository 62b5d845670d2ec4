//! The sandbox's bridge configuration: a `bridge.toml` written beside its
//! ledger and read by the service's own loader, pointing at the stand-ins.

use crate::support::{FakeJira, FakeTestManager, JIRA_TOKEN, PROJECT_ID, TM_SECRET};
use crate::Options;
use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tm_defect_bridge::config::{JiraFlavour, Settings};

/// The webhook secret of route `shop` in the sandbox (it goes in the URL, as
/// Test Manager sends it).
pub const SECRET: &str = "sandbox-secret";

/// The file that marks a folder as the sandbox's own, so it may be emptied.
const MARKER: &str = ".tm-defect-bridge-sandbox";

/// Empties `dir` (a previous sandbox's ledger would remember issues the new
/// stand-in Jira never had) and creates it. A folder that exists, holds
/// files and was not made by the sandbox is left alone: that is an error.
pub fn fresh_dir(dir: &Path) -> Result<(), String> {
    let cannot = |e: std::io::Error| format!("cannot prepare {}: {e}", dir.display());
    if dir.exists() {
        let ours = dir.join(MARKER).exists();
        let empty = std::fs::read_dir(dir).map_err(cannot)?.next().is_none();
        if !ours && !empty {
            return Err(format!(
                "{} holds files the sandbox did not make; give --dir a new or empty folder",
                dir.display()
            ));
        }
        std::fs::remove_dir_all(dir).map_err(cannot)?;
    }
    std::fs::create_dir_all(dir).map_err(cannot)?;
    std::fs::write(dir.join(MARKER), "made by cargo run --example sandbox\n").map_err(cannot)
}

/// Copies the `.toml` files of `from` into `to` (a folder inside the
/// sandbox's own); returns `to`.
pub fn copy_mappings(from: &Path, to: &Path) -> Result<PathBuf, String> {
    let cannot = |e: std::io::Error| format!("cannot copy the mappings of {}: {e}", from.display());
    std::fs::create_dir_all(to).map_err(cannot)?;
    for entry in std::fs::read_dir(from).map_err(cannot)? {
        let path = entry.map_err(cannot)?.path();
        if let (Some(name), Some("toml")) =
            (path.file_name(), path.extension().and_then(|e| e.to_str()))
        {
            std::fs::copy(&path, to.join(name)).map_err(cannot)?;
        }
    }
    Ok(to.to_owned())
}

/// The address the bridge binds: the loaded settings' (a `BRIDGE_SERVER__LISTEN`
/// in the environment wins over `--listen`, as it would for `serve`).
pub fn listen_address(settings: &Settings, given: SocketAddr) -> SocketAddr {
    settings.server.listen.parse().unwrap_or(given)
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
    let from_environment: Vec<String> = std::env::vars()
        .map(|(name, _)| name)
        .filter(|name| name.starts_with("BRIDGE_"))
        .collect();
    if !from_environment.is_empty() {
        eprintln!(
            "note: {} from your environment apply to the sandbox too, as they would to `serve`",
            from_environment.join(", ")
        );
    }
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
