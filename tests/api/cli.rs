//! The command line: `ledger list` and `ledger find` show what the ledger knows.

use crate::support::offline_config;
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
    let (config, store) = offline_config(dir.path(), "data_center");
    let key = ResultKey::new(Uuid::new_v4(), Uuid::new_v4(), Some("row-3".into()));
    let ledger = ledger::connect(&store, 1).await.unwrap().results;
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

mod against_fakes {
    use crate::support::*;
    use std::process::Command;
    use tm_defect_bridge::config::JiraFlavour;

    struct Setup {
        jira: FakeJira,
        tm: FakeTestManager,
        dir: tempfile::TempDir,
    }

    async fn setup(flavour: JiraFlavour, mapping: &str) -> Setup {
        let jira = FakeJira::start_at(flavour, "").await;
        let tm = FakeTestManager::start().await;
        jira.mount_createmeta(vec![]).await;
        let dir = tempfile::tempdir().unwrap();
        let mappings = mappings_folder(dir.path(), "mappings", mapping);
        let flavour_name = match flavour {
            JiraFlavour::Cloud => "cloud",
            JiraFlavour::DataCenter => "data_center",
        };
        let config = format!(
            "[jira]\nflavour = \"{flavour_name}\"\nbase_url = \"{}\"\nemail = \"bot@example.com\"\n\n\
             [testmanager]\nbase_url = \"{}\"\nclient_id = \"bridge-client\"\n\n\
             [store]\nurl = \"sqlite://{}\"\n\n[mappings]\ndir = \"{}\"\n",
            jira.base_url(),
            tm.base_url(),
            dir.path().join("ledger.db").display(),
            mappings.display(),
        );
        std::fs::write(dir.path().join("bridge.toml"), config).unwrap();
        Setup { jira, tm, dir }
    }

    fn run(setup: &Setup, args: &[&str], jira_token: &str) -> (i32, String) {
        let config = setup.dir.path().join("bridge.toml").display().to_string();
        let mut all = vec![args[0], "--config", &config];
        all.extend_from_slice(&args[1..]);
        let mut child = Command::new(env!("CARGO_BIN_EXE_tm-defect-bridge"))
            .args(&all)
            .env("BRIDGE_JIRA__TOKEN", jira_token)
            .env("BRIDGE_TESTMANAGER__CLIENT_SECRET", TM_SECRET)
            .env("BRIDGE_AUTH__SECRETS__SHOP", SECRET)
            .env(
                "RUST_LOG",
                std::env::var("TEST_CLI_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status.code().unwrap_or(-1);
            }
            if started.elapsed() > std::time::Duration::from_secs(60) {
                child.kill().unwrap();
                break -9;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let output = child.wait_with_output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (status, text)
    }

    #[tokio::test]
    async fn check_passes_on_a_good_configuration() {
        for flavour in [JiraFlavour::Cloud, JiraFlavour::DataCenter] {
            let setup = setup(flavour, MAPPING).await;
            let (code, out) = run(&setup, &["check"], JIRA_TOKEN);
            assert_eq!(code, 0, "{flavour:?}: {out}");
            assert!(
                out.contains("signed in to Jira") && out.contains("signed in to Test Manager"),
                "{out}"
            );
            assert!(
                out.contains("ok: claims and searches after a crash are consistent")
                    && out.contains("defects.search_lag_secs")
                    && out.contains("waits up to"),
                "the crash window is explained: {out}"
            );
            assert!(
                !out.contains(JIRA_TOKEN) && !out.contains(TM_SECRET),
                "no secret printed: {out}"
            );
        }
    }

    #[tokio::test]
    async fn check_names_each_kind_of_mistake_and_fails() {
        let cases: Vec<(String, &str, &[&str])> = vec![
            (
                MAPPING.to_owned(),
                "wrong-token",
                &["[jira]", "cannot sign in"],
            ),
            (
                MAPPING.replace("default = \"Medium\"", "default = \"Urgent\""),
                JIRA_TOKEN,
                &["issue.priority", "Urgent"],
            ),
            (
                MAPPING.replace("issue_type = \"Bug\"", "issue_type = \"Defect\""),
                JIRA_TOKEN,
                &["jira.issue_type", "Defect"],
            ),
            (
                MAPPING.replace("\"Environment\" =", "\"Enviroment\" ="),
                JIRA_TOKEN,
                &["Enviroment"],
            ),
            (
                MAPPING.replace("[issue]", "[issue]\nsumary = \"x\""),
                JIRA_TOKEN,
                &["shop.toml", "sumary"],
            ),
            (
                MAPPING.replace("{{ execution.name }}\"", "{{ execution.nmae }}\""),
                JIRA_TOKEN,
                &["shop.toml", "issue.summary"],
            ),
            (
                MAPPING.replace("prefix = \"SHOP\"", "prefix = \"SHOP\"\nroute = \"other\""),
                JIRA_TOKEN,
                &["BRIDGE_AUTH__SECRETS__OTHER"],
            ),
        ];
        // One pair of fakes for every case; only the mapping file and the token change.
        let setup = setup(JiraFlavour::Cloud, MAPPING).await;
        for (mapping, token, needles) in cases {
            std::fs::write(setup.dir.path().join("mappings/shop.toml"), &mapping).unwrap();
            let (code, out) = run(&setup, &["check"], token);
            assert_eq!(code, 1, "{out}");
            for needle in needles {
                assert!(out.contains(needle), "`{needle}` missing in:\n{out}");
            }
            assert!(!out.contains("wrong-token"), "no secret printed: {out}");
        }
    }

    /// Jira unreachable: `check` claims nothing about Jira. No `ok:` line says the
    /// sign-in or the mappings' Jira metadata are fine; the mapping that could not be
    /// compared is a problem line naming its file and why.
    #[tokio::test]
    async fn check_claims_nothing_it_could_not_verify() {
        let setup = setup(JiraFlavour::Cloud, MAPPING).await;
        let config = setup.dir.path().join("bridge.toml");
        let text = std::fs::read_to_string(&config).unwrap();
        // Nothing listens on the discard port of loopback.
        let text = text.replace(setup.jira.base_url().as_str(), "http://127.0.0.1:9/");
        std::fs::write(&config, text).unwrap();
        let (code, out) = run(&setup, &["check"], JIRA_TOKEN);
        assert_eq!(code, 1, "{out}");
        let oks: Vec<&str> = out.lines().filter(|l| l.starts_with("ok:")).collect();
        assert!(
            oks.iter()
                .all(|l| !l.contains("Jira at") && !l.contains("exists in Jira")),
            "{out}"
        );
        assert!(
            oks.iter().any(|l| l.contains("signed in to Test Manager")),
            "what was verified is still said: {out}"
        );
        assert!(
            out.lines()
                .any(|l| l.starts_with("problem: [jira]: cannot sign in")),
            "{out}"
        );
        assert!(
            out.lines().any(|l| l.starts_with("problem:")
                && l.contains("shop.toml")
                && l.contains("could not be compared with Jira's metadata")),
            "{out}"
        );
    }

    /// A claim that turns stale before its create can be over: `check` names the whole
    /// relation as a problem and `serve` refuses to start with the same explanation.
    #[tokio::test]
    async fn a_claim_staler_than_the_longest_create_is_a_problem_and_refused() {
        let setup = setup(JiraFlavour::Cloud, MAPPING).await;
        let config = setup.dir.path().join("bridge.toml");
        let mut text = std::fs::read_to_string(&config).unwrap();
        text.push_str("\n[defects]\nclaim_stale_after_secs = 4\nsearch_lag_secs = 3\n\n[outbound]\ntotal_budget_ms = 2500\n");
        text = text.replace("[jira]\n", "[jira]\ntimeout_ms = 2000\n");
        std::fs::write(&config, text).unwrap();
        let (code, out) = run(&setup, &["check"], JIRA_TOKEN);
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains(
                "problem: [defects]: defects.claim_stale_after_secs (4s) must be longer than"
            ) && out.contains("(4.5s)")
                && out.contains("defects.search_lag_secs (7.5s)"),
            "{out}"
        );
        let (code, out) = run(&setup, &["serve"], JIRA_TOKEN);
        assert_ne!(code, 0, "{out}");
        assert!(
            out.contains("could be taken over and duplicated") && out.contains("waits up to 7.5s"),
            "{out}"
        );
    }

    #[tokio::test]
    async fn preview_prints_the_request_and_creates_nothing() {
        let setup = setup(JiraFlavour::Cloud, MAPPING).await;
        let seeded = SeededResult::new(Some("row-1"));
        setup.tm.seed(&seeded, "Failed").await;
        let execution = seeded.execution_id.to_string();
        let testcase = seeded.test_case_id.to_string();
        let (code, out) = run(
            &setup,
            &[
                "preview",
                "--project",
                "SHOP",
                "--execution",
                &execution,
                "--testcase",
                &testcase,
                "--variation",
                "row-1",
            ],
            JIRA_TOKEN,
        );
        assert_eq!(code, 0, "{out}");
        assert!(
            out.contains("POST ") && out.contains("/rest/api/3/issue"),
            "{out}"
        );
        assert!(
            out.contains("\"customfield_10050\""),
            "custom fields resolved: {out}"
        );
        assert!(out.contains("Expected 'Card declined'"), "{out}");
        assert!(
            setup.jira.creates().await.is_empty(),
            "preview creates nothing"
        );
        assert!(setup.jira.received("POST", "/remotelink").await.is_empty());
    }
}
