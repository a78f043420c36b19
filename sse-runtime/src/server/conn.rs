//! One accepted connection: socket options, and the send timeout that drops a client
//! which stopped reading.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use crate::app::limits::Limits;
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
/// receive window full) for longer than the timeout, or once the time its writes spent
/// blocked reached the timeout while fewer than `min_send_rate` bytes a second of that
/// time went out (a client that reads a byte now and then, each of which lets a write
/// through). hyper then closes the connection and drops the response body, so the
/// handler's stream is dropped and its cleanup runs.
///
/// Only time spent blocked counts towards the rate: a connection that has nothing to send,
/// or whose writes go through at once, is never measured.
pub(crate) struct SendTimeout<IO> {
    io: IO,
    timeout: Option<Duration>,
    /// Bytes a second that a backlogged connection must drain (`None`: no rate rule).
    min_send_rate: Option<u64>,
    /// Bytes written in the current measuring window.
    window_sent: u64,
    /// The rest of the bookkeeping, from the first write that blocks on (most connections'
    /// writes never do, and an idle stream's connection keeps its task small).
    stall: Option<Box<Stall>>,
    timed_out: SendTimedOut,
}

/// What [`SendTimeout`] keeps once a write blocked.
#[derive(Default)]
struct Stall {
    /// When the current blocked period started (a write returned `Pending`).
    stalled_since: Option<Instant>,
    /// The part of the current blocked period not yet added to `window_blocked`.
    counted_since: Option<Instant>,
    /// Time spent blocked in the current measuring window (earlier blocked periods).
    window_blocked: Duration,
    timer: Option<Pin<Box<Sleep>>>,
}

impl<IO> SendTimeout<IO> {
    pub(crate) fn new(io: IO, timeout: Option<Duration>, min_send_rate: Option<u64>) -> Self {
        Self {
            io,
            timeout,
            min_send_rate,
            window_sent: 0,
            stall: None,
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

    /// Maps an operation's result: progress (`written` bytes) ends the blocked period and
    /// counts towards the window; a block starts or checks the timers.
    fn check<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<T>>,
        written: impl FnOnce(&T) -> usize,
    ) -> Poll<io::Result<T>> {
        match poll {
            Poll::Ready(result) => {
                if let Some(stall) = self.stall.as_mut() {
                    if let Some(since) = stall.counted_since.take() {
                        stall.window_blocked += since.elapsed();
                    }
                    stall.stalled_since = None;
                    stall.timer = None;
                }
                if let Ok(value) = &result {
                    let n = u64::try_from(written(value)).unwrap_or(u64::MAX);
                    self.window_sent = self.window_sent.saturating_add(n);
                }
                Poll::Ready(result)
            }
            Poll::Pending => {
                let Some(timeout) = self.timeout else {
                    return Poll::Pending;
                };
                let now = Instant::now();
                let stall = self.stall.get_or_insert_with(Box::default);
                let stalled_since = *stall.stalled_since.get_or_insert(now);
                stall.counted_since.get_or_insert(now);
                loop {
                    let stall = self.stall.get_or_insert_with(Box::default);
                    let counted_since = stall.counted_since.unwrap_or(now);
                    let stall_deadline = stalled_since + timeout;
                    let deadline = match self.min_send_rate {
                        Some(_) => stall_deadline
                            .min(counted_since + timeout.saturating_sub(stall.window_blocked)),
                        None => stall_deadline,
                    };
                    let timer = stall
                        .timer
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                    if timer.deadline() != deadline {
                        timer.as_mut().reset(deadline);
                    }
                    if timer.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    let now = Instant::now();
                    if now >= stall_deadline {
                        tracing::info!(?timeout, "client stopped reading: send timeout");
                        return self.cut("send timeout: the client stopped reading");
                    }
                    // The window is over: enough time blocked to judge the rate.
                    let blocked =
                        stall.window_blocked + now.saturating_duration_since(counted_since);
                    let rate = self.min_send_rate.unwrap_or(0);
                    let needed = u128::from(rate) * blocked.as_millis() / 1000;
                    tracing::debug!(
                        ?blocked,
                        sent = self.window_sent,
                        needed,
                        "send rate window"
                    );
                    if u128::from(self.window_sent) < needed {
                        tracing::info!(
                            ?timeout,
                            sent = self.window_sent,
                            ?blocked,
                            min_send_rate = rate,
                            "client reads too slowly: send timeout"
                        );
                        return self.cut("send timeout: the client reads too slowly");
                    }
                    stall.window_blocked = Duration::ZERO;
                    stall.counted_since = Some(now);
                    self.window_sent = 0;
                }
            }
        }
    }

    /// Marks the connection as timed out and fails the write.
    fn cut<T>(&mut self, why: &'static str) -> Poll<io::Result<T>> {
        self.timed_out.set();
        Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, why)))
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
        this.check(cx, poll, |&n| n)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.check(cx, poll, |&n| n)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_flush(cx);
        this.check(cx, poll, |()| 0)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_shutdown(cx);
        this.check(cx, poll, |()| 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// A socket whose writes are blocked except once every `every`, when it takes
    /// `chunk` bytes: a client that reads a little now and then.
    struct Trickle {
        every: Duration,
        chunk: usize,
        next: Pin<Box<Sleep>>,
    }

    impl Trickle {
        fn new(every: Duration, chunk: usize) -> Self {
            Self {
                every,
                chunk,
                next: Box::pin(tokio::time::sleep(every)),
            }
        }
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            if self.next.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let next = Instant::now() + self.every;
            self.next.as_mut().reset(next);
            Poll::Ready(Ok(self.chunk.min(buf.len())))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// Writes 16 KiB events for `within`; returns how long until a write failed, if one did.
    async fn write_for(
        io: &mut SendTimeout<Trickle>,
        within: Duration,
    ) -> Option<(Duration, io::Error)> {
        let start = Instant::now();
        let event = vec![b'x'; 16 * 1024];
        tokio::time::timeout(within, async {
            loop {
                if let Err(err) = io.write_all(&event).await {
                    return (start.elapsed(), err);
                }
            }
        })
        .await
        .ok()
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_reads_below_the_min_send_rate_is_cut() {
        // 100 bytes every 500 ms: each write goes through well within the send timeout,
        // at 200 bytes a second.
        let mut io = SendTimeout::new(
            Trickle::new(Duration::from_millis(500), 100),
            Some(Duration::from_secs(1)),
            Some(1024),
        );
        let (after, err) = write_for(&mut io, Duration::from_secs(60))
            .await
            .expect("cut");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(after <= Duration::from_secs(2), "cut after {after:?}");
        assert!(io.timed_out().get());
    }

    #[tokio::test(start_paused = true)]
    async fn without_the_rule_a_trickle_is_never_cut() {
        let mut io = SendTimeout::new(
            Trickle::new(Duration::from_millis(500), 100),
            Some(Duration::from_secs(1)),
            None,
        );
        assert!(write_for(&mut io, Duration::from_secs(60)).await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_reads_above_the_min_send_rate_is_not_cut() {
        // 2 KiB every 500 ms: 4 KiB a second while blocked, above 1 KiB a second.
        let mut io = SendTimeout::new(
            Trickle::new(Duration::from_millis(500), 2048),
            Some(Duration::from_secs(1)),
            Some(1024),
        );
        assert!(write_for(&mut io, Duration::from_secs(60)).await.is_none());
        assert!(!io.timed_out().get());
    }

    #[tokio::test(start_paused = true)]
    async fn time_without_blocked_writes_does_not_count() {
        // A stream that sends a small event now and then, after long idle gaps: its writes
        // block briefly (200 ms until the next 100 bytes go through) but never add up to a
        // window below the rate, however long the idle time between them.
        let mut io = SendTimeout::new(
            Trickle::new(Duration::from_millis(200), 100),
            Some(Duration::from_secs(1)),
            Some(1024),
        );
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_secs(60)).await;
            // The socket has been writable for a minute: the write goes through at once.
            io.write_all(&[b'x'; 100]).await.unwrap();
        }
        assert!(!io.timed_out().get());
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_blocked_for_the_send_timeout_is_cut_whatever_the_rate() {
        let mut io = SendTimeout::new(
            Trickle::new(Duration::from_secs(3600), 1 << 20),
            Some(Duration::from_secs(1)),
            None,
        );
        let (after, _) = write_for(&mut io, Duration::from_secs(60))
            .await
            .expect("cut");
        assert_eq!(after, Duration::from_secs(1));
    }
}
