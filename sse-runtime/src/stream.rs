//! The streaming engine under [`Sse`](crate::Sse) and [`JsonLines`](crate::JsonLines):
//! pulls items from the handler's stream, encodes them into one reused buffer, coalesces
//! the items that are ready at the same time into one frame, writes keep-alive comments
//! only between events, and ends the stream (dropping the handler's stream, so its
//! cleanup runs) on failure, on server shutdown or when the client goes away.

use std::any::Any;
use std::fmt::Display;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use futures_core::Stream;
use http::StatusCode;
use http_body::Frame;
use tokio::time::{Instant, Sleep};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::error::{panic_message, BoxError};
use crate::http_error::HttpError;

/// Stop pulling ready items into one frame once it holds this many bytes.
const COALESCE_LIMIT: usize = 32 * 1024;

/// Keep-alive comments for an idle stream.
///
/// The default is FastAPI's: the comment `: ping` after 15 seconds without any event, the
/// timer restarting after every event. Some clients (e.g. OpenAI-style SDKs) choke on
/// anything but data: [`KeepAlive::disabled`] turns it off.
///
/// ```
/// use std::time::Duration;
/// use sse_runtime::KeepAlive;
///
/// let every_5s = KeepAlive::new().interval(Duration::from_secs(5)).text("keep-alive");
/// assert_eq!(every_5s.interval_value(), Some(Duration::from_secs(5)));
/// assert_eq!(KeepAlive::disabled().interval_value(), None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeepAlive {
    interval: Option<Duration>,
    comment: Bytes,
}

impl KeepAlive {
    /// `: ping` every 15 seconds of silence.
    pub fn new() -> Self {
        Self {
            interval: Some(Duration::from_secs(15)),
            comment: Bytes::from_static(crate::encode::KEEP_ALIVE_COMMENT),
        }
    }

    /// No keep-alive comments at all.
    pub fn disabled() -> Self {
        Self {
            interval: None,
            ..Self::new()
        }
    }

    /// Sends the comment after `interval` without any event.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = Some(interval.max(Duration::from_millis(1)));
        self
    }

    /// The comment text (default `ping`); line breaks split it over several comment lines.
    pub fn text(mut self, text: &str) -> Self {
        let mut buf = BytesMut::new();
        crate::encode::write_comment(text, &mut buf);
        self.comment = buf.freeze();
        self
    }

    /// The interval, or `None` when disabled.
    pub fn interval_value(&self) -> Option<Duration> {
        self.interval
    }
}

impl Default for KeepAlive {
    fn default() -> Self {
        Self::new()
    }
}

/// Why a stream stopped early: an `Err` item, or an item that could not be encoded.
#[derive(Clone, Debug)]
pub(crate) struct StreamFailure {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl StreamFailure {
    /// From an `Err` item: an [`HttpError`] keeps its status, anything else is a 500.
    pub(crate) fn from_error<E: Display + 'static>(err: E) -> Self {
        let status = (&err as &dyn Any)
            .downcast_ref::<HttpError>()
            .map_or(StatusCode::INTERNAL_SERVER_ERROR, HttpError::status);
        Self {
            status,
            message: err.to_string(),
        }
    }

    pub(crate) fn internal(message: String) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message,
        }
    }
}

/// The wire format a stream writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// `text/event-stream`.
    EventStream,
    /// `application/x-ndjson`.
    JsonLines,
}

impl Format {
    fn write_failure(self, failure: &StreamFailure, buf: &mut BytesMut) {
        let detail = serde_json::json!({
            "status": failure.status.as_u16(),
            "detail": failure.message,
        });
        match self {
            Format::EventStream => {
                let event = crate::ServerSentEvent::new().event("error").data(detail);
                let _ = crate::encode::write_event(&event, buf);
            }
            Format::JsonLines => {
                let line = serde_json::json!({ "error": detail });
                let _ = serde_json::to_writer(buf.writer(), &line);
                buf.put_u8(b'\n');
            }
        }
    }
}

/// A handler's stream with its item encoder, type-erased for the body.
pub(crate) trait ItemSource: Send {
    /// Polls for the next item and appends its encoding to `buf`.
    fn poll_item(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<Option<Result<(), StreamFailure>>>;
}

/// An [`ItemSource`] from a stream and a function that encodes one item.
pub(crate) struct Source<S, F> {
    stream: Pin<Box<S>>,
    encode: F,
}

impl<S, F> Source<S, F> {
    pub(crate) fn new(stream: S, encode: F) -> Self {
        Self {
            stream: Box::pin(stream),
            encode,
        }
    }
}

impl<S, F> ItemSource for Source<S, F>
where
    S: Stream + Send,
    F: FnMut(S::Item, &mut BytesMut) -> Result<(), StreamFailure> + Send + Unpin,
{
    fn poll_item(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<Option<Result<(), StreamFailure>>> {
        let this = self.get_mut();
        match this.stream.as_mut().poll_next(cx) {
            Poll::Ready(Some(item)) => Poll::Ready(Some((this.encode)(item, buf))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// App-wide settings a streaming body picks up when the server hands it out.
#[derive(Clone, Debug)]
pub(crate) struct StreamContext {
    pub(crate) keep_alive: KeepAlive,
    pub(crate) shutdown: CancellationToken,
    pub(crate) farewell: Option<Bytes>,
    /// `METHOD /path` of the request, for logs.
    pub(crate) route: Arc<str>,
}

/// The body of a streaming response.
pub(crate) struct StreamBody {
    format: Format,
    source: Option<Pin<Box<dyn ItemSource>>>,
    buf: BytesMut,
    /// `None` until bound: the app default applies.
    keep_alive: Option<KeepAlive>,
    timer: Option<Pin<Box<Sleep>>>,
    last_write: Instant,
    shutdown: Option<Pin<Box<WaitForCancellationFutureOwned>>>,
    farewell: Option<Bytes>,
    /// `METHOD /path` of the request, for logs.
    route: Arc<str>,
    done: bool,
}

impl StreamBody {
    pub(crate) fn new(
        format: Format,
        source: impl ItemSource + 'static,
        keep_alive: Option<KeepAlive>,
    ) -> Self {
        Self {
            format,
            source: Some(Box::pin(source)),
            buf: BytesMut::with_capacity(512),
            keep_alive,
            timer: None,
            last_write: Instant::now(),
            shutdown: None,
            farewell: None,
            route: Arc::from(""),
            done: false,
        }
    }

    pub(crate) fn set_keep_alive(&mut self, keep_alive: KeepAlive) {
        self.keep_alive = Some(keep_alive);
    }

    /// Puts a `retry:` line before anything else in the stream.
    pub(crate) fn set_retry(&mut self, millis: u64) {
        let mut first = BytesMut::new();
        crate::encode::write_retry(millis, &mut first);
        first.extend_from_slice(&self.buf);
        self.buf = first;
    }

    /// Applies the app's defaults where the response did not choose.
    pub(crate) fn bind(&mut self, ctx: &StreamContext) {
        if self.keep_alive.is_none() && self.format == Format::EventStream {
            self.keep_alive = Some(ctx.keep_alive.clone());
        }
        self.shutdown = Some(Box::pin(ctx.shutdown.clone().cancelled_owned()));
        if self.format == Format::EventStream {
            self.farewell.clone_from(&ctx.farewell);
        }
        self.route = Arc::clone(&ctx.route);
    }

    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// Waits up to `window` for the first item. A failure before anything was produced
    /// is returned so the caller can answer with an HTTP error instead of a stream.
    pub(crate) async fn prime(&mut self, window: Duration) -> Result<(), StreamFailure> {
        let Some(source) = self.source.as_mut() else {
            return Ok(());
        };
        let buf = &mut self.buf;
        let first = std::future::poll_fn(|cx| source.as_mut().poll_item(cx, buf));
        match tokio::time::timeout(window, first).await {
            Ok(Some(Err(failure))) => {
                self.source = None;
                self.done = true;
                Err(failure)
            }
            Ok(None) => {
                self.source = None;
                Ok(())
            }
            Ok(Some(Ok(()))) | Err(_) => Ok(()),
        }
    }

    fn end_source(&mut self) {
        // Dropping the handler's stream runs its `Drop` guards and `finally`-style cleanup.
        self.source = None;
    }

    fn take_frame(&mut self) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self
            .keep_alive
            .as_ref()
            .is_some_and(|k| k.interval.is_some())
        {
            self.last_write = Instant::now();
        }
        Poll::Ready(Some(Ok(Frame::data(self.buf.split().freeze()))))
    }

    pub(crate) fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.done {
            return if this.buf.is_empty() {
                Poll::Ready(None)
            } else {
                this.take_frame()
            };
        }

        if let Some(shutdown) = this.shutdown.as_mut() {
            if shutdown.as_mut().poll(cx).is_ready() {
                this.end_source();
                this.done = true;
                if let Some(farewell) = this.farewell.take() {
                    this.buf.extend_from_slice(&farewell);
                }
                return if this.buf.is_empty() {
                    Poll::Ready(None)
                } else {
                    this.take_frame()
                };
            }
        }

        let mut ended = this.source.is_none();
        if let Some(source) = this.source.as_mut() {
            while this.buf.len() < COALESCE_LIMIT {
                let buf = &mut this.buf;
                let polled = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    source.as_mut().poll_item(cx, buf)
                }));
                let polled = polled.unwrap_or_else(|panic| {
                    tracing::error!(
                        route = %this.route,
                        panic = panic_message(&*panic),
                        "stream panicked; ending it"
                    );
                    Poll::Ready(Some(Err(StreamFailure::internal(
                        "Internal Server Error".to_owned(),
                    ))))
                });
                match polled {
                    Poll::Ready(Some(Ok(()))) => {}
                    Poll::Ready(Some(Err(failure))) => {
                        tracing::error!(
                            route = %this.route,
                            status = failure.status.as_u16(),
                            error = %failure.message,
                            "stream ended by an error item"
                        );
                        this.format.write_failure(&failure, &mut this.buf);
                        ended = true;
                        break;
                    }
                    Poll::Ready(None) => {
                        ended = true;
                        break;
                    }
                    Poll::Pending => break,
                }
            }
        }
        if ended {
            this.end_source();
            this.done = true;
        }
        if !this.buf.is_empty() {
            return this.take_frame();
        }
        if this.done {
            return Poll::Ready(None);
        }

        // Idle: the only place a keep-alive comment can go, so never inside an event.
        let Some(interval) = this.keep_alive.as_ref().and_then(|k| k.interval) else {
            return Poll::Pending;
        };
        // The timer is only touched when it fires: while events flow it costs nothing, and
        // a wake-up that comes early (events were sent meanwhile) just moves it on.
        let last_write = this.last_write;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(last_write + interval)));
        loop {
            if timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let due = this.last_write + interval;
            if Instant::now() >= due {
                break;
            }
            timer.as_mut().reset(due);
        }
        if let Some(keep_alive) = &this.keep_alive {
            this.buf.extend_from_slice(&keep_alive.comment);
        }
        let frame = this.take_frame();
        if let Some(timer) = this.timer.as_mut() {
            timer.as_mut().reset(this.last_write + interval);
        }
        frame
    }
}
