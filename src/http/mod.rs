//! The HTTP edge (actix-web only): routes, webhook authentication, body
//! parsing into validated requests, and problem+json errors.
//!
//! Nothing below this module knows about actix: handlers turn requests into
//! use-case calls and use-case results into answers.

pub mod auth;
pub mod health;
pub mod hook_path;
pub mod hooks;
pub mod metrics_route;
pub mod observe;
pub mod openapi;
pub mod problem;
pub mod request_span;
pub mod unmatched;

use actix_web::web;

/// Registers every route on an actix `App`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(metrics_route::metrics))
        .route("/openapi.json", web::get().to(openapi::document))
        .route("/hooks/{route}", web::route().to(hooks_at_base))
        .route("/hooks/{route}/{tail:.*}", web::route().to(hooks::hook));
}

async fn hooks_at_base(
    request: actix_web::HttpRequest,
    route: web::Path<String>,
    payload: web::Payload,
    state: web::Data<hooks::HookState>,
) -> Result<actix_web::HttpResponse, problem::Problem> {
    let path = web::Path::from((route.into_inner(), String::new()));
    hooks::hook(request, path, payload, state).await
}
