//! Connection activity: how many requests an HTTP/2 connection has open, so that a
//! connection with none for [`Limits::idle_timeout`](crate::Limits::idle_timeout) can be
//! closed. (hyper closes an idle HTTP/1.1 keep-alive connection after its header read
//! timeout, but keeps an idle HTTP/2 connection open forever.)
//!
//! A request counts as open from the moment hyper hands it to the service until its
//! response body is dropped — for an event stream, until the stream ends.
//!
//! It also tells when a response body has waited too long for hyper to poll it again:
//! hyper polls an HTTP/2 body only while its stream has send capacity, so a client that
//! never opens its flow-control window (`SETTINGS_INITIAL_WINDOW_SIZE` = 0, or no
//! `WINDOW_UPDATE` ever) stalls its streams without ever blocking a socket write, which
//! the send timeout would notice. [`Activity::stalled_for`] notices instead.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::error::BoxError;
use crate::stream::body::Body;

/// The open requests of one connection.
#[derive(Debug)]
pub(crate) struct Activity {
    open: AtomicUsize,
    changed: Notify,
    /// What the waiting times of `bodies` count from.
    epoch: Instant,
    /// The open response bodies: for each, since when (milliseconds after `epoch`, plus
    /// one) it has waited for hyper to poll it again; 0 while it is not waiting.
    bodies: Mutex<Vec<Weak<AtomicU64>>>,
}

impl Default for Activity {
    fn default() -> Self {
        Self {
            open: AtomicUsize::new(0),
            changed: Notify::new(),
            epoch: Instant::now(),
            bodies: Mutex::new(Vec::new()),
        }
    }
}

impl Activity {
    /// Now, as stored in a body's waiting time (never 0).
    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis())
            .unwrap_or(u64::MAX - 1)
            .saturating_add(1)
    }

    /// Completes once a response body has waited `timeout` for hyper to poll it again:
    /// it handed over a frame (or its response head went out) and its stream has had no
    /// send capacity since. Checked every half `timeout`, only while bodies are open;
    /// `None` never completes.
    pub(crate) async fn stalled_for(&self, timeout: Option<Duration>) {
        let Some(timeout) = timeout else {
            return std::future::pending().await;
        };
        let limit = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let any_open = {
                let Ok(mut bodies) = self.bodies.lock() else {
                    return std::future::pending().await;
                };
                bodies.retain(|body| body.strong_count() > 0);
                !bodies.is_empty()
            };
            if !any_open {
                changed.await;
                continue;
            }
            tokio::time::sleep((timeout / 2).max(Duration::from_millis(10))).await;
            let now = self.now();
            let stalled = self.bodies.lock().is_ok_and(|bodies| {
                bodies.iter().filter_map(Weak::upgrade).any(|since| {
                    let since = since.load(Ordering::Relaxed);
                    since != 0 && now.saturating_sub(since) >= limit
                })
            });
            if stalled {
                return;
            }
        }
    }

    /// Watches a new response body, waiting for its first poll from now.
    fn watch(&self) -> Arc<AtomicU64> {
        let since = Arc::new(AtomicU64::new(self.now()));
        if let Ok(mut bodies) = self.bodies.lock() {
            bodies.push(Arc::downgrade(&since));
        }
        self.changed.notify_waiters();
        since
    }

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

/// A response body that keeps its request counted as open while it lives, and records
/// when it waits for hyper to poll it again ([`Activity::stalled_for`]).
#[derive(Debug)]
pub(crate) struct TrackedBody {
    inner: Body,
    waiting_since: Arc<AtomicU64>,
    active: Active,
}

impl TrackedBody {
    pub(crate) fn new(inner: Body, active: Active) -> Self {
        Self {
            inner,
            waiting_since: active.0.watch(),
            active,
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
        let poll = Pin::new(&mut self.inner).poll_frame(cx);
        // A frame handed over: hyper polls again at once unless the stream has no send
        // capacity. Anything else: the body itself is waiting, or done.
        let since = match &poll {
            Poll::Ready(Some(Ok(_))) => self.active.0.now(),
            _ => 0,
        };
        self.waiting_since.store(since, Ordering::Relaxed);
        poll
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

    #[tokio::test(start_paused = true)]
    async fn stalled_only_once_a_body_waits_for_its_next_poll_for_the_timeout() {
        use http_body::Body as _;

        let activity = Arc::new(Activity::default());
        let timeout = Some(Duration::from_secs(4));
        // No body: never stalled.
        let none = tokio::time::timeout(Duration::from_secs(60), activity.stalled_for(timeout));
        assert!(none.await.is_err());
        // A body polled to its end (hyper polls it at once) is not waiting.
        let mut done = std::pin::pin!(TrackedBody::new(Body::from("ok"), activity.start()));
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(matches!(
            done.as_mut().poll_frame(&mut cx),
            Poll::Ready(Some(Ok(_)))
        ));
        assert!(matches!(
            done.as_mut().poll_frame(&mut cx),
            Poll::Ready(None)
        ));
        let polled = tokio::time::timeout(Duration::from_secs(60), activity.stalled_for(timeout));
        assert!(polled.await.is_err());
        // A body never polled after its head went out (a closed window) is stalled.
        let _waiting = TrackedBody::new(Body::from("never sent"), activity.start());
        let started = tokio::time::Instant::now();
        activity.stalled_for(timeout).await;
        let after = started.elapsed();
        assert!(
            after >= Duration::from_secs(4) && after <= Duration::from_secs(6),
            "{after:?}"
        );
        // `None` turns the watch off.
        let off = tokio::time::timeout(Duration::from_secs(60), activity.stalled_for(None));
        assert!(off.await.is_err());
    }
}
