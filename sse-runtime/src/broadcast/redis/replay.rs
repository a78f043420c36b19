//! Replay: a resuming subscriber registers on the local topic, waits until it is caught
//! up, then reads the stream after its `Last-Event-ID` (`XRANGE`).

use std::collections::VecDeque;
use std::sync::{Arc, Weak};

use redis::streams::StreamRangeReply;
use tokio::sync::watch;

use super::conn::Conn;
use super::{FeedState, Mode, Shared, MAX_BACKOFF, MIN_BACKOFF};
use crate::broadcast::backend::{Live, Start};
use crate::broadcast::id::EventId;
use crate::broadcast::message::{Entry, Reset};
use crate::broadcast::resume::{echo_id, Resume, ResumeKind};

/// Waits for the topic's feed, then reads the subscriber's replay from the stream.
pub(super) async fn start_replay<T: Send + Sync + 'static>(
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
        let (mut conn, decode, cluster) = {
            let shared = shared.upgrade()?;
            let cluster = match &shared.mode {
                Mode::Single(_) => None,
                Mode::Cluster(nodes) => Some((nodes.read_script.clone(), shared.ttl_ms())),
            };
            (shared.conn.clone(), shared.decode, cluster)
        };
        let read = match &cluster {
            None => read_replay(&mut conn, &key, &resume, decode).await,
            Some((script, ttl)) => {
                super::cluster::read_replay(&mut conn, script, *ttl, &key, &resume, decode).await
            }
        };
        match read {
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

pub(super) async fn read_replay<T>(
    conn: &mut Conn,
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
                let mut entries = xrange(conn, key, &id.stream_id(), decode).await?;
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
pub(super) async fn xrange<T>(
    conn: &mut Conn,
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

pub(super) fn decode_entry<T>(
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

pub(super) async fn newest_id(conn: &mut Conn, key: &str) -> redis::RedisResult<EventId> {
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
