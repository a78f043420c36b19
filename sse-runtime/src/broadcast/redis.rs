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

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSubSink};
use redis::streams::StreamRangeReply;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_util::sync::{CancellationToken, DropGuard};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::backend::{Backend, Begin, Live, Publishing, Restart, Start};
use super::config::BroadcastConfig;
use super::id::EventId;
use super::message::{Entry, Feed, Reset};
use super::resume::{echo_id, Resume, ResumeKind};
use super::PublishError;

/// XADD + trim + expire + PUBLISH, atomically.
/// KEYS[1]: the stream (and channel); ARGV: json, maxlen, max age in ms (0: none), ttl ms.
const PUBLISH_SCRIPT: &str = r"
local id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[2], '*', 'data', ARGV[1])
local max_age = tonumber(ARGV[3])
if max_age > 0 then
  local cutoff = tonumber(string.match(id, '^(%d+)')) - max_age
  if cutoff > 0 then
    redis.call('XTRIM', KEYS[1], 'MINID', string.format('%.0f', cutoff))
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PUBLISH', KEYS[1], id .. '\n' .. ARGV[1])
return id
";

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
    client: redis::Client,
    conn: ConnectionManager,
    script: redis::Script,
    topics: Mutex<HashMap<String, Arc<Topic<T>>>>,
    commands: mpsc::UnboundedSender<Command<T>>,
    decode: fn(&str) -> serde_json::Result<T>,
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
    pub(crate) fn config(&self) -> &BroadcastConfig {
        &self.shared.config
    }

    pub(crate) fn topic_count(&self) -> usize {
        lock(&self.shared.topics).len()
    }

    pub(crate) fn subscriber_count(&self, name: &str) -> usize {
        lock(&self.shared.topics).get(name).map_or(0, |topic| {
            if topic.state.borrow().ready {
                topic.sender.receiver_count()
            } else {
                0
            }
        })
    }

    pub(crate) fn downgrade(&self) -> WeakHub<T> {
        Arc::downgrade(&self.shared)
    }
}

impl<T: Send + Sync + 'static> Hub<T> {
    pub(crate) async fn connect(url: &str, config: BroadcastConfig) -> Result<Self, PublishError>
    where
        T: serde::de::DeserializeOwned,
    {
        let client = redis::Client::open(url).map_err(backend_error)?;
        let manager = ConnectionManagerConfig::new()
            .set_connection_timeout(CONNECT_TIMEOUT)
            .set_response_timeout(RESPONSE_TIMEOUT)
            .set_number_of_retries(1)
            .set_factor(50)
            .set_max_delay(500);
        let conn = client
            .get_connection_manager_with_config(manager)
            .await
            .map_err(backend_error)?;
        let (commands, receiver) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            config,
            client,
            conn,
            script: redis::Script::new(PUBLISH_SCRIPT),
            topics: Mutex::new(HashMap::new()),
            commands,
            decode: decode_json::<T>,
        });
        let stop = CancellationToken::new();
        tokio::spawn(reader(Arc::clone(&shared), receiver, stop.clone()));
        Ok(Self {
            shared,
            _stop: stop.drop_guard(),
        })
    }

    pub(crate) async fn publish(&self, topic: &str, json: String) -> Result<EventId, PublishError> {
        self.shared.publish(topic, json).await
    }

    pub(crate) fn begin(&self, topic: &str, resume: Resume) -> Begin<T> {
        self.shared.begin(topic, resume)
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
    pub async fn redis(url: &str, config: BroadcastConfig) -> Result<Self, PublishError> {
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
        Hub::config(self)
    }

    fn topic_count(&self) -> usize {
        Hub::topic_count(self)
    }

    fn subscriber_count(&self, topic: &str) -> usize {
        Hub::subscriber_count(self, topic)
    }

    fn publish<'a>(&'a self, topic: &'a str, _: T, json: String) -> Publishing<'a> {
        Publishing::Pending(Box::pin(Hub::publish(self, topic, json)))
    }

    fn subscribe(self: Arc<Self>, topic: &str, resume: Resume) -> (Begin<T>, Box<dyn Restart<T>>) {
        let restart = Box::new(self.downgrade());
        (Hub::begin(&self, topic, resume), restart)
    }
}

impl<T: Send + Sync + 'static> Restart<T> for WeakHub<T> {
    fn restart(&self, topic: &str, resume: Resume) -> Option<Begin<T>> {
        self.upgrade().map(|hub| hub.begin(topic, resume))
    }
}

impl<T: Send + Sync + 'static> Shared<T> {
    fn key(&self, topic: &str) -> String {
        format!("{}:{topic}", self.config.key_prefix)
    }

    async fn publish(&self, topic: &str, json: String) -> Result<EventId, PublishError> {
        let key = self.key(topic);
        let max_age = self
            .config
            .max_age
            .map_or(0, |age| u64::try_from(age.as_millis()).unwrap_or(u64::MAX));
        let ttl = u64::try_from(
            self.config
                .idle_timeout
                .max(Duration::from_secs(1))
                .as_millis(),
        )
        .unwrap_or(u64::MAX);
        let mut conn = self.conn.clone();
        let mut invocation = self.script.key(&key);
        invocation
            .arg(json)
            .arg(self.config.replay)
            .arg(max_age)
            .arg(ttl);
        let id: String = invocation.invoke_async(&mut conn).await.map_err(|err| {
            tracing::warn!(topic, error = %err, "broadcast publish failed: Redis unavailable");
            backend_error(err)
        })?;
        id.parse().map_err(backend_error)
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

/// Waits for the topic's feed, then reads the subscriber's replay from the stream.
async fn start_replay<T: Send + Sync + 'static>(
    shared: Weak<Shared<T>>,
    key: String,
    mut state: watch::Receiver<FeedState>,
    live: Live<T>,
    resume: Resume,
) -> Option<Start<T>> {
    let mut backoff = MIN_BACKOFF;
    loop {
        let epoch = loop {
            let now = *state.borrow_and_update();
            if now.ready {
                break now.epoch;
            }
            // Err: the topic is gone with the hub.
            state.changed().await.ok()?;
        };
        let (mut conn, decode) = {
            let shared = shared.upgrade()?;
            (shared.conn.clone(), shared.decode)
        };
        match read_replay(&mut conn, &key, &resume, decode).await {
            Ok((replay, reset, after)) => {
                let now = *state.borrow();
                // The feed did not reconnect meanwhile: the replay and it meet exactly.
                if now.ready && now.epoch == epoch {
                    let position = replay.back().map(|entry| entry.id).or(after);
                    return Some(Start {
                        live,
                        replay,
                        reset,
                        position,
                        epoch,
                    });
                }
            }
            Err(err) => {
                tracing::warn!(key = %key, error = %err, "broadcast replay read failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

type Replay<T> = (VecDeque<Arc<Entry<T>>>, Option<Reset>, Option<EventId>);

async fn read_replay<T>(
    conn: &mut ConnectionManager,
    key: &str,
    resume: &Resume,
    decode: fn(&str) -> serde_json::Result<T>,
) -> redis::RedisResult<Replay<T>> {
    match &resume.0 {
        ResumeKind::Live => Ok((VecDeque::new(), None, None)),
        ResumeKind::Oldest => Ok((xrange(conn, key, "-", decode).await?, None, None)),
        // Whether the stream still holds the topic's first event is not known: assume not.
        ResumeKind::Beginning => Ok((
            xrange(conn, key, "-", decode).await?,
            Some(Reset::new(None)),
            None,
        )),
        ResumeKind::After(raw) => {
            if let Ok(id) = raw.parse::<EventId>() {
                let mut entries = xrange(conn, key, &id.to_string(), decode).await?;
                if entries.front().is_some_and(|entry| entry.id == id) {
                    entries.pop_front();
                    return Ok((entries, None, Some(id)));
                }
            }
            let entries = xrange(conn, key, "-", decode).await?;
            Ok((entries, Some(Reset::new(Some(echo_id(raw)))), None))
        }
    }
}

/// `XRANGE key <from> +`, decoded. Entries that do not decode are skipped (and logged).
async fn xrange<T>(
    conn: &mut ConnectionManager,
    key: &str,
    from: &str,
    decode: fn(&str) -> serde_json::Result<T>,
) -> redis::RedisResult<VecDeque<Arc<Entry<T>>>> {
    let reply: StreamRangeReply = redis::cmd("XRANGE")
        .arg(key)
        .arg(from)
        .arg("+")
        .query_async(conn)
        .await?;
    Ok(reply
        .ids
        .into_iter()
        .filter_map(|item| {
            let id = item.id.parse::<EventId>().ok()?;
            let json: String = item
                .map
                .get("data")
                .and_then(|value| redis::from_redis_value(value).ok())?;
            decode_entry(key, id, json, decode)
        })
        .collect())
}

fn decode_entry<T>(
    key: &str,
    id: EventId,
    json: String,
    decode: fn(&str) -> serde_json::Result<T>,
) -> Option<Arc<Entry<T>>> {
    match decode(&json) {
        Ok(data) => Some(Arc::new(Entry::new(id, data, json))),
        Err(err) => {
            tracing::warn!(key, id = %id, error = %err, "broadcast event does not decode as this hub's type; skipped");
            None
        }
    }
}

async fn newest_id(conn: &mut ConnectionManager, key: &str) -> redis::RedisResult<EventId> {
    let reply: StreamRangeReply = redis::cmd("XREVRANGE")
        .arg(key)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query_async(conn)
        .await?;
    Ok(reply
        .ids
        .first()
        .and_then(|item| item.id.parse().ok())
        .unwrap_or(EventId::ZERO))
}

// ---------------------------------------------------------------------------------------
// The reader task
// ---------------------------------------------------------------------------------------

/// A watched topic, as the reader sees it.
struct Watched<T> {
    topic: Arc<Topic<T>>,
    /// The last id fed; `None` until the feed has a starting point.
    pos: Option<EventId>,
}

async fn reader<T: Send + Sync + 'static>(
    shared: Arc<Shared<T>>,
    mut commands: mpsc::UnboundedReceiver<Command<T>>,
    stop: CancellationToken,
) {
    let mut watched: HashMap<String, Watched<T>> = HashMap::new();
    tokio::select! {
        () = stop.cancelled() => {}
        () = run_reader(&shared, &mut commands, &mut watched) => {}
    }
    tracing::debug!("broadcast reader stopped");
}

async fn run_reader<T: Send + Sync + 'static>(
    shared: &Shared<T>,
    commands: &mut mpsc::UnboundedReceiver<Command<T>>,
    watched: &mut HashMap<String, Watched<T>>,
) {
    let mut backoff = MIN_BACKOFF;
    let mut outage = false;
    // The `run_id` of the Redis process last synced with: a new one means Redis
    // restarted, and whatever it held that was not persisted may be gone.
    let mut run_id: Option<String> = None;
    loop {
        let connected =
            match tokio::time::timeout(CONNECT_TIMEOUT, shared.client.get_async_pubsub()).await {
                Ok(Ok(pubsub)) => {
                    let (mut sink, messages) = pubsub.split();
                    match resync(shared, &mut sink, watched, &mut run_id).await {
                        Ok(()) => Ok((sink, messages)),
                        Err(err) => Err(err.to_string()),
                    }
                }
                Ok(Err(err)) => Err(err.to_string()),
                Err(_) => Err("connection timed out".to_owned()),
            };
        let (mut sink, mut messages) = match connected {
            Ok(pair) => pair,
            Err(err) => {
                if !outage {
                    tracing::warn!(error = %err, "broadcast: cannot reach Redis; retrying");
                    outage = true;
                }
                set_ready(watched, false);
                let sleep = tokio::time::sleep(backoff);
                tokio::pin!(sleep);
                loop {
                    tokio::select! {
                        () = &mut sleep => break,
                        command = commands.recv() => match command {
                            Some(command) => apply_offline(watched, command),
                            None => return,
                        },
                    }
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        if outage {
            tracing::info!("broadcast: reconnected to Redis");
            crate::observability::redis_reconnected();
        }
        backoff = MIN_BACKOFF;
        let lost = loop {
            tokio::select! {
                command = commands.recv() => {
                    let Some(command) = command else { return };
                    if let Err(err) = apply(shared, &mut sink, watched, command).await {
                        break err.to_string();
                    }
                }
                message = messages.next() => match message {
                    Some(message) => dispatch(shared, watched, &message),
                    None => break "pub/sub connection closed".to_owned(),
                },
            }
        };
        tracing::warn!(error = %lost, "broadcast: lost the Redis pub/sub connection; reconnecting");
        outage = true;
        set_ready(watched, false);
    }
}

fn set_ready<T>(watched: &HashMap<String, Watched<T>>, ready: bool) {
    for entry in watched.values() {
        entry.topic.state.send_modify(|state| state.ready = ready);
    }
}

/// After (re)connecting: subscribe to every watched channel, then catch each topic up.
///
/// `run_id` is the id of the Redis process synced with last; when it changed, Redis
/// restarted and every fed topic gets a gap marker: an event it acknowledged before the
/// restart may be gone without a trace (not yet delivered here, and not persisted),
/// even when the stream still holds the last id fed (a restart that kept the stream up
/// to a snapshot), or when nothing had been fed yet.
async fn resync<T: Send + Sync + 'static>(
    shared: &Shared<T>,
    sink: &mut PubSubSink,
    watched: &mut HashMap<String, Watched<T>>,
    run_id: &mut Option<String>,
) -> redis::RedisResult<()> {
    let now = server_run_id(&mut shared.conn.clone()).await?;
    let restarted = run_id.as_ref().is_some_and(|before| *before != now);
    if restarted {
        tracing::warn!(
            run_id = %now,
            "broadcast: Redis restarted; subscribers of every topic get a reset"
        );
    }
    *run_id = Some(now);
    if watched.is_empty() {
        return Ok(());
    }
    let keys: Vec<&String> = watched.keys().collect();
    sink.subscribe(keys).await?;
    for entry in watched.values_mut() {
        catch_up(shared, entry, restarted).await?;
    }
    Ok(())
}

/// The `run_id` of the Redis server behind `conn` (`INFO server`): a random id each
/// start of the process.
async fn server_run_id(conn: &mut ConnectionManager) -> redis::RedisResult<String> {
    let info: String = redis::cmd("INFO").arg("server").query_async(conn).await?;
    info.lines()
        .find_map(|line| line.strip_prefix("run_id:"))
        .map(|id| id.trim().to_owned())
        .ok_or_else(|| {
            redis::RedisError::from((
                redis::ErrorKind::ResponseError,
                "INFO server without a run_id",
            ))
        })
}

fn apply_offline<T>(watched: &mut HashMap<String, Watched<T>>, command: Command<T>) {
    match command {
        Command::Watch(topic) => {
            watched.insert(topic.key.clone(), Watched { topic, pos: None });
        }
        Command::Unwatch(topic) => {
            if watched
                .get(&topic.key)
                .is_some_and(|entry| Arc::ptr_eq(&entry.topic, &topic))
            {
                watched.remove(&topic.key);
            }
        }
    }
}

async fn apply<T: Send + Sync + 'static>(
    shared: &Shared<T>,
    sink: &mut PubSubSink,
    watched: &mut HashMap<String, Watched<T>>,
    command: Command<T>,
) -> redis::RedisResult<()> {
    match command {
        Command::Watch(topic) => {
            // Recorded first: if Redis fails now, the reconnection subscribes it.
            let key = topic.key.clone();
            let entry = watched
                .entry(key.clone())
                .or_insert(Watched { topic, pos: None });
            sink.subscribe(&key).await?;
            catch_up(shared, entry, false).await
        }
        Command::Unwatch(topic) => {
            let key = topic.key.clone();
            apply_offline(watched, Command::Unwatch(topic));
            if !watched.contains_key(&key) {
                sink.unsubscribe(&key).await?;
            }
            Ok(())
        }
    }
}

/// Brings a topic's feed up to date with its stream, once its channel is subscribed:
/// establishes the starting point of a new feed, or feeds what was missed while
/// disconnected (a gap marker first when that cannot be known, and always when Redis
/// `restarted` meanwhile).
async fn catch_up<T: Send + Sync + 'static>(
    shared: &Shared<T>,
    entry: &mut Watched<T>,
    restarted: bool,
) -> redis::RedisResult<()> {
    let mut conn = shared.conn.clone();
    let key = entry.topic.key.clone();
    match entry.pos {
        None => {
            let newest = newest_id(&mut conn, &key).await?;
            set_pos(entry, newest);
        }
        Some(pos) => {
            let missed = if restarted {
                gap(entry, pos);
                xrange(&mut conn, &key, "-", shared.decode).await?
            } else if pos == EventId::ZERO {
                xrange(&mut conn, &key, "-", shared.decode).await?
            } else {
                let mut missed = xrange(&mut conn, &key, &pos.to_string(), shared.decode).await?;
                if missed.front().is_some_and(|first| first.id == pos) {
                    missed.pop_front();
                    missed
                } else {
                    gap(entry, pos);
                    xrange(&mut conn, &key, "-", shared.decode).await?
                }
            };
            for event in missed {
                feed(entry, event);
            }
        }
    }
    entry.topic.state.send_modify(|state| state.ready = true);
    Ok(())
}

/// Feeds a gap marker: each subscriber of the topic turns it into a reset.
fn gap<T>(entry: &Watched<T>, last: EventId) {
    let mut epoch = 0;
    entry.topic.state.send_modify(|state| {
        state.epoch += 1;
        epoch = state.epoch;
    });
    tracing::warn!(key = %entry.topic.key, last = %last, "broadcast: events may have been lost while disconnected; subscribers get a reset");
    let _ = entry.topic.sender.send(Feed::Gap(epoch));
}

fn set_pos<T>(entry: &mut Watched<T>, id: EventId) {
    entry.pos = Some(id);
    *lock(&entry.topic.pos) = Some(id);
}

fn feed<T>(entry: &mut Watched<T>, event: Arc<Entry<T>>) {
    set_pos(entry, event.id);
    let _ = entry.topic.sender.send(Feed::Event(event));
}

/// A pub/sub message `<id>\n<json>`: fed unless the catch-up already fed it.
fn dispatch<T>(
    shared: &Shared<T>,
    watched: &mut HashMap<String, Watched<T>>,
    message: &redis::Msg,
) {
    let Some(entry) = watched.get_mut(message.get_channel_name()) else {
        return;
    };
    let Some(pos) = entry.pos else {
        return;
    };
    let parsed = std::str::from_utf8(message.get_payload_bytes())
        .ok()
        .and_then(|payload| payload.split_once('\n'))
        .and_then(|(id, json)| Some((id.parse::<EventId>().ok()?, json)));
    let Some((id, json)) = parsed else {
        tracing::warn!(
            channel = message.get_channel_name(),
            "broadcast: malformed message ignored"
        );
        return;
    };
    if id <= pos {
        return;
    }
    match decode_entry(&entry.topic.key, id, json.to_owned(), shared.decode) {
        Some(event) => feed(entry, event),
        // Skipped, but passed: the catch-up must not try it again.
        None => set_pos(entry, id),
    }
}
