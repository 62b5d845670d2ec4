//! Finding a result's runs: listing the logs of its execution page by page,
//! keeping those of its test case and variation, and choosing the latest run.

use chrono::{DateTime, NaiveDateTime, Utc};
use std::cmp::Ordering;
use uuid::Uuid;

use super::calls::{JSON, LOGS_PAGED};
use super::decode::decode;
use super::handle::TestManagerClient;
use crate::result_key::ResultKey;
use crate::testmanager::defect::defect_id;
use crate::testmanager::error::TestManagerError;
use crate::testmanager::model::{Paged, Paging, TestCaseLog};

/// Items asked for per page when listing an execution's logs.
pub const LOG_PAGE_SIZE: usize = 100;
/// Pages read at most for one execution (100,000 logs). Guards against a
/// server that ignores `skip` and keeps answering full pages.
const MAX_LOG_PAGES: usize = 1000;

impl TestManagerClient {
    /// Every log of the key's test case and variation in its execution, in
    /// page order; with `only_failed`, asks Test Manager to list failed logs
    /// only.
    pub(super) async fn matching_logs(
        &self,
        project_id: Uuid,
        key: &ResultKey,
        only_failed: bool,
    ) -> Result<Vec<TestCaseLog>, TestManagerError> {
        let execution = key.test_execution_id.to_string();
        let base = self.project_url(
            project_id,
            &["testcaselogs", "testexecution", &execution, "paged"],
        )?;
        let mut matching = Vec::new();
        let mut skip = 0usize;
        for page_number in 1..=MAX_LOG_PAGES {
            let mut url = base.clone();
            {
                let mut query = url.query_pairs_mut();
                if only_failed {
                    query.append_pair("onlyFailed", "true");
                }
                query
                    .append_pair("top", &LOG_PAGE_SIZE.to_string())
                    .append_pair("skip", &skip.to_string());
            }
            let Some(body) = self.get(LOGS_PAGED, url, JSON).await? else {
                return Err(TestManagerError::NotFound {
                    what: "test execution",
                    id: execution,
                });
            };
            let page: Paged<TestCaseLog> = decode(LOGS_PAGED.name, &body)?;
            let returned = page.data.len();
            skip += returned;
            matching.extend(page.data.into_iter().filter(|log| belongs_to(log, key)));
            if !more_pages(returned, skip, page_number, page.paging.as_ref()) {
                return Ok(matching);
            }
        }
        Err(TestManagerError::Decode {
            call: LOGS_PAGED.name,
            detail: format!(
                "paging did not end after {MAX_LOG_PAGES} pages of {LOG_PAGE_SIZE}; \
                 the server may be ignoring `skip`"
            ),
        })
    }
}

/// Whether another page may hold more logs. Paging counts win when present
/// (a server may cap pages below [`LOG_PAGE_SIZE`]); without them a short
/// page is the last one. An empty page always ends the listing.
fn more_pages(returned: usize, seen: usize, page_number: usize, paging: Option<&Paging>) -> bool {
    if returned == 0 {
        return false;
    }
    match paging {
        Some(p) if p.total.is_some() => p.total.is_some_and(|total| (seen as u64) < total),
        Some(p) if p.pages.is_some() => p.pages.is_some_and(|pages| (page_number as u64) < pages),
        _ => returned >= LOG_PAGE_SIZE,
    }
}

/// Whether `log` is a result of `key` (same execution, test case, variation).
fn belongs_to(log: &TestCaseLog, key: &ResultKey) -> bool {
    log.test_case_id == key.test_case_id
        && log.test_execution_id == key.test_execution_id
        && same_variation(log.variation_id.as_deref(), key.variation_id.as_deref())
}

/// Variations match when both are absent (null or blank), or equal after
/// trimming; GUID-shaped ids are compared as GUIDs so letter case does not
/// matter.
fn same_variation(log: Option<&str>, key: Option<&str>) -> bool {
    fn norm(v: Option<&str>) -> Option<&str> {
        v.map(str::trim).filter(|v| !v.is_empty())
    }
    match (norm(log), norm(key)) {
        (None, None) => true,
        (Some(a), Some(b)) => match (Uuid::parse_str(a), Uuid::parse_str(b)) {
            (Ok(a), Ok(b)) => a == b,
            _ => a == b,
        },
        _ => false,
    }
}

/// The `result` field, not `hasError`, says whether a run failed.
pub(super) fn is_failed(log: &TestCaseLog) -> bool {
    log.result.trim().eq_ignore_ascii_case("failed")
}

/// The latest run among `logs`: by end time, then start time, then run id,
/// then listing order (later wins every tie).
pub(super) fn latest<'a>(logs: impl Iterator<Item = &'a TestCaseLog>) -> Option<&'a TestCaseLog> {
    let mut best: Option<(RunOrder, &TestCaseLog)> = None;
    for log in logs {
        let order = RunOrder::of(log);
        if best
            .as_ref()
            .is_none_or(|(current, _)| order.cmp(current) != Ordering::Less)
        {
            best = Some((order, log));
        }
    }
    best.map(|(_, log)| log)
}

/// The defect id of the latest of `logs` that carries one (see [`defect_id`]).
pub(super) fn latest_defect_id<'a>(logs: impl Iterator<Item = &'a TestCaseLog>) -> Option<String> {
    latest(logs.filter(|log| defect_id(log.defect_id.as_deref()).is_some()))
        .and_then(|log| defect_id(log.defect_id.as_deref()))
}

/// Sort key of a run. `None` sorts first, so a run with a known time beats
/// one without.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct RunOrder {
    end: Option<DateTime<Utc>>,
    start: Option<DateTime<Utc>>,
    run: Option<i128>,
}

impl RunOrder {
    fn of(log: &TestCaseLog) -> Self {
        Self {
            end: log.execution_end.as_deref().and_then(parse_time),
            start: log.execution_start.as_deref().and_then(parse_time),
            run: log.run_id.as_ref().and_then(run_number),
        }
    }
}

/// ISO 8601 with an offset, or without one (read as UTC, which is how .NET
/// serialises `DateTime` of kind Utc/Unspecified).
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

/// A run id that orders runs: a number, or a string holding one. Other ids
/// (e.g. GUIDs) carry no order and are ignored.
fn run_number(value: &serde_json::Value) -> Option<i128> {
    match value {
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from)),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn log(end: Option<&str>, start: Option<&str>, run: serde_json::Value, n: u8) -> TestCaseLog {
        serde_json::from_value(json!({
            "id": format!("00000000-0000-0000-0000-0000000000{n:02}"),
            "testCaseId": Uuid::nil(), "testExecutionId": Uuid::nil(),
            "result": "Failed", "executionEnd": end, "executionStart": start, "runId": run,
        }))
        .unwrap()
    }

    #[test]
    fn latest_orders_by_end_start_run_then_position() {
        let logs = [
            log(Some("2024-05-01T10:00:00Z"), None, json!(9), 1),
            log(Some("2024-05-01T12:00:00+02:00"), None, json!(1), 2), // 10:00Z too
            log(Some("2024-05-01T09:00:00"), None, json!(99), 3),
        ];
        // 1 and 2 tie on end; neither has a start; run 9 beats run 1.
        assert_eq!(latest(logs.iter()).unwrap().id, logs[0].id);
        let logs = [
            log(None, Some("2024-05-01T10:00:00Z"), json!("2"), 1),
            log(None, Some("2024-05-01T10:00:00Z"), json!("10"), 2),
            log(None, Some("2024-05-01T10:00:00Z"), json!("10"), 3),
        ];
        assert_eq!(latest(logs.iter()).unwrap().id, logs[2].id);
        assert!(latest(std::iter::empty()).is_none());
    }

    #[test]
    fn variation_matching() {
        assert!(same_variation(None, None));
        assert!(same_variation(Some(""), None));
        assert!(same_variation(Some(" "), None));
        assert!(!same_variation(Some("row-2"), None));
        assert!(!same_variation(None, Some("row-2")));
        assert!(same_variation(Some("row-2"), Some("row-2")));
        assert!(!same_variation(Some("row-2"), Some("Row-2")));
        assert!(same_variation(
            Some("AAAAAAAA-0000-0000-0000-000000000001"),
            Some("aaaaaaaa-0000-0000-0000-000000000001")
        ));
    }

    #[test]
    fn paging_end() {
        let counts = |total, pages| Paging {
            total,
            pages,
            ..Paging::default()
        };
        assert!(!more_pages(0, 100, 1, Some(&counts(Some(500), None))));
        assert!(more_pages(50, 50, 1, Some(&counts(Some(120), None))));
        assert!(!more_pages(100, 200, 2, Some(&counts(Some(200), None))));
        assert!(more_pages(100, 100, 1, Some(&counts(None, Some(2)))));
        assert!(!more_pages(100, 200, 2, Some(&counts(None, Some(2)))));
        assert!(more_pages(100, 100, 1, None));
        assert!(!more_pages(99, 99, 1, None));
        assert!(!more_pages(99, 99, 1, Some(&Paging::default())));
    }
}
