//! `ledger list` and `ledger find`: what the ledger knows, read-only.

use crate::config::Settings;
use crate::ledger::{self, Ledger, LedgerEntry, LedgerError};
use crate::result_key::ResultKey;
use std::process::ExitCode;

/// Prints the `limit` most recently updated entries; exit 2 when the ledger cannot be read.
pub async fn list(settings: &Settings, limit: u32) -> ExitCode {
    with_ledger(settings, |store| async move {
        let entries = store.recent(limit).await?;
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
        Ok(ExitCode::SUCCESS)
    })
    .await
}

/// Prints the entry (and issue) of `key`; exit 1 when there is none, 2 when
/// the ledger cannot be read.
pub async fn find(settings: &Settings, key: &ResultKey) -> ExitCode {
    with_ledger(settings, |store| async move {
        let Some(entry) = store.get(key).await? else {
            println!("no entry for {key} (label {})", key.label());
            return Ok(ExitCode::from(1));
        };
        print_entry(&entry);
        if let Some(issue) = &entry.issue {
            println!("{}", issue.browse_url);
        }
        if let Some(error) = &entry.last_error {
            println!("last error: {error}");
        }
        Ok(ExitCode::SUCCESS)
    })
    .await
}

/// Opens the ledger with one connection, runs `query`, closes it.
async fn with_ledger<F, Fut>(settings: &Settings, query: F) -> ExitCode
where
    F: FnOnce(std::sync::Arc<dyn Ledger>) -> Fut,
    Fut: std::future::Future<Output = Result<ExitCode, LedgerError>>,
{
    let store = match ledger::connect(&settings.store.url, 1).await {
        Ok(store) => store,
        Err(e) => {
            eprintln!("error: cannot open the ledger: {e}");
            return ExitCode::from(2);
        }
    };
    let result = query(store.clone()).await;
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
