//! The tasks that run beside the server: readiness probes, mapping reloads,
//! metrics upkeep and the evidence worker — started together, stopped together.

use super::error::StartupError;
use super::reload::Reloader;
use super::wiring::Wiring;
use crate::evidence::worker::{EvidenceWorker, Signal};
use crate::http::health::Readiness;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// The running background tasks.
pub struct Background {
    tasks: Vec<JoinHandle<()>>,
    evidence_signal: Arc<Signal>,
    evidence_worker: Option<JoinHandle<()>>,
}

impl Background {
    /// Starts every background task `wiring.settings` asks for.
    pub fn start(
        wiring: &Wiring,
        readiness: Arc<Readiness>,
        metrics: PrometheusHandle,
        evidence_signal: Arc<Signal>,
    ) -> Result<Self, StartupError> {
        let settings = &wiring.settings;
        let mut tasks = vec![super::readiness::spawn_prober(
            readiness,
            wiring.ledger.clone(),
            wiring.tracker.clone(),
            wiring.testmanager.clone(),
            wiring.probe_interval(),
        )];
        let reloader = Arc::new(Reloader {
            dir: settings.mappings.dir.clone(),
            projects: wiring.projects.clone(),
            tracker: wiring.tracker.clone(),
            verify: settings.jira.verify_on_start,
            auth: settings.auth.clone(),
        });
        #[cfg(unix)]
        tasks.push(
            super::reload::spawn_on_sighup(reloader.clone()).map_err(|source| {
                StartupError::Bind {
                    address: "SIGHUP handler".into(),
                    source,
                }
            })?,
        );
        if settings.mappings.watch_secs > 0 {
            tasks.push(super::reload::spawn_watcher(
                reloader,
                Duration::from_secs(settings.mappings.watch_secs),
            ));
        }
        tasks.push(spawn_metrics_upkeep(metrics));
        let evidence_worker = settings.evidence.worker.then(|| {
            EvidenceWorker {
                ledger: wiring.ledger.clone(),
                testmanager: wiring.testmanager.clone(),
                tracker: wiring.tracker.clone(),
                projects: wiring.projects.clone(),
                settings: settings.evidence.clone(),
                retry: crate::outbound::RetryPolicy::from_settings(&settings.outbound),
                signal: evidence_signal.clone(),
            }
            .spawn()
        });
        Ok(Self {
            tasks,
            evidence_signal,
            evidence_worker,
        })
    }

    /// Aborts the periodic tasks and stops the evidence worker, waiting up to
    /// 5 s for it to put back an upload in progress.
    pub async fn stop(self) {
        for task in &self.tasks {
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
    }
}

/// Histograms keep raw samples until drained: drain them even when nobody scrapes.
fn spawn_metrics_upkeep(handle: PrometheusHandle) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_secs(5));
        loop {
            ticks.tick().await;
            handle.run_upkeep();
        }
    })
}
