//! The event a handler sends: [`ServerSentEvent`] and why one can be refused
//! ([`EventError`]). A leaf: how an event is written is the encoder's business
//! (`encode.rs`), what may be yielded as one is `into_event.rs`'s.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

/// One Server-Sent Event, with every field of the `text/event-stream` format.
///
/// Yield it from a streaming route when plain JSON items are not enough: to name the
/// event (`event:`), number it for resumption (`id:`), tell the browser how long to wait
/// before reconnecting (`retry:`), send text as is (`raw_data`) or add a comment.
///
/// The builder never panics. A value that the wire format cannot carry (an `event` or
/// `id` with a line break, an `id` with NUL, both `data` and `raw_data`, data that fails
/// to serialize) is remembered, reported by [`ServerSentEvent::validate`], and refused by
/// the encoder, so a field injection such as `id: 1\ndata: evil` can never reach a client.
///
/// ```
/// use sse_runtime::ServerSentEvent;
///
/// let event = ServerSentEvent::new()
///     .data(serde_json::json!({"type": "alert", "content": "update"}))
///     .event("notification")
///     .id("123")
///     .retry(std::time::Duration::from_millis(3000));
/// assert_eq!(
///     event.to_string(),
///     "event: notification\ndata: {\"type\":\"alert\",\"content\":\"update\"}\nid: 123\nretry: 3000\n\n"
/// );
///
/// let bad = ServerSentEvent::new().raw_data("x").id("1\ndata: evil");
/// assert!(bad.validate().is_err());
/// ```
#[must_use = "an event does nothing until it is yielded or encoded"]
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ServerSentEvent {
    pub(crate) comment: Option<String>,
    pub(crate) event: Option<String>,
    pub(crate) data: Option<String>,
    pub(crate) id: Option<String>,
    pub(crate) retry: Option<u64>,
    pub(crate) error: Option<EventError>,
}

impl ServerSentEvent {
    /// An empty event. An event with no field at all encodes as nothing: yielded first by a stream, it
    /// releases the response headers at once without sending anything (the ready step).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `data` to `value` serialized as compact JSON (a string is quoted:
    /// `data: "hello"`). Mutually exclusive with [`raw_data`](Self::raw_data).
    pub fn data<T: Serialize>(mut self, value: T) -> Self {
        if self.data.is_some() {
            return self.fail(EventError::DataAndRawData);
        }
        match serde_json::to_string(&value) {
            Ok(json) => self.data = Some(json),
            Err(err) => return self.fail(EventError::Json(err.to_string())),
        }
        self
    }

    /// Sets `data` to `text`, sent as is (no JSON quoting). Line breaks (CRLF, LF or CR)
    /// split it over several `data:` lines, which a client joins back with LF.
    /// Mutually exclusive with [`data`](Self::data).
    pub fn raw_data(mut self, text: impl Into<String>) -> Self {
        if self.data.is_some() {
            return self.fail(EventError::DataAndRawData);
        }
        self.data = Some(text.into());
        self
    }

    /// Sets the event type (`event:`), which a browser dispatches to
    /// `addEventListener(type, ...)` instead of `onmessage`. Must be a single line.
    pub fn event(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        if let Err(err) = check_event_name(&name) {
            return self.fail(err);
        }
        self.event = Some(name);
        self
    }

    /// Sets the event id (`id:`), which the browser sends back as `Last-Event-ID` when it
    /// reconnects. Must be a single line without NUL.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        let id = id.into();
        if let Err(err) = check_id(&id) {
            return self.fail(err);
        }
        self.id = Some(id);
        self
    }

    /// Sets the reconnection time (`retry:`) in milliseconds.
    pub(crate) fn retry_millis(mut self, millis: u64) -> Self {
        self.retry = Some(millis);
        self
    }

    /// Sets the reconnection time (`retry:`), sent in whole milliseconds.
    pub fn retry(self, delay: Duration) -> Self {
        let millis = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.retry_millis(millis)
    }

    /// Adds a comment (`: text`), ignored by `EventSource` clients. Line breaks split it
    /// over several comment lines.
    pub fn comment(mut self, text: impl Into<String>) -> Self {
        self.comment = Some(text.into());
        self
    }

    /// The first invalid value given to the builder, if any.
    pub fn validate(&self) -> Result<(), EventError> {
        match &self.error {
            Some(err) => Err(err.clone()),
            None => Ok(()),
        }
    }

    /// The `data` field as it will be sent (JSON text for [`data`](Self::data)).
    pub fn get_data(&self) -> Option<&str> {
        self.data.as_deref()
    }

    /// The `event` field.
    pub fn get_event(&self) -> Option<&str> {
        self.event.as_deref()
    }

    /// The `id` field.
    pub fn get_id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The `retry` field in milliseconds.
    pub fn get_retry(&self) -> Option<u64> {
        self.retry
    }

    /// The comment.
    pub fn get_comment(&self) -> Option<&str> {
        self.comment.as_deref()
    }

    fn fail(mut self, err: EventError) -> Self {
        self.error.get_or_insert(err);
        self
    }
}

impl fmt::Debug for ServerSentEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("ServerSentEvent");
        for (name, value) in [
            ("comment", &self.comment),
            ("event", &self.event),
            ("data", &self.data),
            ("id", &self.id),
        ] {
            if let Some(value) = value {
                s.field(name, value);
            }
        }
        if let Some(retry) = self.retry {
            s.field("retry", &retry);
        }
        if let Some(err) = &self.error {
            s.field("error", err);
        }
        s.finish()
    }
}

/// Why an event cannot be sent.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventError {
    /// `event` or `id` contains CR or LF, which would inject fields.
    LineBreak {
        /// The field that was refused.
        field: &'static str,
    },
    /// `id` contains NUL, which clients ignore.
    NulInId,
    /// Both `data` and `raw_data` were set.
    DataAndRawData,
    /// The data failed to serialize as JSON.
    Json(String),
}

/// Why `name` cannot be an `event:` field (a line break), if it cannot.
pub(crate) fn check_event_name(name: &str) -> Result<(), EventError> {
    if name.contains(['\r', '\n']) {
        return Err(EventError::LineBreak { field: "event" });
    }
    Ok(())
}

/// Why `id` cannot be an `id:` field (a line break, or NUL, which a client ignores), if
/// it cannot.
pub(crate) fn check_id(id: &str) -> Result<(), EventError> {
    if id.contains(['\r', '\n']) {
        return Err(EventError::LineBreak { field: "id" });
    }
    if id.contains('\0') {
        return Err(EventError::NulInId);
    }
    Ok(())
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventError::LineBreak { field } => {
                write!(f, "SSE `{field}` must be a single line (no CR or LF)")
            }
            EventError::NulInId => f.write_str("SSE `id` must not contain NUL characters"),
            EventError::DataAndRawData => f.write_str(
                "cannot set both `data` and `raw_data` on one ServerSentEvent: \
                 use `data` for JSON payloads or `raw_data` for text",
            ),
            EventError::Json(err) => write!(f, "event data failed to serialize as JSON: {err}"),
        }
    }
}

impl std::error::Error for EventError {}
