//! The OAuth2 client-credentials token the bridge presents to Test Manager.
//!
//! Owns [`TokenCache`]: obtaining a token from the identity server, keeping it
//! until shortly before it expires, sharing one renewal among concurrent
//! callers, and dropping it when the API rejects it.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::connection::{redact_url, TestManagerConnection};
use super::error::{body_detail, TestManagerError};
use crate::outbound::{Hints, Upstream};

/// Name of the token call in errors.
const TOKEN_CALL: &str = "POST token";
/// Renew at most this long before expiry...
const MAX_RENEW_MARGIN: Duration = Duration::from_secs(60);
/// ...or at this fraction of the lifetime, whichever is smaller, so that short
/// lived tokens are still used for most of their life.
const RENEW_FRACTION: u32 = 10;
/// Lifetime assumed when the identity server omits `expires_in`. Short on
/// purpose: a wrong guess costs a renewal, and a 401 renews anyway.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

/// A bearer token handed out by [`TokenCache::token`].
#[derive(Clone)]
pub struct AccessToken {
    secret: SecretString,
    generation: u64,
}

impl AccessToken {
    /// The token text, for the `Authorization: Bearer` header only.
    pub fn expose(&self) -> &str {
        self.secret.expose_secret()
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"[redacted]")
            .field("generation", &self.generation)
            .finish()
    }
}

struct Cached {
    token: AccessToken,
    renew_at: Instant,
}

/// Caches one client-credentials token for a [`TestManagerConnection`].
///
/// Concurrent callers share one renewal: while one of them calls the token
/// endpoint the others wait for it and then reuse what it obtained. A failed
/// renewal is not cached; the next caller tries again.
pub struct TokenCache {
    http: reqwest::Client,
    connection: Arc<TestManagerConnection>,
    state: Mutex<Option<Cached>>,
    generations: AtomicU64,
    outbound: Arc<Upstream>,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("token_url", &redact_url(&self.connection.token_url))
            .field("client_id", &self.connection.client_id)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: SecretString,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct OAuthError {
    error: Option<String>,
    error_description: Option<String>,
}

impl TokenCache {
    /// A cache for `connection` that calls the token endpoint with `http`.
    /// Nothing is fetched until the first [`Self::token`].
    pub fn new(http: reqwest::Client, connection: Arc<TestManagerConnection>) -> Self {
        Self::with_outbound(
            http,
            connection,
            Arc::new(Upstream::unretried("Test Manager")),
        )
    }

    /// Like [`Self::new`], with token calls retried on 429, 5xx and transport
    /// failures and capped by `outbound`.
    pub fn with_outbound(
        http: reqwest::Client,
        connection: Arc<TestManagerConnection>,
        outbound: Arc<Upstream>,
    ) -> Self {
        Self {
            http,
            connection,
            state: Mutex::new(None),
            generations: AtomicU64::new(0),
            outbound,
        }
    }

    /// A token valid for a while yet: the cached one, or a new one when none is
    /// cached or the cached one is within its renewal margin.
    ///
    /// # Errors
    /// [`TestManagerError::Auth`] when the identity server refuses the
    /// credentials (naming the endpoint and the OAuth error code);
    /// `Upstream`, `Timeout`, `Unreachable`, `Decode` for other failures of
    /// the token call.
    pub async fn token(&self) -> Result<AccessToken, TestManagerError> {
        // One lock for reading and renewing: whoever finds the token stale
        // renews it while holding the lock, and everyone queued behind finds
        // it fresh. (A read lock with a separate write path leaves a window in
        // which several callers all see "stale" and all renew.)
        let mut state = self.state.lock().await;
        if let Some(cached) = state.as_ref() {
            if Instant::now() < cached.renew_at {
                return Ok(cached.token.clone());
            }
        }
        let fresh = self.fetch().await?;
        let token = fresh.token.clone();
        *state = Some(fresh);
        Ok(token)
    }

    /// Forgets `rejected` after the API answered 401 to it, so the next
    /// [`Self::token`] obtains a new one.
    ///
    /// Takes the rejected token rather than forgetting blindly: when many
    /// requests fail with the same old token, only the first forgets it and
    /// the others reuse the renewed one instead of renewing again.
    pub async fn invalidate(&self, rejected: &AccessToken) {
        let mut state = self.state.lock().await;
        if state
            .as_ref()
            .is_some_and(|cached| cached.token.generation == rejected.generation)
        {
            *state = None;
        }
    }

    async fn fetch(&self) -> Result<Cached, TestManagerError> {
        let conn = &*self.connection;
        let endpoint = redact_url(&conn.token_url);
        tracing::debug!(token_url = %endpoint, client_id = %conn.client_id, "requesting Test Manager token");
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", conn.client_id.as_str()),
            ("client_secret", conn.client_secret.expose_secret()),
            ("scope", conn.scope.as_str()),
        ];
        let started = Instant::now();
        let mut attempts = self.outbound.start();
        let body = loop {
            attempts.begin();
            let outcome = {
                let _permit = self.outbound.permit().await;
                let started = Instant::now();
                let outcome = self.attempt(&form, &endpoint).await;
                let status = match &outcome {
                    Ok(_) => "200".to_owned(),
                    Err((error, _)) => error.status_label(),
                };
                self.outbound
                    .observe(TOKEN_CALL, &status, started.elapsed());
                outcome
            };
            match outcome {
                Ok(body) => break body,
                Err((error, hints)) => {
                    if error.is_transient() && attempts.wait_to_retry(TOKEN_CALL, hints).await {
                        continue;
                    }
                    return Err(error);
                }
            }
        };
        let parsed: TokenResponse = serde_json::from_slice(&body).map_err(|e| {
            // serde's message may quote the offending value, which here could
            // be the access token itself: report only where it went wrong.
            TestManagerError::Decode {
                call: TOKEN_CALL,
                detail: format!(
                    "token response is not the expected JSON ({:?} error at line {} column {})",
                    e.classify(),
                    e.line(),
                    e.column()
                ),
            }
        })?;
        if parsed.access_token.expose_secret().is_empty() {
            return Err(TestManagerError::Decode {
                call: TOKEN_CALL,
                detail: "token response has an empty access_token".to_owned(),
            });
        }
        let lifetime = parsed
            .expires_in
            .map_or(DEFAULT_LIFETIME, Duration::from_secs);
        let generation = self.generations.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::debug!(
            lifetime_secs = lifetime.as_secs(),
            generation,
            "obtained Test Manager token"
        );
        Ok(Cached {
            token: AccessToken {
                secret: parsed.access_token,
                generation,
            },
            // Measured from the request start: the server's clock started
            // before the answer arrived.
            renew_at: started + renew_after(lifetime),
        })
    }

    /// One token request: the body of a 2xx, or the failure with its retry hints.
    async fn attempt(
        &self,
        form: &[(&str, &str)],
        endpoint: &str,
    ) -> Result<bytes::Bytes, (TestManagerError, Hints)> {
        let response = self
            .http
            .post(self.connection.token_url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .map_err(|e| (TestManagerError::transport(TOKEN_CALL, e), Hints::default()))?;
        let status = response.status();
        let hints = crate::outbound::hints(response.headers());
        let body = response
            .bytes()
            .await
            .map_err(|e| (TestManagerError::transport(TOKEN_CALL, e), Hints::default()))?;
        if !status.is_success() {
            return Err((self.refusal(status, &body, endpoint.to_owned()), hints));
        }
        Ok(body)
    }

    fn refusal(
        &self,
        status: reqwest::StatusCode,
        body: &[u8],
        endpoint: String,
    ) -> TestManagerError {
        let secret = self.connection.client_secret.expose_secret();
        // Identity servers sometimes echo request fields in descriptions.
        let scrub = |text: String| {
            if secret.is_empty() {
                text
            } else {
                text.replace(secret, "[redacted]")
            }
        };
        let oauth = serde_json::from_slice::<OAuthError>(body).ok();
        match oauth {
            Some(OAuthError {
                error: Some(code),
                error_description,
            }) => {
                let hint = match code.as_str() {
                    "invalid_client" => {
                        "check the client id and secret of the External Application"
                    }
                    "invalid_scope" => {
                        "check that the External Application is granted every configured scope"
                    }
                    "unauthorized_client" => {
                        "the External Application must be confidential and allowed the client_credentials grant"
                    }
                    _ => "check the External Application's settings",
                };
                let description = error_description
                    .map(|d| format!(" ({})", scrub(d)))
                    .unwrap_or_default();
                TestManagerError::Auth {
                    endpoint,
                    detail: scrub(format!(
                        "token endpoint answered HTTP {} {code}{description}; {hint} (scope requested: {:?})",
                        status.as_u16(),
                        self.connection.scope
                    )),
                }
            }
            _ if status == reqwest::StatusCode::UNAUTHORIZED
                || status == reqwest::StatusCode::FORBIDDEN =>
            {
                TestManagerError::Auth {
                    endpoint,
                    detail: scrub(format!(
                        "token endpoint answered HTTP {}: {}; check the client id and secret",
                        status.as_u16(),
                        body_detail(body)
                    )),
                }
            }
            _ => TestManagerError::Upstream {
                call: TOKEN_CALL,
                status: status.as_u16(),
                detail: scrub(body_detail(body)),
            },
        }
    }
}

/// How long after it was issued a token of `lifetime` should be renewed.
fn renew_after(lifetime: Duration) -> Duration {
    let margin = MAX_RENEW_MARGIN.min(lifetime / RENEW_FRACTION);
    lifetime.saturating_sub(margin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_margin_is_the_smaller_of_60s_and_a_tenth() {
        assert_eq!(
            renew_after(Duration::from_secs(3600)),
            Duration::from_secs(3540)
        );
        assert_eq!(
            renew_after(Duration::from_secs(300)),
            Duration::from_secs(270)
        );
        assert_eq!(renew_after(Duration::from_secs(10)), Duration::from_secs(9));
        assert_eq!(renew_after(Duration::ZERO), Duration::ZERO);
    }
}
