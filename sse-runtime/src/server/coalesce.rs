//! Write coalescing for HTTP/2 connections: one write for the frames of many streams.
//!
//! A broadcast wakes every subscriber's stream task; each hands its DATA frame to its
//! HTTP/2 connection, which wakes the connection's task. Tokio runs a task woken that
//! way next (its LIFO slot), so the connection wrote each stream's frame alone: one
//! `writev` per delivery, the largest cost of a fan-out over HTTP/2. [`Coalesce`] makes
//! the first write after a flush wait one turn of the scheduler: it answers `Pending`
//! and wakes its own task, which Tokio then queues behind the tasks already runnable
//! (the other subscribers' streams), so by the time the connection writes, their frames
//! are in its buffer too and go out together. It holds no bytes itself (h2 keeps them
//! in its own bounded buffer until the write goes through), so nothing waits longer
//! than that one turn, and back-pressure, timeouts and errors are the inner stream's.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// An I/O stream whose first write after each flush yields once to the scheduler (see
/// the module docs). Reads, and every later write until the next flush, go straight to
/// the inner stream.
pub(crate) struct Coalesce<IO> {
    inner: IO,
    /// The current burst of writes already waited its turn.
    waited: bool,
}

impl<IO> Coalesce<IO> {
    pub(crate) fn new(inner: IO) -> Self {
        Self {
            inner,
            waited: false,
        }
    }

    /// `Pending` (with this task woken, so it is polled again after the tasks already
    /// queued) the first time a burst of writes starts; `Ready` after that.
    fn wait_turn(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.waited {
            return Poll::Ready(());
        }
        self.waited = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Coalesce<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Coalesce<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        std::task::ready!(self.wait_turn(cx));
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        std::task::ready!(self.wait_turn(cx));
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let flushed = Pin::new(&mut self.inner).poll_flush(cx);
        if flushed.is_ready() {
            // The burst is written: the next write starts a new one.
            self.waited = false;
        }
        flushed
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use tokio::io::{AsyncWrite, AsyncWriteExt};

    use super::Coalesce;

    /// Counts the inner writes.
    struct Counting(Arc<AtomicUsize>, Vec<u8>);

    impl tokio::io::AsyncWrite for Counting {
        fn poll_write(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            self.1.extend_from_slice(buf);
            std::task::Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn poll_shutdown(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    /// The first write of each burst yields once, then every byte goes through.
    #[tokio::test]
    async fn the_first_write_of_a_burst_yields_once_and_nothing_is_lost() {
        let writes = Arc::new(AtomicUsize::new(0));
        let mut io = Coalesce::new(Counting(Arc::clone(&writes), Vec::new()));
        let waker = futures_util::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        let first = std::pin::Pin::new(&mut io).poll_write(&mut cx, b"a");
        assert!(first.is_pending(), "the burst's first write waits its turn");
        assert_eq!(writes.load(Ordering::SeqCst), 0);
        io.write_all(b"a").await.unwrap();
        io.write_all(b"b").await.unwrap();
        assert_eq!(
            writes.load(Ordering::SeqCst),
            2,
            "no second wait in a burst"
        );
        io.flush().await.unwrap();
        let next = std::pin::Pin::new(&mut io).poll_write(&mut cx, b"c");
        assert!(next.is_pending(), "after a flush, a new burst waits again");
        io.write_all(b"c").await.unwrap();
        io.flush().await.unwrap();
        assert_eq!(io.inner.1, b"abc");
    }
}
