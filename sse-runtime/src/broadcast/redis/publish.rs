//! Publishing: one Lua script appends the event to the topic's stream, trims it by
//! length and age, renews its expiry and publishes it on the topic's channel, atomically,
//! so the stream and the channel see events in the same order.

use std::time::Duration;

use super::{backend_error, Shared};
use crate::broadcast::id::EventId;
use crate::broadcast::PublishError;

/// XADD + trim + expire + PUBLISH, atomically.
/// KEYS[1]: the stream (and channel); ARGV: json, maxlen, max age in ms (0: none), ttl ms.
pub(super) const PUBLISH_SCRIPT: &str = r"
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

impl<T> Shared<T> {
    /// How long a topic's keys live after its last publish, in ms (at least a second).
    pub(super) fn ttl_ms(&self) -> u64 {
        u64::try_from(
            self.config
                .idle_timeout
                .max(Duration::from_secs(1))
                .as_millis(),
        )
        .unwrap_or(u64::MAX)
    }

    /// The replay buffer's age limit in ms (0: none).
    pub(super) fn max_age_ms(&self) -> u64 {
        self.config
            .max_age
            .map_or(0, |age| u64::try_from(age.as_millis()).unwrap_or(u64::MAX))
    }
}

impl<T: Send + Sync + 'static> Shared<T> {
    pub(super) async fn publish(&self, topic: &str, json: String) -> Result<EventId, PublishError> {
        let key = self.key(topic);
        let max_age = self.max_age_ms();
        let ttl = self.ttl_ms();
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
}
