//! Building the use cases the routes and background tasks call, from the shared wiring.

use super::wiring::Wiring;
use crate::defects::{CrashWindow, CreateDefect};
use crate::kpis::DefectKpis;
use crate::worker_signal::Signal;
use crate::writeback::{DefectWriter, DefectsChanged, WebhookIntake, WebhookSecrets};
use std::sync::Arc;
use uuid::Uuid;

/// The signals the queue workers listen to.
#[derive(Clone, Default)]
pub struct Signals {
    /// The evidence upload worker's.
    pub evidence: Arc<Signal>,
    /// The write-back worker's (and the reconcile poller's stop).
    pub writeback: Arc<Signal>,
}

/// The use cases behind the routes and the background tasks.
pub struct UseCases {
    /// Create Defect (and its preview).
    pub create_defect: Arc<CreateDefect>,
    /// The dashboard's defect counts.
    pub kpis: Arc<DefectKpis>,
    /// Writes Jira's state to Test Manager defects.
    pub writer: Arc<DefectWriter>,
    /// Takes in Jira's webhooks; `None` when write-back is off.
    pub intake: Option<Arc<WebhookIntake>>,
}

impl UseCases {
    /// Builds every use case over `wiring`; they wake the workers through `signals`.
    pub fn build(wiring: &Wiring, signals: &Signals) -> Self {
        let settings = &wiring.settings;
        let kpis = Arc::new(DefectKpis::new(
            wiring.tracker.clone(),
            wiring.projects.clone(),
            settings.kpis.clone(),
        ));
        let create_defect = Arc::new(
            CreateDefect::new(
                wiring.ledger.clone(),
                wiring.evidence.clone(),
                wiring.testmanager.clone(),
                wiring.tracker.clone(),
                wiring.projects.clone(),
                settings.defects.clone(),
                CrashWindow::from_settings(settings),
            )
            .with_evidence_signal(signals.evidence.clone())
            .with_defect_ids(wiring.writeback.clone()),
        );
        let writer = Arc::new(DefectWriter {
            ledger: wiring.writeback.clone(),
            testmanager: wiring.testmanager.clone(),
            projects: wiring.projects.clone(),
            changed: Arc::new(KpiRefresh(kpis.clone())),
        });
        let intake = settings.writeback.enabled.then(|| {
            Arc::new(WebhookIntake {
                secrets: WebhookSecrets::from_settings(&settings.writeback),
                ledger: wiring.writeback.clone(),
                signal: signals.writeback.clone(),
            })
        });
        Self {
            create_defect,
            kpis,
            writer,
            intake,
        }
    }
}

/// Write-back's changes reach the dashboard: the project's cached counts are dropped.
struct KpiRefresh(Arc<DefectKpis>);

#[async_trait::async_trait]
impl DefectsChanged for KpiRefresh {
    async fn defects_changed(&self, project_id: Uuid) {
        self.0.refresh(project_id).await;
    }
}
