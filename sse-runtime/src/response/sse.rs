//! [`Sse`]: a `text/event-stream` response built from a stream of items.

use std::fmt::Display;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_core::Stream;

use crate::event::encode;
use crate::event::into_event::IntoEvent;
use crate::event::server_sent::ServerSentEvent;
use crate::response::streaming;
use crate::response::{IntoResponse, Response};
use crate::stream::compress::Compression;
use crate::stream::engine::{Encode, Format, StreamBody, StreamFailure};
use crate::stream::keep_alive::KeepAlive;

/// A Server-Sent Events response: every item of the stream is encoded as an event and
/// written to the client as soon as it is produced.
///
/// Headers are exactly `content-type: text/event-stream; charset=utf-8`,
/// `cache-control: no-cache` and `x-accel-buffering: no` (so nginx does not buffer).
/// Keep-alive comments follow the app's setting unless [`Sse::keep_alive`] overrides it.
/// When the client goes away or the server shuts down, the stream is dropped at once, so
/// cleanup code in the handler runs.
///
/// ```
/// use sse_runtime::{App, Sse, ServerSentEvent, testing::TestClient};
///
/// async fn numbers() -> Sse {
///     Sse::new(async_stream::stream! {
///         for i in 0..3 {
///             yield ServerSentEvent::new().data(i).id(i.to_string());
///         }
///     })
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let app = App::new().get("/numbers", numbers).build().unwrap();
/// let response = TestClient::new(app).get("/numbers").send().await;
/// assert_eq!(response.header("content-type"), Some("text/event-stream; charset=utf-8"));
/// assert_eq!(response.text().await, "data: 0\nid: 0\n\ndata: 1\nid: 1\n\ndata: 2\nid: 2\n\n");
/// # });
/// ```
#[must_use = "an Sse does nothing until it is returned from a handler"]
pub struct Sse {
    body: StreamBody,
}

impl Sse {
    /// `content-type` of an event stream: `text/event-stream; charset=utf-8`.
    pub const CONTENT_TYPE: &'static str = "text/event-stream; charset=utf-8";

    /// Streams every item as an event ([`IntoEvent`]: `Serialize` items as JSON `data:`,
    /// [`ServerSentEvent`](crate::ServerSentEvent) as built). An item that cannot be
    /// encoded ends the stream with an `event: error` event.
    pub fn new<S>(stream: S) -> Self
    where
        S: Stream + Send + 'static,
        S::Item: IntoEvent,
    {
        Self {
            body: streaming::body::<EventStream, S>(stream),
        }
    }

    /// Streams a stream of `Result`s: `Ok(item)` as [`Sse::new`] does; the first `Err(e)`
    /// ends the stream.
    ///
    /// The response headers wait for the first item, up to the first-event window
    /// ([`App::first_event_window`](crate::App::first_event_window), default 10 s, or
    /// [`Sse::first_event_window`]). If the error comes within it, before anything was
    /// yielded, the client gets an HTTP error instead of a stream: the status of an
    /// [`HttpError`](crate::HttpError), 500 for any other error, with a JSON body
    /// `{"detail": "<message>"}`. Later (after the first event, or once the window has
    /// passed and the headers went out), it gets one `event: error` event whose data is
    /// `{"status": <code>, "detail": "<message>"}`, and the stream ends.
    pub fn try_new<S, T, E>(stream: S) -> Self
    where
        S: Stream<Item = Result<T, E>> + Send + 'static,
        T: IntoEvent,
        E: Display + 'static,
    {
        Self {
            body: streaming::try_body::<EventStream, S, T, E>(stream),
        }
    }

    /// Overrides the app's keep-alive setting for this response.
    pub fn keep_alive(mut self, keep_alive: KeepAlive) -> Self {
        self.body.set_keep_alive(keep_alive);
        self
    }

    /// How long the response headers wait for this stream's first item (an event, a
    /// comment, the end or an `Err`), overriding the app's
    /// [`first_event_window`](crate::App::first_event_window). An `Err` within the
    /// window becomes an HTTP error status; once it has passed, the headers go out and a
    /// later `Err` is an `event: error`.
    ///
    /// `Duration::ZERO` sends the headers at once (an item already ready is still
    /// taken): for a stream that may stay silent at first and whose client must see it
    /// open before anything happens, as a [`Subscription`](crate::broadcast::Subscription)
    /// does. A stream can also release its headers early by yielding a comment
    /// (`ServerSentEvent::new().comment("")`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use sse_runtime::{App, Sse, ServerSentEvent, testing::TestClient};
    ///
    /// async fn quiet() -> Sse {
    ///     Sse::new(async_stream::stream! {
    ///         tokio::time::sleep(Duration::from_secs(3600)).await;
    ///         yield ServerSentEvent::new().data("late");
    ///     })
    ///     .first_event_window(Duration::ZERO)
    /// }
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let app = App::new().get("/quiet", quiet).build().unwrap();
    /// // The headers come at once, long before the first event.
    /// let response = TestClient::new(app).get("/quiet").send().await;
    /// assert_eq!(response.status(), 200);
    /// # });
    /// ```
    pub fn first_event_window(mut self, window: Duration) -> Self {
        self.body.set_first_event_window(window);
        self
    }

    /// Overrides the app's [`Compression`] for this response; `Compression::off()` sends
    /// it uncompressed whatever the client accepts.
    ///
    /// ```
    /// use sse_runtime::{App, Compression, Sse, ServerSentEvent, testing::TestClient};
    ///
    /// async fn plain() -> Sse {
    ///     Sse::new(futures_util::stream::iter([ServerSentEvent::new().raw_data("hi")]))
    ///         .compression(Compression::off())
    /// }
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let app = App::new().compression(Compression::new()).get("/plain", plain);
    /// let response = TestClient::new(app)
    ///     .get("/plain")
    ///     .header("accept-encoding", "gzip, br")
    ///     .send()
    ///     .await;
    /// assert_eq!(response.header("content-encoding"), None);
    /// assert_eq!(response.text().await, "data: hi\n\n");
    /// # });
    /// ```
    pub fn compression(mut self, compression: Compression) -> Self {
        self.body.set_compression(compression);
        self
    }

    /// Sends `retry: <ms>` as the stream's first line, telling the client how long to wait
    /// before reconnecting.
    pub fn retry(mut self, delay: Duration) -> Self {
        let millis = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        let mut retry = BytesMut::new();
        encode::write_retry(millis, &mut retry);
        self.body.prepend(&retry);
        self
    }
}

impl std::fmt::Debug for Sse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sse").finish_non_exhaustive()
    }
}

impl IntoResponse for Sse {
    fn into_response(self) -> Response {
        streaming::response(self.body, Self::CONTENT_TYPE)
    }
}

/// The `text/event-stream` format: items as events, a failure as an `event: error`, the
/// app's keep-alive comments and farewell event.
struct EventStream;

impl Format for EventStream {
    fn keep_alive(app: &KeepAlive) -> Option<KeepAlive> {
        Some(app.clone())
    }

    fn farewell(app: Option<&Bytes>) -> Option<Bytes> {
        app.cloned()
    }

    fn write_failure(failure: &StreamFailure, buf: &mut BytesMut) {
        let data = failure.record.as_deref().cloned().unwrap_or_else(|| {
            serde_json::json!({
                "status": failure.status.as_u16(),
                "detail": failure.detail,
            })
        });
        let event = ServerSentEvent::new().event("error").data(data);
        let _ = encode::write_event(&event, buf);
    }
}

impl<T: IntoEvent> Encode<T> for EventStream {
    fn write_item(item: T, buf: &mut BytesMut) -> Result<(), StreamFailure> {
        item.encode_into(buf)
            .map_err(|err| StreamFailure::internal(err.to_string()))
    }

    fn write_item_shared(item: T, buf: &mut BytesMut) -> Result<Option<Bytes>, StreamFailure> {
        item.encode_shared(buf)
            .map_err(|err| StreamFailure::internal(err.to_string()))
    }
}
