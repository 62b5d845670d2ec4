//! The sandbox: the real service — its HTTP clients, ledger, mapping files and
//! templates — against stand-ins of Test Manager and Jira on loopback, so the
//! bridge can be seen doing its job with nothing else installed.
//!
//! ```sh
//! cargo run --example sandbox                    # Jira Cloud
//! cargo run --example sandbox -- --data-center   # Jira Data Center
//! ```
//!
//! It seeds failed results in the stand-in Test Manager, sends a Create
//! Defect for the first, prints what Test Manager gets back, the Jira issue as
//! created and the KPI answer, then keeps the service running and prints the
//! `curl` lines for the other results. The stand-ins are the integration
//! tests' fakes (`tests/api/support`), which behave like the real services as
//! Atlassian's and UiPath's documentation describe them; they are compiled
//! into this example only, never into the service's binary.

// The tests' support module, whole: the fakes reach their siblings through `crate::support`.
#[allow(dead_code, unused_imports)]
#[path = "../../tests/api/support/mod.rs"]
mod support;

mod config;
mod seed;
mod show;

use clap::Parser;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use support::{FakeJira, FakeTestManager};
use tm_defect_bridge::config::JiraFlavour;
use tm_defect_bridge::startup::Application;

/// Runs the bridge against built-in stand-ins of Test Manager and Jira.
#[derive(Parser)]
struct Options {
    /// Play Jira Data Center (REST API 2, wiki markup, personal access token) instead of Cloud.
    #[arg(long)]
    data_center: bool,
    /// Where the bridge listens (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The mapping files the bridge serves (edit them while it runs: they are reloaded).
    #[arg(long, default_value = "mappings")]
    mappings: PathBuf,
    /// Where the sandbox keeps its configuration, ledger and log (emptied at start).
    #[arg(long, default_value = "target/sandbox")]
    dir: PathBuf,
    /// Stop after the walk-through instead of serving on (for scripts and CI);
    /// the exit code says whether every step worked.
    #[arg(long)]
    once: bool,
}

fn main() -> ExitCode {
    let options = Options::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    runtime.block_on(run(options))
}

async fn run(options: Options) -> ExitCode {
    let flavour = if options.data_center {
        JiraFlavour::DataCenter
    } else {
        JiraFlavour::Cloud
    };
    if let Err(e) = config::fresh_dir(&options.dir) {
        eprintln!("error: cannot prepare {}: {e}", options.dir.display());
        return ExitCode::from(2);
    }
    config::log_to_file(&options.dir.join("bridge.log"));

    let jira = FakeJira::start_at(flavour, "").await;
    jira.mount_createmeta(Vec::new()).await;
    jira.mount_live_counts().await;
    let tm = FakeTestManager::start().await;
    let results = seed::failed_results(&tm).await;
    let passed = seed::passed_result(&tm).await;

    let settings = match config::sandbox_settings(&options, flavour, &jira, &tm) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("error: the bridge did not start: {e}");
            if e.to_string().contains("cannot listen") {
                eprintln!("(another port: cargo run --example sandbox -- --listen 127.0.0.1:0)");
            }
            eprintln!("(its log: {})", options.dir.join("bridge.log").display());
            return ExitCode::from(2);
        }
    };
    let bridge = format!("http://{}:{}", options.listen.ip(), app.port());
    let server = tokio::spawn(app.run_until_stopped());

    show::heading(&format!(
        "tm-defect-bridge sandbox: Jira {} and Test Manager stand-ins on loopback",
        show::flavour_name(flavour)
    ));
    println!(
        "bridge:    {bridge}  (config {})",
        options.dir.join("bridge.toml").display()
    );
    println!(
        "mappings:  {}  (reloaded when a file changes)",
        options.mappings.display()
    );
    println!("log:       {}", options.dir.join("bridge.log").display());

    let first = &results[0];
    let hook = config::hook_url(&bridge);
    show::heading(&format!(
        "1. Test Manager sends Create Defect for {} ({})",
        first.case.key, first.case.name
    ));
    println!("POST {hook}\n{}", show::pretty(&first.result.body()));
    let client = reqwest::Client::new();
    let answer = match client.post(&hook).json(&first.result.body()).send().await {
        Ok(answer) => answer,
        Err(e) => {
            eprintln!("error: the bridge did not answer: {e}");
            return ExitCode::FAILURE;
        }
    };
    let status = answer.status();
    let payload: Value = answer.json().await.unwrap_or(Value::Null);
    show::heading(&format!(
        "2. The bridge answers {status}: the defect payload Test Manager shows"
    ));
    println!("{}", show::pretty(&payload));
    if !status.is_success() {
        eprintln!(
            "error: Create Defect failed; see {}",
            options.dir.join("bridge.log").display()
        );
        return ExitCode::FAILURE;
    }

    let evidence = seed::EVIDENCE_FILES;
    let issue = show::wait_for_issue(&jira, evidence, Duration::from_secs(30)).await;
    show::heading("3. The Jira issue, with the evidence uploaded after the answer");
    let complete = match issue {
        Some(issue) => {
            show::issue(&issue, flavour);
            issue.attachments.len() >= evidence
        }
        None => {
            println!("(no issue arrived in the stand-in Jira)");
            false
        }
    };

    show::heading("4. The dashboard's Open Defects tile asks for the KPIs");
    let kpi_url = config::kpi_url(&bridge);
    println!("GET {kpi_url}");
    let counted = match client.get(&kpi_url).send().await {
        Ok(answer) => {
            let status = answer.status();
            let body: Value = answer.json().await.unwrap_or(Value::Null);
            println!("{status}\n{}", show::pretty(&body));
            status.is_success() && body["totalDefects"] == 1
        }
        Err(e) => {
            println!("(no answer: {e})");
            false
        }
    };
    if options.once {
        return if complete && counted {
            ExitCode::SUCCESS
        } else {
            eprintln!("error: the walk-through did not complete (see above)");
            ExitCode::FAILURE
        };
    }

    show::heading("The service keeps running. Try:");
    show::next_steps(&bridge, &results[1..], &passed, &options.mappings);
    tokio::spawn(show::follow_new_issues(jira.issues.clone(), flavour, 1));

    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        ended = server => {
            eprintln!("the bridge stopped: {ended:?}");
            return ExitCode::FAILURE;
        }
    }
    println!(
        "\nstopped; the sandbox's files stay in {}",
        options.dir.display()
    );
    drop((jira, tm));
    ExitCode::SUCCESS
}
