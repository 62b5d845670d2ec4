//! Loading `bridge.toml`: defaults, overrides, secrets, and refusals.

use super::*;
use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::time::Duration;

const MINIMAL: &str = r#"
[jira]
flavour = "cloud"
base_url = "https://example.atlassian.net/"
email = "bot@example.com"

[testmanager]
base_url = "https://cloud.uipath.com/org/tenant/testmanager_"
client_id = "abc"
"#;

/// [`Settings::load`] while no other test changes the environment: the tests
/// that set `BRIDGE_…` variables do it inside figment's `Jail`, whose lock this
/// takes too, so under `cargo test` (one process) none of their variables leaks
/// into this load.
#[allow(clippy::result_large_err)] // figment::Jail's closure signature
fn load_alone(path: &std::path::Path) -> Result<Settings, ConfigError> {
    let mut loaded = None;
    figment::Jail::expect_with(|_| {
        loaded = Some(Settings::load(path));
        Ok(())
    });
    loaded.expect("the jail ran the load")
}

/// Loads `text` as a `bridge.toml` of its own (see [`load_alone`]).
fn load_text(text: &str) -> Result<Settings, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    load_alone(&write(&dir, "bridge.toml", text))
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn loads_defaults_and_secret_files() {
    let dir = tempfile::tempdir().unwrap();
    let token = write(&dir, "token", "s3cr3t\n");
    let client = write(&dir, "client", "c-secret");
    let text = format!(
        "{MINIMAL}\nclient_secret_file = {:?}\n[jira.x]\n",
        client.display().to_string()
    )
    .replace("[jira.x]\n", "");
    let text = text.replace(
        "email = \"bot@example.com\"",
        &format!(
            "email = \"bot@example.com\"\ntoken_file = {:?}",
            token.display().to_string()
        ),
    );
    let path = write(&dir, "bridge.toml", &text);
    let settings = load_alone(&path).unwrap();
    assert_eq!(
        settings.jira.token.as_ref().unwrap().expose_secret(),
        "s3cr3t"
    );
    assert_eq!(
        settings
            .testmanager
            .client_secret
            .as_ref()
            .unwrap()
            .expose_secret(),
        "c-secret"
    );
    assert_eq!(settings.server.listen, "127.0.0.1:8080");
    assert_eq!(settings.store.url, "sqlite://data/ledger.db");
    assert_eq!(settings.jira.flavour, JiraFlavour::Cloud);
}

#[test]
fn the_example_config_documents_the_kpi_defaults() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/bridge.example.toml");
    let settings: Settings = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let defaults = KpiSettings::default();
    assert_eq!(settings.kpis.ttl_secs, defaults.ttl_secs);
    assert_eq!(settings.kpis.max_wait_ms, defaults.max_wait_ms);
    assert_eq!(settings.kpis.error_backoff_ms, defaults.error_backoff_ms);
    assert_eq!(settings.kpis.status_ok, defaults.status_ok);
    assert_eq!(settings.kpis.status_error, defaults.status_error);
    assert_eq!(
        settings.kpis.status_not_configured,
        defaults.status_not_configured
    );
}

#[test]
#[allow(clippy::result_large_err)] // figment::Jail's closure signature
fn numeric_secrets_and_bridge_config_from_the_environment() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("bridge.toml", MINIMAL)?;
        jail.set_env("BRIDGE_JIRA__TOKEN", "12345");
        jail.set_env("BRIDGE_TESTMANAGER__CLIENT_SECRET", "true");
        jail.set_env("BRIDGE_AUTH__SECRETS__SHOP", "0042");
        jail.set_env("BRIDGE_CONFIG", "bridge.toml");
        jail.set_env("BRIDGE_SERVER__LISTEN", "0.0.0.0:9090");
        let settings = Settings::load(Path::new("bridge.toml")).map_err(|e| e.to_string())?;
        assert_eq!(
            settings.jira.token.as_ref().unwrap().expose_secret(),
            "12345"
        );
        assert_eq!(
            settings
                .testmanager
                .client_secret
                .as_ref()
                .unwrap()
                .expose_secret(),
            "true"
        );
        assert_eq!(settings.auth.secrets["shop"].expose_secret(), "0042");
        assert_eq!(settings.server.listen, "0.0.0.0:9090");
        Ok(())
    });
}

#[test]
fn routes_are_served_with_a_secret_or_when_explicitly_open() {
    let mut auth = AuthSettings::default();
    auth.secrets.insert("shop".into(), SecretString::from("s"));
    assert!(auth.serves("shop") && auth.serves("SHOP"));
    assert!(!auth.serves("web-app"));
    auth.allow_unauthenticated = true;
    assert!(auth.serves("web-app"));
    assert_eq!(
        AuthSettings::secret_variable("web-app"),
        "BRIDGE_AUTH__SECRETS__WEB_APP"
    );
}

#[test]
fn unknown_key_is_named() {
    let err = load_text(&format!("{MINIMAL}\nclient_sekret = 1\n"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("client_sekret"), "{err}");
    assert!(err.contains("bridge.toml"), "{err}");
}

#[test]
fn secret_in_file_is_refused() {
    let text = MINIMAL.replace("email =", "token = \"oops\"\nemail =");
    let err = load_text(&text).unwrap_err().to_string();
    assert!(err.contains("jira.token"), "{err}");
    assert!(err.contains("BRIDGE_JIRA__TOKEN"), "{err}");
    assert!(!err.contains("oops"), "{err}");
}

#[test]
fn writeback_defaults_apply_without_the_section() {
    let w = load_text(MINIMAL).unwrap().writeback;
    assert!(w.enabled);
    assert!(w.webhook_secret.is_none() && w.webhook_secret_previous.is_none());
    assert!(w.webhook_path_secret.is_none());
    assert_eq!(w.reconcile_interval(), Duration::from_secs(60));
    assert_eq!(w.reconcile_overlap(), Duration::from_secs(120));
    assert_eq!(w.sweep_interval(), Duration::from_secs(3_600));
    assert_eq!(w.page_size, 100);
    assert_eq!(w.lease(), Duration::from_secs(60));
    assert_eq!(w.delivery_retention(), Duration::from_secs(86_400));
}

#[test]
fn the_example_config_documents_the_writeback_defaults() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/bridge.example.toml");
    let settings: Settings = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let (given, defaults) = (settings.writeback, WritebackSettings::default());
    assert_eq!(given.enabled, defaults.enabled);
    assert_eq!(
        given.reconcile_interval_secs,
        defaults.reconcile_interval_secs
    );
    assert_eq!(
        given.reconcile_overlap_secs,
        defaults.reconcile_overlap_secs
    );
    assert_eq!(given.sweep_interval_secs, defaults.sweep_interval_secs);
    assert_eq!(given.page_size, defaults.page_size);
    assert_eq!(given.lease_secs, defaults.lease_secs);
    assert_eq!(
        given.delivery_retention_secs,
        defaults.delivery_retention_secs
    );
}

#[test]
#[allow(clippy::result_large_err)] // figment::Jail's closure signature
fn writeback_keys_and_secrets_come_from_the_environment() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "bridge.toml",
            &format!("{MINIMAL}\n[writeback]\nreconcile_interval_secs = 30\npage_size = 50\n"),
        )?;
        jail.set_env("BRIDGE_WRITEBACK__RECONCILE_INTERVAL_SECS", "15");
        jail.set_env("BRIDGE_WRITEBACK__ENABLED", "false");
        jail.set_env("BRIDGE_WRITEBACK__WEBHOOK_SECRET", "0042");
        jail.set_env("BRIDGE_WRITEBACK__WEBHOOK_SECRET_PREVIOUS", "true");
        jail.set_env("BRIDGE_WRITEBACK__WEBHOOK_PATH_SECRET", "p4th");
        let w = Settings::load(Path::new("bridge.toml"))
            .map_err(|e| e.to_string())?
            .writeback;
        assert_eq!(w.reconcile_interval_secs, 15);
        assert_eq!(w.page_size, 50);
        assert!(!w.enabled);
        assert_eq!(
            webhook_secrets(&w),
            [Some("0042"), Some("true"), Some("p4th")]
        );
        Ok(())
    });
}

/// The three webhook secrets of `w`, exposed for comparison.
fn webhook_secrets(w: &WritebackSettings) -> [Option<&str>; 3] {
    [
        &w.webhook_secret,
        &w.webhook_secret_previous,
        &w.webhook_path_secret,
    ]
    .map(|s| s.as_ref().map(|s| s.expose_secret()))
}

#[test]
fn writeback_secrets_come_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let current = write(&dir, "current", "wh-current\n");
    let previous = write(&dir, "previous", "wh-previous");
    let path_secret = write(&dir, "path", " p4th \n");
    let text = format!(
        "{MINIMAL}\n[writeback]\nwebhook_secret_file = {:?}\nwebhook_secret_previous_file = {:?}\nwebhook_path_secret_file = {:?}\n",
        current.display().to_string(),
        previous.display().to_string(),
        path_secret.display().to_string()
    );
    let path = write(&dir, "bridge.toml", &text);
    let w = load_alone(&path).unwrap().writeback;
    assert_eq!(
        webhook_secrets(&w),
        [Some("wh-current"), Some("wh-previous"), Some("p4th")]
    );
    let shown = format!("{w:?}");
    assert!(
        !shown.contains("wh-current") && !shown.contains("p4th"),
        "{shown}"
    );
}

#[test]
fn writeback_refuses_secrets_and_unknown_keys_in_the_toml() {
    for (key, expected) in [
        ("webhook_secret", "BRIDGE_WRITEBACK__WEBHOOK_SECRET"),
        (
            "webhook_secret_previous",
            "BRIDGE_WRITEBACK__WEBHOOK_SECRET_PREVIOUS",
        ),
        (
            "webhook_path_secret",
            "BRIDGE_WRITEBACK__WEBHOOK_PATH_SECRET",
        ),
        ("reconcile_every", "reconcile_every"),
    ] {
        let err = load_text(&format!("{MINIMAL}\n[writeback]\n{key} = \"oops\"\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("bridge.toml"), "{err}");
        assert!(err.contains(expected), "{err}");
        assert!(!err.contains("oops"), "{err}");
    }
}

#[test]
fn missing_secret_names_the_variable() {
    let settings = load_text(MINIMAL).unwrap();
    let err = settings.require_secrets().unwrap_err().to_string();
    assert!(err.contains("BRIDGE_JIRA__TOKEN"), "{err}");
}

#[test]
fn access_lists_parse_and_a_bad_network_is_named_by_its_key() {
    let settings = load_text(&format!("{MINIMAL}\n[access]\nhooks = [\"10.0.0.0/8\", \"2001:db8::/32\"]\ntrusted_proxies = [\"127.0.0.1\"]\n")).unwrap();
    assert!(settings.access.hooks.contains("10.9.8.7".parse().unwrap()));
    assert!(!settings.access.hooks.contains("11.0.0.1".parse().unwrap()));
    assert!(settings.access.jira.is_empty());
    assert!(settings
        .access
        .trusted_proxies
        .contains("127.0.0.1".parse().unwrap()));

    let err = load_text(&format!(
        "{MINIMAL}\n[access]\noperations = [\"10.0.0/8\"]\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("access.operations"), "{err}");
    assert!(err.contains("10.0.0/8"), "{err}");
}

#[test]
fn tls_is_off_unless_both_files_are_named() {
    let settings = load_text(MINIMAL).unwrap();
    assert!(settings.server.tls_cert.is_none() && settings.server.tls_key.is_none());
}

/// Digits only, with leading zeros that figment would drop if it read a number.
const NUMERIC_TOKEN: &str = "0077123456789012";

#[test]
#[allow(clippy::result_large_err)] // figment::Jail's closure signature
fn the_operator_token_comes_from_the_environment_or_a_file_never_the_toml() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("bridge.toml", MINIMAL)?;
        jail.set_env("BRIDGE_ACCESS__OPERATOR_TOKEN", NUMERIC_TOKEN);
        let access = Settings::load(Path::new("bridge.toml"))
            .map_err(|e| e.to_string())?
            .access;
        let token = access.operator_token.as_ref().map(|t| t.expose_secret());
        assert_eq!(token, Some(NUMERIC_TOKEN), "read raw, not as a number");
        assert!(!format!("{access:?}").contains(NUMERIC_TOKEN));
        Ok(())
    });

    let dir = tempfile::tempdir().unwrap();
    let file = write(&dir, "operator-token", "op-token-7c41d09e\n");
    let path = write(
        &dir,
        "bridge.toml",
        &format!(
            "{MINIMAL}\n[access]\noperator_token_file = {:?}\n",
            file.display().to_string()
        ),
    );
    let access = load_alone(&path).unwrap().access;
    let token = access.operator_token.as_ref().map(|t| t.expose_secret());
    assert_eq!(
        token,
        Some("op-token-7c41d09e"),
        "the newline is not part of it"
    );

    let path = write(
        &dir,
        "bridge.toml",
        &format!("{MINIMAL}\n[access]\noperator_token = \"oops\"\n"),
    );
    let err = load_alone(&path).unwrap_err().to_string();
    assert!(err.contains("BRIDGE_ACCESS__OPERATOR_TOKEN"), "{err}");
    assert!(!err.contains("oops"), "{err}");
}

#[test]
#[allow(clippy::result_large_err)] // figment::Jail's closure signature
fn an_empty_or_short_operator_token_variable_is_refused_naming_it() {
    for (value, length) in [("", 0), ("   ", 0), ("short-token-123", 15)] {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bridge.toml", MINIMAL)?;
            jail.set_env("BRIDGE_ACCESS__OPERATOR_TOKEN", value);
            let err = Settings::load(Path::new("bridge.toml")).unwrap_err();
            assert!(
                matches!(&err, ConfigError::WeakOperatorToken { origin, length: l }
                    if origin == "BRIDGE_ACCESS__OPERATOR_TOKEN" && *l == length),
                "{value:?}: {err:?}"
            );
            let message = err.to_string();
            assert!(
                message.contains("BRIDGE_ACCESS__OPERATOR_TOKEN"),
                "{message}"
            );
            assert!(message.contains("at least 16"), "{message}");
            assert!(message.contains("openssl rand -hex 16"), "{message}");
            if !value.trim().is_empty() {
                assert!(
                    !message.contains(value),
                    "the token is not echoed: {message}"
                );
            }
            Ok(())
        });
    }
    figment::Jail::expect_with(|jail| {
        jail.create_file("bridge.toml", MINIMAL)?;
        jail.set_env("BRIDGE_ACCESS__OPERATOR_TOKEN", "exactly-16-chars");
        let settings = Settings::load(Path::new("bridge.toml")).map_err(|e| e.to_string())?;
        assert!(
            settings.access.operator_token.is_some(),
            "16 characters are enough"
        );
        Ok(())
    });
}

#[test]
fn an_empty_or_short_operator_token_file_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    for (text, length) in [("", 0), (" \n\t\n", 0), ("op-token\n", 8)] {
        let file = write(&dir, "operator-token", text);
        let path = write(
            &dir,
            "bridge.toml",
            &format!(
                "{MINIMAL}\n[access]\noperator_token_file = {:?}\n",
                file.display().to_string()
            ),
        );
        let err = load_alone(&path).unwrap_err();
        assert!(
            matches!(&err, ConfigError::WeakOperatorToken { length: l, .. } if *l == length),
            "{text:?}: {err:?}"
        );
        let message = err.to_string();
        assert!(message.contains(&file.display().to_string()), "{message}");
        assert!(
            message.contains("`access.operator_token_file`"),
            "{message}"
        );
        assert!(message.contains("openssl rand -hex 16"), "{message}");
    }
}

/// The constructors the tests and benchmarks start from give exactly what a
/// `bridge.toml` without the optional keys gives.
#[test]
fn constructors_give_the_toml_defaults() {
    let loaded = load_text(MINIMAL).unwrap();
    let jira = JiraSettings {
        email: loaded.jira.email.clone(),
        ..JiraSettings::new(JiraFlavour::Cloud, loaded.jira.base_url.clone())
    };
    assert_eq!(format!("{jira:?}"), format!("{:?}", loaded.jira));
    let testmanager = TestManagerSettings::new(loaded.testmanager.base_url.clone(), "abc");
    assert_eq!(
        format!("{testmanager:?}"),
        format!("{:?}", loaded.testmanager)
    );
}
