//! The reader task on a Redis Cluster: each watched topic's sharded channel is subscribed
//! (`SSUBSCRIBE`) on the node that serves its slot, over one RESP3 connection per node,
//! found by following `MOVED` from the configured nodes. When a node's connection closes
//! (it died, or failed over), or the node unsubscribes a channel itself (its slot moved),
//! the topics it served are placed again, with backoff, and caught up from their streams;
//! if a topic's epoch changed meanwhile (a replica took over and may lack the tail of the
//! stream), the feed gets a gap marker first — each subscriber turns it into a reset.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, ErrorKind, PushInfo, PushKind};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::cluster::{read_range, Nodes};
use super::reader::{feed, gap, set_pos, Watched};
use super::replay::decode_entry;
use super::{Command, Mode, Shared, CONNECT_TIMEOUT, MIN_BACKOFF, RESPONSE_TIMEOUT};
use crate::broadcast::id::EventId;

/// Backoff cap between attempts to place topics: a failover takes about the cluster's
/// node timeout, and the feed should follow it promptly.
const MAX_BACKOFF: Duration = Duration::from_millis(500);
/// `MOVED` hops followed from one starting node.
const MAX_HOPS: usize = 3;

/// A watched topic and where its channel is subscribed.
struct Placed<T> {
    watched: Watched<T>,
    /// The node (`host:port`) its channel is subscribed on; `None`: to subscribe.
    node: Option<String>,
    /// Caught up with its stream since it was subscribed there.
    synced: bool,
}

/// A subscriber connection to one node.
struct Node {
    /// Tags its push messages (a connection replaced by a new one is told apart).
    id: u64,
    conn: MultiplexedConnection,
}

struct State<T> {
    topics: HashMap<String, Placed<T>>,
    nodes: HashMap<String, Node>,
    next_id: u64,
    pushes: mpsc::UnboundedSender<(u64, PushInfo)>,
}

pub(super) async fn reader<T: Send + Sync + 'static>(
    shared: Arc<Shared<T>>,
    mut commands: mpsc::UnboundedReceiver<Command<T>>,
    stop: CancellationToken,
) {
    let (pushes, mut received) = mpsc::unbounded_channel();
    let mut state = State {
        topics: HashMap::new(),
        nodes: HashMap::new(),
        next_id: 0,
        pushes,
    };
    tokio::select! {
        () = stop.cancelled() => {}
        () = run(&shared, &mut commands, &mut received, &mut state) => {}
    }
    tracing::debug!("broadcast cluster reader stopped");
}

async fn run<T: Send + Sync + 'static>(
    shared: &Shared<T>,
    commands: &mut mpsc::UnboundedReceiver<Command<T>>,
    received: &mut mpsc::UnboundedReceiver<(u64, PushInfo)>,
    state: &mut State<T>,
) {
    let Mode::Cluster(nodes) = &shared.mode else {
        return;
    };
    let mut backoff = MIN_BACKOFF;
    let mut retry_at: Option<Instant> = None;
    let mut outage = false;
    loop {
        let unsettled = state.topics.values().any(|placed| !placed.synced);
        if unsettled && retry_at.is_none_or(|at| Instant::now() >= at) {
            match settle(shared, nodes, state).await {
                Ok(()) => {
                    backoff = MIN_BACKOFF;
                    retry_at = None;
                    if outage {
                        outage = false;
                        tracing::info!("broadcast: every topic is subscribed on the cluster again");
                        crate::observability::redis_reconnected();
                    }
                }
                Err(err) => {
                    if !outage {
                        outage = true;
                        tracing::warn!(error = %err, "broadcast: cannot subscribe a topic on the Redis Cluster; retrying");
                    }
                    retry_at = Some(Instant::now() + backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
        let wake = retry_at.filter(|_| state.topics.values().any(|placed| !placed.synced));
        tokio::select! {
            command = commands.recv() => {
                let Some(command) = command else { return };
                apply(state, command).await;
            }
            push = received.recv() => {
                let Some((id, push)) = push else { return };
                on_push(shared, state, id, push);
            }
            () = sleep_until(wake) => {}
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Subscribes every topic that has no node, and catches up every topic not synced.
async fn settle<T: Send + Sync + 'static>(
    shared: &Shared<T>,
    nodes: &Nodes,
    state: &mut State<T>,
) -> redis::RedisResult<()> {
    let keys: Vec<String> = state
        .topics
        .iter()
        .filter(|(_, placed)| !placed.synced)
        .map(|(key, _)| key.clone())
        .collect();
    let mut failed = None;
    for key in keys {
        let unplaced = state.topics.get(&key).is_some_and(|p| p.node.is_none());
        if unplaced {
            match place(nodes, state, &key).await {
                Ok(addr) => {
                    if let Some(placed) = state.topics.get_mut(&key) {
                        placed.node = Some(addr);
                    }
                }
                Err(err) => {
                    failed = Some(err);
                    continue;
                }
            }
        }
        if let Some(placed) = state.topics.get_mut(&key) {
            match catch_up(shared, nodes, placed).await {
                Ok(()) => placed.synced = true,
                Err(err) => failed = Some(err),
            }
        }
    }
    failed.map_or(Ok(()), Err)
}

/// The connection to `addr`, made if needed.
async fn connect<T>(
    nodes: &Nodes,
    state: &mut State<T>,
    addr: &str,
) -> redis::RedisResult<MultiplexedConnection> {
    if let Some(node) = state.nodes.get(addr) {
        return Ok(node.conn.clone());
    }
    let id = state.next_id;
    state.next_id += 1;
    let pushes = state.pushes.clone();
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(CONNECT_TIMEOUT)
        .set_response_timeout(RESPONSE_TIMEOUT)
        .set_push_sender(move |push: PushInfo| pushes.send((id, push)));
    let conn = nodes
        .client(addr)?
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
    state.nodes.insert(
        addr.to_owned(),
        Node {
            id,
            conn: conn.clone(),
        },
    );
    Ok(conn)
}

/// Subscribes `key`'s channel on the node serving its slot: asks the configured nodes
/// (then every node met so far) in turn, following `MOVED`. Returns that node.
async fn place<T>(nodes: &Nodes, state: &mut State<T>, key: &str) -> redis::RedisResult<String> {
    let mut starts: Vec<String> = nodes.seeds.clone();
    for addr in state.nodes.keys() {
        if !starts.contains(addr) {
            starts.push(addr.clone());
        }
    }
    let mut failed = None;
    for start in starts {
        let mut addr = start;
        for _ in 0..MAX_HOPS {
            let mut conn = match connect(nodes, state, &addr).await {
                Ok(conn) => conn,
                Err(err) => {
                    failed = Some(err);
                    break;
                }
            };
            match redis::cmd("SSUBSCRIBE")
                .arg(key)
                .exec_async(&mut conn)
                .await
            {
                Ok(()) => return Ok(addr),
                Err(err) if err.kind() == ErrorKind::Moved => {
                    let Some((to, _)) = err.redirect_node() else {
                        failed = Some(err);
                        break;
                    };
                    addr = to.to_owned();
                    failed = Some(err);
                }
                Err(err) => {
                    if err.is_unrecoverable_error() || err.is_timeout() {
                        state.nodes.remove(&addr);
                    }
                    failed = Some(err);
                    break;
                }
            }
        }
    }
    Err(failed.unwrap_or_else(|| {
        redis::RedisError::from((ErrorKind::ClusterConnectionNotFound, "no cluster node"))
    }))
}

/// Brings a topic's feed up to date with its stream once its channel is subscribed:
/// its starting point (a new feed), or what was missed, after a gap marker when the
/// epoch changed or the last id fed is gone.
async fn catch_up<T: Send + Sync + 'static>(
    shared: &Shared<T>,
    nodes: &Nodes,
    placed: &mut Placed<T>,
) -> redis::RedisResult<()> {
    let mut conn = shared.conn.clone();
    let script = &nodes.read_script;
    let ttl = shared.ttl_ms();
    let key = placed.watched.topic.key.clone();
    let entry = &mut placed.watched;
    match entry.pos {
        None => {
            let (epoch, newest) =
                read_range(&mut conn, script, ttl, &key, "+", shared.decode).await?;
            let start = newest
                .back()
                .map_or(EventId::ZERO.with_epoch(epoch), |newest| newest.id);
            set_pos(entry, start);
        }
        Some(pos) => {
            let from_start = pos.without_epoch() == EventId::ZERO;
            let from = if from_start {
                "-".to_owned()
            } else {
                pos.stream_id()
            };
            let (epoch, mut missed) =
                read_range(&mut conn, script, ttl, &key, &from, shared.decode).await?;
            let continues = epoch == pos.epoch()
                && (from_start
                    || missed
                        .front()
                        .is_some_and(|first| first.id.without_epoch() == pos.without_epoch()));
            if continues {
                if !from_start {
                    missed.pop_front();
                }
            } else {
                gap(entry, pos);
                set_pos(entry, EventId::ZERO.with_epoch(epoch));
                missed = read_range(&mut conn, script, ttl, &key, "-", shared.decode)
                    .await?
                    .1;
            }
            for event in missed {
                feed(entry, event);
            }
        }
    }
    entry.topic.state.send_modify(|state| state.ready = true);
    Ok(())
}

async fn apply<T>(state: &mut State<T>, command: Command<T>) {
    match command {
        Command::Watch(topic) => {
            state.topics.insert(
                topic.key.clone(),
                Placed {
                    watched: Watched { topic, pos: None },
                    node: None,
                    synced: false,
                },
            );
        }
        Command::Unwatch(topic) => {
            let key = topic.key.clone();
            let ours = state
                .topics
                .get(&key)
                .is_some_and(|placed| Arc::ptr_eq(&placed.watched.topic, &topic));
            if !ours {
                return;
            }
            let Some(placed) = state.topics.remove(&key) else {
                return;
            };
            if let Some(mut conn) = placed
                .node
                .and_then(|addr| state.nodes.get(&addr))
                .map(|node| node.conn.clone())
            {
                if let Err(err) = redis::cmd("SUNSUBSCRIBE")
                    .arg(&key)
                    .exec_async(&mut conn)
                    .await
                {
                    tracing::debug!(key, error = %err, "broadcast: SUNSUBSCRIBE failed");
                }
            }
        }
    }
}

/// Marks a topic to be subscribed again and caught up (its subscriptions wait meanwhile).
fn unsettle<T>(placed: &mut Placed<T>, unplace: bool) {
    if unplace {
        placed.node = None;
    }
    placed.synced = false;
    placed
        .watched
        .topic
        .state
        .send_modify(|state| state.ready = false);
}

fn on_push<T>(shared: &Shared<T>, state: &mut State<T>, id: u64, push: PushInfo) {
    let Some(addr) = state
        .nodes
        .iter()
        .find(|(_, node)| node.id == id)
        .map(|(addr, _)| addr.clone())
    else {
        return;
    };
    match push.kind {
        PushKind::Disconnection => {
            tracing::warn!(node = %addr, "broadcast: lost a Redis Cluster node; subscribing its topics again");
            state.nodes.remove(&addr);
            for placed in state.topics.values_mut() {
                if placed.node.as_deref() == Some(addr.as_str()) {
                    unsettle(placed, true);
                }
            }
        }
        PushKind::SUnsubscribe => {
            // The node dropped the channel itself: its slot moved (or it became a
            // replica of another shard).
            let Some(channel) = push
                .data
                .first()
                .and_then(|value| redis::from_redis_value::<String>(value).ok())
            else {
                return;
            };
            if let Some(placed) = state.topics.get_mut(&channel) {
                if placed.node.as_deref() == Some(addr.as_str()) {
                    tracing::info!(node = %addr, key = %channel, "broadcast: a node unsubscribed a topic (slot moved); subscribing it again");
                    unsettle(placed, true);
                }
            }
        }
        PushKind::SMessage => dispatch(shared, state, &addr, &push),
        _ => {}
    }
}

/// A sharded pub/sub message `<id>-<epoch>\n<json>`: fed unless the catch-up already fed
/// it; an epoch other than the feed's makes the topic catch up again (gap first).
fn dispatch<T>(shared: &Shared<T>, state: &mut State<T>, addr: &str, push: &PushInfo) {
    let (Some(channel), Some(payload)) = (push.data.first(), push.data.get(1)) else {
        return;
    };
    let Ok(channel) = redis::from_redis_value::<String>(channel) else {
        return;
    };
    let Some(placed) = state.topics.get_mut(&channel) else {
        return;
    };
    if !placed.synced || placed.node.as_deref() != Some(addr) {
        return;
    }
    let Some(pos) = placed.watched.pos else {
        return;
    };
    let parsed = redis::from_redis_value::<String>(payload)
        .ok()
        .and_then(|payload| {
            let (id, json) = payload.split_once('\n')?;
            Some((id.parse::<EventId>().ok()?, json.to_owned()))
        });
    let Some((id, json)) = parsed else {
        tracing::warn!(channel, "broadcast: malformed message ignored");
        return;
    };
    if id.epoch() != pos.epoch() {
        tracing::warn!(
            channel,
            epoch = id.epoch(),
            was = pos.epoch(),
            "broadcast: the topic's epoch changed (a failover); catching up"
        );
        unsettle(placed, false);
        return;
    }
    if id <= pos {
        return;
    }
    let entry = &mut placed.watched;
    match decode_entry(&entry.topic.key, id, json, shared.decode) {
        Some(event) => feed(entry, event),
        None => set_pos(entry, id),
    }
}
