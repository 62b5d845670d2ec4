//! Sending one request to Jira and classifying the outcome.
//!
//! Written by hand rather than through gouqi because gouqi turns a 429 with an
//! empty body or a 5xx with an HTML page into a JSON parse error, losing the
//! status and `Retry-After` — and the difference between "refused" and "may
//! have happened" is what keeps creates from being duplicated.

use crate::outbound::{Hints, Upstream};
use crate::tracker::TrackerError;
use reqwest::{RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;

/// Whether repeating the request could do something twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Reads, upserts: a lost answer means nothing happened twice.
    Idempotent,
    /// Creates: a lost answer means the thing may exist.
    Creates,
}

/// Sends `request` under `upstream`'s policy and returns the successful body,
/// or the classified failure of the last attempt.
///
/// Retries (see [`crate::outbound::retry`]): a 429 for any effect; a
/// connection that could not be opened for any effect (nothing was sent);
/// for [`Effect::Idempotent`] also 5xx, timeouts and dropped connections.
/// A create whose answer was lost is never repeated here: the use case looks
/// for it by label. A request whose body cannot be cloned is sent once.
pub async fn send(
    upstream: &Upstream,
    call: &'static str,
    effect: Effect,
    request: RequestBuilder,
) -> Result<(StatusCode, bytes::Bytes), TrackerError> {
    let mut attempts = upstream.start();
    loop {
        let Some(this) = request.try_clone() else {
            attempts.begin();
            let _permit = upstream.permit().await;
            return observed(upstream, call, once(call, effect, request))
                .await
                .map_err(|f| f.error);
        };
        attempts.begin();
        let outcome = {
            let _permit = upstream.permit().await;
            observed(upstream, call, once(call, effect, this)).await
        };
        match outcome {
            Ok(answer) => return Ok(answer),
            Err(failure) if failure.retryable => {
                if !attempts.wait_to_retry(call, failure.hints).await {
                    return Err(failure.error);
                }
            }
            Err(failure) => return Err(failure.error),
        }
    }
}

/// Runs one attempt and records its status and latency.
async fn observed(
    upstream: &Upstream,
    call: &'static str,
    attempt: impl std::future::Future<Output = Result<(StatusCode, bytes::Bytes), Failure>>,
) -> Result<(StatusCode, bytes::Bytes), Failure> {
    let started = std::time::Instant::now();
    let outcome = attempt.await;
    let status = match &outcome {
        Ok((status, _)) => status.as_u16().to_string(),
        Err(failure) => match &failure.error {
            TrackerError::Rejected { status, .. } | TrackerError::Auth { status, .. } => {
                status.to_string()
            }
            TrackerError::RateLimited { .. } => "429".into(),
            TrackerError::Timeout { .. } => "timeout".into(),
            _ => failure.status.clone(),
        },
    };
    upstream.observe(call, &status, started.elapsed());
    outcome
}

/// A failed attempt: the error, whether repeating may help, and the hints.
struct Failure {
    error: TrackerError,
    /// HTTP status, or `unreachable` / `error` for transport failures.
    status: String,
    retryable: bool,
    hints: Hints,
}

async fn once(
    call: &'static str,
    effect: Effect,
    request: RequestBuilder,
) -> Result<(StatusCode, bytes::Bytes), Failure> {
    let transport = |e: &reqwest::Error| Failure {
        error: transport_error(call, effect, e),
        status: if e.is_connect() {
            "unreachable"
        } else if e.is_timeout() {
            "timeout"
        } else {
            "error"
        }
        .to_owned(),
        // Nothing was sent when the connection could not be opened.
        retryable: e.is_connect() || effect == Effect::Idempotent,
        hints: Hints::default(),
    };
    let response = request.send().await.map_err(|e| transport(&e))?;
    let status = response.status();
    let hints = crate::outbound::hints(response.headers());
    let body = response.bytes().await.map_err(|e| transport(&e))?;
    if status.is_success() {
        return Ok((status, body));
    }
    let retryable = status == StatusCode::TOO_MANY_REQUESTS
        || (effect == Effect::Idempotent && status.is_server_error());
    Err(Failure {
        status: status.as_u16().to_string(),
        error: status_error(
            call,
            effect,
            status,
            crate::outbound::whole_seconds(hints.retry_after.or(hints.rate_limit_reset)),
            &body,
        ),
        retryable,
        hints,
    })
}

/// Sends `request` (see [`send`]) and decodes a JSON answer.
pub async fn send_json<T: DeserializeOwned>(
    upstream: &Upstream,
    call: &'static str,
    effect: Effect,
    request: RequestBuilder,
) -> Result<T, TrackerError> {
    let (_, body) = send(upstream, call, effect, request).await?;
    serde_json::from_slice(&body).map_err(|e| TrackerError::Decode {
        call,
        detail: e.to_string(),
    })
}

fn transport_error(call: &'static str, effect: Effect, error: &reqwest::Error) -> TrackerError {
    // Only the kind of failure: reqwest messages echo the URL, query and all.
    let detail = strip_url(error);
    if error.is_connect() {
        // Nothing reached Jira: safe to report as unavailable even for a create.
        return TrackerError::Unavailable { call, detail };
    }
    match effect {
        Effect::Creates => TrackerError::Ambiguous { call, detail },
        Effect::Idempotent if error.is_timeout() => TrackerError::Timeout { call },
        Effect::Idempotent => TrackerError::Unavailable { call, detail },
    }
}

fn strip_url(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "connection dropped while reading the answer"
    } else {
        "request failed"
    };
    kind.to_owned()
}

fn status_error(
    call: &'static str,
    effect: Effect,
    status: StatusCode,
    retry_after_secs: Option<u64>,
    body: &[u8],
) -> TrackerError {
    let code = status.as_u16();
    match code {
        401 | 403 => TrackerError::Auth { call, status: code },
        429 => TrackerError::RateLimited {
            call,
            retry_after_secs,
        },
        400..=499 => TrackerError::Rejected {
            call,
            status: code,
            detail: error_detail(body),
        },
        _ if effect == Effect::Creates => TrackerError::Ambiguous {
            call,
            detail: format!("HTTP {code}"),
        },
        _ => TrackerError::Unavailable {
            call,
            detail: format!("HTTP {code}: {}", error_detail(body)),
        },
    }
}

/// Jira's `{errorMessages:[…], errors:{field: message}}` as one line; HTML or
/// empty bodies (gateways) become a short note instead of markup.
pub fn error_detail(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct JiraErrors {
        #[serde(default, rename = "errorMessages")]
        error_messages: Vec<String>,
        #[serde(default)]
        errors: serde_json::Map<String, serde_json::Value>,
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return "no details (empty answer)".into();
    }
    if let Ok(parsed) = serde_json::from_slice::<JiraErrors>(body) {
        let mut parts = parsed.error_messages;
        for (field, message) in parsed.errors {
            let message = message
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| message.to_string());
            parts.push(format!("{field}: {message}"));
        }
        if !parts.is_empty() {
            return parts.join("; ");
        }
    }
    let text = String::from_utf8_lossy(body);
    if text.trim_start().starts_with('<') {
        return "no details (an HTML page, likely from a proxy or gateway)".into();
    }
    crate::mapping::text::truncate_chars(&crate::mapping::text::one_line(&text), 300)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jira_error_bodies_become_one_line() {
        let body = br#"{"errorMessages":["Issue type is required"],"errors":{"customfield_10010":"Option 'x' is not valid"}}"#;
        assert_eq!(
            error_detail(body),
            "Issue type is required; customfield_10010: Option 'x' is not valid"
        );
        assert_eq!(error_detail(b""), "no details (empty answer)");
        assert_eq!(
            error_detail(b"<html><body>502 Bad Gateway</body></html>"),
            "no details (an HTML page, likely from a proxy or gateway)"
        );
    }

    #[test]
    fn server_errors_on_creates_are_ambiguous() {
        let e = status_error(
            "create issue",
            Effect::Creates,
            StatusCode::BAD_GATEWAY,
            None,
            b"",
        );
        assert!(matches!(e, TrackerError::Ambiguous { .. }));
        let e = status_error(
            "search",
            Effect::Idempotent,
            StatusCode::BAD_GATEWAY,
            None,
            b"",
        );
        assert!(matches!(e, TrackerError::Unavailable { .. }));
        let e = status_error(
            "create issue",
            Effect::Creates,
            StatusCode::TOO_MANY_REQUESTS,
            Some(3),
            b"",
        );
        assert!(matches!(
            e,
            TrackerError::RateLimited {
                retry_after_secs: Some(3),
                ..
            }
        ));
    }
}
