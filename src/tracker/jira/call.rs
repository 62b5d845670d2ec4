//! Sending one request to Jira and classifying the outcome.
//!
//! Written by hand rather than through gouqi because gouqi turns a 429 with an
//! empty body or a 5xx with an HTML page into a JSON parse error, losing the
//! status and `Retry-After` — and the difference between "refused" and "may
//! have happened" is what keeps creates from being duplicated.

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

/// Sends `request` and returns the successful body, or the classified failure.
pub async fn send(
    call: &'static str,
    effect: Effect,
    request: RequestBuilder,
) -> Result<(StatusCode, bytes::Bytes), TrackerError> {
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => return Err(transport_error(call, effect, &e)),
    };
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let body = match response.bytes().await {
        Ok(b) => b,
        Err(e) => return Err(transport_error(call, effect, &e)),
    };
    if status.is_success() {
        return Ok((status, body));
    }
    Err(status_error(call, effect, status, retry_after, &body))
}

/// Sends `request` and decodes a JSON answer.
pub async fn send_json<T: DeserializeOwned>(
    call: &'static str,
    effect: Effect,
    request: RequestBuilder,
) -> Result<T, TrackerError> {
    let (_, body) = send(call, effect, request).await?;
    serde_json::from_slice(&body).map_err(|e| TrackerError::Decode {
        call,
        detail: e.to_string(),
    })
}

fn transport_error(call: &'static str, effect: Effect, error: &reqwest::Error) -> TrackerError {
    // `without_url` keeps query strings (and anything in them) out of messages.
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
