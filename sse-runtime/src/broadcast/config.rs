//! [`BroadcastConfig`]: a hub's settings, and the [`Overflow`] policy.

use std::time::Duration;

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

/// Settings of a [`Broadcast`](super::Broadcast) hub.
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
/// assert_eq!(config.get_replay(), 500);
/// assert_eq!(config.get_queue(), 64);
/// ```
#[must_use = "a BroadcastConfig does nothing until it makes a Broadcast"]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BroadcastConfig {
    pub(super) replay: usize,
    pub(super) max_age: Option<Duration>,
    pub(super) queue: usize,
    pub(super) overflow: Overflow,
    pub(super) idle_timeout: Duration,
    pub(super) key_prefix: String,
    pub(super) replicas: usize,
    pub(super) replica_timeout: Duration,
}

impl Default for BroadcastConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl BroadcastConfig {
    /// Replay 1024 events per topic (no age limit), queues of 256 events,
    /// [`Overflow::Disconnect`], topics dropped after 5 minutes unused, Redis keys under
    /// `sse:broadcast`; on Redis Cluster, a publish waits up to 100 ms for one replica.
    pub fn new() -> Self {
        Self {
            replay: 1024,
            max_age: None,
            queue: 256,
            overflow: Overflow::Disconnect,
            idle_timeout: Duration::from_secs(300),
            key_prefix: "sse:broadcast".to_owned(),
            replicas: 1,
            replica_timeout: Duration::from_millis(100),
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

    /// On Redis Cluster: after each publish, wait up to `timeout` until `replicas` replicas
    /// of the topic's node have the event (`WAIT`; fewer when the node has fewer replicas
    /// connected, none when it has none). If they do not confirm in time,
    /// [`publish`](super::Broadcast::publish) returns
    /// [`PublishError::Unconfirmed`](super::PublishError::Unconfirmed): the event was
    /// published, but a failover now may lose it (its subscribers then get a reset).
    /// `replicas` 0 does not wait. Default: 1 replica, 100 ms. Ignored by the other
    /// backends.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sse_runtime::broadcast::BroadcastConfig;
    ///
    /// let config = BroadcastConfig::new().wait_for_replicas(1, Duration::from_millis(250));
    /// assert_eq!(config.get_wait_for_replicas(), (1, Duration::from_millis(250)));
    /// ```
    pub fn wait_for_replicas(mut self, replicas: usize, timeout: Duration) -> Self {
        self.replicas = replicas;
        self.replica_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How many replicas a publish waits for on Redis Cluster, and how long.
    pub fn get_wait_for_replicas(&self) -> (usize, Duration) {
        (self.replicas, self.replica_timeout)
    }

    /// The replay buffer's length per topic.
    pub fn get_replay(&self) -> usize {
        self.replay
    }

    /// The replay buffer's age limit.
    pub fn get_replay_max_age(&self) -> Option<Duration> {
        self.max_age
    }

    /// A subscriber's queue length.
    pub fn get_queue(&self) -> usize {
        self.queue
    }

    /// The overflow policy.
    pub fn get_overflow(&self) -> Overflow {
        self.overflow
    }

    /// The idle timeout of a topic.
    pub fn get_idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// The Redis key prefix.
    pub fn get_key_prefix(&self) -> &str {
        &self.key_prefix
    }
}
