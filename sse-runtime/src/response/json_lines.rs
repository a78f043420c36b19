//! [`JsonLines`]: an `application/x-ndjson` response, one compact JSON document per line.

use std::fmt::Display;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use futures_core::Stream;
use serde::Serialize;

use crate::event::typed::Event;
use crate::response::streaming;
use crate::response::{IntoResponse, Response};
use crate::stream::compress::Compression;
use crate::stream::engine::{Encode, Format, StreamBody, StreamFailure};
use crate::stream::keep_alive::KeepAlive;

/// A JSON Lines (newline-delimited JSON) response: each item is written as one line of
/// compact JSON as soon as it is produced. LLM APIs and log shippers read this format.
///
/// ```
/// use sse_runtime::{App, JsonLines, testing::TestClient};
///
/// async fn rows() -> JsonLines {
///     JsonLines::new(async_stream::stream! {
///         for i in 0..2 {
///             yield serde_json::json!({ "row": i });
///         }
///     })
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let app = App::new().get("/rows", rows).build().unwrap();
/// let response = TestClient::new(app).get("/rows").send().await;
/// assert_eq!(response.header("content-type"), Some("application/x-ndjson"));
/// assert_eq!(response.text().await, "{\"row\":0}\n{\"row\":1}\n");
/// # });
/// ```
#[must_use = "a JsonLines does nothing until it is returned from a handler"]
pub struct JsonLines {
    body: StreamBody,
}

impl JsonLines {
    /// `content-type` of a JSON Lines stream: `application/x-ndjson`.
    pub const CONTENT_TYPE: &'static str = "application/x-ndjson";

    /// Streams every item as one JSON line.
    pub fn new<S>(stream: S) -> Self
    where
        S: Stream + Send + 'static,
        S::Item: IntoJsonLine,
    {
        Self {
            body: streaming::body::<Ndjson, S>(stream),
        }
    }

    /// Streams `Result`s: `Ok` items as lines; the first `Err` ends the stream with a line
    /// `{"error": {"status": <code>, "detail": "<message>"}}` (or an HTTP error if it comes
    /// first, within the first-event window, as [`Sse::try_new`](crate::Sse::try_new) says).
    pub fn try_new<S, T, E>(stream: S) -> Self
    where
        S: Stream<Item = Result<T, E>> + Send + 'static,
        T: IntoJsonLine,
        E: Display + 'static,
    {
        Self {
            body: streaming::try_body::<Ndjson, S, T, E>(stream),
        }
    }

    /// Overrides the app's [`Compression`] for this response (`Compression::off()`: never
    /// compressed), as [`Sse::compression`](crate::Sse::compression) does.
    pub fn compression(mut self, compression: Compression) -> Self {
        self.body.set_compression(compression);
        self
    }
}

impl JsonLines {
    /// How long the response headers wait for this stream's first item, overriding the
    /// app's [`first_event_window`](crate::App::first_event_window), as
    /// [`Sse::first_event_window`](crate::Sse::first_event_window) does.
    pub fn first_event_window(mut self, window: Duration) -> Self {
        self.body.set_first_event_window(window);
        self
    }
}

impl std::fmt::Debug for JsonLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonLines").finish_non_exhaustive()
    }
}

impl IntoResponse for JsonLines {
    fn into_response(self) -> Response {
        streaming::response(self.body, Self::CONTENT_TYPE)
    }
}

/// The JSON Lines format: one compact JSON document per line, a failure as a last line
/// `{"error": {...}}`; no keep-alive and no farewell (a line must be a document).
struct Ndjson;

impl Format for Ndjson {
    fn keep_alive(_: &KeepAlive) -> Option<KeepAlive> {
        None
    }

    fn farewell(_: Option<&Bytes>) -> Option<Bytes> {
        None
    }

    fn write_failure(failure: &StreamFailure, buf: &mut BytesMut) {
        let line = failure.record.as_deref().cloned().unwrap_or_else(|| {
            serde_json::json!({ "error": {
                "status": failure.status.as_u16(),
                "detail": failure.detail,
            } })
        });
        let _ = serde_json::to_writer(buf.writer(), &line);
        buf.put_u8(b'\n');
    }
}

impl<T: IntoJsonLine> Encode<T> for Ndjson {
    fn write_item(item: T, buf: &mut BytesMut) -> Result<(), StreamFailure> {
        item.write_line(buf).map_err(|err| {
            StreamFailure::internal(format!("item failed to serialize as JSON: {err}"))
        })
    }
}

/// What a JSON Lines stream may yield: every `T: Serialize` (one line of compact JSON) and
/// [`Event<T>`](crate::Event), whose payload is the line (its SSE fields have no JSON
/// Lines form and are dropped; an event without a payload — raw text such as `[DONE]`, a
/// comment — writes no line, the end of the body being the end of a JSON Lines stream).
///
/// So one generator of `Event<T>` items can feed both an `sse` and an `ndjson` route.
///
/// ```
/// use sse_runtime::{App, Event, JsonLines, testing::TestClient};
///
/// async fn rows() -> JsonLines {
///     JsonLines::new(async_stream::stream! {
///         yield Event::new(1).id("1");
///         yield Event::raw("[DONE]");
///     })
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let app = App::new().get("/rows", rows).build().unwrap();
/// let response = TestClient::new(app).get("/rows").send().await;
/// assert_eq!(response.text().await, "1\n");
/// # });
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent as a JSON Lines item",
    label = "`{Self}` is not `Serialize`",
    note = "derive `serde::Serialize` for `{Self}` (for an `Event<T>`: for its payload `T`); \
            a `ServerSentEvent` has no JSON Lines form: yield its data, or an `Event<T>`"
)]
pub trait IntoJsonLine {
    /// Appends the item's line (with its LF) to `buf`, or nothing; on error `buf` is left
    /// as it was.
    #[doc(hidden)]
    fn write_line(self, buf: &mut BytesMut) -> Result<(), serde_json::Error>;
}

impl<T: Serialize> IntoJsonLine for T {
    fn write_line(self, buf: &mut BytesMut) -> Result<(), serde_json::Error> {
        write_json_line(&self, buf)
    }
}

impl<T: Serialize> IntoJsonLine for Event<T> {
    fn write_line(self, buf: &mut BytesMut) -> Result<(), serde_json::Error> {
        match self.get_payload() {
            Some(payload) => write_json_line(payload, buf),
            None => Ok(()),
        }
    }
}

fn write_json_line<T: Serialize + ?Sized>(
    value: &T,
    buf: &mut BytesMut,
) -> Result<(), serde_json::Error> {
    let start = buf.len();
    if let Err(err) = serde_json::to_writer(buf.writer(), value) {
        buf.truncate(start);
        return Err(err);
    }
    buf.put_u8(b'\n');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<T: IntoJsonLine>(item: T) -> String {
        let mut buf = BytesMut::new();
        item.write_line(&mut buf).expect("serializes");
        String::from_utf8(buf.to_vec()).expect("utf-8")
    }

    #[test]
    fn an_event_is_its_payload() {
        assert_eq!(line(serde_json::json!({"a": 1})), "{\"a\":1}\n");
        assert_eq!(
            line(Event::new(serde_json::json!({"a": 1})).id("1").event("e")),
            "{\"a\":1}\n"
        );
        assert_eq!(line(Event::<u8>::raw("[DONE]")), "");
        assert_eq!(line(Event::<u8>::comment_only("hi")), "");
    }
}
