//! The outbound HTTP policy shared by the Jira and Test Manager adapters.
//!
//! Owns what both adapters do the same way when a call fails: which failures
//! are retried and how often ([`retry::RetryPolicy`]), when ([`retry::delay`], a pure function),
//! and how many calls may be in flight to one upstream at once
//! ([`Upstream`]). Configured in one place: the `[outbound]` section
//! ([`crate::config::OutboundSettings`]). Knows nothing of `http` or actix.

pub mod retry;

use crate::config::OutboundSettings;
pub use retry::{Hints, RetryPolicy};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

/// One upstream (Jira or Test Manager): its retry policy and its cap on
/// concurrent calls. A permit is held per attempt, never while waiting to retry.
#[derive(Debug)]
pub struct Upstream {
    name: &'static str,
    policy: RetryPolicy,
    permits: Semaphore,
}

impl Upstream {
    /// An upstream named `name` (for logs) with `policy` and at most
    /// `max_concurrent` calls in flight (at least one).
    pub fn new(name: &'static str, policy: RetryPolicy, max_concurrent: usize) -> Self {
        Self {
            name,
            policy,
            permits: Semaphore::new(max_concurrent.max(1)),
        }
    }

    /// An upstream that tries every call once and does not cap concurrency
    /// (what an adapter built without settings does, e.g. in unit tests).
    pub fn unretried(name: &'static str) -> Self {
        Self::new(name, RetryPolicy::once(), Semaphore::MAX_PERMITS)
    }

    /// The Jira upstream as `[outbound]` configures it.
    pub fn jira(settings: &OutboundSettings) -> Arc<Self> {
        Arc::new(Self::new(
            "Jira",
            RetryPolicy::from_settings(settings),
            settings.max_concurrent_jira,
        ))
    }

    /// The Test Manager upstream as `[outbound]` configures it.
    pub fn testmanager(settings: &OutboundSettings) -> Arc<Self> {
        Arc::new(Self::new(
            "Test Manager",
            RetryPolicy::from_settings(settings),
            settings.max_concurrent_testmanager,
        ))
    }

    /// The retry policy.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Records one attempt's outcome (`status`: an HTTP status, or `timeout`,
    /// `unreachable`, `error`) and latency under this upstream's name.
    pub fn observe(&self, endpoint: &'static str, status: &str, elapsed: std::time::Duration) {
        crate::metrics::upstream_call(self.name, endpoint, status, elapsed);
    }

    /// Waits for a free slot for one attempt.
    pub async fn permit(&self) -> SemaphorePermit<'_> {
        self.permits
            .acquire()
            .await
            .expect("the semaphore is never closed")
    }

    /// Starts the clock of one call (its retries share the total budget).
    pub fn start(&self) -> Attempts<'_> {
        Attempts {
            upstream: self,
            started: Instant::now(),
            made: 0,
        }
    }
}

/// The attempts of one call: counts them and decides whether and when to retry.
pub struct Attempts<'a> {
    upstream: &'a Upstream,
    started: Instant,
    made: u32,
}

impl Attempts<'_> {
    /// Records that an attempt is about to be made.
    pub fn begin(&mut self) {
        self.made += 1;
    }

    /// Attempts made so far.
    pub fn made(&self) -> u32 {
        self.made
    }

    /// After a failed attempt that may be retried: sleeps the schedule's delay
    /// and returns true, or returns false when attempts or budget are spent.
    pub async fn wait_to_retry(&self, call: &str, hints: Hints) -> bool {
        let jitter = retry::random_jitter();
        let Some(delay) = retry::delay(
            &self.upstream.policy,
            self.made,
            hints,
            jitter,
            self.started.elapsed(),
        ) else {
            return false;
        };
        tracing::warn!(
            upstream = self.upstream.name,
            call,
            attempt = self.made,
            delay_ms = delay.as_millis() as u64,
            "retrying after a transient failure"
        );
        let reason = if hints.retry_after.is_some() || hints.rate_limit_reset.is_some() {
            "rate_limited"
        } else {
            "transient"
        };
        crate::metrics::upstream_retry(self.upstream.name, reason, delay);
        tokio::time::sleep(delay).await;
        true
    }
}

/// The retry hints of a response's headers (`Retry-After`, `X-RateLimit-Reset`).
pub fn hints(headers: &reqwest::header::HeaderMap) -> Hints {
    let now = SystemTime::now();
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    Hints {
        retry_after: value("retry-after").and_then(|v| retry::parse_retry_after(v, now)),
        rate_limit_reset: value("x-ratelimit-reset")
            .and_then(|v| retry::parse_rate_limit_reset(v, now)),
    }
}

/// `Retry-After` in whole seconds (rounded up), as errors report it.
pub fn whole_seconds(after: Option<Duration>) -> Option<u64> {
    after.map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
}
