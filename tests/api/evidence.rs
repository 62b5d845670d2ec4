//! Evidence on the issue: screenshots, robot logs and attachments streamed from the fake
//! Test Manager to the fake Jira (which answers uploads the way Jira Cloud does).

use crate::support::*;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tm_defect_bridge::config::JiraFlavour;

/// An `[evidence]` section that attaches Test Manager's attachments only.
const ATTACHMENTS_ONLY: &str = "kinds = [\"attachments\"]";

fn mapping(evidence: &str) -> String {
    format!("{MAPPING}\n[evidence]\n{evidence}\n")
}

/// A bridge on Jira Cloud whose mapping has `[evidence]` holding `evidence`.
fn with_evidence(evidence: &str) -> AppOptions<'static> {
    AppOptions::cloud().mapping(mapping(evidence))
}

/// Seeds a failed result whose log holds a screenshot of each failed assertion, the
/// robot log and `attachments` `(id, file name, bytes)`.
async fn failure_with_evidence(
    app: &TestApp,
    screenshot: &[u8],
    robot_log: &[u8],
    attachments: &[(&str, &str, Vec<u8>)],
) -> SeededResult {
    let seeded = SeededResult::new(None);
    app.tm.seed(&seeded, "Failed").await;
    app.tm
        .seed_evidence(&seeded, screenshot, robot_log, attachments)
        .await;
    seeded
}

/// Bytes that differ at every position (so a dropped or doubled chunk shows).
fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[i % 4] ^ seed)
        .collect()
}

async fn until<F: Fn() -> bool>(what: &str, limit: Duration, f: F) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn comments_text(jira: &FakeJira) -> String {
    jira.issues()
        .iter()
        .flat_map(|i| i.comments.iter().map(Value::to_string))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Waits up to `limit` for the evidence summary comment on the issue.
async fn summary_posted(jira: &FakeJira, limit: Duration) {
    until("the evidence summary", limit, || {
        comments_text(jira).contains("Evidence from Test Manager")
    })
    .await;
}

/// Waits up to 20 s for the first file to reach Jira's issue.
async fn first_upload_reached(jira: &FakeJira) {
    until(
        "the first upload to reach Jira",
        Duration::from_secs(20),
        || {
            jira.issues()
                .first()
                .is_some_and(|i| !i.attachments.is_empty())
        },
    )
    .await;
}

async fn uploads(jira: &FakeJira) -> Vec<wiremock::Request> {
    jira.received("POST", "/attachments").await
}

#[tokio::test]
async fn every_kind_of_evidence_arrives_byte_for_byte() {
    every_kind_arrives(JiraFlavour::Cloud).await;
}

#[tokio::test]
async fn every_kind_of_evidence_arrives_byte_for_byte_on_data_center() {
    every_kind_arrives(JiraFlavour::DataCenter).await;
}

/// A robot log of `lines` entries, every 1000th an error and every 700th a warning; as
/// text lines, or as a JSON array of Orchestrator-shaped entries. Returns the log and the
/// lines the attachment must list first, in order.
fn robot_log(lines: usize, json: bool) -> (Vec<u8>, Vec<String>) {
    let level = |i: usize| match (i % 1000 == 999, i % 700 == 699) {
        (true, _) => "Error",
        (false, true) => "Warn",
        _ => "Info",
    };
    let message = |i: usize| format!("step {i} of the checkout flow, card 4111-{i:06}");
    let problems = (0..lines)
        .filter(|i| level(*i) != "Info")
        .map(|i| {
            format!(
                "2026-11-27T10:{:02}:{:02}Z {} {}",
                i / 60 % 60,
                i % 60,
                level(i),
                message(i)
            )
        })
        .collect();
    let log = if json {
        let entries: Vec<Value> = (0..lines)
            .map(|i| {
                serde_json::json!({
                    "timeStamp": format!("2026-11-27T10:{:02}:{:02}Z", i / 60 % 60, i % 60),
                    "level": level(i),
                    "message": message(i),
                    "processName": "Checkout",
                })
            })
            .collect();
        serde_json::to_vec(&entries).unwrap()
    } else {
        (0..lines)
            .map(|i| {
                format!(
                    "2026-11-27T10:{:02}:{:02}Z {} {}\r\n",
                    i / 60 % 60,
                    i % 60,
                    level(i),
                    message(i)
                )
            })
            .collect::<String>()
            .into_bytes()
    };
    (log, problems)
}

/// The attachment lists exactly `problems` first, then the whole log.
fn assert_problems_first(attached: &[u8], sent: &[u8], problems: &[String], json: bool) {
    let text = std::str::from_utf8(attached).expect("the robot log is attached as text");
    let (head, full) = text
        .split_once("==== Full log ====\n")
        .unwrap_or_else(|| panic!("no full log section: {}", &text[..text.len().min(500)]));
    let listed: Vec<&str> = head
        .split_once("==== Errors and warnings ====\n")
        .expect("an errors and warnings section")
        .1
        .lines()
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(listed, problems, "errors and warnings first, in log order");
    if json {
        let entries: Vec<Value> = serde_json::from_slice(sent).unwrap();
        assert_eq!(full.lines().count(), entries.len(), "one line per entry");
        assert!(full.starts_with("2026-11-27T10:00:00Z Info step 0 of the checkout flow"));
    } else {
        assert_eq!(
            full.as_bytes(),
            sent,
            "the full log is exactly what Test Manager holds"
        );
    }
}

async fn every_kind_arrives(flavour: JiraFlavour) {
    let app = spawn_app(AppOptions::of(flavour).mapping(mapping("file_prefix = \"tm-\""))).await;
    let screenshot = bytes(1234, 1);
    // Data Center's run gets Test Manager's log as JSON, Cloud's as text.
    let json_log = flavour == JiraFlavour::DataCenter;
    let (robot_log, problems) = robot_log(5_000, json_log);
    let report = bytes(50_000, 3);
    let note = b"tiny".to_vec();
    let seeded = failure_with_evidence(
        &app,
        &screenshot,
        &robot_log,
        &[
            ("att-1", "report final.pdf", report.clone()),
            ("att-2", "note.txt", note.clone()),
        ],
    )
    .await;

    let response = app.create_defect(&seeded.body()).await;
    assert_eq!(response.status().as_u16(), 200);
    summary_posted(&app.jira, Duration::from_secs(20)).await;

    let issue = app.jira.issues().remove(0);
    let mut got: Vec<(String, Vec<u8>)> = issue.attachments.clone();
    let robot_name = format!(
        "tm-robot-log-{}.txt",
        seeded.log_id.simple().to_string().get(..8).unwrap()
    );
    let at = got
        .iter()
        .position(|(name, _)| *name == robot_name)
        .unwrap_or_else(|| {
            panic!(
                "no {robot_name} among {:?}",
                got.iter().map(|g| &g.0).collect::<Vec<_>>()
            )
        });
    let (_, robot_attached) = got.remove(at);
    assert_problems_first(&robot_attached, &robot_log, &problems, json_log);
    got.sort();
    let mut want = vec![
        ("tm-assert-1.png".to_owned(), screenshot),
        ("tm-report_final.pdf".to_owned(), report),
        ("tm-note.txt".to_owned(), note),
    ];
    want.sort();
    assert_eq!(
        got.len(),
        want.len(),
        "names: {:?}",
        got.iter().map(|g| &g.0).collect::<Vec<_>>()
    );
    for ((gn, gb), (wn, wb)) in got.iter().zip(&want) {
        assert_eq!(gn, wn);
        assert!(
            gb == wb,
            "{gn}: bytes differ ({} vs {})",
            gb.len(),
            wb.len()
        );
    }
    // Each file sent once, as multipart field `file`, with the XSRF header.
    let sent = uploads(&app.jira).await;
    assert_eq!(
        sent.len(),
        4,
        "the Cloud-shaped answer is accepted, not retried"
    );
    for request in &sent {
        assert_eq!(
            request.headers.get("x-atlassian-token").unwrap(),
            "no-check"
        );
        let parts = parse_multipart(request).expect("multipart body");
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].name, "file");
    }
    let summary = comments_text(&app.jira);
    assert!(summary.contains("Attached"), "{summary}");
    assert!(summary.contains("final.pdf"), "{summary}");
    // The description lists the evidence too, after what it said before.
    let issue = app.jira.issues().remove(0);
    let description = issue.body["fields"]["description"].to_string();
    assert!(
        description.contains("Evidence from Test Manager") && description.contains("final.pdf"),
        "{description}"
    );
    assert!(
        description.contains("Card declined"),
        "the original description stays: {description}"
    );
    assert_eq!(issue.description_updates, 1);
}

#[tokio::test]
async fn size_limits_and_jiras_413_are_reported_on_the_issue() {
    let app = spawn_app(with_evidence("max_file_bytes = 100000")).await;
    app.jira.behave(|b| b.attachment_limit = Some(20_000));
    let seeded = failure_with_evidence(
        &app,
        &bytes(1234, 1),
        &bytes(150_000, 2), // over the mapping's limit: seen from Content-Length
        &[
            ("big", "huge.zip", bytes(200_000, 3)), // over the limit: seen in the listing
            ("mid", "video.mp4", bytes(50_000, 4)), // under the limit, over Jira's: 413
        ],
    )
    .await;
    let response = app.create_defect(&seeded.body()).await;
    assert_eq!(response.status().as_u16(), 200);
    summary_posted(&app.jira, Duration::from_secs(20)).await;
    let issue = app.jira.issues().remove(0);
    let names: Vec<&str> = issue.attachments.iter().map(|a| a.0.as_str()).collect();
    assert_eq!(names, vec!["assert-1.png"]);
    let summary = comments_text(&app.jira);
    assert!(summary.contains("Skipped"), "{summary}");
    assert!(summary.contains("huge.zip"), "{summary}");
    assert!(summary.contains("over the mapping's limit"), "{summary}");
    assert!(summary.contains("robot-log-"), "{summary}");
    assert!(summary.contains("video.mp4"), "{summary}");
    assert!(summary.contains("413"), "{summary}");
    // The 413 is not retried.
    let sent = uploads(&app.jira).await;
    assert_eq!(sent.len(), 2, "screenshot once, video once (refused)");
}

#[tokio::test]
async fn the_answer_does_not_wait_for_uploads() {
    let app = spawn_app(with_evidence("")).await;
    // Jira answers each upload only after 10 s: an answer that waited for
    // uploads could not come sooner (a logical bound, not a speed target).
    app.jira
        .behave(|b| b.slow_upload_delay = Duration::from_secs(10));
    let seeded = failure_with_evidence(&app, &bytes(1234, 1), &bytes(10, 2), &[]).await;
    let started = Instant::now();
    let response = app.create_defect(&seeded.body()).await;
    let answered = started.elapsed();
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        answered < Duration::from_secs(10),
        "Create Defect took {answered:?}: it waited for uploads"
    );
    until("both uploads", Duration::from_secs(40), || {
        app.jira
            .issues()
            .first()
            .is_some_and(|i| i.attachments.len() == 2)
    })
    .await;
}

/// A worker stopped while its upload's answer is outstanding; a new process on the same
/// ledger checks the issue, finds the file, and uploads only the rest: each file once.
#[tokio::test]
async fn a_process_stopped_mid_upload_resumes_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores(&dir).await {
        let first = spawn_app(with_evidence("").store(&store)).await;
        let seeded = failure_with_evidence(
            &first,
            &bytes(1234, 1),
            &bytes(40_000, 2),
            &[
                ("a1", "one.bin", bytes(5_000, 3)),
                ("a2", "two.bin", bytes(6_000, 4)),
            ],
        )
        .await;
        first
            .jira
            .behave(|b| b.slow_upload_delay = Duration::from_secs(30));

        let response = first.create_defect(&seeded.body()).await;
        assert_eq!(response.status().as_u16(), 200);
        first_upload_reached(&first.jira).await;
        // The process stops while Jira's answer to that upload is outstanding.
        first.evidence.stop();
        tokio::time::sleep(Duration::from_millis(300)).await;
        first.jira.behave(|b| b.slow_upload_delay = Duration::ZERO);

        // A new process on the same ledger resumes.
        let mut next = first.settings_beside(&mapping(""), store.clone());
        next.evidence.poll_interval_ms = 100;
        let _resumed = start_bridge(next).await;
        summary_posted(&first.jira, Duration::from_secs(30)).await;
        let issue = first.jira.issues().remove(0);
        let mut names: Vec<String> = issue.attachments.iter().map(|a| a.0.clone()).collect();
        names.sort();
        let mut unique = names.clone();
        unique.dedup();
        assert_eq!(names, unique, "a file was uploaded twice ({store})");
        assert_eq!(names.len(), 4, "{names:?} ({store})");
        let summary = comments_text(&first.jira);
        assert_eq!(summary.matches("Evidence from Test Manager").count(), 1);
    }
}

/// A live worker renews its claim while Jira is slow to answer an upload, so a second
/// process on the same ledger does not take the row over although the upload outlasts
/// `stale_after_secs`: every row is settled on its first claim.
#[tokio::test]
async fn a_slow_upload_keeps_its_claim_against_other_processes() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores(&dir).await {
        let stale_fast = |settings: &mut tm_defect_bridge::config::Settings| {
            settings.evidence.stale_after_secs = 1;
            settings.evidence.poll_interval_ms = 50;
        };
        let first = spawn_app(
            with_evidence(ATTACHMENTS_ONLY)
                .store(&store)
                .tweak(|settings, _| stale_fast(settings)),
        )
        .await;
        let seeded = failure_with_evidence(
            &first,
            &[],
            &[],
            &[
                ("s1", "slow-one.bin", bytes(3_000, 5)),
                ("s2", "slow-two.bin", bytes(4_000, 6)),
            ],
        )
        .await;
        first
            .jira
            .behave(|b| b.slow_upload_delay = Duration::from_millis(2_500));
        // A second process on the same ledger, polling for stale claims.
        let mut other = first.settings_beside(&mapping(ATTACHMENTS_ONLY), store.clone());
        stale_fast(&mut other);
        let _other = start_bridge(other).await;

        let response = first.create_defect(&seeded.body()).await;
        assert_eq!(response.status().as_u16(), 200);
        summary_posted(&first.jira, Duration::from_secs(30)).await;
        let issue_key = first.jira.issues()[0].key.clone();
        let ledger = tm_defect_bridge::ledger::connect(&store, 1).await.unwrap();
        let rows = ledger.evidence.for_issue(&issue_key).await.unwrap();
        let files: Vec<_> = rows.iter().filter(|r| r.item.kind.is_file()).collect();
        assert_eq!(files.len(), 2, "{rows:?} ({store})");
        for row in files {
            assert_eq!(
                (row.state, row.attempts),
                (tm_defect_bridge::ledger::EvidenceState::Done, 1),
                "{} was taken over or retried ({store})",
                row.item.file_name
            );
        }
        assert_eq!(
            uploads(&first.jira).await.len(),
            2,
            "one upload per file ({store})"
        );
        ledger.results.close().await;
    }
}

/// Jira stores the summary comment but its answer is lost (502): the retried step reads
/// the issue's comments newest first, finds its marker, and does not post it again.
#[tokio::test]
async fn a_summary_whose_answer_was_lost_is_not_posted_twice() {
    let (app, key) = summary_after_comment_trouble(|b| b.fail_after_comment = 1).await;
    // The lost answer stored the comment already: wait for the retried step's look.
    let started = Instant::now();
    while comment_reads(&app, &key).await.is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the retried step never read the comments"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let comments = comments_text(&app.jira);
    assert_eq!(
        comments.matches("Evidence from Test Manager").count(),
        1,
        "{comments}"
    );
    assert_eq!(
        comment_reads(&app, &key).await,
        ["startAt=0&maxResults=100&orderBy=-created"],
        "the newest page holds the marker"
    );
}

/// Jira refuses the summary comment (503, not stored): the retried step reads every page
/// of comments (Jira caps the page below what was asked), finds no marker, and posts it.
#[tokio::test]
async fn a_refused_summary_is_posted_after_reading_every_page() {
    let (app, key) = summary_after_comment_trouble(|b| b.refuse_comments = 1).await;
    let comments = comments_text(&app.jira);
    assert_eq!(
        comments.matches("Evidence from Test Manager").count(),
        1,
        "{comments}"
    );
    assert_eq!(
        comment_reads(&app, &key).await,
        [
            "startAt=0&maxResults=100&orderBy=-created",
            "startAt=2&maxResults=100&orderBy=-created"
        ],
        "page by page until the total"
    );
}

/// One attachment, three comments by people while it uploads, pages of 2 comments, and
/// `trouble` for the summary comment; returns once the summary is on the issue.
async fn summary_after_comment_trouble(trouble: impl FnOnce(&mut Behaviour)) -> (TestApp, String) {
    let app = spawn_app(with_evidence(ATTACHMENTS_ONLY)).await;
    let seeded = failure_with_evidence(&app, &[], &[], &[("a1", "one.bin", bytes(2_000, 7))]).await;
    app.jira.behave(|b| {
        b.slow_upload_delay = Duration::from_millis(500);
        b.comment_page_limit = 2;
        trouble(b);
    });
    let response = app.create_defect(&seeded.body()).await;
    assert_eq!(response.status().as_u16(), 200);
    let key = app.jira.issues()[0].key.clone();
    for n in 0..3 {
        app.jira.comment_as_user(&key, &format!("triage note {n}"));
    }
    summary_posted(&app.jira, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    (app, key)
}

/// The query strings of the comment reads Jira received for `key`.
async fn comment_reads(app: &TestApp, key: &str) -> Vec<String> {
    app.jira
        .received("GET", &format!("/issue/{key}/comment"))
        .await
        .iter()
        .map(|r| r.url.query().unwrap_or_default().to_owned())
        .collect()
}

/// Jira is killed while an upload is in flight and stays down for longer than
/// `max_attempts` tries (connections refused), then comes back on the same address: the
/// file that reached Jira before the kill is found there, the rest are attached once, and
/// nothing is reported as failed.
#[tokio::test]
async fn jira_killed_and_restarted_during_uploads_loses_and_doubles_nothing() {
    let proxy: Arc<std::sync::OnceLock<Restartable>> = Arc::default();
    let jira_address = Arc::new(std::sync::OnceLock::new());
    let app = spawn_app(with_evidence(ATTACHMENTS_ONLY).tweak(|settings, _| {
        settings.evidence.max_attempts = 2;
        settings.evidence.max_backoff_secs = 1;
        jira_address
            .set(settings.jira.base_url.clone())
            .expect("set once");
    }))
    .await;
    let jira_url = jira_address.get().unwrap().clone();
    let target = format!(
        "{}:{}",
        jira_url.host_str().unwrap(),
        jira_url.port().unwrap()
    );
    let restartable = Restartable::start(target.parse().unwrap()).await;
    let proxied = url::Url::parse(&format!("{}{}", restartable.address, jira_url.path())).unwrap();
    assert!(proxy.set(restartable).is_ok());
    // A second bridge on the same fakes talks to Jira through the proxy only.
    let dir = tempfile::tempdir().unwrap();
    let mut through_proxy = app.settings_beside(&mapping(ATTACHMENTS_ONLY), sqlite_store(&dir));
    through_proxy.jira.base_url = proxied;
    through_proxy.evidence.max_attempts = 2;
    through_proxy.evidence.max_backoff_secs = 1;
    let bridge = start_bridge(through_proxy).await;
    app.evidence.stop();

    let files: Vec<(&str, &str, Vec<u8>)> = vec![
        ("k1", "first.bin", bytes(30_000, 12)),
        ("k2", "second.bin", bytes(40_000, 13)),
    ];
    let seeded = failure_with_evidence(&app, &[], &[], &files).await;
    app.jira
        .behave(|b| b.slow_upload_delay = Duration::from_secs(30));
    let response = create_defect_on(&bridge, &seeded.body()).await;
    assert_eq!(response.status(), 200);
    first_upload_reached(&app.jira).await;
    // Killed mid-upload; down for several tries' worth of backoff.
    let proxy = proxy.get().unwrap();
    proxy.stop().await;
    app.jira.behave(|b| {
        b.slow_upload_delay = Duration::ZERO;
        // Still starting when it comes back: one upload gets a 503. The tries lost to the
        // outage do not count towards max_attempts, so this one failure fails nothing.
        b.failing_uploads = Some((503, 1));
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    proxy.restart().await;

    summary_posted(&app.jira, Duration::from_secs(30)).await;
    let issue = app.jira.issues().remove(0);
    let mut got = issue.attachments.clone();
    got.sort();
    let mut want: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(_, name, bytes)| (name.to_string(), bytes.clone()))
        .collect();
    want.sort();
    assert!(
        got == want,
        "each file once, intact: {:?}",
        got.iter().map(|g| &g.0).collect::<Vec<_>>()
    );
    let summary = comments_text(&app.jira);
    assert!(!summary.contains("Failed after"), "{summary}");
    assert_eq!(
        uploads(&app.jira).await.len(),
        3,
        "the one cut by the kill (found on the issue afterwards), the 503, and the other file"
    );
}

/// A file Jira keeps refusing for a reason of its own (no permission to attach) is tried
/// `max_attempts` times, then reported as failed in the summary comment, with Jira's reason.
#[tokio::test]
async fn a_file_jira_keeps_refusing_is_reported_as_failed() {
    let app = spawn_app(
        with_evidence(ATTACHMENTS_ONLY).tweak(|settings, _| settings.evidence.max_attempts = 3),
    )
    .await;
    let file = ("a1", "refused.bin", bytes(3_000, 9));
    let seeded = failure_with_evidence(&app, &[], &[], &[file]).await;
    app.jira.behave(|b| b.failing_uploads = Some((403, 100)));
    let response = app.create_defect(&seeded.body()).await;
    assert_eq!(response.status().as_u16(), 200);
    summary_posted(&app.jira, Duration::from_secs(30)).await;
    assert_eq!(
        uploads(&app.jira).await.len(),
        3,
        "max_attempts tries, no more"
    );
    assert!(app.jira.issues()[0].attachments.is_empty());
    let summary = comments_text(&app.jira);
    assert!(
        summary.contains("Failed after several tries") && summary.contains("refused.bin"),
        "{summary}"
    );
}

/// The issue was created while the mapping attached no evidence; after `[evidence]` is
/// added, pressing Create Defect again answers the same issue and queues its evidence
/// (once: a third press queues nothing more).
#[tokio::test]
async fn evidence_enabled_later_reaches_an_existing_issue_on_the_next_press() {
    let before = spawn_app(AppOptions::cloud()).await;
    let file = bytes(4_000, 10);
    let seeded =
        failure_with_evidence(&before, &[], &[], &[("a1", "later.bin", file.clone())]).await;
    let first = before.create_defect(&seeded.body()).await;
    assert_eq!(first.status().as_u16(), 200);
    let first: Value = first.json().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(uploads(&before.jira).await.is_empty(), "no [evidence] yet");
    // The old process is replaced by the new one: its worker, which still reads the
    // old mapping, must not take the new rows (it would skip them as unwanted).
    before.evidence.stop();

    // The same ledger, Jira and Test Manager; the mapping now attaches evidence.
    let after =
        start_bridge(before.settings_beside(&mapping(ATTACHMENTS_ONLY), before.store.clone()))
            .await;
    let body = seeded.body();
    let press = || create_defect_on(&after, &body);
    let again: Value = press().await.json().await.unwrap();
    assert!(first["link"].is_string(), "{first}");
    assert_eq!(again["link"], first["link"], "the same issue answers");
    summary_posted(&before.jira, Duration::from_secs(20)).await;
    let issue = before.jira.issues().remove(0);
    assert_eq!(before.jira.issues().len(), 1);
    assert_eq!(issue.attachments.len(), 1);
    assert!(issue.attachments[0].1 == file);
    // With evidence queued, a third press does not fetch the failure again.
    let fetches = || async {
        before
            .tm
            .server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path().contains("/testcaselogs/testexecution/"))
            .count()
    };
    let fetched = fetches().await;
    assert_eq!(fetched, 2, "the first press and the backfill");
    assert_eq!(press().await.status().as_u16(), 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fetches().await, fetched, "nothing more to queue");
    assert_eq!(uploads(&before.jira).await.len(), 1, "attached once");
}

/// A file whose upload keeps killing the process (out of memory or disk) is not retried
/// forever: after the fifth takeover from a dead worker it is reported as failed.
#[tokio::test]
async fn a_file_that_keeps_killing_its_workers_is_given_up() {
    let first = spawn_app(with_evidence(ATTACHMENTS_ONLY)).await;
    let store = first.store.clone();
    let file = ("p1", "poison.bin", bytes(1_000, 11));
    let seeded = failure_with_evidence(&first, &[], &[], &[file]).await;
    first
        .jira
        .behave(|b| b.slow_upload_delay = Duration::from_secs(60));
    assert_eq!(first.create_defect(&seeded.body()).await.status(), 200);
    first_upload_reached(&first.jira).await;
    first.evidence.stop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Its history: four workers died holding it; the last one's claim is stale.
    let pool = sqlx::SqlitePool::connect(&store).await.unwrap();
    let changed = sqlx::query(
        "UPDATE evidence_items SET state = 'uploading', owner = 'dead', claimed_at = 0, \
         takeovers = 4 WHERE kind = 'attachment'",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(changed.rows_affected(), 1);
    first.jira.behave(|b| b.slow_upload_delay = Duration::ZERO);

    let _next = start_bridge(first.settings_beside(&mapping(ATTACHMENTS_ONLY), store)).await;
    summary_posted(&first.jira, Duration::from_secs(20)).await;
    let summary = comments_text(&first.jira);
    assert!(
        summary.contains("Failed after several tries") && summary.contains("cut off 5 times"),
        "{summary}"
    );
    assert_eq!(uploads(&first.jira).await.len(), 1, "not uploaded again");
}
