//! The page renders every section from the view model and escapes what
//! Test Manager and Jira wrote.

use super::*;
use crate::status::checks::CheckRun;
use crate::status::journal::RedactedRequest;
use crate::status::view::{EvidenceQueueView, EvidenceRowView, Failures, KpiCacheView, Results};
use uuid::Uuid;

const HOSTILE: &str = "<script>alert(1)</script>";

fn result() -> ResultRef {
    ResultRef {
        test_execution_id: Uuid::nil(),
        test_case_id: Uuid::nil(),
        variation_id: Some(HOSTILE.into()),
    }
}

/// A call refused at the edge: no result, a path as Test Manager sent it.
fn refused() -> JournalEntry {
    JournalEntry {
        at: Utc::now(),
        route: HOSTILE.into(),
        request: RedactedRequest::new("POST", &format!("/hooks/{HOSTILE}/[redacted]")),
        result: None,
        answer: Answer::Problem {
            status: 401,
            title: "Unauthorized".into(),
            detail: "the webhook secret is missing or wrong".into(),
        },
    }
}

/// A view in which every value from Test Manager or Jira is hostile markup.
fn hostile_view() -> StatusView {
    let failed = JournalEntry {
        at: Utc::now(),
        route: "shop".into(),
        request: RedactedRequest::new("POST", "/hooks/shop/[redacted]/defects"),
        result: Some(result()),
        answer: Answer::Problem {
            status: 502,
            title: "Jira refused the request".into(),
            detail: format!("Jira refused create issue (400): {HOSTILE}"),
        },
    };
    let created = JournalEntry {
        answer: Answer::Issue {
            outcome: "created".into(),
            issue_key: "SHOP-1".into(),
            browse_url: "javascript:alert(1)".into(),
            summary: HOSTILE.into(),
        },
        ..failed.clone()
    };
    let row = ResultRow {
        updated_at: Utc::now(),
        route: "shop".into(),
        result: result(),
        state: "uncertain".into(),
        attempts: 2,
        issue: Some(IssueView {
            key: "SHOP-2".into(),
            browse_url: "https://jira.example/browse/SHOP-2\"><script>alert(1)</script>".into(),
            summary: HOSTILE.into(),
            status: Some(HOSTILE.into()),
        }),
        linked_back: false,
        last_error: Some(HOSTILE.into()),
    };
    StatusView {
        generated_at: Utc::now(),
        ready: false,
        dependencies: vec![DependencyRow {
            name: "jira".into(),
            ready: false,
            last_ok_secs_ago: None,
            last_error: Some(HOSTILE.into()),
        }],
        last_check: Some(CheckRun {
            at: Utc::now(),
            trigger: "SIGHUP".into(),
            served: false,
        }),
        mappings: vec![MappingRow {
            route: "shop".into(),
            file: "mappings/shop.toml".into(),
            name: Some(HOSTILE.into()),
            test_manager_project: Uuid::nil(),
            prefix: None,
            jira_project: "SHOP".into(),
            issue_type: HOSTILE.into(),
            kpi_cache: KpiCacheView {
                age_secs: Some(12),
                fresh: true,
                backing_off: false,
            },
            check: Some(FileCheck {
                at: Utc::now(),
                trigger: "start-up".into(),
                verdict: Verdict::Failed {
                    problems: vec![HOSTILE.into()],
                },
            }),
        }],
        refused_files: Vec::new(),
        failures: Failures {
            answers: vec![refused(), failed.clone()],
            unconfirmed: vec![row.clone()],
        },
        answers: vec![created, failed],
        results: Results {
            counts: vec![StateCount {
                state: "uncertain".into(),
                count: 1,
            }],
            recent: vec![row],
        },
        evidence: EvidenceQueueView {
            counts: Vec::new(),
            outstanding: vec![EvidenceRowView {
                queued_at: Utc::now(),
                issue_key: "SHOP-2".into(),
                route: "shop".into(),
                kind: "attachment".into(),
                file_name: HOSTILE.into(),
                state: "failed".into(),
                attempts: 5,
                last_error: Some(HOSTILE.into()),
            }],
        },
        unavailable: vec![HOSTILE.into()],
    }
}

#[test]
fn values_from_test_manager_and_jira_are_rendered_escaped() {
    let page = render(&hostile_view()).into_string();
    assert!(!page.contains("<script"), "{page}");
    assert!(
        !page.contains("javascript:"),
        "a non-web URL is not a link: {page}"
    );
    let escaped = "&lt;script&gt;alert(1)&lt;/script&gt;";
    // Summary, status, error, problem detail, file name, variation, check problem …
    assert!(page.matches(escaped).count() >= 12, "{page}");
    assert!(
        page.contains("href=\"https://jira.example/browse/SHOP-2&quot;&gt;&lt;script&gt;"),
        "an attribute cannot be closed from a value: {page}"
    );
}

#[test]
fn the_page_shows_each_section() {
    let page = render(&hostile_view()).into_string();
    for id in [
        "readiness",
        "mappings",
        "failures",
        "answers",
        "results",
        "evidence",
    ] {
        assert!(page.contains(&format!("<section id=\"{id}\">")), "{id}");
    }
    assert!(page.contains("Jira refused create issue (400)"));
    assert!(page.contains("loaded 12 s ago, fresh"));
    assert!(page.contains("refused; the previous mappings stay in force."));
    assert!(page.contains(&format!("<style>{STYLE}</style>")));
}

#[test]
fn a_refused_call_is_listed_under_failures_with_its_request_and_no_result() {
    let page = render(&hostile_view()).into_string();
    let failures = &page[page.find("<section id=\"failures\">").unwrap()..];
    let failures = &failures[..failures.find("</section>").unwrap()];
    let refusal = failures
        .split("<tr class=\"failure\" data-status=\"401\">")
        .nth(1)
        .expect("the refusal has its row")
        .split("</tr>")
        .next()
        .unwrap();
    assert!(
        refusal.contains("POST /hooks/&lt;script&gt;alert(1)&lt;/script&gt;/[redacted]"),
        "{refusal}"
    );
    assert!(
        refusal.contains("unknown (refused before the body was parsed)"),
        "{refusal}"
    );
    assert!(refusal.contains("401 Unauthorized"), "{refusal}");
    assert!(
        failures.contains("<tr class=\"failure\" data-status=\"502\">"),
        "the failed Create Defect too: {failures}"
    );
}
