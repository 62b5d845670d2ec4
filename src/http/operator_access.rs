//! Who may open the operator's page (`/` and `/operator.json`): a client in
//! `access.operations`, or one presenting the operator token — as
//! `Authorization: Bearer <token>`, or as the password of HTTP Basic (any user
//! name), which is what a browser sends after its login prompt. With neither
//! configured, only loopback clients that connect directly are answered: the
//! page shows Jira issues and Test Manager results, so it is never open to
//! every network by default.
//!
//! A request that says it is relayed (`X-Forwarded-For`, `Forwarded` or
//! `X-Real-IP`) is never taken for a loopback client, whoever its peer is: a
//! reverse proxy on the same host must not open the page to everyone it
//! serves. Nor does the allow-list admit a relayed request whose peer is not
//! in `access.trusted_proxies`: that peer's address is the proxy's, not the
//! client's, so listing the proxy host would open the page to everyone behind
//! it. The token opens the page however the request came.

use super::client_address::HOW_TO_NAME_THE_CLIENT;
use super::problem::Problem;
use crate::config::AccessSettings;
use crate::secret_match::secret_matches;
use actix_web::http::header::HeaderValue;
use actix_web::http::StatusCode;
use base64::Engine as _;
use std::net::IpAddr;

/// The `WWW-Authenticate` challenge of a 401, so that a browser asks for the token.
pub(super) const CHALLENGE: HeaderValue =
    HeaderValue::from_static("Basic realm=\"tm-defect-bridge operator page\", charset=\"UTF-8\"");

/// How a request reached the bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Relay {
    /// No forwarding header: the peer is the client.
    Direct,
    /// Forwarding headers from a peer in `access.trusted_proxies`.
    TrustedProxy,
    /// Forwarding headers from a peer that is not a trusted proxy (ignored,
    /// so the client is the peer: the proxy itself).
    UntrustedProxy,
}

/// What the operator rule looks at in one request.
pub(super) struct Caller<'r> {
    /// The client, after believing trusted proxies (`None`: unknown).
    pub(super) client: Option<IpAddr>,
    /// How the request came.
    pub(super) relay: Relay,
    /// The `Authorization` header, if any.
    pub(super) authorization: Option<&'r str>,
}

/// Whether `caller` may open the operator's page; `Err` is the 401 or 403
/// answer (a 401 goes out with [`CHALLENGE`]).
pub(super) fn admit(settings: &AccessSettings, caller: &Caller<'_>) -> Result<(), Problem> {
    let presented = caller.authorization.and_then(presented_token);
    if let (Some(token), Some(presented)) = (&settings.operator_token, &presented) {
        if secret_matches(token, presented) {
            return Ok(());
        }
    }
    let untrusted_proxy = caller.relay == Relay::UntrustedProxy;
    let listed = !settings.operations.is_empty();
    if listed
        && !untrusted_proxy
        && caller
            .client
            .is_some_and(|c| settings.operations.contains(c))
    {
        return Ok(());
    }
    let who = caller
        .client
        .map_or_else(|| "an unknown address".to_owned(), |ip| ip.to_string());
    if settings.operator_token.is_some() {
        tracing::warn!(client = %who, token_presented = presented.is_some(), untrusted_proxy, "operator page refused: no valid operator token");
        return Err(unauthorized(presented.is_some(), listed, untrusted_proxy));
    }
    if listed {
        tracing::warn!(client = %who, allow_list = "access.operations", untrusted_proxy, "operator page refused by the allow-list");
        return Err(not_listed(caller.client, untrusted_proxy));
    }
    let loopback = caller.client.is_some_and(|c| c.is_loopback());
    if loopback && caller.relay == Relay::Direct {
        return Ok(());
    }
    tracing::warn!(client = %who, relay = ?caller.relay, "operator page refused: only loopback clients that connect directly are answered by default");
    let through = match caller.relay {
        Relay::Direct => "",
        Relay::TrustedProxy => {
            " (relayed by a proxy: a relayed request is never taken for a loopback client)"
        }
        Relay::UntrustedProxy => {
            " (this request came through a proxy that is not in `access.trusted_proxies`)"
        }
    };
    Err(Problem::new(
        StatusCode::FORBIDDEN,
        "operator-page-loopback-only",
        "The operator page answers loopback clients only",
        format!(
            "requests from {who}{through} may not open the operator page: while neither \
             `access.operations` nor an operator token (BRIDGE_ACCESS__OPERATOR_TOKEN or \
             `access.operator_token_file`) is configured, it answers only clients on this \
             host's loopback address that connect without a proxy"
        ),
    ))
}

/// The 403 of a client outside `access.operations` (no token configured).
fn not_listed(client: Option<IpAddr>, untrusted_proxy: bool) -> Problem {
    const OR_TOKEN: &str =
        "or set an operator token (BRIDGE_ACCESS__OPERATOR_TOKEN or `access.operator_token_file`)";
    let who = client.map_or_else(|| "an unknown address".to_owned(), |ip| ip.to_string());
    let detail = match (untrusted_proxy, client) {
        (true, _) => format!(
            "this request came through a proxy at {who} that is not in \
             `access.trusted_proxies`, so its address is not the client's and does not count \
             for `access.operations`: add the proxy to `access.trusted_proxies` (its \
             X-Forwarded-For or Forwarded header then names the client), {OR_TOKEN}"
        ),
        (false, None) => format!(
            "the client of this request cannot be told, so `access.operations` cannot admit \
             it: {HOW_TO_NAME_THE_CLIENT}; {OR_TOKEN}"
        ),
        (false, Some(_)) => format!(
            "requests from {who} may not open the operator page; add its network to \
             `access.operations` (behind a proxy, also list the proxy in \
             `access.trusted_proxies`), {OR_TOKEN}"
        ),
    };
    Problem::new(
        StatusCode::FORBIDDEN,
        "client-not-allowed",
        "Client not allowed",
        detail,
    )
}

fn unauthorized(presented: bool, listed: bool, untrusted_proxy: bool) -> Problem {
    let what = if presented {
        "the operator token presented is wrong"
    } else {
        "the operator page needs the operator token"
    };
    let or_network = match (listed, untrusted_proxy) {
        (false, _) => "",
        (true, false) => ", or call from a network in `access.operations`",
        (true, true) => {
            ", or call from a network in `access.operations` through a proxy listed in \
             `access.trusted_proxies` (this request came through one that is not)"
        }
    };
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "operator-token-required",
        "Operator token required",
        format!(
            "{what}: send it as `Authorization: Bearer <token>` or as the password of HTTP \
             Basic (any user name){or_network}"
        ),
    )
}

/// The token in a `Bearer` or `Basic` authorization (Basic's password).
fn presented_token(authorization: &str) -> Option<String> {
    let (scheme, value) = authorization.trim().split_once(' ')?;
    let value = value.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        Some(value.to_owned())
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(value)
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        decoded
            .split_once(':')
            .map(|(_user, password)| password.to_owned())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Networks;
    use secrecy::SecretString;

    const TOKEN: &str = "op-token-1234-5678";

    fn settings(operations: &[&str], token: Option<&str>) -> AccessSettings {
        AccessSettings {
            operations: Networks::parse(operations).unwrap(),
            operator_token: token.map(SecretString::from),
            ..Default::default()
        }
    }

    fn caller<'r>(client: &str, authorization: Option<&'r str>) -> Caller<'r> {
        Caller {
            client: Some(client.parse().unwrap()),
            relay: Relay::Direct,
            authorization,
        }
    }

    fn basic(user: &str, password: &str) -> String {
        let pair = format!("{user}:{password}");
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }

    #[test]
    fn by_default_only_loopback_clients_are_answered() {
        let open = settings(&[], None);
        assert!(admit(&open, &caller("127.0.0.1", None)).is_ok());
        assert!(admit(&open, &caller("::1", None)).is_ok());
        let refused = admit(&open, &caller("10.1.2.3", None)).unwrap_err();
        assert_eq!(refused.status, 403);
        assert!(refused.detail.contains("10.1.2.3"), "{}", refused.detail);
        assert!(refused.detail.contains("loopback"), "{}", refused.detail);
        assert!(refused.detail.contains("`access.operations`"));
        assert!(refused.detail.contains("BRIDGE_ACCESS__OPERATOR_TOKEN"));

        let proxied = Caller {
            relay: Relay::UntrustedProxy,
            ..caller("127.0.0.1", None)
        };
        let refused = admit(&open, &proxied).unwrap_err();
        assert!(
            refused.detail.contains("`access.trusted_proxies`"),
            "{}",
            refused.detail
        );
    }

    #[test]
    fn a_relayed_request_is_never_a_loopback_client_even_from_a_trusted_proxy() {
        let open = settings(&[], None);
        let relayed = Caller {
            relay: Relay::TrustedProxy,
            ..caller("127.0.0.1", None)
        };
        let refused = admit(&open, &relayed).unwrap_err();
        assert_eq!(refused.status, 403);
        assert!(refused.detail.contains("relayed"), "{}", refused.detail);
    }

    #[test]
    fn the_allow_list_does_not_admit_a_listed_peer_relaying_for_others() {
        let listed = settings(&["127.0.0.1/32"], None);
        let through_local_proxy = Caller {
            relay: Relay::UntrustedProxy,
            ..caller("127.0.0.1", None)
        };
        let refused = admit(&listed, &through_local_proxy).unwrap_err();
        assert_eq!(refused.status, 403);
        assert!(
            refused
                .detail
                .contains("add the proxy to `access.trusted_proxies`"),
            "{}",
            refused.detail
        );
        assert!(
            refused.detail.contains("operator token"),
            "{}",
            refused.detail
        );
        // Through a trusted proxy, the client it names is what the list decides on.
        let via_trusted = Caller {
            relay: Relay::TrustedProxy,
            ..caller("127.0.0.1", None)
        };
        assert!(admit(&listed, &via_trusted).is_ok());

        // The token still opens it; without one, the 401 says why the list did not.
        let guarded = settings(&["127.0.0.1/32"], Some(TOKEN));
        let bearer = format!("Bearer {TOKEN}");
        let with_token = Caller {
            authorization: Some(&bearer),
            ..through_local_proxy
        };
        assert!(admit(&guarded, &with_token).is_ok());
        let without = Caller {
            authorization: None,
            ..with_token
        };
        let refused = admit(&guarded, &without).unwrap_err();
        assert_eq!(refused.status, 401);
        assert!(
            refused.detail.contains("`access.trusted_proxies`"),
            "{}",
            refused.detail
        );
    }

    #[test]
    fn the_allow_list_decides_when_there_is_no_token() {
        let listed = settings(&["10.0.0.0/8"], None);
        assert!(admit(&listed, &caller("10.9.9.9", None)).is_ok());
        let refused = admit(&listed, &caller("127.0.0.1", None)).unwrap_err();
        assert_eq!(refused.status, 403);
        assert!(refused.detail.contains("`access.operations`"));
    }

    #[test]
    fn the_token_opens_the_page_as_bearer_or_basic_password() {
        let guarded = settings(&[], Some(TOKEN));
        let bearer = format!("Bearer {TOKEN}");
        assert!(admit(&guarded, &caller("203.0.113.5", Some(&bearer))).is_ok());
        let from_browser = basic("anyone", TOKEN);
        assert!(admit(&guarded, &caller("203.0.113.5", Some(&from_browser))).is_ok());
        assert!(admit(
            &guarded,
            &caller("203.0.113.5", Some("bearer op-token-1234-5678"))
        )
        .is_ok());
    }

    #[test]
    fn a_missing_or_wrong_token_is_a_401_with_a_challenge_and_no_echo() {
        let guarded = settings(&["10.0.0.0/8"], Some(TOKEN));
        let missing = admit(&guarded, &caller("127.0.0.1", None)).unwrap_err();
        assert_eq!(missing.status, 401);
        assert!(missing.detail.contains("needs the operator token"));
        assert!(missing.detail.contains("`access.operations`"));
        let wrong = basic("x", "op-token-1234-56789");
        let refused = admit(&guarded, &caller("127.0.0.1", Some(&wrong))).unwrap_err();
        assert_eq!(refused.status, 401);
        assert!(refused.detail.contains("is wrong"), "{}", refused.detail);
        assert!(!refused.detail.contains(TOKEN));
        // The allow-list still opens it without a token.
        assert!(admit(&guarded, &caller("10.0.0.1", None)).is_ok());
    }

    #[test]
    fn unreadable_authorizations_present_no_token() {
        for header in ["Basic !!!", "Basic Zm9v", "Digest abc", "Bearer", ""] {
            assert_eq!(presented_token(header), None, "{header}");
        }
        assert_eq!(presented_token(&basic("u", "p:q")).as_deref(), Some("p:q"));
    }
}
