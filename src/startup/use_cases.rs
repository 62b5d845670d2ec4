//! Building the use cases the routes call, from the shared wiring.

use super::wiring::Wiring;
use crate::defects::CreateDefect;
use crate::evidence::worker::Signal;
use crate::kpis::DefectKpis;
use std::sync::Arc;

/// The use cases behind the routes.
pub struct UseCases {
    /// Create Defect (and its preview).
    pub create_defect: Arc<CreateDefect>,
    /// The dashboard's defect counts.
    pub kpis: Arc<DefectKpis>,
}

impl UseCases {
    /// Builds every use case over `wiring`; Create Defect wakes the evidence worker through `evidence_signal`.
    pub fn build(wiring: &Wiring, evidence_signal: Arc<Signal>) -> Self {
        let settings = &wiring.settings;
        let kpis = Arc::new(DefectKpis::new(
            wiring.tracker.clone(),
            wiring.projects.clone(),
            settings.kpis.clone(),
        ));
        let create_defect = Arc::new(
            CreateDefect::new(
                wiring.ledger.clone(),
                wiring.testmanager.clone(),
                wiring.tracker.clone(),
                wiring.projects.clone(),
                settings.defects.clone(),
                settings.defects.search_lag(settings.jira.flavour),
            )
            .with_evidence_signal(evidence_signal),
        );
        Self {
            create_defect,
            kpis,
        }
    }
}
