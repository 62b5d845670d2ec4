//! The commands behind the command line: `serve`, `check` (is the
//! configuration right?), `preview` (what would be sent to Jira for this
//! failure?) and `ledger` (what has the bridge recorded?).
//!
//! `main.rs` only parses the command line and calls one of these. All read
//! the same settings and mappings; only `serve` changes anything anywhere.

pub mod check;
pub mod check_writeback;
pub mod ledger;
pub mod preview;
pub mod report;
pub mod serve;

use crate::config::Settings;
use std::path::Path;
use std::process::ExitCode;

/// Loads the settings every command starts from; on failure prints why and
/// returns exit code 2.
pub fn load_settings(config: &Path) -> Result<Settings, ExitCode> {
    Settings::load(config).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })
}
