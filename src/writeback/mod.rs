//! Write-back: Jira's status and priority kept current on Test Manager's defects.
//!
//! The third use case (after [`crate::defects`] and [`crate::kpis`]). When a Jira issue
//! the bridge created changes status, priority or resolution, or is deleted, the Test
//! Manager defect of its result is updated to match. Two inputs feed it, and neither is
//! trusted for the values themselves: a Jira webhook or a reconcile poll only says *which*
//! issue may have changed; the issue is always re-read from Jira and what Jira says now is
//! written, newest `updated` wins.
//!
//! ```text
//! Jira webhook --> intake: verify, dedupe, queue the issue --+
//! reconcile poller: changed issues since the watermark ----+-> writer: rules, newest wins,
//! worker: lease a queued issue, re-read it from Jira ------+   PATCH the defect, KPIs refresh
//! ```
//!
//! Files:
//! - [`delivery`]: a Jira webhook delivery's authenticity (HMAC-SHA256 signature or a
//!   secret in the URL path). A body is only ever parsed after it is verified.
//! - [`hint`]: a verified delivery's body read into a [`hint::JiraHint`] (which issue,
//!   which event, which fields changed).
//! - [`intake`]: a delivery in, the issue queued (or a duplicate dropped).
//! - [`writer`]: one issue state written to the defects of its results.
//! - [`worker`]: the queue worker (re-read, write, retry with backoff).
//! - [`keep_lease`]: renews a job's lease while it is worked on.
//! - [`reconcile`]: the poller and the slower sweep.
//! - [`refresh`]: how the rest of the service hears that defects changed.
//! - [`error`]: the [`WritebackError`] type.
//!
//! How Jira values become Test Manager values is per mapping
//! ([`crate::mapping::writeback`]); the global settings are
//! [`crate::config::WritebackSettings`].

pub mod delivery;
pub mod error;
pub mod hint;
pub mod intake;
pub mod keep_lease;
pub mod reconcile;
pub mod refresh;
pub mod worker;
pub mod writer;

pub use delivery::{
    signature_header, DeliveryError, UnverifiedDelivery, VerifiedDelivery, WebhookSecrets,
};
pub use error::WritebackError;
pub use hint::{HintEvent, JiraHint};
pub use intake::{IntakeError, Receipt, WebhookIntake};
pub use reconcile::Reconciler;
pub use refresh::DefectsChanged;
pub use worker::WritebackWorker;
pub use writer::{DefectWriter, Seen, WriteOutcome};
