//! The signal a queue worker listens to: wake up (new work was queued) or
//! stop (shutdown). Shared by the evidence and write-back workers.

use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Notify;

/// Wakes a worker (new rows) and stops it (shutdown).
#[derive(Debug, Default)]
pub struct Signal {
    wake: Notify,
    stop: Notify,
    stopped: AtomicBool,
}

impl Signal {
    /// New rows are queued: look now rather than at the next poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Stop: work in progress is abandoned and its row put back in the queue.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.stop.notify_waiters();
        self.wake.notify_one();
    }

    /// Whether [`Self::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Completes at the next [`Self::wake`] (or [`Self::stop`]).
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    /// Completes at the next [`Self::stop`].
    pub async fn stopping(&self) {
        self.stop.notified().await;
    }
}
