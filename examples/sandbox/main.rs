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
mod once;
mod seed;
mod show;
mod walkthrough;
mod wiki;

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use support::{FakeJira, FakeTestManager};
use tm_defect_bridge::config::JiraFlavour;
use tm_defect_bridge::startup::Application;

/// Runs the bridge against built-in stand-ins of Test Manager and Jira.
#[derive(Parser)]
pub struct Options {
    /// Play Jira Data Center (REST API 2, wiki markup, personal access token) instead of Cloud.
    #[arg(long)]
    data_center: bool,
    /// Where the bridge listens (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The mapping files the bridge serves (edit them while it runs: they are reloaded).
    #[arg(long, default_value = "mappings")]
    mappings: PathBuf,
    /// Where the sandbox keeps its configuration, ledger and log (emptied at
    /// start; a folder the sandbox did not make must be empty).
    #[arg(long, default_value = "target/sandbox")]
    dir: PathBuf,
    /// Walk through, then check that an edited mapping shapes the next issue
    /// (on a copy of the mappings) and stop, instead of serving on; for
    /// scripts and CI. The exit code says whether every step worked.
    #[arg(long)]
    once: bool,
}

/// The running sandbox: the bridge and the stand-ins it talks to.
pub struct Sandbox {
    /// The bridge's base URL, e.g. `http://127.0.0.1:8080`.
    pub bridge: String,
    pub flavour: JiraFlavour,
    pub jira: FakeJira,
    pub tm: FakeTestManager,
    /// The seeded failed results; the walk-through sends the first.
    pub failed: Vec<seed::Seeded>,
    /// A seeded result that passed.
    pub passed: seed::Seeded,
    /// The stand-in Test Manager's URL that hands out a new failed result.
    pub next_failure: String,
    /// The mappings folder the bridge serves.
    pub mappings: PathBuf,
}

fn main() -> ExitCode {
    let options = Options::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    runtime.block_on(run(options))
}

async fn run(mut options: Options) -> ExitCode {
    let flavour = if options.data_center {
        JiraFlavour::DataCenter
    } else {
        JiraFlavour::Cloud
    };
    if let Err(e) = config::fresh_dir(&options.dir) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let log = options.dir.join("bridge.log");
    config::log_to_file(&log);
    if options.once {
        // The check edits a mapping: never the user's own files.
        match config::copy_mappings(&options.mappings, &options.dir.join("mappings")) {
            Ok(copy) => options.mappings = copy,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }

    let jira = FakeJira::start_at(flavour, "").await;
    jira.mount_createmeta(Vec::new()).await;
    jira.mount_live_counts().await;
    let tm = FakeTestManager::start().await;
    let failed = seed::failed_results(&tm).await;
    let passed = seed::passed_result(&tm).await;
    let next_failure = seed::mount_new_failures(&tm).await;

    let settings = match config::sandbox_settings(&options, flavour, &jira, &tm) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let listen = config::listen_address(&settings, options.listen);
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("error: the bridge did not start: {e}");
            if e.to_string().contains("cannot listen") {
                eprintln!("(another port: cargo run --example sandbox -- --listen 127.0.0.1:0)");
            }
            eprintln!("(its log: {})", log.display());
            return ExitCode::from(2);
        }
    };
    let bridge = format!("http://{}", SocketAddr::new(listen.ip(), app.port()));
    let server = tokio::spawn(app.run_until_stopped());
    let sandbox = Sandbox {
        bridge,
        flavour,
        jira,
        tm,
        failed,
        passed,
        next_failure,
        mappings: options.mappings.clone(),
    };

    show::heading(&format!(
        "tm-defect-bridge sandbox: Jira {} and Test Manager stand-ins on loopback",
        show::flavour_name(flavour)
    ));
    println!(
        "bridge:    {}  (config {})",
        sandbox.bridge,
        options.dir.join("bridge.toml").display()
    );
    println!(
        "mappings:  {}  (reloaded when a file changes)",
        sandbox.mappings.display()
    );
    println!("log:       {}", log.display());

    let walked = walkthrough::run(&sandbox, &log).await;
    if options.once {
        let reloaded = walked && once::an_edit_shapes_the_next_issue(&sandbox).await;
        return if reloaded {
            ExitCode::SUCCESS
        } else {
            eprintln!("error: the walk-through did not complete (see above)");
            ExitCode::FAILURE
        };
    }

    show::heading("The service keeps running. Try:");
    show::next_steps(&sandbox);
    tokio::spawn(show::follow_new_issues(
        sandbox.jira.issues.clone(),
        flavour,
        1,
    ));
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
    ExitCode::SUCCESS
}
