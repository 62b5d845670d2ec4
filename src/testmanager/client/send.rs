//! Sending one request to Test Manager: the bearer token (renewed once on a
//! 401), retries of transient failures under the outbound policy, and the
//! answer's status mapped to a body, an absence (404) or a [`TestManagerError`].

use reqwest::header::ACCEPT;
use reqwest::StatusCode;
use url::Url;

use super::calls::Call;
use super::handle::TestManagerClient;
use crate::outbound::Hints;
use crate::testmanager::connection::redact_url;
use crate::testmanager::error::{body_detail, TestManagerError};
use crate::testmanager::token::AccessToken;

impl TestManagerClient {
    /// GETs `url`; see [`Self::send`].
    pub(super) async fn get(
        &self,
        call: Call,
        url: Url,
        accept: &'static str,
    ) -> Result<Option<Vec<u8>>, TestManagerError> {
        self.send(call, reqwest::Method::GET, url, accept, None)
            .await
    }

    /// Sends `method` to `url` (with `body` as JSON, if any) with the bearer
    /// token; renews the token and retries once on a 401. `Ok(None)` on 404 so
    /// each caller decides what absence means; other non-2xx statuses become
    /// errors. 429, 5xx, timeouts and dropped connections are retried under the
    /// outbound policy: only idempotent requests (GETs, absolute updates) come here.
    pub(super) async fn send(
        &self,
        call: Call,
        method: reqwest::Method,
        url: Url,
        accept: &'static str,
        body: Option<&serde_json::Value>,
    ) -> Result<Option<Vec<u8>>, TestManagerError> {
        let mut renewed = false;
        let mut attempts = self.outbound.start();
        loop {
            let token = self.tokens.token().await?;
            tracing::debug!(call = call.name, path = url.path(), "calling Test Manager");
            attempts.begin();
            let answer = {
                let _permit = self.outbound.permit().await;
                let started = std::time::Instant::now();
                let answer = self
                    .attempt(call, &method, &url, body, accept, &token)
                    .await;
                let status = match &answer {
                    Ok((status, _)) => status.as_u16().to_string(),
                    Err((error, _)) => error.status_label(),
                };
                self.outbound.observe(call.name, &status, started.elapsed());
                answer
            };
            let (status, body) = match answer {
                Ok(answer) => answer,
                Err((error, hints)) => {
                    if error.is_transient() && attempts.wait_to_retry(call.name, hints).await {
                        continue;
                    }
                    return Err(error);
                }
            };
            if status == StatusCode::UNAUTHORIZED && !renewed {
                // The token may have been revoked or expired early (clock
                // skew, identity server restart): one new token, one retry.
                tracing::info!(
                    call = call.name,
                    "Test Manager answered 401; renewing the token and retrying once"
                );
                self.tokens.invalidate(&token).await;
                renewed = true;
                continue;
            }
            return match status {
                // `bytes::Bytes` is not a dependency of this crate: hand out a Vec.
                s if s.is_success() => Ok(Some(body)),
                StatusCode::NOT_FOUND => Ok(None),
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    Err(self.refused(call, &url, status, &body))
                }
                s => Err(TestManagerError::upstream(call.name, s, &body)),
            };
        }
    }

    /// One request: the status and body, or a transient failure (transport, 429,
    /// 5xx) with the answer's retry hints.
    async fn attempt(
        &self,
        call: Call,
        method: &reqwest::Method,
        url: &Url,
        body: Option<&serde_json::Value>,
        accept: &'static str,
        token: &AccessToken,
    ) -> Result<(StatusCode, Vec<u8>), (TestManagerError, Hints)> {
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .bearer_auth(token.expose())
            .header(ACCEPT, accept);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| (TestManagerError::transport(call.name, e), Hints::default()))?;
        let status = response.status();
        let hints = crate::outbound::hints(response.headers());
        let body = response
            .bytes()
            .await
            .map_err(|e| (TestManagerError::transport(call.name, e), Hints::default()))?;
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Err((TestManagerError::upstream(call.name, status, &body), hints));
        }
        Ok((status, body.into()))
    }

    /// The auth error for a refused `call`, naming the scope it needs.
    fn refused(&self, call: Call, url: &Url, status: StatusCode, body: &[u8]) -> TestManagerError {
        let why = if status == StatusCode::UNAUTHORIZED {
            "even with a newly issued token"
        } else {
            "(forbidden)"
        };
        TestManagerError::Auth {
            endpoint: redact_url(url),
            detail: format!(
                "HTTP {} on {} {why}: {}; the External Application may lack scope {} \
                 (scopes requested: {:?}) or access to this project",
                status.as_u16(),
                call.name,
                body_detail(body),
                call.scope,
                self.connection.scope,
            ),
        }
    }

    /// Like [`Self::get`], but hands out the successful response unread, so
    /// its body can be streamed. Retries happen only before the body starts.
    pub(super) async fn open(
        &self,
        call: Call,
        url: Url,
        timeout: std::time::Duration,
    ) -> Result<Option<reqwest::Response>, TestManagerError> {
        let mut renewed = false;
        let mut attempts = self.outbound.start();
        loop {
            let token = self.tokens.token().await?;
            attempts.begin();
            let sent = {
                let _permit = self.outbound.permit().await;
                self.http
                    .get(url.clone())
                    .bearer_auth(token.expose())
                    .header(ACCEPT, "*/*")
                    .timeout(timeout)
                    .send()
                    .await
            };
            let response = match sent {
                Ok(r) => r,
                Err(e) => {
                    let error = TestManagerError::transport(call.name, e);
                    if error.is_transient()
                        && attempts.wait_to_retry(call.name, Hints::default()).await
                    {
                        continue;
                    }
                    return Err(error);
                }
            };
            let status = response.status();
            if status.is_success() {
                return Ok(Some(response));
            }
            let hints = crate::outbound::hints(response.headers());
            let body = response.bytes().await.unwrap_or_default();
            if status == StatusCode::UNAUTHORIZED && !renewed {
                self.tokens.invalidate(&token).await;
                renewed = true;
                continue;
            }
            let error = match status {
                StatusCode::NOT_FOUND => return Ok(None),
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    return Err(self.refused(call, &url, status, &body))
                }
                s => TestManagerError::upstream(call.name, s, &body),
            };
            if error.is_transient() && attempts.wait_to_retry(call.name, hints).await {
                continue;
            }
            return Err(error);
        }
    }
}
