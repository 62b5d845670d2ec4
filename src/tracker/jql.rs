//! Building JQL safely: every value is a quoted string literal.
//!
//! JQL is the query language of the tracker port ([`super::DefectTracker::count`]
//! takes it), so use cases build it here without reaching into the Jira adapter.
//!
//! Only values from configuration and mapping files ever enter JQL, and even
//! those are quoted here, so a priority named `High" OR project = X` stays one
//! value.

/// Quotes `value` as a JQL string literal: `"…"` with `\` and `"` escaped and
/// line breaks written as escapes.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `(“a”, “b”)`: a quoted list for `in`.
pub fn quote_list<S: AsRef<str>>(values: &[S]) -> String {
    let items: Vec<String> = values.iter().map(|v| quote(v.as_ref())).collect();
    format!("({})", items.join(", "))
}

/// The write-back poller's query: the bridge's issues in `project_key` changed in
/// the last `minutes` minutes, oldest change first (`key` breaks ties, so pages
/// are stable):
/// `project = "SHOP" AND labels = "tm-bridge" AND updated >= -17m ORDER BY updated ASC, key ASC`.
///
/// Relative minutes, not a date: an absolute `updated >= "yyyy-MM-dd HH:mm"` is
/// read in the Jira user's time zone, which the bridge does not know. At least one minute.
pub fn changed_since(project_key: &str, label: &str, minutes: u64) -> String {
    format!(
        "project = {} AND labels = {} AND updated >= -{}m ORDER BY updated ASC, key ASC",
        quote(project_key),
        quote(label),
        minutes.max(1)
    )
}

/// How far back [`changed_since`] must look to cover everything since
/// `watermark`, in whole minutes rounded up, plus `overlap` rounded up to whole
/// minutes (Jira's minute precision, clock skew, search lag). A watermark in
/// the future counts as now.
pub fn lookback_minutes(
    now: chrono::DateTime<chrono::Utc>,
    watermark: chrono::DateTime<chrono::Utc>,
    overlap: std::time::Duration,
) -> u64 {
    let elapsed_ms = u64::try_from((now - watermark).num_milliseconds()).unwrap_or(0);
    let overlap_ms = u64::try_from(overlap.as_millis()).unwrap_or(u64::MAX);
    elapsed_ms
        .div_ceil(60_000)
        .saturating_add(overlap_ms.div_ceil(60_000))
}

/// Every bridge issue of `project_key` (the sweep's query), in a stable order:
/// `project = "SHOP" AND labels = "tm-bridge" ORDER BY key ASC`.
pub fn bridge_issues(project_key: &str, label: &str) -> String {
    format!(
        "project = {} AND labels = {} ORDER BY key ASC",
        quote(project_key),
        quote(label)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_query_is_relative_quoted_and_ordered() {
        assert_eq!(
            changed_since("SHOP", "bridge-label", 17),
            "project = \"SHOP\" AND labels = \"bridge-label\" AND updated >= -17m ORDER BY updated ASC, key ASC"
        );
        assert_eq!(
            changed_since("SHOP", "x\" OR project = \"OPS", 0),
            "project = \"SHOP\" AND labels = \"x\\\" OR project = \\\"OPS\" AND updated >= -1m ORDER BY updated ASC, key ASC"
        );
        assert_eq!(
            bridge_issues("SHOP", "tm-bridge"),
            "project = \"SHOP\" AND labels = \"tm-bridge\" ORDER BY key ASC"
        );
    }

    #[test]
    fn lookback_rounds_up_and_adds_the_overlap() {
        use chrono::{Duration, TimeZone, Utc};
        let minutes = |m: u64| std::time::Duration::from_secs(60 * m);
        let now = Utc.with_ymd_and_hms(2026, 12, 6, 6, 0, 0).unwrap();
        assert_eq!(
            lookback_minutes(now, now - Duration::seconds(720), minutes(5)),
            17
        );
        assert_eq!(
            lookback_minutes(now, now - Duration::seconds(721), minutes(5)),
            18
        );
        assert_eq!(
            lookback_minutes(
                now,
                now - Duration::seconds(720),
                std::time::Duration::from_secs(90)
            ),
            14
        );
        assert_eq!(
            lookback_minutes(now, now - Duration::milliseconds(1), minutes(0)),
            1
        );
        assert_eq!(lookback_minutes(now, now, minutes(2)), 2);
        assert_eq!(
            lookback_minutes(now, now + Duration::hours(1), minutes(2)),
            2
        );
    }

    #[test]
    fn quotes_escape_everything_that_could_end_the_literal() {
        assert_eq!(quote("tm-result-abc"), "\"tm-result-abc\"");
        assert_eq!(quote("a\" OR project = X"), "\"a\\\" OR project = X\"");
        assert_eq!(quote("back\\slash\nline"), "\"back\\\\slash\\nline\"");
        assert_eq!(quote_list(&["High", "Highest"]), "(\"High\", \"Highest\")");
    }
}
