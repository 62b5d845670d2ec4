//! Operator commands: `check` (is the configuration right?) and `preview`
//! (what would be sent to Jira for this failure?).
//!
//! Both read the same settings and mappings as `serve` and talk to the
//! upstreams through the same adapters, but change nothing anywhere.

pub mod check;
pub mod preview;
