//! The composition root: settings in, a bound and running service out.
//!
//! This is the only place that knows every layer. It builds the adapters,
//! checks that the mappings can be served, opens the ledger, builds the use
//! cases, starts the background tasks and binds the listener (port 0 works,
//! and [`Application::port`] tells the real one, which the tests use).
//!
//! Files:
//! - `mod.rs` (this file): [`Application`].
//! - `wiring.rs`: the settings, ports and mappings every part is built from.
//! - `error.rs`: [`StartupError`].
//! - `adapters.rs`: the Jira and Test Manager adapters with the outbound HTTP policy.
//! - `use_cases.rs`: Create Defect, the KPIs and write-back over the wiring.
//! - `background.rs`: readiness probes, mapping reloads, metrics upkeep, the evidence
//!   worker, the write-back worker and reconcile poller.
//! - `readiness.rs`: the readiness prober behind `/readyz` and the operator's page.
//! - `reload.rs`: mapping reload on SIGHUP or change.
//! - `server.rs`: the actix-web server.
//! - `tls.rs`: HTTPS from `server.tls_cert`/`server.tls_key`, reloaded on SIGHUP or change.

pub mod adapters;
mod background;
mod error;
pub mod readiness;
pub mod reload;
mod server;
pub mod tls;
mod use_cases;
mod wiring;

pub use error::StartupError;

use crate::config::Settings;
use crate::http::access::AccessPolicy;
use crate::http::auth::WebhookAuth;
use crate::http::health::ReadyState;
use crate::http::hooks::HookState;
use crate::http::jira_webhook::JiraWebhookState;
use crate::http::metrics_route::MetricsState;
use crate::http::operator::OperatorState;
use crate::ledger::Ledger;
use crate::status::journal::Journal;
use crate::status::readiness::Readiness;
use crate::status::BridgeStatus;
use crate::worker_signal::Signal;
use actix_web::dev::Server;
use actix_web::web;
use background::Background;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use use_cases::{Signals, UseCases};
use wiring::Wiring;

/// A built, bound, not yet running service.
pub struct Application {
    port: u16,
    server: Server,
    ledger: Arc<dyn Ledger>,
    background: Background,
    evidence_signal: Arc<Signal>,
    tls: Option<Arc<tls::CertificateReloader>>,
    tls_tasks: Vec<JoinHandle<()>>,
}

impl Application {
    /// Builds everything `settings` describes and binds the listener.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let wiring = Wiring::build(settings).await?;
        let readiness = Arc::new(Readiness::default());
        let metrics = crate::metrics::install();
        let signals = Signals::default();
        let use_cases = UseCases::build(&wiring, &signals);
        let background = Background::start(
            &wiring,
            readiness.clone(),
            metrics.clone(),
            &use_cases,
            signals.clone(),
        )?;
        let jira = web::Data::new(JiraWebhookState {
            intake: use_cases.intake.clone(),
            body_limit: wiring.settings.writeback.webhook_body_limit_bytes,
        });
        let ready_within = wiring.probe_interval() * 3;
        let journal = Arc::new(Journal::default());
        let status = BridgeStatus {
            ledger: wiring.ledger.clone(),
            evidence: wiring.evidence.clone(),
            projects: wiring.projects.clone(),
            kpis: use_cases.kpis.clone(),
            readiness: readiness.clone(),
            ready_within,
            checks: wiring.checks.clone(),
            journal: journal.clone(),
        };
        let state = server::RouteState {
            hooks: web::Data::new(hook_state(&wiring, use_cases, journal)),
            ready: web::Data::new(ReadyState {
                readiness: readiness.clone(),
                bound: ready_within,
            }),
            operator: web::Data::new(OperatorState {
                status: Arc::new(status),
            }),
            metrics: web::Data::new(MetricsState {
                handle: metrics,
                ledger: wiring.ledger.clone(),
                writeback: wiring.writeback.clone(),
                evidence: wiring.evidence.clone(),
                readiness,
                ready_within,
            }),
            jira,
            access: web::Data::new(AccessPolicy {
                settings: wiring.settings.access.clone(),
            }),
        };
        let tls = tls::from_settings(&wiring.settings.server)?;
        let (config, reloader) = tls.map(|t| (t.config, t.reloader)).unzip();
        let tls_tasks = match &reloader {
            Some(reloader) => spawn_tls_reloads(reloader, wiring.settings.server.tls_watch_secs)?,
            None => Vec::new(),
        };
        let (server, port) = server::start(&wiring.settings.server, state, config)?;
        let scheme = if reloader.is_some() { "https" } else { "http" };
        tracing::info!(port, scheme, "tm-defect-bridge listening");
        Ok(Self {
            port,
            server,
            ledger: wiring.ledger,
            background,
            evidence_signal: signals.evidence,
            tls: reloader,
            tls_tasks,
        })
    }

    /// The reloader of the HTTPS certificate, when the bridge serves HTTPS
    /// (SIGHUP and the file watcher call it; a test may call it directly).
    pub fn tls(&self) -> Option<Arc<tls::CertificateReloader>> {
        self.tls.clone()
    }

    /// The signal the evidence worker listens to; a test may `stop()` it to
    /// abandon an upload in progress (its row goes back to the queue). Stopped
    /// anyway by [`Self::run_until_stopped`].
    pub fn evidence_signal(&self) -> Arc<Signal> {
        self.evidence_signal.clone()
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT/SIGTERM, then stops accepting, lets in-flight
    /// requests finish (within `server.shutdown_timeout_secs`), stops the
    /// background tasks and closes the ledger.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        for task in &self.tls_tasks {
            task.abort();
        }
        self.background.stop().await;
        tracing::info!("server stopped; closing the ledger");
        self.ledger.close().await;
        result
    }
}

/// Reloads the certificate on SIGHUP and, unless `watch_secs` is 0, when its files change.
fn spawn_tls_reloads(
    reloader: &Arc<tls::CertificateReloader>,
    watch_secs: u64,
) -> Result<Vec<JoinHandle<()>>, StartupError> {
    let mut tasks = Vec::new();
    #[cfg(unix)]
    tasks.push(
        tls::spawn_on_sighup(reloader.clone()).map_err(|source| StartupError::Bind {
            address: "SIGHUP handler".into(),
            source,
        })?,
    );
    if watch_secs > 0 {
        tasks.push(tls::spawn_watcher(
            reloader.clone(),
            Duration::from_secs(watch_secs),
        ));
    }
    Ok(tasks)
}

fn hook_state(wiring: &Wiring, use_cases: UseCases, journal: Arc<Journal>) -> HookState {
    let settings = &wiring.settings;
    HookState {
        create_defect: use_cases.create_defect,
        kpis: use_cases.kpis,
        auth: WebhookAuth::new(
            settings.auth.secrets.clone(),
            settings.auth.allow_unauthenticated,
            settings.auth.header.clone(),
        ),
        body_limit: settings.server.body_limit_bytes,
        creates: Arc::new(tokio::sync::Semaphore::new(
            settings.server.max_concurrent_creates.max(1),
        )),
        journal,
    }
}
