//! Why the service could not start.

use crate::ledger::LedgerError;
use crate::servable::NotServable;

/// Why the service could not start. Each message says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The configuration is incomplete.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The mapping files cannot be served as they are.
    #[error("mapping files are invalid:\n{}", list(.0))]
    Mappings(Vec<NotServable>),
    /// A claim could be taken over while its create call is still running.
    #[error("{relation}; as configured a slow create could be taken over and duplicated")]
    StaleBeforeTimeout {
        /// The relation between the settings, with their values ([`crate::defects::CrashWindow`]).
        relation: String,
    },
    /// The outbound adapters could not be built.
    #[error(transparent)]
    Adapters(#[from] super::adapters::AdapterError),
    /// The ledger could not be opened.
    #[error("cannot open the ledger at store.url: {0}")]
    Ledger(#[from] LedgerError),
    /// The listener (or a signal handler) could not be set up.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// Address from `server.listen`, or the handler's name.
        address: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The TLS certificate or key (`server.tls_cert`, `server.tls_key`) cannot be used.
    #[error("TLS certificate {cert} with key {key}: {problem}")]
    Tls {
        /// The certificate file, as configured.
        cert: String,
        /// The key file, as configured.
        key: String,
        /// What is wrong with them.
        problem: String,
    },
}

fn list(problems: &[NotServable]) -> String {
    problems
        .iter()
        .map(|e| format!("  - {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}
