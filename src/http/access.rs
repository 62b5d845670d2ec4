//! Who may call which routes: the `[access]` allow-lists, checked before any
//! handler runs.
//!
//! Routes fall in three groups — Test Manager's `/hooks/…`, Jira's
//! `/jira/webhook…`, and the operations routes `/metrics` and `/readyz`. A
//! group with an empty list is open to everyone. `/healthz` (liveness
//! probes) and `/openapi.json` are always open. A refused client gets 403
//! problem+json naming the key to configure.

use super::client_address::client_address;
use super::problem::Problem;
use crate::config::{AccessSettings, Networks};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::HeaderName;
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};
use std::net::IpAddr;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

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
        } else {
            None
        }
    }

    fn key(self) -> &'static str {
        match self {
            Self::Hooks => "access.hooks",
            Self::Jira => "access.jira",
            Self::Operations => "access.operations",
        }
    }

    fn allowed(self, settings: &AccessSettings) -> &Networks {
        match self {
            Self::Hooks => &settings.hooks,
            Self::Jira => &settings.jira,
            Self::Operations => &settings.operations,
        }
    }
}

impl AccessPolicy {
    /// Whether a request to `path` from `peer` with these `X-Forwarded-For`
    /// values may go on; `Err` is the 403 answer.
    fn check<'h>(
        &self,
        path: &str,
        peer: Option<IpAddr>,
        forwarded_for: impl IntoIterator<Item = &'h str>,
    ) -> Result<(), Problem> {
        let Some(group) = RouteGroup::of(path) else {
            return Ok(());
        };
        let allowed = group.allowed(&self.settings);
        if allowed.is_empty() {
            return Ok(());
        }
        let client = peer
            .and_then(|peer| client_address(peer, forwarded_for, &self.settings.trusted_proxies));
        match client {
            Some(client) if allowed.contains(client) => Ok(()),
            _ => Err(refusal(group, client)),
        }
    }
}

fn refusal(group: RouteGroup, client: Option<IpAddr>) -> Problem {
    let who = client.map_or_else(|| "an unknown address".to_owned(), |ip| ip.to_string());
    tracing::warn!(client = %who, allow_list = group.key(), "request refused by the allow-list");
    Problem::new(
        StatusCode::FORBIDDEN,
        "client-not-allowed",
        "Client not allowed",
        format!(
            "requests from {who} are not allowed on this route; add its network to `{}` \
             (behind a proxy, also list the proxy in `access.trusted_proxies`)",
            group.key()
        ),
    )
}

/// Middleware refusing clients outside the route group's allow-list. Without
/// an [`AccessPolicy`] in the app data every client is let through.
pub async fn guard(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let verdict = match request.app_data::<web::Data<AccessPolicy>>() {
        Some(policy) => policy.check(
            request.path(),
            request.peer_addr().map(|socket| socket.ip()),
            request
                .headers()
                .get_all(X_FORWARDED_FOR)
                .filter_map(|value| value.to_str().ok()),
        ),
        None => Ok(()),
    };
    match verdict {
        Ok(()) => Ok(next.call(request).await?.map_into_left_body()),
        Err(problem) => Ok(request
            .into_response(problem.error_response())
            .map_into_right_body()),
    }
}

#[cfg(test)]
mod tests {
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
        assert_eq!(RouteGroup::of("/hooksx"), None);
    }

    #[test]
    fn an_empty_list_allows_everyone() {
        let open = policy(&[], &[]);
        assert!(open.check("/hooks/shop", ip("203.0.113.9"), []).is_ok());
        assert!(open.check("/metrics", None, []).is_ok());
    }

    #[test]
    fn a_listed_group_refuses_others_and_names_the_key() {
        let closed = policy(&["10.0.0.0/8"], &[]);
        assert!(closed.check("/metrics", ip("10.1.1.1"), []).is_ok());
        let refused = closed.check("/readyz", ip("127.0.0.1"), []).unwrap_err();
        assert_eq!(refused.status, 403);
        assert!(
            refused.detail.contains("`access.operations`"),
            "{}",
            refused.detail
        );
        assert!(closed.check("/healthz", ip("127.0.0.1"), []).is_ok());
        assert!(closed.check("/hooks/shop", ip("127.0.0.1"), []).is_ok());
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_proxy() {
        let behind_proxy = policy(&["10.0.0.0/8"], &["127.0.0.1/32"]);
        assert!(behind_proxy
            .check("/metrics", ip("127.0.0.1"), ["10.2.3.4"])
            .is_ok());
        let spoofed = policy(&["10.0.0.0/8"], &[]);
        assert!(spoofed
            .check("/metrics", ip("127.0.0.1"), ["10.2.3.4"])
            .is_err());
    }
}
