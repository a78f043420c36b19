//! The reader task: one pub/sub connection per instance, subscribed to the channels of
//! the topics that have subscribers here; it feeds each local topic, reconnects with
//! backoff, and catches up from the stream (or feeds a gap) after a reconnect.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::StreamExt;
use redis::aio::PubSubSink;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::conn::Conn;
use super::replay::{decode_entry, newest_id, xrange};
use super::{lock, Command, Mode, Shared, Topic, CONNECT_TIMEOUT, MAX_BACKOFF, MIN_BACKOFF};
use crate::broadcast::id::EventId;
use crate::broadcast::message::{Entry, Feed};

/// A watched topic, as the reader sees it.
pub(super) struct Watched<T> {
    pub(super) topic: Arc<Topic<T>>,
    /// The last id fed; `None` until the feed has a starting point.
    pub(super) pos: Option<EventId>,
}

pub(super) async fn reader<T: Send + Sync + 'static>(
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
    let Mode::Single(client) = &shared.mode else {
        return;
    };
    loop {
        let connected = match tokio::time::timeout(CONNECT_TIMEOUT, client.get_async_pubsub()).await
        {
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

pub(super) fn set_ready<T>(watched: &HashMap<String, Watched<T>>, ready: bool) {
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
async fn server_run_id(conn: &mut Conn) -> redis::RedisResult<String> {
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
                let mut missed = xrange(&mut conn, &key, &pos.stream_id(), shared.decode).await?;
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
pub(super) fn gap<T>(entry: &Watched<T>, last: EventId) {
    let mut epoch = 0;
    entry.topic.state.send_modify(|state| {
        state.epoch += 1;
        epoch = state.epoch;
    });
    tracing::warn!(key = %entry.topic.key, last = %last, "broadcast: events may have been lost while disconnected; subscribers get a reset");
    let _ = entry.topic.sender.send(Feed::Gap(epoch));
}

pub(super) fn set_pos<T>(entry: &mut Watched<T>, id: EventId) {
    entry.pos = Some(id);
    *lock(&entry.topic.pos) = Some(id);
}

pub(super) fn feed<T>(entry: &mut Watched<T>, event: Arc<Entry<T>>) {
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
