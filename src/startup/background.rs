//! The tasks that run beside the server: readiness probes, mapping reloads,
//! metrics upkeep, the evidence worker, and write-back's worker and reconcile
//! poller — started together, stopped together.

use super::error::StartupError;
use super::reload::Reloader;
use super::use_cases::{Signals, UseCases};
use super::wiring::Wiring;
use crate::evidence::worker::EvidenceWorker;
use crate::status::readiness::Readiness;
use crate::writeback::{Reconciler, WritebackWorker};
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// The running background tasks.
pub struct Background {
    tasks: Vec<JoinHandle<()>>,
    signals: Signals,
    /// Tasks that put their work back in the queue when stopped: waited for.
    workers: Vec<(&'static str, JoinHandle<()>)>,
}

impl Background {
    /// Starts every background task `wiring.settings` asks for.
    pub fn start(
        wiring: &Wiring,
        readiness: Arc<Readiness>,
        metrics: PrometheusHandle,
        use_cases: &UseCases,
        signals: Signals,
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
            checks: wiring.checks.clone(),
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
                wiring.mapping_files.clone(),
            ));
        }
        tasks.push(spawn_metrics_upkeep(metrics));
        let mut workers = Vec::new();
        if settings.evidence.worker {
            let worker = EvidenceWorker {
                queue: wiring.evidence.clone(),
                testmanager: wiring.testmanager.clone(),
                tracker: wiring.tracker.clone(),
                projects: wiring.projects.clone(),
                settings: settings.evidence.clone(),
                retry: crate::outbound::RetryPolicy::from_settings(&settings.outbound),
                signal: signals.evidence.clone(),
            };
            workers.push(("evidence worker", worker.spawn()));
        }
        if settings.writeback.enabled {
            let worker = WritebackWorker {
                ledger: wiring.writeback.clone(),
                tracker: wiring.tracker.clone(),
                writer: use_cases.writer.clone(),
                lease: settings.writeback.lease(),
                signal: signals.writeback.clone(),
            };
            workers.push(("write-back worker", worker.spawn()));
            let reconciler = Reconciler {
                ledger: wiring.writeback.clone(),
                tracker: wiring.tracker.clone(),
                writer: use_cases.writer.clone(),
                projects: wiring.projects.clone(),
                settings: settings.writeback.clone(),
                signal: signals.writeback.clone(),
                owner: format!("reconcile-{}", uuid::Uuid::new_v4().simple()),
            };
            workers.push(("write-back poller", reconciler.spawn()));
        }
        Ok(Self {
            tasks,
            signals,
            workers,
        })
    }

    /// Aborts the periodic tasks and stops the workers, waiting up to 5 s for
    /// each to put back the work it holds.
    pub async fn stop(self) {
        for task in &self.tasks {
            task.abort();
        }
        self.signals.evidence.stop();
        self.signals.writeback.stop();
        for (name, worker) in self.workers {
            if tokio::time::timeout(Duration::from_secs(5), worker)
                .await
                .is_err()
            {
                tracing::warn!(task = name, "a background worker did not stop in time");
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
