//! `tm-defect-bridge`: the command line. It parses and dispatches; every
//! command lives in [`tm_defect_bridge::admin`].

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use tm_defect_bridge::admin;
use tm_defect_bridge::result_key::ResultKey;
use uuid::Uuid;

#[derive(Parser)]
#[command(
    version,
    about = "Turns failed UiPath Test Manager results into Jira issues"
)]
struct Cli {
    /// The bridge configuration (TOML).
    #[arg(
        long,
        short,
        global = true,
        env = "BRIDGE_CONFIG",
        default_value = "deploy/bridge.example.toml"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service.
    Serve,
    /// Check the configuration: mappings, sign-in to Jira and Test Manager, Jira metadata.
    Check,
    /// Show the Jira request a failure would become, creating nothing.
    Preview {
        /// The project: its route, GUID or prefix.
        #[arg(long)]
        project: String,
        /// testExecutionId.
        #[arg(long)]
        execution: Uuid,
        /// testCaseId.
        #[arg(long)]
        testcase: Uuid,
        /// variationId, if any.
        #[arg(long)]
        variation: Option<String>,
    },
    /// Show what the ledger knows: recent entries, or the issue of one result.
    Ledger {
        #[command(subcommand)]
        query: LedgerQuery,
    },
}

#[derive(Subcommand)]
enum LedgerQuery {
    /// The most recently updated entries.
    List {
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// The entry (and issue) of one Test Manager result.
    Find {
        /// testExecutionId.
        #[arg(long)]
        execution: Uuid,
        /// testCaseId.
        #[arg(long)]
        test_case: Uuid,
        /// variationId, if any.
        #[arg(long)]
        variation: Option<String>,
    },
}

#[actix_web::main]
async fn main() -> ExitCode {
    tm_defect_bridge::telemetry::init();
    let cli = Cli::parse();
    let settings = match admin::load_settings(&cli.config) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    match cli.command {
        Command::Serve => admin::serve::run(settings).await,
        Command::Check => admin::check::run(&settings, &cli.config).await,
        Command::Preview {
            project,
            execution,
            testcase,
            variation,
        } => {
            let key = ResultKey::new(execution, testcase, variation);
            admin::preview::run(&settings, &project, &key).await
        }
        Command::Ledger {
            query: LedgerQuery::List { limit },
        } => admin::ledger::list(&settings, limit).await,
        Command::Ledger {
            query:
                LedgerQuery::Find {
                    execution,
                    test_case,
                    variation,
                },
        } => admin::ledger::find(&settings, &ResultKey::new(execution, test_case, variation)).await,
    }
}
