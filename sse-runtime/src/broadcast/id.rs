//! [`EventId`]: the id of a published event, `<milliseconds>-<sequence>`, and on Redis
//! Cluster `-<epoch>` after it.

use std::fmt;
use std::str::FromStr;

/// The id of a published event: `<milliseconds>-<sequence>`, e.g. `1732460000123-0`.
///
/// The same format as Redis stream ids, for both backends. Ids compare as the pair
/// (milliseconds, sequence) and increase within a topic.
///
/// On Redis Cluster an id has a third part, the topic's *epoch*:
/// `<milliseconds>-<sequence>-<epoch>`. The epoch names one line of the topic's history;
/// it changes when history may have been lost (the node that held the topic failed over
/// to a replica, which may lack the last events it acknowledged), so a client that
/// resumes with an id of an earlier epoch gets a reset instead of a silent gap. Ids
/// without an epoch have epoch 0.
///
/// ```
/// use sse_runtime::broadcast::EventId;
///
/// let id: EventId = "1732460000123-4".parse().unwrap();
/// assert_eq!((id.millis(), id.seq()), (1732460000123, 4));
/// assert_eq!(id.to_string(), "1732460000123-4");
/// assert!(id < "1732460000124-0".parse().unwrap());
/// assert!("42".parse::<EventId>().is_err());
///
/// // On Redis Cluster: the epoch as a third part.
/// let id: EventId = "1732460000123-4-1732459990000".parse().unwrap();
/// assert_eq!((id.millis(), id.seq(), id.epoch()), (1732460000123, 4, 1732459990000));
/// assert_eq!(id, EventId::new(1732460000123, 4).with_epoch(1732459990000));
/// assert_eq!(id.to_string(), "1732460000123-4-1732459990000");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId {
    ms: u64,
    seq: u64,
    /// 0: none (in process, single Redis).
    epoch: u64,
}

impl EventId {
    /// `0-0`, below every real id.
    pub const ZERO: EventId = EventId {
        ms: 0,
        seq: 0,
        epoch: 0,
    };

    /// An id from its two parts (epoch 0).
    pub const fn new(millis: u64, seq: u64) -> Self {
        Self {
            ms: millis,
            seq,
            epoch: 0,
        }
    }

    /// The same id in `epoch` (0: none).
    pub const fn with_epoch(self, epoch: u64) -> Self {
        Self { epoch, ..self }
    }

    /// The epoch: the line of the topic's history this id belongs to (Redis Cluster;
    /// 0 elsewhere).
    pub const fn epoch(self) -> u64 {
        self.epoch
    }

    /// The `<milliseconds>-<sequence>` part: the id of the Redis stream entry.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn stream_id(self) -> String {
        format!("{}-{}", self.ms, self.seq)
    }

    /// The same position without its epoch.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) const fn without_epoch(self) -> Self {
        self.with_epoch(0)
    }

    /// The milliseconds part (Unix time of the publish).
    pub const fn millis(self) -> u64 {
        self.ms
    }

    /// The sequence within the millisecond.
    pub const fn seq(self) -> u64 {
        self.seq
    }

    /// The id that follows `self` at wall-clock time `now_ms`.
    pub(crate) fn next_at(self, now_ms: u64) -> Self {
        if now_ms > self.ms {
            Self {
                ms: now_ms,
                seq: 0,
                epoch: self.epoch,
            }
        } else {
            Self {
                ms: self.ms,
                seq: self.seq.saturating_add(1),
                epoch: self.epoch,
            }
        }
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.epoch == 0 {
            write!(f, "{}-{}", self.ms, self.seq)
        } else {
            write!(f, "{}-{}-{}", self.ms, self.seq, self.epoch)
        }
    }
}

/// A string that is not an [`EventId`] (`<digits>-<digits>`, or `<digits>-<digits>-<digits>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseEventIdError(());

impl fmt::Display for ParseEventIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "an event id is `<milliseconds>-<sequence>` or `<milliseconds>-<sequence>-<epoch>`, \
             decimal integers",
        )
    }
}

impl std::error::Error for ParseEventIdError {}

impl FromStr for EventId {
    type Err = ParseEventIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (ms, rest) = s.split_once('-').ok_or(ParseEventIdError(()))?;
        let (seq, epoch) = match rest.split_once('-') {
            Some((seq, epoch)) => (seq, Some(epoch)),
            None => (rest, None),
        };
        let part = |p: &str| {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ParseEventIdError(()));
            }
            p.parse::<u64>().map_err(|_| ParseEventIdError(()))
        };
        Ok(Self {
            ms: part(ms)?,
            seq: part(seq)?,
            epoch: epoch.map_or(Ok(0), part)?,
        })
    }
}
