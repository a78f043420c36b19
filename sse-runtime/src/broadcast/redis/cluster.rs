//! Redis Cluster: [`Broadcast::redis_cluster`](crate::broadcast::Broadcast::redis_cluster),
//! the publish and read scripts with the topic's *epoch*, and `WAIT` for a replica.
//!
//! Every key of a topic is in one hash slot: the stream is `{<prefix>:<topic>}` (the whole
//! name is the hash tag), its sharded channel has the same name, and its epoch is the hash
//! `{<prefix>:<topic>}:epoch` (`epoch`, and the `master_replid` of the node that set it).
//! Both scripts read the node's `master_replid` (`INFO replication`): a replica promoted
//! in a failover has a new one, and so has a master restarted without its data, so the
//! first script to run on such a node starts a new epoch (the Redis `TIME` in ms, above
//! the last one). Ids carry the epoch (`<ms>-<seq>-<epoch>`); an id of another epoch never
//! resumes, and the reader feeds a gap when the epoch it fed changes.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use redis::cluster::ClusterClientBuilder;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::streams::StreamRangeReply;
use redis::{ConnectionAddr, ConnectionInfo, ErrorKind, IntoConnectionInfo, ProtocolVersion};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::conn::Conn;
use super::replay::decode_entry;
use super::{backend_error, Hub, Mode, Shared, CONNECT_TIMEOUT, RESPONSE_TIMEOUT};
use crate::broadcast::config::BroadcastConfig;
use crate::broadcast::id::EventId;
use crate::broadcast::message::{Entry, Reset};
use crate::broadcast::resume::{echo_id, Resume, ResumeKind};
use crate::broadcast::{Broadcast, ConnectError, PublishError};

/// How often a publish is tried again when the cluster answered that it did not run it
/// (`MOVED` while the slot map is refreshed, `TRYAGAIN`, `CLUSTERDOWN` in a failover).
const PUBLISH_ATTEMPTS: u32 = 4;

/// The epoch check both scripts start with: the topic's epoch, a new one when the node's
/// replication id is not the one that set it (a failover or a restart without data).
/// KEYS[2]: the epoch hash. Leaves `epoch` (a decimal string) and `replicas` (the node's
/// connected replicas).
const EPOCH_LUA: &str = r"
local info = redis.call('INFO', 'replication')
local replid = string.match(info, 'master_replid:(%w+)') or ''
local replicas = tonumber(string.match(info, 'connected_slaves:(%d+)') or '0')
local meta = redis.call('HMGET', KEYS[2], 'replid', 'epoch')
local epoch = meta[2]
if meta[1] ~= replid or not epoch then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if epoch and tonumber(epoch) and tonumber(epoch) >= now then
    now = tonumber(epoch) + 1
  end
  epoch = string.format('%.0f', now)
  redis.call('HSET', KEYS[2], 'replid', replid, 'epoch', epoch)
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
";

/// The epoch check, XADD + trim + expire + SPUBLISH `<id>-<epoch>\n<json>`, atomically.
/// KEYS: the stream (and channel), the epoch hash; ARGV: json, maxlen, max age in ms
/// (0: none), ttl ms. Returns {id, epoch, connected replicas}.
fn publish_script() -> String {
    format!(
        "{EPOCH_LUA}
local id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[2], '*', 'data', ARGV[1])
local max_age = tonumber(ARGV[3])
if max_age > 0 then
  local cutoff = tonumber(string.match(id, '^(%d+)')) - max_age
  if cutoff > 0 then
    redis.call('XTRIM', KEYS[1], 'MINID', string.format('%.0f', cutoff))
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('SPUBLISH', KEYS[1], id .. '-' .. epoch .. '\\n' .. ARGV[1])
return {{id, epoch, replicas}}
"
    )
}

/// The epoch check, then the stream from ARGV[1] (`-`, or an id: `XRANGE`; `+`: the
/// newest entry only). KEYS: the stream, the epoch hash; ARGV[4]: ttl ms (ARGV[2..3]
/// unused). Returns {epoch, entries}.
fn read_script() -> String {
    format!(
        "{EPOCH_LUA}
local entries
if ARGV[1] == '+' then
  entries = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
else
  entries = redis.call('XRANGE', KEYS[1], ARGV[1], '+')
end
return {{epoch, entries}}
"
    )
}

/// What a cluster hub keeps of its configuration.
pub(super) struct Nodes {
    /// `host:port` of the nodes it was given: where a subscription asks first.
    pub(super) seeds: Vec<String>,
    /// The connection settings (user, password) of the first node, for the per-node
    /// subscriber connections.
    template: ConnectionInfo,
    pub(super) read_script: redis::Script,
}

impl Nodes {
    /// A client for the node at `addr` (`host:port`), speaking RESP3 (sharded pub/sub
    /// messages are push messages).
    pub(super) fn client(&self, addr: &str) -> redis::RedisResult<redis::Client> {
        let (host, port) = split_addr(addr).ok_or_else(|| {
            redis::RedisError::from((
                ErrorKind::InvalidClientConfig,
                "a cluster node address is not host:port",
                addr.to_owned(),
            ))
        })?;
        let mut info = self.template.clone();
        info.addr = ConnectionAddr::Tcp(host.to_owned(), port);
        info.redis.protocol = ProtocolVersion::RESP3;
        redis::Client::open(info)
    }
}

fn split_addr(addr: &str) -> Option<(&str, u16)> {
    let (host, port) = addr.rsplit_once(':')?;
    Some((host, port.parse().ok()?))
}

fn node_addr(info: &ConnectionInfo) -> Option<String> {
    match &info.addr {
        ConnectionAddr::Tcp(host, port) => Some(format!("{host}:{port}")),
        _ => None,
    }
}

impl<T> Broadcast<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// A hub backed by a Redis Cluster (or Valkey cluster), given some of its nodes
    /// (`redis://host:port`, or `host:port`; the others are discovered): instances that
    /// use the same cluster and [`key_prefix`](BroadcastConfig::key_prefix) share topics,
    /// as with [`redis`](Self::redis).
    ///
    /// Every key of a topic is in one hash slot, so its scripts run on one node; live
    /// events go through sharded pub/sub (`SPUBLISH`/`SSUBSCRIBE`, Redis 7), which stays
    /// within the topic's shard. The hub follows `MOVED` and topology changes (a failover,
    /// a moved slot) by itself. Ids carry the topic's epoch (see
    /// [`EventId::epoch`](crate::broadcast::EventId::epoch)): after a failover, which
    /// may lose the last events the old master acknowledged, subscribers get a reset
    /// instead of a silent gap; a publish that no replica confirmed in time is reported
    /// as [`PublishError::Unconfirmed`] ([`BroadcastConfig::wait_for_replicas`]).
    ///
    /// Connects before returning (and fails if no node can be reached). Needs a Tokio
    /// runtime and Redis 7 or later.
    pub async fn redis_cluster<N: AsRef<str>>(
        nodes: &[N],
        config: BroadcastConfig,
    ) -> Result<Self, ConnectError> {
        let infos = nodes
            .iter()
            .map(|node| {
                let node = node.as_ref();
                if node.contains("://") {
                    node.into_connection_info()
                } else {
                    format!("redis://{node}").into_connection_info()
                }
            })
            .collect::<redis::RedisResult<Vec<ConnectionInfo>>>()
            .map_err(ConnectError::new)?;
        let Some(template) = infos.first().cloned() else {
            return Err(ConnectError::new(redis::RedisError::from((
                ErrorKind::InvalidClientConfig,
                "no Redis Cluster node given",
            ))));
        };
        let seeds = infos.iter().filter_map(node_addr).collect();
        // No retries inside the client: a command that may have run is never sent twice
        // (a publish would be doubled); the hub retries what the cluster did not run.
        let client = ClusterClientBuilder::new(infos)
            .retries(0)
            .connection_timeout(CONNECT_TIMEOUT)
            .response_timeout(RESPONSE_TIMEOUT)
            .build()
            .map_err(ConnectError::new)?;
        let conn = client
            .get_async_connection()
            .await
            .map_err(ConnectError::new)?;
        let nodes = Nodes {
            seeds,
            template,
            read_script: redis::Script::new(&read_script()),
        };
        let hub = Hub::start(
            config,
            Mode::Cluster(nodes),
            Conn::Cluster(conn),
            &publish_script(),
        );
        Ok(Self {
            backend: Arc::new(hub),
            labels: Arc::default(),
        })
    }
}

/// The key of a topic's epoch hash.
pub(super) fn epoch_key(key: &str) -> String {
    format!("{key}:epoch")
}

/// The cluster did not run the command: it can be sent again.
fn not_run(err: &redis::RedisError) -> bool {
    matches!(
        err.kind(),
        ErrorKind::Moved
            | ErrorKind::TryAgain
            | ErrorKind::ClusterDown
            | ErrorKind::MasterDown
            | ErrorKind::ClusterConnectionNotFound
    ) || err.is_connection_refusal()
}

impl<T: Send + Sync + 'static> Shared<T> {
    pub(super) async fn publish_cluster(
        &self,
        topic: &str,
        json: String,
    ) -> Result<EventId, PublishError> {
        let key = self.key(topic);
        let meta = epoch_key(&key);
        let mut conn = self.conn.clone();
        let mut attempt = 0;
        let (id, epoch, replicas): (String, String, usize) = loop {
            let mut invocation = self.script.key(&key);
            invocation
                .key(&meta)
                .arg(&json)
                .arg(self.config.replay)
                .arg(self.max_age_ms())
                .arg(self.ttl_ms());
            match invocation.invoke_async(&mut conn).await {
                Ok(reply) => break reply,
                Err(err) if not_run(&err) && attempt + 1 < PUBLISH_ATTEMPTS => {
                    attempt += 1;
                    tracing::debug!(topic, error = %err, "broadcast publish not run by the cluster; trying again");
                    tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
                }
                Err(err) => {
                    tracing::warn!(topic, error = %err, "broadcast publish failed: Redis Cluster unavailable");
                    return Err(backend_error(err));
                }
            }
        };
        let epoch: u64 = epoch.parse().map_err(backend_error)?;
        let id = id
            .parse::<EventId>()
            .map_err(backend_error)?
            .with_epoch(epoch);
        let (want, timeout) = self.config.get_wait_for_replicas();
        let want = want.min(replicas);
        if want == 0 {
            return Ok(id);
        }
        let Conn::Cluster(cluster) = &mut conn else {
            return Ok(id);
        };
        // On the node (and connection) that ran the script: WAIT counts the replicas
        // that have every write of this connection so far, ours included.
        let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(Route::new(
            key_slot(key.as_bytes()),
            SlotAddr::Master,
        )));
        let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        let acked = cluster
            .route_command(redis::cmd("WAIT").arg(want).arg(timeout_ms), route)
            .await
            .and_then(|value| redis::from_redis_value::<usize>(&value));
        match acked {
            Ok(acked) if acked >= want => Ok(id),
            Ok(acked) => {
                tracing::warn!(topic, id = %id, acked, want, "broadcast publish not confirmed by a replica: a failover may lose it");
                Err(PublishError::Unconfirmed(id))
            }
            Err(err) => {
                tracing::warn!(topic, id = %id, error = %err, "broadcast publish not confirmed: WAIT failed");
                Err(PublishError::Unconfirmed(id))
            }
        }
    }
}

/// A topic's epoch and entries from `from` (`-`, an id, or `+` for the newest only),
/// through the read script (which starts a new epoch when the node's history changed).
pub(super) async fn read_range<T>(
    conn: &mut Conn,
    script: &redis::Script,
    ttl_ms: u64,
    key: &str,
    from: &str,
    decode: fn(&str) -> serde_json::Result<T>,
) -> redis::RedisResult<(u64, VecDeque<Arc<Entry<T>>>)> {
    let (epoch, entries): (String, redis::Value) = script
        .key(key)
        .key(epoch_key(key))
        .arg(from)
        .arg(0)
        .arg(0)
        .arg(ttl_ms)
        .invoke_async(conn)
        .await?;
    let epoch: u64 = epoch.parse().map_err(|_| {
        redis::RedisError::from((ErrorKind::TypeError, "a topic epoch is not a number"))
    })?;
    let reply: StreamRangeReply = redis::from_redis_value(&entries)?;
    let entries = reply
        .ids
        .into_iter()
        .filter_map(|item| {
            let id = item.id.parse::<EventId>().ok()?.with_epoch(epoch);
            let json: String = item
                .map
                .get("data")
                .and_then(|value| redis::from_redis_value(value).ok())?;
            decode_entry(key, id, json, decode)
        })
        .collect();
    Ok((epoch, entries))
}

type Replay<T> = (VecDeque<Arc<Entry<T>>>, Option<Reset>, Option<EventId>);

/// A subscriber's replay on a cluster: as on one Redis, and an id of another epoch than
/// the topic's is a reset.
pub(super) async fn read_replay<T>(
    conn: &mut Conn,
    script: &redis::Script,
    ttl_ms: u64,
    key: &str,
    resume: &Resume,
    decode: fn(&str) -> serde_json::Result<T>,
) -> redis::RedisResult<Replay<T>> {
    match &resume.0 {
        ResumeKind::Live => Ok((VecDeque::new(), None, None)),
        ResumeKind::Oldest => Ok((
            read_range(conn, script, ttl_ms, key, "-", decode).await?.1,
            None,
            None,
        )),
        ResumeKind::Beginning => Ok((
            read_range(conn, script, ttl_ms, key, "-", decode).await?.1,
            Some(Reset::new(None)),
            None,
        )),
        ResumeKind::After(raw) => {
            if let Ok(id) = raw.parse::<EventId>() {
                let (epoch, mut entries) =
                    read_range(conn, script, ttl_ms, key, &id.stream_id(), decode).await?;
                if id.epoch() == epoch && entries.front().is_some_and(|entry| entry.id == id) {
                    entries.pop_front();
                    return Ok((entries, None, Some(id)));
                }
            }
            let (_, entries) = read_range(conn, script, ttl_ms, key, "-", decode).await?;
            Ok((entries, Some(Reset::new(Some(echo_id(raw)))), None))
        }
    }
}

/// The hash slot of `key` (CRC16/XMODEM of its hash tag, or of all of it, mod 16384).
pub(super) fn key_slot(key: &[u8]) -> u16 {
    let tagged = key
        .iter()
        .position(|&b| b == b'{')
        .and_then(|open| {
            let rest = &key[open + 1..];
            let close = rest.iter().position(|&b| b == b'}')?;
            (close > 0).then(|| &rest[..close])
        })
        .unwrap_or(key);
    crc16(tagged) % 16384
}

fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in bytes {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::{crc16, key_slot};

    #[test]
    fn key_slots_are_redis_cluster_slots() {
        // `CLUSTER KEYSLOT` of Redis 7.0.
        assert_eq!(key_slot(b"{t}"), 15891);
        assert_eq!(key_slot(b"{t}:x"), 15891);
        // The CRC16/XMODEM check value.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(key_slot(b"123456789"), 0x31C3);
        // An empty tag hashes the whole key.
        assert_eq!(key_slot(b"{}x"), crc16(b"{}x") % 16384);
    }
}
