//! What subscribers receive: [`Message`]s ([`Published`] events and [`Reset`]s), and the
//! stored [`Entry`] / live [`Feed`] the backends share them through.

use std::fmt;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use super::id::EventId;
use super::RESET_EVENT;
use crate::event::encode;
use crate::event::into_event::IntoEvent;
use crate::event::server_sent::{EventError, ServerSentEvent};
use crate::event::typed::Event;

/// One published event, as stored in a topic and shared by all its subscribers.
pub(crate) struct Entry<T> {
    pub(crate) id: EventId,
    pub(crate) data: T,
    pub(crate) json: Box<str>,
    /// The whole SSE event (`data: <json>\nid: <id>\n\n`), encoded once for everyone.
    pub(crate) frame: Bytes,
    /// When it was buffered (for the age limit).
    pub(crate) at: tokio::time::Instant,
}

impl<T> Entry<T> {
    pub(crate) fn new(id: EventId, data: T, json: String) -> Self {
        let event = ServerSentEvent::new().raw_data(json).id(id.to_string());
        let mut buf = BytesMut::with_capacity(event.get_data().map_or(0, str::len) + 48);
        // Raw data and a `<digits>-<digits>` id are always valid.
        let _ = encode::write_event(&event, &mut buf);
        let json = event.data.unwrap_or_default().into_boxed_str();
        Self {
            id,
            data,
            json,
            frame: buf.freeze(),
            at: tokio::time::Instant::now(),
        }
    }
}

/// What a topic's live feed carries.
pub(crate) enum Feed<T> {
    Event(Arc<Entry<T>>),
    /// The feed itself lost events (Redis came back without the stream): the epoch after.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Gap(u64),
}

impl<T> Clone for Feed<T> {
    fn clone(&self) -> Self {
        match self {
            Feed::Event(entry) => Feed::Event(Arc::clone(entry)),
            Feed::Gap(epoch) => Feed::Gap(*epoch),
        }
    }
}

/// An item of a [`Subscription`](super::Subscription).
///
/// As an SSE item (it implements [`IntoEvent`]): an event is `data: <json>` with its
/// `id:`, a reset is the [`RESET_EVENT`], and [`Open`](Message::Open) sends nothing.
/// To build your own event from a published value, use
/// [`into_event_with`](Message::into_event_with): it keeps the id, so resuming works.
#[derive(Debug)]
#[non_exhaustive]
pub enum Message<T> {
    /// A published event.
    Event(Published<T>),
    /// Events may have been missed: see [`Reset`].
    Reset(Reset),
    /// The subscription is live: its replay is sent and it waits for new messages. It
    /// comes once, and sends nothing on the wire; it is the stream protocol's ready step,
    /// which lets the response's headers (and an `EventSource`'s `open`) go out at once
    /// (see [`App::first_event_window`](crate::App::first_event_window)), wherever the
    /// subscription is polled: returned as it is, mapped, looped over in a generator, or
    /// forwarded from another task through a channel. A generator that matches messages
    /// itself yields [`into_event_with`](Message::into_event_with)'s result for it (an
    /// empty event), or skips it and waits for the first event instead.
    Open,
}

impl<T> Clone for Message<T> {
    fn clone(&self) -> Self {
        match self {
            Message::Event(event) => Message::Event(event.clone()),
            Message::Reset(reset) => Message::Reset(reset.clone()),
            Message::Open => Message::Open,
        }
    }
}

impl<T> Message<T> {
    /// The event's id (`None` for a reset or [`Open`](Message::Open)).
    pub fn id(&self) -> Option<EventId> {
        match self {
            Message::Event(event) => Some(event.id()),
            Message::Reset(_) | Message::Open => None,
        }
    }

    /// Builds the event of a published value with `f` — a [`ServerSentEvent`] or a typed
    /// [`Event<U>`](crate::Event) — then sets its `id:` so that resuming keeps working; a
    /// reset becomes the [`RESET_EVENT`] (data `{"last_event_id": ...}`), and
    /// [`Open`](Message::Open) an empty event, which sends nothing.
    ///
    /// ```
    /// use sse_runtime::broadcast::{Broadcast, Resume};
    /// use sse_runtime::{Event, ServerSentEvent};
    /// use futures_util::StreamExt;
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let hub: Broadcast<u32> = Broadcast::new();
    /// hub.publish("prices", 42).await.unwrap();
    /// let mut sub = hub.subscribe("prices", Resume::oldest());
    /// let msg = sub.next().await.unwrap();
    /// let id = msg.id().unwrap();
    /// let event = msg.clone().into_event_with(|price| ServerSentEvent::new().event("price").data(price * 2));
    /// assert_eq!(event.to_string(), format!("event: price\ndata: 84\nid: {id}\n\n"));
    /// // The same, typed: a route keeps its `impl Stream<Item = Event<U>>`.
    /// let event: Event<u32> = msg.into_event_with(|price| Event::new(price * 2).event("price"));
    /// assert_eq!(event.to_string(), format!("event: price\ndata: 84\nid: {id}\n\n"));
    /// # });
    /// ```
    pub fn into_event_with<E: MessageEvent>(self, f: impl FnOnce(&T) -> E) -> E {
        match self {
            Message::Event(event) => f(event.data()).with_id(event.id().to_string()),
            Message::Reset(reset) => E::reset(&reset),
            Message::Open => E::open(),
        }
    }
}

/// The events [`Message::into_event_with`] builds: [`ServerSentEvent`] and
/// [`Event<U>`](crate::Event). Sealed: it cannot be implemented outside this crate.
pub trait MessageEvent: sealed::Sealed + Sized {
    #[doc(hidden)]
    fn with_id(self, id: String) -> Self;
    #[doc(hidden)]
    fn reset(reset: &Reset) -> Self;
    #[doc(hidden)]
    fn open() -> Self;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::ServerSentEvent {}
    impl<U> Sealed for crate::Event<U> {}
}

impl MessageEvent for ServerSentEvent {
    fn with_id(self, id: String) -> Self {
        self.id(id)
    }

    fn reset(reset: &Reset) -> Self {
        reset.to_event()
    }

    fn open() -> Self {
        ServerSentEvent::new()
    }
}

impl<U> MessageEvent for Event<U> {
    fn with_id(self, id: String) -> Self {
        self.id(id)
    }

    fn reset(reset: &Reset) -> Self {
        let data = serde_json::json!({ "last_event_id": reset.last_event_id() });
        Event::raw(data.to_string()).event(RESET_EVENT)
    }

    fn open() -> Self {
        Event::empty()
    }
}

impl<T> IntoEvent for Message<T> {
    fn into_event(self) -> Result<ServerSentEvent, EventError> {
        Ok(match self {
            Message::Event(event) => event.to_event(),
            Message::Reset(reset) => reset.to_event(),
            Message::Open => ServerSentEvent::new(),
        })
    }

    fn encode_into(self, buf: &mut BytesMut) -> Result<(), EventError> {
        match self {
            Message::Event(event) => {
                buf.extend_from_slice(&event.0.frame);
                Ok(())
            }
            Message::Reset(reset) => encode::write_event(&reset.to_event(), buf),
            Message::Open => Ok(()),
        }
    }

    fn encode_shared(self, buf: &mut BytesMut) -> Result<Option<Bytes>, EventError> {
        match self {
            // The frame every subscriber shares: no copy per subscriber.
            Message::Event(event) => Ok(Some(event.0.frame.clone())),
            Message::Reset(reset) => encode::write_event(&reset.to_event(), buf).map(|()| None),
            Message::Open => Ok(None),
        }
    }
}

/// A published event: its id and value (shared, cheap to clone).
pub struct Published<T>(pub(super) Arc<Entry<T>>);

impl<T> Clone for Published<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T> Published<T> {
    /// The id, sent as the SSE `id:`.
    pub fn id(&self) -> EventId {
        self.0.id
    }

    /// The published value.
    pub fn data(&self) -> &T {
        &self.0.data
    }

    /// The value as compact JSON, as sent in `data:`.
    pub fn json(&self) -> &str {
        &self.0.json
    }

    /// The SSE event: `data: <json>` and `id: <id>`.
    pub(crate) fn to_event(&self) -> ServerSentEvent {
        ServerSentEvent::new()
            .raw_data(self.json())
            .id(self.id().to_string())
    }
}

impl<T: fmt::Debug> fmt::Debug for Published<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Published")
            .field("id", &self.id())
            .field("data", self.data())
            .finish()
    }
}

/// The subscriber may have missed events: its `Last-Event-ID` is no longer in the replay
/// buffer (or was never an id of this topic), or, on Redis, the stream was lost (e.g. a
/// restart without persistence). What follows is every event still buffered, then live
/// ones.
///
/// Sent as `event: reset` with data `{"last_event_id": "<id>"}` (`null` when unknown) and
/// no `id:`, so a client that reconnects right after it still sends its old id (and is told
/// again). A client should drop what it derived from earlier events, or refetch it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reset {
    last_event_id: Option<String>,
}

impl Reset {
    pub(crate) fn new(last_event_id: Option<String>) -> Self {
        Self { last_event_id }
    }

    /// The id the subscriber had (what it sent as `Last-Event-ID`, or the last event it got
    /// before the gap), if known.
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_event_id.as_deref()
    }

    /// The SSE event: `event: reset`, `data: {"last_event_id": ...}`.
    pub(crate) fn to_event(&self) -> ServerSentEvent {
        ServerSentEvent::new()
            .event(RESET_EVENT)
            .data(serde_json::json!({ "last_event_id": self.last_event_id }))
    }
}
