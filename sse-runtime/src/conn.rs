//! One accepted connection: socket options, and the send timeout that drops a client
//! which stopped reading.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;

use crate::limits::Limits;
use crate::observability::SendTimedOut;

/// Applies the per-socket options of `limits`: no Nagle delay (events go out at once);
/// TCP keepalive probes, so a vanished peer is noticed while nothing is in flight; and,
/// on Linux, `TCP_USER_TIMEOUT` = the send timeout, so a peer that vanished while data
/// (an event or a keep-alive comment) is unacknowledged is dropped within that bound
/// instead of after the kernel's ~15 minutes of retransmissions.
pub(crate) fn configure(stream: &TcpStream, limits: &Limits) {
    let _ = stream.set_nodelay(true);
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Some(timeout) = limits.send_timeout {
        if let Err(err) = socket2::SockRef::from(stream).set_tcp_user_timeout(Some(timeout)) {
            tracing::debug!(error = %err, "cannot set TCP_USER_TIMEOUT");
        }
    }
    if let Some(idle) = limits.tcp_keepalive {
        let keepalive = socket2::TcpKeepalive::new()
            .with_time(idle)
            .with_interval((idle / 4).max(Duration::from_secs(1)));
        if let Err(err) = socket2::SockRef::from(stream).set_tcp_keepalive(&keepalive) {
            tracing::debug!(error = %err, "cannot enable TCP keepalive");
        }
    }
}

/// An I/O stream whose writes fail with `TimedOut` once one has been blocked (the peer's
/// receive window full) for longer than the timeout. hyper then closes the connection and
/// drops the response body, so the handler's stream is dropped and its cleanup runs.
pub(crate) struct SendTimeout<IO> {
    io: IO,
    timeout: Option<Duration>,
    stalled: Option<Pin<Box<Sleep>>>,
    timed_out: SendTimedOut,
}

impl<IO> SendTimeout<IO> {
    pub(crate) fn new(io: IO, timeout: Option<Duration>) -> Self {
        Self {
            io,
            timeout,
            stalled: None,
            timed_out: SendTimedOut::default(),
        }
    }

    /// Set once the timeout fired: the streams of this connection end as `send_timeout`.
    pub(crate) fn timed_out(&self) -> SendTimedOut {
        self.timed_out.clone()
    }

    /// The wrapped stream.
    pub(crate) fn get_ref(&self) -> &IO {
        &self.io
    }

    /// Maps a write's result: progress clears the stall timer, a block starts or checks it.
    fn check<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match poll {
            Poll::Ready(result) => {
                self.stalled = None;
                Poll::Ready(result)
            }
            Poll::Pending => {
                let Some(timeout) = self.timeout else {
                    return Poll::Pending;
                };
                let timer = self
                    .stalled
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        tracing::info!(?timeout, "client stopped reading: send timeout");
                        self.timed_out.set();
                        Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "send timeout: the client stopped reading",
                        )))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for SendTimeout<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for SendTimeout<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write(cx, buf);
        this.check(cx, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.check(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_flush(cx);
        this.check(cx, poll)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_shutdown(cx);
        this.check(cx, poll)
    }
}
