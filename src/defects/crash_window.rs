//! When Jira's "no issue has this label" may be believed after an earlier
//! attempt at a result, and how the settings that decide it relate.
//!
//! An earlier attempt's create can reach Jira as late as its claim time plus
//! one Jira timeout plus the outbound retry budget (no retry starts later than
//! the budget, none lasts longer than the timeout), and Jira's search can miss
//! the issue for the search lag after that. Start-up, `check` and Create
//! Defect all read the rule from here, so they cannot disagree.

use crate::config::Settings;
use crate::ledger::{EntryState, LedgerEntry};
use chrono::{DateTime, Utc};
use std::fmt;
use std::time::Duration;

/// The durations that decide when a repeat may believe Jira's search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrashWindow {
    /// `defects.claim_stale_after_secs`: a claim this old is taken over.
    pub claim_stale_after: Duration,
    /// `jira.timeout_ms` + `outbound.total_budget_ms`: how long after its
    /// claim a create can still reach Jira.
    pub longest_create: Duration,
    /// `defects.search_lag_secs` (defaulted by flavour): how long Jira's search
    /// may miss a just-created issue.
    pub search_lag: Duration,
}

impl CrashWindow {
    /// The window configured by `settings`.
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            claim_stale_after: settings.defects.claim_stale_after(),
            longest_create: Duration::from_millis(settings.jira.timeout_ms)
                + Duration::from_millis(settings.outbound.total_budget_ms),
            search_lag: settings.defects.search_lag(settings.jira.flavour),
        }
    }

    /// Whether a claim can only turn stale after its create is over; if not,
    /// a slow but live create could be taken over and duplicated.
    pub fn takeover_is_safe(&self) -> bool {
        self.claim_stale_after > self.longest_create
    }

    /// From when "not found" may be believed for the taken-over `previous` entry.
    ///
    /// - Uncertain: its holder saw the create end (and marked it) at
    ///   `updated_at`, so the search lag counts from then.
    /// - Claimed (stale: its holder died or hung): the create may have reached
    ///   Jira as late as `claimed_at` + the longest create, so the lag counts
    ///   from then — believing "not found" earlier duplicates an issue Jira is
    ///   still indexing.
    pub fn believe_not_found_after(&self, previous: &LedgerEntry) -> DateTime<Utc> {
        let longest_create = chrono::Duration::from_std(self.longest_create).unwrap_or_default();
        let last_create = match previous.state {
            EntryState::Claimed => previous
                .updated_at
                .max(previous.claimed_at + longest_create),
            EntryState::Uncertain | EntryState::Created => {
                previous.updated_at.max(previous.claimed_at)
            }
        };
        last_create + chrono::Duration::from_std(self.search_lag).unwrap_or_default()
    }

    /// The longest a repeat waits, counted from a crashed attempt's claim,
    /// before it believes "not found" and creates: the claim must turn stale,
    /// and the longest create plus the search lag must have passed.
    pub fn wait_after_crash(&self) -> Duration {
        self.claim_stale_after
            .max(self.longest_create + self.search_lag)
    }
}

/// The whole relation, with this configuration's values.
impl fmt::Display for CrashWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "defects.claim_stale_after_secs ({}s) must be longer than jira.timeout_ms + \
             outbound.total_budget_ms ({}s), the longest a create can run; after a crash, a \
             repeat believes Jira's search has no issue for the result only once the claim is \
             stale and jira.timeout_ms + outbound.total_budget_ms + defects.search_lag_secs \
             ({}s) have passed since the crashed claim: it waits up to {}s",
            secs(self.claim_stale_after),
            secs(self.longest_create),
            secs(self.longest_create + self.search_lag),
            secs(self.wait_after_crash()),
        )
    }
}

fn secs(d: Duration) -> String {
    let s = format!("{:.3}", d.as_secs_f64());
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result_key::ResultKey;
    use chrono::TimeZone;

    fn window() -> CrashWindow {
        CrashWindow {
            claim_stale_after: Duration::from_secs(5),
            longest_create: Duration::from_millis(4500),
            search_lag: Duration::from_secs(3),
        }
    }

    fn entry(state: EntryState, claimed: i64, updated: i64) -> LedgerEntry {
        let at = |s| Utc.timestamp_opt(s, 0).unwrap();
        LedgerEntry {
            key: ResultKey {
                test_execution_id: uuid::Uuid::nil(),
                test_case_id: uuid::Uuid::nil(),
                variation_id: None,
            },
            project: "SHOP".into(),
            state,
            owner: "dead".into(),
            attempts: 1,
            claimed_at: at(claimed),
            updated_at: at(updated),
            issue: None,
            remote_link_done: false,
            last_error: None,
        }
    }

    #[test]
    fn a_crashed_claim_is_searched_until_its_longest_create_plus_the_lag() {
        let after = window().believe_not_found_after(&entry(EntryState::Claimed, 100, 100));
        assert_eq!(
            after,
            Utc.timestamp_opt(100, 0).unwrap() + chrono::Duration::milliseconds(7500)
        );
    }

    #[test]
    fn an_uncertain_claim_is_searched_for_the_lag_after_its_create_ended() {
        let after = window().believe_not_found_after(&entry(EntryState::Uncertain, 100, 102));
        assert_eq!(after, Utc.timestamp_opt(105, 0).unwrap());
    }

    #[test]
    fn the_wait_after_a_crash_and_the_relation_are_spelled_out() {
        let window = window();
        assert!(window.takeover_is_safe());
        assert_eq!(window.wait_after_crash(), Duration::from_millis(7500));
        let text = window.to_string();
        assert!(
            text.contains("(5s)") && text.contains("(4.5s)") && text.contains("up to 7.5s"),
            "{text}"
        );
        let unsafe_window = CrashWindow {
            claim_stale_after: Duration::from_millis(4500),
            ..window
        };
        assert!(!unsafe_window.takeover_is_safe());
    }
}
