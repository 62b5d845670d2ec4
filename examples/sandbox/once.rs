//! `--once`'s last check: what the README promises a user who edits
//! `mappings/example.toml` while the sandbox runs — the next issue follows
//! the file. Done on the sandbox's copy of the mappings.

use crate::config::hook_url;
use crate::show;
use crate::Sandbox;
use std::time::Duration;

/// The summary the edited mapping gives.
const EDITED_PREFIX: &str = "Edited in the sandbox";

/// Rewrites the copy's summary template, waits for the reload, sends a new
/// failed result and checks the issue Jira received carries the new summary.
pub async fn an_edit_shapes_the_next_issue(sandbox: &Sandbox) -> bool {
    show::heading("5. (--once) An edited mapping shapes the next issue");
    let file = sandbox.mappings.join("example.toml");
    let Ok(text) = std::fs::read_to_string(&file) else {
        eprintln!("error: cannot read {}", file.display());
        return false;
    };
    let Some(old) = text.lines().find(|l| l.starts_with("summary = ")) else {
        eprintln!("error: {} has no summary line to edit", file.display());
        return false;
    };
    let new = format!("summary = \"{EDITED_PREFIX}: {{{{ test_case.name }}}}\"");
    if std::fs::write(&file, text.replacen(old, &new, 1)).is_err() {
        eprintln!("error: cannot write {}", file.display());
        return false;
    }
    println!("{}: {new}", file.display());

    let client = reqwest::Client::new();
    let before = sandbox.jira.issues().len();
    // The watcher looks every second; a press before the reload still gets the old summary,
    // so each try sends a new failed result and looks at the issue it made.
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let Ok(minted) = client.post(&sandbox.next_failure).send().await else {
            continue;
        };
        let Ok(body) = minted.json::<serde_json::Value>().await else {
            continue;
        };
        let Ok(answer) = client
            .post(hook_url(&sandbox.bridge))
            .json(&body)
            .send()
            .await
        else {
            continue;
        };
        let payload: serde_json::Value = answer.json().await.unwrap_or_default();
        if payload["name"]
            .as_str()
            .is_some_and(|name| name.starts_with(EDITED_PREFIX))
        {
            println!("{}", show::pretty(&payload));
            let created = sandbox.jira.issues().len() > before;
            if !created {
                eprintln!("error: no new issue reached the stand-in Jira");
            }
            return created;
        }
    }
    eprintln!("error: the edited summary never reached an issue");
    false
}
