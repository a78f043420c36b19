//! [`Backoff`]: how long an [`EventSource`](super::EventSource) waits before it reconnects.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// The wait before a reconnection: the stream's reconnection time, doubled for every
/// reconnection in a row that brought no event, capped, plus a random jitter.
///
/// The reconnection time starts at [`initial`](Self::initial) (3 s, as browsers) and is
/// replaced by every `retry:` field the server sends. The `n`-th reconnection in a row
/// without an event waits
///
/// ```text
/// base  = max(retry, min(max_delay, retry × 2^(n−1)))
/// delay = base + random(0 ..= base × jitter)
/// ```
///
/// so the first reconnection after a stream that delivered events waits the server's
/// `retry:` (plus jitter), as an `EventSource` does; a server that keeps failing is retried
/// less and less often, never less often than every `max_delay` (unless its own `retry:`
/// asks for longer, which is honored); and many clients cut off at once (a server restart)
/// do not come back in the same millisecond.
///
/// ```
/// use std::time::Duration;
/// use sse_runtime::client::Backoff;
///
/// let backoff = Backoff::new()
///     .initial(Duration::from_millis(500))
///     .max_delay(Duration::from_secs(10))
///     .jitter(0.0);
/// let retry = Duration::from_millis(500);
/// assert_eq!(backoff.delay(retry, 1), Duration::from_millis(500));
/// assert_eq!(backoff.delay(retry, 3), Duration::from_millis(2000));
/// assert_eq!(backoff.delay(retry, 20), Duration::from_secs(10));
/// // A server's `retry:` above the cap is honored.
/// assert_eq!(backoff.delay(Duration::from_secs(60), 2), Duration::from_secs(60));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    initial: Duration,
    max_delay: Duration,
    jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

impl Backoff {
    /// Reconnection time 3 s, cap 30 s, jitter up to 25 %.
    pub fn new() -> Self {
        Self {
            initial: Duration::from_secs(3),
            max_delay: Duration::from_secs(30),
            jitter: 0.25,
        }
    }

    /// The reconnection time until the server sends `retry:` (default 3 s).
    pub fn initial(mut self, delay: Duration) -> Self {
        self.initial = delay;
        self
    }

    /// The cap on the doubling (default 30 s). A server's `retry:` above it is honored.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The jitter as a fraction of the delay, added at random (default 0.25; clamped to
    /// 0..=1; 0 disables it).
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.jitter = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        self
    }

    /// The reconnection time before any `retry:`.
    pub fn initial_delay(&self) -> Duration {
        self.initial
    }

    /// The wait before the `attempt`-th reconnection in a row without an event (from 1),
    /// when the stream's reconnection time is `retry`.
    pub fn delay(&self, retry: Duration, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        let grown = retry.saturating_mul(1 << doublings).min(self.max_delay);
        let base = grown.max(retry);
        if self.jitter == 0.0 {
            return base;
        }
        let fraction = self.jitter * random_unit();
        base.saturating_add(base.mul_f64(fraction))
    }
}

/// A random number in `0.0..1.0`, from the standard library's randomly keyed hasher (no
/// RNG dependency; jitter needs no more).
fn random_unit() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0x9e37_79b9_7f4a_7c15);
    // 53 random bits over 2^53.
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_caps_and_honors_a_longer_retry() {
        let backoff = Backoff::new().max_delay(Duration::from_secs(1)).jitter(0.0);
        let retry = Duration::from_millis(100);
        let delays: Vec<_> = (1..=6)
            .map(|n| backoff.delay(retry, n).as_millis())
            .collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(
            backoff.delay(Duration::from_secs(5), 3),
            Duration::from_secs(5)
        );
        assert_eq!(
            backoff.delay(retry, u32::MAX),
            Duration::from_secs(1),
            "no overflow"
        );
    }

    #[test]
    fn jitter_stays_within_its_fraction_and_varies() {
        let backoff = Backoff::new().jitter(0.5);
        let retry = Duration::from_millis(1000);
        let delays: Vec<_> = (0..200).map(|_| backoff.delay(retry, 1)).collect();
        assert!(delays
            .iter()
            .all(|d| *d >= retry && *d <= Duration::from_millis(1500)));
        let first = delays[0];
        assert!(delays.iter().any(|d| *d != first), "jitter is random");
    }
}
