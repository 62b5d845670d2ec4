//! Tests of finding a result's log: paging through the listing, the
//! `onlyFailed` filter, variations, and choosing the latest failed run.

use super::*;

async fn fake_with_logs(logs: Vec<Value>, style: PagingStyle, filter: OnlyFailedFilter) -> Fake {
    let fake = Fake::cloud().await;
    fake.mount_logs(logs, style, filter).await;
    fake.mount_case_and_execution().await;
    // Details for whichever log a test expects; other paths answer 404.
    for n in [1, 2, 3, 4, 5, 7, 250] {
        fake.mount_log_details(n).await;
    }
    fake
}

fn skips(requests: &[Request]) -> Vec<(String, String)> {
    requests
        .iter()
        .map(|r| {
            let q = query(r);
            (
                q.get("skip").cloned().unwrap_or_default(),
                q.get("onlyFailed").cloned().unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn pages_through_three_pages_with_paging_counts() {
    let logs = filler_then_failure(249);
    let fake = fake_with_logs(logs, PagingStyle::Full, OnlyFailedFilter::ByResult).await;
    let details = fake.fetch_failure().await.unwrap();
    assert_eq!(details.log.id, log_id(250));
    let paged = fake.requests_to(&fake.paged_path()).await;
    assert_eq!(
        skips(&paged),
        [("0", "true"), ("100", "true"), ("200", "true")]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
}

#[tokio::test]
async fn pages_through_three_pages_without_paging() {
    let logs = filler_then_failure(249);
    let fake = fake_with_logs(logs, PagingStyle::Missing, OnlyFailedFilter::ByResult).await;
    let details = fake.fetch_failure().await.unwrap();
    assert_eq!(details.log.id, log_id(250));
    assert_eq!(fake.requests_to(&fake.paged_path()).await.len(), 3);

    // Exactly two full pages and no counts: the empty third page ends it.
    let fake = fake_with_logs(
        filler(200),
        PagingStyle::Missing,
        OnlyFailedFilter::ByResult,
    )
    .await;
    let err = fake.fetch_failure().await.unwrap_err();
    assert!(
        matches!(err, TestManagerError::LogNotFound { .. }),
        "{err:?}"
    );
    let listed = skips(&fake.requests_to(&fake.paged_path()).await);
    assert_eq!(
        listed,
        [
            ("0", "true"),
            ("100", "true"),
            ("200", "true"),
            ("0", ""),
            ("100", ""),
            ("200", "")
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
}

#[tokio::test]
async fn latest_failed_run_is_chosen() {
    let logs = vec![
        log(1, case(), Value::Null, "Failed", "2024-05-01T10:00:00Z"),
        log(
            3,
            case(),
            Value::Null,
            "Failed",
            "2024-05-01T12:00:00+02:00",
        ), // 10:00Z, later runId
        log(2, case(), Value::Null, "Failed", "2024-05-01T09:00:00Z"),
        log(4, case(), Value::Null, "Passed", "2024-05-01T11:00:00Z"),
        log(
            5,
            other_case(1),
            Value::Null,
            "Failed",
            "2024-05-02T00:00:00Z",
        ),
    ];
    let fake = fake_with_logs(logs, PagingStyle::Full, OnlyFailedFilter::ByResult).await;
    let details = fake.fetch_failure().await.unwrap();
    assert_eq!(details.log.id, log_id(3));
    assert_eq!(details.test_case.obj_key.as_deref(), Some("SHOP:42"));
    assert_eq!(details.test_case.labels, ["smoke", "payments"]);
    assert_eq!(
        details.execution.execution_type.as_deref(),
        Some("Automated")
    );
    assert_eq!(details.assertions.len(), 2);
    assert!(!details.assertions[0].succeeded && details.assertions[1].succeeded);
    assert_eq!(
        details.assertions_markdown.as_deref(),
        Some("| assertion |\n| --- |")
    );
    assert_eq!(
        details.robot_log,
        Some(json!({"count": 3, "levels": ["Error"]}))
    );
}

#[tokio::test]
async fn variation_null_and_empty_are_the_same_and_differ_from_named() {
    let logs = vec![
        log(1, case(), Value::Null, "Failed", "2024-05-01T10:00:00Z"),
        log(2, case(), json!(""), "Failed", "2024-05-01T11:00:00Z"),
        log(3, case(), json!("row-2"), "Failed", "2024-05-01T12:00:00Z"),
    ];
    let fake = fake_with_logs(logs, PagingStyle::Full, OnlyFailedFilter::ByResult).await;
    let client = fake.client();
    let none = client.fetch_failure(project(), &key(None)).await.unwrap();
    assert_eq!(none.log.id, log_id(2));
    let empty = client
        .fetch_failure(project(), &key(Some("")))
        .await
        .unwrap();
    assert_eq!(empty.log.id, log_id(2));
    let row2 = client
        .fetch_failure(project(), &key(Some("row-2")))
        .await
        .unwrap();
    assert_eq!(row2.log.id, log_id(3));
    let err = client
        .fetch_failure(project(), &key(Some("row-3")))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, TestManagerError::LogNotFound { variation: Some(v), .. } if v == "row-3"),
        "{err:?}"
    );
    assert!(err.to_string().contains("row-3"));
}

#[tokio::test]
async fn failed_result_without_has_error_is_found() {
    let mut failed = log(1, case(), Value::Null, "failed", "2024-05-01T10:00:00Z");
    failed["hasError"] = json!(false);
    for filter in [OnlyFailedFilter::ByResult, OnlyFailedFilter::ByHasError] {
        let fake = fake_with_logs(vec![failed.clone()], PagingStyle::Full, filter).await;
        let details = fake.fetch_failure().await.unwrap();
        assert_eq!(details.log.id, log_id(1));
        assert_eq!(details.log.has_error, Some(false));
    }
}

#[tokio::test]
async fn passed_only_is_not_failed() {
    let logs = vec![
        log(1, case(), Value::Null, "Passed", "2024-05-01T10:00:00Z"),
        log(2, case(), Value::Null, "None", "2024-05-01T09:00:00Z"),
    ];
    let fake = fake_with_logs(logs, PagingStyle::Full, OnlyFailedFilter::ByResult).await;
    let err = fake.fetch_failure().await.unwrap_err();
    assert!(
        matches!(&err, TestManagerError::NotFailed { result } if result == "Passed"),
        "{err:?}"
    );
}

#[tokio::test]
async fn no_log_at_all_is_log_not_found() {
    let fake = fake_with_logs(filler(5), PagingStyle::Full, OnlyFailedFilter::ByResult).await;
    let err = fake.fetch_failure().await.unwrap_err();
    match err {
        TestManagerError::LogNotFound {
            execution: e,
            test_case,
            variation,
        } => {
            assert_eq!((e, test_case, variation), (execution(), case(), None));
        }
        other => panic!("{other:?}"),
    }
    // No details were fetched for a log that does not exist.
    assert!(fake
        .received()
        .await
        .iter()
        .all(|r| !r.url.path().contains("/assertions")));
}
