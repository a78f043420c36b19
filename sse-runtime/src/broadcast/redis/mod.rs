//! The Redis backend: topics shared by every app instance that uses the same server.
//!
//! - A topic is the stream `<prefix>:<topic>`. Publishing runs one Lua script: `XADD`
//!   with `MAXLEN <replay>` (the id and the replay buffer), `XTRIM MINID` for the age
//!   limit, `PEXPIRE` for the idle timeout, and `PUBLISH` of `<id>\n<json>` on the channel
//!   of the same name. Being one script, the stream and the channel see events in the same
//!   order.
//! - Each instance has one reader task with one pub/sub connection, subscribed to the
//!   channels of the topics that have subscribers on this instance. It feeds a local
//!   topic (a Tokio broadcast channel, as in process) and remembers the last id it fed.
//!   When the connection drops it reconnects with backoff, subscribes again, and catches
//!   up from the stream after that id (`XRANGE`); if the id is gone (Redis restarted
//!   without the stream, or trimmed it meanwhile), or Redis is a new process (its
//!   `run_id` changed), it feeds a gap marker, which each subscriber turns into a reset,
//!   then the whole stream.
//! - A subscriber that resumes registers on the local topic, waits until the topic is
//!   caught up, then reads its replay with `XRANGE` from its `Last-Event-ID`; live events
//!   up to the last replayed id are skipped. So the hand-over has neither gap nor
//!   duplicate, whichever instance the id came from.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use redis::aio::ConnectionManagerConfig;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_util::sync::{CancellationToken, DropGuard};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::backend::{Backend, Begin, Live, Publishing, Restart, Start};
use super::config::BroadcastConfig;
use super::id::EventId;
use super::message::Feed;
use super::resume::{Resume, ResumeKind};
use super::{ConnectError, PublishError};
use conn::Conn;
use publish::PUBLISH_SCRIPT;
use reader::reader;
use replay::start_replay;

mod cluster;
mod cluster_reader;
mod conn;
mod publish;
mod reader;
mod replay;

const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn decode_json<T: serde::de::DeserializeOwned>(json: &str) -> serde_json::Result<T> {
    serde_json::from_str(json)
}

fn backend_error(err: impl std::error::Error + Send + Sync + 'static) -> PublishError {
    PublishError::Backend(Box::new(err))
}

/// The user's handle: when the last one goes, the reader task stops.
pub(crate) struct Hub<T> {
    shared: Arc<Shared<T>>,
    _stop: DropGuard,
}

pub(crate) type WeakHub<T> = Weak<Shared<T>>;

pub(crate) struct Shared<T> {
    config: BroadcastConfig,
    mode: Mode,
    conn: Conn,
    /// The publish script of the mode.
    script: redis::Script,
    topics: Mutex<HashMap<String, Arc<Topic<T>>>>,
    commands: mpsc::UnboundedSender<Command<T>>,
    decode: fn(&str) -> serde_json::Result<T>,
}

/// One Redis server, or a Redis Cluster.
enum Mode {
    /// Its client, for the reader's pub/sub connection.
    Single(redis::Client),
    /// The nodes the hub was configured with, and the script that reads a topic's epoch.
    Cluster(cluster::Nodes),
}

/// A topic with subscribers on this instance.
struct Topic<T> {
    key: String,
    sender: broadcast::Sender<Feed<T>>,
    state: watch::Sender<FeedState>,
    /// The id of the last event fed (written before it is sent).
    pos: Mutex<Option<EventId>>,
}

#[derive(Clone, Copy, Debug, Default)]
struct FeedState {
    /// Subscribed and caught up: live events flow.
    ready: bool,
    /// Incremented on every gap.
    epoch: u64,
}

enum Command<T> {
    Watch(Arc<Topic<T>>),
    Unwatch(Arc<Topic<T>>),
}

impl<T> Hub<T> {
    fn downgrade(&self) -> WeakHub<T> {
        Arc::downgrade(&self.shared)
    }
}

impl<T: Send + Sync + 'static> Hub<T> {
    async fn connect(url: &str, config: BroadcastConfig) -> Result<Self, ConnectError>
    where
        T: serde::de::DeserializeOwned,
    {
        let client = redis::Client::open(url).map_err(ConnectError::new)?;
        let manager = ConnectionManagerConfig::new()
            .set_connection_timeout(CONNECT_TIMEOUT)
            .set_response_timeout(RESPONSE_TIMEOUT)
            .set_number_of_retries(1)
            .set_factor(50)
            .set_max_delay(500);
        let conn = client
            .get_connection_manager_with_config(manager)
            .await
            .map_err(ConnectError::new)?;
        Ok(Self::start(
            config,
            Mode::Single(client),
            Conn::Single(conn),
            PUBLISH_SCRIPT,
        ))
    }

    /// The shared state and its reader task.
    fn start(config: BroadcastConfig, mode: Mode, conn: Conn, script: &str) -> Self
    where
        T: serde::de::DeserializeOwned,
    {
        let (commands, receiver) = mpsc::unbounded_channel();
        let cluster = matches!(mode, Mode::Cluster(_));
        let shared = Arc::new(Shared {
            config,
            mode,
            conn,
            script: redis::Script::new(script),
            topics: Mutex::new(HashMap::new()),
            commands,
            decode: decode_json::<T>,
        });
        let stop = CancellationToken::new();
        if cluster {
            tokio::spawn(cluster_reader::reader(
                Arc::clone(&shared),
                receiver,
                stop.clone(),
            ));
        } else {
            tokio::spawn(reader(Arc::clone(&shared), receiver, stop.clone()));
        }
        Self {
            shared,
            _stop: stop.drop_guard(),
        }
    }
}

impl<T> super::Broadcast<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// A hub backed by the Redis server at `url` (`redis://host:port/db`): instances that
    /// use the same server and [`key_prefix`](BroadcastConfig::key_prefix) share topics,
    /// and a `Last-Event-ID` from one resumes on another.
    ///
    /// Connects before returning (and fails if Redis cannot be reached). Afterwards the hub
    /// reconnects by itself: while Redis is down, [`publish`](Self::publish) fails and
    /// subscriptions wait; when it is back they catch up from the stream (a reset first if
    /// the stream was lost). Needs a Tokio runtime. Redis 6.2 or later.
    pub async fn redis(url: &str, config: BroadcastConfig) -> Result<Self, ConnectError> {
        let hub = Hub::connect(url, config).await?;
        Ok(Self {
            backend: Arc::new(hub),
            labels: Arc::default(),
        })
    }
}

impl<T: Send + Sync + 'static> Backend<T> for Hub<T> {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn config(&self) -> &BroadcastConfig {
        &self.shared.config
    }

    fn topic_count(&self) -> usize {
        lock(&self.shared.topics).len()
    }

    fn subscriber_count(&self, name: &str) -> usize {
        lock(&self.shared.topics).get(name).map_or(0, |topic| {
            if topic.state.borrow().ready {
                topic.sender.receiver_count()
            } else {
                0
            }
        })
    }

    fn publish<'a>(&'a self, topic: &'a str, _: T, json: String) -> Publishing<'a> {
        match self.shared.mode {
            Mode::Single(_) => Publishing::Pending(Box::pin(self.shared.publish(topic, json))),
            Mode::Cluster(_) => {
                Publishing::Pending(Box::pin(self.shared.publish_cluster(topic, json)))
            }
        }
    }

    fn subscribe(self: Arc<Self>, topic: &str, resume: Resume) -> (Begin<T>, Box<dyn Restart<T>>) {
        let restart = Box::new(self.downgrade());
        (self.shared.begin(topic, resume), restart)
    }
}

impl<T: Send + Sync + 'static> Restart<T> for WeakHub<T> {
    fn restart(&self, topic: &str, resume: Resume) -> Option<Begin<T>> {
        self.upgrade().map(|hub| hub.begin(topic, resume))
    }
}

impl<T: Send + Sync + 'static> Shared<T> {
    /// The topic's stream, also the name of its channel. On a cluster the whole name is a
    /// hash tag, so the stream, the channel and the epoch (`<key>:epoch`) share one slot.
    fn key(&self, topic: &str) -> String {
        match self.mode {
            Mode::Single(_) => format!("{}:{topic}", self.config.key_prefix),
            Mode::Cluster(_) => format!("{{{}:{topic}}}", self.config.key_prefix),
        }
    }

    /// Registers a subscriber on the local topic (made and watched if new).
    pub(crate) fn begin(self: &Arc<Self>, name: &str, resume: Resume) -> Begin<T> {
        let (live, state, position, key) = {
            let mut topics = lock(&self.topics);
            let topic = match topics.get(name) {
                Some(topic) => Arc::clone(topic),
                None => {
                    let (sender, _) = broadcast::channel(self.config.queue);
                    let topic = Arc::new(Topic {
                        key: self.key(name),
                        sender,
                        state: watch::Sender::new(FeedState::default()),
                        pos: Mutex::new(None),
                    });
                    topics.insert(name.to_owned(), Arc::clone(&topic));
                    // Sent under the lock, so watch/unwatch reach the reader in order.
                    let _ = self.commands.send(Command::Watch(Arc::clone(&topic)));
                    topic
                }
            };
            let rx = topic.sender.subscribe();
            let state = topic.state.subscribe();
            let position = *lock(&topic.pos);
            let weak = Arc::downgrade(self);
            let name = name.to_owned();
            let live = Live::new(rx, move || {
                if let Some(shared) = weak.upgrade() {
                    shared.release(&name);
                }
            });
            (live, state, position, topic.key.clone())
        };
        if resume.0 == ResumeKind::Live {
            let epoch = state.borrow().epoch;
            return Begin::Ready(Start {
                live,
                replay: VecDeque::new(),
                reset: None,
                position,
                epoch,
            });
        }
        Begin::Pending(Box::pin(start_replay(
            Arc::downgrade(self),
            key,
            state,
            live,
            resume,
        )))
    }

    /// A subscriber left: stop watching the topic if it was the last one here.
    fn release(&self, name: &str) {
        let mut topics = lock(&self.topics);
        if topics
            .get(name)
            .is_some_and(|topic| topic.sender.receiver_count() == 0)
        {
            if let Some(topic) = topics.remove(name) {
                let _ = self.commands.send(Command::Unwatch(topic));
            }
        }
    }
}
