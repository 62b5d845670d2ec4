//! The HTTP edge (actix-web only): routes, webhook authentication, body
//! parsing into validated requests, problem+json errors, and the operator's
//! page (`/`, `/operator.json`).
//!
//! Nothing below this module knows about actix: handlers turn requests into
//! use-case calls and use-case results into answers.

pub mod access;
pub mod auth;
pub mod body;
pub mod client_address;
pub mod health;
pub mod hook_path;
pub mod hooks;
pub mod jira_webhook;
pub mod metrics_route;
pub mod observe;
pub mod openapi;
pub mod operator;
pub mod operator_access;
pub mod operator_page;
pub mod problem;
pub mod request_span;
pub mod routed_path;
pub mod unmatched;

use actix_web::web;

/// Registers every route on an actix `App`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(operator::page))
        .route("/operator.json", web::get().to(operator::json))
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(metrics_route::metrics))
        .route("/openapi.json", web::get().to(openapi::document))
        .route("/jira/webhook", web::post().to(jira_webhook::receive))
        .route(
            "/jira/webhook/{secret}",
            web::post().to(jira_webhook::receive),
        )
        // A static prefix and a hand-parsed rest: the hot KPI route is served
        // without running the router's pattern regexes on every request.
        .service(web::scope("/hooks").default_service(web::to(hooks::hook)));
}
