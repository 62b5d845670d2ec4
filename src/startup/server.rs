//! The HTTP server: actix-web with the `[server]` settings, bound to the
//! listener (plain HTTP, or HTTPS with a rustls configuration from
//! [`super::tls`]), serving the routes of [`crate::http`] behind the
//! `[access]` allow-lists.

use super::error::StartupError;
use crate::config::ServerSettings;
use crate::http::access::AccessPolicy;
use crate::http::health::ReadyState;
use crate::http::hooks::HookState;
use crate::http::jira_webhook::JiraWebhookState;
use crate::http::metrics_route::MetricsState;
use crate::http::operator::OperatorState;
use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use std::net::TcpListener;
use std::time::Duration;

/// The state every route reads.
pub struct RouteState {
    /// Create Defect, KPIs and preview.
    pub hooks: web::Data<HookState>,
    /// `/readyz`.
    pub ready: web::Data<ReadyState>,
    /// The operator's page and its JSON twin.
    pub operator: web::Data<OperatorState>,
    /// `/metrics`.
    pub metrics: web::Data<MetricsState>,
    /// `/jira/webhook`.
    pub jira: web::Data<JiraWebhookState>,
    /// Who may call which routes.
    pub access: web::Data<AccessPolicy>,
}

/// Binds `server.listen` and starts serving — HTTPS with `tls` when given,
/// plain HTTP otherwise; returns the running server and the real port.
pub fn start(
    settings: &ServerSettings,
    state: RouteState,
    tls: Option<rustls::ServerConfig>,
) -> Result<(Server, u16), StartupError> {
    let bind_error = |source| StartupError::Bind {
        address: settings.listen.clone(),
        source,
    };
    let listener = TcpListener::bind(&settings.listen).map_err(bind_error)?;
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    let RouteState {
        hooks,
        ready,
        operator,
        metrics,
        jira,
        access,
    } = state;
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(crate::http::access::guard))
            .wrap(actix_web::middleware::from_fn(crate::http::observe::record))
            .wrap(tracing_actix_web::TracingLogger::<
                crate::http::request_span::RedactedRootSpan,
            >::new())
            .app_data(hooks.clone())
            .app_data(ready.clone())
            .app_data(operator.clone())
            .app_data(metrics.clone())
            .app_data(jira.clone())
            .app_data(access.clone())
            .configure(crate::http::configure)
            .default_service(web::to(crate::http::unmatched::default_service))
    })
    .client_request_timeout(Duration::from_millis(settings.client_request_timeout_ms))
    .client_disconnect_timeout(Duration::from_millis(settings.client_disconnect_timeout_ms))
    .keep_alive(match settings.keep_alive_secs {
        0 => actix_web::http::KeepAlive::Disabled,
        secs => actix_web::http::KeepAlive::Timeout(Duration::from_secs(secs)),
    })
    .shutdown_timeout(settings.shutdown_timeout_secs);
    if let Some(workers) = settings.workers {
        server = server.workers(workers);
    }
    let server = match tls {
        Some(config) => server.listen_rustls_0_23(listener, config),
        None => server.listen(listener),
    }
    .map_err(bind_error)?
    .run();
    Ok((server, port))
}
