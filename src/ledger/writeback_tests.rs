//! The [`WritebackLedger`] cases of the ledger's behavioural suite, run against both stores
//! by `tests.rs`'s `suite!` (SQLite always, PostgreSQL when `DATABASE_URL` is set).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Barrier;

use super::tests::{claim_lost, create, new_key, suite, t, PgFixture, Port, SqliteFixture, STALE};
use super::{Stores, WritebackJob, WritebackLedger, WritebackTarget, WrittenState};
use crate::result_key::ResultKey;

impl Port for Arc<dyn WritebackLedger> {
    fn of(stores: &Stores) -> Self {
        stores.writeback.clone()
    }
}

/// For cases that create entries through the results port first.
impl Port for Stores {
    fn of(stores: &Stores) -> Self {
        stores.clone()
    }
}

const LEASE: Duration = Duration::from_secs(30);

/// `secs` plus `millis`: stored times keep milliseconds.
fn at(secs: i64, millis: i64) -> DateTime<Utc> {
    t(secs) + chrono::Duration::milliseconds(millis)
}

fn written(status: &str, jira_updated: DateTime<Utc>) -> WrittenState {
    WrittenState {
        status: status.to_owned(),
        priority: Some("High".to_owned()),
        jira_updated,
        written_at: jira_updated + chrono::Duration::milliseconds(250),
    }
}

async fn claim(queue: &Arc<dyn WritebackLedger>, owner: &str, now: i64) -> Option<WritebackJob> {
    queue.claim(owner, t(now), STALE).await.unwrap()
}

async fn target(stores: &Stores, issue_key: &str, key: &ResultKey) -> WritebackTarget {
    let targets = stores.writeback.targets(issue_key).await.unwrap();
    targets
        .into_iter()
        .find(|target| &target.key == key)
        .expect("a target for the result")
}

// ---------------------------------------------------------------- deliveries

async fn deliveries_are_deduplicated_until_forgotten(queue: Arc<dyn WritebackLedger>) {
    assert!(queue.first_delivery("d1", t(0)).await.unwrap());
    assert!(!queue.first_delivery("d1", t(1)).await.unwrap());
    assert!(queue.first_delivery("d2", t(10)).await.unwrap());
    assert_eq!(queue.forget_deliveries(t(5)).await.unwrap(), 1);
    assert!(queue.first_delivery("d1", t(20)).await.unwrap());
    assert!(!queue.first_delivery("d2", t(21)).await.unwrap());
}

// ---------------------------------------------------------------- the queue

async fn enqueued_issues_are_claimed_once_and_settled(queue: Arc<dyn WritebackLedger>) {
    assert_eq!(queue.depth().await.unwrap(), 0);
    // One row per issue; it keeps the newest `seen_updated` it was told.
    for (seen, now) in [(None, 0), (Some(5), 1), (Some(3), 2), (None, 3)] {
        queue.enqueue("SHOP-1", seen.map(t), t(now)).await.unwrap();
    }
    queue.enqueue("SHOP-2", None, t(4)).await.unwrap();
    assert_eq!(queue.depth().await.unwrap(), 2);

    let first = claim(&queue, "w", 10).await.unwrap();
    let expected = WritebackJob {
        issue_key: "SHOP-1".into(),
        seen_updated: Some(t(5)),
        attempts: 1,
    };
    assert_eq!(first, expected);
    let second = claim(&queue, "w", 10).await.unwrap();
    assert_eq!(
        (second.issue_key.as_str(), second.seen_updated),
        ("SHOP-2", None)
    );
    assert_eq!(claim(&queue, "w", 10).await, None);
    assert_eq!(queue.depth().await.unwrap(), 2, "held rows count");

    queue.settle(&first, "w", t(11)).await.unwrap();
    assert_eq!(queue.depth().await.unwrap(), 1);
    claim_lost(queue.settle(&first, "w", t(12)).await);
    queue.settle(&second, "w", t(12)).await.unwrap();
    assert_eq!(queue.depth().await.unwrap(), 0);
}

async fn enqueue_while_held_runs_again_after_settle(queue: Arc<dyn WritebackLedger>) {
    queue.enqueue("SHOP-1", Some(t(1)), t(0)).await.unwrap();
    let job = claim(&queue, "w", 2).await.unwrap();
    // The change may have come after the worker read Jira.
    queue.enqueue("SHOP-1", Some(t(9)), t(3)).await.unwrap();
    assert_eq!(queue.depth().await.unwrap(), 1);
    assert_eq!(claim(&queue, "other", 4).await, None, "still held");

    queue.settle(&job, "w", t(5)).await.unwrap();
    assert_eq!(queue.depth().await.unwrap(), 1);
    let again = claim(&queue, "other", 5).await.unwrap();
    assert_eq!((again.seen_updated, again.attempts), (Some(t(9)), 2));
    // The re-run mark was spent by that claim: this settle removes the row.
    queue.settle(&again, "other", t(6)).await.unwrap();
    assert_eq!(queue.depth().await.unwrap(), 0);
}

async fn retry_waits_until_not_before(queue: Arc<dyn WritebackLedger>) {
    queue.enqueue("SHOP-1", None, t(0)).await.unwrap();
    let job = claim(&queue, "w", 1).await.unwrap();
    claim_lost(queue.retry(&job, "intruder", t(100), "no").await);
    queue
        .retry(&job, "w", t(100), "Test Manager answered 503")
        .await
        .unwrap();
    assert_eq!(claim(&queue, "w", 99).await, None);
    let again = claim(&queue, "w", 100).await.unwrap();
    assert_eq!(again.attempts, 2);
    claim_lost(queue.settle(&again, "intruder", t(101)).await);
    queue.settle(&again, "w", t(101)).await.unwrap();
    assert_eq!(queue.depth().await.unwrap(), 0);
}

async fn stale_lease_is_taken_over(queue: Arc<dyn WritebackLedger>) {
    queue.enqueue("SHOP-1", None, t(0)).await.unwrap();
    let old = claim(&queue, "w1", 0).await.unwrap();
    assert_eq!(claim(&queue, "w2", 59).await, None, "not stale yet");
    let new = claim(&queue, "w2", 61).await.unwrap();
    assert_eq!((new.issue_key.as_str(), new.attempts), ("SHOP-1", 2));
    claim_lost(queue.settle(&old, "w1", t(62)).await);
    claim_lost(queue.retry(&old, "w1", t(62), "late").await);
    assert_eq!(queue.depth().await.unwrap(), 1);
    queue.settle(&new, "w2", t(63)).await.unwrap();
    assert_eq!(queue.depth().await.unwrap(), 0);
}

/// Runs `n` calls of `f` on alternating replicas `a` and `b`, all released at once.
async fn at_once<T, F, Fut>(
    a: &Arc<dyn WritebackLedger>,
    b: &Arc<dyn WritebackLedger>,
    n: usize,
    f: F,
) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(Arc<dyn WritebackLedger>, usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let queue = if i % 2 == 0 { a.clone() } else { b.clone() };
            let (barrier, call) = (barrier.clone(), f(queue, i));
            tokio::spawn(async move {
                barrier.wait().await;
                call.await
            })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

async fn replicas_share_the_queue_without_doubles(
    a: Arc<dyn WritebackLedger>,
    b: Arc<dyn WritebackLedger>,
) {
    // Concurrent enqueues of one new issue make one row.
    at_once(&a, &b, 8, |queue, _| async move {
        queue.enqueue("SHOP-0", None, t(0)).await.unwrap();
    })
    .await;
    assert_eq!(a.depth().await.unwrap(), 1);
    // Of concurrent claimers of one row exactly one gets it.
    let got = at_once(&a, &b, 8, |queue, i| async move {
        queue.claim(&format!("w{i}"), t(1), STALE).await.unwrap()
    })
    .await;
    assert_eq!(got.iter().flatten().count(), 1, "{got:?}");

    for i in 1..=20 {
        a.enqueue(&format!("SHOP-{i}"), None, t(2)).await.unwrap();
    }
    let claimed = at_once(&a, &b, 6, |queue, i| async move {
        let mut got = Vec::new();
        while let Some(job) = queue.claim(&format!("c{i}"), t(3), STALE).await.unwrap() {
            got.push(job.issue_key);
        }
        got
    })
    .await;
    let mut all = claimed.concat();
    assert_eq!(all.len(), 20);
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 20, "an issue was claimed twice");
}

// ---------------------------------------------------------------- per result

async fn targets_are_the_created_entries_of_an_issue(stores: Stores) {
    let (first, second, claimed_only) = (new_key(), new_key(), new_key());
    create(&stores.results, &first, "shop", 0, 1).await;
    create(&stores.results, &second, "shop", 1, 1).await;
    stores
        .results
        .claim(&claimed_only, "shop", "c", t(2), STALE)
        .await
        .unwrap();

    let wb = &stores.writeback;
    wb.record_defect_id(&first, "defect-1").await.unwrap();
    let state = written("Done", at(10, 123));
    assert!(wb.record_written(&first, &state).await.unwrap());

    let targets = wb.targets("SHOP-1").await.unwrap();
    let mut keys: Vec<_> = targets.iter().map(|t| t.key.canonical()).collect();
    keys.sort();
    let mut expected = vec![first.canonical(), second.canonical()];
    expected.sort();
    assert_eq!(keys, expected);
    assert_eq!(
        target(&stores, "SHOP-1", &first).await,
        WritebackTarget {
            key: first.clone(),
            route: "shop".into(),
            issue_key: "SHOP-1".into(),
            defect_id: Some("defect-1".into()),
            written: Some(state),
            skipped: None,
        }
    );
    let untouched = target(&stores, "SHOP-1", &second).await;
    assert_eq!((untouched.defect_id, untouched.written), (None, None));
    assert_eq!(wb.targets("SHOP-404").await.unwrap(), vec![]);
}

async fn issue_keys_are_distinct_per_route_in_key_order(stores: Stores) {
    for (route, n) in [("shop", 10), ("shop", 9), ("shop", 10), ("ops", 3)] {
        create(&stores.results, &new_key(), route, 0, n).await;
    }
    stores
        .results
        .claim(&new_key(), "shop", "c", t(1), STALE)
        .await
        .unwrap();
    let wb = &stores.writeback;
    assert_eq!(wb.issue_keys("shop").await.unwrap(), ["SHOP-10", "SHOP-9"]);
    assert_eq!(wb.issue_keys("ops").await.unwrap(), ["SHOP-3"]);
    assert!(wb.issue_keys("none").await.unwrap().is_empty());
}

async fn newest_written_state_wins(stores: Stores) {
    let key = new_key();
    create(&stores.results, &key, "shop", 0, 1).await;
    let wb = &stores.writeback;
    let newest = written("In Progress", at(10, 500));
    assert!(wb.record_written(&key, &newest).await.unwrap());
    let older = written("To Do", at(10, 499));
    assert!(!wb.record_written(&key, &older).await.unwrap());
    let kept = target(&stores, "SHOP-1", &key).await.written;
    assert_eq!(kept, Some(newest.clone()));
    // The same Jira state again (a retried write) is accepted, and so is a newer one.
    let same = written("Done", at(10, 500));
    assert!(wb.record_written(&key, &same).await.unwrap());
    let newer = written("Closed", at(11, 0));
    assert!(wb.record_written(&key, &newer).await.unwrap());
    assert_eq!(target(&stores, "SHOP-1", &key).await.written, Some(newer));
    // No entry, nothing recorded.
    assert!(!wb.record_written(&new_key(), &same).await.unwrap());
}

async fn a_write_clears_the_skipped_reason(stores: Stores) {
    let key = new_key();
    create(&stores.results, &key, "shop", 0, 1).await;
    let wb = &stores.writeback;
    wb.record_skipped(&key, "the log has no Test Manager defect")
        .await
        .unwrap();
    let skipped = target(&stores, "SHOP-1", &key).await;
    assert_eq!(
        (skipped.skipped.as_deref(), skipped.written),
        (Some("the log has no Test Manager defect"), None)
    );
    assert!(wb
        .record_written(&key, &written("Done", t(5)))
        .await
        .unwrap());
    assert_eq!(target(&stores, "SHOP-1", &key).await.skipped, None);
}

// ---------------------------------------------------------------- pollers

async fn poller_lease_is_exclusive_until_it_runs_out(queue: Arc<dyn WritebackLedger>) {
    let lease = |owner: &'static str, now: i64| {
        let queue = queue.clone();
        async move {
            queue
                .lease_poller("SHOP", owner, t(now), LEASE)
                .await
                .unwrap()
        }
    };
    assert!(lease("a", 0).await);
    assert!(!lease("b", 10).await);
    assert!(lease("a", 20).await, "re-entrant, renewed until 50");
    assert!(!lease("b", 49).await);
    assert!(lease("b", 50).await, "ran out");
    assert!(!lease("a", 51).await);
    assert!(queue.lease_poller("OPS", "a", t(51), LEASE).await.unwrap());
}

async fn only_the_poller_holder_advances_the_watermark(queue: Arc<dyn WritebackLedger>) {
    assert_eq!(queue.watermark("SHOP").await.unwrap(), None);
    claim_lost(queue.advance_watermark("SHOP", "a", t(0)).await);
    assert!(queue.lease_poller("SHOP", "a", t(0), LEASE).await.unwrap());
    assert_eq!(queue.watermark("SHOP").await.unwrap(), None);
    queue
        .advance_watermark("SHOP", "a", at(1, 7))
        .await
        .unwrap();
    assert_eq!(queue.watermark("SHOP").await.unwrap(), Some(at(1, 7)));
    claim_lost(queue.advance_watermark("SHOP", "b", t(2)).await);
    // The watermark outlives its lease holder.
    assert!(queue.lease_poller("SHOP", "b", t(40), LEASE).await.unwrap());
    assert_eq!(queue.watermark("SHOP").await.unwrap(), Some(at(1, 7)));
    claim_lost(queue.advance_watermark("SHOP", "a", t(41)).await);
    queue.advance_watermark("SHOP", "b", t(41)).await.unwrap();
    assert_eq!(queue.watermark("SHOP").await.unwrap(), Some(t(41)));
    assert_eq!(queue.watermark("OPS").await.unwrap(), None);
}

async fn one_replica_gets_the_poller_lease(
    a: Arc<dyn WritebackLedger>,
    b: Arc<dyn WritebackLedger>,
) {
    let leased = at_once(&a, &b, 8, |queue, i| async move {
        queue
            .lease_poller("SHOP", &format!("r{i}"), t(0), LEASE)
            .await
            .unwrap()
    })
    .await;
    assert_eq!(leased.iter().filter(|&&held| held).count(), 1, "{leased:?}");
}

suite! {
    single:
        deliveries_are_deduplicated_until_forgotten,
        enqueued_issues_are_claimed_once_and_settled,
        enqueue_while_held_runs_again_after_settle,
        retry_waits_until_not_before,
        stale_lease_is_taken_over,
        targets_are_the_created_entries_of_an_issue,
        issue_keys_are_distinct_per_route_in_key_order,
        newest_written_state_wins,
        a_write_clears_the_skipped_reason,
        poller_lease_is_exclusive_until_it_runs_out,
        only_the_poller_holder_advances_the_watermark;
    pair:
        replicas_share_the_queue_without_doubles,
        one_replica_gets_the_poller_lease,
}

// ---------------------------------------------------------------- migrating a store in use

/// A created entry (variation `row-1`, as [`new_key`]'s) written with the SQL of before write-back: `$1` key, `$2` execution,
/// `$3` test case, `$4` the time in the store's encoding.
const OLD_ENTRY: &str = "INSERT INTO ledger_entries (result_key, execution_id, test_case_id, \
     variation_id, project, state, owner, attempts, claimed_at, updated_at, issue_key, \
     issue_id, browse_url, summary, remote_link_done) \
     VALUES ($1, $2, $3, 'row-1', 'shop', 'created', 'old', 1, $4, $4, 'SHOP-7', '10007', \
     'https://jira.example/browse/SHOP-7', 'Checkout fails', TRUE)";

/// The migrations of `store` (`sqlite` or `postgres`) from before write-back, in a temp dir.
async fn migrations_before_writeback(store: &str) -> (tempfile::TempDir, sqlx::migrate::Migrator) {
    let dir = tempfile::tempdir().unwrap();
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/ledger/migrations")
        .join(store);
    for file in std::fs::read_dir(source).unwrap() {
        let path = file.unwrap().path();
        let name = path.file_name().unwrap().to_owned();
        if name.to_string_lossy().as_ref() < "0004" {
            std::fs::copy(&path, dir.path().join(name)).unwrap();
        }
    }
    let migrator = sqlx::migrate::Migrator::new(dir.path()).await.unwrap();
    (dir, migrator)
}

/// Brings the open connection `$conn` to the schema of before write-back (migrations of
/// `$store`) and writes an old entry into it, its times bound as `$time`; closes `$conn` and
/// evaluates to the entry's key.
macro_rules! store_in_use {
    ($conn:ident, $store:literal, $time:expr) => {{
        use sqlx::Connection;
        let (_dir, migrator) = migrations_before_writeback($store).await;
        migrator.run(&mut $conn).await.unwrap();
        let key = new_key();
        sqlx::query(OLD_ENTRY)
            .bind(key.canonical())
            .bind(key.test_execution_id.to_string())
            .bind(key.test_case_id.to_string())
            .bind($time)
            .execute(&mut $conn)
            .await
            .unwrap();
        $conn.close().await.unwrap();
        key
    }};
}

/// The old entry, read back through the migrated store: as it was, nothing written yet.
async fn old_entry_reads_back(stores: Stores, key: &ResultKey) {
    let entry = stores.results.get(key).await.unwrap().unwrap();
    assert_eq!(entry.issue.unwrap().issue_key, "SHOP-7");
    let target = target(&stores, "SHOP-7", key).await;
    assert_eq!(
        (target.defect_id, target.written, target.skipped),
        (None, None, None)
    );
    assert_eq!(stores.writeback.depth().await.unwrap(), 0);
    stores.results.close().await;
}

#[tokio::test]
async fn sqlite_store_in_use_migrates_to_writeback() {
    use sqlx::ConnectOptions;
    let fixture = SqliteFixture::new("sqlite_store_in_use_migrates_to_writeback").unwrap();
    std::fs::create_dir_all(fixture.path.parent().unwrap()).unwrap();
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&fixture.path)
        .create_if_missing(true)
        .connect()
        .await
        .unwrap();
    let key = store_in_use!(conn, "sqlite", t(0).timestamp_millis());
    old_entry_reads_back(fixture.open().await, &key).await;
}

#[tokio::test]
async fn postgres_store_in_use_migrates_to_writeback() {
    use sqlx::{Connection, Executor};
    let Some(fixture) = PgFixture::new("postgres_store_in_use_migrates_to_writeback") else {
        return;
    };
    let mut conn = sqlx::PgConnection::connect(&fixture.url).await.unwrap();
    let schema = &fixture.schema;
    conn.execute(format!("CREATE SCHEMA {schema}; SET search_path = {schema}").as_str())
        .await
        .unwrap();
    let key = store_in_use!(conn, "postgres", t(0));
    old_entry_reads_back(fixture.open().await, &key).await;
    fixture.finish().await;
}
