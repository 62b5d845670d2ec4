//! Wiring: settings in, a bound and running server out.
//!
//! `Application::build` loads and checks the mappings, builds the adapters and
//! the use cases, opens the ledger and binds the listener (port 0 works and
//! `port()` tells the real one, which the tests use).

use crate::config::Settings;
use crate::defects::CreateDefect;
use crate::http::auth::WebhookAuth;
use crate::http::health::ReadyState;
use crate::http::hooks::HookState;
use crate::http::metrics_route::MetricsState;
use crate::kpis::DefectKpis;
use crate::ledger::{self, Ledger, LedgerError};
use crate::mapping::{MappingError, Projects, ProjectsHandle};
use crate::readiness::Readiness;
use crate::reload::Reloader;
use crate::tracker::{DefectTracker, TargetSpec, TrackerError};
use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

/// Why the service could not start. Each message says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The configuration is incomplete.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// One or more mapping files are wrong.
    #[error("mapping files are invalid:\n{}", list(.0))]
    Mappings(Vec<MappingError>),
    /// A route has no webhook secret and unauthenticated calls are not allowed.
    #[error("project route `{route}` has no webhook secret: set {} (or a file in auth.secrets_dir), or set auth.allow_unauthenticated = true", crate::config::AuthSettings::secret_variable(.route))]
    NoSecret {
        /// The route.
        route: String,
    },
    /// A claim could be taken over while its create call is still running.
    #[error("defects.claim_stale_after_secs must be longer than jira.timeout_ms plus outbound.total_budget_ms, or a slow create could be taken over and duplicated")]
    StaleBeforeTimeout,
    /// The outbound adapters could not be built.
    #[error(transparent)]
    Adapters(#[from] crate::adapters::AdapterError),
    /// The ledger could not be opened.
    #[error("cannot open the ledger at store.url: {0}")]
    Ledger(#[from] LedgerError),
    /// The listener could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// Address from `server.listen`.
        address: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

fn list(errors: &[MappingError]) -> String {
    errors
        .iter()
        .map(|e| format!("  - {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A built, bound, not yet running service.
pub struct Application {
    port: u16,
    server: Server,
    ledger: Arc<dyn Ledger>,
    background: Vec<tokio::task::JoinHandle<()>>,
    evidence_signal: Arc<crate::evidence::worker::Signal>,
    evidence_worker: Option<tokio::task::JoinHandle<()>>,
}

impl Application {
    /// Builds everything `settings` describes and binds the listener.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        settings.require_secrets()?;
        let projects =
            Projects::load_dir(&settings.mappings.dir).map_err(StartupError::Mappings)?;
        if projects.is_empty() {
            tracing::warn!(dir = %settings.mappings.dir.display(), "no mapping files found: every webhook call will answer 404");
        }
        let auth = WebhookAuth::new(
            settings.auth.secrets.clone(),
            settings.auth.allow_unauthenticated,
            settings.auth.header.clone(),
        );
        for mapping in projects.all() {
            if !settings.auth.serves(&mapping.route) {
                return Err(StartupError::NoSecret {
                    route: mapping.route.clone(),
                });
            }
        }

        let jira = &settings.jira;
        // A create may be retried (429) within the outbound budget, each attempt up to the timeout.
        let longest_create = Duration::from_millis(jira.timeout_ms)
            + Duration::from_millis(settings.outbound.total_budget_ms);
        if settings.defects.claim_stale_after() <= longest_create {
            return Err(StartupError::StaleBeforeTimeout);
        }
        let adapters = crate::adapters::build(&settings)?;
        let (tracker, testmanager) = (adapters.tracker, adapters.testmanager);
        if jira.verify_on_start {
            verify_mappings(tracker.as_ref(), &projects).await?;
        }

        let ledger::Stores {
            results: ledger,
            evidence,
        } = ledger::connect(&settings.store.url, settings.store.max_connections).await?;
        let projects = ProjectsHandle::new(projects);
        let kpis = Arc::new(DefectKpis::new(
            tracker.clone(),
            projects.clone(),
            settings.kpis.clone(),
        ));
        let readiness = Arc::new(Readiness::default());
        let probe_every = Duration::from_secs(settings.server.probe_interval_secs.max(1));
        let mut background = vec![crate::readiness::spawn_prober(
            readiness.clone(),
            ledger.clone(),
            tracker.clone(),
            testmanager.clone(),
            probe_every,
        )];
        let reloader = Arc::new(Reloader {
            dir: settings.mappings.dir.clone(),
            projects: projects.clone(),
            tracker: tracker.clone(),
            verify: settings.jira.verify_on_start,
            auth: settings.auth.clone(),
        });
        #[cfg(unix)]
        background.push(
            crate::reload::spawn_on_sighup(reloader.clone()).map_err(|source| {
                StartupError::Bind {
                    address: "SIGHUP handler".into(),
                    source,
                }
            })?,
        );
        if settings.mappings.watch_secs > 0 {
            background.push(crate::reload::spawn_watcher(
                reloader.clone(),
                Duration::from_secs(settings.mappings.watch_secs),
            ));
        }
        let ready = web::Data::new(ReadyState {
            readiness,
            bound: probe_every * 3,
        });
        let metrics_handle = crate::metrics::install();
        // Histograms keep raw samples until drained: drain them even when nobody scrapes.
        let upkeep = metrics_handle.clone();
        background.push(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_secs(5));
            loop {
                ticks.tick().await;
                upkeep.run_upkeep();
            }
        }));
        let metrics_state = web::Data::new(MetricsState {
            handle: metrics_handle,
            ledger: ledger.clone(),
        });
        let evidence_signal = Arc::new(crate::evidence::worker::Signal::default());
        let mut evidence_worker = None;
        if settings.evidence.worker {
            evidence_worker = Some(
                crate::evidence::worker::EvidenceWorker {
                    queue: evidence.clone(),
                    testmanager: testmanager.clone(),
                    tracker: tracker.clone(),
                    projects: projects.clone(),
                    settings: settings.evidence.clone(),
                    retry: crate::outbound::RetryPolicy::from_settings(&settings.outbound),
                    signal: evidence_signal.clone(),
                }
                .spawn(),
            );
        }
        let create_defect = Arc::new(
            CreateDefect::new(
                ledger.clone(),
                evidence,
                testmanager,
                tracker,
                projects,
                settings.defects.clone(),
                settings.defects.search_lag(settings.jira.flavour),
            )
            .with_evidence_signal(evidence_signal.clone()),
        );
        let hooks = web::Data::new(HookState {
            create_defect,
            kpis,
            auth,
            body_limit: settings.server.body_limit_bytes,
            creates: Arc::new(tokio::sync::Semaphore::new(
                settings.server.max_concurrent_creates.max(1),
            )),
        });

        let listener =
            TcpListener::bind(&settings.server.listen).map_err(|source| StartupError::Bind {
                address: settings.server.listen.clone(),
                source,
            })?;
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(crate::http::observe::record))
                .wrap(tracing_actix_web::TracingLogger::<
                    crate::http::request_span::RedactedRootSpan,
                >::new())
                .app_data(hooks.clone())
                .app_data(ready.clone())
                .app_data(metrics_state.clone())
                .configure(crate::http::configure)
                .default_service(web::to(crate::http::unmatched::default_service))
        })
        .client_request_timeout(Duration::from_millis(
            settings.server.client_request_timeout_ms,
        ))
        .client_disconnect_timeout(Duration::from_millis(
            settings.server.client_disconnect_timeout_ms,
        ))
        .keep_alive(match settings.server.keep_alive_secs {
            0 => actix_web::http::KeepAlive::Disabled,
            secs => actix_web::http::KeepAlive::Timeout(Duration::from_secs(secs)),
        })
        .shutdown_timeout(settings.server.shutdown_timeout_secs);
        if let Some(workers) = settings.server.workers {
            server = server.workers(workers);
        }
        let server = server
            .listen(listener)
            .map_err(|source| StartupError::Bind {
                address: settings.server.listen.clone(),
                source,
            })?
            .run();
        tracing::info!(port, "tm-defect-bridge listening");
        Ok(Self {
            port,
            server,
            ledger,
            background,
            evidence_signal,
            evidence_worker,
        })
    }

    /// The signal that wakes or stops the evidence worker. Stopping abandons an upload in
    /// progress and puts its row back in the queue; [`Self::run_until_stopped`] stops it.
    pub fn evidence_signal(&self) -> Arc<crate::evidence::worker::Signal> {
        self.evidence_signal.clone()
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT/SIGTERM, then stops accepting, lets in-flight
    /// requests finish (within `server.shutdown_timeout_secs`) and closes the ledger.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        for task in &self.background {
            task.abort();
        }
        self.evidence_signal.stop();
        if let Some(worker) = self.evidence_worker {
            if tokio::time::timeout(Duration::from_secs(5), worker)
                .await
                .is_err()
            {
                tracing::warn!("the evidence worker did not stop in time");
            }
        }
        tracing::info!("server stopped; closing the ledger");
        self.ledger.close().await;
        result
    }
}

/// Checks every mapping against Jira. Problems stop start-up; an unreachable
/// Jira only warns (issues are then checked by Jira when created).
pub async fn verify_mappings(
    tracker: &dyn DefectTracker,
    projects: &Projects,
) -> Result<(), StartupError> {
    let mut problems = Vec::new();
    for mapping in projects.all() {
        let spec = TargetSpec {
            file: mapping.source.display().to_string(),
            project_key: mapping.jira_project.clone(),
            issue_type: mapping.issue_type.clone(),
            priorities: mapping.priorities.clone(),
            kpi_priorities: mapping
                .kpis
                .critical_priorities
                .iter()
                .chain(&mapping.kpis.moderate_priorities)
                .cloned()
                .collect(),
            components: mapping.components.clone(),
            custom_fields: mapping.custom_field_names.clone(),
        };
        match tracker.verify_target(&spec).await {
            Ok(found) => problems.extend(found.into_iter().map(|p| MappingError::UnknownInJira {
                file: spec.file.clone(),
                key: p.key,
                message: p.message,
            })),
            Err(e @ (TrackerError::Auth { .. } | TrackerError::Rejected { .. })) => {
                problems.push(MappingError::UnknownInJira {
                    file: spec.file.clone(),
                    key: "jira".into(),
                    message: format!("cannot be checked: {e}"),
                })
            }
            Err(e) => {
                tracing::warn!(file = %spec.file, error = %e, "could not verify the mapping against Jira now; continuing");
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(StartupError::Mappings(problems))
    }
}
