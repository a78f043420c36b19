//! The streaming engine under [`Sse`](crate::Sse) and [`JsonLines`](crate::JsonLines):
//! pulls items from the handler's stream, encodes them into one reused buffer, coalesces
//! the items that are ready at the same time into one frame, writes keep-alive comments
//! only between events, and ends the stream (dropping the handler's stream, so its
//! cleanup runs) on failure, on server shutdown or when the client goes away.
//!
//! The engine knows no wire format: a [`Format`] says how an item, a failure and the
//! idle keep-alive are written, and [`Source`] calls it statically (one `dyn` call per
//! item, into the type-erased source, as before; none into the format).

use std::future::Future;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use http::StatusCode;
use http_body::Frame;
use tokio::time::{Instant, Sleep};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::error::{panic_message, BoxError};
use crate::observability::{SendTimedOut, StreamEnd, StreamStats};
use crate::stream::compress::{Compression, Encoder};
use crate::stream::keep_alive::KeepAlive;
use crate::stream::watch::Watch;

/// Stop pulling ready items into one frame once it holds this many bytes.
const COALESCE_LIMIT: usize = 32 * 1024;

/// Why a stream stopped early: an `Err` item, or an item that could not be encoded.
#[derive(Clone, Debug)]
pub(crate) struct StreamFailure {
    pub(crate) status: StatusCode,
    /// A message, or structured details (an `HttpError`'s detail, as it is).
    pub(crate) detail: Box<serde_json::Value>,
    /// The record the app's error shape makes of it (see [`FailureRecord`]); `None`: the
    /// format's own.
    pub(crate) record: Option<Box<serde_json::Value>>,
}

impl StreamFailure {
    pub(crate) fn new(status: StatusCode, detail: serde_json::Value) -> Self {
        Self {
            status,
            detail: Box::new(detail),
            record: None,
        }
    }

    pub(crate) fn internal(message: String) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            serde_json::Value::String(message),
        )
    }

    /// The detail as text, for logs: a string as it is, other JSON as JSON.
    pub(crate) fn message(&self) -> std::borrow::Cow<'_, str> {
        match &*self.detail {
            serde_json::Value::String(text) => text.into(),
            other => other.to_string().into(),
        }
    }
}

/// The app's error shape for a failure after the headers went out: the JSON a format
/// writes as its failure record (an event stream's `event: error` data, the last JSON
/// Line), from the status and detail.
#[derive(Clone)]
pub(crate) struct FailureRecord(pub(crate) Arc<RecordFn>);

/// What a [`FailureRecord`] calls.
pub(crate) type RecordFn =
    dyn Fn(StatusCode, &serde_json::Value) -> serde_json::Value + Send + Sync;

impl std::fmt::Debug for FailureRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FailureRecord(..)")
    }
}

/// A streaming wire format: what a stream of it sends while idle and at shutdown, and how
/// it writes the failure that ends it. Implemented by zero-sized types (the event stream
/// in `sse.rs`, JSON Lines in `ndjson.rs`); [`Encode`] adds how it writes an item.
pub(crate) trait Format: Send + Unpin + 'static {
    /// The keep-alive of a stream that chose none, given the app's (`None`: send none).
    fn keep_alive(app: &KeepAlive) -> Option<KeepAlive>;

    /// What is written when the server shuts the stream down, given the app's farewell.
    fn farewell(app: Option<&Bytes>) -> Option<Bytes>;

    /// Appends the record that ends a stream after `failure`.
    fn write_failure(failure: &StreamFailure, buf: &mut BytesMut);
}

/// How a [`Format`] writes one item of type `T`.
pub(crate) trait Encode<T>: Format {
    /// Appends the item to `buf`; on error `buf` is left as it was.
    fn write_item(item: T, buf: &mut BytesMut) -> Result<(), StreamFailure>;

    /// Like [`write_item`](Self::write_item), or, for an item whose encoding already
    /// exists as shared bytes (a broadcast event, encoded once for every subscriber),
    /// returns those bytes and leaves `buf` alone.
    fn write_item_shared(item: T, buf: &mut BytesMut) -> Result<Option<Bytes>, StreamFailure> {
        Self::write_item(item, buf).map(|()| None)
    }
}

/// A handler's stream with its format, type-erased for the body.
pub(crate) trait ItemSource: Send {
    /// Polls for the next item and appends its encoding to `buf`, or returns it as shared
    /// bytes (`Some`, `buf` untouched; see [`Encode::write_item_shared`]).
    fn poll_item(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<Option<Result<Option<Bytes>, StreamFailure>>>;

    /// The format's [`Format::keep_alive`].
    fn keep_alive(&self, app: &KeepAlive) -> Option<KeepAlive>;

    /// The format's [`Format::farewell`].
    fn farewell(&self, app: Option<&Bytes>) -> Option<Bytes>;

    /// The format's [`Format::write_failure`].
    fn write_failure(&self, failure: &StreamFailure, buf: &mut BytesMut);
}

/// An [`ItemSource`]: a stream whose items format `F` encodes.
pub(crate) struct Source<S, F> {
    stream: Pin<Box<S>>,
    format: PhantomData<fn() -> F>,
}

impl<S, F> Source<S, F> {
    pub(crate) fn new(stream: S) -> Self {
        Self {
            stream: Box::pin(stream),
            format: PhantomData,
        }
    }
}

impl<S, F> ItemSource for Source<S, F>
where
    S: Stream + Send,
    F: Encode<S::Item>,
{
    fn poll_item(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<Option<Result<Option<Bytes>, StreamFailure>>> {
        let this = self.get_mut();
        match this.stream.as_mut().poll_next(cx) {
            Poll::Ready(Some(item)) => Poll::Ready(Some(F::write_item_shared(item, buf))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn keep_alive(&self, app: &KeepAlive) -> Option<KeepAlive> {
        F::keep_alive(app)
    }

    fn farewell(&self, app: Option<&Bytes>) -> Option<Bytes> {
        F::farewell(app)
    }

    fn write_failure(&self, failure: &StreamFailure, buf: &mut BytesMut) {
        F::write_failure(failure, buf);
    }
}

/// What a stream's poll is to poll besides the handler's stream, and whether the handler's
/// stream is to be polled at all: two [`Watch`] wakers, one for the keep-alive timer and
/// the server's shutdown signal (so that a wake-up by an item, the common case, polls
/// neither and costs one load of a flag), one for the handler's stream (so that a poll no
/// item woke, such as hyper's poll right after it took a frame, does not poll the handler's
/// stream again just to hear `Pending`).
struct Watcher {
    /// The keep-alive timer's and the shutdown signal's.
    signals: Arc<Watch>,
    signals_waker: Waker,
    /// The handler's stream's (made once: the stream sees the same waker at every poll,
    /// so it need not clone it again).
    items: Arc<Watch>,
    items_waker: Waker,
    /// A copy of the task waker both watches hold, compared without taking their locks.
    task: Option<Waker>,
    /// The shutdown future is to be polled (it fired, or was never polled).
    poll_shutdown: bool,
    /// The keep-alive timer is to be polled (it fired, or was set and not polled since).
    poll_timer: bool,
    /// The handler's stream answered `Pending` to its last poll (with `items_waker`), and
    /// has not woken since: polling it again would only hear `Pending` again.
    items_idle: bool,
}

impl Watcher {
    fn new() -> Self {
        let (signals, items) = (Watch::new(), Watch::new());
        Self {
            signals_waker: Waker::from(Arc::clone(&signals)),
            signals,
            items_waker: Waker::from(Arc::clone(&items)),
            items,
            task: None,
            poll_shutdown: true,
            poll_timer: true,
            items_idle: false,
        }
    }

    /// Keeps the watches' task waker current and takes their flags: once per poll.
    #[inline]
    fn register(&mut self, cx: &Context<'_>) {
        if !self.task.as_ref().is_some_and(|t| t.will_wake(cx.waker())) {
            let task = cx.waker().clone();
            self.signals.set_task(task.clone());
            self.items.set_task(task.clone());
            self.task = Some(task);
            // A wake-up may have gone to the task's old waker.
            self.poll_shutdown = true;
            self.poll_timer = true;
            self.items_idle = false;
        }
        // After the waker is stored: a wake-up that did not see it has set the flag.
        if self.signals.take_fired() {
            self.poll_shutdown = true;
            self.poll_timer = true;
        }
        if self.items.take_fired() {
            self.items_idle = false;
        }
    }
}

/// App-wide settings a streaming body picks up when the server hands it out.
#[derive(Clone, Debug)]
pub(crate) struct StreamContext {
    pub(crate) keep_alive: KeepAlive,
    pub(crate) shutdown: CancellationToken,
    pub(crate) farewell: Option<Bytes>,
    /// The route's path pattern: the `route` label of the stream's metrics.
    pub(crate) route: Arc<str>,
    /// The request's span: the parent of the stream's log records.
    pub(crate) span: tracing::Span,
    /// The app's error shape, when it chose one.
    pub(crate) failure_record: Option<FailureRecord>,
}

/// The body of a streaming response.
pub(crate) struct StreamBody {
    source: Option<Pin<Box<dyn ItemSource>>>,
    buf: BytesMut,
    /// The next frame, when it is so far one item's shared encoding (a broadcast event):
    /// it goes out as it is, no copy into `buf`. Anything written after it is coalesced
    /// behind a copy of it in `buf`. While it is `Some`, `buf` is empty.
    shared: Option<Bytes>,
    /// `None` until bound: the app default applies.
    keep_alive: Option<KeepAlive>,
    /// How long the headers wait for the first item; `None`: the app's window.
    first_event_window: Option<Duration>,
    timer: Option<Pin<Box<Sleep>>>,
    last_write: Instant,
    shutdown: Option<Pin<Box<WaitForCancellationFutureOwned>>>,
    /// Set with the shutdown future or the timer, whichever comes first: says when to
    /// poll them.
    watcher: Option<Watcher>,
    farewell: Option<Bytes>,
    failure_record: Option<FailureRecord>,
    /// Counts and metrics, from the moment it is bound to an app; records how the stream
    /// ended when dropped.
    stats: Option<StreamStats>,
    done: bool,
    /// The response's own compression setting (`None`: the app's); boxed, as it is only
    /// read when the stream starts.
    compression: Option<Box<Compression>>,
    /// The negotiated compressor: every frame goes through it, flushed.
    encoder: Option<Box<Encoder>>,
}

impl StreamBody {
    pub(crate) fn new(source: impl ItemSource + 'static) -> Self {
        Self {
            source: Some(Box::pin(source)),
            // Allocated at the first write: an idle stream, or one fed only shared
            // broadcast frames, never needs it.
            buf: BytesMut::new(),
            shared: None,
            keep_alive: None,
            first_event_window: None,
            timer: None,
            last_write: Instant::now(),
            shutdown: None,
            watcher: None,
            farewell: None,
            failure_record: None,
            stats: None,
            done: false,
            compression: None,
            encoder: None,
        }
    }

    /// Overrides the app's compression setting for this stream.
    pub(crate) fn set_compression(&mut self, compression: Compression) {
        self.compression = Some(Box::new(compression));
    }

    /// The stream's own compression setting, if it chose one.
    pub(crate) fn compression(&self) -> Option<&Compression> {
        self.compression.as_deref()
    }

    /// Compresses every frame from now on with `encoder` (chosen before the first frame).
    pub(crate) fn compress_with(&mut self, encoder: Encoder) {
        self.encoder = Some(Box::new(encoder));
    }

    pub(crate) fn set_keep_alive(&mut self, keep_alive: KeepAlive) {
        self.keep_alive = Some(keep_alive);
    }

    /// Overrides the app's first-event window for this stream.
    pub(crate) fn set_first_event_window(&mut self, window: Duration) {
        self.first_event_window = Some(window);
    }

    /// Puts `bytes` before anything else in the stream (e.g. an event stream's `retry:`).
    pub(crate) fn prepend(&mut self, bytes: &[u8]) {
        self.unshare();
        let mut first = BytesMut::with_capacity(bytes.len() + self.buf.len());
        first.extend_from_slice(bytes);
        first.extend_from_slice(&self.buf);
        self.buf = first;
    }

    /// Applies the app's defaults where the response did not choose, as its format says.
    pub(crate) fn bind(&mut self, ctx: &StreamContext) {
        if let Some(source) = &self.source {
            if self.keep_alive.is_none() {
                self.keep_alive = source.keep_alive(&ctx.keep_alive);
            }
            self.farewell = source.farewell(ctx.farewell.as_ref());
        }
        self.failure_record.clone_from(&ctx.failure_record);
        self.shutdown = Some(Box::pin(ctx.shutdown.clone().cancelled_owned()));
        self.watcher.get_or_insert_with(Watcher::new).poll_shutdown = true;
        let mut stats = StreamStats::open(Arc::clone(&ctx.route), ctx.span.clone());
        if self.done {
            stats.end(StreamEnd::Completed);
        }
        self.stats = Some(stats);
    }

    /// The connection's send-timeout flag, so that a stream dropped by the timeout says so.
    pub(crate) fn set_send_timed_out(&mut self, flag: SendTimedOut) {
        if let Some(stats) = self.stats.as_mut() {
            stats.set_send_timed_out(flag);
        }
    }

    fn ended(&mut self, reason: StreamEnd) {
        if let Some(stats) = self.stats.as_mut() {
            stats.end(reason);
        }
    }

    /// True once the last frame is out (a compressed stream's end included).
    pub(crate) fn is_done(&self) -> bool {
        self.done && self.encoder.as_ref().is_none_or(|e| e.is_finished())
    }

    /// True while a frame is still to be sent: buffered bytes, or the end of a compressed
    /// stream that is done.
    fn has_frame(&self) -> bool {
        self.pending_len() > 0 || (self.done && !self.is_done())
    }

    /// Waits for the first item (an event, a comment, the end or a failure) up to the
    /// stream's own first-event window, else `app_window`, and never past the first
    /// keep-alive comment (which cannot go out before the headers). An item that encodes to
    /// nothing (a broadcast subscription's `Message::Open`, the stream protocol's ready
    /// step) ends the wait too, and sends nothing. A failure before anything was produced
    /// is returned so the caller can answer with an HTTP error instead of a stream. A zero
    /// window still takes an item that is ready at once.
    pub(crate) async fn prime(&mut self, app_window: Duration) -> Result<(), StreamFailure> {
        let mut window = self.first_event_window.unwrap_or(app_window);
        if let Some(interval) = self.keep_alive.as_ref().and_then(KeepAlive::get_interval) {
            window = window.min(interval);
        }
        let Some(source) = self.source.as_mut() else {
            return Ok(());
        };
        let buf = &mut self.buf;
        // `Some(Ok(shared))`: an item was written (`shared`: see [`written`]), or it wrote
        // nothing at all (the ready step).
        let before = buf.len();
        let first = std::future::poll_fn(|cx| source.as_mut().poll_item(cx, buf));
        match tokio::time::timeout(window, first).await {
            Ok(Some(Err(failure))) => {
                self.source = None;
                self.done = true;
                self.ended(StreamEnd::Error);
                Err(failure)
            }
            Ok(None) => {
                self.source = None;
                self.ended(StreamEnd::Completed);
                Ok(())
            }
            Ok(Some(Ok(shared))) => {
                // An item that wrote nothing (the ready step) is no event; `buf` may already
                // hold what the response put first (an event stream's `retry:`).
                let ready_step = shared.is_none() && self.buf.len() == before;
                self.written(shared);
                if let (false, Some(stats)) = (ready_step, self.stats.as_mut()) {
                    stats.event();
                }
                Ok(())
            }
            Err(_) => Ok(()),
        }
    }

    fn end_source(&mut self) {
        // Dropping the handler's stream runs its `Drop` guards and `finally`-style cleanup.
        self.source = None;
    }

    /// Bytes waiting to go out.
    fn pending_len(&self) -> usize {
        pending_len(&self.buf, self.shared.as_ref())
    }

    /// Moves a held shared item into `buf`, before something else is appended there.
    fn unshare(&mut self) {
        unshare(&mut self.buf, &mut self.shared);
    }

    /// An item was encoded (see [`written`]).
    fn written(&mut self, shared: Option<Bytes>) {
        written(&mut self.buf, &mut self.shared, shared);
    }

    #[inline]
    fn take_frame(&mut self) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self
            .keep_alive
            .as_ref()
            .is_some_and(|k| k.get_interval().is_some())
        {
            self.last_write = Instant::now();
        }
        if self.encoder.is_some() {
            // The compressor reads `buf`: a held shared item joins it first.
            self.unshare();
        }
        let data = match self.encoder.as_mut() {
            None => match self.shared.take() {
                Some(shared) => shared,
                None => self.buf.split().freeze(),
            },
            Some(encoder) => {
                // Compressed and flushed right here, so the frame is whole on the wire;
                // the stream's last frame also ends the compressed stream.
                let data = encoder.encode(&self.buf, self.done);
                self.buf.clear();
                match data {
                    Ok(data) => data,
                    Err(err) => {
                        self.end_source();
                        self.done = true;
                        self.encoder = None;
                        self.ended(StreamEnd::Error);
                        return Poll::Ready(Some(Err(err.into())));
                    }
                }
            }
        };
        if let Some(stats) = self.stats.as_mut() {
            stats.frame(data.len());
        }
        Poll::Ready(Some(Ok(Frame::data(data))))
    }

    /// The next frame: the stream's items coalesced, a keep-alive comment while it is
    /// idle, the farewell at shutdown, or the end.
    pub(crate) fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.done {
            return this.last_frames();
        }
        if let Some(watcher) = this.watcher.as_mut() {
            watcher.register(cx);
        }
        if this.shutdown_fired() {
            return this.shut_down();
        }
        if this.watcher.as_ref().is_some_and(|w| w.items_idle) {
            // Nothing woke the handler's stream since it said `Pending`.
        } else if let Some(reason) = this.pull_items(cx) {
            this.end_source();
            this.done = true;
            this.ended(reason);
        }
        if this.has_frame() {
            return this.take_frame();
        }
        if this.done {
            return Poll::Ready(None);
        }
        // Idle: an empty buffer gives its allocation back (the next item allocates one).
        if this.buf.capacity() != 0 {
            this.buf = BytesMut::new();
        }
        this.poll_keep_alive(cx)
    }

    /// What is left once the stream is done: its buffered frame(s), then the end.
    fn last_frames(&mut self) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self.has_frame() {
            self.take_frame()
        } else {
            Poll::Ready(None)
        }
    }

    /// Polls the server's shutdown signal, only when its waker fired (or it was never
    /// polled): an event's wake-up costs nothing here.
    fn shutdown_fired(&mut self) -> bool {
        match (self.shutdown.as_mut(), self.watcher.as_mut()) {
            (Some(shutdown), Some(watcher)) if watcher.poll_shutdown => {
                watcher.poll_shutdown = false;
                shutdown
                    .as_mut()
                    .poll(&mut Context::from_waker(&watcher.signals_waker))
                    .is_ready()
            }
            _ => false,
        }
    }

    /// Ends the stream at server shutdown: drops the handler's stream (its cleanup runs)
    /// and sends the farewell, if the format has one.
    fn shut_down(&mut self) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.end_source();
        self.done = true;
        self.ended(StreamEnd::Shutdown);
        if let Some(farewell) = self.farewell.take() {
            self.unshare();
            self.buf.extend_from_slice(&farewell);
        }
        self.last_frames()
    }

    /// Pulls every item that is ready, up to [`COALESCE_LIMIT`] bytes, into the next
    /// frame; a panic or an `Err` item writes the format's failure record. Returns how
    /// the stream ended, if it did.
    fn pull_items(&mut self, cx: &mut Context<'_>) -> Option<StreamEnd> {
        let Some(source) = self.source.as_mut() else {
            return Some(StreamEnd::Completed);
        };
        // Polled with the watcher's waker, when there is one, so that the next poll knows
        // whether an item woke the stream (see [`Watcher::items_idle`]).
        let waker = match self.watcher.as_ref() {
            Some(watcher) => &watcher.items_waker,
            None => cx.waker(),
        };
        let cx = &mut Context::from_waker(waker);
        let mut idle = false;
        while pending_len(&self.buf, self.shared.as_ref()) < COALESCE_LIMIT {
            let before = self.buf.len();
            let buf = &mut self.buf;
            let polled =
                std::panic::catch_unwind(AssertUnwindSafe(|| source.as_mut().poll_item(cx, buf)));
            let polled = polled.unwrap_or_else(|panic| {
                let (span, route) = span_and_route(self.stats.as_ref());
                tracing::error!(
                    parent: &span,
                    route,
                    panic = panic_message(&*panic),
                    "stream panicked; ending it"
                );
                Poll::Ready(Some(Err(StreamFailure::internal(
                    "Internal Server Error".to_owned(),
                ))))
            });
            match polled {
                Poll::Ready(Some(Ok(shared))) => {
                    // An item that wrote nothing (the ready step) is no event.
                    let ready_step = shared.is_none() && self.buf.len() == before;
                    written(&mut self.buf, &mut self.shared, shared);
                    if let (false, Some(stats)) = (ready_step, self.stats.as_mut()) {
                        stats.event();
                    }
                }
                Poll::Ready(Some(Err(mut failure))) => {
                    let (span, route) = span_and_route(self.stats.as_ref());
                    tracing::error!(
                        parent: &span,
                        route,
                        status = failure.status.as_u16(),
                        error = %failure.message(),
                        "stream ended by an error item"
                    );
                    if let Some(record) = &self.failure_record {
                        failure.record =
                            Some(Box::new((record.0)(failure.status, &failure.detail)));
                    }
                    unshare(&mut self.buf, &mut self.shared);
                    source.write_failure(&failure, &mut self.buf);
                    return Some(StreamEnd::Error);
                }
                Poll::Ready(None) => return Some(StreamEnd::Completed),
                Poll::Pending => {
                    idle = true;
                    break;
                }
            }
        }
        if let Some(watcher) = self.watcher.as_mut() {
            watcher.items_idle = idle;
        }
        None
    }

    /// Idle: the only place a keep-alive comment can go, so never inside an event; and
    /// where a compressed stream's compressor state is freed after a while
    /// ([`Encoder::release_due`]). The timer is only touched when it fires (its waker is
    /// the watcher's): while events flow it costs nothing, and a wake-up that comes early
    /// (events were sent meanwhile) just moves it on.
    fn poll_keep_alive(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let interval = self.keep_alive.as_ref().and_then(KeepAlive::get_interval);
        let Some(due) = next_due(self.last_write, interval, self.encoder.as_deref()) else {
            return Poll::Pending;
        };
        let watcher = self.watcher.get_or_insert_with(|| {
            let mut watcher = Watcher::new();
            watcher.register(cx);
            watcher
        });
        let timer = self.timer.get_or_insert_with(|| {
            watcher.poll_timer = true;
            Box::pin(tokio::time::sleep_until(due))
        });
        if timer.deadline() > due {
            // A compressor that became busy again frees its state before the keep-alive.
            timer.as_mut().reset(due);
            watcher.poll_timer = true;
        }
        if !watcher.poll_timer {
            return Poll::Pending;
        }
        watcher.poll_timer = false;
        let mut timer_cx = Context::from_waker(&watcher.signals_waker);
        loop {
            if timer.as_mut().poll(&mut timer_cx).is_pending() {
                return Poll::Pending;
            }
            let now = Instant::now();
            if let Some(encoder) = self.encoder.as_mut() {
                if encoder.release_due().is_some_and(|at| now >= at) {
                    if let Err(err) = encoder.release() {
                        return self.compress_failed(err);
                    }
                }
            }
            if interval.is_some_and(|interval| now >= self.last_write + interval) {
                break;
            }
            let Some(due) = next_due(self.last_write, interval, self.encoder.as_deref()) else {
                return Poll::Pending;
            };
            timer.as_mut().reset(due);
        }
        if let Some(keep_alive) = &self.keep_alive {
            self.buf.extend_from_slice(keep_alive.frame());
            if let Some(stats) = self.stats.as_mut() {
                stats.keep_alive();
            }
        }
        let frame = self.take_frame_idle();
        let due = next_due(self.last_write, interval, self.encoder.as_deref());
        if let (Some(timer), Some(due)) = (self.timer.as_mut(), due) {
            timer.as_mut().reset(due);
            // Polled at the next idle moment, to register its waker again.
            if let Some(watcher) = self.watcher.as_mut() {
                watcher.poll_timer = true;
            }
        }
        frame
    }

    /// [`take_frame`](Self::take_frame) for a keep-alive comment: a compressor whose state
    /// was freed frees it again after the comment.
    fn take_frame_idle(&mut self) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self.encoder.is_none() {
            return self.take_frame();
        }
        self.last_write = Instant::now();
        self.unshare();
        let Some(encoder) = self.encoder.as_mut() else {
            return self.take_frame();
        };
        let data = encoder.encode_idle(&self.buf);
        self.buf.clear();
        match data {
            Ok(data) => {
                if let Some(stats) = self.stats.as_mut() {
                    stats.frame(data.len());
                }
                Poll::Ready(Some(Ok(Frame::data(data))))
            }
            Err(err) => self.compress_failed(err),
        }
    }

    /// The compressor failed: the stream ends with the error.
    fn compress_failed(
        &mut self,
        err: std::io::Error,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.end_source();
        self.done = true;
        self.encoder = None;
        self.ended(StreamEnd::Error);
        Poll::Ready(Some(Err(err.into())))
    }
}

/// When the idle timer is next due: the keep-alive comment (`interval` after the last
/// write) or the release of the compressor's state, whichever comes first.
fn next_due(
    last_write: Instant,
    interval: Option<Duration>,
    encoder: Option<&Encoder>,
) -> Option<Instant> {
    let keep_alive = interval.map(|interval| last_write + interval);
    let release = encoder.and_then(Encoder::release_due);
    match (keep_alive, release) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Bytes waiting to go out: `buf` and the held shared item.
fn pending_len(buf: &BytesMut, shared: Option<&Bytes>) -> usize {
    buf.len() + shared.map_or(0, Bytes::len)
}

/// Moves a held shared item into `buf`, before something else is appended there.
fn unshare(buf: &mut BytesMut, held: &mut Option<Bytes>) {
    if let Some(shared) = held.take() {
        buf.extend_from_slice(&shared);
    }
}

/// An item was encoded: into `buf` (`shared` is `None`), or as shared bytes, then held as
/// the next frame if nothing is waiting, else appended to `buf`.
fn written(buf: &mut BytesMut, held: &mut Option<Bytes>, shared: Option<Bytes>) {
    match shared {
        Some(bytes) if buf.is_empty() && held.is_none() => *held = Some(bytes),
        Some(bytes) => {
            unshare(buf, held);
            buf.extend_from_slice(&bytes);
        }
        None => {
            if let Some(first) = held.take() {
                // The item went into the (empty) `buf`: put the held one before it.
                let item = buf.split();
                buf.reserve(first.len() + item.len());
                buf.extend_from_slice(&first);
                buf.extend_from_slice(&item);
            }
        }
    }
}

/// The parent span and the `route` of a stream's log records (none before it is bound).
/// The error path only: it clones the span.
fn span_and_route(stats: Option<&StreamStats>) -> (tracing::Span, &str) {
    stats.map_or_else(
        || (tracing::Span::current(), ""),
        |stats| (stats.span().clone(), stats.route()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_item_alone_is_held_as_it_is() {
        let (mut buf, mut held) = (BytesMut::new(), None);
        let event = Bytes::from_static(b"data: 1\n\n");
        written(&mut buf, &mut held, Some(event.clone()));
        assert!(buf.is_empty());
        let frame = held.expect("held");
        // The same allocation: no copy.
        assert_eq!(frame.as_ptr(), event.as_ptr());
    }

    #[test]
    fn items_after_a_shared_one_are_coalesced_in_order() {
        let (mut buf, mut held) = (BytesMut::new(), None);
        written(&mut buf, &mut held, Some(Bytes::from_static(b"a\n\n")));
        buf.extend_from_slice(b"b\n\n");
        written(&mut buf, &mut held, None);
        written(&mut buf, &mut held, Some(Bytes::from_static(b"c\n\n")));
        assert!(held.is_none());
        assert_eq!(&buf[..], b"a\n\nb\n\nc\n\n");

        let (mut buf, mut held) = (BytesMut::new(), None);
        written(&mut buf, &mut held, Some(Bytes::from_static(b"a\n\n")));
        written(&mut buf, &mut held, Some(Bytes::from_static(b"b\n\n")));
        assert_eq!(pending_len(&buf, held.as_ref()), 6);
        assert_eq!(&buf[..], b"a\n\nb\n\n");
        unshare(&mut buf, &mut held);
        assert_eq!(&buf[..], b"a\n\nb\n\n");
    }
}
