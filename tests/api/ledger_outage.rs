//! The ledger goes away and comes back (issue 14, part 3): PostgreSQL cut by a TCP proxy
//! during a burst and restored, PostgreSQL's backends terminated (as a restart looks to the
//! bridge), the evidence and write-back queues resuming after a cut, and a SQLite ledger on
//! a full or read-only disk. Assertions are on answers and on what the fakes and the ledger
//! hold afterwards; no timing is asserted. PostgreSQL tests skip when `DATABASE_URL` is unset.

use crate::support::*;
use secrecy::SecretString;
use serde_json::Value;
use std::collections::BTreeSet;
use std::future::Future;
use std::time::{Duration, Instant};

/// How long the ledger stays away.
const OUTAGE: Duration = Duration::from_secs(4);

/// A PostgreSQL ledger in a fresh schema, reached through a proxy that can cut it.
struct ProxiedPostgres {
    proxy: Restartable,
    /// The bridge's store URL: through the proxy, named by `application_name`.
    url: String,
    /// `DATABASE_URL`, for the test's own look at the ledger.
    direct: String,
    /// The schema, also the bridge connections' `application_name`.
    schema: String,
}

/// The fresh schema of [`postgres_store`] and the store URL with `application_name` set to
/// it, or `None` (skipping) without `DATABASE_URL`.
async fn named_postgres_store() -> Option<(String, String)> {
    let store = postgres_store().await?;
    let mut url = url::Url::parse(&store).unwrap();
    let schema = url
        .query_pairs()
        .find(|(k, _)| k == "options")
        .and_then(|(_, v)| v.strip_prefix("-csearch_path=").map(str::to_owned))
        .expect("postgres_store names the schema in options");
    url.query_pairs_mut()
        .append_pair("application_name", &schema);
    Some((url.to_string(), schema))
}

async fn postgres_through_proxy() -> Option<ProxiedPostgres> {
    let (store, schema) = named_postgres_store().await?;
    let mut url = url::Url::parse(&store).unwrap();
    let target = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let target = tokio::net::lookup_host(target)
        .await
        .unwrap()
        .next()
        .unwrap();
    let proxy = Restartable::start(target).await;
    let port: u16 = proxy.address.rsplit(':').next().unwrap().parse().unwrap();
    url.set_host(Some("127.0.0.1")).unwrap();
    url.set_port(Some(port)).unwrap();
    Some(ProxiedPostgres {
        proxy,
        url: url.to_string(),
        direct: std::env::var("DATABASE_URL").unwrap(),
        schema,
    })
}

impl ProxiedPostgres {
    /// Cuts every connection, stays down for [`OUTAGE`], comes back on the same address.
    async fn cut_and_restore(&self) {
        self.proxy.stop().await;
        tokio::time::sleep(OUTAGE).await;
        self.proxy.restart().await;
    }

    /// The issue keys of the ledger's entries (`None` for an entry without one).
    async fn ledger_issue_keys(&self) -> Vec<Option<String>> {
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&self.direct)
            .await
            .unwrap();
        sqlx::query_scalar(&format!(
            "SELECT issue_key FROM {}.ledger_entries",
            self.schema
        ))
        .fetch_all(&mut conn)
        .await
        .unwrap()
    }
}

/// Waits (up to `limit`) until `check` holds.
async fn eventually<F, Fut>(what: &str, limit: Duration, check: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `count` failed results seeded in the app's Test Manager.
async fn failures(app: &TestApp, count: usize) -> Vec<SeededResult> {
    let mut seeded = Vec::new();
    for _ in 0..count {
        let result = SeededResult::new(None);
        app.tm.seed(&result, "Failed").await;
        seeded.push(result);
    }
    seeded
}

/// Sends `body` again until it answers 200 (a client honouring a 503 with retries), and
/// returns the issue key of that answer.
async fn created_after_retries(app: &TestApp, body: &Value) -> String {
    for _ in 0..60 {
        let response = app.create_defect(body).await;
        if response.status() == 200 {
            let answer: Value = response.json().await.unwrap();
            return issue_key(&answer);
        }
        assert_retry_later(response).await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("never created: {body}");
}

/// The issue key in a Create Defect answer (its `linkLabel`).
fn issue_key(answer: &Value) -> String {
    answer["linkLabel"]
        .as_str()
        .unwrap_or_else(|| panic!("no issue key in {answer}"))
        .to_owned()
}

/// A 503 problem with `Retry-After`: the answer of a create the ledger could not carry.
async fn assert_retry_later(response: reqwest::Response) {
    assert_eq!(response.status(), 503);
    assert!(
        response.headers().contains_key("retry-after"),
        "{:?}",
        response.headers()
    );
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
}

#[tokio::test]
async fn a_postgres_cut_during_a_burst_answers_503_and_ends_with_one_issue_each() {
    let Some(db) = postgres_through_proxy().await else {
        return;
    };
    let app = spawn_app(AppOptions::cloud().store(db.url.clone()).tweak(|s, _| {
        // A create whose issue the ledger could not record leaves its claim behind; a
        // short (but still safe) crash window lets the retries take it over and adopt
        // the issue within the test's time.
        s.jira.timeout_ms = 2_000;
        s.outbound.total_budget_ms = 2_000;
        s.defects.search_lag_secs = Some(1);
        s.defects.claim_stale_after_secs = 5;
    }))
    .await;
    let seeded = failures(&app, 8).await;
    // Creates take a while to answer, so some are in flight when the ledger goes away.
    app.jira.behave(|b| {
        b.slow_creates = 4;
        b.slow_create_delay = Duration::from_millis(800);
    });

    let bodies: Vec<Value> = seeded.iter().map(SeededResult::body).collect();
    let burst = bodies.iter().map(|body| app.create_defect(body));
    let burst = futures::future::join_all(burst);
    let cut = async {
        eventually(
            "a create to reach Jira",
            Duration::from_secs(10),
            || async { !app.jira.creates().await.is_empty() },
        )
        .await;
        db.cut_and_restore().await;
    };
    let (answers, ()) = tokio::join!(burst, cut);
    for answer in answers {
        if answer.status() != 200 {
            assert_retry_later(answer).await;
        }
    }

    // The pool recovers without a restart: every result ends created, each once.
    let mut keys = BTreeSet::new();
    for result in &seeded {
        keys.insert(created_after_retries(&app, &result.body()).await);
    }
    assert_eq!(keys.len(), seeded.len(), "one issue per result: {keys:?}");
    assert_eq!(app.jira.issues().len(), seeded.len());
    assert_eq!(
        app.jira.creates().await.len(),
        seeded.len(),
        "no result was created twice"
    );
    let ledger: BTreeSet<String> = db
        .ledger_issue_keys()
        .await
        .into_iter()
        .map(|k| k.expect("every entry recorded its issue"))
        .collect();
    assert_eq!(
        ledger, keys,
        "every issue Jira holds was claimed in the ledger"
    );
}

#[tokio::test]
async fn terminated_postgres_backends_are_replaced_and_requests_carry_on() {
    let Some((store, schema)) = named_postgres_store().await else {
        return;
    };
    let app = spawn_app(AppOptions::cloud().store(store)).await;
    let seeded = failures(&app, 2).await;
    let first = app.create_defect(&seeded[0].body()).await;
    assert_eq!(first.status(), 200);
    let first_key = issue_key(&first.json().await.unwrap());

    // What a PostgreSQL restart does to a client: every session (and its prepared
    // statements) is gone. Only this bridge's sessions: other tests share the server.
    let direct = std::env::var("DATABASE_URL").unwrap();
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&direct)
        .await
        .unwrap();
    let terminated: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
    )
    .bind(&schema)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(
        !terminated.is_empty() && terminated.iter().all(|t| *t),
        "{terminated:?}"
    );

    let second = app.create_defect(&seeded[1].body()).await;
    assert_eq!(second.status(), 200, "{:?}", second.text().await);
    let again = app.create_defect(&seeded[0].body()).await;
    assert_eq!(again.status(), 200);
    assert_eq!(issue_key(&again.json().await.unwrap()), first_key);
    assert_eq!(app.jira.issues().len(), 2);
    assert_eq!(app.jira.creates().await.len(), 2);
}

/// The evidence summary comment on the first issue, as text, once posted.
fn summary(jira: &FakeJira) -> Option<String> {
    jira.issues()
        .first()?
        .comments
        .iter()
        .map(Value::to_string)
        .find(|c| c.contains("Evidence from Test Manager"))
}

#[tokio::test]
async fn the_evidence_queue_resumes_after_a_postgres_cut() {
    let Some(db) = postgres_through_proxy().await else {
        return;
    };
    let mapping = format!("{MAPPING}\n[evidence]\nkinds = [\"attachments\"]\n");
    let app = spawn_app(AppOptions::cloud().mapping(mapping).store(db.url.clone())).await;
    let files: Vec<(&str, &str, Vec<u8>)> = vec![
        ("e1", "first.bin", vec![1; 20_000]),
        ("e2", "second.bin", vec![2; 30_000]),
        ("e3", "third.bin", vec![3; 10_000]),
    ];
    let seeded = SeededResult::new(None);
    app.tm.seed(&seeded, "Failed").await;
    app.tm.seed_evidence(&seeded, &[], &[], &files).await;
    // Uploads answer slowly, so one is in flight when the ledger goes away.
    app.jira
        .behave(|b| b.slow_upload_delay = Duration::from_millis(800));

    let response = app.create_defect(&seeded.body()).await;
    assert_eq!(response.status(), 200);
    eventually("the first upload", Duration::from_secs(10), || async {
        !app.jira.received("POST", "/attachments").await.is_empty()
    })
    .await;
    db.cut_and_restore().await;

    eventually("the evidence summary", Duration::from_secs(20), || async {
        summary(&app.jira).is_some()
    })
    .await;
    let mut got: Vec<String> = app.jira.issues()[0]
        .attachments
        .iter()
        .map(|(name, _)| name.clone())
        .collect();
    got.sort();
    assert_eq!(got, ["first.bin", "second.bin", "third.bin"]);
    assert_eq!(
        app.jira.received("POST", "/attachments").await.len(),
        files.len(),
        "one upload per file"
    );
    let summary = summary(&app.jira).unwrap();
    assert!(!summary.contains("Failed after"), "{summary}");
}

#[tokio::test]
async fn the_writeback_queue_resumes_after_a_postgres_cut() {
    let Some(db) = postgres_through_proxy().await else {
        return;
    };
    let app = spawn_app(AppOptions::cloud().store(db.url.clone()).tweak(|s, _| {
        s.writeback.webhook_secret = Some(SecretString::from(JIRA_WEBHOOK_SECRET));
        // The poller catches up whatever a webhook could not queue during the cut.
        s.writeback.reconcile_interval_secs = 1;
        s.writeback.reconcile_overlap_secs = 60;
    }))
    .await;
    let seeded = SeededResult::new(None).with_defect("d-1");
    app.tm.mount_defect(PROJECT_ID, "d-1");
    app.tm.seed(&seeded, "Failed").await;
    let response = app.create_defect(&seeded.body()).await;
    assert_eq!(response.status(), 200);
    let key = app.jira.issues()[0].key.clone();

    // Jira changes the issue while the ledger is away, and says so by webhook.
    db.proxy.stop().await;
    app.jira.set_status(&key, "In Progress", "indeterminate");
    let webhook = JiraWebhook::updated(&app.jira, &key).signed_with(JIRA_WEBHOOK_SECRET);
    let url = format!("{}/jira/webhook", app.address);
    // The delivery waits for the ledger (the pool's acquire timeout) while it is away.
    let delivery = webhook.delivery();
    let (status, ()) = tokio::join!(delivery.send(&url), async {
        tokio::time::sleep(OUTAGE).await;
        db.proxy.restart().await;
    });
    assert!(
        status == 200 || status == 503,
        "queued, or refused for Jira to redeliver: {status}"
    );

    eventually(
        "the write to Test Manager",
        Duration::from_secs(15),
        || async { !app.tm.defect_writes().is_empty() },
    )
    .await;
    // Long enough for a doubled write (webhook and poller both) to show.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let patches = app.tm.defect_patches().await;
    assert_eq!(patches.len(), 1, "one PATCH per change: {patches:?}");
    assert_eq!(patches[0].0, "d-1");
    assert_eq!(patches[0].1["status"], "In Progress");
    assert_eq!(app.tm.defect("d-1").unwrap()["status"], "In Progress");
}

/// A small tmpfs mounted on a fresh folder (unmounted when dropped): a disk that fills up.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// A 4 MiB disk, or `None` (skipping) where this process may not mount one.
    fn mount() -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            eprintln!("skipping the full disk: cannot mount a tmpfs here");
        }
        mounted.then_some(Self { dir })
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a filler file until the disk refuses more.
    fn fill(&self) {
        use std::io::Write;
        let mut filler = std::fs::File::create(self.path("filler")).unwrap();
        let page = [0xA5u8; 4096];
        while filler.write_all(&page).is_ok() {}
        let _ = filler.sync_all();
    }

    /// Frees what [`SmallDisk::fill`] took.
    fn free(&self) {
        std::fs::remove_file(self.path("filler")).unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// How many entries the SQLite ledger at `store` holds, read without writing.
async fn sqlite_entries(store: &str) -> i64 {
    let url = format!("{store}?mode=ro");
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    sqlx::query_scalar("SELECT count(*) FROM ledger_entries")
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

/// A problem+json answer telling an administrator what is wrong with the ledger; its body.
async fn ledger_problem(response: reqwest::Response) -> Value {
    let status = response.status().as_u16();
    assert!(status == 503 || status == 500, "{status}");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_full_disk_under_sqlite_answers_clearly_and_records_nothing() {
    let Some(disk) = SmallDisk::mount() else {
        return;
    };
    let store = format!("sqlite://{}", disk.path("ledger.db").display());
    let app = spawn_app(AppOptions::cloud().store(store.clone())).await;
    let seeded = failures(&app, 1).await.remove(0);
    disk.fill();

    let problem = ledger_problem(app.create_defect(&seeded.body()).await).await;
    let text = problem.to_string();
    assert!(text.contains("the ledger's disk is full"), "{problem:#}");
    assert!(app.jira.creates().await.is_empty(), "nothing reached Jira");
    assert_eq!(sqlite_entries(&store).await, 0, "nothing half-recorded");

    disk.free();
    let response = app.create_defect(&seeded.body()).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    assert_eq!(app.jira.issues().len(), 1);
    assert_eq!(app.jira.creates().await.len(), 1);
    assert_eq!(sqlite_entries(&store).await, 1);
}

#[tokio::test]
async fn a_read_only_sqlite_ledger_answers_clearly_and_records_nothing() {
    let app = spawn_app(AppOptions::cloud()).await;
    let seeded = failures(&app, 1).await.remove(0);
    // A second bridge on the same ledger file, opened the way a read-only disk leaves it.
    let read_only = format!("{}?mode=ro", app.store);
    let bridge = start_bridge(app.settings_beside(MAPPING, read_only)).await;

    let problem = ledger_problem(create_defect_on(&bridge, &seeded.body()).await).await;
    assert!(
        problem.to_string().contains("the ledger is read-only"),
        "{problem:#}"
    );
    assert!(app.jira.creates().await.is_empty(), "nothing reached Jira");
    assert_eq!(sqlite_entries(&app.store).await, 0, "nothing half-recorded");

    // Writable again: the same request creates the issue, once.
    let response = app.create_defect(&seeded.body()).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    assert_eq!(app.jira.issues().len(), 1);
    assert_eq!(app.jira.creates().await.len(), 1);
}
