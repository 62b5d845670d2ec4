//! Logging: `tracing` with `RUST_LOG` levels, JSON lines when not on a
//! terminal, human-readable on one.
//!
//! gouqi's spans record its client — credentials included — at INFO, so its
//! target is always capped at WARN whatever `RUST_LOG` says.

use std::io::IsTerminal;
use tracing_subscriber::filter::{Directive, EnvFilter};
use tracing_subscriber::fmt;

/// The filter in force: `RUST_LOG` (default `info`) with gouqi capped at warn.
pub fn filter() -> EnvFilter {
    let base = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    base.add_directive(gouqi_cap())
}

fn gouqi_cap() -> Directive {
    "gouqi=warn".parse().expect("a valid static directive")
}

/// Installs the global subscriber; a second call is a no-op.
pub fn init() {
    let builder = fmt().with_env_filter(filter()).with_writer(std::io::stderr);
    let _ = if std::io::stderr().is_terminal() {
        builder.try_init()
    } else {
        builder
            .json()
            .flatten_event(true)
            // The request's span (with its request_id) is listed on every line logged inside it.
            .with_current_span(false)
            .with_span_list(true)
            .try_init()
    };
}
