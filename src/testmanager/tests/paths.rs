//! Tests of the URLs the client calls, for Automation Cloud and standalone bases.

use super::*;
use std::collections::HashSet;

async fn assert_paths(prefix: &str, token_path: &str) {
    let fake = Fake::standard(prefix, Duration::ZERO).await;
    let details = fake.fetch_failure().await.unwrap();
    assert_eq!(details.log.id, log_id(7));
    let received: HashSet<String> = fake
        .received()
        .await
        .iter()
        .map(|r| match r.url.query() {
            Some(q) => format!("{} {}?{q}", r.method, r.url.path()),
            None => format!("{} {}", r.method, r.url.path()),
        })
        .collect();
    let p = project();
    let (e, c, l) = (execution(), case(), log_id(7));
    let expected: HashSet<String> = [
        format!("POST {token_path}"),
        format!("GET {prefix}/api/v2/{p}/testcaselogs/testexecution/{e}/paged?onlyFailed=true&top=100&skip=0"),
        format!("GET {prefix}/api/v2/{p}/testcases/{c}"),
        format!("GET {prefix}/api/v2/{p}/testexecutions/{e}"),
        format!("GET {prefix}/api/v2/{p}/testcaselogs/{l}/assertions"),
        format!("GET {prefix}/api/v2/{p}/testcaselogs/{l}/assertions/markdown"),
        format!("GET {prefix}/api/v2/{p}/testcaselogs/{l}/robotlogs/info"),
    ]
    .into_iter()
    .collect();
    assert_eq!(received, expected);
}

#[tokio::test]
async fn automation_cloud_base_keeps_org_and_tenant() {
    assert_paths(
        "/acme/DefaultTenant/testmanager_",
        "/acme/identity_/connect/token",
    )
    .await;
}

#[tokio::test]
async fn standalone_base_uses_host_root() {
    assert_paths("", "/identity/connect/token").await;
}

#[tokio::test]
async fn project_by_prefix_has_no_project_in_path() {
    let fake = Fake::cloud().await;
    let at = format!("{}/api/v2/projects/prefix/SHOP", fake.prefix);
    fake.get(
        at.clone(),
        api(&fake.state, |_| {
            ResponseTemplate::new(200).set_body_json(
                json!({"id": project(), "name": "Shop", "projectPrefix": "SHOP", "extra": 1}),
            )
        }),
    )
    .await;
    let client = fake.client();
    let found = client.project_by_prefix("SHOP").await.unwrap();
    assert_eq!(found.id, project());
    assert_eq!(found.project_prefix.as_deref(), Some("SHOP"));
    assert_eq!(fake.requests_to(&at).await.len(), 1);
    let err = client.project_by_prefix("NOPE").await.unwrap_err();
    assert!(
        matches!(err, TestManagerError::NotFound { what: "project", ref id } if id == "NOPE"),
        "{err:?}"
    );
}
