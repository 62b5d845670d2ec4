//! Changes a Jira user makes to the fake's issues while a test runs: status, priority,
//! resolution, deletion. Each moves the issue's `updated` to the fake's now (strictly
//! later than any earlier change), as Jira does, so newest-wins is testable.

use super::{FakeIssue, FakeJira};
use chrono::{DateTime, Duration, Utc};

impl FakeJira {
    /// Applies `change` to issue `key`; panics when the fake does not hold it (a test bug).
    fn change(&self, key: &str, change: impl FnOnce(&mut FakeIssue)) {
        let mut issues = self.issues.lock().unwrap();
        let issue = issues
            .iter_mut()
            .find(|i| i.key == key)
            .unwrap_or_else(|| panic!("the fake Jira holds no issue {key}"));
        change(issue);
    }

    /// Moves `key` to status `name` of category `category_key` (`new`, `indeterminate`, `done`).
    pub fn set_status(&self, key: &str, name: &str, category_key: &str) {
        self.change(key, |issue| issue.set_status(name, category_key));
    }

    /// Sets `key`'s priority by name.
    pub fn set_priority(&self, key: &str, name: &str) {
        self.change(key, |issue| issue.set_priority(name));
    }

    /// Sets (`Some`) or clears (`None`) `key`'s resolution.
    pub fn set_resolution(&self, key: &str, name: Option<&str>) {
        self.change(key, |issue| issue.set_resolution(name));
    }

    /// Resolves `key` the way the Done transition does: status Done, resolution Done.
    pub fn resolve(&self, key: &str) {
        self.change(key, |issue| issue.transition("Done", "done", Some("Done")));
    }

    /// Deletes `key`: from now on reads answer 404 and searches miss it. Returns the
    /// issue as it was (what a `jira:issue_deleted` webhook describes).
    pub fn delete_issue(&self, key: &str) -> FakeIssue {
        let mut issues = self.issues.lock().unwrap();
        let at = issues
            .iter()
            .position(|i| i.key == key)
            .unwrap_or_else(|| panic!("the fake Jira holds no issue {key}"));
        issues.remove(at)
    }

    /// The issue as it is now, if the fake holds it.
    pub fn issue(&self, key: &str) -> Option<FakeIssue> {
        self.issues
            .lock()
            .unwrap()
            .iter()
            .find(|i| i.key == key)
            .cloned()
    }

    /// `key`'s `updated`; panics when the fake does not hold it.
    pub fn issue_updated(&self, key: &str) -> DateTime<Utc> {
        self.issue(key)
            .unwrap_or_else(|| panic!("the fake Jira holds no issue {key}"))
            .updated
    }

    /// Moves `key`'s `updated` back by `by` without changing anything else (as if its
    /// last change were that long ago): for lookback-window tests.
    pub fn backdate(&self, key: &str, by: Duration) {
        self.change(key, |issue| issue.updated -= by);
    }

    /// The fake Jira's now (what `updated >= -Nm` counts back from).
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Runs the fake's clock `skew` ahead of the machine's (negative: behind).
    pub fn skew_clock(&self, skew: Duration) {
        self.clock.set_skew(skew);
    }

    /// The next `times` `GET issue/{key}` answer `status` (503: a proxy's HTML page;
    /// 429: `Retry-After: 1`), then reads work again.
    pub fn fail_issue_reads(&self, status: u16, times: u32) {
        self.behave(|b| b.failing_issue_reads = Some((status, times)));
    }
}
