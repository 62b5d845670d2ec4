//! Who may call which routes: the `[access]` allow-lists, checked before any
//! handler runs.
//!
//! Routes fall in four groups — Test Manager's `/hooks/…`, Jira's
//! `/jira/webhook…`, the operations routes `/metrics` and `/readyz`, and the
//! operator's page `/` and `/operator.json`. A group with an empty list is
//! open to everyone, except the operator's page, whose own rule (the
//! operations list or a token, else loopback only) is in
//! [`super::operator_access`]. `/healthz` (liveness probes) and
//! `/openapi.json` are always open. A refused client gets 403 (or, for a
//! missing operator token, 401) problem+json naming the key to configure.
//!
//! The group is decided on the path as the router matches it (percent-decoded),
//! not as it was sent: `/%6Detrics` is `/metrics` to the router, so it is to
//! the allow-lists too.

use super::client_address::{client_address, Forwarding, HOW_TO_NAME_THE_CLIENT};
use super::operator_access::{self, Caller, Relay};
use super::problem::Problem;
use super::routed_path::routed_path;
use crate::config::{AccessSettings, Networks};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, AUTHORIZATION, WWW_AUTHENTICATE};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};
use std::net::IpAddr;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const FORWARDED: HeaderName = HeaderName::from_static("forwarded");
const X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");

/// The allow-lists in force (read once at start-up).
pub struct AccessPolicy {
    /// The parsed `[access]` section.
    pub settings: AccessSettings,
}

/// A group of routes sharing one allow-list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RouteGroup {
    Hooks,
    Jira,
    Operations,
    Operator,
}

impl RouteGroup {
    /// The group `path` belongs to, or `None` for routes that are always open.
    fn of(path: &str) -> Option<Self> {
        let under = |prefix: &str| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        };
        if under("/hooks") {
            Some(Self::Hooks)
        } else if under("/jira/webhook") {
            Some(Self::Jira)
        } else if path == "/metrics" || path == "/readyz" {
            Some(Self::Operations)
        } else if path == "/" || path == "/operator.json" {
            Some(Self::Operator)
        } else {
            None
        }
    }

    fn key(self) -> &'static str {
        match self {
            Self::Hooks => "access.hooks",
            Self::Jira => "access.jira",
            Self::Operations | Self::Operator => "access.operations",
        }
    }

    fn allowed(self, settings: &AccessSettings) -> &Networks {
        match self {
            Self::Hooks => &settings.hooks,
            Self::Jira => &settings.jira,
            Self::Operations | Self::Operator => &settings.operations,
        }
    }
}

/// What the allow-lists look at in one request.
struct Request<'r> {
    /// The path as the router matches it (see [`routed_path`]).
    path: &'r str,
    /// The TCP peer.
    peer: Option<IpAddr>,
    /// The forwarding headers.
    forwarding: Forwarding<'r>,
    /// The `Authorization` header.
    authorization: Option<&'r str>,
}

impl AccessPolicy {
    /// Whether `request` may go on; `Err` is the 403 (or 401) answer.
    fn check(&self, request: &Request<'_>) -> Result<(), Problem> {
        let Some(group) = RouteGroup::of(request.path) else {
            return Ok(());
        };
        let trusted = &self.settings.trusted_proxies;
        let client = request
            .peer
            .and_then(|peer| client_address(peer, &request.forwarding, trusted));
        if group == RouteGroup::Operator {
            let relay = if !request.forwarding.is_present() {
                Relay::Direct
            } else if request.peer.is_some_and(|peer| trusted.contains(peer)) {
                Relay::TrustedProxy
            } else {
                Relay::UntrustedProxy
            };
            let caller = Caller {
                client,
                relay,
                authorization: request.authorization,
            };
            return operator_access::admit(&self.settings, &caller);
        }
        let allowed = group.allowed(&self.settings);
        if allowed.is_empty() {
            return Ok(());
        }
        match client {
            Some(client) if allowed.contains(client) => Ok(()),
            _ => Err(refusal(group, client)),
        }
    }
}

fn refusal(group: RouteGroup, client: Option<IpAddr>) -> Problem {
    let who = client.map_or_else(|| "an unknown address".to_owned(), |ip| ip.to_string());
    tracing::warn!(client = %who, allow_list = group.key(), "request refused by the allow-list");
    let detail = match client {
        Some(_) => format!(
            "requests from {who} are not allowed on this route; add its network to `{}` \
             (behind a proxy, also list the proxy in `access.trusted_proxies`)",
            group.key()
        ),
        None => format!(
            "the client of this request cannot be told, so `{}` cannot admit it: \
             {HOW_TO_NAME_THE_CLIENT}",
            group.key()
        ),
    };
    Problem::new(
        StatusCode::FORBIDDEN,
        "client-not-allowed",
        "Client not allowed",
        detail,
    )
}

/// Every line of header `name`. A line that is not UTF-8 stands as one
/// unreadable hop rather than being dropped: a proxy appends to the line the
/// client sent, so dropping it would drop the proxy's hop too and leave the
/// proxy taken for the client.
fn header_lines(headers: &HeaderMap, name: HeaderName) -> Vec<&str> {
    headers
        .get_all(name)
        .map(|value| std::str::from_utf8(value.as_bytes()).unwrap_or("\u{FFFD}"))
        .collect()
}

/// Middleware refusing clients outside the route group's allow-list. Without
/// an [`AccessPolicy`] in the app data every client is let through.
pub async fn guard(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let verdict = match request.app_data::<web::Data<AccessPolicy>>() {
        Some(policy) => {
            let headers = request.headers();
            policy.check(&Request {
                path: routed_path(request.request()),
                peer: request.peer_addr().map(|socket| socket.ip()),
                forwarding: Forwarding {
                    x_forwarded_for: header_lines(headers, X_FORWARDED_FOR),
                    forwarded: header_lines(headers, FORWARDED),
                    x_real_ip: headers.contains_key(X_REAL_IP),
                },
                authorization: headers
                    .get(AUTHORIZATION)
                    .and_then(|value| value.to_str().ok()),
            })
        }
        None => Ok(()),
    };
    match verdict {
        Ok(()) => Ok(next.call(request).await?.map_into_left_body()),
        Err(problem) => {
            let mut response = problem.error_response();
            if response.status() == StatusCode::UNAUTHORIZED {
                // Only the operator's page refuses with 401: a browser then asks for the token.
                response
                    .headers_mut()
                    .insert(WWW_AUTHENTICATE, operator_access::CHALLENGE);
            }
            Ok(request.into_response(response).map_into_right_body())
        }
    }
}

#[cfg(test)]
mod tests;
