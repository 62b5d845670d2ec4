//! Tests of how Test Manager's failures surface as [`TestManagerError`]:
//! unknown objects, server errors, unreachable hosts, timeouts, unreadable bodies.

use super::*;

#[tokio::test]
async fn unknown_execution_or_test_case_is_not_found() {
    // The real service lists nothing for an unknown execution and 404s the object.
    let fake = Fake::cloud().await;
    fake.mount_logs(Vec::new(), PagingStyle::Full, OnlyFailedFilter::ByResult)
        .await;
    fake.answer(
        &format!("testcases/{}", case()),
        ResponseTemplate::new(200).set_body_json(json!({"id": case(), "name": "x"})),
    )
    .await;
    fake.answer(
        &format!("testexecutions/{}", execution()),
        ResponseTemplate::new(404)
            .set_body_json(json!({"errorMessage": "Test execution not found"})),
    )
    .await;
    let err = fake.fetch_failure().await.unwrap_err();
    assert!(
        matches!(&err, TestManagerError::NotFound { what: "test execution", id } if *id == execution().to_string()),
        "{err:?}"
    );

    // Test case unknown: nothing mounted for it, so the fake answers 404.
    let fake = Fake::cloud().await;
    fake.mount_logs(Vec::new(), PagingStyle::Full, OnlyFailedFilter::ByResult)
        .await;
    fake.answer(
        &format!("testexecutions/{}", execution()),
        ResponseTemplate::new(200).set_body_json(json!({"id": execution(), "name": "x"})),
    )
    .await;
    let err = fake.fetch_failure().await.unwrap_err();
    assert!(
        matches!(
            &err,
            TestManagerError::NotFound {
                what: "test case",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn server_error_with_html_names_the_call() {
    let fake = Fake::cloud().await;
    fake.mount_case_and_execution().await;
    fake.get(
        fake.paged_path(),
        api(&fake.state, |_| {
            ResponseTemplate::new(500).set_body_raw(
                "<html><head><title>500 Internal Server Error</title></head><body>oops</body></html>",
                "text/html",
            )
        }),
    )
    .await;
    let err = fake.fetch_failure().await.unwrap_err();
    match &err {
        TestManagerError::Upstream {
            call,
            status,
            detail,
        } => {
            assert_eq!((*call, *status), ("GET testcaselogs paged", 500));
            assert!(detail.contains("500 Internal Server Error"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.is_transient());
    assert_eq!(err.upstream_call(), Some("GET testcaselogs paged"));
    assert!(err.to_string().contains("GET testcaselogs paged"));
}

#[tokio::test]
async fn unreachable_host_is_transient_and_shows_no_credentials() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = Url::parse(&format!("http://admin:hunter2@127.0.0.1:{port}/tm/")).unwrap();
    let client = TestManagerClient::new(
        reqwest::Client::new(),
        TestManagerConnection {
            token_url: base.join("connect/token").unwrap(),
            base_url: base,
            client_id: CLIENT_ID.into(),
            client_secret: SECRET.into(),
            scope: SCOPE.into(),
        },
    );
    let err = client.probe().await.unwrap_err();
    assert!(
        matches!(
            err,
            TestManagerError::Unreachable {
                call: "POST token",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());
    let shown = format!("{err} {err:?}");
    for secret in ["hunter2", SECRET] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[tokio::test]
async fn client_timeout_is_reported_per_call() {
    let slow = Fake::start("", Duration::from_millis(500)).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let err = TestManagerClient::new(http, slow.connection())
        .probe()
        .await
        .unwrap_err();
    assert!(
        matches!(err, TestManagerError::Timeout { call: "POST token" }),
        "{err:?}"
    );
    assert!(err.is_transient());
}

#[tokio::test]
async fn unreadable_body_is_a_decode_error() {
    let fake = Fake::cloud().await;
    fake.mount_one_failed_log().await;
    fake.answer(
        &format!("testcases/{}", case()),
        ResponseTemplate::new(200).set_body_json(json!({"id": "not-a-uuid"})),
    )
    .await;
    fake.mount_case_and_execution().await;
    let err = fake.fetch_failure().await.unwrap_err();
    assert!(
        matches!(
            err,
            TestManagerError::Decode {
                call: "GET testcases",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_transient());
}
