//! [`JsonLines`]: an `application/x-ndjson` response, one compact JSON document per line.

use std::fmt::Display;

use bytes::{BufMut, Bytes, BytesMut};
use futures_core::Stream;
use serde::Serialize;

use crate::compress::Compression;
use crate::keep_alive::KeepAlive;
use crate::response::{IntoResponse, Response};
use crate::stream::{Encode, Format, StreamBody, StreamFailure};
use crate::streaming;

/// `content-type` of a JSON Lines stream.
pub const JSON_LINES_CONTENT_TYPE: &str = "application/x-ndjson";

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
    /// Streams every item as one JSON line.
    pub fn new<S>(stream: S) -> Self
    where
        S: Stream + Send + 'static,
        S::Item: Serialize,
    {
        Self {
            body: streaming::body::<Ndjson, S>(stream),
        }
    }

    /// Streams `Result`s: `Ok` items as lines; the first `Err` ends the stream with a line
    /// `{"error": {"status": <code>, "detail": "<message>"}}` (or an HTTP error if nothing
    /// was sent yet, as [`Sse::try_new`](crate::Sse::try_new) does).
    pub fn try_new<S, T, E>(stream: S) -> Self
    where
        S: Stream<Item = Result<T, E>> + Send + 'static,
        T: Serialize,
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

impl std::fmt::Debug for JsonLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonLines").finish_non_exhaustive()
    }
}

impl IntoResponse for JsonLines {
    fn into_response(self) -> Response {
        streaming::response(self.body, JSON_LINES_CONTENT_TYPE)
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
        let line = serde_json::json!({ "error": {
            "status": failure.status.as_u16(),
            "detail": failure.message,
        } });
        let _ = serde_json::to_writer(buf.writer(), &line);
        buf.put_u8(b'\n');
    }
}

impl<T: Serialize> Encode<T> for Ndjson {
    fn write_item(item: T, buf: &mut BytesMut) -> Result<(), StreamFailure> {
        let start = buf.len();
        if let Err(err) = serde_json::to_writer(buf.writer(), &item) {
            buf.truncate(start);
            return Err(StreamFailure::internal(format!(
                "item failed to serialize as JSON: {err}"
            )));
        }
        buf.put_u8(b'\n');
        Ok(())
    }
}
