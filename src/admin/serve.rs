//! `serve`: runs the service until SIGINT or SIGTERM.

use crate::config::Settings;
use crate::startup::Application;
use std::process::ExitCode;

/// Builds and runs the service; exit 2 when it cannot start, 1 when serving failed.
pub async fn run(settings: Settings) -> ExitCode {
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
