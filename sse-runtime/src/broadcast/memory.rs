//! The in-process backend: per topic, a replay buffer and a live feed (a Tokio broadcast
//! channel, whose capacity is each subscriber's queue), both changed under one lock so
//! that a subscriber's replay and its live feed meet exactly.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::broadcast;
use tokio::time::Instant;

use super::backend::{Backend, Begin, Live, Publishing, Restart, Start};
use super::config::BroadcastConfig;
use super::id::EventId;
use super::message::{Entry, Feed, Reset};
use super::resume::{echo_id, Resume, ResumeKind};

pub(crate) struct Hub<T> {
    config: BroadcastConfig,
    topics: Mutex<HashMap<String, Arc<Topic<T>>>>,
    last_id: Mutex<EventId>,
    next_sweep: Mutex<Instant>,
}

struct Topic<T> {
    sender: broadcast::Sender<Feed<T>>,
    state: Mutex<TopicState<T>>,
}

struct TopicState<T> {
    buffer: VecDeque<Arc<Entry<T>>>,
    /// The id of the topic's latest event, even once it left the buffer.
    last_id: Option<EventId>,
    /// Some event left the buffer (by count or age) since the topic was made.
    evicted: bool,
    /// The last publish, or the moment the last subscriber left.
    last_active: Instant,
    /// Taken out of the hub: whoever still holds it must look the topic up again.
    removed: bool,
}

/// Locks, ignoring poisoning: no critical section here can leave the state half-changed.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl<T> Hub<T> {
    pub(crate) fn new(config: BroadcastConfig) -> Self {
        Self {
            config,
            topics: Mutex::new(HashMap::new()),
            last_id: Mutex::new(EventId::ZERO),
            next_sweep: Mutex::new(Instant::now()),
        }
    }

    pub(crate) fn config(&self) -> &BroadcastConfig {
        &self.config
    }

    pub(crate) fn topic_count(&self) -> usize {
        lock(&self.topics).len()
    }

    pub(crate) fn subscriber_count(&self, name: &str) -> usize {
        lock(&self.topics)
            .get(name)
            .map_or(0, |topic| topic.sender.receiver_count())
    }
}

impl<T: Send + Sync + 'static> Hub<T> {
    /// The topic, made if needed.
    fn topic(&self, name: &str) -> Arc<Topic<T>> {
        let mut topics = lock(&self.topics);
        if let Some(topic) = topics.get(name) {
            return Arc::clone(topic);
        }
        let (sender, _) = broadcast::channel(self.config.queue);
        let topic = Arc::new(Topic {
            sender,
            state: Mutex::new(TopicState {
                buffer: VecDeque::new(),
                last_id: None,
                evicted: false,
                last_active: Instant::now(),
                removed: false,
            }),
        });
        topics.insert(name.to_owned(), Arc::clone(&topic));
        topic
    }

    fn next_id(&self) -> EventId {
        let mut last = lock(&self.last_id);
        *last = last.next_at(now_millis());
        *last
    }

    /// Drops buffered events past the age limit.
    fn expire(&self, state: &mut TopicState<T>, now: Instant) {
        if let Some(max_age) = self.config.max_age {
            while state
                .buffer
                .front()
                .is_some_and(|entry| now.saturating_duration_since(entry.at) >= max_age)
            {
                state.buffer.pop_front();
                state.evicted = true;
            }
        }
    }

    pub(crate) fn publish(&self, name: &str, value: T, json: String) -> EventId {
        let now = Instant::now();
        let id = loop {
            let topic = self.topic(name);
            let mut state = lock(&topic.state);
            if state.removed {
                continue;
            }
            // The id, the buffer and the feed change together under the topic's lock, so
            // a subscriber starting concurrently sees this event either in its replay or
            // on its feed, never both, never neither.
            let id = self.next_id();
            let entry = Arc::new(Entry::new(id, value, json));
            self.expire(&mut state, now);
            if self.config.replay > 0 {
                state.buffer.push_back(Arc::clone(&entry));
                while state.buffer.len() > self.config.replay {
                    state.buffer.pop_front();
                    state.evicted = true;
                }
            } else {
                state.evicted = true;
            }
            state.last_id = Some(id);
            state.last_active = now;
            // No receiver is fine; a full queue is the slow receiver's problem (it lags).
            let _ = topic.sender.send(Feed::Event(entry));
            break id;
        };
        self.maybe_sweep(now);
        id
    }

    pub(crate) fn start(self: &Arc<Self>, name: &str, resume: &Resume) -> Start<T> {
        let now = Instant::now();
        let start = loop {
            let topic = self.topic(name);
            let mut state = lock(&topic.state);
            if state.removed {
                continue;
            }
            self.expire(&mut state, now);
            let rx = topic.sender.subscribe();
            let everything = || state.buffer.iter().cloned().collect::<VecDeque<_>>();
            let (replay, reset) = match &resume.0 {
                ResumeKind::Live => (VecDeque::new(), None),
                ResumeKind::Oldest => (everything(), None),
                ResumeKind::Beginning => {
                    let reset = state.evicted.then(|| Reset::new(None));
                    (everything(), reset)
                }
                ResumeKind::After(raw) => {
                    let found = raw.parse::<EventId>().ok().and_then(|id| {
                        if Some(id) == state.last_id {
                            return Some(state.buffer.len());
                        }
                        state
                            .buffer
                            .binary_search_by(|entry| entry.id.cmp(&id))
                            .ok()
                            .map(|at| at + 1)
                    });
                    match found {
                        Some(from) => (state.buffer.range(from..).cloned().collect(), None),
                        None => (everything(), Some(Reset::new(Some(echo_id(raw))))),
                    }
                }
            };
            let position = state.last_id;
            drop(state);
            let hub = Arc::downgrade(self);
            let name = name.to_owned();
            let live = Live::new(rx, move || {
                if let Some(hub) = hub.upgrade() {
                    hub.release(&name);
                }
            });
            break Start {
                live,
                replay,
                reset,
                position,
                epoch: 0,
            };
        };
        self.maybe_sweep(now);
        start
    }

    /// A subscriber left: drop the topic if nobody needs it any more.
    fn release(&self, name: &str) {
        let now = Instant::now();
        let mut topics = lock(&self.topics);
        let Some(topic) = topics.get(name).cloned() else {
            return;
        };
        if topic.sender.receiver_count() > 0 {
            return;
        }
        let mut state = lock(&topic.state);
        state.last_active = now;
        self.expire(&mut state, now);
        if state.buffer.is_empty() {
            state.removed = true;
            drop(state);
            topics.remove(name);
        }
    }

    fn sweep_interval(&self) -> Duration {
        (self.config.idle_timeout / 4).clamp(Duration::from_millis(10), Duration::from_secs(1))
    }

    /// Drops unused topics, at most once per sweep interval.
    fn maybe_sweep(&self, now: Instant) {
        {
            let mut next = lock(&self.next_sweep);
            if now < *next {
                return;
            }
            *next = now + self.sweep_interval();
        }
        let idle_timeout = self.config.idle_timeout;
        lock(&self.topics).retain(|_, topic| {
            if topic.sender.receiver_count() > 0 {
                return true;
            }
            let mut state = lock(&topic.state);
            self.expire(&mut state, now);
            let keep = !state.buffer.is_empty()
                && now.saturating_duration_since(state.last_active) < idle_timeout;
            if !keep {
                state.removed = true;
            }
            keep
        });
    }
}

impl<T: Send + Sync + 'static> Backend<T> for Hub<T> {
    fn name(&self) -> &'static str {
        "memory"
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

    fn publish<'a>(&'a self, topic: &'a str, value: T, json: String) -> Publishing<'a> {
        Publishing::Done(Ok(Hub::publish(self, topic, value, json)))
    }

    fn subscribe(self: Arc<Self>, topic: &str, resume: Resume) -> (Begin<T>, Box<dyn Restart<T>>) {
        let restart = Box::new(Arc::downgrade(&self));
        (Begin::Ready(self.start(topic, &resume)), restart)
    }
}

impl<T: Send + Sync + 'static> Restart<T> for Weak<Hub<T>> {
    fn restart(&self, topic: &str, resume: Resume) -> Option<Begin<T>> {
        let hub = self.upgrade()?;
        Some(Begin::Ready(hub.start(topic, &resume)))
    }
}
