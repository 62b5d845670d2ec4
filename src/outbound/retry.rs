//! When to retry a failed outbound call: a pure schedule and header parsing.
//!
//! [`delay`] decides from the attempts made, the response's hints, a jitter
//! factor and the time already spent; it does no I/O and reads no clock, so
//! its properties are tested directly (see the proptests below).
//!
//! The rules (Atlassian's advice for Jira, applied to Test Manager too):
//! `Retry-After` is a floor; without it `X-RateLimit-Reset` is; the delay is
//! at least an exponential backoff `base · 2^(n-1)` capped at `max_delay` and
//! scaled by a jitter in [0.7, 1.3]; no more than `max_attempts` attempts, and
//! no retry that would end after the total budget.

use crate::config::OutboundSettings;
use chrono::{DateTime, NaiveDateTime, Utc};
use std::time::{Duration, SystemTime};

/// Smallest jitter factor.
pub const JITTER_MIN: f64 = 0.7;
/// Largest jitter factor.
pub const JITTER_MAX: f64 = 1.3;

/// How often and how long a call may be retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = never retry).
    pub max_attempts: u32,
    /// Backoff before the first retry, before jitter.
    pub base_delay: Duration,
    /// Largest backoff before jitter (a `Retry-After` floor may exceed it).
    pub max_delay: Duration,
    /// No retry is started that would begin after this much time since the first attempt.
    pub total_budget: Duration,
}

impl RetryPolicy {
    /// Try once, never retry.
    pub fn once() -> Self {
        Self {
            max_attempts: 1,
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            total_budget: Duration::ZERO,
        }
    }

    /// The policy `[outbound]` configures.
    pub fn from_settings(settings: &OutboundSettings) -> Self {
        Self {
            max_attempts: settings.max_attempts.max(1),
            base_delay: Duration::from_millis(settings.base_delay_ms),
            max_delay: Duration::from_millis(settings.max_delay_ms),
            total_budget: Duration::from_millis(settings.total_budget_ms),
        }
    }

    /// The backoff before retry number `retry` (1-based), before jitter:
    /// `base · 2^(retry-1)`, at most `max_delay`. Non-decreasing in `retry`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(31);
        self.base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay)
    }
}

/// What the failed response said about when to come back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hints {
    /// `Retry-After`, as a duration from now.
    pub retry_after: Option<Duration>,
    /// `X-RateLimit-Reset`, as a duration from now.
    pub rate_limit_reset: Option<Duration>,
}

impl Hints {
    /// The least the next attempt must wait: `Retry-After`, else `X-RateLimit-Reset`.
    pub fn floor(&self) -> Duration {
        self.retry_after
            .or(self.rate_limit_reset)
            .unwrap_or_default()
    }
}

/// How long to wait before the next attempt, or `None` to give up.
///
/// `attempts_made` counts the attempts already made (≥ 1 after a failure);
/// `jitter` is clamped to [[`JITTER_MIN`], [`JITTER_MAX`]]; `elapsed` is the
/// time since the first attempt began.
pub fn delay(
    policy: &RetryPolicy,
    attempts_made: u32,
    hints: Hints,
    jitter: f64,
    elapsed: Duration,
) -> Option<Duration> {
    if attempts_made >= policy.max_attempts {
        return None;
    }
    let jitter = if jitter.is_nan() {
        1.0
    } else {
        jitter.clamp(JITTER_MIN, JITTER_MAX)
    };
    let backoff = policy.backoff(attempts_made.max(1)).mul_f64(jitter);
    let wait = backoff.max(hints.floor());
    let ends = elapsed.checked_add(wait)?;
    (ends <= policy.total_budget).then_some(wait)
}

/// A jitter factor drawn uniformly from [0.7, 1.3].
pub fn random_jitter() -> f64 {
    use rand::Rng;
    rand::thread_rng().gen_range(JITTER_MIN..=JITTER_MAX)
}

/// `Retry-After`: delay seconds or an HTTP date, as a duration from `now`
/// (zero for a date in the past). `None` when it is neither.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or_default())
}

/// `X-RateLimit-Reset`: an ISO 8601 timestamp (Jira Cloud) or epoch
/// seconds, as a duration from `now` (zero when past). `None` when it is neither.
pub fn parse_rate_limit_reset(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let at: SystemTime = if let Ok(epoch) = value.parse::<u64>() {
        SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(epoch))?
    } else {
        let parsed = DateTime::parse_from_rfc3339(value)
            .map(|t| t.with_timezone(&Utc))
            .ok()
            .or_else(|| {
                let naive = value.trim_end_matches('Z');
                ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
                    .iter()
                    .find_map(|f| NaiveDateTime::parse_from_str(naive, f).ok())
                    .map(|t| t.and_utc())
            })?;
        SystemTime::from(parsed)
    };
    Some(at.duration_since(now).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(10),
            total_budget: Duration::from_secs(20),
        }
    }

    #[test]
    fn retry_after_is_a_floor_then_reset_then_backoff() {
        let p = policy();
        let secs = Duration::from_secs;
        let hints = Hints {
            retry_after: Some(secs(3)),
            rate_limit_reset: Some(secs(7)),
        };
        assert_eq!(delay(&p, 1, hints, 1.0, Duration::ZERO), Some(secs(3)));
        let reset_only = Hints {
            retry_after: None,
            rate_limit_reset: Some(secs(7)),
        };
        assert_eq!(delay(&p, 1, reset_only, 1.0, Duration::ZERO), Some(secs(7)));
        assert_eq!(
            delay(&p, 1, Hints::default(), 1.0, Duration::ZERO),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            delay(&p, 3, Hints::default(), 1.3, Duration::ZERO),
            Some(Duration::from_millis(2600))
        );
        // Attempts and budget bound the retries.
        assert_eq!(delay(&p, 5, Hints::default(), 1.0, Duration::ZERO), None);
        assert_eq!(delay(&p, 1, Hints::default(), 1.0, secs(20)), None);
        let far = Hints {
            retry_after: Some(secs(60)),
            rate_limit_reset: None,
        };
        assert_eq!(delay(&p, 1, far, 1.0, Duration::ZERO), None);
        assert_eq!(
            delay(
                &RetryPolicy::once(),
                1,
                Hints::default(),
                1.0,
                Duration::ZERO
            ),
            None
        );
    }

    #[test]
    fn headers_parse() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after(" 2 ", now), Some(Duration::from_secs(2)));
        let date = httpdate::fmt_http_date(now + Duration::from_secs(5));
        assert_eq!(parse_retry_after(&date, now), Some(Duration::from_secs(5)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(5));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(
            parse_rate_limit_reset("1700000004", now),
            Some(Duration::from_secs(4))
        );
        assert_eq!(
            parse_rate_limit_reset("2023-11-14T22:13:30Z", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_rate_limit_reset("2023-11-14T22:14Z", now),
            Some(Duration::from_secs(40))
        );
        assert_eq!(parse_rate_limit_reset("later", now), None);
    }

    fn arb_policy() -> impl Strategy<Value = RetryPolicy> {
        (1u32..10, 0u64..5_000, 0u64..60_000, 0u64..120_000).prop_map(
            |(max_attempts, base, max, budget)| RetryPolicy {
                max_attempts,
                base_delay: Duration::from_millis(base),
                max_delay: Duration::from_millis(max),
                total_budget: Duration::from_millis(budget),
            },
        )
    }

    fn arb_hints() -> impl Strategy<Value = Hints> {
        (
            proptest::option::of(0u64..200_000),
            proptest::option::of(0u64..200_000),
        )
            .prop_map(|(a, b)| Hints {
                retry_after: a.map(Duration::from_millis),
                rate_limit_reset: b.map(Duration::from_millis),
            })
    }

    proptest! {
        #[test]
        fn never_exceeds_the_budget(p in arb_policy(), n in 0u32..20, h in arb_hints(), j in 0.0f64..2.0, e in 0u64..200_000) {
            let elapsed = Duration::from_millis(e);
            if let Some(d) = delay(&p, n, h, j, elapsed) {
                prop_assert!(elapsed + d <= p.total_budget);
            }
        }

        #[test]
        fn never_below_the_retry_after_floor(p in arb_policy(), n in 0u32..20, h in arb_hints(), j in 0.0f64..2.0, e in 0u64..200_000) {
            if let Some(d) = delay(&p, n, h, j, Duration::from_millis(e)) {
                prop_assert!(d >= h.floor());
                if let Some(after) = h.retry_after {
                    prop_assert!(d >= after);
                }
            }
        }

        #[test]
        fn attempts_are_bounded(p in arb_policy(), n in 0u32..40, h in arb_hints(), j in 0.7f64..1.3) {
            if n >= p.max_attempts {
                prop_assert_eq!(delay(&p, n, h, j, Duration::ZERO), None);
            }
        }

        #[test]
        fn base_backoff_is_monotone_and_jitter_bounded(p in arb_policy(), n in 1u32..40, j in 0.0f64..2.0) {
            prop_assert!(p.backoff(n) <= p.backoff(n + 1));
            prop_assert!(p.backoff(n) <= p.max_delay);
            let roomy = RetryPolicy { max_attempts: u32::MAX, total_budget: Duration::from_secs(1_000_000), ..p.clone() };
            let d = delay(&roomy, n, Hints::default(), j, Duration::ZERO).unwrap();
            prop_assert!(d >= p.backoff(n).mul_f64(JITTER_MIN) && d <= p.backoff(n).mul_f64(JITTER_MAX));
        }
    }
}
