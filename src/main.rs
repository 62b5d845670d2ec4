//! `tm-defect-bridge`: the command line. All work happens in the library.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use tm_defect_bridge::config::Settings;
use tm_defect_bridge::ledger::{self, LedgerEntry};
use tm_defect_bridge::result_key::ResultKey;
use tm_defect_bridge::startup::Application;
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
    let config = cli.config;
    match cli.command {
        Command::Serve => serve(config).await,
        Command::Ledger { query } => show_ledger(config, query).await,
        Command::Check => check(config).await,
        Command::Preview {
            project,
            execution,
            testcase,
            variation,
        } => {
            preview(
                config,
                project,
                ResultKey::new(execution, testcase, variation),
            )
            .await
        }
    }
}

fn load(config: &std::path::Path) -> Result<Settings, ExitCode> {
    Settings::load(config).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })
}

async fn check(config: PathBuf) -> ExitCode {
    let settings = match load(&config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let report = tm_defect_bridge::admin::check::check(&settings).await;
    for line in &report.verified {
        println!("ok: {line}");
    }
    for problem in &report.problems {
        println!("problem: {problem}");
    }
    if report.problems.is_empty() {
        println!("configuration {} is good", config.display());
        ExitCode::SUCCESS
    } else {
        println!(
            "{} problem(s) in {}",
            report.problems.len(),
            config.display()
        );
        ExitCode::from(1)
    }
}

async fn preview(config: PathBuf, project: String, key: ResultKey) -> ExitCode {
    let settings = match load(&config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    match tm_defect_bridge::admin::preview::preview(&settings, &project, &key).await {
        Ok(preview) => {
            println!("# Mapping: {}", preview.mapping);
            println!("# Result label: {}", preview.label);
            println!(
                "# Rendered Markdown (description):\n{}",
                preview.description_markdown
            );
            println!(
                "# Nothing was created. The bridge would send:\nPOST {}",
                preview.url
            );
            println!(
                "{}",
                serde_json::to_string_pretty(&preview.body).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

async fn show_ledger(config: PathBuf, query: LedgerQuery) -> ExitCode {
    let settings = match Settings::load(&config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let store = match ledger::connect(&settings.store.url, 1).await {
        Ok(stores) => stores.results,
        Err(e) => {
            eprintln!("error: cannot open the ledger: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match query {
        LedgerQuery::List { limit } => store.recent(limit).await.map(|entries| {
            println!(
                "{:<10} {:<12} {:<22} {:<8} RESULT (execution/test case/variation)",
                "STATE", "ISSUE", "UPDATED", "LINKED"
            );
            for entry in &entries {
                print_entry(entry);
            }
            if entries.is_empty() {
                println!("(the ledger is empty)");
            }
            ExitCode::SUCCESS
        }),
        LedgerQuery::Find {
            execution,
            test_case,
            variation,
        } => {
            let key = ResultKey::new(execution, test_case, variation);
            store.get(&key).await.map(|entry| match entry {
                Some(entry) => {
                    print_entry(&entry);
                    if let Some(issue) = &entry.issue {
                        println!("{}", issue.browse_url);
                    }
                    if let Some(error) = &entry.last_error {
                        println!("last error: {error}");
                    }
                    ExitCode::SUCCESS
                }
                None => {
                    println!("no entry for {key} (label {})", key.label());
                    ExitCode::from(1)
                }
            })
        }
    };
    store.close().await;
    result.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })
}

fn print_entry(entry: &LedgerEntry) {
    println!(
        "{:<10} {:<12} {:<22} {:<8} {}",
        entry.state.as_str(),
        entry.issue.as_ref().map_or("-", |i| i.issue_key.as_str()),
        entry.updated_at.format("%Y-%m-%d %H:%M:%S UTC"),
        if entry.remote_link_done { "yes" } else { "no" },
        entry.key
    );
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
