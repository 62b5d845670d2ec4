//! The span each inbound request is logged in, without the webhook secret.
//!
//! tracing-actix-web's default span records `http.target` (the raw path and
//! query) and the matched route; the registered WebHooks URL carries the
//! secret as a path segment, so that would print it on every log line of the
//! request. This builder records the method, the path with a possible secret
//! segment redacted and no query, the request id, and the outcome.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};

/// A [`RootSpanBuilder`] that never records a path secret or a query string.
pub struct RedactedRootSpan;

impl RootSpanBuilder for RedactedRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        // Field values are only computed when the span is enabled.
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.target = %super::unmatched::redact(super::routed_path::routed_path(request.request())),
            http.status_code = tracing::field::Empty,
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
            request_id = %request.extensions().get::<RequestId>().map(ToString::to_string).unwrap_or_default(),
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}
