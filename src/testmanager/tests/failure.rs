//! Tests of gathering a failure's details: the answer shapes tolerated, and
//! independent calls overlapping.

use super::*;

#[tokio::test]
async fn markdown_as_plain_text_and_robot_logs_404() {
    let fake = Fake::cloud().await;
    fake.mount_one_failed_log().await;
    fake.mount_case_and_execution().await;
    // Assertions in a paged envelope; markdown as text; robot logs not mounted (404).
    fake.get(
        fake.log_path(1, "assertions"),
        api(&fake.state, |_| {
            ResponseTemplate::new(200).set_body_json(json!({
                "data": [{"id": Uuid::from_u128(9), "message": "m", "succeeded": null}],
                "paging": {"total": 1}
            }))
        }),
    )
    .await;
    fake.mount_markdown(
        1,
        ResponseTemplate::new(200).set_body_raw("# Failed\n- cart total", "text/plain"),
    )
    .await;
    let details = fake.fetch_failure().await.unwrap();
    assert_eq!(
        details.assertions_markdown.as_deref(),
        Some("# Failed\n- cart total")
    );
    assert_eq!(details.robot_log, None);
    assert_eq!(details.assertions.len(), 1);
    assert!(!details.assertions[0].succeeded);
    assert_eq!(
        fake.requests_to(&fake.log_path(1, "robotlogs/info"))
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn independent_calls_overlap() {
    let fake = Fake::standard(
        "/acme/DefaultTenant/testmanager_",
        Duration::from_millis(200),
    )
    .await;
    let client = fake.client();
    let started = Instant::now();
    client.fetch_failure(project(), &key(None)).await.unwrap();
    let elapsed = started.elapsed();
    // 7 calls of 200 ms: ~1400 ms one after another, ~600 ms in three rounds.
    assert!(elapsed < Duration::from_millis(1200), "took {elapsed:?}");
    assert_eq!(fake.received().await.len(), 7);
}
