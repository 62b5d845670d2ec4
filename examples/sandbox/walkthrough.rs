//! The walk-through the sandbox prints: a Create Defect as Test Manager sends
//! it, the answer, the Jira issue with its evidence, and the KPI answer.

use crate::config::{hook_url, kpi_url};
use crate::show;
use crate::Sandbox;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// Prints the four steps; true when every one worked (the issue was created
/// with all its evidence, and the KPIs count it).
pub async fn run(sandbox: &Sandbox, log: &Path) -> bool {
    let first = &sandbox.failed[0];
    let hook = hook_url(&sandbox.bridge);
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
            return false;
        }
    };
    let status = answer.status();
    let payload: Value = answer.json().await.unwrap_or(Value::Null);
    show::heading(&format!(
        "2. The bridge answers {status}: the defect payload Test Manager shows"
    ));
    println!("{}", show::pretty(&payload));
    if !status.is_success() {
        eprintln!("error: Create Defect failed; see {}", log.display());
        return false;
    }

    let issue = show::wait_for_issue(&sandbox.jira, Duration::from_secs(30)).await;
    show::heading("3. The Jira issue, with the evidence uploaded after the answer");
    let complete = match issue {
        Some(issue) => {
            show::issue(&issue, sandbox.flavour);
            show::evidence_arrived(&issue)
        }
        None => {
            println!("(no issue arrived in the stand-in Jira)");
            false
        }
    };

    show::heading("4. The dashboard's Open Defects tile asks for the KPIs");
    let kpis = kpi_url(&sandbox.bridge);
    println!("GET {kpis}");
    let counted = match client.get(&kpis).send().await {
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
    complete && counted
}
