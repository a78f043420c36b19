//! The private backend trait: where a hub's topics live. A backend is one file
//! (`memory.rs`, `redis.rs`) that implements [`Backend`] for its hub and [`Restart`] for
//! the weak handle its subscriptions keep; [`Broadcast`](super::Broadcast) and
//! [`Subscription`](super::Subscription) only ever call these traits.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;

use super::config::BroadcastConfig;
use super::id::EventId;
use super::message::{Entry, Feed, Reset};
use super::resume::Resume;
use super::PublishError;

/// A hub's storage and delivery: in process, or shared through Redis.
pub(super) trait Backend<T>: Send + Sync {
    /// The backend's name, for `Debug`.
    fn name(&self) -> &'static str;

    /// The settings.
    fn config(&self) -> &BroadcastConfig;

    /// How many topics the hub holds.
    fn topic_count(&self) -> usize;

    /// How many subscriptions of `topic` are open.
    fn subscriber_count(&self, topic: &str) -> usize;

    /// Publishes `value` (serialized as `json`) to `topic`.
    fn publish<'a>(&'a self, topic: &'a str, value: T, json: String) -> Publishing<'a>;

    /// Starts a subscription to `topic`, and the weak handle that starts it again after
    /// an overflow under [`Overflow::Resume`](super::Overflow::Resume).
    fn subscribe(self: Arc<Self>, topic: &str, resume: Resume) -> (Begin<T>, Box<dyn Restart<T>>);
}

/// What a subscription keeps of its backend: a weak handle that does not keep the hub
/// alive.
pub(super) trait Restart<T>: Send + Sync {
    /// Starts again from `resume`; `None` once the hub is gone.
    fn restart(&self, topic: &str, resume: Resume) -> Option<Begin<T>>;
}

/// A publish: done at once (in process, no allocation), or still to do (Redis).
pub(super) enum Publishing<'a> {
    Done(Result<EventId, PublishError>),
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Pending(Pin<Box<dyn Future<Output = Result<EventId, PublishError>> + Send + 'a>>),
}

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

    pub(super) async fn recv(&mut self) -> Result<Feed<T>, RecvError> {
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
