//! What subscribers receive: [`Message`]s ([`Published`] events and [`Reset`]s), and the
//! stored [`Entry`] / live [`Feed`] the backends share them through.

use std::fmt;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use super::id::EventId;
use super::RESET_EVENT;
use crate::encode;
use crate::event::{EventError, ServerSentEvent};
use crate::into_event::IntoEvent;
use crate::typed_event::Event;

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
/// `id:`, a reset is the [`RESET_EVENT`].
#[derive(Debug)]
pub enum Message<T> {
    /// A published event.
    Event(Published<T>),
    /// Events may have been missed: see [`Reset`].
    Reset(Reset),
}

impl<T> Clone for Message<T> {
    fn clone(&self) -> Self {
        match self {
            Message::Event(event) => Message::Event(event.clone()),
            Message::Reset(reset) => Message::Reset(reset.clone()),
        }
    }
}

impl<T> Message<T> {
    /// The event's id (`None` for a reset).
    pub fn id(&self) -> Option<EventId> {
        match self {
            Message::Event(event) => Some(event.id()),
            Message::Reset(_) => None,
        }
    }

    /// The SSE event: `event` as `data: <json>` with its id, a reset as the
    /// [`RESET_EVENT`].
    pub fn to_event(&self) -> ServerSentEvent {
        match self {
            Message::Event(event) => event.to_event(),
            Message::Reset(reset) => reset.to_event(),
        }
    }

    /// Builds the SSE event of a published value with `f`, then sets its `id:` so that
    /// resuming keeps working; a reset stays the [`RESET_EVENT`].
    ///
    /// ```
    /// use sse_runtime::broadcast::{Broadcast, Resume};
    /// use sse_runtime::ServerSentEvent;
    /// use futures_util::StreamExt;
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let hub: Broadcast<u32> = Broadcast::new();
    /// hub.publish("prices", 42).await.unwrap();
    /// let mut sub = hub.subscribe("prices", Resume::oldest());
    /// let msg = sub.next().await.unwrap();
    /// let id = msg.id().unwrap();
    /// let event = msg.into_event_with(|price| ServerSentEvent::new().event("price").data(price * 2));
    /// assert_eq!(event.to_string(), format!("event: price\ndata: 84\nid: {id}\n\n"));
    /// # });
    /// ```
    pub fn into_event_with(self, f: impl FnOnce(&T) -> ServerSentEvent) -> ServerSentEvent {
        match self {
            Message::Event(event) => f(event.data()).id(event.id().to_string()),
            Message::Reset(reset) => reset.to_event(),
        }
    }
}

impl<T> Message<T> {
    /// The typed counterpart of [`into_event_with`](Self::into_event_with): builds the
    /// [`Event<U>`](crate::Event) of a published value with `f`, then sets its `id:` so
    /// that resuming keeps working; a reset is the [`RESET_EVENT`] (its data, sent as
    /// [`Event::raw`](crate::Event::raw), is `{"last_event_id": ...}`). A route keeps its
    /// typed `-> impl Stream<Item = Event<U>>` and its documented `data`.
    ///
    /// ```
    /// use sse_runtime::broadcast::{Broadcast, Resume};
    /// use sse_runtime::Event;
    /// use futures_util::StreamExt;
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let hub: Broadcast<u32> = Broadcast::new();
    /// hub.publish("prices", 42).await.unwrap();
    /// let mut sub = hub.subscribe("prices", Resume::oldest());
    /// let msg = sub.next().await.unwrap();
    /// let id = msg.id().unwrap();
    /// let event: Event<u32> = msg.into_typed_event_with(|price| Event::new(price * 2).event("price"));
    /// assert_eq!(event.to_string(), format!("event: price\ndata: 84\nid: {id}\n\n"));
    /// # });
    /// ```
    pub fn into_typed_event_with<U>(self, f: impl FnOnce(&T) -> Event<U>) -> Event<U> {
        match self {
            Message::Event(event) => f(event.data()).id(event.id().to_string()),
            Message::Reset(reset) => reset.to_typed_event(),
        }
    }
}

/// A published value as `data:` (cloned out of the shared entry) with its `id:`; a reset
/// as the [`RESET_EVENT`] with raw JSON data. Yielding the `Message` itself is cheaper (its
/// event was encoded once for every subscriber); convert when the route's items are
/// `Event<T>`.
///
/// ```
/// use sse_runtime::broadcast::{Broadcast, Resume};
/// use sse_runtime::Event;
/// use futures_util::StreamExt;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let hub: Broadcast<String> = Broadcast::new();
/// hub.publish("news", "hi".to_owned()).await.unwrap();
/// let msg = hub.subscribe("news", Resume::oldest()).next().await.unwrap();
/// let frame = msg.to_event().to_string();
/// let event = Event::from(msg);
/// assert_eq!(event.get_payload().map(String::as_str), Some("hi"));
/// assert_eq!(event.to_string(), frame);
/// # });
/// ```
impl<T: Clone> From<Message<T>> for Event<T> {
    fn from(message: Message<T>) -> Self {
        message.into_typed_event_with(|data| Event::new(data.clone()))
    }
}

impl<T> IntoEvent for Message<T> {
    fn into_event(self) -> Result<ServerSentEvent, EventError> {
        Ok(self.to_event())
    }

    fn encode_into(self, buf: &mut BytesMut) -> Result<(), EventError> {
        match self {
            Message::Event(event) => {
                buf.extend_from_slice(&event.0.frame);
                Ok(())
            }
            Message::Reset(reset) => encode::write_event(&reset.to_event(), buf),
        }
    }

    fn encode_shared(self, buf: &mut BytesMut) -> Result<Option<Bytes>, EventError> {
        match self {
            // The frame every subscriber shares: no copy per subscriber.
            Message::Event(event) => Ok(Some(event.0.frame.clone())),
            Message::Reset(reset) => encode::write_event(&reset.to_event(), buf).map(|()| None),
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
    pub fn to_event(&self) -> ServerSentEvent {
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

    /// The typed SSE event: `event: reset`, raw data `{"last_event_id": ...}`.
    pub fn to_typed_event<U>(&self) -> Event<U> {
        let data = serde_json::json!({ "last_event_id": self.last_event_id });
        Event::raw(data.to_string()).event(RESET_EVENT)
    }

    /// The SSE event: `event: reset`, `data: {"last_event_id": ...}`.
    pub fn to_event(&self) -> ServerSentEvent {
        ServerSentEvent::new()
            .event(RESET_EVENT)
            .data(serde_json::json!({ "last_event_id": self.last_event_id }))
    }
}
