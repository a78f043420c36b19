//! A broadcast hub: publish an event once, deliver it to every client of a topic, and let
//! a client that reconnects with `Last-Event-ID` resume exactly where it left off.
//!
//! [`Broadcast<T>`] is a typed, cloneable handle. Topics (rooms) are plain strings, made on
//! first use and cleaned up when unused. Every published value gets an [`EventId`],
//! increasing within its topic, that is sent as the SSE `id:`; each topic keeps a bounded
//! replay buffer of its latest events.
//!
//! ```
//! use futures_util::StreamExt;
//! use sse_runtime::broadcast::{Broadcast, Message, Resume};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let hub: Broadcast<String> = Broadcast::new();
//! let mut live = hub.subscribe("lobby", Resume::live());
//!
//! let first = hub.publish("lobby", "hello".to_owned()).await.unwrap();
//! hub.publish("lobby", "world".to_owned()).await.unwrap();
//!
//! let Some(Message::Event(event)) = live.next().await else { panic!("an event") };
//! assert_eq!((event.id(), event.data().as_str()), (first, "hello"));
//!
//! // A client that saw `first` resumes right after it, from the replay buffer.
//! let mut resumed = hub.subscribe("lobby", Resume::after(first.to_string()));
//! let Some(Message::Event(event)) = resumed.next().await else { panic!("an event") };
//! assert_eq!(event.data(), "world");
//! # });
//! ```
//!
//! # In a route
//!
//! A [`Subscription`] is a plain `Stream + Send + 'static` whose items are SSE events, so
//! an `sse` route returns it as is:
//!
//! ```
//! use sse_runtime::broadcast::{Broadcast, Message};
//! use sse_runtime::{get, App, LastEventId, Path, State, Stream};
//!
//! #[get("/rooms/{room}/events", sse)]
//! async fn events(
//!     State(hub): State<Broadcast<String>>,
//!     Path(room): Path<String>,
//!     last: LastEventId,
//! ) -> impl Stream<Item = Message<String>> {
//!     hub.subscribe(&room, last)
//! }
//!
//! let app = App::new().route(events).state(Broadcast::<String>::new());
//! # let _ = app;
//! ```
//!
//! [`Subscription::into_events`] types it as `impl Stream<Item = ServerSentEvent>`; a
//! generator can loop over it and transform the items (keep the id with
//! [`Message::into_sse_with`]); and [`Broadcast::sse`] is the one-liner for a hand-written
//! route:
//!
//! ```
//! use sse_runtime::broadcast::Broadcast;
//! use sse_runtime::{App, Json, LastEventId, Path, Sse, State};
//!
//! async fn events(
//!     State(hub): State<Broadcast<String>>,
//!     Path(room): Path<String>,
//!     last: LastEventId,
//! ) -> Sse {
//!     hub.sse(&room, last)
//! }
//!
//! async fn post(
//!     State(hub): State<Broadcast<String>>,
//!     Path(room): Path<String>,
//!     Json(text): Json<String>,
//! ) -> Result<String, sse_runtime::HttpError> {
//!     let id = hub.publish(&room, text).await.map_err(|err| {
//!         sse_runtime::HttpError::new(sse_runtime::StatusCode::SERVICE_UNAVAILABLE, err.to_string())
//!     })?;
//!     Ok(id.to_string())
//! }
//!
//! let app = App::new()
//!     .get("/rooms/{room}/events", events)
//!     .post("/rooms/{room}/messages", post)
//!     .state(Broadcast::<String>::new());
//! # let _ = app;
//! ```
//!
//! # Policies
//!
//! - **Ids.** An [`EventId`] is `<milliseconds>-<sequence>` (the format of Redis stream
//!   ids): the wall-clock time of the publish, then a counter within that millisecond.
//!   Ids increase within a topic, are never reused by a hub, and (being time-based) do
//!   not collide with ids of an earlier run of the process.
//! - **Replay.** Each topic keeps its latest [`replay`](BroadcastConfig::replay) events,
//!   minus those older than [`replay_max_age`](BroadcastConfig::replay_max_age).
//! - **Resume.** A subscriber with a `Last-Event-ID` first gets every buffered event after
//!   that id, then live events: no gap, no duplicate, even while publishing goes on. If the
//!   id is no longer in the buffer (evicted, from another topic, from a lost Redis stream,
//!   or not an id at all), it first gets one [`RESET_EVENT`] (`event: reset`, data
//!   `{"last_event_id": "<the id it sent>"}`, no `id:`), then every buffered event, then
//!   live events: a gap is always announced, never silent.
//! - **Slow subscribers.** Each subscriber has a queue of
//!   [`queue`](BroadcastConfig::queue) events; publishing never waits for anyone. When a
//!   subscriber falls further behind, [`Overflow::Disconnect`] (the default) ends its
//!   stream, so its client reconnects and resumes from the replay buffer;
//!   [`Overflow::Resume`] instead resumes it in place from the buffer (with a reset if
//!   the buffer no longer reaches back far enough).
//! - **Cleanup.** A topic with no subscribers is dropped as soon as its buffer is empty,
//!   and in any case [`idle_timeout`](BroadcastConfig::idle_timeout) after it was last
//!   used (checked on later publishes and subscribes; no background task).
//!
//! # Several instances: Redis
//!
//! With the `redis` feature, [`Broadcast::redis`] gives the same API backed by Redis, so
//! app instances behind a load balancer share topics: each topic is a Redis stream
//! (`XADD ... MAXLEN` gives the ids and the replay buffer), live delivery goes through
//! pub/sub, and a `Last-Event-ID` from one instance resumes on another. See
//! `docs/broadcast.md` for the design.

mod memory;
#[cfg(feature = "redis")]
mod redis;

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;

use crate::event::{EventError, ServerSentEvent};
use crate::extract::LastEventId;
use crate::into_event::IntoEvent;
use crate::sse::Sse;

/// The `event:` name of the event that tells a subscriber its `Last-Event-ID` could not be
/// resumed from (see [`Reset`]).
pub const RESET_EVENT: &str = "reset";

// ---------------------------------------------------------------------------------------
// Ids
// ---------------------------------------------------------------------------------------

/// The id of a published event: `<milliseconds>-<sequence>`, e.g. `1732460000123-0`.
///
/// The same format as Redis stream ids, for both backends. Ids compare as the pair
/// (milliseconds, sequence) and increase within a topic.
///
/// ```
/// use sse_runtime::broadcast::EventId;
///
/// let id: EventId = "1732460000123-4".parse().unwrap();
/// assert_eq!((id.millis(), id.seq()), (1732460000123, 4));
/// assert_eq!(id.to_string(), "1732460000123-4");
/// assert!(id < "1732460000124-0".parse().unwrap());
/// assert!("42".parse::<EventId>().is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId {
    ms: u64,
    seq: u64,
}

impl EventId {
    /// `0-0`, below every real id.
    pub const ZERO: EventId = EventId { ms: 0, seq: 0 };

    /// An id from its two parts.
    pub const fn new(millis: u64, seq: u64) -> Self {
        Self { ms: millis, seq }
    }

    /// The milliseconds part (Unix time of the publish).
    pub const fn millis(self) -> u64 {
        self.ms
    }

    /// The sequence within the millisecond.
    pub const fn seq(self) -> u64 {
        self.seq
    }

    /// The id that follows `self` at wall-clock time `now_ms`.
    pub(crate) fn next_at(self, now_ms: u64) -> Self {
        if now_ms > self.ms {
            Self { ms: now_ms, seq: 0 }
        } else {
            Self {
                ms: self.ms,
                seq: self.seq.saturating_add(1),
            }
        }
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// A string that is not an [`EventId`] (`<digits>-<digits>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseEventIdError(());

impl fmt::Display for ParseEventIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event id is `<milliseconds>-<sequence>`, both decimal integers")
    }
}

impl std::error::Error for ParseEventIdError {}

impl FromStr for EventId {
    type Err = ParseEventIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (ms, seq) = s.split_once('-').ok_or(ParseEventIdError(()))?;
        let part = |p: &str| {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ParseEventIdError(()));
            }
            p.parse::<u64>().map_err(|_| ParseEventIdError(()))
        };
        Ok(Self {
            ms: part(ms)?,
            seq: part(seq)?,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------

/// What happens to a subscriber whose queue overflows (it reads slower than events are
/// published). The publisher and the other subscribers are never slowed down either way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Overflow {
    /// End the subscriber's stream. Its `EventSource` reconnects with the last id it got
    /// and resumes from the replay buffer, so nothing is lost while the buffer reaches back
    /// far enough (and a reset says so when it does not). The default.
    #[default]
    Disconnect,
    /// Keep the stream open and resume it in place from the replay buffer, right after the
    /// last event it delivered (a reset first if that event was evicted meanwhile).
    Resume,
}

/// Settings of a [`Broadcast`] hub.
///
/// ```
/// use std::time::Duration;
/// use sse_runtime::broadcast::{BroadcastConfig, Overflow};
///
/// let config = BroadcastConfig::new()
///     .replay(500)
///     .replay_max_age(Some(Duration::from_secs(600)))
///     .queue(64)
///     .overflow(Overflow::Resume)
///     .idle_timeout(Duration::from_secs(3600));
/// assert_eq!(config.replay_len(), 500);
/// assert_eq!(config.queue_len(), 64);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BroadcastConfig {
    replay: usize,
    max_age: Option<Duration>,
    queue: usize,
    overflow: Overflow,
    idle_timeout: Duration,
    key_prefix: String,
}

impl Default for BroadcastConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl BroadcastConfig {
    /// Replay 1024 events per topic (no age limit), queues of 256 events,
    /// [`Overflow::Disconnect`], topics dropped after 5 minutes unused, Redis keys under
    /// `sse:broadcast`.
    pub fn new() -> Self {
        Self {
            replay: 1024,
            max_age: None,
            queue: 256,
            overflow: Overflow::Disconnect,
            idle_timeout: Duration::from_secs(300),
            key_prefix: "sse:broadcast".to_owned(),
        }
    }

    /// How many of its latest events a topic keeps for resuming clients (0: none, so
    /// every resume is a reset).
    pub fn replay(mut self, events: usize) -> Self {
        self.replay = events;
        self
    }

    /// Drops buffered events older than this (`None`: no age limit, the default).
    pub fn replay_max_age(mut self, max_age: Option<Duration>) -> Self {
        self.max_age = max_age.map(|age| age.max(Duration::from_millis(1)));
        self
    }

    /// How many events a subscriber may fall behind before [`overflow`](Self::overflow)
    /// applies (at least 1; rounded up to a power of two).
    pub fn queue(mut self, events: usize) -> Self {
        self.queue = events.clamp(1, 1 << 20).next_power_of_two();
        self
    }

    /// What happens to a subscriber that falls further behind than its queue.
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }

    /// How long a topic with no subscribers keeps its replay buffer for clients that come
    /// back. In process: the topic is dropped this long after its last publish or last
    /// unsubscribe. On Redis: the stream key expires this long after its last publish
    /// (at least 1 second).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// The prefix of the Redis keys and channels (default `sse:broadcast`): topic `t` is
    /// the stream `<prefix>:t`, its live events go to the channel of the same name. Hubs
    /// that share topics must use the same prefix (and the same value type).
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// The replay buffer's length per topic.
    pub fn replay_len(&self) -> usize {
        self.replay
    }

    /// The replay buffer's age limit.
    pub fn replay_max_age_value(&self) -> Option<Duration> {
        self.max_age
    }

    /// A subscriber's queue length.
    pub fn queue_len(&self) -> usize {
        self.queue
    }

    /// The overflow policy.
    pub fn overflow_policy(&self) -> Overflow {
        self.overflow
    }

    /// The idle timeout of a topic.
    pub fn idle_timeout_value(&self) -> Duration {
        self.idle_timeout
    }

    /// The Redis key prefix.
    pub fn key_prefix_value(&self) -> &str {
        &self.key_prefix
    }
}

/// Where a new subscription starts.
///
/// Made from the `Last-Event-ID` header ([`LastEventId`], `Option<String>`): no id means
/// [`live`](Self::live), an id means [`after`](Self::after) it.
///
/// ```
/// use sse_runtime::broadcast::Resume;
/// use sse_runtime::LastEventId;
///
/// assert_eq!(Resume::from(LastEventId(None)), Resume::live());
/// assert_eq!(Resume::from(LastEventId(Some("7-0".to_owned()))), Resume::after("7-0"));
/// // A chat room: a first-time client sees the recent history, a returning one resumes.
/// assert_eq!(Resume::from(LastEventId(None)).or_oldest(), Resume::oldest());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resume(ResumeKind);

#[derive(Clone, Debug, PartialEq, Eq)]
enum ResumeKind {
    Live,
    Oldest,
    After(String),
    /// Internal: everything since the topic's first event, with a reset unless the buffer
    /// still holds all of it (an overflowing subscriber that had not got anything yet).
    Beginning,
}

impl Resume {
    /// Only events published from now on.
    pub fn live() -> Self {
        Self(ResumeKind::Live)
    }

    /// Every buffered event, then live ones.
    pub fn oldest() -> Self {
        Self(ResumeKind::Oldest)
    }

    /// The buffered events after `last_event_id`, then live ones; a reset first if that id
    /// is not in the buffer.
    pub fn after(last_event_id: impl Into<String>) -> Self {
        Self(ResumeKind::After(last_event_id.into()))
    }

    /// [`oldest`](Self::oldest) instead of [`live`](Self::live): a client without a
    /// `Last-Event-ID` gets the buffered history.
    pub fn or_oldest(self) -> Self {
        match self.0 {
            ResumeKind::Live => Self::oldest(),
            other => Self(other),
        }
    }

    /// The id to resume after, if any.
    pub fn last_event_id(&self) -> Option<&str> {
        match &self.0 {
            ResumeKind::After(id) => Some(id),
            _ => None,
        }
    }
}

impl From<LastEventId<String>> for Resume {
    fn from(last: LastEventId<String>) -> Self {
        last.0.into()
    }
}

impl From<&LastEventId<String>> for Resume {
    fn from(last: &LastEventId<String>) -> Self {
        last.0.as_deref().into()
    }
}

impl From<Option<String>> for Resume {
    fn from(last: Option<String>) -> Self {
        last.map_or_else(Self::live, Self::after)
    }
}

impl From<Option<&str>> for Resume {
    fn from(last: Option<&str>) -> Self {
        last.map_or_else(Self::live, Self::after)
    }
}

impl From<EventId> for Resume {
    fn from(id: EventId) -> Self {
        Self::after(id.to_string())
    }
}

// ---------------------------------------------------------------------------------------
// What subscribers receive
// ---------------------------------------------------------------------------------------

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
        let mut buf = BytesMut::with_capacity(event.data_text().map_or(0, str::len) + 48);
        // Raw data and a `<digits>-<digits>` id are always valid.
        let _ = crate::encode::write_event(&event, &mut buf);
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

/// An item of a [`Subscription`].
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
    /// let event = msg.into_sse_with(|price| ServerSentEvent::new().event("price").data(price * 2));
    /// assert_eq!(event.to_string(), format!("event: price\ndata: 84\nid: {id}\n\n"));
    /// # });
    /// ```
    pub fn into_sse_with(self, f: impl FnOnce(&T) -> ServerSentEvent) -> ServerSentEvent {
        match self {
            Message::Event(event) => f(event.data()).id(event.id().to_string()),
            Message::Reset(reset) => reset.to_event(),
        }
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
            Message::Reset(reset) => crate::encode::write_event(&reset.to_event(), buf),
        }
    }
}

/// A published event: its id and value (shared, cheap to clone).
pub struct Published<T>(Arc<Entry<T>>);

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

    /// The SSE event: `event: reset`, `data: {"last_event_id": ...}`.
    pub fn to_event(&self) -> ServerSentEvent {
        ServerSentEvent::new()
            .event(RESET_EVENT)
            .data(serde_json::json!({ "last_event_id": self.last_event_id }))
    }
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// Why [`Broadcast::publish`] failed. Nothing was delivered or stored.
#[derive(Debug)]
#[non_exhaustive]
pub enum PublishError {
    /// The value could not be serialized as JSON.
    Encode(serde_json::Error),
    /// The backend (Redis) refused or could not be reached.
    Backend(crate::BoxError),
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishError::Encode(err) => write!(f, "event data failed to serialize: {err}"),
            PublishError::Backend(err) => write!(f, "broadcast backend unavailable: {err}"),
        }
    }
}

impl std::error::Error for PublishError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PublishError::Encode(err) => Some(err),
            PublishError::Backend(err) => Some(&**err),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The hub
// ---------------------------------------------------------------------------------------

/// A broadcast hub of `T` values, in process or (feature `redis`) shared through Redis.
///
/// Cheap to clone (one reference count); register it with
/// [`App::state`](crate::App::state) and publish from handlers or background tasks.
/// When the last clone is dropped, every open subscription ends and background tasks
/// (Redis) stop.
///
/// See the [module documentation](self) for the replay, reset, overflow and cleanup
/// policies.
pub struct Broadcast<T> {
    backend: Backend<T>,
}

enum Backend<T> {
    Memory(Arc<memory::Hub<T>>),
    #[cfg(feature = "redis")]
    Redis(Arc<redis::Hub<T>>),
}

impl<T> Clone for Broadcast<T> {
    fn clone(&self) -> Self {
        let backend = match &self.backend {
            Backend::Memory(hub) => Backend::Memory(Arc::clone(hub)),
            #[cfg(feature = "redis")]
            Backend::Redis(hub) => Backend::Redis(Arc::clone(hub)),
        };
        Self { backend }
    }
}

impl<T> fmt::Debug for Broadcast<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backend = match &self.backend {
            Backend::Memory(_) => "memory",
            #[cfg(feature = "redis")]
            Backend::Redis(_) => "redis",
        };
        f.debug_struct("Broadcast")
            .field("backend", &backend)
            .field("config", self.config())
            .finish_non_exhaustive()
    }
}

impl<T> Broadcast<T> {
    /// The settings.
    pub fn config(&self) -> &BroadcastConfig {
        match &self.backend {
            Backend::Memory(hub) => hub.config(),
            #[cfg(feature = "redis")]
            Backend::Redis(hub) => hub.config(),
        }
    }

    /// How many topics this hub holds (on Redis: topics with subscribers on this
    /// instance).
    pub fn topic_count(&self) -> usize {
        match &self.backend {
            Backend::Memory(hub) => hub.topic_count(),
            #[cfg(feature = "redis")]
            Backend::Redis(hub) => hub.topic_count(),
        }
    }

    /// How many subscriptions of `topic` are open (on Redis: on this instance, counted
    /// once the instance receives the topic's live events).
    pub fn subscriber_count(&self, topic: &str) -> usize {
        match &self.backend {
            Backend::Memory(hub) => hub.subscriber_count(topic),
            #[cfg(feature = "redis")]
            Backend::Redis(hub) => hub.subscriber_count(topic),
        }
    }
}

impl<T: Serialize + Send + Sync + 'static> Default for Broadcast<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Serialize + Send + Sync + 'static> Broadcast<T> {
    /// An in-process hub with the default [`BroadcastConfig`].
    pub fn new() -> Self {
        Self::with_config(BroadcastConfig::new())
    }

    /// An in-process hub.
    pub fn with_config(config: BroadcastConfig) -> Self {
        Self {
            backend: Backend::Memory(Arc::new(memory::Hub::new(config))),
        }
    }

    /// Publishes `value` to `topic` (made if needed): it is buffered for replay and sent to
    /// every subscriber, as JSON `data:` with its new id, which is returned.
    ///
    /// Never waits for subscribers. In process it only fails if `value` does not serialize;
    /// on Redis it also fails when Redis cannot be reached (nothing is then published).
    pub async fn publish(&self, topic: &str, value: T) -> Result<EventId, PublishError> {
        let json = serde_json::to_string(&value).map_err(PublishError::Encode)?;
        match &self.backend {
            Backend::Memory(hub) => Ok(hub.publish(topic, value, json)),
            #[cfg(feature = "redis")]
            Backend::Redis(hub) => hub.publish(topic, json).await,
        }
    }

    /// Subscribes to `topic` (made if needed), starting as `resume` says — usually the
    /// request's [`LastEventId`]. In process, the subscription is registered at once:
    /// everything published after this call is delivered. On Redis, a
    /// [`live`](Resume::live) subscription gets what is published once this instance
    /// receives the topic (a few milliseconds for a topic new to it;
    /// [`subscriber_count`](Self::subscriber_count) counts it from then), while a resuming
    /// one reads its replay from Redis after that point, so it misses nothing.
    pub fn subscribe(&self, topic: &str, resume: impl Into<Resume>) -> Subscription<T> {
        let resume = resume.into();
        let config = self.config();
        let overflow = config.overflow;
        let (weak, begin) = match &self.backend {
            Backend::Memory(hub) => (
                WeakBackend::Memory(Arc::downgrade(hub)),
                Begin::Ready(hub.start(topic, &resume)),
            ),
            #[cfg(feature = "redis")]
            Backend::Redis(hub) => (
                WeakBackend::Redis(hub.downgrade()),
                hub.begin(topic, resume),
            ),
        };
        Subscription::new(topic, weak, begin, overflow)
    }

    /// The one-liner for a route: [`subscribe`](Self::subscribe) as an [`Sse`] response.
    pub fn sse(&self, topic: &str, resume: impl Into<Resume>) -> Sse {
        Sse::new(self.subscribe(topic, resume))
    }
}

#[cfg(feature = "redis")]
impl<T> Broadcast<T>
where
    T: Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    /// A hub backed by the Redis server at `url` (`redis://host:port/db`): instances that
    /// use the same server and [`key_prefix`](BroadcastConfig::key_prefix) share topics,
    /// and a `Last-Event-ID` from one resumes on another.
    ///
    /// Connects before returning (and fails if Redis cannot be reached). Afterwards the hub
    /// reconnects by itself: while Redis is down, [`publish`](Self::publish) fails and
    /// subscriptions wait; when it is back they catch up from the stream (a reset first if
    /// the stream was lost). Needs a Tokio runtime. Redis 6.2 or later.
    pub async fn redis(url: &str, config: BroadcastConfig) -> Result<Self, PublishError> {
        let hub = redis::Hub::connect(url, config).await?;
        Ok(Self {
            backend: Backend::Redis(Arc::new(hub)),
        })
    }
}

// ---------------------------------------------------------------------------------------
// Subscriptions
// ---------------------------------------------------------------------------------------

/// Why a [`Subscription`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndReason {
    /// It fell further behind than its queue and the policy is [`Overflow::Disconnect`].
    Overflow,
    /// The hub was dropped.
    Closed,
}

const RUNNING: u8 = 0;
const OVERFLOW: u8 = 1;
const CLOSED: u8 = 2;

/// A subscriber's live registration: the feed's receiver, and what to do when it goes.
pub(crate) struct Live<T> {
    rx: Option<tokio::sync::broadcast::Receiver<Feed<T>>>,
    on_leave: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl<T> Live<T> {
    pub(crate) fn new(
        rx: tokio::sync::broadcast::Receiver<Feed<T>>,
        on_leave: impl FnOnce() + Send + Sync + 'static,
    ) -> Self {
        Self {
            rx: Some(rx),
            on_leave: Some(Box::new(on_leave)),
        }
    }

    async fn recv(&mut self) -> Result<Feed<T>, RecvError> {
        match self.rx.as_mut() {
            Some(rx) => rx.recv().await,
            None => Err(RecvError::Closed),
        }
    }
}

impl<T> Drop for Live<T> {
    fn drop(&mut self) {
        // Unregister first, so the topic sees one subscriber less when it decides to go.
        drop(self.rx.take());
        if let Some(on_leave) = self.on_leave.take() {
            on_leave();
        }
    }
}

/// Where a subscription starts: what to replay, then the live feed.
pub(crate) struct Start<T> {
    pub(crate) live: Live<T>,
    pub(crate) replay: VecDeque<Arc<Entry<T>>>,
    pub(crate) reset: Option<Reset>,
    /// The id the subscriber is at once the replay is delivered (live events up to it are
    /// duplicates).
    pub(crate) position: Option<EventId>,
    /// The feed's epoch when the replay was read: gaps up to it are already accounted for.
    pub(crate) epoch: u64,
}

pub(crate) type BoxStart<T> = Pin<Box<dyn Future<Output = Option<Start<T>>> + Send>>;

/// A subscription's start: done at once (in process), or still to do (Redis).
pub(crate) enum Begin<T> {
    Ready(Start<T>),
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Pending(BoxStart<T>),
}

enum WeakBackend<T> {
    Memory(std::sync::Weak<memory::Hub<T>>),
    #[cfg(feature = "redis")]
    Redis(redis::WeakHub<T>),
}

impl<T: Send + Sync + 'static> WeakBackend<T> {
    /// Starts again (after an overflow under [`Overflow::Resume`]); `None` once the hub is
    /// gone.
    fn begin(&self, topic: &str, resume: Resume) -> Option<Begin<T>> {
        match self {
            WeakBackend::Memory(hub) => {
                let hub = hub.upgrade()?;
                Some(Begin::Ready(hub.start(topic, &resume)))
            }
            #[cfg(feature = "redis")]
            WeakBackend::Redis(hub) => hub.upgrade().map(|hub| hub.begin(topic, resume)),
        }
    }
}

/// The events of a topic for one subscriber: a `Stream` of [`Message`]s
/// (`Send + 'static`), made by [`Broadcast::subscribe`].
///
/// Return it from a streaming route as is (each item becomes an SSE event), turn it into
/// an [`Sse`] with [`into_sse`](Self::into_sse), or loop over it in a generator. It ends
/// when it overflows under [`Overflow::Disconnect`] or when the hub is dropped
/// ([`end_reason`](Self::end_reason) says which). Dropping it unsubscribes.
#[must_use = "a subscription delivers nothing unless it is polled"]
pub struct Subscription<T> {
    topic: Arc<str>,
    status: Arc<AtomicU8>,
    inner: Pin<Box<dyn Stream<Item = Message<T>> + Send>>,
}

impl<T: Send + Sync + 'static> Subscription<T> {
    fn new(topic: &str, hub: WeakBackend<T>, begin: Begin<T>, overflow: Overflow) -> Self {
        let topic: Arc<str> = Arc::from(topic);
        let status = Arc::new(AtomicU8::new(RUNNING));
        let inner = Box::pin(drive(
            hub,
            Arc::clone(&topic),
            begin,
            overflow,
            Arc::clone(&status),
        ));
        Self {
            topic,
            status,
            inner,
        }
    }
}

impl<T> Subscription<T> {
    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Why the stream ended; `None` while it runs.
    pub fn end_reason(&self) -> Option<EndReason> {
        match self.status.load(Ordering::Acquire) {
            OVERFLOW => Some(EndReason::Overflow),
            CLOSED => Some(EndReason::Closed),
            _ => None,
        }
    }

    /// The subscription as SSE events ([`Message::to_event`]), for a route that returns
    /// `impl Stream<Item = ServerSentEvent>`.
    pub fn into_events(self) -> impl Stream<Item = ServerSentEvent> + Send + 'static
    where
        T: 'static,
    {
        futures_util::StreamExt::map(self, |message| message.to_event())
    }

    /// The subscription as an [`Sse`] response.
    pub fn into_sse(self) -> Sse
    where
        T: 'static,
    {
        Sse::new(self)
    }
}

impl<T> Stream for Subscription<T> {
    type Item = Message<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message<T>>> {
        self.get_mut().inner.as_mut().poll_next(cx)
    }
}

impl<T> fmt::Debug for Subscription<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("topic", &self.topic)
            .field("end_reason", &self.end_reason())
            .finish_non_exhaustive()
    }
}

/// The subscription's engine: replay, then live events without duplicates; gaps become
/// resets; overflow ends the stream or resumes it from the buffer.
fn drive<T: Send + Sync + 'static>(
    hub: WeakBackend<T>,
    topic: Arc<str>,
    first: Begin<T>,
    overflow: Overflow,
    status: Arc<AtomicU8>,
) -> impl Stream<Item = Message<T>> + Send {
    async_stream::stream! {
        let mut begin = first;
        loop {
            let start = match begin {
                Begin::Ready(start) => start,
                Begin::Pending(start) => match start.await {
                    Some(start) => start,
                    None => {
                        status.store(CLOSED, Ordering::Release);
                        return;
                    }
                },
            };
            let Start { mut live, replay, reset, position, epoch } = start;
            let mut last = position;
            if let Some(reset) = reset {
                yield Message::Reset(reset);
            }
            for entry in replay {
                last = Some(entry.id);
                yield Message::Event(Published(entry));
            }
            let resume = loop {
                match live.recv().await {
                    Ok(Feed::Event(entry)) => {
                        if last.is_some_and(|last| entry.id <= last) {
                            continue;
                        }
                        last = Some(entry.id);
                        yield Message::Event(Published(entry));
                    }
                    Ok(Feed::Gap(gap)) => {
                        if gap > epoch {
                            yield Message::Reset(Reset::new(last.map(|id| id.to_string())));
                            last = None;
                        }
                    }
                    Err(RecvError::Lagged(_)) => match overflow {
                        Overflow::Disconnect => {
                            tracing::debug!(topic = %topic, "subscriber overflowed its queue: ending its stream");
                            status.store(OVERFLOW, Ordering::Release);
                            return;
                        }
                        Overflow::Resume => {
                            tracing::debug!(topic = %topic, "subscriber overflowed its queue: resuming from the buffer");
                            break last.map_or(Resume(ResumeKind::Beginning), Resume::from);
                        }
                    },
                    Err(RecvError::Closed) => {
                        status.store(CLOSED, Ordering::Release);
                        return;
                    }
                }
            };
            drop(live);
            begin = match hub.begin(&topic, resume) {
                Some(begin) => begin,
                None => {
                    status.store(CLOSED, Ordering::Release);
                    return;
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_util::StreamExt;

    use super::*;

    async fn next<T>(sub: &mut Subscription<T>) -> Message<T> {
        match tokio::time::timeout(Duration::from_secs(5), sub.next()).await {
            Ok(Some(message)) => message,
            Ok(None) => panic!("subscription ended ({:?})", sub.end_reason()),
            Err(_) => panic!("no message within 5 s"),
        }
    }

    async fn next_value(sub: &mut Subscription<u32>) -> (EventId, u32) {
        match next(sub).await {
            Message::Event(event) => (event.id(), *event.data()),
            Message::Reset(reset) => panic!("unexpected reset {reset:?}"),
        }
    }

    /// Nothing more is ready right now.
    fn assert_idle<T>(sub: &mut Subscription<T>) {
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(
            Pin::new(sub).poll_next(&mut cx).is_pending(),
            "expected no more messages"
        );
    }

    #[test]
    fn event_ids_parse_strictly_and_order_as_pairs() {
        let id: EventId = "17-3".parse().unwrap();
        assert_eq!(id, EventId::new(17, 3));
        assert_eq!(id.to_string(), "17-3");
        for bad in [
            "", "17", "-3", "17-", "a-1", "1-b", "+1-2", "1--2", " 1-2", "1-2 ", "1-2-3",
        ] {
            assert!(bad.parse::<EventId>().is_err(), "{bad:?} parsed");
        }
        assert!("99999999999999999999-0".parse::<EventId>().is_err());
        assert!(EventId::new(17, 9) < EventId::new(18, 0));
        assert_eq!(EventId::new(17, 3).next_at(17), EventId::new(17, 4));
        assert_eq!(EventId::new(17, 3).next_at(16), EventId::new(17, 4));
        assert_eq!(EventId::new(17, 3).next_at(20), EventId::new(20, 0));
    }

    #[test]
    fn resume_comes_from_last_event_id() {
        assert_eq!(Resume::from(None::<String>), Resume::live());
        assert_eq!(Resume::from(Some("1-0")), Resume::after("1-0"));
        assert_eq!(
            Resume::from(&LastEventId(Some("x".to_owned()))),
            Resume::after("x")
        );
        assert_eq!(Resume::after("1-0").or_oldest(), Resume::after("1-0"));
        assert_eq!(
            Resume::from(EventId::new(5, 1)).last_event_id(),
            Some("5-1")
        );
        assert_eq!(Resume::live().last_event_id(), None);
    }

    #[test]
    fn config_clamps_queue_to_a_power_of_two() {
        assert_eq!(BroadcastConfig::new().queue(0).queue_len(), 1);
        assert_eq!(BroadcastConfig::new().queue(5).queue_len(), 8);
        assert_eq!(
            BroadcastConfig::new()
                .replay_max_age(Some(Duration::ZERO))
                .replay_max_age_value(),
            Some(Duration::from_millis(1))
        );
    }

    #[test]
    fn messages_encode_as_sse_events() {
        let entry = Arc::new(Entry::new(
            EventId::new(5, 2),
            "hi".to_owned(),
            "\"hi\"".to_owned(),
        ));
        let message = Message::Event(Published(entry));
        assert_eq!(message.to_event().to_string(), "data: \"hi\"\nid: 5-2\n\n");
        let mut buf = BytesMut::new();
        message.clone().encode_into(&mut buf).unwrap();
        assert_eq!(&buf[..], b"data: \"hi\"\nid: 5-2\n\n");

        let reset: Message<String> = Message::Reset(Reset::new(Some("1-0\"".to_owned())));
        assert_eq!(
            reset.to_event().to_string(),
            "event: reset\ndata: {\"last_event_id\":\"1-0\\\"\"}\n\n"
        );
        assert_eq!(reset.id(), None);
    }

    #[tokio::test]
    async fn live_subscribers_get_events_published_after_subscribing() {
        let hub = Broadcast::<u32>::new();
        hub.publish("t", 0).await.unwrap();
        let mut sub = hub.subscribe("t", Resume::live());
        assert_eq!(hub.subscriber_count("t"), 1);
        let a = hub.publish("t", 1).await.unwrap();
        let b = hub.publish("t", 2).await.unwrap();
        assert!(a < b);
        assert_eq!(next_value(&mut sub).await, (a, 1));
        assert_eq!(next_value(&mut sub).await, (b, 2));
        assert_idle(&mut sub);
        // Other topics are separate.
        hub.publish("other", 9).await.unwrap();
        assert_idle(&mut sub);
    }

    #[tokio::test]
    async fn resume_replays_after_the_id_then_goes_live() {
        let hub = Broadcast::<u32>::new();
        let mut ids = Vec::new();
        for i in 0..5 {
            ids.push(hub.publish("t", i).await.unwrap());
        }
        let mut sub = hub.subscribe("t", Resume::after(ids[1].to_string()));
        for i in 2..5 {
            assert_eq!(next_value(&mut sub).await, (ids[i as usize], i));
        }
        assert_idle(&mut sub);
        let live = hub.publish("t", 5).await.unwrap();
        assert_eq!(next_value(&mut sub).await, (live, 5));

        // Resuming from the newest id replays nothing, and misses nothing.
        let mut caught_up = hub.subscribe("t", live);
        assert_idle(&mut caught_up);
        let after = hub.publish("t", 6).await.unwrap();
        assert_eq!(next_value(&mut caught_up).await, (after, 6));

        // Oldest: the whole buffer.
        let mut history = hub.subscribe("t", Resume::oldest());
        for i in 0..7 {
            assert_eq!(next_value(&mut history).await.1, i);
        }
        assert_idle(&mut history);
    }

    #[tokio::test]
    async fn an_evicted_or_unknown_id_gets_a_reset_then_the_buffer() {
        let hub = Broadcast::<u32>::with_config(BroadcastConfig::new().replay(3));
        let mut published = Vec::new();
        for i in 0..10 {
            published.push((hub.publish("t", i).await.unwrap(), i));
        }
        let evicted = published[2].0;
        for (n, sent) in [
            evicted.to_string(),
            "garbage".to_owned(),
            EventId::new(1, 0).to_string(),
            // From the future: must not make the subscriber skip what comes next.
            EventId::new(u64::MAX, 0).to_string(),
        ]
        .into_iter()
        .enumerate()
        {
            let mut sub = hub.subscribe("t", Resume::after(sent.clone()));
            match next(&mut sub).await {
                Message::Reset(reset) => assert_eq!(reset.last_event_id(), Some(sent.as_str())),
                other => panic!("expected a reset, got {other:?}"),
            }
            for expected in &published[published.len() - 3..] {
                assert_eq!(next_value(&mut sub).await, *expected);
            }
            assert_idle(&mut sub);
            let value = 100 + u32::try_from(n).unwrap();
            let live = hub.publish("t", value).await.unwrap();
            published.push((live, value));
            assert_eq!(next_value(&mut sub).await, (live, value));
        }
        // A reset echoes at most 128 characters of what the client sent.
        let mut sub = hub.subscribe("t", Resume::after("x".repeat(10_000)));
        let Message::Reset(reset) = next(&mut sub).await else {
            panic!("expected a reset")
        };
        assert_eq!(reset.last_event_id().map(str::len), Some(128));
    }

    #[tokio::test(start_paused = true)]
    async fn the_buffer_forgets_events_past_the_age_limit() {
        let config = BroadcastConfig::new().replay_max_age(Some(Duration::from_secs(10)));
        let hub = Broadcast::<u32>::with_config(config);
        let old = hub.publish("t", 1).await.unwrap();
        tokio::time::advance(Duration::from_secs(6)).await;
        let recent = hub.publish("t", 2).await.unwrap();
        tokio::time::advance(Duration::from_secs(6)).await;
        let mut sub = hub.subscribe("t", Resume::oldest());
        assert_eq!(next_value(&mut sub).await, (recent, 2));
        assert_idle(&mut sub);
        // `old` aged out: resuming from it is announced as a reset.
        let mut sub = hub.subscribe("t", old);
        assert!(matches!(next(&mut sub).await, Message::Reset(_)));
        assert_eq!(next_value(&mut sub).await, (recent, 2));
    }

    #[tokio::test]
    async fn an_overflowing_subscriber_ends_and_the_others_do_not_notice() {
        let hub = Broadcast::<u32>::with_config(BroadcastConfig::new().queue(4));
        let mut slow = hub.subscribe("t", Resume::live());
        let mut fast = hub.subscribe("t", Resume::live());
        let first = hub.publish("t", 0).await.unwrap();
        assert_eq!(next_value(&mut slow).await, (first, 0));
        assert_eq!(next_value(&mut fast).await, (first, 0));
        for i in 1..100 {
            hub.publish("t", i).await.unwrap();
            assert_eq!(next_value(&mut fast).await.1, i);
        }
        let rest: Vec<_> = (&mut slow).collect().await;
        assert!(
            rest.is_empty(),
            "events delivered after the overflow: {rest:?}"
        );
        assert_eq!(slow.end_reason(), Some(EndReason::Overflow));
        assert_eq!(fast.end_reason(), None);
        assert_eq!(hub.subscriber_count("t"), 1);
        // Its client comes back with the last id it got and misses nothing.
        let mut back = hub.subscribe("t", first);
        for i in 1..100 {
            assert_eq!(next_value(&mut back).await.1, i);
        }
        assert_idle(&mut back);
    }

    #[tokio::test]
    async fn overflow_resume_policy_catches_up_from_the_buffer() {
        let config = BroadcastConfig::new().queue(4).overflow(Overflow::Resume);
        let hub = Broadcast::<u32>::with_config(config);
        let mut sub = hub.subscribe("t", Resume::live());
        for i in 0..50 {
            hub.publish("t", i).await.unwrap();
        }
        for i in 0..50 {
            assert_eq!(next_value(&mut sub).await.1, i);
        }
        assert_idle(&mut sub);
        assert_eq!(hub.subscriber_count("t"), 1);

        // When the buffer no longer reaches back, the catch-up starts with a reset.
        let config = BroadcastConfig::new()
            .queue(4)
            .replay(8)
            .overflow(Overflow::Resume);
        let hub = Broadcast::<u32>::with_config(config);
        let mut sub = hub.subscribe("t", Resume::live());
        for i in 0..50 {
            hub.publish("t", i).await.unwrap();
        }
        assert!(matches!(next(&mut sub).await, Message::Reset(_)));
        for i in 42..50 {
            assert_eq!(next_value(&mut sub).await.1, i);
        }
        assert_idle(&mut sub);
        // Same once it has received something: it resumes after the last one it got.
        hub.publish("t", 50).await.unwrap();
        assert_eq!(next_value(&mut sub).await.1, 50);
        for i in 51..100 {
            hub.publish("t", i).await.unwrap();
        }
        assert!(
            matches!(next(&mut sub).await, Message::Reset(reset) if reset.last_event_id().is_some())
        );
        for i in 92..100 {
            assert_eq!(next_value(&mut sub).await.1, i);
        }
        assert_idle(&mut sub);
    }

    #[tokio::test]
    async fn dropping_the_hub_ends_its_subscriptions() {
        let hub = Broadcast::<u32>::new();
        let mut sub = hub.subscribe("t", Resume::live());
        drop(hub);
        assert!(sub.next().await.is_none());
        assert_eq!(sub.end_reason(), Some(EndReason::Closed));
    }

    #[tokio::test(start_paused = true)]
    async fn unused_topics_are_dropped() {
        let config = BroadcastConfig::new().idle_timeout(Duration::from_secs(60));
        let hub = Broadcast::<u32>::with_config(config);

        // Nothing buffered: gone with its last subscriber.
        let sub = hub.subscribe("empty", Resume::live());
        let sub2 = hub.subscribe("empty", Resume::live());
        assert_eq!(hub.topic_count(), 1);
        drop(sub);
        assert_eq!(hub.topic_count(), 1);
        drop(sub2);
        assert_eq!(hub.topic_count(), 0);

        // Something buffered: kept for returning clients until the idle timeout.
        let id = hub.publish("kept", 1).await.unwrap();
        let sub = hub.subscribe("busy", Resume::live());
        tokio::time::advance(Duration::from_secs(30)).await;
        let mut back = hub.subscribe("kept", id);
        assert_idle(&mut back);
        drop(back);
        tokio::time::advance(Duration::from_secs(61)).await;
        hub.publish("other", 2).await.unwrap();
        assert_eq!(
            hub.topic_count(),
            2,
            "`kept` expired, `busy` has a subscriber, `other` is new"
        );
        assert_eq!(hub.subscriber_count("busy"), 1);
        assert_eq!(hub.subscriber_count("kept"), 0);
        // A client coming back to the expired topic is told it missed something.
        let mut late = hub.subscribe("kept", id);
        assert!(matches!(next(&mut late).await, Message::Reset(_)));
        drop((sub, late));
    }

    #[tokio::test]
    async fn into_sse_with_keeps_the_id() {
        let hub = Broadcast::<u32>::new();
        let id = hub.publish("t", 7).await.unwrap();
        let mut events = hub.subscribe("t", Resume::oldest()).into_events();
        let event = events.next().await.unwrap();
        assert_eq!(event.id_value(), Some(id.to_string().as_str()));
        assert_eq!(event.data_text(), Some("7"));
    }
}
