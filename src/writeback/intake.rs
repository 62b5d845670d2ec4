//! Taking in a Jira webhook delivery: verify it, drop Jira's duplicates, and
//! queue the issue it names — nothing more. The worker re-reads the issue
//! from Jira, so a delivery's own values never reach Test Manager and the
//! order in which Jira delivers does not matter.

use super::delivery::{DeliveryError, UnverifiedDelivery, WebhookSecrets};
use super::hint::JiraHint;
use crate::ledger::{LedgerError, WritebackLedger};
use crate::metrics;
use crate::worker_signal::Signal;
use chrono::Utc;
use std::sync::Arc;

/// What became of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    /// The issue is queued to be written.
    Queued,
    /// Jira sent this delivery before (same `X-Atlassian-Webhook-Identifier`).
    Duplicate,
    /// Nothing to write, and why (another event, another field, not a bridge issue).
    Ignored(&'static str),
}

impl Receipt {
    /// The metric label, also the answer's `status`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Duplicate => "duplicate",
            Self::Ignored(_) => "ignored",
        }
    }
}

/// Why a delivery was not taken in.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// Not authentic, not configured, or unreadable.
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
    /// The ledger is unavailable: Jira should deliver again later.
    #[error("the ledger is unavailable: {0}")]
    Ledger(#[from] LedgerError),
}

/// The Jira webhook intake.
pub struct WebhookIntake {
    /// The secrets deliveries are verified with.
    pub secrets: WebhookSecrets,
    /// Deliveries seen, and the queue.
    pub ledger: Arc<dyn WritebackLedger>,
    /// Wakes the worker when an issue was queued.
    pub signal: Arc<Signal>,
}

impl WebhookIntake {
    /// Verifies `delivery` before reading it, then queues the issue it names
    /// if the issue is one the bridge created and the event may change its
    /// defect.
    pub async fn receive(&self, delivery: UnverifiedDelivery) -> Result<Receipt, IntakeError> {
        let verified = delivery.verify(&self.secrets).inspect_err(|e| {
            if e.is_unauthenticated() {
                metrics::writeback_delivery("unauthenticated");
            }
        })?;
        let hint = JiraHint::parse(&verified)?;
        let receipt = self.take(&hint, verified.identifier()).await?;
        if let Receipt::Ignored(why) = &receipt {
            tracing::debug!(issue = %hint.issue_key, why, "Jira webhook delivery ignored");
        }
        metrics::writeback_delivery(receipt.as_str());
        Ok(receipt)
    }

    async fn take(
        &self,
        hint: &JiraHint,
        identifier: Option<&str>,
    ) -> Result<Receipt, IntakeError> {
        if !hint.may_change_defect() {
            return Ok(Receipt::Ignored(
                "the event changes neither status, priority, resolution nor existence",
            ));
        }
        if self.ledger.targets(&hint.issue_key).await?.is_empty() {
            return Ok(Receipt::Ignored("not an issue the bridge created"));
        }
        if let Some(id) = identifier {
            if self.ledger.seen_delivery(id).await? {
                return Ok(Receipt::Duplicate);
            }
        }
        let now = Utc::now();
        self.ledger
            .enqueue(&hint.issue_key, hint.updated, now)
            .await?;
        // Recorded only once the issue is queued: a failure before this answers 503 and
        // Jira's redelivery is taken in. Two copies racing past the check both queue
        // the same row, which is harmless.
        if let Some(id) = identifier {
            self.ledger.first_delivery(id, now).await?;
        }
        self.signal.wake();
        Ok(Receipt::Queued)
    }
}
