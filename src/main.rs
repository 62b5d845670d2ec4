//! `tm-defect-bridge`: the command line. All work happens in the library.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use tm_defect_bridge::config::Settings;
use tm_defect_bridge::startup::Application;

#[derive(Parser)]
#[command(
    version,
    about = "Turns failed UiPath Test Manager results into Jira issues"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service.
    Serve {
        /// The bridge configuration (TOML).
        #[arg(
            long,
            short,
            env = "BRIDGE_CONFIG",
            default_value = "deploy/bridge.example.toml"
        )]
        config: PathBuf,
    },
}

#[actix_web::main]
async fn main() -> ExitCode {
    tm_defect_bridge::telemetry::init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config } => serve(config).await,
    }
}

async fn serve(config: PathBuf) -> ExitCode {
    let settings = match Settings::load(&config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
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
