//! The command line: `ledger list` and `ledger find` show what the ledger knows.

use std::process::Command;
use std::time::Duration;
use tm_defect_bridge::ledger::{self, IssueRecord};
use tm_defect_bridge::result_key::ResultKey;
use uuid::Uuid;

fn bridge(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tm-defect-bridge"))
        .args(args)
        .env_remove("BRIDGE_CONFIG")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), text)
}

#[tokio::test]
async fn ledger_list_and_find_show_entries() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("ledger.db").display());
    let config = dir.path().join("bridge.toml");
    std::fs::write(
        &config,
        format!(
            "[jira]\nflavour = \"data_center\"\nbase_url = \"https://jira.example.com/\"\n\n\
             [testmanager]\nbase_url = \"https://tm.example.com/\"\nclient_id = \"x\"\n\n\
             [store]\nurl = \"{store}\"\n"
        ),
    )
    .unwrap();
    let key = ResultKey::new(Uuid::new_v4(), Uuid::new_v4(), Some("row-3".into()));
    let ledger = ledger::connect(&store, 1).await.unwrap();
    ledger
        .claim(
            &key,
            "shop",
            "me/1",
            chrono::Utc::now(),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    let record = IssueRecord {
        issue_key: "SHOP-77".into(),
        issue_id: "10077".into(),
        browse_url: "https://jira.example.com/browse/SHOP-77".into(),
        summary: "s".into(),
        status: None,
        priority: None,
    };
    ledger
        .record_issue(&key, "me/1", &record, chrono::Utc::now())
        .await
        .unwrap();
    ledger.close().await;

    let config = config.display().to_string();
    let (code, out) = bridge(&["ledger", "--config", &config, "list"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("SHOP-77") && out.contains("created") && out.contains(&key.canonical()),
        "{out}"
    );

    let execution = key.test_execution_id.to_string();
    let test_case = key.test_case_id.to_string();
    let (code, out) = bridge(&[
        "ledger",
        "--config",
        &config,
        "find",
        "--execution",
        &execution,
        "--test-case",
        &test_case,
        "--variation",
        "row-3",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("https://jira.example.com/browse/SHOP-77"),
        "{out}"
    );

    let (code, out) = bridge(&[
        "ledger",
        "--config",
        &config,
        "find",
        "--execution",
        &execution,
        "--test-case",
        &test_case,
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("no entry"), "{out}");
}

#[test]
fn serve_without_secrets_names_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bridge.toml");
    std::fs::write(
        &config,
        "[jira]\nflavour = \"cloud\"\nbase_url = \"https://x.atlassian.net/\"\nemail = \"a@b.c\"\n\n\
         [testmanager]\nbase_url = \"https://tm.example.com/\"\nclient_id = \"x\"\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tm-defect-bridge"))
        .args(["serve", "--config", &config.display().to_string()])
        .env_remove("BRIDGE_JIRA__TOKEN")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("BRIDGE_JIRA__TOKEN"), "{err}");
}
