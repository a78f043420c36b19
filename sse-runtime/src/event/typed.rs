//! [`Event<T>`](Event): a Server-Sent Event whose `data` is a payload of a declared type,
//! with the SSE fields (`id`, `event`, `retry`, a comment) around it, and a way to send
//! raw text from the same typed stream. Encoded straight into the response buffer.

use std::fmt;
use std::time::Duration;

use bytes::BytesMut;
use serde::Serialize;

use crate::event::encode::{self, Data, Fields};
use crate::event::into_event::IntoEvent;
use crate::event::server_sent::{check_event_name, check_id, EventError, ServerSentEvent};

/// A Server-Sent Event whose `data` is a `T`, sent as compact JSON.
///
/// Yield it from a streaming route when items need SSE fields and still have one type:
/// `-> impl Stream<Item = Event<Metric>>` keeps the compile-time check of every `yield`
/// (yielding an `Event<Other>` is a type error) and the OpenAPI `itemSchema` whose `data`
/// is `Metric`'s schema, which [`ServerSentEvent`] (data of any type) gives up.
///
/// - [`Event::new(payload)`](Event::new) (or `payload.into()`): `data:` is the payload's JSON;
/// - [`.id()`](Event::id), [`.event()`](Event::event), [`.retry()`](Event::retry),
///   [`.comment()`](Event::comment) add the other fields;
/// - [`Event::raw(text)`](Event::raw) sends text as is in the same stream, e.g. the
///   `data: [DONE]` that ends an OpenAI-style stream;
/// - [`Event::empty()`](Event::empty) / [`Event::comment_only(text)`](Event::comment_only):
///   an event without data (only a comment, an `id:` or a `retry:`).
///
/// Like [`ServerSentEvent`], the builder never panics: a value the wire format cannot
/// carry (an `event` or `id` with a line break, an `id` with NUL) is remembered, reported
/// by [`Event::validate`] and refused by the encoder, which then ends the stream with an
/// error event. The payload is serialized when the event is written, straight into the
/// response buffer (no intermediate `String`).
///
/// In a JSON Lines stream (`ndjson` routes, [`JsonLines`](crate::JsonLines)) an
/// `Event<T>` is its payload: the SSE fields are dropped, and an event without a payload
/// (raw text, a comment) writes no line.
///
/// ```
/// use serde::Serialize;
/// use sse_runtime::Event;
///
/// #[derive(Serialize)]
/// struct Chunk { delta: &'static str }
///
/// let first = Event::new(Chunk { delta: "Hel" }).id("1").event("chunk");
/// assert_eq!(first.to_string(), "event: chunk\ndata: {\"delta\":\"Hel\"}\nid: 1\n\n");
///
/// // The same stream can end with raw text: its items are all `Event<Chunk>`.
/// let done: Event<Chunk> = Event::raw("[DONE]");
/// assert_eq!(done.to_string(), "data: [DONE]\n\n");
///
/// let bad = Event::new(Chunk { delta: "x" }).id("1\ndata: evil");
/// assert!(bad.validate().is_err());
/// ```
#[must_use = "an event does nothing until it is yielded or encoded"]
#[derive(Clone, PartialEq, Eq)]
pub struct Event<T> {
    comment: Option<String>,
    event: Option<String>,
    data: Payload<T>,
    id: Option<String>,
    retry: Option<u64>,
    error: Option<EventError>,
}

/// What an [`Event`]'s `data` holds.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Payload<T> {
    Json(T),
    Raw(String),
    None,
}

impl<T> Event<T> {
    /// An event whose `data` is `payload` as compact JSON.
    pub fn new(payload: T) -> Self {
        Self::with(Payload::Json(payload))
    }

    /// An event whose `data` is `text`, sent as is (no JSON quoting): `Event::raw("[DONE]")`
    /// is `data: [DONE]`. Line breaks (CRLF, LF or CR) split it over several `data:`
    /// lines. Its type parameter is free, so it fits any typed stream.
    pub fn raw(text: impl Into<String>) -> Self {
        Self::with(Payload::Raw(text.into()))
    }

    /// An event without `data`: give it a comment, an `id` or a `retry`. (An
    /// `EventSource` dispatches no event for it, but it does record the `id` and `retry`.)
    pub fn empty() -> Self {
        Self::with(Payload::None)
    }

    /// A comment-only event (`: text`), which `EventSource` clients ignore.
    pub fn comment_only(text: impl Into<String>) -> Self {
        Self::empty().comment(text)
    }

    fn with(data: Payload<T>) -> Self {
        Self {
            comment: None,
            event: None,
            data,
            id: None,
            retry: None,
            error: None,
        }
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

    /// Sets the reconnection time (`retry:`), sent in whole milliseconds.
    pub fn retry(self, delay: Duration) -> Self {
        let millis = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.retry_millis(millis)
    }

    /// Sets the reconnection time (`retry:`) in milliseconds.
    pub(crate) fn retry_millis(mut self, millis: u64) -> Self {
        self.retry = Some(millis);
        self
    }

    /// Adds a comment (`: text`), ignored by `EventSource` clients. Line breaks split it
    /// over several comment lines.
    pub fn comment(mut self, text: impl Into<String>) -> Self {
        self.comment = Some(text.into());
        self
    }

    /// The first invalid value given to the builder, if any. (A payload that fails to
    /// serialize is only found when the event is written.)
    pub fn validate(&self) -> Result<(), EventError> {
        match &self.error {
            Some(err) => Err(err.clone()),
            None => Ok(()),
        }
    }

    /// The payload (`None` for raw text and events without data).
    pub fn get_payload(&self) -> Option<&T> {
        match &self.data {
            Payload::Json(payload) => Some(payload),
            Payload::Raw(_) | Payload::None => None,
        }
    }

    /// Takes the payload out (`None` for raw text and events without data).
    pub fn into_payload(self) -> Option<T> {
        match self.data {
            Payload::Json(payload) => Some(payload),
            Payload::Raw(_) | Payload::None => None,
        }
    }

    /// The raw text given to [`Event::raw`].
    pub fn get_raw(&self) -> Option<&str> {
        match &self.data {
            Payload::Raw(text) => Some(text),
            Payload::Json(_) | Payload::None => None,
        }
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

    /// The same event with its payload mapped by `f` (raw text and the other fields kept).
    ///
    /// ```
    /// use sse_runtime::Event;
    ///
    /// let event = Event::new(21).id("7").map(|n| n * 2);
    /// assert_eq!(event.get_payload(), Some(&42));
    /// assert_eq!(event.get_id(), Some("7"));
    /// ```
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Event<U> {
        let data = match self.data {
            Payload::Json(payload) => Payload::Json(f(payload)),
            Payload::Raw(text) => Payload::Raw(text),
            Payload::None => Payload::None,
        };
        Event {
            comment: self.comment,
            event: self.event,
            data,
            id: self.id,
            retry: self.retry,
            error: self.error,
        }
    }

    fn fail(mut self, err: EventError) -> Self {
        self.error.get_or_insert(err);
        self
    }

    fn fields(&self) -> Fields<'_> {
        Fields {
            comment: self.comment.as_deref(),
            event: self.event.as_deref(),
            id: self.id.as_deref(),
            retry: self.retry,
        }
    }
}

/// `payload.into()`: [`Event::new`].
impl<T> From<T> for Event<T> {
    fn from(payload: T) -> Self {
        Self::new(payload)
    }
}

impl<T: fmt::Debug> fmt::Debug for Event<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Event");
        if let Some(comment) = &self.comment {
            s.field("comment", comment);
        }
        if let Some(event) = &self.event {
            s.field("event", event);
        }
        match &self.data {
            Payload::Json(payload) => {
                s.field("payload", payload);
            }
            Payload::Raw(text) => {
                s.field("raw", text);
            }
            Payload::None => {}
        }
        if let Some(id) = &self.id {
            s.field("id", id);
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

/// The wire format of the event, or `<invalid event: ...>` when it cannot be sent.
impl<T: Serialize> fmt::Display for Event<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = BytesMut::new();
        match write(self, &mut buf) {
            Ok(()) => f.write_str(&String::from_utf8_lossy(&buf)),
            Err(err) => write!(f, "<invalid event: {err}>"),
        }
    }
}

/// `Event<T>` is sent as built, its payload serialized straight into the response buffer.
/// (It is not `Serialize` itself, so it never takes the blanket `T: Serialize` path.)
impl<T: Serialize> IntoEvent for Event<T> {
    fn into_event(self) -> Result<ServerSentEvent, EventError> {
        self.validate()?;
        let mut event = ServerSentEvent::new();
        event = match &self.data {
            Payload::Json(payload) => event.data(payload),
            Payload::Raw(text) => event.raw_data(text.as_str()),
            Payload::None => event,
        };
        if let Some(comment) = self.comment {
            event = event.comment(comment);
        }
        if let Some(name) = self.event {
            event = event.event(name);
        }
        if let Some(id) = self.id {
            event = event.id(id);
        }
        if let Some(retry) = self.retry {
            event = event.retry_millis(retry);
        }
        event.validate()?;
        Ok(event)
    }

    fn encode_into(self, buf: &mut BytesMut) -> Result<(), EventError> {
        write(&self, buf)
    }
}

fn write<T: Serialize>(event: &Event<T>, buf: &mut BytesMut) -> Result<(), EventError> {
    event.validate()?;
    let data = match &event.data {
        Payload::Json(payload) => Data::Json(payload),
        Payload::Raw(text) => Data::Text(text),
        Payload::None => Data::None,
    };
    encode::write_fields(&event.fields(), data, buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, Serialize)]
    struct Chunk {
        delta: String,
    }

    fn chunk(delta: &str) -> Event<Chunk> {
        Event::new(Chunk {
            delta: delta.to_owned(),
        })
    }

    fn encoded<T: Serialize>(event: Event<T>) -> String {
        let mut buf = BytesMut::new();
        event.encode_into(&mut buf).expect("valid event");
        String::from_utf8(buf.to_vec()).expect("utf-8")
    }

    #[test]
    fn fields_in_the_encoder_order() {
        let event = chunk("a")
            .retry(std::time::Duration::from_millis(5))
            .id("7")
            .event("e")
            .comment("c\nd");
        assert_eq!(
            encoded(event),
            ": c\n: d\nevent: e\ndata: {\"delta\":\"a\"}\nid: 7\nretry: 5\n\n"
        );
    }

    #[test]
    fn same_bytes_as_server_sent_event() {
        let typed = chunk("x\ny")
            .id("1")
            .event("t")
            .retry(Duration::from_secs(2));
        let untyped = typed.clone().into_event().unwrap();
        assert_eq!(encoded(typed), untyped.to_string());
        let raw: Event<Chunk> = Event::raw("a\r\nb").comment("c");
        assert_eq!(encoded(raw.clone()), raw.into_event().unwrap().to_string());
        assert_eq!(encoded(Event::<()>::comment_only("hi")), ": hi\n\n");
        assert_eq!(encoded(Event::<()>::empty().id("9")), "id: 9\n\n");
    }

    #[test]
    fn raw_text_is_sent_as_is() {
        assert_eq!(encoded(Event::<Chunk>::raw("[DONE]")), "data: [DONE]\n\n");
        assert_eq!(encoded(Event::<Chunk>::raw("a\nb")), "data: a\ndata: b\n\n");
        assert_eq!(encoded(Event::<Chunk>::raw("")), "data: \n\n");
    }

    #[test]
    fn injection_is_refused_and_writes_nothing() {
        for event in [
            chunk("x").id("1\ndata: evil"),
            chunk("x").id("1\r"),
            chunk("x").id("a\0b"),
            chunk("x").event("a\nb"),
            Event::raw("x").event("a\rb"),
        ] {
            assert!(event.validate().is_err(), "{event:?}");
            let mut buf = BytesMut::from(&b"keep"[..]);
            assert!(event.encode_into(&mut buf).is_err());
            assert_eq!(&buf[..], b"keep");
        }
        assert_eq!(
            chunk("x").id("a\nb").event("c\nd").validate(),
            Err(EventError::LineBreak { field: "id" })
        );
    }

    #[test]
    fn serialization_failure_writes_nothing() {
        struct Fails;
        impl Serialize for Fails {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("nope"))
            }
        }
        let mut buf = BytesMut::from(&b"keep"[..]);
        let result = Event::new(Fails)
            .comment("c")
            .event("e")
            .encode_into(&mut buf);
        assert!(matches!(result, Err(EventError::Json(_))));
        assert_eq!(&buf[..], b"keep");
        assert!(Event::new(Fails).to_string().starts_with("<invalid event:"));
    }

    #[test]
    fn getters_and_conversions() {
        let event: Event<u32> = 5.into();
        let event = event
            .id("i")
            .event("e")
            .comment("c")
            .retry(std::time::Duration::from_millis(3));
        assert_eq!(event.get_payload(), Some(&5));
        assert_eq!(event.get_raw(), None);
        assert_eq!(
            (
                event.get_id(),
                event.get_event(),
                event.get_comment(),
                event.get_retry()
            ),
            (Some("i"), Some("e"), Some("c"), Some(3))
        );
        assert_eq!(event.clone().into_payload(), Some(5));
        let raw: Event<u32> = Event::raw("[DONE]");
        assert_eq!(raw.get_raw(), Some("[DONE]"));
        assert_eq!(raw.get_payload(), None);
        assert_eq!(raw.map(|n| n + 1).get_raw(), Some("[DONE]"));
        assert_eq!(
            format!("{:?}", Event::new(1).id("2")),
            "Event { payload: 1, id: \"2\" }"
        );
    }
}
