//! The [`WritebackLedger`] cases of the ledger's behavioural suite, run against both stores
//! by `tests.rs`'s `suite!` (SQLite always, PostgreSQL when `DATABASE_URL` is set).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Barrier;

use super::tests::{
    age_leases, claim_lost, create, new_key, skew, span, suite, t, PgFixture, PgReplicas, Port,
    SqliteFixture, DUE, QUICK, RENEWED, RENEW_AFTER, STALE, WINDOW,
};
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

/// A claim on the real clock, with the lease window `stale_after`: on PostgreSQL the
/// database's clock dates and judges leases, so staleness cases outwait the real one.
async fn claim_now(
    queue: &Arc<dyn WritebackLedger>,
    owner: &str,
    stale_after: Duration,
) -> Option<WritebackJob> {
    queue.claim(owner, Utc::now(), stale_after).await.unwrap()
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
    assert!(!queue.seen_delivery("d1").await.unwrap());
    assert!(queue.first_delivery("d1", t(0)).await.unwrap());
    assert!(queue.seen_delivery("d1").await.unwrap());
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
    queue.enqueue("SHOP-1", None, Utc::now()).await.unwrap();
    let job = claim_now(&queue, "w", STALE).await.unwrap();
    let due = Utc::now() + span(DUE);
    claim_lost(queue.retry(&job, "intruder", due, "no").await);
    queue
        .retry(&job, "w", due, "Test Manager answered 503")
        .await
        .unwrap();
    assert_eq!(claim_now(&queue, "w", STALE).await, None, "not due yet");
    tokio::time::sleep(DUE).await;
    let again = claim_now(&queue, "w", STALE).await.unwrap();
    assert_eq!(again.attempts, 2);
    claim_lost(queue.settle(&again, "intruder", Utc::now()).await);
    queue.settle(&again, "w", Utc::now()).await.unwrap();
    assert_eq!(queue.depth().await.unwrap(), 0);
}

async fn stale_lease_is_taken_over(queue: Arc<dyn WritebackLedger>) {
    queue.enqueue("SHOP-1", None, Utc::now()).await.unwrap();
    let old = claim_now(&queue, "w1", QUICK).await.unwrap();
    tokio::time::sleep(QUICK * 2).await;
    // The same lease: live by a window it has not outlasted, stale by one it has.
    assert_eq!(claim_now(&queue, "w2", STALE).await, None, "not stale yet");
    let new = claim_now(&queue, "w2", QUICK).await.unwrap();
    assert_eq!((new.issue_key.as_str(), new.attempts), ("SHOP-1", 2));
    claim_lost(queue.settle(&old, "w1", Utc::now()).await);
    claim_lost(queue.retry(&old, "w1", Utc::now(), "late").await);
    assert_eq!(queue.depth().await.unwrap(), 1);
    queue.settle(&new, "w2", Utc::now()).await.unwrap();
    assert_eq!(queue.depth().await.unwrap(), 0);
}

async fn renew_keeps_the_lease_of_its_holder_only(queue: Arc<dyn WritebackLedger>) {
    queue.enqueue("SHOP-1", None, Utc::now()).await.unwrap();
    let job = claim_now(&queue, "w", STALE).await.unwrap();
    tokio::time::sleep(RENEW_AFTER).await;
    queue.renew(&job, "w", Utc::now()).await.unwrap();
    claim_lost(queue.renew(&job, "intruder", Utc::now()).await);
    // Renewed just now: live by a window its first claim has outlasted, then stale by it.
    assert_eq!(
        claim_now(&queue, "w2", RENEWED).await,
        None,
        "renewed, not stale"
    );
    tokio::time::sleep(RENEW_AFTER).await;
    let taken = claim_now(&queue, "w2", RENEWED).await.unwrap();
    claim_lost(queue.renew(&job, "w", Utc::now()).await);
    queue.settle(&taken, "w2", Utc::now()).await.unwrap();
    claim_lost(queue.renew(&taken, "w2", Utc::now()).await);

    // Settled back to pending (enqueued again while held): no longer held either.
    queue.enqueue("SHOP-2", None, t(200)).await.unwrap();
    let job = claim(&queue, "w", 200).await.unwrap();
    queue.enqueue("SHOP-2", None, t(201)).await.unwrap();
    queue.settle(&job, "w", t(202)).await.unwrap();
    claim_lost(queue.renew(&job, "w", t(203)).await);
    assert_eq!(queue.depth().await.unwrap(), 1);
}

async fn hold(queue: &Arc<dyn WritebackLedger>, owner: &str, now: i64) -> Option<WritebackJob> {
    queue.hold("SHOP-1", owner, t(now), STALE).await.unwrap()
}

/// [`claim_now`]'s counterpart: holds SHOP-1 on the real clock.
async fn hold_now(
    queue: &Arc<dyn WritebackLedger>,
    owner: &str,
    stale_after: Duration,
) -> Option<WritebackJob> {
    queue
        .hold("SHOP-1", owner, Utc::now(), stale_after)
        .await
        .unwrap()
}

async fn hold_takes_a_new_or_pending_issue_out_of_order(queue: Arc<dyn WritebackLedger>) {
    // No row: inserted, held.
    let job = hold(&queue, "poller", 0).await.unwrap();
    let first = WritebackJob {
        issue_key: "SHOP-1".into(),
        seen_updated: None,
        attempts: 1,
    };
    assert_eq!(job, first);
    assert_eq!(queue.depth().await.unwrap(), 1);
    assert_eq!(claim(&queue, "w", 1).await, None, "held");
    queue.renew(&job, "poller", t(2)).await.unwrap();
    queue.settle(&job, "poller", t(3)).await.unwrap();
    assert_eq!(queue.depth().await.unwrap(), 0);

    // Pending and not due yet (a retry waiting): held all the same, its row kept.
    queue.enqueue("SHOP-1", Some(t(7)), t(10)).await.unwrap();
    let job = claim(&queue, "w", 10).await.unwrap();
    // Due in an hour by every clock in play (t(…) here on SQLite, the database's on PostgreSQL).
    let later = Utc::now() + chrono::Duration::hours(1);
    queue.retry(&job, "w", later, "503").await.unwrap();
    let held = hold(&queue, "poller", 11).await.unwrap();
    assert_eq!((held.seen_updated, held.attempts), (Some(t(7)), 2));
    claim_lost(queue.settle(&job, "w", t(12)).await);
    assert_eq!(claim(&queue, "w", 12).await, None, "held, not claimable");
    queue.retry(&held, "poller", t(20), "again").await.unwrap();
    let again = claim(&queue, "w", 20).await.unwrap();
    assert_eq!(again.attempts, 3);
}

async fn hold_leaves_a_live_lease_alone(queue: Arc<dyn WritebackLedger>) {
    queue
        .enqueue("SHOP-1", Some(t(3)), Utc::now())
        .await
        .unwrap();
    let job = claim_now(&queue, "w", STALE).await.unwrap();
    assert_eq!(hold_now(&queue, "poller", STALE).await, None);
    assert_eq!(
        hold_now(&queue, "w", STALE).await,
        None,
        "not even to its holder"
    );
    // Unchanged: still w's, attempts still 1.
    queue.renew(&job, "w", Utc::now()).await.unwrap();
    claim_lost(queue.renew(&job, "poller", Utc::now()).await);
    tokio::time::sleep(QUICK * 2).await;
    let taken = claim_now(&queue, "w2", QUICK).await.unwrap();
    assert_eq!((taken.seen_updated, taken.attempts), (Some(t(3)), 2));
}

async fn hold_takes_over_a_stale_lease(queue: Arc<dyn WritebackLedger>) {
    queue.enqueue("SHOP-1", None, Utc::now()).await.unwrap();
    let old = claim_now(&queue, "w", STALE).await.unwrap();
    tokio::time::sleep(QUICK * 2).await;
    let held = hold_now(&queue, "poller", QUICK).await.unwrap();
    assert_eq!((held.issue_key.as_str(), held.attempts), ("SHOP-1", 2));
    claim_lost(queue.settle(&old, "w", Utc::now()).await);
    claim_lost(queue.retry(&old, "w", Utc::now(), "late").await);
    claim_lost(queue.renew(&old, "w", Utc::now()).await);
    queue.settle(&held, "poller", Utc::now()).await.unwrap();
    assert_eq!(queue.depth().await.unwrap(), 0);
}

async fn enqueue_while_held_by_hold_runs_again_after_settle(queue: Arc<dyn WritebackLedger>) {
    let held = hold(&queue, "poller", 0).await.unwrap();
    queue.enqueue("SHOP-1", Some(t(9)), t(1)).await.unwrap();
    queue.settle(&held, "poller", t(2)).await.unwrap();
    assert_eq!(queue.depth().await.unwrap(), 1, "back to pending");
    let again = claim(&queue, "w", 2).await.unwrap();
    assert_eq!((again.seen_updated, again.attempts), (Some(t(9)), 2));
    queue.settle(&again, "w", t(3)).await.unwrap();
    assert_eq!(queue.depth().await.unwrap(), 0);

    // A hold spends the re-run mark of the stale lease it takes over.
    queue.enqueue("SHOP-1", None, Utc::now()).await.unwrap();
    let old = claim_now(&queue, "w", STALE).await.unwrap();
    queue.enqueue("SHOP-1", None, Utc::now()).await.unwrap();
    tokio::time::sleep(QUICK * 2).await;
    let held = hold_now(&queue, "poller", QUICK).await.unwrap();
    claim_lost(queue.settle(&old, "w", Utc::now()).await);
    queue.settle(&held, "poller", Utc::now()).await.unwrap();
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

/// Eight calls on alternating replicas at once for `issue_key`: holds, claims from the
/// `claims_from`-th on; what each got.
async fn race_for(
    a: &Arc<dyn WritebackLedger>,
    b: &Arc<dyn WritebackLedger>,
    issue_key: &'static str,
    claims_from: usize,
) -> Vec<Option<WritebackJob>> {
    at_once(a, b, 8, move |queue, i| async move {
        let owner = format!("p{i}");
        let got = if i < claims_from {
            queue.hold(issue_key, &owner, t(1), STALE).await
        } else {
            queue.claim(&owner, t(1), STALE).await
        };
        got.unwrap()
    })
    .await
}

async fn replicas_hold_one_issue_once(a: Arc<dyn WritebackLedger>, b: Arc<dyn WritebackLedger>) {
    // No row yet: concurrent inserts.
    let got = race_for(&a, &b, "SHOP-1", 8).await;
    assert_eq!(got.iter().flatten().count(), 1, "{got:?}");
    // A pending row, held and claimed at once.
    a.enqueue("SHOP-2", None, t(0)).await.unwrap();
    let got = race_for(&a, &b, "SHOP-2", 4).await;
    assert_eq!(got.iter().flatten().count(), 1, "{got:?}");
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
            skipped_for: None,
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
    wb.record_skipped(&key, "the log has no Test Manager defect", at(4, 321))
        .await
        .unwrap();
    let skipped = target(&stores, "SHOP-1", &key).await;
    assert_eq!(
        (
            skipped.skipped.as_deref(),
            skipped.skipped_for,
            skipped.written
        ),
        (
            Some("the log has no Test Manager defect"),
            Some(at(4, 321)),
            None
        )
    );
    // A later skip replaces both.
    wb.record_skipped(&key, "refused", at(4, 999))
        .await
        .unwrap();
    let skipped = target(&stores, "SHOP-1", &key).await;
    assert_eq!(
        (skipped.skipped.as_deref(), skipped.skipped_for),
        (Some("refused"), Some(at(4, 999)))
    );
    assert!(wb
        .record_written(&key, &written("Done", t(5)))
        .await
        .unwrap());
    let cleared = target(&stores, "SHOP-1", &key).await;
    assert_eq!((cleared.skipped, cleared.skipped_for), (None, None));
    // No entry: nothing recorded, no error.
    wb.record_skipped(&new_key(), "gone", t(6)).await.unwrap();
}

// ---------------------------------------------------------------- pollers

async fn poller_lease_is_exclusive_until_it_runs_out(queue: Arc<dyn WritebackLedger>) {
    // Real time and a short lease: on PostgreSQL the database's clock dates and judges it.
    let lease = |owner: &'static str| {
        let queue = queue.clone();
        async move {
            queue
                .lease_poller("SHOP", owner, Utc::now(), QUICK)
                .await
                .unwrap()
        }
    };
    assert!(lease("a").await);
    assert!(!lease("b").await);
    assert!(lease("a").await, "re-entrant, renewed");
    assert!(!lease("b").await);
    tokio::time::sleep(QUICK * 2).await;
    assert!(lease("b").await, "ran out");
    assert!(!lease("a").await);
    assert!(queue
        .lease_poller("OPS", "a", Utc::now(), QUICK)
        .await
        .unwrap());
}

async fn only_the_poller_holder_advances_the_watermark(queue: Arc<dyn WritebackLedger>) {
    assert_eq!(queue.watermark("SHOP").await.unwrap(), None);
    claim_lost(queue.advance_watermark("SHOP", "a", t(0)).await);
    assert!(queue
        .lease_poller("SHOP", "a", Utc::now(), QUICK)
        .await
        .unwrap());
    assert_eq!(queue.watermark("SHOP").await.unwrap(), None);
    queue
        .advance_watermark("SHOP", "a", at(1, 7))
        .await
        .unwrap();
    assert_eq!(queue.watermark("SHOP").await.unwrap(), Some(at(1, 7)));
    claim_lost(queue.advance_watermark("SHOP", "b", t(2)).await);
    // The watermark outlives its lease holder.
    tokio::time::sleep(QUICK * 2).await;
    assert!(queue
        .lease_poller("SHOP", "b", Utc::now(), QUICK)
        .await
        .unwrap());
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
        renew_keeps_the_lease_of_its_holder_only,
        hold_takes_a_new_or_pending_issue_out_of_order,
        hold_leaves_a_live_lease_alone,
        hold_takes_over_a_stale_lease,
        enqueue_while_held_by_hold_runs_again_after_settle,
        targets_are_the_created_entries_of_an_issue,
        issue_keys_are_distinct_per_route_in_key_order,
        newest_written_state_wins,
        a_write_clears_the_skipped_reason,
        poller_lease_is_exclusive_until_it_runs_out,
        only_the_poller_holder_advances_the_watermark;
    pair:
        replicas_share_the_queue_without_doubles,
        replicas_hold_one_issue_once,
        one_replica_gets_the_poller_lease,
}

// ---------------------------------------------------------------- whose clock decides

/// On PostgreSQL the write-back queue's leases are taken, held, renewed and judged stale by
/// the database's clock: a worker whose clock runs minutes ahead takes over no live lease,
/// by claim or by hold, and a holder whose clock runs behind does not renew its lease into
/// looking stale.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_skewed_worker_never_takes_over_a_live_writeback_lease() {
    let Some((fixture, sa, sb)) =
        PgReplicas::open("postgres_skewed_worker_never_takes_over_a_live_writeback_lease").await
    else {
        return;
    };
    let (a, b) = (sa.writeback.clone(), sb.writeback.clone());
    a.enqueue("SHOP-1", None, Utc::now()).await.unwrap();
    let live = a.claim("a", Utc::now(), WINDOW).await.unwrap().unwrap();

    let ahead = Utc::now() + skew();
    assert_eq!(b.claim("b", ahead, WINDOW).await.unwrap(), None, "claim");
    let hold = b.hold("SHOP-1", "b", ahead, WINDOW).await.unwrap();
    assert_eq!(hold, None, "hold");

    a.renew(&live, "a", Utc::now() - skew()).await.unwrap();
    assert_eq!(b.claim("b", Utc::now(), WINDOW).await.unwrap(), None);
    let hold = b.hold("SHOP-1", "b", Utc::now(), WINDOW).await.unwrap();
    assert_eq!(hold, None, "a lease renewed behind went stale");
    a.settle(&live, "a", Utc::now()).await.unwrap();

    PgReplicas::close(fixture, sa, sb).await;
}

/// The other half: a write-back lease older than the window by the database's clock is
/// taken over, by claim and by hold, even by a worker whose own clock says it is minutes
/// from stale.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_writeback_lease_stale_by_the_database_clock_is_taken_over() {
    let Some((fixture, sa, sb)) =
        PgReplicas::open("postgres_writeback_lease_stale_by_the_database_clock_is_taken_over")
            .await
    else {
        return;
    };
    let (a, b) = (sa.writeback.clone(), sb.writeback.clone());
    a.enqueue("SHOP-1", None, Utc::now()).await.unwrap();
    let claimed = a.claim("dead", Utc::now(), WINDOW).await.unwrap().unwrap();
    let held = a.hold("SHOP-2", "dead", Utc::now(), WINDOW).await.unwrap();
    let held = held.unwrap();
    age_leases(&fixture, "writeback_queue").await;

    let behind = Utc::now() - skew();
    let taken = b.claim("b", behind, WINDOW).await.unwrap();
    let taken = taken.expect("a lease stale by the database's clock is claimed");
    assert_eq!((taken.issue_key.as_str(), taken.attempts), ("SHOP-1", 2));
    let rehold = b.hold("SHOP-2", "b", behind, WINDOW).await.unwrap();
    let rehold = rehold.expect("a lease stale by the database's clock is held");
    assert_eq!((rehold.issue_key.as_str(), rehold.attempts), ("SHOP-2", 2));
    claim_lost(a.renew(&claimed, "dead", Utc::now()).await);
    claim_lost(a.renew(&held, "dead", Utc::now()).await);

    PgReplicas::close(fixture, sa, sb).await;
}

// ---------------------------------------------------------------- migrating a store in use

/// A created entry (variation `row-1`, as [`new_key`]'s) written with the SQL of before write-back: `$1` key, `$2` execution,
/// `$3` test case, `$4` the time in the store's encoding.
const OLD_ENTRY: &str = "INSERT INTO ledger_entries (result_key, execution_id, test_case_id, \
     variation_id, project, state, owner, attempts, claimed_at, updated_at, issue_key, \
     issue_id, browse_url, summary, remote_link_done) \
     VALUES ($1, $2, $3, 'row-1', 'shop', 'created', 'old', 1, $4, $4, 'SHOP-7', '10007', \
     'https://jira.example/browse/SHOP-7', 'Checkout fails', TRUE)";

/// Write-back state of that entry written with the SQL of 0004 (before `skipped_for`): a
/// write, then a skip. `$1` key, `$2` the time in the store's encoding.
const OLD_WRITEBACK: &str = "UPDATE ledger_entries SET defect_id = 'defect-7', \
     written_status = 'Done', written_priority = 'High', written_jira_updated = $2, \
     written_at = $2, writeback_skipped = 'refused' WHERE result_key = $1";

/// A pending queue row as 0004 wrote it.
const OLD_QUEUED: &str = "INSERT INTO writeback_queue (id, state, not_before, seen_updated) \
     VALUES ('SHOP-7', 'pending', 0, 5000)";

/// The migrations of `store` (`sqlite` or `postgres`) numbered below `before`, in a temp dir.
async fn migrations_before(
    store: &str,
    before: &str,
) -> (tempfile::TempDir, sqlx::migrate::Migrator) {
    let dir = tempfile::tempdir().unwrap();
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/ledger/migrations")
        .join(store);
    for file in std::fs::read_dir(source).unwrap() {
        let path = file.unwrap().path();
        let name = path.file_name().unwrap().to_owned();
        if name.to_string_lossy().as_ref() < before {
            std::fs::copy(&path, dir.path().join(name)).unwrap();
        }
    }
    let migrator = sqlx::migrate::Migrator::new(dir.path()).await.unwrap();
    (dir, migrator)
}

/// Brings the open connection `$conn` to the schema of `$store`'s migrations numbered below
/// `$before` and writes an old entry into it, its times bound as `$time`, with the
/// write-back state of 0004 when `$before` comes after it; closes `$conn` and evaluates to
/// the entry's key.
macro_rules! store_in_use {
    ($conn:ident, $store:literal, before: $before:literal, $time:expr) => {{
        use sqlx::Connection;
        let (_dir, migrator) = migrations_before($store, $before).await;
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
        if $before > "0004" {
            sqlx::query(OLD_WRITEBACK)
                .bind(key.canonical())
                .bind($time)
                .execute(&mut $conn)
                .await
                .unwrap();
            sqlx::query(OLD_QUEUED).execute(&mut $conn).await.unwrap();
        }
        $conn.close().await.unwrap();
        key
    }};
}

/// The old entry, read back through the store migrated from before write-back: as it
/// was, nothing written yet.
async fn old_entry_reads_back(stores: Stores, key: &ResultKey) {
    let entry = stores.results.get(key).await.unwrap().unwrap();
    assert_eq!(entry.issue.unwrap().issue_key, "SHOP-7");
    let target = target(&stores, "SHOP-7", key).await;
    assert_eq!(
        (
            target.defect_id,
            target.written,
            target.skipped,
            target.skipped_for
        ),
        (None, None, None, None)
    );
    assert_eq!(stores.writeback.depth().await.unwrap(), 0);
    stores.results.close().await;
}

/// The old entry and queue row, read back through the store migrated from 0004: kept as
/// they were, the skip not tied to any Jira state.
async fn old_writeback_reads_back(stores: Stores, key: &ResultKey) {
    let target = target(&stores, "SHOP-7", key).await;
    let expected = WritebackTarget {
        key: key.clone(),
        route: "shop".into(),
        issue_key: "SHOP-7".into(),
        defect_id: Some("defect-7".into()),
        written: Some(WrittenState {
            status: "Done".into(),
            priority: Some("High".into()),
            jira_updated: t(0),
            written_at: t(0),
        }),
        skipped: Some("refused".into()),
        skipped_for: None,
    };
    assert_eq!(target, expected);
    let queued = claim(&stores.writeback, "w", 0).await.unwrap();
    let seen = DateTime::from_timestamp_millis(5000);
    assert_eq!(
        (
            queued.issue_key.as_str(),
            queued.seen_updated,
            queued.attempts
        ),
        ("SHOP-7", seen, 1)
    );
    stores.results.close().await;
}

async fn sqlite_connection(fixture: &SqliteFixture) -> sqlx::SqliteConnection {
    use sqlx::ConnectOptions;
    std::fs::create_dir_all(fixture.path.parent().unwrap()).unwrap();
    sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&fixture.path)
        .create_if_missing(true)
        .connect()
        .await
        .unwrap()
}

/// A connection confined to the fresh schema of `fixture`.
async fn postgres_connection(fixture: &PgFixture) -> sqlx::PgConnection {
    use sqlx::{Connection, Executor};
    let mut conn = sqlx::PgConnection::connect(&fixture.url).await.unwrap();
    let schema = &fixture.schema;
    conn.execute(format!("CREATE SCHEMA {schema}; SET search_path = {schema}").as_str())
        .await
        .unwrap();
    conn
}

/// A test per store that migrates a store in use from before `$before` and checks the
/// result with `$reads_back`.
macro_rules! migrates {
    ($sqlite:ident, $postgres:ident, before: $before:literal, $reads_back:ident) => {
        #[tokio::test]
        async fn $sqlite() {
            let fixture = SqliteFixture::new(stringify!($sqlite)).unwrap();
            let mut conn = sqlite_connection(&fixture).await;
            let key = store_in_use!(conn, "sqlite", before: $before, t(0).timestamp_millis());
            $reads_back(fixture.open().await, &key).await;
        }

        #[tokio::test]
        async fn $postgres() {
            let Some(fixture) = PgFixture::new(stringify!($postgres)) else {
                return;
            };
            let mut conn = postgres_connection(&fixture).await;
            let key = store_in_use!(conn, "postgres", before: $before, t(0));
            $reads_back(fixture.open().await, &key).await;
            fixture.finish().await;
        }
    };
}

migrates!(
    sqlite_store_in_use_migrates_to_writeback,
    postgres_store_in_use_migrates_to_writeback,
    before: "0004",
    old_entry_reads_back
);

migrates!(
    sqlite_store_in_use_migrates_to_skipped_for,
    postgres_store_in_use_migrates_to_skipped_for,
    before: "0005",
    old_writeback_reads_back
);
