//! `GET /` (the operator's page, HTML) and `GET /operator.json` (its JSON
//! twin): one view model from [`crate::status`], rendered two ways.
//!
//! Who may open them is decided before the handlers run (see
//! [`super::operator_access`]). Both answers are read-only and never cached;
//! the page is served with a Content-Security-Policy that allows nothing but
//! its own inline style sheet (by hash): no script, no image, no form, no frame.

use super::operator_page;
use crate::status::BridgeStatus;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpResponse};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::sync::{Arc, LazyLock};

/// What the operator routes need.
pub struct OperatorState {
    /// Gathers the view model.
    pub status: Arc<BridgeStatus>,
}

/// The page's Content-Security-Policy: its inline style sheet, by hash, and nothing else.
static CONTENT_SECURITY_POLICY: LazyLock<String> = LazyLock::new(|| {
    let digest = Sha256::digest(operator_page::STYLE.as_bytes());
    let hash = base64::engine::general_purpose::STANDARD.encode(digest);
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; base-uri 'none'; \
         form-action 'none'; frame-ancestors 'none'"
    )
});

/// `GET /`: the operator's page.
pub async fn page(state: web::Data<OperatorState>) -> HttpResponse {
    let view = state.status.gather().await;
    let html = operator_page::render(&view).into_string();
    let mut response = HttpResponse::Ok();
    hardened(&mut response);
    response
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY.as_str(),
        ))
        .content_type("text/html; charset=utf-8")
        .body(html)
}

/// `GET /operator.json`: the same view model as JSON.
pub async fn json(state: web::Data<OperatorState>) -> HttpResponse {
    let view = state.status.gather().await;
    let mut response = HttpResponse::Ok();
    hardened(&mut response);
    response
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        ))
        .json(view)
}

/// Headers both answers carry: not cached, not sniffed, not framed, not referred.
fn hardened(response: &mut actix_web::HttpResponseBuilder) {
    response
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .insert_header((header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .insert_header((
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ));
}
