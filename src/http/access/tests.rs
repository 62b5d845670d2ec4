//! The allow-lists' decisions per route group, client and forwarding header.

use super::*;

fn policy(operations: &[&str], trusted: &[&str]) -> AccessPolicy {
    AccessPolicy {
        settings: AccessSettings {
            operations: Networks::parse(operations).unwrap(),
            trusted_proxies: Networks::parse(trusted).unwrap(),
            ..Default::default()
        },
    }
}

fn ip(text: &str) -> Option<IpAddr> {
    Some(text.parse().unwrap())
}

fn request<'r>(path: &'r str, peer: Option<IpAddr>, forwarded_for: &[&'r str]) -> Request<'r> {
    Request {
        path,
        peer,
        forwarding: Forwarding {
            x_forwarded_for: forwarded_for.to_vec(),
            ..Default::default()
        },
        authorization: None,
    }
}

#[test]
fn routes_fall_in_their_groups() {
    assert_eq!(RouteGroup::of("/hooks"), Some(RouteGroup::Hooks));
    assert_eq!(RouteGroup::of("/hooks/shop/kpis"), Some(RouteGroup::Hooks));
    assert_eq!(RouteGroup::of("/jira/webhook"), Some(RouteGroup::Jira));
    assert_eq!(
        RouteGroup::of("/jira/webhook/s3cret"),
        Some(RouteGroup::Jira)
    );
    assert_eq!(RouteGroup::of("/metrics"), Some(RouteGroup::Operations));
    assert_eq!(RouteGroup::of("/readyz"), Some(RouteGroup::Operations));
    assert_eq!(RouteGroup::of("/healthz"), None);
    assert_eq!(RouteGroup::of("/openapi.json"), None);
    assert_eq!(RouteGroup::of("/"), Some(RouteGroup::Operator));
    assert_eq!(RouteGroup::of("/operator.json"), Some(RouteGroup::Operator));
    assert_eq!(RouteGroup::of("/hooksx"), None);
}

#[test]
fn the_path_is_classified_as_the_router_decodes_it() {
    let decoded = |uri: &str| {
        let request = actix_web::test::TestRequest::get()
            .uri(uri)
            .to_srv_request();
        routed_path(request.request()).to_owned()
    };
    assert_eq!(decoded("/%6Fperator.json"), "/operator.json");
    assert_eq!(decoded("/%6d%65trics?x=%41"), "/metrics");
    assert_eq!(decoded("/%68ooks/shop/a%2Fb"), "/hooks/shop/a%2Fb");
    assert_eq!(
        RouteGroup::of(&decoded("/%72eadyz")),
        Some(RouteGroup::Operations)
    );
}

#[actix_web::test]
async fn an_encoded_path_is_refused_like_the_plain_one() {
    use actix_web::{test, App, HttpResponse};
    let app = test::init_service(
        App::new()
            .wrap(actix_web::middleware::from_fn(guard))
            .app_data(web::Data::new(policy(&["10.0.0.0/8"], &[])))
            .route("/metrics", web::get().to(HttpResponse::Ok))
            .route("/operator.json", web::get().to(HttpResponse::Ok)),
    )
    .await;
    let status_from = |peer: &str, uri: &str| {
        let request = test::TestRequest::get()
            .uri(uri)
            .peer_addr(format!("{peer}:4711").parse().unwrap())
            .to_request();
        let app = &app;
        async move { test::call_service(app, request).await.status() }
    };
    for uri in [
        "/metrics",
        "/%6Detrics",
        "/operator.json",
        "/%6Fperator.json",
    ] {
        assert_eq!(status_from("10.1.1.1", uri).await, StatusCode::OK, "{uri}");
        assert_eq!(
            status_from("203.0.113.9", uri).await,
            StatusCode::FORBIDDEN,
            "{uri}"
        );
    }
}

#[test]
fn an_empty_list_allows_everyone() {
    let open = policy(&[], &[]);
    assert!(open
        .check(&request("/hooks/shop", ip("203.0.113.9"), &[]))
        .is_ok());
    assert!(open.check(&request("/metrics", None, &[])).is_ok());
}

#[test]
fn a_listed_group_refuses_others_and_names_the_key() {
    let closed = policy(&["10.0.0.0/8"], &[]);
    assert!(closed
        .check(&request("/metrics", ip("10.1.1.1"), &[]))
        .is_ok());
    let refused = closed
        .check(&request("/readyz", ip("127.0.0.1"), &[]))
        .unwrap_err();
    assert_eq!(refused.status, 403);
    assert!(
        refused.detail.contains("`access.operations`"),
        "{}",
        refused.detail
    );
    assert!(closed
        .check(&request("/healthz", ip("127.0.0.1"), &[]))
        .is_ok());
    assert!(closed
        .check(&request("/hooks/shop", ip("127.0.0.1"), &[]))
        .is_ok());
}

#[test]
fn forwarded_for_counts_only_from_a_trusted_proxy() {
    let behind_proxy = policy(&["10.0.0.0/8"], &["127.0.0.1/32"]);
    assert!(behind_proxy
        .check(&request("/metrics", ip("127.0.0.1"), &["10.2.3.4"]))
        .is_ok());
    let spoofed = policy(&["10.0.0.0/8"], &[]);
    assert!(spoofed
        .check(&request("/metrics", ip("127.0.0.1"), &["10.2.3.4"]))
        .is_err());
}

#[test]
fn the_operator_page_is_not_opened_by_an_empty_list_nor_a_proxy_on_loopback() {
    let open = policy(&[], &[]);
    assert!(open
        .check(&request("/metrics", ip("203.0.113.9"), &[]))
        .is_ok());
    assert!(open.check(&request("/", ip("127.0.0.1"), &[])).is_ok());
    let remote = open
        .check(&request("/", ip("203.0.113.9"), &[]))
        .unwrap_err();
    assert_eq!(remote.status, 403);
    let through_local_proxy = open
        .check(&request(
            "/operator.json",
            ip("127.0.0.1"),
            &["203.0.113.9"],
        ))
        .unwrap_err();
    assert!(through_local_proxy.detail.contains("proxy"));
    let forwarded = Request {
        forwarding: Forwarding {
            forwarded: vec!["for=203.0.113.9"],
            ..Default::default()
        },
        ..request("/", ip("127.0.0.1"), &[])
    };
    assert!(open.check(&forwarded).is_err());

    let trusted_local_proxy = policy(&[], &["127.0.0.1/32"]);
    assert!(trusted_local_proxy
        .check(&request("/", ip("127.0.0.1"), &["203.0.113.9"]))
        .is_err());
}

#[test]
fn any_forwarding_header_keeps_the_loopback_default_shut_whoever_the_peer_is() {
    for trusted in [&[][..], &["127.0.0.1/32"][..]] {
        let open = policy(&[], trusted);
        let relayed = [
            Forwarding {
                x_forwarded_for: vec!["127.0.0.1"],
                ..Default::default()
            },
            Forwarding {
                forwarded: vec!["for=203.0.113.9"],
                ..Default::default()
            },
            Forwarding {
                forwarded: vec!["proto=https"],
                ..Default::default()
            },
            Forwarding {
                x_real_ip: true,
                ..Default::default()
            },
        ];
        for forwarding in relayed {
            let request = Request {
                forwarding: forwarding.clone(),
                ..request("/operator.json", ip("127.0.0.1"), &[])
            };
            let refused = open.check(&request).unwrap_err();
            assert_eq!(refused.status, 403, "{trusted:?} {forwarding:?}");
        }
        assert!(open.check(&request("/", ip("127.0.0.1"), &[])).is_ok());
    }
}

#[test]
fn forwarded_from_a_trusted_proxy_names_the_client_for_the_allow_lists() {
    let behind_proxy = policy(&["127.0.0.1/32", "10.0.0.0/8"], &["127.0.0.1/32"]);
    let from = |client: &'static str| Request {
        forwarding: Forwarding {
            forwarded: vec![client],
            ..Default::default()
        },
        ..request("/metrics", ip("127.0.0.1"), &[])
    };
    assert!(behind_proxy.check(&from("for=10.2.3.4")).is_ok());
    let refused = behind_proxy.check(&from("for=203.0.113.9")).unwrap_err();
    assert!(refused.detail.contains("203.0.113.9"), "{}", refused.detail);
    assert!(behind_proxy.check(&from("for=unknown")).is_err());
}

#[test]
fn a_listed_peer_relaying_for_others_does_not_open_the_operator_page() {
    let listed = policy(&["127.0.0.1/32"], &[]);
    assert!(listed.check(&request("/", ip("127.0.0.1"), &[])).is_ok());
    let refused = listed
        .check(&request("/", ip("127.0.0.1"), &["203.0.113.9"]))
        .unwrap_err();
    assert_eq!(refused.status, 403);
    assert!(
        refused.detail.contains("`access.trusted_proxies`"),
        "{}",
        refused.detail
    );
    // The other operations routes keep the plain allow-list rule.
    assert!(listed
        .check(&request("/metrics", ip("127.0.0.1"), &["203.0.113.9"]))
        .is_ok());
}
