//! Counting stream cleanups: a route's stream holds a [`CleanupGuard`], and the tests
//! wait until the server has dropped as many streams as they expect.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How many times a handler's stream was dropped (its cleanup ran). Cheap to clone: the
/// clones share one count, so it can be app state.
#[derive(Clone, Debug, Default)]
pub struct Cleanups(Arc<AtomicUsize>);

/// Counts one cleanup when dropped.
#[derive(Debug)]
pub struct CleanupGuard(Cleanups);

impl Drop for CleanupGuard {
    fn drop(&mut self) {
        self.0 .0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Cleanups {
    /// A guard to hold in a stream.
    pub fn guard(&self) -> CleanupGuard {
        CleanupGuard(self.clone())
    }

    /// How many cleanups ran so far.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    /// How long it took until `n` cleanups had run, or `None` after `within`.
    pub async fn reached(&self, n: usize, within: Duration) -> Option<Duration> {
        let start = Instant::now();
        while self.count() < n {
            if start.elapsed() > within {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Some(start.elapsed())
    }

    /// Waits until `n` cleanups ran.
    ///
    /// # Panics
    /// When they did not within `within`.
    pub async fn wait_for(&self, n: usize, within: Duration) {
        if self.reached(n, within).await.is_none() {
            panic!(
                "cleanup ran {} times, expected {n} within {within:?}",
                self.count()
            );
        }
    }
}
