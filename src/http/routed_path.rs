//! The path a request is routed by. actix-router percent-decodes every byte
//! but `%`, `/` and `+` before matching, so `/%6Fperator.json` reaches
//! `/operator.json` and `/jira/%77ebhook/…` the Jira webhook. Everything that
//! classifies, parses or redacts a path reads this one, never the raw
//! `request.path()`, or an encoded path would slip past an allow-list or log
//! its secret.

use actix_web::HttpRequest;

/// The path the router matches `request` against.
pub fn routed_path(request: &HttpRequest) -> &str {
    request.match_info().as_str()
}
