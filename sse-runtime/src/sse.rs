//! [`Sse`]: a `text/event-stream` response built from a stream of items.

use std::fmt::Display;
use std::time::Duration;

use futures_core::Stream;
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};

use crate::body::Body;
use crate::into_event::IntoEvent;
use crate::response::{IntoResponse, Response};
use crate::stream::{Format, KeepAlive, Source, StreamBody, StreamFailure};

/// `content-type` of an event stream.
pub const EVENT_STREAM_CONTENT_TYPE: &str = "text/event-stream; charset=utf-8";

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
    /// Streams every item as an event ([`IntoEvent`]: `Serialize` items as JSON `data:`,
    /// [`ServerSentEvent`](crate::ServerSentEvent) as built). An item that cannot be
    /// encoded ends the stream with an `event: error` event.
    pub fn new<S>(stream: S) -> Self
    where
        S: Stream + Send + 'static,
        S::Item: IntoEvent,
    {
        let source = Source::new(stream, |item: S::Item, buf: &mut _| {
            item.encode_into(buf)
                .map_err(|err| StreamFailure::internal(err.to_string()))
        });
        Self::from_source(source)
    }

    /// Streams a stream of `Result`s: `Ok(item)` as [`Sse::new`] does; the first `Err(e)`
    /// ends the stream.
    ///
    /// If the error comes before the first event (and within the app's first-event
    /// window), the client gets an HTTP error instead of a stream: the status of an
    /// [`HttpError`](crate::HttpError), 500 for any other error, with a JSON body
    /// `{"detail": "<message>"}`. After the first event, it gets one
    /// `event: error` event whose data is `{"status": <code>, "detail": "<message>"}`, and
    /// the stream ends.
    pub fn try_new<S, T, E>(stream: S) -> Self
    where
        S: Stream<Item = Result<T, E>> + Send + 'static,
        T: IntoEvent,
        E: Display + 'static,
    {
        let source = Source::new(stream, |item: Result<T, E>, buf: &mut _| match item {
            Ok(item) => item
                .encode_into(buf)
                .map_err(|err| StreamFailure::internal(err.to_string())),
            Err(err) => Err(StreamFailure::from_error(err)),
        });
        Self::from_source(source)
    }

    fn from_source(source: impl crate::stream::ItemSource + 'static) -> Self {
        Self {
            body: StreamBody::new(Format::EventStream, source, None),
        }
    }

    /// Overrides the app's keep-alive setting for this response.
    pub fn keep_alive(mut self, keep_alive: KeepAlive) -> Self {
        self.body.set_keep_alive(keep_alive);
        self
    }

    /// Sends `retry: <ms>` as the stream's first line, telling the client how long to wait
    /// before reconnecting.
    pub fn retry(mut self, delay: Duration) -> Self {
        let millis = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.body.set_retry(millis);
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
        let mut response = Response::new(Body::from_stream(self.body));
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(EVENT_STREAM_CONTENT_TYPE),
        );
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
        response
    }
}
