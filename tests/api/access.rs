//! Serving HTTPS directly (with certificate reload) and the `[access]`
//! allow-lists, over real connections to the running bridge.

use crate::support::*;
use reqwest::tls::{Certificate, TlsInfo};
use std::net::SocketAddr;
use std::path::Path;
use tm_defect_bridge::config::Networks;
use tm_defect_bridge::startup::Application;

/// A fresh self-signed pair for `localhost`: (certificate PEM, key PEM, certificate DER).
fn self_signed() -> (String, String, Vec<u8>) {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    (
        generated.cert.pem(),
        generated.key_pair.serialize_pem(),
        generated.cert.der().to_vec(),
    )
}

fn write_pair(dir: &Path, pair: &(String, String, Vec<u8>)) {
    std::fs::write(dir.join("tls.crt"), &pair.0).unwrap();
    std::fs::write(dir.join("tls.key"), &pair.1).unwrap();
}

/// A client trusting only `roots`, reaching `localhost` at the bridge's port.
fn https_client(port: u16, roots: &[&[u8]]) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .tls_info(true)
        .resolve("localhost", SocketAddr::from(([127, 0, 0, 1], port)));
    for root in roots {
        builder = builder.add_root_certificate(Certificate::from_der(root).unwrap());
    }
    builder.build().unwrap()
}

/// GETs `/healthz` over HTTPS; returns the certificate the connection was served with.
async fn served_certificate(client: &reqwest::Client, port: u16) -> Vec<u8> {
    let response = client
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await
        .expect("the bridge answers over HTTPS");
    assert_eq!(response.status(), 200);
    let info = response.extensions().get::<TlsInfo>().expect("TLS info");
    info.peer_certificate()
        .expect("a peer certificate")
        .to_vec()
}

#[tokio::test]
async fn https_is_served_and_a_reloaded_certificate_reaches_new_connections_only() {
    let first = self_signed();
    let second = self_signed();
    let tls_dir = tempfile::tempdir().unwrap();
    write_pair(tls_dir.path(), &first);
    let cert = tls_dir.path().join("tls.crt");
    let key = tls_dir.path().join("tls.key");
    let prepared = prepare_app(AppOptions::cloud().tweak(|settings, _| {
        settings.server.tls_cert = Some(cert.clone());
        settings.server.tls_key = Some(key.clone());
        settings.server.tls_watch_secs = 0;
        settings.server.keep_alive_secs = 60;
    }))
    .await;
    let app = Application::build(prepared.settings)
        .await
        .expect("app builds");
    let port = app.port();
    let reloader = app.tls().expect("HTTPS is configured");
    tokio::spawn(app.run_until_stopped());

    let open = https_client(port, &[&first.2, &second.2]);
    assert_eq!(served_certificate(&open, port).await, first.2);
    let plain = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await;
    assert!(plain.is_err(), "plain HTTP is not served on the HTTPS port");

    write_pair(tls_dir.path(), &second);
    reloader.reload().expect("the new pair is good");

    // The open keep-alive connection goes on working, with the certificate it was opened with ...
    assert_eq!(served_certificate(&open, port).await, first.2);
    // ... and a new connection gets the new certificate.
    let fresh = https_client(port, &[&second.2]);
    assert_eq!(served_certificate(&fresh, port).await, second.2);

    // A broken pair is refused and the new one stays in force.
    std::fs::write(&key, first.1.as_bytes()).unwrap();
    assert!(reloader.reload().is_err());
    let after_refusal = https_client(port, &[&second.2]);
    assert_eq!(served_certificate(&after_refusal, port).await, second.2);
}

async fn get_status(app: &TestApp, path: &str) -> u16 {
    let url = format!("{}{path}", app.address);
    app.client.get(url).send().await.unwrap().status().as_u16()
}

fn networks(entries: &[&str]) -> Networks {
    Networks::parse(entries).unwrap()
}

#[tokio::test]
async fn an_allow_list_refuses_other_clients_with_403_naming_the_key() {
    let app = spawn_app(AppOptions::cloud().tweak(|settings, _| {
        settings.access.hooks = networks(&["10.0.0.0/8"]);
        settings.access.operations = networks(&["127.0.0.0/8", "::1"]);
    }))
    .await;

    let refused = app
        .client
        .post(app.hook_url("/defects"))
        .json(&serde_json::json!({}))
        // Not a trusted proxy: the header is ignored.
        .header("X-Forwarded-For", "10.1.2.3")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    let problem: serde_json::Value = refused.json().await.unwrap();
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("`access.hooks`"), "{detail}");
    assert!(detail.contains("127.0.0.1"), "{detail}");

    assert_eq!(
        get_status(&app, "/metrics").await,
        200,
        "127.0.0.1 is in access.operations"
    );
    assert_eq!(
        get_status(&app, "/healthz").await,
        200,
        "liveness stays open"
    );
}

#[tokio::test]
async fn forwarded_for_from_a_trusted_proxy_decides() {
    let (app, seeded) = app_with_a_failure(AppOptions::cloud().tweak(|settings, _| {
        settings.access.hooks = networks(&["10.0.0.0/8"]);
        settings.access.trusted_proxies = networks(&["127.0.0.1/32"]);
    }))
    .await;
    let create = |client_ip: &'static str| {
        app.client
            .post(app.hook_url("/defects"))
            .header("X-Forwarded-For", client_ip)
            .json(&seeded.body())
            .send()
    };
    assert_eq!(create("192.0.2.1").await.unwrap().status(), 403);
    assert_eq!(create("10.1.2.3").await.unwrap().status(), 200);
}

/// Sends `method path` as the client `client_ip` (through the trusted proxy on
/// loopback) or, with `None`, as the loopback peer itself; returns the status and,
/// for a refusal, the problem's `type`.
async fn call_as(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    client_ip: Option<&str>,
) -> (u16, Option<String>) {
    let mut request = app.client.request(method, format!("{}{path}", app.address));
    if let Some(ip) = client_ip {
        request = request.header("X-Forwarded-For", ip);
    }
    let response = request.json(&serde_json::json!({})).send().await.unwrap();
    let status = response.status().as_u16();
    if status != 403 {
        return (status, None);
    }
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: serde_json::Value = response.json().await.unwrap();
    (status, problem["type"].as_str().map(str::to_owned))
}

#[tokio::test]
async fn a_percent_encoded_path_is_held_to_the_allow_list_of_the_route_it_reaches() {
    let app = spawn_app(AppOptions::cloud().tweak(|settings, _| {
        settings.access.hooks = networks(&["10.0.0.0/8"]);
        settings.access.jira = networks(&["10.0.0.0/8"]);
        settings.access.operations = networks(&["10.0.0.0/8"]);
        settings.access.trusted_proxies = networks(&["127.0.0.1/32"]);
    }))
    .await;
    let hook = format!("/hooks/shop/{SECRET}/defects");
    let encoded_hook = format!("/%68ooks/shop/{SECRET}/defects");
    let (get, post) = (reqwest::Method::GET, reqwest::Method::POST);
    let pairs = [
        (&get, "/operator.json", "/%6Fperator.json"),
        (&get, "/operator.json", "/%6f%70erator.json"),
        (&get, "/metrics", "/%6Detrics"),
        (&get, "/readyz", "/%72eadyz"),
        (&post, hook.as_str(), encoded_hook.as_str()),
        (&post, "/jira/webhook", "/jira/%77ebhook"),
    ];
    for (method, plain, encoded) in pairs {
        // A listed client gets past the guard on either form ...
        for path in [plain, encoded] {
            let status = call_as(&app, method.clone(), path, Some("10.1.2.3"))
                .await
                .0;
            assert_ne!(status, 403, "{path} from a listed client");
        }
        // ... and any other client is refused on either form (the router decodes
        // `%6F` to `o` before matching, so the encoded form reaches the route).
        for path in [plain, encoded] {
            let (status, kind) = call_as(&app, method.clone(), path, None).await;
            assert_eq!(status, 403, "{path} from a client outside the list");
            assert!(
                kind.as_deref()
                    .is_some_and(|k| k.ends_with("client-not-allowed")),
                "{path}: {kind:?}"
            );
        }
    }
}

#[test]
fn the_bridge_refuses_to_start_with_an_empty_operator_token() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _) = offline_config(dir.path(), "cloud");
    // `ledger list` loads the settings like `serve` does, and needs no upstream.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tm-defect-bridge"))
        .args(["ledger", "--config", &config.display().to_string(), "list"])
        .env_remove("BRIDGE_CONFIG")
        .env("BRIDGE_ACCESS__OPERATOR_TOKEN", "")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("BRIDGE_ACCESS__OPERATOR_TOKEN") && stderr.contains("openssl rand -hex 16"),
        "{stderr}"
    );
}

/// GETs `path` from loopback with `headers`; returns the status and the problem's detail.
async fn get_with(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut request = app.client.get(format!("{}{path}", app.address));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    if status == 200 {
        return (status, String::new());
    }
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: serde_json::Value = response.json().await.unwrap();
    (
        status,
        problem["detail"].as_str().unwrap_or_default().to_owned(),
    )
}

/// The ways a proxy says whom it relays for.
const RELAYED: [(&str, &str); 4] = [
    ("Forwarded", "for=203.0.113.7;proto=https"),
    ("Forwarded", "proto=https"),
    ("X-Real-IP", "203.0.113.7"),
    ("X-Forwarded-For", "127.0.0.1"),
];

#[tokio::test]
async fn a_relayed_request_never_gets_the_loopback_default_even_from_a_trusted_proxy() {
    let app = spawn_app(AppOptions::cloud().tweak(|settings, _| {
        settings.access.trusted_proxies = networks(&["127.0.0.1/32"]);
    }))
    .await;
    assert_eq!(get_with(&app, "/operator.json", &[]).await.0, 200);
    for header in RELAYED {
        let (status, detail) = get_with(&app, "/operator.json", &[header]).await;
        assert_eq!(status, 403, "{header:?}");
        assert!(detail.contains("loopback"), "{header:?}: {detail}");
    }
}

#[tokio::test]
async fn forwarded_from_a_trusted_proxy_names_the_client_for_the_allow_lists() {
    let app = spawn_app(AppOptions::cloud().tweak(|settings, _| {
        // The proxy's own address is listed too: it must not stand in for its clients.
        settings.access.operations = networks(&["127.0.0.1/32", "10.0.0.0/8"]);
        settings.access.trusted_proxies = networks(&["127.0.0.1/32"]);
    }))
    .await;
    for path in ["/metrics", "/operator.json"] {
        let listed = ("Forwarded", "for=10.1.2.3;proto=https");
        assert_eq!(get_with(&app, path, &[listed]).await.0, 200, "{path}");
        let far = ("Forwarded", "for=\"[2001:db8::7]:4711\"");
        let (status, detail) = get_with(&app, path, &[far]).await;
        assert_eq!(status, 403, "{path}");
        assert!(detail.contains("2001:db8::7"), "{path}: {detail}");
        // A client picking its address in the header the proxy does not maintain is refused.
        let spoofed = [
            ("Forwarded", "for=203.0.113.7"),
            ("X-Forwarded-For", "10.9.9.9"),
        ];
        assert_eq!(get_with(&app, path, &spoofed).await.0, 403, "{path}");
    }
}

#[tokio::test]
async fn a_listed_proxy_that_is_not_trusted_does_not_open_the_operator_page_to_its_clients() {
    let app = spawn_app(AppOptions::cloud().tweak(|settings, _| {
        settings.access.operations = networks(&["127.0.0.1/32"]);
    }))
    .await;
    assert_eq!(get_with(&app, "/", &[]).await.0, 200, "loopback is listed");
    for header in RELAYED {
        let (status, detail) = get_with(&app, "/", &[header]).await;
        assert_eq!(status, 403, "{header:?}");
        assert!(
            detail.contains("add the proxy to `access.trusted_proxies`"),
            "{header:?}: {detail}"
        );
        assert!(detail.contains("operator token"), "{header:?}: {detail}");
    }
}

#[tokio::test]
async fn the_token_opens_the_page_through_an_untrusted_proxy() {
    const TOKEN: &str = "op-token-3d9a7c51e2";
    let app = spawn_app(AppOptions::cloud().tweak(|settings, _| {
        settings.access.operations = networks(&["127.0.0.1/32"]);
        settings.access.operator_token = Some(TOKEN.into());
    }))
    .await;
    let relayed = ("X-Forwarded-For", "203.0.113.7");
    let bearer = format!("Bearer {TOKEN}");
    let with_token = [relayed, ("Authorization", bearer.as_str())];
    assert_eq!(get_with(&app, "/operator.json", &with_token).await.0, 200);
    let (status, detail) = get_with(&app, "/operator.json", &[relayed]).await;
    assert_eq!(status, 401);
    assert!(detail.contains("`access.trusted_proxies`"), "{detail}");
}

#[tokio::test]
async fn a_trusted_proxy_relaying_without_naming_the_client_is_not_taken_for_it() {
    let app = spawn_app(AppOptions::cloud().tweak(|settings, _| {
        settings.access.operations = networks(&["127.0.0.1/32"]);
        settings.access.trusted_proxies = networks(&["127.0.0.1/32"]);
    }))
    .await;
    for path in ["/metrics", "/operator.json"] {
        assert_eq!(
            get_with(&app, path, &[]).await.0,
            200,
            "{path} from the host"
        );
        for header in [("X-Real-IP", "203.0.113.7"), ("Forwarded", "proto=https")] {
            let (status, detail) = get_with(&app, path, &[header]).await;
            assert_eq!(status, 403, "{path} {header:?}");
            assert!(
                detail.contains("X-Forwarded-For or Forwarded"),
                "{path} {header:?}: {detail}"
            );
        }
    }
}
