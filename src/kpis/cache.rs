//! The KPI cache: fresh counts per project for a TTL, one load at a time per
//! project (single flight), the last good counts kept apart for when Jira
//! fails, and a bound on how long a caller waits.
//!
//! Loads run in their own task, so a caller that stops waiting (the bound) does
//! not cancel the load: it completes and fills the cache for the next caller.
//! After a failed load the project backs off: Jira is not asked again until
//! the backoff (or Jira's `Retry-After`) has passed, so a dashboard refreshed
//! by many people cannot turn one outage into a stream of calls.

use super::counts::KpiSnapshot;
use crate::tracker::TrackerError;
use moka::future::Cache;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use uuid::Uuid;

/// Each project's last good counts, with when they loaded.
type LastGood = HashMap<Uuid, (Arc<KpiSnapshot>, Instant)>;

/// Projects' fresh and last good counts.
pub struct KpiCache {
    fresh: Cache<Uuid, Arc<KpiSnapshot>>,
    // Not a moka cache: these must outlive any TTL, and there is at most one
    // entry per mapping file. Each is kept with when it loaded.
    last_good: Arc<Mutex<LastGood>>,
    /// When each project that failed may ask Jira again.
    retry_at: Arc<Mutex<HashMap<Uuid, Instant>>>,
    backoff: Duration,
}

/// What the cache holds for one project, as the operator's page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheState {
    /// How long ago the last good counts loaded (`None`: never since start-up).
    pub loaded_ago: Option<Duration>,
    /// Whether dashboard requests are answered from the cache without asking Jira.
    pub fresh: bool,
    /// Whether Jira is left alone for now after a failed count.
    pub backing_off: bool,
}

/// What a load gave a caller.
#[derive(Debug)]
pub enum Loaded {
    /// Counts that are current.
    Fresh(Arc<KpiSnapshot>),
    /// The load failed; the last good counts, if any.
    Failed {
        /// Why (shared by every caller of the same load).
        error: Arc<TrackerError>,
        /// The last counts that loaded.
        last_good: Option<Arc<KpiSnapshot>>,
    },
    /// The load took longer than the caller may wait; it goes on.
    Slow {
        /// The last counts that loaded.
        last_good: Option<Arc<KpiSnapshot>>,
    },
    /// A recent load failed and the backoff has not passed: Jira was not asked.
    BackingOff {
        /// The last counts that loaded.
        last_good: Option<Arc<KpiSnapshot>>,
    },
}

impl KpiCache {
    /// A cache keeping counts for `ttl`, leaving Jira alone for `backoff` after a failure.
    pub fn new(ttl: Duration, backoff: Duration) -> Self {
        Self {
            fresh: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(ttl)
                .build(),
            last_good: Arc::default(),
            retry_at: Arc::default(),
            backoff,
        }
    }

    /// The project's counts when they are fresh.
    pub async fn fresh(&self, project: Uuid) -> Option<Arc<KpiSnapshot>> {
        self.fresh.get(&project).await
    }

    /// The project's fresh counts, loading them with `load` if there are none.
    ///
    /// Concurrent callers for the same project share one load; the others'
    /// `load` futures are dropped unpolled. Waits at most `max_wait`.
    pub async fn get_or_load<F>(&self, project: Uuid, max_wait: Duration, load: F) -> Loaded
    where
        F: Future<Output = Result<KpiSnapshot, TrackerError>> + Send + 'static,
    {
        if self.backing_off(project) {
            return Loaded::BackingOff {
                last_good: self.last_good(project),
            };
        }
        let fresh = self.fresh.clone();
        let last_good = self.last_good.clone();
        let retry_at = self.retry_at.clone();
        let backoff = self.backoff;
        let task = tokio::spawn(async move {
            let loaded = fresh
                .try_get_with(project, async move {
                    let snapshot = Arc::new(load.await?);
                    lock(&last_good).insert(project, (snapshot.clone(), Instant::now()));
                    Ok::<_, TrackerError>(snapshot)
                })
                .await;
            match &loaded {
                Ok(_) => {
                    lock(&retry_at).remove(&project);
                }
                Err(error) => {
                    let asked = match **error {
                        TrackerError::RateLimited {
                            retry_after_secs: Some(secs),
                            ..
                        } => Duration::from_secs(secs),
                        _ => Duration::ZERO,
                    };
                    lock(&retry_at).insert(project, Instant::now() + backoff.max(asked));
                }
            }
            loaded
        });
        match tokio::time::timeout(max_wait, task).await {
            Ok(Ok(Ok(snapshot))) => Loaded::Fresh(snapshot),
            Ok(Ok(Err(error))) => Loaded::Failed {
                error,
                last_good: self.last_good(project),
            },
            Ok(Err(panicked)) => Loaded::Failed {
                error: Arc::new(TrackerError::Unavailable {
                    call: "count issues",
                    detail: format!("the load stopped: {panicked}"),
                }),
                last_good: self.last_good(project),
            },
            Err(_) => Loaded::Slow {
                last_good: self.last_good(project),
            },
        }
    }

    /// Drops the project's fresh counts, so the next request loads them again
    /// (the last good ones stay, for when that load fails).
    pub async fn invalidate(&self, project: Uuid) {
        self.fresh.invalidate(&project).await;
    }

    /// What the cache holds for `project` now.
    pub fn state(&self, project: Uuid) -> CacheState {
        CacheState {
            loaded_ago: lock(&self.last_good)
                .get(&project)
                .map(|(_, at)| at.elapsed()),
            fresh: self.fresh.contains_key(&project),
            backing_off: self.backing_off(project),
        }
    }

    fn backing_off(&self, project: Uuid) -> bool {
        lock(&self.retry_at)
            .get(&project)
            .is_some_and(|at| Instant::now() < *at)
    }

    fn last_good(&self, project: Uuid) -> Option<Arc<KpiSnapshot>> {
        lock(&self.last_good)
            .get(&project)
            .map(|(snapshot, _)| snapshot.clone())
    }
}

/// A poisoned lock only means another request panicked; the map is still sound.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kpis::KpiCounts;

    fn snapshot() -> KpiSnapshot {
        KpiSnapshot {
            counts: KpiCounts::default(),
            critical_link: "https://jira.example/issues/?jql=x".into(),
        }
    }

    #[tokio::test]
    async fn the_state_tells_the_age_freshness_and_backoff_of_a_project() {
        let cache = KpiCache::new(Duration::from_secs(60), Duration::from_secs(60));
        let project = Uuid::new_v4();
        let never = cache.state(project);
        assert_eq!(
            (never.loaded_ago, never.fresh, never.backing_off),
            (None, false, false)
        );

        let wait = Duration::from_secs(5);
        let loaded = cache
            .get_or_load(project, wait, async { Ok(snapshot()) })
            .await;
        assert!(matches!(loaded, Loaded::Fresh(_)));
        let state = cache.state(project);
        assert!(state.loaded_ago.is_some() && state.fresh && !state.backing_off);

        cache.invalidate(project).await;
        let failing = async {
            Err(TrackerError::Unavailable {
                call: "count issues",
                detail: "503".into(),
            })
        };
        let loaded = cache.get_or_load(project, wait, failing).await;
        assert!(matches!(loaded, Loaded::Failed { .. }));
        let state = cache.state(project);
        assert!(state.loaded_ago.is_some(), "the last good counts stay");
        assert!(!state.fresh && state.backing_off);
    }
}
