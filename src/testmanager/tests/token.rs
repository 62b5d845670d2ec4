//! Tests of the bearer token: how it is requested, reused and renewed, and
//! how refusals by the identity server or the API are reported.

use super::*;

#[tokio::test]
async fn token_request_carries_client_credentials_and_is_reused() {
    let fake = Fake::standard("/acme/DefaultTenant/testmanager_", Duration::ZERO).await;
    let client = fake.client();
    for _ in 0..3 {
        client.fetch_failure(project(), &key(None)).await.unwrap();
    }
    let tokens = fake.token_requests().await;
    assert_eq!(tokens.len(), 1, "one token for several fetches");
    assert_eq!(tokens[0].method.as_str(), "POST");
    assert_eq!(
        tokens[0].headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    let form = form(&tokens[0]);
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["client_id"], CLIENT_ID);
    assert_eq!(form["client_secret"], SECRET);
    assert_eq!(form["scope"], SCOPE);
    let api_calls: Vec<Request> = fake
        .received()
        .await
        .into_iter()
        .filter(|r| r.url.path().contains("/api/v2/"))
        .collect();
    assert_eq!(api_calls.len(), 3 * 6);
    assert!(api_calls.iter().all(|r| bearer(r) == "Bearer tok-1"));
}

#[tokio::test]
async fn short_lived_token_is_renewed_before_it_expires() {
    let fake = Fake::standard("", Duration::ZERO).await;
    // 2 s lifetime: renewal margin is 10% (0.2 s), not 60 s.
    fake.state.expires_in.store(2, Ordering::SeqCst);
    let client = fake.client();
    client.probe().await.unwrap();
    client.probe().await.unwrap();
    assert_eq!(fake.token_requests().await.len(), 1, "still fresh: reused");
    tokio::time::sleep(Duration::from_millis(1900)).await;
    // Still valid at the fake for 0.1 s, but inside the renewal margin.
    client.fetch_failure(project(), &key(None)).await.unwrap();
    assert_eq!(fake.token_requests().await.len(), 2);
    let api_calls: Vec<Request> = fake
        .received()
        .await
        .into_iter()
        .filter(|r| r.url.path().contains("/api/"))
        .collect();
    assert_eq!(api_calls.len(), 6);
    assert!(
        api_calls.iter().all(|r| bearer(r) == "Bearer tok-2"),
        "the near-expiry token was not used for the API"
    );
}

// Several worker threads and a common start, so that callers really do reach
// the token cache together (on one thread they would queue in spawn order).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_callers_share_one_token_request() {
    let fake = Fake::standard("", Duration::from_millis(200)).await;
    let client = Arc::new(fake.client());
    let start = Arc::new(tokio::sync::Barrier::new(20));
    let calls = (0..20).map(|_| {
        let (client, start) = (Arc::clone(&client), Arc::clone(&start));
        tokio::spawn(async move {
            start.wait().await;
            client.fetch_failure(project(), &key(None)).await
        })
    });
    for result in futures::future::join_all(calls).await {
        result.unwrap().unwrap();
    }
    assert_eq!(fake.token_requests().await.len(), 1);
}

#[tokio::test]
async fn api_401_renews_the_token_and_retries_once() {
    let fake = Fake::standard("", Duration::ZERO).await;
    let client = fake.client();
    client.fetch_failure(project(), &key(None)).await.unwrap();
    fake.state.revoke_all();

    // Three calls overlap in the first phase; all get 401 with tok-1, but only
    // one renewal happens.
    let details = client.fetch_failure(project(), &key(None)).await.unwrap();
    assert_eq!(details.log.id, log_id(7));
    assert_eq!(fake.token_requests().await.len(), 2);

    // One call: exactly one retry, with the new token.
    let case_path = fake.api_path(&format!("testcases/{}", case()));
    let before = fake.requests_to(&case_path).await.len();
    fake.state.revoke_all();
    client.fetch_failure(project(), &key(None)).await.unwrap();
    let case_calls = fake.requests_to(&case_path).await;
    let mine = &case_calls[before..];
    assert_eq!(mine.len(), 2, "one refused call and one retry");
    assert_eq!(bearer(&mine[0]), "Bearer tok-2");
    assert_eq!(bearer(&mine[1]), "Bearer tok-3");
}

#[tokio::test]
async fn api_401_after_renewal_is_an_auth_error() {
    let fake = Fake::start("", Duration::ZERO).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/projects/prefix/SHOP"))
        .respond_with(api(&fake.state, |_| {
            ResponseTemplate::new(200).set_body_json(json!({"id": project()}))
        }))
        .mount(&fake.server)
        .await;
    fake.state.reject_all_tokens.store(true, Ordering::SeqCst);
    let err = fake.client().project_by_prefix("SHOP").await.unwrap_err();
    assert!(matches!(err, TestManagerError::Auth { .. }), "{err:?}");
    let shown = err.to_string();
    assert!(shown.contains("TM.Projects.Read"), "{shown}");
    assert!(shown.contains("/api/v2/projects/prefix/SHOP"), "{shown}");
    assert_eq!(
        fake.requests_to("/api/v2/projects/prefix/SHOP").await.len(),
        2
    );
    assert_eq!(fake.token_requests().await.len(), 2);
}

#[tokio::test]
async fn refused_credentials_name_endpoint_and_code_but_not_secret() {
    let fake = Fake::start("/acme/DefaultTenant/testmanager_", Duration::ZERO).await;
    let mut connection = fake.connection();
    let wrong_secret = "wrong-secret-Value-999";
    connection.client_secret = wrong_secret.into();
    let client = TestManagerClient::new(reqwest::Client::new(), connection);
    let err = client.probe().await.unwrap_err();
    let shown = err.to_string();
    assert!(matches!(err, TestManagerError::Auth { .. }), "{err:?}");
    assert!(
        shown.contains(&format!(
            "{}/acme/identity_/connect/token",
            fake.server.uri()
        )),
        "{shown}"
    );
    assert!(shown.contains("invalid_client"), "{shown}");
    assert!(!shown.contains(wrong_secret), "{shown}");
    assert!(!format!("{err:?}").contains(wrong_secret));
    assert!(!format!("{client:?}").contains(wrong_secret));
    assert!(!err.is_transient());
}

#[tokio::test]
async fn secret_echoed_by_the_identity_server_is_scrubbed() {
    // Defensive: a misbehaving identity server quoting the request back.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client",
            "error_description": format!("bad secret {SECRET}")
        })))
        .mount(&server)
        .await;
    let base = Url::parse(&server.uri()).unwrap();
    let client = TestManagerClient::new(
        reqwest::Client::new(),
        TestManagerConnection {
            token_url: default_token_url(&base),
            base_url: base,
            client_id: CLIENT_ID.into(),
            client_secret: SECRET.into(),
            scope: SCOPE.into(),
        },
    );
    let shown = client.probe().await.unwrap_err().to_string();
    assert!(
        shown.contains("invalid_client") && !shown.contains(SECRET),
        "{shown}"
    );
}
