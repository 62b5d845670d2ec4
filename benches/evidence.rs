//! Evidence streaming: peak memory while the upload worker attaches a 100 MB robot log.
//!
//! `cargo bench --bench evidence` runs the real worker (SQLite ledger, mapping with
//! `[evidence]`, the Test Manager and Jira adapters) against two minimal HTTP servers in
//! this process: a Test Manager that streams the file in 64 KiB writes and a Jira that
//! reads the multipart upload and throws it away, counting bytes. Neither fake keeps the
//! file, so the process's peak RSS (`VmHWM`) shows what the bridge's upload path holds.
//! The peak is reset (`/proc/self/clear_refs` = 5) just before the upload starts.
//!
//! Without `--bench` (e.g. `cargo test --benches`) it streams 8 MB only.
//! `EVIDENCE_BENCH_MB` overrides the size.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tm_defect_bridge::config::{EvidenceSettings, JiraFlavour};
use tm_defect_bridge::evidence::worker::{EvidenceWorker, Signal};
use tm_defect_bridge::ledger::{self, EvidenceItem, EvidenceKind, EvidenceState, NewEvidence};
use tm_defect_bridge::mapping::{Projects, ProjectsHandle};
use tm_defect_bridge::outbound::RetryPolicy;
use tm_defect_bridge::testmanager::{TestManagerClient, TestManagerConnection};
use tm_defect_bridge::tracker::jira::{JiraConnection, JiraTracker};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

const PROJECT_ID: &str = "6c1f0b4e-3f7a-4b8e-9a51-2f0c8d7e1a42";
const CHUNK: usize = 64 * 1024;

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Reads the request head (through the blank line); returns it and any body bytes read.
async fn read_head(stream: &mut TcpStream) -> (String, Vec<u8>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return (String::from_utf8_lossy(&buf).into_owned(), Vec::new());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf[end + 4..].to_vec();
            buf.truncate(end);
            return (String::from_utf8_lossy(&buf).into_owned(), rest);
        }
    }
}

fn content_length(head: &str) -> u64 {
    head.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())
                .flatten()
        })
        .unwrap_or(0)
}

async fn respond(stream: &mut TcpStream, body: &str) {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
}

/// Test Manager: a token, and the robot log streamed as `size` bytes.
async fn fake_testmanager(listener: TcpListener, size: u64) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        tokio::spawn(async move {
            let (head, rest) = read_head(&mut stream).await;
            if head.starts_with("POST") {
                let mut left = content_length(&head).saturating_sub(rest.len() as u64);
                let mut sink = [0u8; 4096];
                while left > 0 {
                    let n = stream.read(&mut sink).await.unwrap_or(0) as u64;
                    if n == 0 {
                        break;
                    }
                    left = left.saturating_sub(n);
                }
                respond(
                    &mut stream,
                    r#"{"access_token":"t","expires_in":3600,"token_type":"Bearer"}"#,
                )
                .await;
                return;
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let block = log_block();
            let mut left = size;
            while left > 0 {
                let n = left.min(CHUNK as u64) as usize;
                if stream.write_all(&block[..n]).await.is_err() {
                    return;
                }
                left -= n as u64;
            }
        });
    }
}

/// 64 KiB of a robot log in text: one line in 20 is an error, one in 50 a warning; the
/// last line runs into the next block, as lines do across network reads.
fn log_block() -> Vec<u8> {
    let mut block = String::with_capacity(CHUNK + 128);
    let mut i = 0;
    while block.len() < CHUNK {
        let level = match (i % 20, i % 50) {
            (19, _) => "Error",
            (_, 49) => "Warn",
            _ => "Info",
        };
        block.push_str(&format!(
            "2026-11-27T10:{:02}:{:02}.{:03}Z {level} step {i} of the checkout flow: clicked `Pay now` on https://shop.example.com/cart\n",
            i / 60 % 60,
            i % 60,
            i % 1000
        ));
        i += 1;
    }
    block.truncate(CHUNK);
    block.into_bytes()
}

/// Jira: reads each upload to the end, counting, and answers like Jira Cloud.
async fn fake_jira(listener: TcpListener, received: Arc<AtomicU64>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let received = received.clone();
        tokio::spawn(async move {
            let (head, rest) = read_head(&mut stream).await;
            let total = content_length(&head);
            let mut got = rest.len() as u64;
            let mut sink = vec![0u8; CHUNK];
            while got < total {
                let n = stream.read(&mut sink).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                got += n as u64;
            }
            received.fetch_add(got, Ordering::SeqCst);
            respond(
                &mut stream,
                r#"[{"id":"10001","filename":"robot-log.txt","author":{"accountId":"5b10","displayName":"Bridge"}}]"#,
            )
            .await;
        });
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let mb: u64 = std::env::var("EVIDENCE_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 100 } else { 8 });
    let size = mb * 1_000_000;

    let tm = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let jira = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tm_url = format!(
        "http://{}/org/tenant/testmanager_",
        tm.local_addr().unwrap()
    );
    let jira_url = format!("http://{}/", jira.local_addr().unwrap());
    let received = Arc::new(AtomicU64::new(0));
    tokio::spawn(fake_testmanager(tm, size));
    tokio::spawn(fake_jira(jira, received.clone()));

    let dir = tempfile::tempdir().unwrap();
    let mappings = dir.path().join("mappings");
    std::fs::create_dir(&mappings).unwrap();
    std::fs::write(
        mappings.join("shop.toml"),
        format!(
            "[project]\nid = \"{PROJECT_ID}\"\nprefix = \"SHOP\"\n[jira]\nproject = \"SHOP\"\nissue_type = \"Bug\"\n[evidence]\nmax_file_bytes = 1000000000\nmax_total_bytes = 1000000000\n"
        ),
    )
    .unwrap();
    let projects = ProjectsHandle::new(Projects::load_dir(&mappings).expect("mapping loads"));
    let store = format!("sqlite://{}", dir.path().join("ledger.db").display());
    let queue = ledger::connect(&store, 2).await.unwrap().evidence;
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let testmanager = Arc::new(TestManagerClient::new(
        http.clone(),
        TestManagerConnection {
            base_url: Url::parse(&tm_url).unwrap(),
            token_url: Url::parse(&format!("{tm_url}/connect/token")).unwrap(),
            client_id: "bench".into(),
            client_secret: "secret".to_owned().into(),
            scope: "TM.TestExecutions.Read".into(),
        },
    ));
    let tracker = Arc::new(
        JiraTracker::new(
            JiraConnection::new(
                JiraFlavour::Cloud,
                Url::parse(&jira_url).unwrap(),
                None,
                Some("bot@example.com".into()),
                "token".to_owned().into(),
            ),
            http,
            Duration::from_secs(600),
        )
        .unwrap(),
    );
    let signal = Arc::new(Signal::default());
    let worker = EvidenceWorker {
        queue: queue.clone(),
        testmanager,
        tracker,
        projects,
        settings: EvidenceSettings {
            poll_interval_ms: 20,
            ..Default::default()
        },
        retry: RetryPolicy::once(),
        signal: signal.clone(),
    }
    .spawn();

    println!("evidence: streams {mb} MB from a fake Test Manager to a fake Jira through the upload worker");
    for (kind, name, what) in [
        (
            EvidenceKind::Attachment,
            "report.log",
            "a test case attachment (passed through)",
        ),
        (
            EvidenceKind::RobotLog,
            "robot-log.txt",
            "the robot log (errors and warnings listed first, via temporary files)",
        ),
    ] {
        measure(&*queue, &signal, &received, kind, name, what, size).await;
    }
    signal.stop();
    let _ = worker.await;
    println!("  command: cargo bench --bench evidence   (same figures unoptimised: cargo test --bench evidence -- --bench)");
}

/// Queues one file of `kind`, waits until it settles, and prints time and peak memory.
async fn measure(
    queue: &dyn ledger::EvidenceQueue,
    signal: &Signal,
    received: &AtomicU64,
    kind: EvidenceKind,
    name: &str,
    what: &str,
    size: u64,
) {
    let before_rss = status_kib("VmRSS:");
    let before_received = received.load(Ordering::SeqCst);
    // Reset the peak so VmHWM covers this upload only.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let started = Instant::now();
    queue
        .enqueue(
            &[NewEvidence {
                item: EvidenceItem {
                    issue_key: "SHOP-1".into(),
                    route: "shop".into(),
                    log_id: "0b7e3c1a-5d2f-4e8b-9c6a-7f1d2e3b4a50".into(),
                    kind,
                    source_id: "0b7e3c1a-5d2f-4e8b-9c6a-7f1d2e3b4a50".into(),
                    file_name: name.into(),
                },
                size_bytes: None,
                state: EvidenceState::Pending,
                note: None,
            }],
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    signal.wake();
    let mut sampled_peak = 0;
    let row = loop {
        sampled_peak = sampled_peak.max(status_kib("VmRSS:"));
        let rows = queue.for_issue("SHOP-1").await.unwrap();
        let row = rows
            .into_iter()
            .find(|r| r.item.kind == kind)
            .expect("queued");
        if matches!(
            row.state,
            EvidenceState::Done | EvidenceState::Failed | EvidenceState::Skipped
        ) || started.elapsed() > Duration::from_secs(120)
        {
            break row;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let elapsed = started.elapsed();
    let peak = status_kib("VmHWM:");
    let got = received.load(Ordering::SeqCst) - before_received;
    println!("  {what}:");
    println!(
        "    outcome: {:?} ({} bytes attached, {} bytes received by Jira incl. multipart framing) in {:.2} s ({:.0} MB/s)",
        row.state,
        row.size_bytes.unwrap_or(0),
        got,
        elapsed.as_secs_f64(),
        size as f64 / 1e6 / elapsed.as_secs_f64()
    );
    println!(
        "    RSS before: {:.1} MiB; peak during the upload: {:.1} MiB (VmHWM{}; sampled VmRSS peak {:.1} MiB)",
        before_rss as f64 / 1024.0,
        peak as f64 / 1024.0,
        if reset { ", reset before the upload" } else { " since start: clear_refs unavailable" },
        sampled_peak as f64 / 1024.0,
    );
    assert_eq!(row.state, EvidenceState::Done, "{:?}", row.last_error);
    assert!(
        row.size_bytes.is_some_and(|s| s >= size),
        "every byte of the log is attached"
    );
    assert!(got >= size);
}
