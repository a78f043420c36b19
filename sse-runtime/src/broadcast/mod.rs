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
//! // Subscribed, its replay (none here) sent: the ready step, which a response sends as
//! // its headers and nothing else.
//! assert!(matches!(live.next().await, Some(Message::Open)));
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
//! Subscribe, then return the [`Subscription`]: that is the one way. It is a response
//! (`impl IntoResponse`, for a plain handler) and a `Stream + Send + 'static` of
//! [`Message`]s, each one SSE event with its id (for an `sse` route):
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
//! The same without the attribute, next to the route that publishes (to transform the
//! messages instead, loop over the subscription in a generator and keep each id with
//! [`Message::into_event_with`]):
//!
//! ```
//! use sse_runtime::broadcast::{Broadcast, Subscription};
//! use sse_runtime::{App, Json, LastEventId, Path, State};
//!
//! async fn events(
//!     State(hub): State<Broadcast<String>>,
//!     Path(room): Path<String>,
//!     last: LastEventId,
//! ) -> Subscription<String> {
//!     hub.subscribe(&room, last)
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
//! pub/sub, and a `Last-Event-ID` from one instance resumes on another.
//! [`Broadcast::redis_cluster`] does the same on a Redis Cluster: each topic's keys in one
//! hash slot, sharded pub/sub, and ids that carry the topic's epoch, so that a failover
//! that may have lost events is announced with a reset. See `docs/broadcast.md` for the
//! design.

mod backend;
mod config;
mod id;
mod memory;
mod message;
#[cfg(feature = "redis")]
mod redis;
mod resume;
mod subscription;

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::observability::TopicLabels;
use backend::{Backend, Publishing};

pub use config::{BroadcastConfig, Overflow};
pub use id::{EventId, ParseEventIdError};
pub use message::{Message, MessageEvent, Published, Reset};
pub use resume::Resume;
pub use subscription::{EndReason, Subscription};

/// The `event:` name of the event that tells a subscriber its `Last-Event-ID` could not be
/// resumed from (see [`Reset`]).
pub const RESET_EVENT: &str = "reset";

/// Why [`Broadcast::redis`] could not start: the URL is invalid or Redis could not be
/// reached (feature `redis`).
#[cfg(feature = "redis")]
#[derive(Debug)]
#[non_exhaustive]
pub struct ConnectError(crate::BoxError);

#[cfg(feature = "redis")]
impl ConnectError {
    fn new(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(Box::new(err))
    }
}

#[cfg(feature = "redis")]
impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot connect to the broadcast backend: {}", self.0)
    }
}

#[cfg(feature = "redis")]
impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

/// Why [`Broadcast::publish`] failed. Nothing was delivered or stored, except after
/// [`Unconfirmed`](PublishError::Unconfirmed).
#[derive(Debug)]
#[non_exhaustive]
pub enum PublishError {
    /// The value could not be serialized as JSON.
    Encode(serde_json::Error),
    /// The backend (Redis) refused or could not be reached.
    Backend(crate::BoxError),
    /// Redis Cluster: the event was published (it has this id and went to the
    /// subscribers), but no replica confirmed it within
    /// [`wait_for_replicas`](BroadcastConfig::wait_for_replicas)' timeout. Replication is
    /// asynchronous, so a failover now may lose it; its subscribers are then told with a
    /// reset (the topic's epoch changes), never silently. Publish it again if it must
    /// not be lost (and accept a duplicate if it was not).
    Unconfirmed(EventId),
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishError::Encode(err) => write!(f, "event data failed to serialize: {err}"),
            PublishError::Backend(err) => write!(f, "broadcast backend unavailable: {err}"),
            PublishError::Unconfirmed(id) => write!(
                f,
                "event {id} was published but no replica confirmed it: a failover may lose it"
            ),
        }
    }
}

impl std::error::Error for PublishError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PublishError::Encode(err) => Some(err),
            PublishError::Backend(err) => Some(&**err),
            PublishError::Unconfirmed(_) => None,
        }
    }
}

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
    backend: Arc<dyn Backend<T>>,
    /// The `topic` label of its subscriptions' metrics (bounded).
    labels: Arc<TopicLabels>,
}

impl<T> Clone for Broadcast<T> {
    fn clone(&self) -> Self {
        Self {
            backend: Arc::clone(&self.backend),
            labels: Arc::clone(&self.labels),
        }
    }
}

impl<T> fmt::Debug for Broadcast<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Broadcast")
            .field("backend", &self.backend.name())
            .field("config", self.config())
            .finish_non_exhaustive()
    }
}

impl<T> Broadcast<T> {
    /// The settings.
    pub fn config(&self) -> &BroadcastConfig {
        self.backend.config()
    }

    /// How many topics this hub holds (on Redis: topics with subscribers on this
    /// instance).
    pub fn topic_count(&self) -> usize {
        self.backend.topic_count()
    }

    /// How many subscriptions of `topic` are open (on Redis: on this instance, counted
    /// once the instance receives the topic's live events).
    pub fn subscriber_count(&self, topic: &str) -> usize {
        self.backend.subscriber_count(topic)
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
            backend: Arc::new(memory::Hub::new(config)),
            labels: Arc::default(),
        }
    }

    /// Publishes `value` to `topic` (made if needed): it is buffered for replay and sent to
    /// every subscriber, as JSON `data:` with its new id, which is returned.
    ///
    /// Never waits for subscribers. In process it only fails if `value` does not serialize;
    /// on Redis it also fails when Redis cannot be reached (nothing is then published).
    pub async fn publish(&self, topic: &str, value: T) -> Result<EventId, PublishError> {
        let json = serde_json::to_string(&value).map_err(PublishError::Encode)?;
        match self.backend.publish(topic, value, json) {
            Publishing::Done(published) => published,
            Publishing::Pending(publishing) => publishing.await,
        }
    }

    /// Subscribes to `topic` (made if needed), starting as `resume` says — usually the
    /// request's [`LastEventId`](crate::LastEventId). In process, the subscription is registered at once:
    /// everything published after this call is delivered. On Redis, a
    /// [`live`](Resume::live) subscription gets what is published once this instance
    /// receives the topic (a few milliseconds for a topic new to it;
    /// [`subscriber_count`](Self::subscriber_count) counts it from then), while a resuming
    /// one reads its replay from Redis after that point, so it misses nothing.
    pub fn subscribe(&self, topic: &str, resume: impl Into<Resume>) -> Subscription<T> {
        let resume = resume.into();
        let config = self.config();
        let overflow = config.overflow;
        let (begin, restart) = Arc::clone(&self.backend).subscribe(topic, resume);
        let label = self.labels.label(topic);
        Subscription::new(topic, restart, begin, overflow, label)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_util::StreamExt;

    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Poll};

    use bytes::BytesMut;
    use futures_core::Stream;

    use super::message::Entry;
    use super::*;
    use crate::event::into_event::IntoEvent;
    use crate::LastEventId;

    /// The next event or reset (the ready step, `Message::Open`, is skipped).
    async fn next<T>(sub: &mut Subscription<T>) -> Message<T> {
        loop {
            match tokio::time::timeout(Duration::from_secs(5), sub.next()).await {
                Ok(Some(Message::Open)) => continue,
                Ok(Some(message)) => return message,
                Ok(None) => panic!("subscription ended ({:?})", sub.end_reason()),
                Err(_) => panic!("no message within 5 s"),
            }
        }
    }

    async fn next_value(sub: &mut Subscription<u32>) -> (EventId, u32) {
        match next(sub).await {
            Message::Event(event) => (event.id(), *event.data()),
            other => panic!("unexpected {other:?}"),
        }
    }

    /// Nothing more is ready right now.
    fn assert_idle<T>(sub: &mut Subscription<T>) {
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut polled = Pin::new(&mut *sub).poll_next(&mut cx);
        if matches!(polled, Poll::Ready(Some(Message::Open))) {
            polled = Pin::new(sub).poll_next(&mut cx);
        }
        assert!(polled.is_pending(), "expected no more messages");
    }

    #[test]
    fn event_ids_parse_strictly_and_order_as_pairs() {
        let id: EventId = "17-3".parse().unwrap();
        assert_eq!(id, EventId::new(17, 3));
        assert_eq!(id.to_string(), "17-3");
        for bad in [
            "", "17", "-3", "17-", "a-1", "1-b", "+1-2", "1--2", " 1-2", "1-2 ", "1-2-", "1-2-3-4",
            "1-2-x",
        ] {
            assert!(bad.parse::<EventId>().is_err(), "{bad:?} parsed");
        }
        assert!("99999999999999999999-0".parse::<EventId>().is_err());
        // Redis Cluster: an epoch as a third part; ids of two epochs differ.
        let epoch: EventId = "17-3-9".parse().unwrap();
        assert_eq!((epoch.epoch(), epoch.to_string()), (9, "17-3-9".to_owned()));
        assert_ne!(epoch, id);
        assert_eq!(epoch.stream_id(), "17-3");
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
        assert_eq!(BroadcastConfig::new().queue(0).get_queue(), 1);
        assert_eq!(BroadcastConfig::new().queue(5).get_queue(), 8);
        assert_eq!(
            BroadcastConfig::new()
                .replay_max_age(Some(Duration::ZERO))
                .get_replay_max_age(),
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
        let untyped = message.clone().into_event().unwrap();
        assert_eq!(untyped.to_string(), "data: \"hi\"\nid: 5-2\n\n");
        let mut buf = BytesMut::new();
        message.clone().encode_into(&mut buf).unwrap();
        assert_eq!(&buf[..], b"data: \"hi\"\nid: 5-2\n\n");

        let reset: Message<String> = Message::Reset(Reset::new(Some("1-0\"".to_owned())));
        assert_eq!(
            reset.clone().into_event().unwrap().to_string(),
            "event: reset\ndata: {\"last_event_id\":\"1-0\\\"\"}\n\n"
        );
        assert_eq!(reset.id(), None);

        // The typed counterparts send the same bytes.
        let typed: crate::Event<String> = message.into_event_with(|v| crate::Event::new(v.clone()));
        assert_eq!(typed.to_string(), "data: \"hi\"\nid: 5-2\n\n");
        let typed: crate::Event<String> = reset.into_event_with(|v| crate::Event::new(v.clone()));
        assert_eq!(typed.to_string(), reset_frame());
        assert_eq!(typed.get_event(), Some(RESET_EVENT));
    }

    fn reset_frame() -> String {
        Reset::new(Some("1-0\"".to_owned())).to_event().to_string()
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
        let mut next = sub.next().await;
        if matches!(next, Some(Message::Open)) {
            next = sub.next().await;
        }
        assert!(next.is_none());
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
    async fn into_event_with_keeps_the_id() {
        let hub = Broadcast::<u32>::new();
        let id = hub.publish("t", 7).await.unwrap();
        let mut events = hub
            .subscribe("t", Resume::oldest())
            .map(|m| m.into_event_with(|n| crate::ServerSentEvent::new().data(n)));
        let event = events.next().await.unwrap();
        assert_eq!(event.get_id(), Some(id.to_string().as_str()));
        assert_eq!(event.get_data(), Some("7"));
    }

    #[tokio::test]
    async fn the_ready_step_comes_once_after_the_replay_and_sends_nothing() {
        let hub = Broadcast::<u32>::new();
        hub.publish("t", 1).await.unwrap();
        let mut sub = hub.subscribe("t", Resume::oldest());
        assert!(matches!(sub.next().await, Some(Message::Event(_))));
        let open = sub.next().await.unwrap();
        assert!(matches!(open, Message::Open), "{open:?}");
        let mut buf = BytesMut::new();
        assert_eq!(open.encode_shared(&mut buf).unwrap(), None);
        assert!(buf.is_empty());
        hub.publish("t", 2).await.unwrap();
        assert!(matches!(sub.next().await, Some(Message::Event(_))));
        assert_idle(&mut sub);
    }
}
