//! Service settings: one TOML file plus `BRIDGE_<SECTION>__<KEY>` environment overrides.
//!
//! This module owns the shape of `bridge.toml`, its defaults, and where secrets
//! come from. Secrets (Jira token, Test Manager client secret, webhook secrets,
//! the operator page's token) are read from the environment or from files named
//! in the TOML, never from the TOML itself, and are held as [`SecretString`] so
//! they cannot be printed by accident. Relative paths are resolved against the working directory.

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use secrecy::SecretString;
use serde::Deserialize;
use std::path::Path;

mod networks;
mod operator_token;
mod sections;
pub use networks::Networks;
pub use sections::*;

/// Why the settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file or an override has a wrong, missing or unknown key.
    #[error("configuration {path}: {message}")]
    Invalid {
        /// The configuration file being loaded.
        path: String,
        /// What is wrong, naming the key.
        message: String,
    },
    /// A secret was written into the TOML file instead of the environment or a file.
    #[error("configuration {path}: `{key}` is a secret and may not be written in the file; set {env} or `{key}_file` instead")]
    SecretInFile {
        /// The configuration file.
        path: String,
        /// The dotted key, e.g. `jira.token`.
        key: String,
        /// The environment variable to use instead.
        env: String,
    },
    /// A secret file named in the configuration could not be read.
    #[error("configuration: cannot read secret file {path} (named by `{key}`): {source}")]
    SecretFile {
        /// The dotted key naming the file.
        key: String,
        /// The file's path.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The operator page's token is empty or too short.
    #[error(
        "configuration: the operator token from {origin} has {length} characters; it needs at \
         least {min} (an empty or short token lets anyone guess their way onto the operator \
         page). Make one with `openssl rand -hex 16`, or unset it to leave the page to \
         `access.operations` or loopback",
        min = operator_token::MIN_CHARS
    )]
    WeakOperatorToken {
        /// Where the token came from: `BRIDGE_ACCESS__OPERATOR_TOKEN`, or the file and its key.
        origin: String,
        /// How many characters it has (whitespace around it not counted).
        length: usize,
    },
    /// A required secret is missing.
    #[error("configuration: `{key}` is required; set {env} or `{key}_file`")]
    MissingSecret {
        /// The dotted key, e.g. `jira.token`.
        key: String,
        /// The environment variable that can hold it.
        env: String,
    },
}

/// Everything `bridge.toml` configures.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The inbound HTTP server.
    #[serde(default)]
    pub server: ServerSettings,
    /// How Test Manager authenticates to the bridge.
    #[serde(default)]
    pub auth: AuthSettings,
    /// Which client networks may call which routes.
    #[serde(default)]
    pub access: AccessSettings,
    /// The Jira instance issues are created in.
    pub jira: JiraSettings,
    /// The Test Manager REST API the failure details are read from.
    pub testmanager: TestManagerSettings,
    /// The ledger store.
    #[serde(default)]
    pub store: StoreSettings,
    /// Where the per-project mapping files live.
    #[serde(default)]
    pub mappings: MappingsSettings,
    /// Create Defect behaviour.
    #[serde(default)]
    pub defects: DefectSettings,
    /// Defect KPIs for the Test Manager dashboard.
    #[serde(default)]
    pub kpis: KpiSettings,
    /// Retries and concurrency of the calls to Jira and Test Manager.
    #[serde(default)]
    pub outbound: OutboundSettings,
    /// The evidence upload worker.
    #[serde(default)]
    pub evidence: EvidenceSettings,
    /// Write-back of Jira's status and priority to Test Manager's defects.
    #[serde(default)]
    pub writeback: WritebackSettings,
}

/// Keys that hold secrets: they may come from the environment or a `_file`, never the TOML.
const SECRET_KEYS: [(&str, &str); 7] = [
    ("jira", "token"),
    ("access", "operator_token"),
    ("testmanager", "client_secret"),
    ("auth", "secrets"),
    ("writeback", "webhook_secret"),
    ("writeback", "webhook_secret_previous"),
    ("writeback", "webhook_path_secret"),
];

impl Settings {
    /// Loads `path`, applies `BRIDGE_*` environment overrides, and resolves secret files.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Invalid {
            path: shown.clone(),
            message: format!("cannot read the file: {e}"),
        })?;
        reject_secrets_in_file(&shown, &text)?;
        let figment = Figment::new()
            .merge(Toml::string(&text))
            // BRIDGE_CONFIG names the file (see the CLI), it is not a setting; secrets
            // are read raw below, since figment would parse `0042` as a number.
            .merge(
                Env::prefixed("BRIDGE_")
                    .filter(|key| key != "CONFIG" && !is_secret_variable(key.as_str()))
                    .split("__"),
            );
        let mut settings: Settings = figment.extract().map_err(|e| ConfigError::Invalid {
            path: shown.clone(),
            message: describe_figment_error(e),
        })?;
        settings.read_secret_variables()?;
        settings.resolve_secret_files()?;
        Ok(settings)
    }

    /// Reads the secrets given as environment variables, exactly as written.
    fn read_secret_variables(&mut self) -> Result<(), ConfigError> {
        for (name, value) in std::env::vars() {
            let Some(key) = name.strip_prefix("BRIDGE_") else {
                continue;
            };
            let secret = || SecretString::from(value.clone());
            match key.to_uppercase().as_str() {
                "JIRA__TOKEN" => self.jira.token = Some(secret()),
                "ACCESS__OPERATOR_TOKEN" => {
                    let token = operator_token::accept(name.clone(), secret())?;
                    self.access.operator_token = Some(token);
                }
                "TESTMANAGER__CLIENT_SECRET" => self.testmanager.client_secret = Some(secret()),
                "WRITEBACK__WEBHOOK_SECRET" => self.writeback.webhook_secret = Some(secret()),
                "WRITEBACK__WEBHOOK_SECRET_PREVIOUS" => {
                    self.writeback.webhook_secret_previous = Some(secret())
                }
                "WRITEBACK__WEBHOOK_PATH_SECRET" => {
                    self.writeback.webhook_path_secret = Some(secret())
                }
                upper => {
                    if let Some(route) = upper.strip_prefix("AUTH__SECRETS__") {
                        self.auth.secrets.insert(route.to_lowercase(), secret());
                    }
                }
            }
        }
        Ok(())
    }

    /// The secrets the service needs to run, or which one is missing.
    pub fn require_secrets(&self) -> Result<RequiredSecrets, ConfigError> {
        let jira_token = self
            .jira
            .token
            .clone()
            .ok_or_else(|| ConfigError::MissingSecret {
                key: "jira.token".into(),
                env: "BRIDGE_JIRA__TOKEN".into(),
            })?;
        let testmanager_client_secret =
            self.testmanager
                .client_secret
                .clone()
                .ok_or_else(|| ConfigError::MissingSecret {
                    key: "testmanager.client_secret".into(),
                    env: "BRIDGE_TESTMANAGER__CLIENT_SECRET".into(),
                })?;
        Ok(RequiredSecrets {
            jira_token,
            testmanager_client_secret,
        })
    }

    /// Reads the secrets named by `*_file` keys and `auth.secrets_dir`.
    pub fn resolve_secret_files(&mut self) -> Result<(), ConfigError> {
        if let Some(file) = &self.jira.token_file {
            self.jira.token = Some(read_secret("jira.token_file", file)?);
        }
        if let Some(file) = &self.access.operator_token_file {
            let key = "access.operator_token_file";
            let origin = format!("the file {} (named by `{key}`)", file.display());
            let token = operator_token::accept(origin, read_secret(key, file)?)?;
            self.access.operator_token = Some(token);
        }
        if let Some(file) = &self.testmanager.client_secret_file {
            self.testmanager.client_secret =
                Some(read_secret("testmanager.client_secret_file", file)?);
        }
        let writeback = &mut self.writeback;
        for (key, file, secret) in [
            (
                "writeback.webhook_secret_file",
                &writeback.webhook_secret_file,
                &mut writeback.webhook_secret,
            ),
            (
                "writeback.webhook_secret_previous_file",
                &writeback.webhook_secret_previous_file,
                &mut writeback.webhook_secret_previous,
            ),
            (
                "writeback.webhook_path_secret_file",
                &writeback.webhook_path_secret_file,
                &mut writeback.webhook_path_secret,
            ),
        ] {
            if let Some(file) = file {
                *secret = Some(read_secret(key, file)?);
            }
        }
        if let Some(dir) = &self.auth.secrets_dir {
            let entries = std::fs::read_dir(dir).map_err(|source| ConfigError::SecretFile {
                key: "auth.secrets_dir".into(),
                path: dir.display().to_string(),
                source,
            })?;
            for entry in entries.flatten() {
                let path = entry.path();
                let Some(route) = path.file_name().and_then(|n| n.to_str()) else {
                    continue;
                };
                if route.starts_with('.') || !path.is_file() {
                    continue;
                }
                let secret = read_secret("auth.secrets_dir", &path)?;
                self.auth.secrets.insert(route.to_lowercase(), secret);
            }
        }
        Ok(())
    }
}

/// Whether `key` (an environment variable name without `BRIDGE_`) holds a secret.
fn is_secret_variable(key: &str) -> bool {
    let upper = key.to_uppercase();
    upper == "JIRA__TOKEN"
        || upper == "ACCESS__OPERATOR_TOKEN"
        || upper == "TESTMANAGER__CLIENT_SECRET"
        || upper == "WRITEBACK__WEBHOOK_SECRET"
        || upper == "WRITEBACK__WEBHOOK_SECRET_PREVIOUS"
        || upper == "WRITEBACK__WEBHOOK_PATH_SECRET"
        || upper.starts_with("AUTH__SECRETS__")
}

/// The secrets without which the service cannot talk to its upstreams,
/// handed out by [`Settings::require_secrets`] once they are known to exist.
/// (`Debug` shows `SecretString`'s redaction, never a value.)
#[derive(Debug)]
pub struct RequiredSecrets {
    /// Jira's API token (Cloud) or personal access token (Data Center).
    pub jira_token: SecretString,
    /// The Test Manager External Application's client secret.
    pub testmanager_client_secret: SecretString,
}

fn read_secret(key: &str, path: &Path) -> Result<SecretString, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::SecretFile {
        key: key.into(),
        path: path.display().to_string(),
        source,
    })?;
    Ok(SecretString::from(text.trim().to_owned()))
}

fn reject_secrets_in_file(path: &str, text: &str) -> Result<(), ConfigError> {
    let Ok(table) = text.parse::<toml::Table>() else {
        // Syntax errors are reported by figment with more context.
        return Ok(());
    };
    for (section, key) in SECRET_KEYS {
        let present = table
            .get(section)
            .and_then(|s| s.as_table())
            .is_some_and(|s| s.contains_key(key));
        if present {
            return Err(ConfigError::SecretInFile {
                path: path.into(),
                key: format!("{section}.{key}"),
                env: format!("BRIDGE_{}__{}", section.to_uppercase(), key.to_uppercase()),
            });
        }
    }
    Ok(())
}

fn describe_figment_error(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|e| {
            let key = if e.path.is_empty() {
                String::new()
            } else {
                format!("key `{}`: ", e.path.join("."))
            };
            let source = match &e.metadata {
                Some(meta) if meta.name.contains("environment") => " (from the environment)",
                _ => "",
            };
            format!("{key}{}{source}", e.kind)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests;
