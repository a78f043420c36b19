//! A connection served until it ends, and told to finish gracefully once the server
//! stops: what hyper-util's graceful watcher does, without polling the stop signal at
//! every wake-up of the connection (once per event on a streaming connection). The signal
//! is polled with a [`Watched`] waker, only when it fired.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::stream::watch::Watched;

/// `conn` until it completes; once `stopping` is cancelled, `graceful(conn)` is called
/// once (hyper's `graceful_shutdown`: finish the response in flight, then close).
pub(crate) fn until_stopped<C, F>(
    conn: C,
    stopping: CancellationToken,
    graceful: F,
) -> UntilStopped<C, F>
where
    C: Future + Unpin,
    F: FnOnce(Pin<&mut C>) + Unpin,
{
    UntilStopped {
        conn,
        stop: Some(Stop {
            signal: Box::pin(stopping.cancelled_owned()),
            watched: Watched::new(),
            polled: false,
            graceful,
        }),
    }
}

/// The future of [`until_stopped`].
pub(crate) struct UntilStopped<C, F> {
    conn: C,
    /// `None` once the connection was told to stop.
    stop: Option<Stop<F>>,
}

struct Stop<F> {
    signal: Pin<Box<WaitForCancellationFutureOwned>>,
    watched: Watched,
    /// The signal was polled at least once (its waker is registered).
    polled: bool,
    graceful: F,
}

impl<C, F> Future for UntilStopped<C, F>
where
    C: Future + Unpin,
    F: FnOnce(Pin<&mut C>) + Unpin,
{
    type Output = C::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<C::Output> {
        let this = self.get_mut();
        if let Some(stop) = this.stop.as_mut() {
            let changed = stop.watched.register(cx);
            if changed | stop.watched.take_fired() | !stop.polled {
                stop.polled = true;
                let mut signal_cx = Context::from_waker(stop.watched.waker());
                if stop.signal.as_mut().poll(&mut signal_cx).is_ready() {
                    if let Some(stop) = this.stop.take() {
                        (stop.graceful)(Pin::new(&mut this.conn));
                    }
                }
            }
        }
        Pin::new(&mut this.conn).poll(cx)
    }
}
