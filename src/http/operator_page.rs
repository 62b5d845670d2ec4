//! The operator's page as HTML: [`render`] turns the status view model into a
//! plain server-rendered page — no script, one inline style sheet (allowed by
//! its hash in the Content-Security-Policy, see [`super::operator`]).
//!
//! Written with `maud`: its `html!` templates are checked at compile time and
//! escape every interpolated value by construction, so text from Test Manager
//! or Jira (summaries, problem details, file names, error messages) can never
//! become markup; only [`STYLE`], a constant, is inserted unescaped. Links are
//! rendered only for `http`/`https` URLs.

use crate::status::checks::{FileCheck, Verdict};
use crate::status::journal::{Answer, JournalEntry, ResultRef};
use crate::status::view::{
    DependencyRow, IssueView, MappingRow, ResultRow, StateCount, StatusView,
};
use chrono::{DateTime, Utc};
use maud::{html, Markup, PreEscaped, DOCTYPE};

/// How often the browser reloads the page, in seconds.
pub const REFRESH_SECS: u32 = 30;

/// The page's only style sheet, inlined and allowed by its hash.
pub const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1b1b1b}\
h1{font-size:1.4rem;margin:0}h2{font-size:1.1rem;margin:1.6rem 0 .4rem}\
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:.25rem .5rem;\
text-align:left;vertical-align:top}th{background:#f3f3f3}.ok{color:#176117}\
.bad{color:#a11}.note{color:#555}.detail{white-space:pre-wrap}code{font-size:.9em}";

/// The whole page for `view`.
pub fn render(view: &StatusView) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta http-equiv="refresh" content=(REFRESH_SECS);
                title { "tm-defect-bridge: operator" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    h1 { "tm-defect-bridge" }
                    p.note {
                        "As of " (time(view.generated_at)) "; reloads every " (REFRESH_SECS)
                        " s. The same data as JSON: " a href="/operator.json" { "/operator.json" } "."
                    }
                }
                @for problem in &view.unavailable {
                    p.bad.unavailable { "Could not read " (problem) }
                }
                (dependencies(view))
                (mappings(view))
                (failures(view))
                (answers(&view.answers))
                (results(view))
                (evidence(view))
            }
        }
    }
}

fn dependencies(view: &StatusView) -> Markup {
    html! {
        section #readiness {
            h2 { "Readiness: " (verdict_word(view.ready, "ready", "not ready")) }
            table {
                tr { th { "Dependency" } th { "Ready" } th { "Last answered" } th { "Last error" } }
                @for dependency in &view.dependencies { (dependency_row(dependency)) }
            }
        }
    }
}

fn dependency_row(d: &DependencyRow) -> Markup {
    html! {
        tr.dependency data-name=(d.name) {
            td { (d.name) }
            td { (verdict_word(d.ready, "ready", "not ready")) }
            td { (ago(d.last_ok_secs_ago)) }
            td.detail { (d.last_error.as_deref().unwrap_or("")) }
        }
    }
}

fn mappings(view: &StatusView) -> Markup {
    html! {
        section #mappings {
            h2 { "Mappings" }
            @if let Some(run) = &view.last_check {
                p.note {
                    "Last check of the mappings: " (run.trigger) " at " (time(run.at)) ", "
                    @if run.served { "served." } @else { span.bad { "refused; the previous mappings stay in force." } }
                }
            }
            @if view.mappings.is_empty() {
                p.bad { "No mapping is in force: every webhook call is answered 404." }
            } @else {
                table {
                    tr {
                        th { "Route" } th { "File" } th { "Test Manager project" } th { "Jira" }
                        th { "KPI cache" } th { "Last check" }
                    }
                    @for mapping in &view.mappings { (mapping_row(mapping)) }
                }
            }
            @for refused in &view.refused_files {
                p.bad.refused-file {
                    "Not in force: " code { (refused.file) } ": " (check(&refused.check))
                }
            }
        }
    }
}

fn mapping_row(m: &MappingRow) -> Markup {
    let cache = &m.kpi_cache;
    html! {
        tr.mapping data-route=(m.route) {
            td { code { (m.route) } @if let Some(name) = &m.name { br; (name) } }
            td { code { (m.file) } }
            td { code { (m.test_manager_project) } @if let Some(prefix) = &m.prefix { " (" (prefix) ")" } }
            td { (m.jira_project) " / " (m.issue_type) }
            td {
                @match cache.age_secs {
                    Some(age) => { "loaded " (age) " s ago" },
                    None => { "not loaded since start-up" },
                }
                @if cache.fresh { ", fresh" }
                @if cache.backing_off { span.bad { ", backing off after a failed count" } }
            }
            td.detail {
                @match &m.check {
                    Some(found) => { (check(found)) },
                    None => { "none recorded" },
                }
            }
        }
    }
}

fn check(found: &FileCheck) -> Markup {
    html! {
        @match &found.verdict {
            Verdict::Passed => { span.ok { "passed" } },
            Verdict::PassedWithoutJira => { span.ok { "passed" } " (not compared with Jira)" },
            Verdict::Unverified { reason } => { "passed, not verified against Jira: " (reason) },
            Verdict::Failed { problems } => {
                span.bad { "failed:" }
                @for problem in problems { br; (problem) }
            },
        }
        " (" (found.trigger) ", " (time(found.at)) ")"
    }
}

fn failures(view: &StatusView) -> Markup {
    let failures = &view.failures;
    html! {
        section #failures {
            h2 { "Failures" }
            @if failures.answers.is_empty() && failures.unconfirmed.is_empty() {
                p.note { "None recorded." }
            }
            @if !failures.answers.is_empty() {
                p.note {
                    "Webhook calls answered with a problem, newest first — refused ones "
                    "(wrong secret, unknown path, unreadable body, overload) and failed Create Defects:"
                }
                table {
                    tr { th { "Time" } th { "Request" } th { "Result" } th { "Problem" } }
                    @for entry in &failures.answers {
                        @if let Answer::Problem { status, title, detail } = &entry.answer {
                            tr.failure data-status=(status) {
                                td { (time(entry.at)) }
                                td { code { (entry.request.as_str()) } }
                                td { (maybe_result_ref(entry.result.as_ref())) }
                                td.detail { strong { (status) " " (title) } br; (detail) }
                            }
                        }
                    }
                }
            }
            @if !failures.unconfirmed.is_empty() {
                p { "Creates Jira did not confirm (the next Create Defect looks for the issue first):" }
                table {
                    tr { th { "Time" } th { "Route" } th { "Result" } th { "Reason" } }
                    @for row in &failures.unconfirmed {
                        tr.unconfirmed {
                            td { (time(row.updated_at)) }
                            td { code { (row.route) } }
                            td { (result_ref(&row.result)) }
                            td.detail { (row.last_error.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    }
}

fn answers(entries: &[JournalEntry]) -> Markup {
    html! {
        section #answers {
            h2 { "Create Defect answers (this process, newest first)" }
            @if entries.is_empty() {
                p.note { "None since start-up." }
            } @else {
                table {
                    tr { th { "Time" } th { "Route" } th { "Result" } th { "Outcome" } th { "Issue" } }
                    @for entry in entries {
                        tr.answer {
                            td { (time(entry.at)) }
                            td { code { (entry.route) } }
                            td { (maybe_result_ref(entry.result.as_ref())) }
                            @match &entry.answer {
                                Answer::Issue { outcome, issue_key, browse_url, summary } => {
                                    td { (outcome) }
                                    td { (link(browse_url, issue_key)) " " (summary) }
                                },
                                Answer::Problem { status, title, .. } => {
                                    td.bad { "failed" }
                                    td { (status) " " (title) }
                                },
                            }
                        }
                    }
                }
            }
        }
    }
}

fn results(view: &StatusView) -> Markup {
    let results = &view.results;
    html! {
        section #results {
            h2 { "Recent results (ledger, all replicas)" }
            p.note { "Entries: " (counts(&results.counts)) }
            @if !results.recent.is_empty() {
                table {
                    tr { th { "Updated" } th { "Route" } th { "Result" } th { "Outcome" } th { "Issue" } }
                    @for row in &results.recent { (result_row(row)) }
                }
            }
        }
    }
}

fn result_row(row: &ResultRow) -> Markup {
    html! {
        tr.result data-state=(row.state) {
            td { (time(row.updated_at)) }
            td { code { (row.route) } }
            td { (result_ref(&row.result)) }
            td {
                (row.state)
                @if row.attempts > 1 { " after " (row.attempts) " attempts" }
                @if let Some(error) = &row.last_error { br; span.detail { (error) } }
            }
            td { @if let Some(issue) = &row.issue { (issue_cell(issue, row.linked_back)) } }
        }
    }
}

fn issue_cell(issue: &IssueView, linked_back: bool) -> Markup {
    html! {
        (link(&issue.browse_url, &issue.key)) " " (issue.summary)
        @if let Some(status) = &issue.status { " [" (status) "]" }
        @if !linked_back { span.note { " (no link back to Test Manager yet)" } }
    }
}

fn evidence(view: &StatusView) -> Markup {
    let queue = &view.evidence;
    html! {
        section #evidence {
            h2 { "Evidence queue" }
            p.note { "Rows: " (counts(&queue.counts)) }
            @if !queue.outstanding.is_empty() {
                table {
                    tr { th { "Queued" } th { "Issue" } th { "File" } th { "State" } th { "Attempts" } th { "Last error" } }
                    @for row in &queue.outstanding {
                        tr.evidence data-state=(row.state) {
                            td { (time(row.queued_at)) }
                            td { (row.issue_key) }
                            td {
                                @if row.file_name.is_empty() { "a step" } @else { code { (row.file_name) } }
                                " (" (row.kind) ")"
                            }
                            td { (row.state) }
                            td { (row.attempts) }
                            td.detail { (row.last_error.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    }
}

fn counts(counts: &[StateCount]) -> Markup {
    html! {
        @if counts.is_empty() { "none" }
        @for (i, count) in counts.iter().enumerate() {
            @if i > 0 { ", " }
            (count.state) " " (count.count)
        }
    }
}

fn result_ref(result: &ResultRef) -> Markup {
    html! {
        "execution " code { (result.test_execution_id) } br;
        "test case " code { (result.test_case_id) }
        @if let Some(variation) = &result.variation_id { br; "variation " code { (variation) } }
    }
}

/// The result a journal entry was about, or why none is known.
fn maybe_result_ref(result: Option<&ResultRef>) -> Markup {
    html! {
        @match result {
            Some(result) => { (result_ref(result)) },
            None => { span.note { "unknown (refused before the body was parsed)" } },
        }
    }
}

/// A link for an `http`/`https` URL; any other URL is shown as text only.
fn link(url: &str, text: &str) -> Markup {
    let web = url.starts_with("https://") || url.starts_with("http://");
    html! {
        @if web { a href=(url) { (text) } } @else { (text) }
    }
}

fn verdict_word(ok: bool, yes: &str, no: &str) -> Markup {
    html! {
        @if ok { span.ok { (yes) } } @else { span.bad { (no) } }
    }
}

fn ago(secs: Option<u64>) -> Markup {
    html! {
        @match secs {
            Some(secs) => { (secs) " s ago" },
            None => { "not since start-up" },
        }
    }
}

fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

#[cfg(test)]
mod tests;
