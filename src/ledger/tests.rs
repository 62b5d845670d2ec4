//! One behavioural suite for the ports ([`Ledger`], [`EvidenceQueue`]) of every store; the
//! [`super::WritebackLedger`] cases live in `writeback_tests.rs` and use the fixtures here.
//!
//! Each case is an async function over the port it tests (`Arc<dyn Ledger>` or
//! `Arc<dyn EvidenceQueue>`, picked by [`Port`]); the `suite!` macro runs it
//! against SQLite (a fresh temp file, always) and against PostgreSQL when `DATABASE_URL` is
//! set. Each PostgreSQL case gets its own randomly named schema (dropped at the end), so
//! cases and parallel runs never see each other's rows.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use tokio::sync::Barrier;
use uuid::Uuid;

use super::claim::to_stored_precision;
use super::{
    connect, connect_postgres_in_schema, ClaimOutcome, EntryState, EvidenceItem, EvidenceKind,
    EvidenceQueue, EvidenceState, IssueRecord, Ledger, LedgerEntry, LedgerError, NewEvidence,
    Stores,
};
use crate::result_key::ResultKey;

pub(super) const STALE: Duration = Duration::from_secs(60);

/// A fixed clock origin: claims compare times, so tests must not depend on the wall clock.
pub(super) fn t(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap() + chrono::Duration::seconds(secs)
}

pub(super) fn new_key() -> ResultKey {
    ResultKey::new(Uuid::new_v4(), Uuid::new_v4(), Some("row-1".to_owned()))
}

fn issue(n: u32) -> IssueRecord {
    IssueRecord {
        issue_key: format!("SHOP-{n}"),
        issue_id: format!("{}", 10_000 + n),
        browse_url: format!("https://jira.example/browse/SHOP-{n}"),
        summary: format!("Checkout fails ({n})"),
        status: Some("To Do".to_owned()),
        priority: None,
    }
}

/// Asserts that a write of someone who does not hold the claim was refused.
pub(super) fn claim_lost<T: std::fmt::Debug>(result: Result<T, LedgerError>) {
    assert!(
        matches!(result, Err(LedgerError::ClaimLost)),
        "expected ClaimLost, got {result:?}"
    );
}

fn claimed_previous(outcome: ClaimOutcome) -> Option<LedgerEntry> {
    match outcome {
        ClaimOutcome::Claimed { previous } => previous,
        other => panic!("expected Claimed, got {other:?}"),
    }
}

fn busy(outcome: ClaimOutcome) -> LedgerEntry {
    match outcome {
        ClaimOutcome::Busy(entry) => entry,
        other => panic!("expected Busy, got {other:?}"),
    }
}

fn done(outcome: ClaimOutcome) -> LedgerEntry {
    match outcome {
        ClaimOutcome::Done(entry) => entry,
        other => panic!("expected Done, got {other:?}"),
    }
}

async fn get(ledger: &Arc<dyn Ledger>, key: &ResultKey) -> LedgerEntry {
    ledger.get(key).await.unwrap().expect("entry exists")
}

/// Claims then records `n`'s issue at `at`.
pub(super) async fn create(
    ledger: &Arc<dyn Ledger>,
    key: &ResultKey,
    project: &str,
    at: i64,
    n: u32,
) {
    let owner = format!("creator-{n}");
    claimed_previous(
        ledger
            .claim(key, project, &owner, t(at), STALE)
            .await
            .unwrap(),
    );
    ledger
        .record_issue(key, &owner, &issue(n), t(at))
        .await
        .unwrap();
}

// ---------------------------------------------------------------- the evidence queue

fn evidence(issue: &str, kind: EvidenceKind, source: &str) -> NewEvidence {
    NewEvidence {
        item: EvidenceItem {
            issue_key: issue.to_owned(),
            route: "shop".into(),
            log_id: "log-1".into(),
            kind,
            source_id: source.to_owned(),
            file_name: format!("{source}.bin"),
        },
        size_bytes: Some(10),
        state: EvidenceState::Pending,
        note: None,
    }
}

async fn evidence_is_enqueued_once_and_settled_by_its_owner(queue: Arc<dyn EvidenceQueue>) {
    use {EvidenceKind as K, EvidenceState as S};
    // The real clock throughout: on PostgreSQL the database's clock dates and judges leases.
    let now = Utc::now;
    let items = vec![
        evidence("SHOP-1", K::Screenshot, "s1"),
        evidence("SHOP-1", K::RobotLog, "log-1"),
        evidence("SHOP-1", K::Summary, "log-1"),
    ];
    assert_eq!(queue.enqueue(&items, now()).await.unwrap(), 3);
    assert_eq!(queue.enqueue(&items, now()).await.unwrap(), 0);
    let first = queue.claim("w1", now(), STALE).await.unwrap().unwrap();
    assert_eq!(
        (first.item.kind, first.state, first.attempts),
        (K::Screenshot, S::Uploading, 1)
    );
    claim_lost(queue.settle(&first.id, "w2", S::Done, None, None).await);
    queue
        .settle(&first.id, "w1", S::Done, Some(12), None)
        .await
        .unwrap();
    let second = queue.claim("w1", now(), STALE).await.unwrap().unwrap();
    assert_eq!(second.item.kind, K::RobotLog);
    // The summary waits while a file is in flight.
    assert_eq!(queue.claim("w2", now(), STALE).await.unwrap(), None);
    queue
        .retry(&second.id, "w1", "HTTP 400", now() + span(DUE), true)
        .await
        .unwrap();
    // Not due yet; the summary still waits for it.
    assert_eq!(queue.claim("w2", now(), STALE).await.unwrap(), None);
    tokio::time::sleep(DUE).await;
    let again = queue.claim("w2", now(), STALE).await.unwrap().unwrap();
    assert_eq!((again.id.as_str(), again.attempts), (second.id.as_str(), 2));
    assert_eq!(again.failures, 1, "a failure of the file's own is counted");
    assert_eq!(again.takeovers, 0, "a retried row is not taken over");
    queue
        .settle(&again.id, "w2", S::Skipped, None, Some("too big"))
        .await
        .unwrap();
    let summary = queue.claim("w2", now(), STALE).await.unwrap().unwrap();
    assert_eq!(summary.item.kind, K::Summary);
    let rows = queue.for_issue("SHOP-1").await.unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].size_bytes, Some(12));
    assert_eq!(rows[1].last_error.as_deref(), Some("too big"));
}

async fn evidence_overview_counts_states_and_lists_what_is_outstanding(
    queue: Arc<dyn EvidenceQueue>,
) {
    use {EvidenceKind as K, EvidenceState as S};
    let now = Utc::now;
    assert!(queue.count_by_state().await.unwrap().is_empty());
    queue
        .enqueue(
            &[evidence("SHOP-7", K::Screenshot, "s1")],
            now() - chrono::Duration::seconds(1),
        )
        .await
        .unwrap();
    queue
        .enqueue(
            &[
                evidence("SHOP-8", K::Screenshot, "s2"),
                evidence("SHOP-8", K::RobotLog, "log-8"),
                evidence("SHOP-8", K::Attachment, "a8"),
            ],
            now(),
        )
        .await
        .unwrap();
    let first = queue.claim("w1", now(), STALE).await.unwrap().unwrap();
    queue
        .settle(&first.id, "w1", S::Done, None, None)
        .await
        .unwrap();
    let second = queue.claim("w1", now(), STALE).await.unwrap().unwrap();
    queue
        .settle(
            &second.id,
            "w1",
            S::Failed,
            None,
            Some("Jira refused the file (400)"),
        )
        .await
        .unwrap();
    let third = queue.claim("w1", now(), STALE).await.unwrap().unwrap();

    let mut counts = queue.count_by_state().await.unwrap();
    counts.sort_by_key(|(state, _)| state.as_str());
    assert_eq!(
        counts,
        [
            (S::Done, 1),
            (S::Failed, 1),
            (S::Pending, 1),
            (S::Uploading, 1)
        ]
    );
    let outstanding = queue.outstanding(10).await.unwrap();
    let shown: Vec<_> = outstanding
        .iter()
        .map(|row| (row.item.source_id.as_str(), row.state))
        .collect();
    // Newest enqueue first, and within one enqueue the later rows first.
    assert_eq!(
        shown,
        [
            ("a8", S::Pending),
            ("log-8", S::Uploading),
            ("s2", S::Failed)
        ]
    );
    assert_eq!(third.item.source_id, "log-8");
    assert_eq!(
        outstanding[2].last_error.as_deref(),
        Some("Jira refused the file (400)")
    );
    assert_eq!(
        queue.outstanding(1).await.unwrap().len(),
        1,
        "the limit holds"
    );
}

async fn evidence_stuck_uploading_is_reclaimed_after_the_timeout(queue: Arc<dyn EvidenceQueue>) {
    let now = Utc::now;
    let items = vec![evidence("SHOP-2", EvidenceKind::Attachment, "a1")];
    queue.enqueue(&items, now()).await.unwrap();
    let held = queue.claim("dead", now(), STALE).await.unwrap().unwrap();
    assert_eq!(queue.claim("alive", now(), STALE).await.unwrap(), None);
    // A holder that renews keeps the row past the stale limit of its first claim.
    tokio::time::sleep(RENEW_AFTER).await;
    queue.renew(&held.id, "dead", now()).await.unwrap();
    assert_eq!(
        queue.claim("alive", now(), RENEWED).await.unwrap(),
        None,
        "a renewed claim is not stale"
    );
    assert!(
        queue.renew(&held.id, "alive", now()).await.is_err(),
        "only the holder renews"
    );
    // Then it stops renewing (its process died).
    tokio::time::sleep(RENEW_AFTER).await;
    let taken = queue.claim("alive", now(), RENEWED).await.unwrap().unwrap();
    assert_eq!((taken.id.as_str(), taken.attempts), (held.id.as_str(), 2));
    assert_eq!(
        (held.takeovers, taken.takeovers),
        (0, 1),
        "a takeover is counted"
    );
    assert_eq!(taken.owner.as_deref(), Some("alive"));
    // The dead worker can no longer settle or renew it.
    assert!(queue
        .settle(&held.id, "dead", EvidenceState::Done, None, None)
        .await
        .is_err());
    assert!(queue.renew(&held.id, "dead", now()).await.is_err());
    // A worker claiming its own stale row again (it abandoned the upload) is no takeover.
    queue
        .settle(&held.id, "alive", EvidenceState::Done, None, None)
        .await
        .unwrap();
    let items = vec![evidence("SHOP-2", EvidenceKind::Attachment, "a2")];
    queue.enqueue(&items, now()).await.unwrap();
    let own = queue.claim("alive", now(), QUICK).await.unwrap().unwrap();
    tokio::time::sleep(QUICK * 2).await;
    let again = queue.claim("alive", now(), QUICK).await.unwrap().unwrap();
    assert_eq!((own.id.as_str(), again.takeovers), (again.id.as_str(), 0));
}

async fn evidence_rows_are_claimed_once_across_replicas(
    a: Arc<dyn EvidenceQueue>,
    b: Arc<dyn EvidenceQueue>,
) {
    let items: Vec<_> = (0..20)
        .map(|i| evidence("SHOP-3", EvidenceKind::Attachment, &format!("a{i}")))
        .collect();
    a.enqueue(&items, t(0)).await.unwrap();
    let claim_all = |queue: Arc<dyn EvidenceQueue>, owner: &'static str| async move {
        let mut got = Vec::new();
        while let Some(row) = queue.claim(owner, t(1), STALE).await.unwrap() {
            got.push(row.id);
        }
        got
    };
    let (x, y, z) = tokio::join!(
        tokio::spawn(claim_all(a.clone(), "x")),
        tokio::spawn(claim_all(b.clone(), "y")),
        tokio::spawn(claim_all(b.clone(), "z")),
    );
    let mut all: Vec<String> = [x.unwrap(), y.unwrap(), z.unwrap()].concat();
    assert_eq!(all.len(), 20);
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 20, "a row was claimed twice");
}

// ---------------------------------------------------------------- the suite

async fn first_claim_wins(ledger: Arc<dyn Ledger>) {
    let key = new_key();
    assert_eq!(ledger.get(&key).await.unwrap(), None);
    let outcome = ledger.claim(&key, "SHOP", "a", t(0), STALE).await.unwrap();
    assert_eq!(claimed_previous(outcome), None);

    let entry = get(&ledger, &key).await;
    assert_eq!(entry.key, key);
    assert_eq!(entry.project, "SHOP");
    assert_eq!(entry.state, EntryState::Claimed);
    assert_eq!(entry.owner, "a");
    assert_eq!(entry.attempts, 1);
    // Dated t(0) on SQLite, by the database's clock on PostgreSQL (see the clock cases).
    assert_eq!(entry.updated_at, entry.claimed_at);
    assert_eq!(entry.issue, None);
    assert!(!entry.remote_link_done);
    assert_eq!(entry.last_error, None);

    let other = busy(ledger.claim(&key, "SHOP", "b", t(1), STALE).await.unwrap());
    assert_eq!(other, entry);
}

async fn keys_without_variation_round_trip(ledger: Arc<dyn Ledger>) {
    let key = ResultKey::new(Uuid::new_v4(), Uuid::new_v4(), None);
    claimed_previous(ledger.claim(&key, "SHOP", "a", t(0), STALE).await.unwrap());
    assert_eq!(get(&ledger, &key).await.key, key);
    let with_variation = ResultKey::new(key.test_execution_id, key.test_case_id, Some("v".into()));
    assert_eq!(ledger.get(&with_variation).await.unwrap(), None);
}

async fn done_after_record_issue(ledger: Arc<dyn Ledger>) {
    let key = new_key();
    claimed_previous(ledger.claim(&key, "SHOP", "a", t(0), STALE).await.unwrap());
    let claimed = get(&ledger, &key).await;
    ledger
        .record_issue(&key, "a", &issue(12), t(5))
        .await
        .unwrap();

    let entry = done(ledger.claim(&key, "SHOP", "b", t(6), STALE).await.unwrap());
    assert_eq!(entry.state, EntryState::Created);
    assert_eq!(entry.issue, Some(issue(12)));
    assert_eq!(entry.owner, "a");
    assert_eq!(entry.claimed_at, claimed.claimed_at);
    assert_eq!(entry.updated_at, t(5));
    // A Created entry is final, however old it gets.
    done(
        ledger
            .claim(&key, "SHOP", "c", t(86_400), STALE)
            .await
            .unwrap(),
    );
    assert_eq!(get(&ledger, &key).await, entry);
}

async fn busy_while_fresh(ledger: Arc<dyn Ledger>) {
    let key = new_key();
    claimed_previous(ledger.claim(&key, "SHOP", "a", t(0), STALE).await.unwrap());
    let before = get(&ledger, &key).await;
    assert_eq!(
        busy(ledger.claim(&key, "SHOP", "a", t(1), STALE).await.unwrap()),
        before
    );
    assert_eq!(
        busy(ledger.claim(&key, "SHOP", "b", t(59), STALE).await.unwrap()),
        before
    );
    // Exactly stale_after old is still "within" stale_after.
    assert_eq!(
        busy(ledger.claim(&key, "SHOP", "b", t(60), STALE).await.unwrap()),
        before
    );
    // A claim dated before claimed_at (clock skew between replicas) is fresh, not stale.
    assert_eq!(
        busy(
            ledger
                .claim(&key, "SHOP", "b", t(-600), STALE)
                .await
                .unwrap()
        ),
        before
    );
    assert_eq!(get(&ledger, &key).await, before);
}

/// A claim window the staleness cases outwait on the real clock, which is the one that
/// counts on PostgreSQL.
pub(super) const QUICK: Duration = Duration::from_millis(300);

/// How long the lease cases wait before a holder renews, and again after it stopped; and
/// [`RENEWED`], a window shorter than that and far longer than a round trip to the store, so
/// a lease renewed just now is live by it although its first claim is stale.
pub(super) const RENEW_AFTER: Duration = Duration::from_secs(1);
/// See [`RENEW_AFTER`].
pub(super) const RENEWED: Duration = Duration::from_millis(700);

/// How far ahead of the real clock the queue cases set a retry's due time: far longer than a
/// round trip to the store, so the row is not due yet when claimed right away.
pub(super) const DUE: Duration = Duration::from_secs(1);

/// `d` as a chrono span.
pub(super) fn span(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap()
}

/// Claims `key` for `owner` now, then waits until that claim is stale by [`QUICK`].
async fn claim_then_outwait(ledger: &Arc<dyn Ledger>, key: &ResultKey, owner: &str) {
    claimed_previous(
        ledger
            .claim(key, "SHOP", owner, Utc::now(), QUICK)
            .await
            .unwrap(),
    );
    tokio::time::sleep(QUICK * 2).await;
}

async fn takeover_after_stale(ledger: Arc<dyn Ledger>) {
    let key = new_key();
    claim_then_outwait(&ledger, &key, "a").await;
    let old = get(&ledger, &key).await;

    let previous = ledger
        .claim(&key, "SHOP", "b", Utc::now(), QUICK)
        .await
        .unwrap();
    assert_eq!(claimed_previous(previous), Some(old.clone()));
    let entry = get(&ledger, &key).await;
    assert_eq!(entry.state, EntryState::Claimed);
    assert_eq!(entry.owner, "b");
    assert_eq!(entry.attempts, 2);
    assert!(entry.claimed_at >= old.claimed_at + chrono::Duration::from_std(QUICK).unwrap());
    assert_eq!(entry.updated_at, entry.claimed_at);

    // The old owner has lost the claim and can no longer change anything.
    claim_lost(ledger.record_issue(&key, "a", &issue(1), t(62)).await);
    claim_lost(ledger.mark_uncertain(&key, "a", "late", t(62)).await);
    claim_lost(ledger.release(&key, "a").await);
    assert_eq!(get(&ledger, &key).await, entry);

    ledger
        .record_issue(&key, "b", &issue(2), t(63))
        .await
        .unwrap();
    assert_eq!(get(&ledger, &key).await.issue, Some(issue(2)));
}

async fn takeover_after_uncertain(ledger: Arc<dyn Ledger>) {
    let key = new_key();
    claimed_previous(ledger.claim(&key, "SHOP", "a", t(0), STALE).await.unwrap());
    let claimed = get(&ledger, &key).await;
    ledger
        .mark_uncertain(&key, "a", "timeout after POST /issue", t(3))
        .await
        .unwrap();
    let uncertain = get(&ledger, &key).await;
    assert_eq!(uncertain.state, EntryState::Uncertain);
    assert_eq!(uncertain.owner, "a");
    assert_eq!(uncertain.claimed_at, claimed.claimed_at);
    assert_eq!(uncertain.updated_at, t(3));
    assert_eq!(
        uncertain.last_error.as_deref(),
        Some("timeout after POST /issue")
    );
    // Marking again is not allowed: the entry is no longer Claimed.
    claim_lost(ledger.mark_uncertain(&key, "a", "again", t(4)).await);

    // Uncertain is taken over at once, without waiting for stale_after.
    let previous = ledger.claim(&key, "SHOP", "b", t(4), STALE).await.unwrap();
    assert_eq!(claimed_previous(previous), Some(uncertain.clone()));
    let entry = get(&ledger, &key).await;
    assert_eq!(entry.state, EntryState::Claimed);
    assert_eq!(entry.owner, "b");
    assert_eq!(entry.attempts, 2);
    assert!(entry.claimed_at >= claimed.claimed_at);
    assert_eq!(entry.last_error, uncertain.last_error);
    busy(ledger.claim(&key, "SHOP", "c", t(5), STALE).await.unwrap());
}

/// `tasks` claims of `key` now with a `window`, by owners `{owner}-{i}`, released together
/// by a barrier so they really race; their outcomes.
async fn claim_at_once(
    ledger: &Arc<dyn Ledger>,
    key: &ResultKey,
    tasks: usize,
    owner: &str,
    window: Duration,
) -> Vec<ClaimOutcome> {
    let barrier = Arc::new(Barrier::new(tasks));
    let mut handles = Vec::new();
    for i in 0..tasks {
        let (ledger, key, barrier) = (ledger.clone(), key.clone(), barrier.clone());
        let owner = format!("{owner}-{i}");
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            ledger.claim(&key, "SHOP", &owner, Utc::now(), window).await
        }));
    }
    let mut outcomes = Vec::new();
    for handle in handles {
        outcomes.push(handle.await.unwrap().unwrap());
    }
    outcomes
}

async fn concurrent_claims_one_winner(ledger: Arc<dyn Ledger>) {
    let key = new_key();
    let mut winners = 0;
    for outcome in claim_at_once(&ledger, &key, 50, "owner", STALE).await {
        match outcome {
            ClaimOutcome::Claimed { previous: None } => winners += 1,
            ClaimOutcome::Busy(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(winners, 1);
    assert_eq!(get(&ledger, &key).await.attempts, 1);
}

async fn concurrent_takeover_one_winner(ledger: Arc<dyn Ledger>) {
    let key = new_key();
    claim_then_outwait(&ledger, &key, "dead").await;
    let stale = get(&ledger, &key).await;
    let mut winners = Vec::new();
    for outcome in claim_at_once(&ledger, &key, 10, "rescuer", QUICK).await {
        match outcome {
            ClaimOutcome::Claimed { previous } => {
                assert_eq!(previous.as_ref(), Some(&stale));
                winners.push(());
            }
            ClaimOutcome::Busy(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1);
    let entry = get(&ledger, &key).await;
    assert_eq!(entry.attempts, 2);
    assert!(entry.owner.starts_with("rescuer-"));
}

async fn record_issue_by_non_owner_is_claim_lost(ledger: Arc<dyn Ledger>) {
    let key = new_key();
    claimed_previous(ledger.claim(&key, "SHOP", "a", t(0), STALE).await.unwrap());
    let before = get(&ledger, &key).await;
    claim_lost(ledger.record_issue(&key, "b", &issue(1), t(1)).await);
    claim_lost(ledger.mark_uncertain(&key, "b", "not mine", t(1)).await);
    assert_eq!(get(&ledger, &key).await, before);

    // Nothing to hold at all.
    let missing = new_key();
    claim_lost(ledger.record_issue(&missing, "a", &issue(1), t(1)).await);
    assert_eq!(ledger.get(&missing).await.unwrap(), None);

    // A Created entry cannot be re-recorded, even by its owner.
    ledger
        .record_issue(&key, "a", &issue(1), t(2))
        .await
        .unwrap();
    let created = get(&ledger, &key).await;
    claim_lost(ledger.record_issue(&key, "a", &issue(2), t(3)).await);
    assert_eq!(get(&ledger, &key).await, created);
}

async fn release_deletes_only_own_claim(ledger: Arc<dyn Ledger>) {
    let key = new_key();
    claimed_previous(ledger.claim(&key, "SHOP", "a", t(0), STALE).await.unwrap());
    claim_lost(ledger.release(&key, "b").await);
    assert_eq!(get(&ledger, &key).await.owner, "a");
    ledger.release(&key, "a").await.unwrap();
    assert_eq!(ledger.get(&key).await.unwrap(), None);
    claim_lost(ledger.release(&key, "a").await);
    // A later request starts clean.
    assert_eq!(
        claimed_previous(ledger.claim(&key, "SHOP", "c", t(1), STALE).await.unwrap()),
        None
    );
    assert_eq!(get(&ledger, &key).await.attempts, 1);

    // Uncertain and Created entries are never released: something may exist in Jira.
    ledger
        .mark_uncertain(&key, "c", "timeout", t(2))
        .await
        .unwrap();
    claim_lost(ledger.release(&key, "c").await);
    claimed_previous(ledger.claim(&key, "SHOP", "d", t(3), STALE).await.unwrap());
    ledger
        .record_issue(&key, "d", &issue(4), t(4))
        .await
        .unwrap();
    claim_lost(ledger.release(&key, "d").await);
    assert_eq!(get(&ledger, &key).await.state, EntryState::Created);
}

async fn mark_linked(ledger: Arc<dyn Ledger>) {
    let key = new_key();
    claimed_previous(ledger.claim(&key, "SHOP", "a", t(0), STALE).await.unwrap());
    // Not yet Created: nothing to link, nothing changes.
    ledger.mark_linked(&key).await.unwrap();
    assert!(!get(&ledger, &key).await.remote_link_done);

    ledger
        .record_issue(&key, "a", &issue(7), t(1))
        .await
        .unwrap();
    let before = get(&ledger, &key).await;
    ledger.mark_linked(&key).await.unwrap();
    let after = get(&ledger, &key).await;
    assert!(after.remote_link_done);
    assert_eq!(after.updated_at, before.updated_at);
    assert_eq!(
        LedgerEntry {
            remote_link_done: false,
            ..after
        },
        before
    );
    // Idempotent, and a missing entry is not an error.
    ledger.mark_linked(&key).await.unwrap();
    ledger.mark_linked(&new_key()).await.unwrap();
}

async fn latest_issue_for_test_case(ledger: Arc<dyn Ledger>) {
    let project = format!("P{}", Uuid::new_v4().simple());
    let test_case = Uuid::new_v4();
    let run = |variation: Option<&str>| {
        ResultKey::new(Uuid::new_v4(), test_case, variation.map(str::to_owned))
    };
    assert_eq!(
        ledger
            .latest_issue_for_test_case(&project, test_case)
            .await
            .unwrap(),
        None
    );

    let first = run(None);
    let newest = run(Some("row-2"));
    let middle = run(None);
    create(&ledger, &first, &project, 10, 1).await;
    create(&ledger, &newest, &project, 30, 2).await;
    create(&ledger, &middle, &project, 20, 3).await;
    // Newer, but not Created: in flight or uncertain entries hold no issue to reuse.
    claimed_previous(
        ledger
            .claim(&run(None), &project, "x", t(40), STALE)
            .await
            .unwrap(),
    );
    let uncertain = run(None);
    claimed_previous(
        ledger
            .claim(&uncertain, &project, "y", t(41), STALE)
            .await
            .unwrap(),
    );
    ledger
        .mark_uncertain(&uncertain, "y", "timeout", t(42))
        .await
        .unwrap();
    // Newer and Created, but another project or another test case.
    let elsewhere = ResultKey::new(Uuid::new_v4(), test_case, None);
    create(&ledger, &elsewhere, &format!("{project}X"), 50, 4).await;
    create(&ledger, &new_key(), &project, 60, 5).await;

    let latest = ledger
        .latest_issue_for_test_case(&project, test_case)
        .await
        .unwrap()
        .expect("a created entry");
    assert_eq!(latest.key, newest);
    assert_eq!(latest.issue, Some(issue(2)));
    assert_eq!(
        ledger
            .latest_issue_for_test_case(&project, Uuid::new_v4())
            .await
            .unwrap(),
        None
    );
}

/// The keys of [`Ledger::recent`], in its order.
async fn recent_keys(ledger: &Arc<dyn Ledger>, limit: u32) -> Vec<ResultKey> {
    let entries = ledger.recent(limit).await.unwrap();
    entries.into_iter().map(|e| e.key).collect()
}

async fn recent_ordering_and_limit(ledger: Arc<dyn Ledger>) {
    assert_eq!(ledger.recent(10).await.unwrap(), Vec::new());
    let keys: Vec<ResultKey> = (0..5).map(|_| new_key()).collect();
    // Claimed in one order, then updated in another: recency follows updated_at.
    for (i, key) in keys.iter().enumerate() {
        claimed_previous(
            ledger
                .claim(key, "SHOP", &format!("o{i}"), Utc::now(), STALE)
                .await
                .unwrap(),
        );
        // Real, distinct times: on PostgreSQL the database's clock dates a claim.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let later = |secs| Utc::now() + chrono::Duration::seconds(secs);
    ledger
        .record_issue(&keys[0], "o0", &issue(1), later(100))
        .await
        .unwrap();
    ledger
        .mark_uncertain(&keys[2], "o2", "5xx", later(50))
        .await
        .unwrap();

    let all = recent_keys(&ledger, 100).await;
    let expected = [&keys[0], &keys[2], &keys[4], &keys[3], &keys[1]];
    assert_eq!(all.iter().collect::<Vec<_>>(), expected);

    let top = recent_keys(&ledger, 2).await;
    assert_eq!(top.iter().collect::<Vec<_>>(), &expected[..2]);
    assert_eq!(ledger.recent(0).await.unwrap(), Vec::new());
}

async fn ping_then_close(ledger: Arc<dyn Ledger>) {
    ledger.ping().await.unwrap();
    ledger.close().await;
    assert!(matches!(ledger.ping().await, Err(LedgerError::Store(_))));
}

/// Two pools on one store, as two replicas of the service would have.
async fn two_replicas_one_winner_per_key(a: Arc<dyn Ledger>, b: Arc<dyn Ledger>) {
    let keys: Vec<ResultKey> = (0..20).map(|_| new_key()).collect();
    let claims_per_key = 10;
    let barrier = Arc::new(Barrier::new(keys.len() * claims_per_key));
    let mut handles = Vec::new();
    for (k, key) in keys.iter().enumerate() {
        for i in 0..claims_per_key {
            let ledger = if i % 2 == 0 { a.clone() } else { b.clone() };
            let (key, barrier) = (key.clone(), barrier.clone());
            handles.push(tokio::spawn(async move {
                barrier.wait().await;
                let outcome = ledger
                    .claim(&key, "SHOP", &format!("r{}-{k}-{i}", i % 2), t(0), STALE)
                    .await;
                (k, outcome)
            }));
        }
    }
    let mut winners = vec![0; keys.len()];
    for handle in handles {
        let (k, outcome) = handle.await.unwrap();
        match outcome.unwrap() {
            ClaimOutcome::Claimed { previous: None } => winners[k] += 1,
            ClaimOutcome::Busy(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(winners, vec![1; keys.len()]);
    // Both replicas see the same single entry per key.
    for key in &keys {
        assert_eq!(get(&a, key).await, get(&b, key).await);
    }
}

// ---------------------------------------------------------------- fixtures

/// What a case asks for: a port of the store under test (or all of them, [`Stores`]).
pub(super) trait Port {
    fn of(stores: &Stores) -> Self;
}

impl Port for Arc<dyn Ledger> {
    fn of(stores: &Stores) -> Self {
        stores.results.clone()
    }
}

impl Port for Arc<dyn EvidenceQueue> {
    fn of(stores: &Stores) -> Self {
        stores.evidence.clone()
    }
}

/// A fresh SQLite file in a temp dir (nested, so `connect` must create the parents).
pub(super) struct SqliteFixture {
    _dir: tempfile::TempDir,
    /// The database file (not created yet).
    pub(super) path: std::path::PathBuf,
    url: String,
}

impl SqliteFixture {
    /// Always available; `Option` only to match [`PgFixture::new`].
    pub(super) fn new(_test: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/ledger.db");
        let url = format!("sqlite://{}", path.display());
        Some(Self {
            _dir: dir,
            path,
            url,
        })
    }

    pub(super) async fn open(&self) -> Stores {
        connect(&self.url, 4).await.unwrap()
    }

    pub(super) async fn finish(self) {}
}

/// A fresh schema on the `DATABASE_URL` server; `None` (after saying so) when it is unset.
pub(super) struct PgFixture {
    pub(super) url: String,
    /// Not created until [`PgFixture::open`].
    pub(super) schema: String,
}

impl PgFixture {
    pub(super) fn new(test: &str) -> Option<Self> {
        match std::env::var("DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => Some(Self {
                url,
                schema: format!("ledger_test_{}", Uuid::new_v4().simple()),
            }),
            _ => {
                // Straight to stderr: the test harness captures `eprintln!` of passing tests.
                let _ = writeln!(
                    std::io::stderr(),
                    "skipping PostgreSQL ledger tests: DATABASE_URL not set ({test})"
                );
                None
            }
        }
    }

    pub(super) async fn open(&self) -> Stores {
        connect_postgres_in_schema(&self.url, &self.schema, 5)
            .await
            .unwrap()
    }

    pub(super) async fn finish(self) {
        use sqlx::{Connection, Executor};
        let mut conn = sqlx::PgConnection::connect(&self.url).await.unwrap();
        conn.execute(format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema).as_str())
            .await
            .unwrap();
        conn.close().await.unwrap();
    }
}

/// Runs each named case once per store. `single:` cases get one port, `pair:` cases get the
/// same port of two separate pools on one store (two replicas).
macro_rules! suite {
    (single: $($single:ident),* ; pair: $($pair:ident),* $(,)?) => {
        suite!(@store sqlite_store, SqliteFixture; $($single),*; $($pair),*);
        suite!(@store postgres_store, PgFixture; $($single),*; $($pair),*);
    };
    (@store $store:ident, $fixture:ident; $($single:ident),*; $($pair:ident),*) => {
        mod $store {
            use super::Port;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $single() {
                    let Some(fixture) = super::$fixture::new(stringify!($single)) else {
                        return;
                    };
                    let stores = fixture.open().await;
                    super::$single(Port::of(&stores)).await;
                    stores.results.close().await;
                    fixture.finish().await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $pair() {
                    let Some(fixture) = super::$fixture::new(stringify!($pair)) else {
                        return;
                    };
                    let (a, b) = (fixture.open().await, fixture.open().await);
                    super::$pair(Port::of(&a), Port::of(&b)).await;
                    a.results.close().await;
                    b.results.close().await;
                    fixture.finish().await;
                }
            )*
        }
    };
}

pub(super) use suite;

suite! {
    single:
        first_claim_wins,
        keys_without_variation_round_trip,
        done_after_record_issue,
        busy_while_fresh,
        takeover_after_stale,
        takeover_after_uncertain,
        concurrent_claims_one_winner,
        concurrent_takeover_one_winner,
        record_issue_by_non_owner_is_claim_lost,
        release_deletes_only_own_claim,
        mark_linked,
        latest_issue_for_test_case,
        recent_ordering_and_limit,
        ping_then_close,
        evidence_is_enqueued_once_and_settled_by_its_owner,
        evidence_stuck_uploading_is_reclaimed_after_the_timeout,
        evidence_overview_counts_states_and_lists_what_is_outstanding;
    pair:
        two_replicas_one_winner_per_key,
        evidence_rows_are_claimed_once_across_replicas,
}

// ---------------------------------------------------------------- store-specific

#[tokio::test]
async fn sqlite_reopen_keeps_data_and_migrations_are_idempotent() {
    let fixture = SqliteFixture::new("sqlite_reopen").unwrap();
    let key = new_key();
    let first = fixture.open().await.results;
    create(&first, &key, "SHOP", 0, 9).await;
    let entry = get(&first, &key).await;
    first.close().await;

    let reopened = fixture.open().await.results;
    assert_eq!(get(&reopened, &key).await, entry);
    assert_eq!(
        done(
            reopened
                .claim(&key, "SHOP", "z", t(1), STALE)
                .await
                .unwrap()
        ),
        entry
    );
    reopened.close().await;
    // And a third time, after a clean close: the migration history still matches.
    let again = fixture.open().await.results;
    assert_eq!(again.recent(10).await.unwrap(), vec![entry]);
    again.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_memory_url_is_one_shared_database() {
    let ledger = connect("sqlite::memory:", 8).await.unwrap().results;
    let mut handles = Vec::new();
    for i in 0..20 {
        let ledger = ledger.clone();
        handles.push(tokio::spawn(async move {
            ledger
                .claim(&new_key(), "SHOP", &format!("o{i}"), t(i), STALE)
                .await
        }));
    }
    for handle in handles {
        claimed_previous(handle.await.unwrap().unwrap());
    }
    assert_eq!(ledger.recent(100).await.unwrap().len(), 20);
    // Two `:memory:` ledgers are separate databases.
    let other = connect("sqlite::memory:", 1).await.unwrap().results;
    assert_eq!(other.recent(100).await.unwrap().len(), 0);
    ledger.close().await;
    other.close().await;
}

#[tokio::test]
async fn unsupported_url_is_rejected_without_echoing_it() {
    let err = match connect("mysql://user:hunter2@db/ledger", 1).await {
        Err(err) => err,
        Ok(_) => panic!("mysql URL accepted"),
    };
    assert!(matches!(err, LedgerError::InvalidUrl(_)), "{err:?}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
    let err = match connect_postgres_in_schema("sqlite::memory:", "s", 1).await {
        Err(err) => err,
        Ok(_) => panic!("sqlite URL accepted"),
    };
    assert!(matches!(err, LedgerError::InvalidUrl(_)), "{err:?}");
}

#[tokio::test]
async fn postgres_schema_name_must_be_plain() {
    for bad in ["", "1abc", "a-b", "x; DROP TABLE y", "a\"b"] {
        let result = connect_postgres_in_schema("postgres://nobody@127.0.0.1:1/none", bad, 1).await;
        assert!(
            matches!(result, Err(LedgerError::InvalidUrl(_))),
            "schema {bad:?} accepted"
        );
    }
}

#[tokio::test]
async fn postgres_url_search_path_option_is_honoured() {
    let Some(fixture) = PgFixture::new("postgres_url_search_path_option_is_honoured") else {
        return;
    };
    let in_schema = fixture.open().await.results;
    let key = new_key();
    create(&in_schema, &key, "SHOP", 0, 3).await;

    let separator = if fixture.url.contains('?') { '&' } else { '?' };
    let url = format!(
        "{}{separator}options=-csearch_path%3D{}",
        fixture.url, fixture.schema
    );
    let via_url = connect(&url, 2).await.unwrap().results;
    assert_eq!(
        via_url.get(&key).await.unwrap(),
        in_schema.get(&key).await.unwrap()
    );
    via_url.close().await;
    in_schema.close().await;
    fixture.finish().await;
}

// ---------------------------------------------------------------- whose clock decides

/// How far a misconfigured replica's wall clock is off in the clock cases below.
pub(super) fn skew() -> chrono::Duration {
    chrono::Duration::minutes(10)
}

/// The claim window of the clock cases: short next to [`skew`], as in production.
pub(super) const WINDOW: Duration = Duration::from_secs(30);

/// On PostgreSQL claims are dated and judged by the database's clock, so a replica whose
/// clock runs minutes ahead neither takes over a live claim of another, nor does one running
/// behind date its own claim so early that a correct replica finds it stale.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_skewed_replica_never_takes_over_a_live_claim() {
    let Some(fixture) = PgFixture::new("postgres_skewed_replica_never_takes_over_a_live_claim")
    else {
        return;
    };
    let (a, b) = (fixture.open().await.results, fixture.open().await.results);

    let key = new_key();
    claimed_previous(
        a.claim(&key, "SHOP", "a", Utc::now(), WINDOW)
            .await
            .unwrap(),
    );
    let live = get(&a, &key).await;
    let ahead = b.claim(&key, "SHOP", "b", Utc::now() + skew(), WINDOW);
    assert_eq!(busy(ahead.await.unwrap()), live, "a clock ahead took over");

    let key = new_key();
    let behind = b.claim(&key, "SHOP", "b", Utc::now() - skew(), WINDOW);
    claimed_previous(behind.await.unwrap());
    let live = get(&b, &key).await;
    let correct = a.claim(&key, "SHOP", "a", Utc::now(), WINDOW);
    assert_eq!(
        busy(correct.await.unwrap()),
        live,
        "a claim dated behind went stale"
    );

    a.close().await;
    b.close().await;
    fixture.finish().await;
}

/// The other half of the PostgreSQL rule: a claim older than the window by the database's
/// clock is taken over, even by a replica whose own clock says it is minutes from stale.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_claim_stale_by_the_database_clock_is_taken_over() {
    use sqlx::{Connection, Executor};
    let Some(fixture) = PgFixture::new("postgres_claim_stale_by_the_database_clock_is_taken_over")
    else {
        return;
    };
    let (a, b) = (fixture.open().await.results, fixture.open().await.results);
    let key = new_key();
    claimed_previous(
        a.claim(&key, "SHOP", "dead", Utc::now(), WINDOW)
            .await
            .unwrap(),
    );
    // The owner died a minute ago, as the database's clock tells.
    let mut conn = sqlx::PgConnection::connect(&fixture.url).await.unwrap();
    let age = format!(
        "UPDATE {}.ledger_entries SET claimed_at = claimed_at - interval '1 minute'",
        fixture.schema
    );
    conn.execute(age.as_str()).await.unwrap();
    conn.close().await.unwrap();
    let dead = get(&a, &key).await;

    let behind = b.claim(&key, "SHOP", "b", Utc::now() - skew(), WINDOW);
    assert_eq!(claimed_previous(behind.await.unwrap()), Some(dead.clone()));
    let taken = get(&b, &key).await;
    assert_eq!((taken.owner.as_str(), taken.attempts), ("b", 2));
    assert!(taken.claimed_at > dead.claimed_at, "dated by the database");

    a.close().await;
    b.close().await;
    fixture.finish().await;
}

/// SQLite is one process's store, so the clock its caller passes is authoritative by
/// design: a claim dated past the window takes over.
#[tokio::test]
async fn sqlite_the_callers_clock_decides_claims() {
    let fixture = SqliteFixture::new("sqlite_the_callers_clock_decides_claims").unwrap();
    let ledger = fixture.open().await.results;
    let key = new_key();
    let now = Utc::now();
    claimed_previous(ledger.claim(&key, "SHOP", "a", now, WINDOW).await.unwrap());
    let first = get(&ledger, &key).await;
    let later = ledger.claim(&key, "SHOP", "b", now + skew(), WINDOW);
    assert_eq!(claimed_previous(later.await.unwrap()), Some(first));
    assert_eq!(
        get(&ledger, &key).await.claimed_at,
        to_stored_precision(now + skew())
    );
    ledger.close().await;
}

/// Two replicas' stores on one fresh PostgreSQL schema, for the clock cases.
pub(super) struct PgReplicas;

impl PgReplicas {
    /// The fixture of `test` and two stores opened on it; `None` without `DATABASE_URL`.
    pub(super) async fn open(test: &str) -> Option<(PgFixture, Stores, Stores)> {
        let fixture = PgFixture::new(test)?;
        let (a, b) = (fixture.open().await, fixture.open().await);
        Some((fixture, a, b))
    }

    /// Closes both stores, then drops the schema.
    pub(super) async fn close(fixture: PgFixture, a: Stores, b: Stores) {
        a.results.close().await;
        b.results.close().await;
        fixture.finish().await;
    }
}

/// Ages every lease of `table` in the fixture's schema by a minute, as if its holder died
/// then, by the database's clock (queue times are integer milliseconds on both stores).
pub(super) async fn age_leases(fixture: &PgFixture, table: &str) {
    use sqlx::{Connection, Executor};
    let mut conn = sqlx::PgConnection::connect(&fixture.url).await.unwrap();
    let age = format!(
        "UPDATE {}.{table} SET claimed_at = claimed_at - 60000 WHERE claimed_at IS NOT NULL",
        fixture.schema
    );
    conn.execute(age.as_str()).await.unwrap();
    conn.close().await.unwrap();
}

/// On PostgreSQL the evidence queue's leases are taken, renewed and judged stale by the
/// database's clock: a worker whose clock runs minutes ahead never takes over a live lease,
/// and a holder whose clock runs behind does not renew its lease into looking stale.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_skewed_worker_never_takes_over_a_live_evidence_lease() {
    let Some((fixture, sa, sb)) =
        PgReplicas::open("postgres_skewed_worker_never_takes_over_a_live_evidence_lease").await
    else {
        return;
    };
    let (a, b) = (sa.evidence.clone(), sb.evidence.clone());
    let items = [evidence("SHOP-9", EvidenceKind::Attachment, "a1")];
    a.enqueue(&items, Utc::now()).await.unwrap();
    let live = a.claim("a", Utc::now(), WINDOW).await.unwrap().unwrap();

    let ahead = b.claim("b", Utc::now() + skew(), WINDOW).await.unwrap();
    assert_eq!(ahead, None, "a clock ahead took over");

    a.renew(&live.id, "a", Utc::now() - skew()).await.unwrap();
    let correct = b.claim("b", Utc::now(), WINDOW).await.unwrap();
    assert_eq!(correct, None, "a lease renewed behind went stale");
    a.settle(&live.id, "a", EvidenceState::Done, None, None)
        .await
        .unwrap();

    PgReplicas::close(fixture, sa, sb).await;
}

/// The other half: an evidence lease older than the window by the database's clock is taken
/// over, even by a worker whose own clock says it is minutes from stale.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_evidence_lease_stale_by_the_database_clock_is_taken_over() {
    let Some((fixture, sa, sb)) =
        PgReplicas::open("postgres_evidence_lease_stale_by_the_database_clock_is_taken_over").await
    else {
        return;
    };
    let (a, b) = (sa.evidence.clone(), sb.evidence.clone());
    let items = [evidence("SHOP-9", EvidenceKind::Attachment, "a1")];
    a.enqueue(&items, Utc::now()).await.unwrap();
    let dead = a.claim("dead", Utc::now(), WINDOW).await.unwrap().unwrap();
    age_leases(&fixture, "evidence_items").await;

    let behind = b.claim("b", Utc::now() - skew(), WINDOW).await.unwrap();
    let taken = behind.expect("a lease stale by the database's clock is taken over");
    assert_eq!(
        (taken.id.as_str(), taken.owner.as_deref(), taken.takeovers),
        (dead.id.as_str(), Some("b"), 1)
    );
    claim_lost(a.renew(&dead.id, "dead", Utc::now()).await);

    PgReplicas::close(fixture, sa, sb).await;
}
