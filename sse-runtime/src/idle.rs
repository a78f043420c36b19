//! Connection activity: how many requests an HTTP/2 connection has open, so that a
//! connection with none for [`Limits::idle_timeout`](crate::Limits::idle_timeout) can be
//! closed. (hyper closes an idle HTTP/1.1 keep-alive connection after its header read
//! timeout, but keeps an idle HTTP/2 connection open forever.)
//!
//! A request counts as open from the moment hyper hands it to the service until its
//! response body is dropped — for an event stream, until the stream ends.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::sync::Notify;

use crate::body::Body;
use crate::error::BoxError;

/// The open requests of one connection.
#[derive(Debug, Default)]
pub(crate) struct Activity {
    open: AtomicUsize,
    changed: Notify,
}

impl Activity {
    /// Counts one request as open until the returned guard is dropped.
    pub(crate) fn start(self: &Arc<Self>) -> Active {
        self.open.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_waiters();
        Active(Arc::clone(self))
    }

    /// Completes once no request has been open for `timeout` in a row.
    pub(crate) async fn idle_for(&self, timeout: Duration) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            // Registered before the count is read: no change between the two is missed.
            changed.as_mut().enable();
            if self.open.load(Ordering::SeqCst) == 0 {
                if tokio::time::timeout(timeout, changed).await.is_err() {
                    return;
                }
            } else {
                changed.await;
            }
        }
    }
}

/// One open request; dropping it closes it.
#[derive(Debug)]
pub(crate) struct Active(Arc<Activity>);

impl Drop for Active {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
        self.0.changed.notify_waiters();
    }
}

/// A response body that keeps its request counted as open while it lives.
#[derive(Debug)]
pub(crate) struct TrackedBody {
    inner: Body,
    _active: Active,
}

impl TrackedBody {
    pub(crate) fn new(inner: Body, active: Active) -> Self {
        Self {
            inner,
            _active: active,
        }
    }
}

impl http_body::Body for TrackedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn idle_only_after_the_last_request_ends_and_the_timeout_passes() {
        let activity = Arc::new(Activity::default());
        let request = activity.start();
        let idle = tokio::spawn({
            let activity = Arc::clone(&activity);
            async move {
                let started = tokio::time::Instant::now();
                activity.idle_for(Duration::from_secs(5)).await;
                started.elapsed()
            }
        });
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(!idle.is_finished(), "idle while a request is open");
        drop(request);
        // A request that comes and goes restarts the count.
        tokio::time::sleep(Duration::from_secs(3)).await;
        drop(activity.start());
        let elapsed = idle.await.expect("idle task");
        assert_eq!(elapsed, Duration::from_secs(38));
    }
}
