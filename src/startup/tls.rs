//! HTTPS served directly (rustls, TLS 1.2 and 1.3) from the PEM files named
//! by `server.tls_cert` and `server.tls_key`, reloaded on SIGHUP and when
//! the files change.
//!
//! The server's rustls configuration asks `CurrentCertificate` for the
//! certificate on every handshake, so a reload swaps the pair for new
//! connections only: open connections keep theirs and are never dropped. A
//! pair that cannot be used (unreadable, not PEM, key not matching the
//! certificate) is logged and the old pair stays.

use super::error::StartupError;
use crate::config::ServerSettings;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

/// The certificate handed to every new TLS connection.
#[derive(Debug)]
struct CurrentCertificate(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for CurrentCertificate {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.0
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        )
    }
}

/// The certificate and key files, and the certificate in force.
pub struct CertificateReloader {
    cert: PathBuf,
    key: PathBuf,
    provider: Arc<CryptoProvider>,
    current: Arc<CurrentCertificate>,
}

/// HTTPS as configured: the rustls configuration to serve with and the reloader of its certificate.
pub struct Tls {
    /// What the listener serves with.
    pub config: ServerConfig,
    /// Swaps the certificate for new connections.
    pub reloader: Arc<CertificateReloader>,
}

/// HTTPS when both `server.tls_cert` and `server.tls_key` are set, plain HTTP
/// when neither is; one without the other, or a pair that cannot be used, is an error.
pub fn from_settings(settings: &ServerSettings) -> Result<Option<Tls>, StartupError> {
    match (&settings.tls_cert, &settings.tls_key) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => CertificateReloader::load(cert, key).map(Some),
        (cert, key) => Err(StartupError::Tls {
            cert: shown(cert.as_deref()),
            key: shown(key.as_deref()),
            problem: "HTTPS needs both `server.tls_cert` and `server.tls_key`".into(),
        }),
    }
}

fn shown(path: Option<&Path>) -> String {
    path.map_or_else(|| "(not set)".into(), |p| p.display().to_string())
}

impl CertificateReloader {
    /// Loads the pair and builds the server configuration (TLS 1.2 and 1.3,
    /// ALPN `http/1.1`, no client certificates).
    pub fn load(cert: &Path, key: &Path) -> Result<Tls, StartupError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let first = certified_key(cert, key, &provider)?;
        let current = Arc::new(CurrentCertificate(RwLock::new(Arc::new(first))));
        let mut config = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| tls_error(cert, key, e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(current.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let reloader = Arc::new(Self {
            cert: cert.to_owned(),
            key: key.to_owned(),
            provider,
            current,
        });
        Ok(Tls { config, reloader })
    }

    /// Reads the files again and, if the pair can be used, serves it to new
    /// connections; otherwise the old pair stays and the problem is returned.
    pub fn reload(&self) -> Result<(), StartupError> {
        let fresh = certified_key(&self.cert, &self.key, &self.provider)?;
        *self
            .current
            .0
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(fresh);
        Ok(())
    }

    /// Reloads and logs the outcome.
    pub fn reload_and_log(&self, why: &str) {
        match self.reload() {
            Ok(()) => tracing::info!(why, "TLS certificate reloaded"),
            Err(problem) => tracing::error!(
                why,
                problem = %problem,
                "TLS certificate reload refused; the previous certificate stays in force"
            ),
        }
    }

    /// The files' modification times and sizes, to notice a change.
    fn fingerprint(&self) -> [Option<(SystemTime, u64)>; 2] {
        [&self.cert, &self.key].map(|path| {
            let meta = std::fs::metadata(path).ok()?;
            Some((meta.modified().ok()?, meta.len()))
        })
    }
}

fn certified_key(
    cert: &Path,
    key: &Path,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, StartupError> {
    let fail = |problem: String| tls_error(cert, key, problem);
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| fail(format!("cannot read the certificate chain: {e}")))?;
    if chain.is_empty() {
        return Err(fail("the certificate file holds no certificate".into()));
    }
    let private_key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| fail(format!("cannot read the private key: {e}")))?;
    CertifiedKey::from_der(chain, private_key, provider)
        .map_err(|e| fail(format!("the key does not fit the certificate: {e}")))
}

fn tls_error(cert: &Path, key: &Path, problem: String) -> StartupError {
    StartupError::Tls {
        cert: cert.display().to_string(),
        key: key.display().to_string(),
        problem,
    }
}

/// Reloads the certificate on every SIGHUP until aborted.
#[cfg(unix)]
pub fn spawn_on_sighup(
    reloader: Arc<CertificateReloader>,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    Ok(tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            reloader.reload_and_log("SIGHUP");
        }
    }))
}

/// Reloads whenever the files change (checked every `every`), until aborted.
/// Polls like the mapping watcher, so Kubernetes secret volumes (symlink swaps) work.
pub fn spawn_watcher(
    reloader: Arc<CertificateReloader>,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut seen = reloader.fingerprint();
        let mut ticks = tokio::time::interval(every);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let now = reloader.fingerprint();
            if now != seen {
                seen = now;
                reloader.reload_and_log("TLS files changed");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_pair(dir: &Path, name: &str) -> (PathBuf, PathBuf, Vec<u8>) {
        let generated = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let cert = dir.join(format!("{name}.crt"));
        let key = dir.join(format!("{name}.key"));
        std::fs::write(&cert, generated.cert.pem()).unwrap();
        std::fs::write(&key, generated.key_pair.serialize_pem()).unwrap();
        (cert, key, generated.cert.der().to_vec())
    }

    fn served(reloader: &CertificateReloader) -> Vec<u8> {
        let current = reloader.current.0.read().unwrap().clone();
        current.end_entity_cert().unwrap().to_vec()
    }

    #[test]
    fn a_reload_serves_the_new_pair_and_a_bad_pair_keeps_the_old() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key, first) = write_pair(dir.path(), "tls");
        let tls = CertificateReloader::load(&cert, &key).unwrap();
        assert_eq!(served(&tls.reloader), first);

        let (new_cert, new_key, second) = write_pair(dir.path(), "new");
        std::fs::copy(&new_cert, &cert).unwrap();
        std::fs::copy(&new_key, &key).unwrap();
        tls.reloader.reload().unwrap();
        assert_eq!(served(&tls.reloader), second);

        // A certificate with someone else's key is refused; the last good pair stays.
        let (other_cert, _, _) = write_pair(dir.path(), "other");
        std::fs::copy(&other_cert, &cert).unwrap();
        let refused = tls.reloader.reload().unwrap_err().to_string();
        assert!(refused.contains("does not fit"), "{refused}");
        assert_eq!(served(&tls.reloader), second);

        std::fs::write(&key, "not a key").unwrap();
        assert!(tls.reloader.reload().is_err());
        assert_eq!(served(&tls.reloader), second);
    }

    #[test]
    fn one_file_without_the_other_is_refused() {
        let settings = ServerSettings {
            tls_cert: Some("cert.pem".into()),
            ..Default::default()
        };
        let error = from_settings(&settings).err().unwrap().to_string();
        assert!(error.contains("server.tls_key"), "{error}");
        assert!(from_settings(&ServerSettings::default()).unwrap().is_none());
    }
}
