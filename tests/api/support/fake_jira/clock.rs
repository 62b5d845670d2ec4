//! The fake Jira's clock: what `updated` says and what relative JQL dates
//! (`updated >= -17m`) count back from.
//!
//! Every change gets a stamp at least 1 ms after the previous one (Jira keeps
//! milliseconds), so two changes in the same millisecond still order, and a
//! newest-wins comparison on `updated` is testable. The clock can run ahead of
//! or behind the machine's, as a real Jira's may.

use chrono::{DateTime, Duration, Utc};
use std::sync::Mutex;

/// A Jira server's clock, shared by a fake's issues and its search.
#[derive(Debug, Default)]
pub struct JiraClock {
    /// How far the fake's clock is ahead of the machine's (negative: behind).
    skew: Mutex<Duration>,
    /// The last stamp handed out.
    last: Mutex<Option<DateTime<Utc>>>,
}

impl JiraClock {
    /// The fake's current time (not a stamp: it may repeat).
    pub fn now(&self) -> DateTime<Utc> {
        truncate_to_millis(Utc::now() + *self.skew.lock().unwrap())
    }

    /// The time of a change: now, but at least 1 ms after the previous stamp.
    pub fn stamp(&self) -> DateTime<Utc> {
        let mut last = self.last.lock().unwrap();
        let now = self.now();
        let stamp = match *last {
            Some(previous) if now <= previous => previous + Duration::milliseconds(1),
            _ => now,
        };
        *last = Some(stamp);
        stamp
    }

    /// Sets how far the fake's clock runs ahead of the machine's (negative: behind).
    pub fn set_skew(&self, skew: Duration) {
        *self.skew.lock().unwrap() = skew;
    }
}

fn truncate_to_millis(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).expect("a representable time")
}

/// A time as Jira writes it: `2026-12-06T05:55:22.000+0000`.
pub fn jira_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string()
}

#[test]
fn stamps_strictly_increase_and_read_like_jira() {
    let clock = JiraClock::default();
    let stamps: Vec<_> = (0..50).map(|_| clock.stamp()).collect();
    assert!(stamps
        .windows(2)
        .all(|w| w[1] - w[0] >= Duration::milliseconds(1)));
    let t = DateTime::parse_from_rfc3339("2026-12-06T05:55:22.5Z").unwrap();
    assert_eq!(jira_time(t.into()), "2026-12-06T05:55:22.500+0000");
}
