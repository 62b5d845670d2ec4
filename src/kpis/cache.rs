//! The KPI cache: fresh counts per project for a TTL, one load at a time per
//! project (single flight), the last good counts kept apart for when Jira
//! fails, and a bound on how long a caller waits.
//!
//! Loads run in their own task, so a caller that stops waiting (the bound) does
//! not cancel the load: it completes and fills the cache for the next caller.

use super::KpiSnapshot;
use crate::tracker::TrackerError;
use moka::future::Cache;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

/// Projects' fresh and last good counts.
pub struct KpiCache {
    fresh: Cache<Uuid, Arc<KpiSnapshot>>,
    // Not a moka cache: these must outlive any TTL, and there is at most one
    // entry per mapping file.
    last_good: Arc<Mutex<HashMap<Uuid, Arc<KpiSnapshot>>>>,
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
}

impl KpiCache {
    /// A cache keeping counts for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            fresh: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(ttl)
                .build(),
            last_good: Arc::default(),
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
        let fresh = self.fresh.clone();
        let last_good = self.last_good.clone();
        let task = tokio::spawn(async move {
            fresh
                .try_get_with(project, async move {
                    let snapshot = Arc::new(load.await?);
                    last_good
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(project, snapshot.clone());
                    Ok::<_, TrackerError>(snapshot)
                })
                .await
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

    fn last_good(&self, project: Uuid) -> Option<Arc<KpiSnapshot>> {
        self.last_good
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&project)
            .cloned()
    }
}
