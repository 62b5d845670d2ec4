//! `ledger list` and `ledger find`: what the ledger knows, read-only.

use crate::config::Settings;
use crate::ledger::{self, LedgerEntry, LedgerError, Stores, WritebackTarget};
use crate::result_key::ResultKey;
use std::process::ExitCode;

/// Prints the `limit` most recently updated entries; exit 2 when the ledger cannot be read.
pub async fn list(settings: &Settings, limit: u32) -> ExitCode {
    with_ledger(settings, |stores| async move {
        let entries = stores.results.recent(limit).await?;
        println!(
            "{:<10} {:<12} {:<22} {:<8} {:<20} RESULT (execution/test case/variation)",
            "STATE", "ISSUE", "UPDATED", "LINKED", "TM STATUS"
        );
        for entry in &entries {
            let written = written_to(&stores, entry).await?;
            print_entry(entry, written.as_ref());
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
    with_ledger(settings, |stores| async move {
        let Some(entry) = stores.results.get(key).await? else {
            println!("no entry for {key} (label {})", key.label());
            return Ok(ExitCode::from(1));
        };
        let target = written_to(&stores, &entry).await?;
        print_entry(&entry, target.as_ref());
        if let Some(issue) = &entry.issue {
            println!("{}", issue.browse_url);
        }
        if let Some(error) = &entry.last_error {
            println!("last error: {error}");
        }
        if let Some(target) = &target {
            print_writeback(target);
        }
        Ok(ExitCode::SUCCESS)
    })
    .await
}

/// Opens the ledger with one connection, runs `query`, closes it.
async fn with_ledger<F, Fut>(settings: &Settings, query: F) -> ExitCode
where
    F: FnOnce(Stores) -> Fut,
    Fut: std::future::Future<Output = Result<ExitCode, LedgerError>>,
{
    let store = match ledger::connect(&settings.store.url, 1).await {
        Ok(stores) => stores,
        Err(e) => {
            eprintln!("error: cannot open the ledger: {e}");
            return ExitCode::from(2);
        }
    };
    let result = query(store.clone()).await;
    store.results.close().await;
    result.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })
}

/// What write-back knows of `entry`'s Test Manager defect, if its issue is recorded.
async fn written_to(
    stores: &Stores,
    entry: &LedgerEntry,
) -> Result<Option<WritebackTarget>, LedgerError> {
    let Some(issue) = &entry.issue else {
        return Ok(None);
    };
    let targets = stores.writeback.targets(&issue.issue_key).await?;
    Ok(targets.into_iter().find(|t| t.key == entry.key))
}

fn print_entry(entry: &LedgerEntry, target: Option<&WritebackTarget>) {
    let tm_status = target
        .and_then(|t| t.written.as_ref())
        .map_or("-", |w| w.status.as_str());
    println!(
        "{:<10} {:<12} {:<22} {:<8} {:<20} {}",
        entry.state.as_str(),
        entry.issue.as_ref().map_or("-", |i| i.issue_key.as_str()),
        entry.updated_at.format("%Y-%m-%d %H:%M:%S UTC"),
        if entry.remote_link_done { "yes" } else { "no" },
        tm_status,
        entry.key
    );
}

fn print_writeback(target: &WritebackTarget) {
    let defect = target.defect_id.as_deref().unwrap_or("(not known yet)");
    match &target.written {
        Some(w) => println!(
            "Test Manager defect {defect}: status {:?}, priority {:?}, from Jira's state of {}, written {}",
            w.status,
            w.priority.as_deref().unwrap_or("(unchanged)"),
            w.jira_updated.format("%Y-%m-%d %H:%M:%S UTC"),
            w.written_at.format("%Y-%m-%d %H:%M:%S UTC"),
        ),
        None => println!("Test Manager defect {defect}: nothing written back yet"),
    }
    if let Some(reason) = &target.skipped {
        println!("write-back skipped: {reason}");
    }
}
