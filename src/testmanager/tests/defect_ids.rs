//! Tests of which defect a result has: `defect_id_for` and
//! [`FailureDetails::defect_id`] read the `defectId` of the latest failed log
//! that carries one.

use super::*;

/// A failed log of the key (and one of another test case) whose `defectId` is `defect`.
fn log_with_defect(n: usize, end: &str, defect: Value) -> Value {
    let mut log = log(n, case(), Value::Null, "Failed", end);
    log["defectId"] = defect;
    log
}

#[tokio::test]
async fn defect_id_comes_from_the_latest_failed_log_that_has_one() {
    let fake = Fake::cloud().await;
    let mut other = log(
        9,
        other_case(1),
        Value::Null,
        "Failed",
        "2024-05-02T00:00:00Z",
    );
    other["defectId"] = json!("ffffffff-0000-0000-0000-000000000001");
    fake.mount_logs(
        vec![
            log_with_defect(
                1,
                "2024-05-01T08:00:00Z",
                json!("0a1b2c3d-0000-0000-0000-000000000001"),
            ),
            log_with_defect(2, "2024-05-01T09:00:00Z", json!(DEFECT)),
            // A later failed run nobody pressed Create Defect on.
            log_with_defect(
                3,
                "2024-05-01T10:00:00Z",
                json!("00000000-0000-0000-0000-000000000000"),
            ),
            other,
        ],
        PagingStyle::Full,
        OnlyFailedFilter::ByResult,
    )
    .await;
    let client = fake.client();
    assert_eq!(
        client
            .defect_id_for(project(), &key(None))
            .await
            .unwrap()
            .as_deref(),
        Some(DEFECT)
    );
}

#[tokio::test]
async fn no_defect_on_any_log_is_none() {
    for none in [
        json!("00000000-0000-0000-0000-000000000000"),
        json!(""),
        Value::Null,
    ] {
        let fake = Fake::cloud().await;
        fake.mount_logs(
            vec![log_with_defect(1, "2024-05-01T08:00:00Z", none.clone())],
            PagingStyle::Full,
            OnlyFailedFilter::ByResult,
        )
        .await;
        assert_eq!(
            fake.client()
                .defect_id_for(project(), &key(None))
                .await
                .unwrap(),
            None,
            "{none}"
        );
    }
}

#[tokio::test]
async fn failure_details_keep_the_logs_defect() {
    for (raw, expected) in [
        (json!(DEFECT), Some(DEFECT)),
        (json!("00000000-0000-0000-0000-000000000000"), None),
    ] {
        let fake = Fake::cloud().await;
        fake.mount_logs(
            vec![log_with_defect(7, "2024-05-01T10:00:00Z", raw)],
            PagingStyle::Full,
            OnlyFailedFilter::ByResult,
        )
        .await;
        fake.mount_case_and_execution().await;
        fake.mount_log_details(7).await;
        let details = fake.fetch_failure().await.unwrap();
        assert_eq!(details.defect_id().as_deref(), expected);
    }
}
