//! Write-back: Jira's status and priority kept current on Test Manager's defects.
//!
//! The third use case (after [`crate::defects`] and [`crate::kpis`]). When a Jira issue
//! the bridge created changes status, priority or resolution, or is deleted, the Test
//! Manager defect of its result is updated to match. Two inputs feed it, and neither is
//! trusted for the values themselves: a Jira webhook or a reconcile poll only says *which*
//! issue may have changed; the issue is always re-read from Jira and what Jira says now is
//! written, newest `updated` wins.
//!
//! This module owns the inbound edge of that flow:
//! - [`delivery`]: a Jira webhook delivery's authenticity (HMAC-SHA256 signature or a
//!   secret in the URL path). A body is only ever parsed after it is verified.
//! - [`hint`]: a verified delivery's body read into a [`hint::JiraHint`] (which issue,
//!   which event, which fields changed).
//!
//! How Jira values become Test Manager values is per mapping
//! ([`crate::mapping::writeback`]); the global settings are
//! [`crate::config::WritebackSettings`].

pub mod delivery;
pub mod hint;

pub use delivery::{DeliveryError, UnverifiedDelivery, VerifiedDelivery, WebhookSecrets};
pub use hint::{HintEvent, JiraHint};
